package load

import (
	"testing"
	"time"

	"github.com/loadbench/loadbench/results"
)

// The accounting added to every chat (in-flight slot, send lag, event
// gap) allocates nothing: the slot is atomics only and the lag is one
// histogram record inside the recorder's existing critical section.
func TestHotPathAllocatesNothing(t *testing.T) {
	users, err := newPool(DefaultUserPrefix, 2)
	if err != nil {
		t.Fatal(err)
	}
	r := newRecorder(results.HTTP, time.Now(), &counters{}, users)
	r.maxSendLag, r.maxEventGap = DefaultMaxSendLag, DefaultMaxEventGap
	o := outcome{intended: time.Now(), latency: 3 * time.Millisecond, first: -1, lag: 50 * time.Microsecond, gap: time.Millisecond}
	r.record(o) // the second's histogram is made once
	if n := testing.AllocsPerRun(1000, func() {
		if !r.acquire(DefaultMaxInFlight) {
			t.Fatal("no slot")
		}
		r.record(o)
		r.release()
	}); n != 0 {
		t.Errorf("acquire+record+release allocates %v per chat", n)
	}
	evs := make([]wireEvent, 5)
	for i := range evs {
		evs[i].Timestamp = []byte("2026-11-27T16:32:44." + string(rune('1'+i)) + "23456Z")
	}
	if g := eventGap(evs); g != 100*time.Millisecond {
		t.Errorf("event gap %s, want 100ms", g)
	}
	if n := testing.AllocsPerRun(1000, func() { eventGap(evs) }); n != 0 {
		t.Errorf("eventGap allocates %v", n)
	}
}

func TestEventGapFromTimestamps(t *testing.T) {
	t.Parallel()
	ev := func(ts ...string) []wireEvent {
		out := make([]wireEvent, len(ts))
		for i, s := range ts {
			out[i].Timestamp = []byte(s)
		}
		return out
	}
	for _, c := range []struct {
		name string
		evs  []wireEvent
		want time.Duration
	}{
		{"spaced", ev("2026-01-02T10:00:00.000Z", "2026-01-02T10:00:00.010Z", "2026-01-02T10:00:00.160Z"), 150 * time.Millisecond},
		{"across a minute", ev("2026-01-02T10:00:59.95+01:00", "2026-01-02T10:01:00.05+01:00"), 100 * time.Millisecond},
		{"nanoseconds", ev("2026-01-02T10:00:00.000000001Z", "2026-01-02T10:00:00.000000002Z"), time.Nanosecond},
		{"no fraction", ev("2026-01-02T10:00:00Z", "2026-01-02T10:00:01Z"), 0},
		{"other date", ev("2026-01-02T23:59:59.9Z", "2026-01-03T00:00:00.1Z"), 0},
		{"other zone", ev("2026-01-02T10:00:00.1Z", "2026-01-02T10:00:00.2+01:00"), 0},
		{"one event", ev("2026-01-02T10:00:00.1Z"), 0},
		{"bad", ev("2026-01-02T10:00:00.1Z", "yesterday"), 0},
	} {
		if got := eventGap(c.evs); got != c.want {
			t.Errorf("%s: gap %s, want %s", c.name, got, c.want)
		}
	}
}

// BenchmarkRecordChat is the recorder's per-chat cost with the accounting
// (compare with -run '^$' -bench RecordChat before and after changes).
func BenchmarkRecordChat(b *testing.B) {
	users, err := newPool(DefaultUserPrefix, 2)
	if err != nil {
		b.Fatal(err)
	}
	r := newRecorder(results.HTTP, time.Now(), &counters{}, users)
	r.maxSendLag, r.maxEventGap = DefaultMaxSendLag, DefaultMaxEventGap
	o := outcome{intended: time.Now(), latency: 3 * time.Millisecond, first: -1, lag: 50 * time.Microsecond}
	b.Run("accounted", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if r.acquire(DefaultMaxInFlight) {
					r.record(o)
					r.release()
				}
			}
		})
	})
	// The same record without the slot and the send lag: what each chat
	// cost before the accounting.
	bare := o
	bare.lag = -1
	b.Run("bare", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				r.record(bare)
			}
		})
	})
}
