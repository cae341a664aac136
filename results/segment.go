package results

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// Protocol names, the keys of Segment.Protocols.
const (
	HTTP = "http"
	WS   = "ws"
)

// MaxFactoryIDs bounds how many distinct factory ids a segment keeps; past
// it only the count grows.
const MaxFactoryIDs = 200_000

// Segment is the result of one load segment against one target.
type Segment struct {
	Manifest  Manifest
	Protocols map[string]*Protocol // HTTP, WS
	Timeline  Timeline
	Isolation Isolation
	Memory    *Memory  // nil unless the segment was measured by compare
	Samples   []Sample // /metrics samples during the segment, if any
}

// Protocol is what one protocol saw in a segment. A request is one chat: one
// POST over HTTP, one chat message and its five events over WebSocket.
type Protocol struct {
	Requests int64            `json:"requests"` // chats sent
	Success  int64            `json:"success"`  // chats fully and correctly answered
	Errors   map[string]int64 `json:"errors"`   // reason → count
	// Duration is the attack's sending time (first to last intended send);
	// Wait the time from the last send to the last answer.
	Duration time.Duration `json:"duration_ns"`
	Wait     time.Duration `json:"wait_ns"`
	BytesIn  int64         `json:"bytes_in"`
	BytesOut int64         `json:"bytes_out"`
	// WebSocket only.
	Connections int64 `json:"connections,omitempty"`
	Redials     int64 `json:"redials,omitempty"`
	// Latency from the intended send time to the complete answer (HTTP: the
	// response body; WebSocket: agent_completed).
	// Latency holds answered chats only (Success of them); failed chats
	// are in Failed, by error class.
	Latency    *Histogram `json:"latency"`
	Connect    *Histogram `json:"connect,omitempty"`     // WebSocket dial time
	FirstEvent *Histogram `json:"first_event,omitempty"` // WebSocket: intended send → first event
	// Failed holds, per error class (the keys of Errors), the time from the
	// intended send to the failure.
	Failed map[string]*Histogram `json:"failed,omitempty"`
	// NotSent counts chats the schedule asked for that the generator did
	// not send (its in-flight limit was reached). They are the generator's,
	// never the target's, and are not in Requests.
	NotSent int64 `json:"not_sent,omitempty"`
	// OtherMessages counts WebSocket messages outside the chat contract
	// (heartbeats, notices) that carried no other user's data.
	OtherMessages int64 `json:"other_messages,omitempty"`
	// SendLag holds, for every chat sent, actual send − intended send.
	SendLag *Histogram `json:"send_lag,omitempty"`
	// SendLagLimit is the p99 send lag above which the generator counts as
	// saturated; Saturated is true when SendLag's p99 exceeded it.
	SendLagLimit time.Duration `json:"send_lag_limit_ns,omitempty"`
	Saturated    bool          `json:"saturated,omitempty"`
	// InFlightMax and InFlightMean describe the chats in flight at the
	// generator during the segment.
	InFlightMax  int64   `json:"in_flight_max,omitempty"`
	InFlightMean float64 `json:"in_flight_mean,omitempty"`
	// ConnErrors counts errors that are no chat's (a failed WebSocket
	// dial, a message no chat in flight could own), by reason: each counts
	// once, however many chats it made fail (those are in Errors).
	ConnErrors map[string]int64 `json:"conn_errors,omitempty"`
	// TimingViolations counts breaches of the contract's timing limits:
	// chats with more than MaxEventGap between two consecutive events,
	// and WebSocket redials that took longer than RedialWithin. They are
	// the target's, reported apart from latency; TimingExamples holds a
	// few (at most MaxExamples).
	TimingViolations int64         `json:"timing_violations,omitempty"`
	TimingExamples   []string      `json:"timing_examples,omitempty"`
	MaxEventGap      time.Duration `json:"max_event_gap_ns,omitempty"`
	RedialWithin     time.Duration `json:"redial_within_ns,omitempty"`
}

