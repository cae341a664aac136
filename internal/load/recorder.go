package load

import (
	"fmt"
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
	lag      time.Duration // send lag: dispatch − intended; <0 when never dispatched
	gap      time.Duration // longest time between two consecutive events; 0 when unknown
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
	inflight                       atomic.Int64 // chats in flight, both protocols
}

// recorder accumulates one protocol's outcomes. It is safe for concurrent
// use; the critical section is a few histogram and map updates.
type recorder struct {
	name  string
	began time.Time // start of the schedule: timeline second 0
	live  *counters
	pool  *pool
	// Limits, set before the first chat.
	maxSendLag, maxEventGap, redialWithin time.Duration

	inflight    atomic.Int64 // this protocol's chats in flight
	inflightMax atomic.Int64

	mu        sync.Mutex
	busy      time.Duration // total time chats spent in flight
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
	requests, errors, generator, notSent int64
	h                                    *hdrhistogram.Histogram
}

func newRecorder(name string, began time.Time, live *counters, users *pool) *recorder {
	return &recorder{name: name, began: began, live: live, pool: users, p: results.NewProtocol(name), factories: map[string]struct{}{}}
}

// acquire takes an in-flight slot for one chat, unless limit chats (over
// both protocols) are in flight already. Every successful acquire is
// matched by one release after the chat is recorded. Atomics only: no lock
// on the hot path.
func (r *recorder) acquire(limit int) bool {
	if r.live.inflight.Add(1) > int64(limit) {
		r.live.inflight.Add(-1)
		return false
	}
	n := r.inflight.Add(1)
	for m := r.inflightMax.Load(); n > m && !r.inflightMax.CompareAndSwap(m, n); m = r.inflightMax.Load() {
	}
	return true
}

// release gives back the slot of a recorded chat.
func (r *recorder) release() {
	r.inflight.Add(-1)
	r.live.inflight.Add(-1)
}

// notSent records a chat the schedule asked for at intended that the
// generator did not send because its in-flight limit was reached: it is
// the generator's (results.ErrInFlightLimit), not in Requests, and shows
// in the timeline's second of its scheduled time.
func (r *recorder) notSent(intended time.Time) {
	r.live.done.Add(1)
	t := r.second(intended)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.p.NotSent++
	r.p.Errors[results.ErrInFlightLimit]++
	r.failed(results.ErrInFlightLimit, 0)
	r.grow(t).notSent++
}

// connected records a WebSocket dial; a redial slower than the limit is a
// timing violation.
func (r *recorder) connected(d time.Duration, redial bool) {
	r.mu.Lock()
	r.p.Connections++
	if redial {
		r.p.Redials++
		if r.redialWithin > 0 && d > r.redialWithin {
			r.timing(func() string {
				return fmt.Sprintf("redial took %s, over %s", d.Round(time.Millisecond), r.redialWithin)
			})
		}
	}
	r.p.Connect.Record(d)
	r.mu.Unlock()
}

// dialFailed records an error that is no chat's (a failed dial, a message
// no chat in flight could own): it counts once, in ConnErrors, not in the
// chats' Errors, so error rates stay within 0–100%.
func (r *recorder) dialFailed(reason string) {
	r.mu.Lock()
	if r.p.ConnErrors == nil {
		r.p.ConnErrors = map[string]int64{}
	}
	r.p.ConnErrors[boundedClass(r.p.ConnErrors, reason)]++
	r.mu.Unlock()
}

// timing counts a timing violation; r.mu is held. The example is formatted
// only while fewer than results.MaxExamples are kept, so a target that
// breaks the limit on every chat costs no formatting under the lock.
func (r *recorder) timing(example func() string) {
	r.p.TimingViolations++
	if len(r.p.TimingExamples) < results.MaxExamples {
		r.p.TimingExamples = append(r.p.TimingExamples, example())
	}
}

// failed records the time to failure of a chat of class; r.mu is held.
func (r *recorder) failed(class string, d time.Duration) {
	h := r.p.Failed[class]
	if h == nil {
		h = results.NewHistogram()
		r.p.Failed[class] = h
	}
	h.Record(d)
}

