package load

import (
	"bytes"
	"time"
)

// eventGap returns the longest time between two consecutive events of one
// HTTP answer, read from the events' own timestamps, or 0 when they cannot
// tell (fewer than two events, a timestamp without fractional seconds, or
// events on different dates or in different zones). It allocates nothing.
func eventGap(evs []wireEvent) time.Duration {
	if len(evs) < 2 {
		return 0
	}
	var gap time.Duration
	prev, ok := dayNanos(evs[0].Timestamp)
	if !ok {
		return 0
	}
	for i := 1; i < len(evs); i++ {
		a, b := evs[i-1].Timestamp, evs[i].Timestamp
		cur, ok := dayNanos(b)
		if !ok || !bytes.Equal(a[:10], b[:10]) || !bytes.Equal(zoneOf(a), zoneOf(b)) {
			return 0
		}
		gap = max(gap, cur-prev)
		prev = cur
	}
	return gap
}

// dayNanos reads the time of day of an RFC 3339 timestamp with fractional
// seconds (2006-01-02T15:04:05.999999999Z07:00); ok is false for any other
// form.
func dayNanos(b []byte) (time.Duration, bool) {
	const frac = len("2006-01-02T15:04:05")
	if len(b) < frac+2 || b[frac] != '.' || !validTimestamp(b) {
		return 0, false
	}
	num := func(i int) time.Duration { return time.Duration(b[i]-'0')*10 + time.Duration(b[i+1]-'0') }
	d := num(11)*time.Hour + num(14)*time.Minute + num(17)*time.Second
	scale := 100 * time.Millisecond
	i := frac + 1
	for ; i < len(b) && b[i] >= '0' && b[i] <= '9'; i++ {
		d += time.Duration(b[i]-'0') * scale
		scale /= 10
	}
	if i == frac+1 {
		return 0, false
	}
	return d, true
}

// zoneOf is the zone suffix of a timestamp: what follows the fraction.
func zoneOf(b []byte) []byte {
	i := len("2006-01-02T15:04:05")
	for i < len(b) && (b[i] == '.' || (b[i] >= '0' && b[i] <= '9')) {
		i++
	}
	return b[i:]
}