// Classes of the generator's own errors (GeneratorErrorPrefix + …).
const (
	ErrNoFreePort       = GeneratorErrorPrefix + "no free port"
	ErrNoFileDescriptor = GeneratorErrorPrefix + "no file descriptor"
	ErrInFlightLimit    = GeneratorErrorPrefix + "in-flight limit"
)

// GeneratorErrorPrefix starts every error class that is the load
// generator's own (no free port, no descriptor, in-flight limit): those are
// never charged to the target.
const GeneratorErrorPrefix = "generator: "

// IsGeneratorError reports whether the error class is the generator's.
func IsGeneratorError(class string) bool { return strings.HasPrefix(class, GeneratorErrorPrefix) }

// TargetErrorCount is the number of failed chats charged to the target
// (every error class but the generator's).
func (p *Protocol) TargetErrorCount() int64 {
	var n int64
	for c, v := range p.Errors {
		if !IsGeneratorError(c) {
			n += v
		}
	}
	return n
}

// GeneratorErrorCount is the number of chats that failed because of the
// generator itself.
func (p *Protocol) GeneratorErrorCount() int64 { return p.ErrorCount() - p.TargetErrorCount() }

// TargetErrorRate is TargetErrorCount over the chats that reached the
// target (Success + TargetErrorCount), within 0–1; 0 when none did.
func (p *Protocol) TargetErrorRate() float64 {
	n := p.Success + p.TargetErrorCount()
	if n == 0 {
		return 0
	}
	return float64(p.TargetErrorCount()) / float64(n)
}

// NewProtocol returns an empty Protocol with its histograms allocated
// (Connect and FirstEvent only for WS).
func NewProtocol(name string) *Protocol {
	p := &Protocol{Errors: map[string]int64{}, Latency: NewHistogram(), Failed: map[string]*Histogram{}, SendLag: NewHistogram()}
	if name == WS {
		p.Connect = NewHistogram()
		p.FirstEvent = NewHistogram()
	}
	return p
}

// ErrorCount is the number of failed chats, the target's and the
// generator's (chats not sent because of the in-flight limit included).
func (p *Protocol) ErrorCount() int64 {
	var n int64
	for _, c := range p.Errors {
		n += c
	}
	return n
}

// Rate is the achieved sending rate, chats per second.
func (p *Protocol) Rate() float64 {
	if p.Duration <= 0 {
		return 0
	}
	return float64(p.Requests) / p.Duration.Seconds()
}

// Throughput is successful chats per second over sending and waiting time.
func (p *Protocol) Throughput() float64 {
	d := p.Duration + p.Wait
	if d <= 0 {
		return 0
	}
	return float64(p.Success) / d.Seconds()
}

// SuccessRatio is Success over the chats scheduled (Requests + NotSent),
// within 0–1; 0 when none was.
func (p *Protocol) SuccessRatio() float64 {
	n := p.Requests + p.NotSent
	if n == 0 {
		return 0
	}
	return min(float64(p.Success)/float64(n), 1)
}

// SendLagP99 is the 99th percentile of SendLag, 0 when none was recorded.
func (p *Protocol) SendLagP99() time.Duration {
	if p.SendLag == nil {
		return 0
	}
	return p.SendLag.Quantile(0.99)
}

// CheckSaturation sets SendLagLimit to limit and Saturated when SendLag's
// p99 exceeds it (limit 0: never saturated).
func (p *Protocol) CheckSaturation(limit time.Duration) {
	p.SendLagLimit = limit
	p.Saturated = limit > 0 && p.SendLagP99() > limit
}

