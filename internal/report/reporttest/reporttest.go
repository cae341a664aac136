// Package reporttest builds a small, fully deterministic compare run for the
// tests of the report and charts packages: two rounds, both protocols,
// samples, memory and isolation, with a summary that has a passing, a failing
// and an inconclusive latency verdict.
package reporttest

import (
	"math"
	"testing"
	"time"

	"github.com/loadbench/loadbench/results"
)

// start is the fixed start of the fixture run.
var start = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// Fixture shape.
const (
	Rounds     = 2
	LoadSecs   = 10 // seconds of load per segment
	DrainSecs  = 2
	SettleSecs = 3
	segSecs    = LoadSecs + DrainSecs + SettleSecs
	gapSecs    = 5
)

// Manifest is the fixture's run manifest.
func Manifest() results.Manifest {
	return results.Manifest{
		Kind:      "compare",
		Tool:      "loadbench",
		Version:   "v0.1.0",
		GoVersion: "go1.26.0",
		OS:        "linux",
		Arch:      "amd64",
		CPUs:      8,
		CPUModel:  "Test CPU @ 3.00GHz",
		Hostname:  "loadgen-1",
		Args:      []string{"compare"},
		Flags: map[string]string{
			"budget": "5%", "rounds": "2", "round-duration": "10s", "http-rate": "50",
			"ws-rate": "20", "users": "100", "percentiles": "50,95,99", "alpha": "0.05",
		},
		Targets: map[string]string{"baseline": "http://127.0.0.1:8081", "candidate": "http://127.0.0.1:8082"},
		Start:   start,
		End:     start.Add(4 * (segSecs + gapSecs) * time.Second),
	}
}

