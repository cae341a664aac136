package gate

import (
	"fmt"
	"strings"

	"github.com/loadbench/loadbench/results"
	"golang.org/x/perf/benchmath"
)

// MemoryReading is one build's memory over the rounds of a compare, before
// it is judged.
type MemoryReading struct {
	Rounds                  int     // rounds with a usable heap reading
	RetainedBytes           float64 // total over those rounds
	RetainedBytesPerRequest float64 // median over those rounds
	FactoriesLiveAfter      float64 // after the last round; -1 = not reported
	AgentInstancesRetained  float64 // after the last round; -1 = not reported
	Forced                  bool    // every reading followed a forced GC
	Warnings                []error
}

// ReadMemory computes a build's memory reading from its segments, in round
// order. Rounds without memory.json, with an unreported heap (-1) or with no
// requests are left out, with a warning.
func ReadMemory(segs []*results.Segment) MemoryReading {
	m := MemoryReading{FactoriesLiveAfter: -1, AgentInstancesRetained: -1, Forced: true}
	var perReq []float64
	for i, s := range segs {
		mem := s.Memory
		if mem == nil {
			m.Warnings = append(m.Warnings, fmt.Errorf("round %d: no memory readings", i+1))
			continue
		}
		m.FactoriesLiveAfter = mem.After.FactoriesLive
		m.AgentInstancesRetained = mem.After.AgentInstancesRetained
		if mem.Before.HeapLiveBytes < 0 || mem.After.HeapLiveBytes < 0 {
			m.Warnings = append(m.Warnings, fmt.Errorf("round %d: heap not reported", i+1))
			continue
		}
		if mem.Requests <= 0 {
			m.Warnings = append(m.Warnings, fmt.Errorf("round %d: no requests served", i+1))
			continue
		}
		m.Forced = m.Forced && mem.Before.Forced && mem.After.Forced
		m.RetainedBytes += mem.RetainedBytes()
		perReq = append(perReq, mem.RetainedBytes()/float64(mem.Requests))
	}
	// The last round's readings are the state "after the last round"; a
	// missing memory.json there leaves the last values seen, so say so.
	if n := len(segs); n > 0 && segs[n-1].Memory == nil && m.FactoriesLiveAfter >= 0 {
		m.Warnings = append(m.Warnings, fmt.Errorf("factories live read before round %d", n))
	}
	m.Rounds = len(perReq)
	if m.Rounds > 0 {
		s := benchmath.AssumeNothing.Summary(benchmath.NewSample(perReq, &benchmath.DefaultThresholds), DefaultConfidence)
		m.RetainedBytesPerRequest = s.Center
	}
	if m.Rounds == 0 {
		m.Forced = false
	}
	return m
}

// memoryVerdict judges a build's memory: the candidate by the rule of the
// package comment, the baseline as info.
// reason is the one-line cause of a fail, "" otherwise.
func memoryVerdict(build string, segs []*results.Segment, cfg Config) (v results.MemoryVerdict, reason string) {
	m := ReadMemory(segs)
	v = results.MemoryVerdict{
		RetainedBytes:           m.RetainedBytes,
		RetainedBytesPerRequest: m.RetainedBytesPerRequest,
		FactoriesLiveAfter:      m.FactoriesLiveAfter,
		AgentInstancesRetained:  m.AgentInstancesRetained,
	}
	var notes []string
	for _, w := range m.Warnings {
		notes = append(notes, w.Error())
	}
	verdict, judge, reason := judgeMemory(m, cfg)
	notes = append(notes, judge...)
	v.Verdict = verdict
	if build != results.Candidate {
		v.Verdict = results.Info
	}
	v.Note = strings.Join(notes, "; ")
	return v, reason
}

// judgeMemory applies the memory rule to m.
func judgeMemory(m MemoryReading, cfg Config) (verdict string, notes []string, reason string) {
	if m.Rounds == 0 {
		return results.Inconclusive, []string{"no usable memory readings"}, "no usable memory readings"
	}
	limit := cfg.MaxRetainedBytesPerRequest
	if !m.Forced {
		limit *= cfg.UnforcedTolerance
		notes = append(notes, fmt.Sprintf("readings without a forced GC: limit %s B/request (%v×)", fmtBytes(limit), cfg.UnforcedTolerance))
	}
	verdict = results.Pass
	if m.RetainedBytesPerRequest > limit {
		verdict = results.Fail
		reason = fmt.Sprintf("retains %s B/request (limit %s)", fmtBytes(m.RetainedBytesPerRequest), fmtBytes(limit))
		notes = append(notes, reason)
	}
	switch {
	case m.FactoriesLiveAfter < 0:
		notes = append(notes, "factories_live not reported: not checked")
	case m.FactoriesLiveAfter > 0:
		verdict = results.Fail
		r := fmt.Sprintf("%v factories live after the last round", m.FactoriesLiveAfter)
		notes = append(notes, r)
		if reason == "" {
			reason = r
		}
	}
	return verdict, notes, reason
}

func fmtBytes(v float64) string { return fmt.Sprintf("%.0f", v) }