// Merge adds o into p: counts add, histograms merge, durations and limits
// take the longer (segments merged from several machines ran side by side).
// In-flight figures add (the mean exactly; the maximum is an upper bound),
// and the merge is saturated when either side was.
func (p *Protocol) Merge(o *Protocol) {
	p.Requests += o.Requests
	p.Success += o.Success
	if p.Errors == nil {
		p.Errors = map[string]int64{}
	}
	for k, v := range o.Errors {
		p.Errors[k] += v
	}
	p.Duration = max(p.Duration, o.Duration)
	p.Wait = max(p.Wait, o.Wait)
	p.BytesIn += o.BytesIn
	p.BytesOut += o.BytesOut
	p.Connections += o.Connections
	p.Redials += o.Redials
	p.NotSent += o.NotSent
	p.OtherMessages += o.OtherMessages
	p.SendLagLimit = max(p.SendLagLimit, o.SendLagLimit)
	p.Saturated = p.Saturated || o.Saturated
	p.InFlightMax += o.InFlightMax
	p.InFlightMean += o.InFlightMean
	p.TimingViolations += o.TimingViolations
	for _, e := range o.TimingExamples {
		if len(p.TimingExamples) < MaxExamples {
			p.TimingExamples = append(p.TimingExamples, e)
		}
	}
	p.MaxEventGap = max(p.MaxEventGap, o.MaxEventGap)
	p.RedialWithin = max(p.RedialWithin, o.RedialWithin)
	for k, v := range o.ConnErrors {
		if p.ConnErrors == nil {
			p.ConnErrors = map[string]int64{}
		}
		p.ConnErrors[k] += v
	}
	for k, h := range o.Failed {
		if h == nil {
			continue
		}
		if p.Failed == nil {
			p.Failed = map[string]*Histogram{}
		}
		if p.Failed[k] == nil {
			p.Failed[k] = NewHistogram()
		}
		p.Failed[k].Merge(h)
	}
	for _, hh := range []struct {
		dst **Histogram
		src *Histogram
	}{
		{&p.Latency, o.Latency}, {&p.Connect, o.Connect}, {&p.FirstEvent, o.FirstEvent}, {&p.SendLag, o.SendLag},
	} {
		if hh.src == nil {
			continue
		}
		if *hh.dst == nil {
			*hh.dst = NewHistogram()
		}
		(*hh.dst).Merge(hh.src)
	}
}

// Second is one second of a protocol's timeline. T counts seconds from the
// segment's start; Time is the wall clock at the start of that second.
type Second struct {
	T        int       `json:"t"`
	Time     time.Time `json:"time"`
	Requests int64     `json:"requests"`
	Errors   int64     `json:"errors"`
	// Errors are the target's; GeneratorErrors the chats that failed
	// because of the generator itself, and NotSent the chats scheduled in
	// this second that the generator did not send (its in-flight limit).
	GeneratorErrors int64   `json:"generator_errors,omitempty"`
	NotSent         int64   `json:"not_sent,omitempty"`
	P50Ms           float64 `json:"p50_ms"` // of the answered chats only
	P99Ms           float64 `json:"p99_ms"`
}

// Timeline is per protocol, per second.
type Timeline map[string][]Second

// Merge adds o's seconds into t by T: counts add, percentiles take the
// larger (per-second percentiles of separate machines cannot be combined
// exactly; the larger is the conservative reading).
func (t Timeline) Merge(o Timeline) {
	for proto, secs := range o {
		byT := map[int]int{}
		for i, s := range t[proto] {
			byT[s.T] = i
		}
		for _, s := range secs {
			i, ok := byT[s.T]
			if !ok {
				t[proto] = append(t[proto], s)
				byT[s.T] = len(t[proto]) - 1
				continue
			}
			d := &t[proto][i]
			d.Requests += s.Requests
			d.Errors += s.Errors
			d.NotSent += s.NotSent
			d.GeneratorErrors += s.GeneratorErrors
			d.P50Ms = max(d.P50Ms, s.P50Ms)
			d.P99Ms = max(d.P99Ms, s.P99Ms)
		}
		slices.SortFunc(t[proto], func(a, b Second) int { return a.T - b.T })
	}
}

// Isolation holds the cross-user checks of a segment.
type Isolation struct {
	Checked    int64       `json:"checked"`    // responses and events checked
	Violations int64       `json:"violations"` // ones carrying another user's data
	Examples   []Violation `json:"examples,omitempty"`
	// FactoryIDs are the distinct factory ids seen (sorted, at most
	// MaxFactoryIDs); DistinctFactoryIDs counts them all.
	FactoryIDs         []string `json:"factory_ids,omitempty"`
	DistinctFactoryIDs int64    `json:"distinct_factory_ids"`
	// Protocols splits Checked and Violations by protocol (http, ws): a
	// half-migrated service can leak on one route and not the other.
	Protocols map[string]IsolationCount `json:"protocols,omitempty"`
}