// Summary is the fixture's summary.json.
func Summary() *results.Summary {
	lv := func(proto string, pct, b, c, lo, hi, p float64, verdict results.Verdict) results.LatencyVerdict {
		return results.LatencyVerdict{Protocol: proto, Percentile: pct, BaselineMs: b, CandidateMs: c,
			Ratio: c / b, CILow: lo, CIHigh: hi, PValue: p, Verdict: verdict}
	}
	ws95 := lv("ws", 95, 30.2, 31.4, 0.99, 1.08, 0.21, results.Inconclusive)
	ws95.MoreRounds = 4
	ws99 := lv("ws", 99, 41.0, 44.1, 1.055, 1.09, 0.004, results.Fail)
	ws99.Note = "over budget in every round"
	return &results.Summary{
		Verdict: results.Fail,
		Reason:  "ws p99 is 7.6% slower than baseline, over the 5% budget (95% CI 1.055–1.090)",
		Budget:  0.05,
		Alpha:   0.05,
		Rounds:  Rounds,
		Latency: []results.LatencyVerdict{
			lv("http", 50, 10.1, 10.3, 1.0, 1.03, 0.08, results.Pass),
			lv("http", 95, 18.4, 18.9, 1.01, 1.04, 0.03, results.Pass),
			lv("http", 99, 25.0, 25.9, 1.02, 1.045, 0.02, results.Pass),
			lv("ws", 50, 15.0, 15.2, 0.99, 1.03, 0.3, results.Pass),
			ws95,
			ws99,
		},
		Errors: &results.ErrorVerdict{
			BaselineErrors: 1, BaselineChats: 1400, CandidateErrors: 2, CandidateChats: 1400,
			BaselineRate: 1.0 / 1400, CandidateRate: 2.0 / 1400, Diff: 1.0 / 1400, DiffLow: -0.002, DiffHigh: 0.003,
			Budget: 0.001, Verdict: results.Inconclusive, Note: "undecided on http, ws (judged per protocol)",
			Rounds: Rounds, BaselineDesignEffect: 1, CandidateDesignEffect: 1,
		},
		ErrorsByProtocol: map[string]*results.ErrorVerdict{
			results.HTTP: {
				BaselineChats: 1000, CandidateChats: 1000, DiffLow: -0.0038, DiffHigh: 0.0038,
				Budget: 0.001, Verdict: results.Inconclusive, Note: "more chats needed to tell the difference from the budget",
				Protocol: results.HTTP, Rounds: Rounds, BaselineDesignEffect: 1, CandidateDesignEffect: 1,
			},
			results.WS: {
				BaselineErrors: 1, BaselineChats: 400, CandidateErrors: 2, CandidateChats: 400,
				BaselineRate: 1.0 / 400, CandidateRate: 2.0 / 400, Diff: 1.0 / 400, DiffLow: -0.009, DiffHigh: 0.015,
				Budget: 0.001, Verdict: results.Inconclusive, Note: "more chats needed to tell the difference from the budget",
				Protocol: results.WS, Rounds: Rounds, BaselineDesignEffect: 1, CandidateDesignEffect: 1.6,
			},
		},
		MemoryComparison: &results.MemoryComparison{
			BaselineBytesPerChat: 29127, CandidateBytesPerChat: 12, DiffBytesPerChat: -29115, DiffLow: -29305, DiffHigh: -28880,
			Limit: 16, CriticalZ: 1.96, Verdict: results.Pass,
		},
		Memory: map[string]results.MemoryVerdict{
			results.Baseline:  {RetainedBytes: 41943040, RetainedBytesPerRequest: 29127.1, SlopeBytesPerChat: 29127, SlopeLow: 28900, SlopeHigh: 29300, Points: 3, Forced: true, FactoriesLiveAfter: 1, AgentInstancesRetained: 100, Verdict: results.Info, Note: "the singleton keeps every user's agent instance"},
			results.Candidate: {RetainedBytes: 1048576, RetainedBytesPerRequest: 728.2, SlopeBytesPerChat: 12, SlopeLow: -20, SlopeHigh: 40, Points: 3, Forced: true, FactoriesLiveAfter: 0, AgentInstancesRetained: 0, Verdict: results.Pass},
		},
		Isolation: map[string]results.IsolationVerdict{
			results.Baseline:  {Checked: 1400, Violations: 3, DistinctFactoryIDs: 1, Verdict: results.Info},
			results.Candidate: {Checked: 1400, Violations: 0, DistinctFactoryIDs: 1400, Verdict: results.Pass},
		},
		Requests: map[string]int64{results.Baseline: 1400, results.Candidate: 1400},
		Warnings: []string{"ws: 2 of 1400 chats failed (timeout)"},
	}
}

