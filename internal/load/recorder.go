package load

import (
	"slices"
	"sync"
	"sync/atomic"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
	"github.com/loadbench/loadbench/results"
)

// outcome is one finished chat.
type outcome struct {
	user     int
	intended time.Time     // when the chat was due to be sent
	latency  time.Duration // intended → complete answer (or failure)
	first    time.Duration // WebSocket: intended → first event; <0 when none
	reason   string        // error reason; "" for success
	bytesIn  int64
	bytesOut int64
	// Isolation: how many responses/events were checked, how many carried
	// another user's data, and an example reason.
	checked, violations int64
	violation           string
	factoryID           string
}

// counters are the live totals read by the progress loop.
type counters struct {
	sent, done, errors, violations atomic.Int64
}

// recorder accumulates one protocol's outcomes. It is safe for concurrent
// use; the critical section is a few histogram and map updates.
type recorder struct {
	name  string
	began time.Time // start of the schedule: timeline second 0
	live  *counters
	pool  *pool

	mu        sync.Mutex
	p         *results.Protocol
	secs      []second
	iso       results.Isolation
	factories map[string]struct{}
	extraFact int64 // distinct factory ids past results.MaxFactoryIDs (approximate)
	firstSend time.Time
	lastSend  time.Time
	lastDone  time.Time
}

type second struct {
	requests, errors int64
	h                *hdrhistogram.Histogram
}

func newRecorder(name string, began time.Time, live *counters, users *pool) *recorder {
	return &recorder{name: name, began: began, live: live, pool: users, p: results.NewProtocol(name), factories: map[string]struct{}{}}
}

// connected records a WebSocket dial.
func (r *recorder) connected(d time.Duration, redial bool) {
	r.mu.Lock()
	r.p.Connections++
	if redial {
		r.p.Redials++
	}
	r.p.Connect.Record(d)
	r.mu.Unlock()
}

// fail records an error that is not a chat (a failed dial).
func (r *recorder) dialFailed(reason string) {
	r.mu.Lock()
	r.p.Errors[reason]++
	r.mu.Unlock()
}

func (r *recorder) record(o outcome) {
	now := time.Now()
	r.live.done.Add(1)
	if o.reason != "" {
		r.live.errors.Add(1)
	}
	if o.violations > 0 {
		r.live.violations.Add(o.violations)
	}
	t := int(o.intended.Sub(r.began) / time.Second)
	if t < 0 {
		t = 0
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	p := r.p
	p.Requests++
	p.BytesIn += o.bytesIn
	p.BytesOut += o.bytesOut
	p.Latency.Record(o.latency)
	if o.first >= 0 && p.FirstEvent != nil {
		p.FirstEvent.Record(o.first)
	}
	for len(r.secs) <= t {
		r.secs = append(r.secs, second{})
	}
	s := &r.secs[t]
	s.requests++
	if s.h == nil {
		// Per-second histograms are small: two significant digits.
		s.h = hdrhistogram.New(1, int64(results.HistogramMax/time.Microsecond), 2)
	}
	us := max(min(int64(o.latency/time.Microsecond), int64(results.HistogramMax/time.Microsecond)), 1)
	_ = s.h.RecordValue(us)
	if o.reason != "" {
		p.Errors[o.reason]++
		s.errors++
	} else {
		p.Success++
	}
	if r.firstSend.IsZero() || o.intended.Before(r.firstSend) {
		r.firstSend = o.intended
	}
	if o.intended.After(r.lastSend) {
		r.lastSend = o.intended
	}
	if now.After(r.lastDone) {
		r.lastDone = now
	}
	r.iso.Checked += o.checked
	if o.violations > 0 {
		r.iso.Violations += o.violations
		if len(r.iso.Examples) < results.MaxExamples {
			r.iso.Examples = append(r.iso.Examples, results.Violation{Protocol: r.name, UserID: r.pool.ids[o.user], Reason: o.violation})
		}
	}
	if o.factoryID != "" {
		if _, seen := r.factories[o.factoryID]; !seen {
			if len(r.factories) < results.MaxFactoryIDs {
				r.factories[o.factoryID] = struct{}{}
			} else {
				r.extraFact++
			}
		}
	}
}

// finish returns the protocol, its timeline and its isolation findings.
func (r *recorder) finish() (*results.Protocol, []results.Second, results.Isolation) {
	r.mu.Lock()
	defer r.mu.Unlock()
	p := r.p
	if !r.firstSend.IsZero() {
		// Sending lasted from the first to the last intended send; with one
		// chat or a closed loop that is at least the span of one interval.
		p.Duration = r.lastSend.Sub(r.firstSend)
		if p.Duration <= 0 {
			p.Duration = time.Millisecond
		}
		p.Wait = max(r.lastDone.Sub(r.lastSend), 0)
	}
	tl := make([]results.Second, 0, len(r.secs))
	for i, s := range r.secs {
		sec := results.Second{T: i, Time: r.began.Add(time.Duration(i) * time.Second).UTC(), Requests: s.requests, Errors: s.errors}
		if s.h != nil {
			sec.P50Ms = float64(s.h.ValueAtQuantile(50)) / 1e3
			sec.P99Ms = float64(s.h.ValueAtQuantile(99)) / 1e3
		}
		tl = append(tl, sec)
	}
	iso := r.iso
	iso.Examples = slices.Clone(iso.Examples)
	iso.FactoryIDs = make([]string, 0, len(r.factories))
	for id := range r.factories {
		iso.FactoryIDs = append(iso.FactoryIDs, id)
	}
	slices.Sort(iso.FactoryIDs)
	iso.DistinctFactoryIDs = int64(len(iso.FactoryIDs)) + r.extraFact
	return p, tl, iso
}