// IsolationCount is the checks of one protocol.
type IsolationCount struct {
	Checked    int64 `json:"checked"`
	Violations int64 `json:"violations"`
}

// Violation is one example of another user's data in a response.
type Violation struct {
	Protocol string `json:"protocol"`
	UserID   string `json:"user_id"` // the user who asked
	Reason   string `json:"reason"`  // e.g. "foreign secret of lb_user_00007 in agent_thinking.data.context"
}

// MaxExamples bounds Isolation.Examples.
const MaxExamples = 20

// Merge adds o into i.
func (i *Isolation) Merge(o Isolation) {
	i.Checked += o.Checked
	i.Violations += o.Violations
	for name, c := range o.Protocols {
		if i.Protocols == nil {
			i.Protocols = map[string]IsolationCount{}
		}
		t := i.Protocols[name]
		t.Checked += c.Checked
		t.Violations += c.Violations
		i.Protocols[name] = t
	}
	for _, e := range o.Examples {
		if len(i.Examples) >= MaxExamples {
			break
		}
		i.Examples = append(i.Examples, e)
	}
	if len(i.FactoryIDs) == 0 && len(o.FactoryIDs) == 0 {
		i.DistinctFactoryIDs += o.DistinctFactoryIDs
		return
	}
	ids := append(slices.Clone(i.FactoryIDs), o.FactoryIDs...)
	slices.Sort(ids)
	ids = slices.Compact(ids)
	extra := (i.DistinctFactoryIDs - int64(len(i.FactoryIDs))) + (o.DistinctFactoryIDs - int64(len(o.FactoryIDs)))
	if len(ids) > MaxFactoryIDs {
		extra += int64(len(ids) - MaxFactoryIDs)
		ids = ids[:MaxFactoryIDs]
	}
	i.FactoryIDs = ids
	i.DistinctFactoryIDs = int64(len(ids)) + extra
}

// Memory is a target's memory before and after a segment.
type Memory struct {
	Before   Snapshot `json:"before"`
	After    Snapshot `json:"after"`
	Requests int64    `json:"requests"` // chats served during the segment
}

// Snapshot is one reading of a target's memory. Forced is true when the
// reading followed a forced GC (/debug/gc); otherwise it was read from
// /metrics after the settle time. A value of -1 means "not reported".
type Snapshot struct {
	Time                   time.Time `json:"time"`
	Forced                 bool      `json:"forced"`
	HeapLiveBytes          float64   `json:"heap_live_bytes"`
	FactoriesLive          float64   `json:"factories_live"`
	AgentInstancesRetained float64   `json:"agent_instances_retained"`
	RSSBytes               float64   `json:"rss_bytes"`
	// SharedHeap marks a reading of a target that runs in the load
	// generator's own process (started in process, as by targets.Start):
	// its heap holds the generator's as well.
	SharedHeap bool `json:"shared_heap,omitempty"`
}

// RetainedBytes is After.HeapLiveBytes - Before.HeapLiveBytes.
func (m *Memory) RetainedBytes() float64 { return m.After.HeapLiveBytes - m.Before.HeapLiveBytes }

// Sample is one scrape of a target's /metrics during a segment. Phase is
// "load", "drain" or "settle"; GC marks a reading right after a forced GC.
type Sample struct {
	Time                   time.Time `json:"time"`
	Phase                  string    `json:"phase"`
	GC                     bool      `json:"gc,omitempty"`
	HeapLiveBytes          float64   `json:"heap_live_bytes"`
	HeapInuseBytes         float64   `json:"heap_inuse_bytes"`
	FactoriesLive          float64   `json:"factories_live"`
	AgentInstancesRetained float64   `json:"agent_instances_retained"`
	RSSBytes               float64   `json:"rss_bytes"`
}

