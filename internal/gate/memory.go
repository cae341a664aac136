package gate

import (
	"fmt"
	"math"
	"strings"

	"github.com/loadbench/loadbench/results"
)

// MemoryReading is one build's memory over the rounds of a compare, before
// it is judged.
type MemoryReading struct {
	Rounds                  int     // rounds with a usable heap reading
	RetainedBytes           float64 // last live heap − first live heap
	RetainedBytesPerRequest float64 // RetainedBytes over the chats answered in between
	// Chats and Heap are the points of the slope: the cumulative chats
	// answered and the live heap at each round boundary, one reading each:
	// before the first usable round, then after every usable round. The
	// reading before a round that follows a usable one is left out: it is
	// a second look at the same idle heap (byte for byte, after a forced
	// GC), and counting it twice would narrow the interval as if it were
	// new data.
	Chats, Heap            []float64
	FactoriesLiveAfter     float64 // after the last round; -1 = not reported
	AgentInstancesRetained float64 // after the last round; -1 = not reported
	Forced                 bool    // every reading followed a forced GC
	// SharedHeap: some reading came from a target in the generator's own
	// process, whose heap holds the generator's too.
	SharedHeap bool
	Warnings   []error
}

// answered is the number of chats a segment's target answered.
func answered(s *results.Segment) int64 {
	var n int64
	for _, p := range s.Protocols {
		if p != nil {
			n += p.Success
		}
	}
	return n
}

// ReadMemory computes a build's memory reading from its segments, in round
// order. Rounds without memory.json or with an unreported heap (-1) are
// left out of the slope, with a warning; their chats still count.
func ReadMemory(segs []*results.Segment) MemoryReading {
	m := MemoryReading{FactoriesLiveAfter: -1, AgentInstancesRetained: -1, Forced: true}
	var cum float64
	prevUsable := false // whether the round before was read
	for i, s := range segs {
		cum += float64(answered(s))
		mem := s.Memory
		if mem == nil {
			m.Warnings = append(m.Warnings, fmt.Errorf("round %d: no memory readings", i+1))
			prevUsable = false
			continue
		}
		m.FactoriesLiveAfter = mem.After.FactoriesLive
		m.AgentInstancesRetained = mem.After.AgentInstancesRetained
		if mem.Before.HeapLiveBytes < 0 || mem.After.HeapLiveBytes < 0 {
			m.Warnings = append(m.Warnings, fmt.Errorf("round %d: heap not reported", i+1))
			prevUsable = false
			continue
		}
		m.SharedHeap = m.SharedHeap || mem.Before.SharedHeap || mem.After.SharedHeap
		if !prevUsable { // the first, or after a round without readings
			m.Chats = append(m.Chats, cum-float64(answered(s)))
			m.Heap = append(m.Heap, mem.Before.HeapLiveBytes)
			m.Forced = m.Forced && mem.Before.Forced
		}
		prevUsable = true
		m.Chats = append(m.Chats, cum)
		m.Heap = append(m.Heap, mem.After.HeapLiveBytes)
		m.Forced = m.Forced && mem.After.Forced
		m.Rounds++
	}
	if n := len(segs); n > 0 && segs[n-1].Memory == nil && m.FactoriesLiveAfter >= 0 {
		m.Warnings = append(m.Warnings, fmt.Errorf("factories live read before round %d", n))
	}
	if k := len(m.Heap); k >= 2 {
		m.RetainedBytes = m.Heap[k-1] - m.Heap[0]
		if dc := m.Chats[k-1] - m.Chats[0]; dc > 0 {
			m.RetainedBytesPerRequest = m.RetainedBytes / dc
		}
	}
	if m.Rounds == 0 {
		m.Forced = false
	}
	return m
}