// Write writes the fixture run into dir (manifest, four segments,
// summary.json) and returns it as read back by results.ReadRun.
func Write(t testing.TB, dir string) *results.Run {
	t.Helper()
	slot := 0
	for round := 1; round <= Rounds; round++ {
		order := []string{results.Baseline, results.Candidate}
		if round%2 == 0 {
			order = []string{results.Candidate, results.Baseline}
		}
		for i, build := range order {
			s := Segment(build, round, i+1, start.Add(time.Duration(slot*(segSecs+gapSecs))*time.Second))
			slot++
			if err := results.WriteSegment(results.SegmentDir(dir, build, round), s); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := results.WriteJSON(dir+"/"+results.SummaryFile, Summary()); err != nil {
		t.Fatal(err)
	}
	if err := results.WriteJSON(dir+"/"+results.ManifestFile, Manifest()); err != nil {
		t.Fatal(err)
	}
	run, err := results.ReadRun(dir)
	if err != nil {
		t.Fatal(err)
	}
	return run
}

// Segment builds the segment of build in round, starting at t0.
func Segment(build string, round, order int, t0 time.Time) *results.Segment {
	slow := 1.0
	if build == results.Candidate {
		slow = 1.03
	}
	m := Manifest()
	m.Kind = "segment"
	m.Build, m.Round, m.Order = build, round, order
	m.Start, m.End = t0, t0.Add(segSecs*time.Second)
	s := &results.Segment{
		Manifest:  m,
		Protocols: map[string]*results.Protocol{},
		Timeline:  results.Timeline{},
	}
	for _, pr := range []struct {
		name       string
		rate       int
		base, tail float64 // ms
	}{{results.HTTP, 50, 8, 3.5}, {results.WS, 20, 12, 5}} {
		p := results.NewProtocol(pr.name)
		n := pr.rate * LoadSecs
		p.Requests, p.Success = int64(n), int64(n)
		p.Duration, p.Wait = LoadSecs*time.Second, 200*time.Millisecond
		for i := 0; i < n; i++ {
			// Exponential tail over a floor: deterministic quantiles.
			ms := slow * (pr.base + pr.tail*-math.Log(1-(float64(i)+0.5)/float64(n)))
			p.Latency.Record(time.Duration(ms * float64(time.Millisecond)))
		}
		if pr.name == results.WS {
			p.Errors["timeout"] = 1
			p.Success--
			p.Connections = 100
			p.Connect.Record(2 * time.Millisecond)
			p.FirstEvent.Record(5 * time.Millisecond)
		}
		s.Protocols[pr.name] = p
		for sec := 0; sec < LoadSecs; sec++ {
			wob := 1 + 0.04*math.Sin(float64(sec+round))
			sd := results.Second{T: sec, Time: t0.Add(time.Duration(sec) * time.Second), Requests: int64(pr.rate),
				P50Ms: slow * wob * (pr.base + pr.tail*math.Ln2), P99Ms: slow * wob * (pr.base + pr.tail*math.Log(100))}
			if pr.name == results.WS && sec == 4 {
				sd.Errors = 1
			}
			s.Timeline[pr.name] = append(s.Timeline[pr.name], sd)
		}
	}
	const mib = 1 << 20
	for sec := 0; sec <= segSecs; sec++ {
		sm := results.Sample{Time: t0.Add(time.Duration(sec) * time.Second), RSSBytes: 80 * mib}
		switch {
		case sec < LoadSecs:
			sm.Phase = "load"
		case sec < LoadSecs+DrainSecs:
			sm.Phase = "drain"
		default:
			sm.Phase = "settle"
		}
		load := math.Min(float64(sec), LoadSecs) / LoadSecs
		if build == results.Baseline {
			sm.HeapLiveBytes = (20 + 40*load) * mib
			sm.FactoriesLive = 1
			sm.AgentInstancesRetained = math.Round(100 * load)
		} else {
			sm.HeapLiveBytes = (20 + 20*load) * mib
			if sm.Phase == "load" {
				sm.FactoriesLive = float64(3 + sec%3)
				sm.AgentInstancesRetained = float64(3 + sec%3)
			} else {
				sm.HeapLiveBytes = 21 * mib
			}
		}
		sm.HeapInuseBytes = sm.HeapLiveBytes * 1.2
		sm.GC = sec == segSecs
		s.Samples = append(s.Samples, sm)
	}
	last := s.Samples[len(s.Samples)-1]
	s.Memory = &results.Memory{
		Before:   results.Snapshot{Time: t0, Forced: true, HeapLiveBytes: 20 * mib, FactoriesLive: s.Samples[0].FactoriesLive, RSSBytes: 70 * mib},
		After:    results.Snapshot{Time: last.Time, Forced: true, HeapLiveBytes: last.HeapLiveBytes, FactoriesLive: last.FactoriesLive, AgentInstancesRetained: last.AgentInstancesRetained, RSSBytes: 80 * mib},
		Requests: 700,
	}
	s.Isolation = results.Isolation{Checked: 700, DistinctFactoryIDs: 700}
	if build == results.Baseline {
		s.Isolation.DistinctFactoryIDs = 1
		s.Isolation.FactoryIDs = []string{"factory-singleton"}
		if round == 1 {
			s.Isolation.Violations = 3
			for i := 0; i < 3; i++ {
				s.Isolation.Examples = append(s.Isolation.Examples, results.Violation{Protocol: results.HTTP, UserID: "lb_user_00001",
					Reason: "foreign secret of lb_user_00007 in agent_thinking.data.context"})
			}
		}
	}
	return s
}