type protocolsFile struct {
	Protocols map[string]*Protocol `json:"protocols"`
}

// WriteSegment writes s into dir, one file at a time, each atomically. The
// manifest is written last, so a directory with a manifest is complete.
func WriteSegment(dir string, s *Segment) error {
	if err := WriteJSON(filepath.Join(dir, ProtocolsFile), protocolsFile{s.Protocols}); err != nil {
		return err
	}
	tl := s.Timeline
	if tl == nil {
		tl = Timeline{}
	}
	if err := WriteJSON(filepath.Join(dir, TimelineFile), tl); err != nil {
		return err
	}
	if err := WriteJSON(filepath.Join(dir, IsolationFile), s.Isolation); err != nil {
		return err
	}
	if s.Memory != nil {
		if err := WriteJSON(filepath.Join(dir, MemoryFile), s.Memory); err != nil {
			return err
		}
	}
	if s.Samples != nil {
		if err := WriteJSON(filepath.Join(dir, SamplesFile), s.Samples); err != nil {
			return err
		}
	}
	return WriteJSON(filepath.Join(dir, ManifestFile), s.Manifest)
}

// ReadSegment reads the segment in dir. Missing required files and damaged
// files give an error naming the file.
func ReadSegment(dir string) (*Segment, error) {
	s := &Segment{}
	if err := ReadJSON(filepath.Join(dir, ManifestFile), &s.Manifest); err != nil {
		return nil, err
	}
	var pf protocolsFile
	if err := ReadJSON(filepath.Join(dir, ProtocolsFile), &pf); err != nil {
		return nil, err
	}
	s.Protocols = pf.Protocols
	if s.Protocols == nil {
		return nil, fmt.Errorf("read %s: damaged: no protocols", filepath.Join(dir, ProtocolsFile))
	}
	for name, p := range s.Protocols {
		if p == nil || p.Latency == nil {
			return nil, fmt.Errorf("read %s: damaged: protocol %q has no latency histogram", filepath.Join(dir, ProtocolsFile), name)
		}
		if p.Errors == nil {
			p.Errors = map[string]int64{}
		}
	}
	if err := ReadJSON(filepath.Join(dir, TimelineFile), &s.Timeline); err != nil {
		return nil, err
	}
	if err := ReadJSON(filepath.Join(dir, IsolationFile), &s.Isolation); err != nil {
		return nil, err
	}
	var m Memory
	switch err := ReadJSON(filepath.Join(dir, MemoryFile), &m); {
	case err == nil:
		s.Memory = &m
	case !errors.Is(err, ErrMissing):
		return nil, err
	}
	switch err := ReadJSON(filepath.Join(dir, SamplesFile), &s.Samples); {
	case err == nil, errors.Is(err, ErrMissing):
	default:
		return nil, err
	}
	return s, nil
}

// Merge adds o, a segment of the same setup run elsewhere at the same time,
// into s. Memory is not merged: it belongs to the target, not the load
// machine, so s keeps its own (or takes o's when it has none).
func (s *Segment) Merge(o *Segment) {
	if s.Protocols == nil {
		s.Protocols = map[string]*Protocol{}
	}
	for name, p := range o.Protocols {
		if s.Protocols[name] == nil {
			s.Protocols[name] = &Protocol{Errors: map[string]int64{}}
		}
		s.Protocols[name].Merge(p)
	}
	if s.Timeline == nil {
		s.Timeline = Timeline{}
	}
	s.Timeline.Merge(o.Timeline)
	s.Isolation.Merge(o.Isolation)
	if s.Memory == nil {
		s.Memory = o.Memory
	}
	if len(s.Samples) == 0 {
		s.Samples = o.Samples
	}
	if o.Manifest.Start.Before(s.Manifest.Start) {
		s.Manifest.Start = o.Manifest.Start
	}
	if o.Manifest.End.After(s.Manifest.End) {
		s.Manifest.End = o.Manifest.End
	}
	s.Manifest.Partial = s.Manifest.Partial || o.Manifest.Partial
}

// exists reports whether path exists.
func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