// memoryVerdict judges a build's memory: the candidate by the rule of the
// package comment, the baseline as info. keep is how many factories may
// stay live after the last round (the baseline's count).
// reason is the one-line cause of a fail or inconclusive, "" otherwise.
func memoryVerdict(build string, segs []*results.Segment, cfg Config, keep float64) (v results.MemoryVerdict, reason string) {
	m := ReadMemory(segs)
	v = results.MemoryVerdict{
		RetainedBytes:           m.RetainedBytes,
		RetainedBytesPerRequest: m.RetainedBytesPerRequest,
		FactoriesLiveAfter:      m.FactoriesLiveAfter,
		AgentInstancesRetained:  m.AgentInstancesRetained,
		Points:                  len(m.Heap),
		Forced:                  m.Forced,
	}
	var notes []string
	for _, w := range m.Warnings {
		notes = append(notes, w.Error())
	}
	slope, lo, hi := TheilSen(m.Chats, m.Heap, cfg.criticalZ(len(segs)))
	v.SlopeBytesPerChat, v.SlopeLow, v.SlopeHigh = finite(slope), finite(lo), finite(hi)
	verdict, judge, reason := judgeMemory(m, slope, lo, hi, cfg, keep)
	notes = append(notes, judge...)
	v.Verdict = verdict
	if build != results.Candidate {
		v.Verdict = results.Info
	}
	v.Note = strings.Join(notes, "; ")
	return v, reason
}

// judgeMemory applies the memory rule to m and its heap slope; keep is how
// many factories may stay live after the last round.
func judgeMemory(m MemoryReading, slope, lo, hi float64, cfg Config, keep float64) (verdict results.Verdict, notes []string, reason string) {
	limit := cfg.MaxRetainedBytesPerRequest
	verdict = results.Inconclusive
	switch {
	case cfg.NoMemoryGate:
		verdict = results.Info
		notes = append(notes, "memory gate off: reported, not gated")
		return verdict, notes, ""
	case len(m.Heap) == 0:
		reason = "not measured: no usable memory readings (the target serves no heap metric on its metrics route; expose one, or turn the memory gate off)"
		notes = append(notes, reason)
	case m.SharedHeap:
		// The generator's own heap grows with what it keeps of the run:
		// the slope is the process's, not the target's. Only the
		// factories are the target's own.
		verdict = results.Pass
		notes = append(notes, "the target shares the load generator's process: heap slope reported, not gated; factories_live still checked")
	case hi <= limit:
		verdict = results.Pass
	case lo > limit:
		verdict = results.Fail
		reason = fmt.Sprintf("heap grows %s B/chat (CI %s–%s, limit %s)", fmtBytes(slope), fmtBytes(lo), fmtBytes(hi), fmtBytes(limit))
		notes = append(notes, reason)
	case math.IsInf(hi, 0):
		reason = fmt.Sprintf("%d heap reading(s): too few for a slope interval", len(m.Heap))
		notes = append(notes, reason)
	default:
		reason = fmt.Sprintf("heap slope %s B/chat (CI %s–%s) cannot be told from the %s B/chat limit", fmtBytes(slope), fmtBytes(lo), fmtBytes(hi), fmtBytes(limit))
		notes = append(notes, reason)
	}
	if len(m.Heap) > 0 && !m.Forced && !math.IsInf(hi, 0) && !math.IsInf(lo, 0) {
		notes = append(notes, fmt.Sprintf("no forced GC (no /debug/gc): readings include garbage; detection limit about %s B/chat (the interval's width)", fmtBytes(hi-lo)))
	}
	switch {
	case m.FactoriesLiveAfter < 0:
		notes = append(notes, "factories_live not reported: not checked")
	case m.FactoriesLiveAfter > 0 && m.FactoriesLiveAfter <= keep:
		notes = append(notes, fmt.Sprintf("%v factories live after the last round, as the baseline keeps", m.FactoriesLiveAfter))
	case m.FactoriesLiveAfter > 0:
		r := fmt.Sprintf("%v factories live after the last round", m.FactoriesLiveAfter)
		if keep > 0 {
			r += fmt.Sprintf(" (the baseline keeps %v)", keep)
		}
		notes = append(notes, r)
		if verdict != results.Fail {
			reason = r
		}
		verdict = results.Fail
	}
	return verdict, notes, reason
}

func fmtBytes(v float64) string {
	if math.IsInf(v, 0) || math.IsNaN(v) {
		return "∞"
	}
	return fmt.Sprintf("%.0f", v)
}