// second is the timeline index of intended.
func (r *recorder) second(intended time.Time) int {
	return max(int(intended.Sub(r.began)/time.Second), 0)
}

// grow returns the timeline second t, extending the timeline; r.mu is held.
func (r *recorder) grow(t int) *second {
	for len(r.secs) <= t {
		r.secs = append(r.secs, second{})
	}
	return &r.secs[t]
}

// record records a chat that was sent. Latency holds answered chats only;
// a failed chat counts in Errors under its class, with its time to failure
// in Failed.
func (r *recorder) record(o outcome) {
	now := time.Now()
	r.live.done.Add(1)
	if o.reason != "" {
		r.live.errors.Add(1)
	}
	if o.violations > 0 {
		r.live.violations.Add(o.violations)
	}
	t := r.second(o.intended)
	r.mu.Lock()
	defer r.mu.Unlock()
	p := r.p
	p.Requests++
	p.BytesIn += o.bytesIn
	p.BytesOut += o.bytesOut
	r.busy += o.latency
	if o.lag >= 0 {
		p.SendLag.Record(o.lag)
	}
	if o.first >= 0 && p.FirstEvent != nil {
		p.FirstEvent.Record(o.first)
	}
	if r.maxEventGap > 0 && o.gap > r.maxEventGap {
		r.timing(func() string {
			return fmt.Sprintf("%s: %s between two events of a chat of %s, over %s", r.name, o.gap.Round(time.Millisecond), r.pool.ids[o.user], r.maxEventGap)
		})
	}
	s := r.grow(t)
	s.requests++
	switch {
	case o.reason == "":
		p.Success++
		p.Latency.Record(o.latency)
		if s.h == nil {
			// Per-second histograms are small: two significant digits.
			s.h = hdrhistogram.New(1, int64(results.HistogramMax/time.Microsecond), 2)
		}
		us := max(min(int64(o.latency/time.Microsecond), int64(results.HistogramMax/time.Microsecond)), 1)
		_ = s.h.RecordValue(us)
	case results.IsGeneratorError(o.reason):
		o.reason = boundedClass(p.Errors, o.reason)
		p.Errors[o.reason]++
		r.failed(o.reason, o.latency)
		s.generator++
	default:
		o.reason = boundedClass(p.Errors, o.reason)
		p.Errors[o.reason]++
		r.failed(o.reason, o.latency)
		s.errors++
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
		// The mean number in flight is the time chats spent in flight
		// over the span from the first send to the last answer (Little's
		// law), exact without sampling.
		if span := r.lastDone.Sub(r.firstSend); span > 0 {
			p.InFlightMean = float64(r.busy) / float64(span)
		}
	}
	p.InFlightMax = r.inflightMax.Load()
	p.CheckSaturation(r.maxSendLag)
	p.MaxEventGap, p.RedialWithin = r.maxEventGap, r.redialWithin
	tl := make([]results.Second, 0, len(r.secs))
	for i, s := range r.secs {
		sec := results.Second{T: i, Time: r.began.Add(time.Duration(i) * time.Second).UTC(), Requests: s.requests, Errors: s.errors,
			GeneratorErrors: s.generator, NotSent: s.notSent}
		if s.h != nil {
			sec.P50Ms = float64(s.h.ValueAtQuantile(50)) / 1e3
			sec.P99Ms = float64(s.h.ValueAtQuantile(99)) / 1e3
		}
		tl = append(tl, sec)
	}
	iso := r.iso
	iso.Protocols = map[string]results.IsolationCount{r.name: {Checked: r.iso.Checked, Violations: r.iso.Violations}}
	iso.Examples = slices.Clone(iso.Examples)
	iso.FactoryIDs = make([]string, 0, len(r.factories))
	for id := range r.factories {
		iso.FactoryIDs = append(iso.FactoryIDs, id)
	}
	slices.Sort(iso.FactoryIDs)
	iso.DistinctFactoryIDs = int64(len(iso.FactoryIDs)) + r.extraFact
	return p, tl, iso
}
