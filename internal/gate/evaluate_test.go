package gate

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/loadbench/loadbench/results"
)

// build describes one build's segments in a synthetic run.
type build struct {
	factor     []float64 // latency multiplier per round
	leakPerReq float64   // heap retained per request
	factories  float64   // factories_live after each segment
	violations int64
	// wsViolations, when set, are violations on WebSocket only (a
	// half-migrated build); the segment then reports both protocols.
	wsViolations int64
	forced       bool
}

func steady(f float64, jitter ...float64) []float64 {
	out := make([]float64, len(jitter))
	for i, j := range jitter {
		out[i] = f * j
	}
	return out
}

var tight = []float64{1.000, 1.004, 0.997, 1.002, 0.999, 1.003}

// segment records 1000 latencies from 20 to 40ms (times factor) per
// protocol, WS at twice HTTP's latency.
func segment(name string, round int, f float64, b build) *results.Segment {
	s := &results.Segment{
		Manifest:  results.Manifest{Kind: "segment", Build: name, Round: round},
		Protocols: map[string]*results.Protocol{},
	}
	for i, proto := range []string{results.HTTP, results.WS} {
		p := results.NewProtocol(proto)
		for k := range 1000 {
			d := time.Duration(float64(20*time.Millisecond) * (1 + float64(k)/1000) * f * float64(i+1))
			p.Latency.Record(d)
		}
		p.Requests, p.Success = 1000, 1000
		s.Protocols[proto] = p
	}
	s.Isolation = results.Isolation{Checked: 2000, Violations: b.violations, DistinctFactoryIDs: 2000}
	if b.wsViolations > 0 {
		s.Isolation.Violations = b.wsViolations
		s.Isolation.Protocols = map[string]results.IsolationCount{
			results.HTTP: {Checked: 1000},
			results.WS:   {Checked: 1000, Violations: b.wsViolations},
		}
	}
	heap := 50e6 + float64(round-1)*2000*b.leakPerReq
	s.Memory = &results.Memory{
		Before:   results.Snapshot{Forced: b.forced, HeapLiveBytes: heap, FactoriesLive: b.factories, AgentInstancesRetained: 0},
		After:    results.Snapshot{Forced: b.forced, HeapLiveBytes: heap + 2000*b.leakPerReq + 1e4, FactoriesLive: b.factories, AgentInstancesRetained: b.factories},
		Requests: 2000,
	}
	return s
}

func synthRun(base, cand build) *results.Run {
	run := &results.Run{Manifest: results.Manifest{Kind: "compare", OS: "linux", Arch: "amd64", CPUModel: "Test CPU", Flags: map[string]string{}}}
	for r := range base.factor {
		run.Segments = append(run.Segments, segment(results.Baseline, r+1, base.factor[r], base))
		if r < len(cand.factor) {
			run.Segments = append(run.Segments, segment(results.Candidate, r+1, cand.factor[r], cand))
		}
	}
	return run
}

func TestEvaluate(t *testing.T) {
	t.Parallel()
	// The legacy baseline grows 10 B/chat; the memory rule judges the
	// candidate's slope over it.
	legacy := build{factor: steady(1, tight...), leakPerReq: 10, factories: 1, forced: true}
	good := build{factor: steady(1, 1.001, 0.998, 1.003, 1.0, 1.002, 0.999), forced: true}
	for _, tc := range []struct {
		name        string
		cand        build
		verdict     results.Verdict
		reason      string
		memVerdict  results.Verdict
		isoVerdict  results.Verdict
		latencyWant results.Verdict // verdict of every latency check, "" = don't care
	}{
		{"identical", good, results.Pass, "all 6 latency checks within 5%, memory released, errors 0.00% vs 0.00%, no isolation violations in 12000 checks", results.Pass, results.Pass, results.Pass},
		{"+3% tight", build{factor: steady(1.03, tight...), forced: true}, results.Pass, "all 6 latency checks", results.Pass, results.Pass, results.Pass},
		{"+50%", build{factor: steady(1.5, tight...), forced: true}, results.Fail, "+50.0% (CI 1.50–1.50, p<0.001) over the 5% budget (and 5 more failure(s))", results.Pass, results.Pass, results.Fail},
		{"identical, wide", build{factor: steady(1, 1.09, 0.92, 1.04, 0.95, 1.08, 0.93), forced: true}, results.Inconclusive, "cannot be told from the 5% budget; about", results.Pass, results.Pass, results.Inconclusive},
		{"leak 4096 B/request", build{factor: good.factor, leakPerReq: 4096, forced: true}, results.Fail, "candidate memory: heap slope +4086 B/chat over the baseline's (CI +4084–+4087, limit 16)", results.Fail, results.Pass, results.Pass},
		{"factories live 3", build{factor: good.factor, factories: 3, forced: true}, results.Fail, "candidate memory: 3 factories live after the last round (the baseline keeps 1)", results.Fail, results.Pass, results.Pass},
		// A half-migrated candidate keeps the legacy singleton, as the
		// baseline does: not a leak of the candidate.
		{"factories live 1, as the baseline", build{factor: good.factor, factories: 1, forced: true}, results.Pass, "all 6", results.Pass, results.Pass, results.Pass},
		{"violations on ws only", build{factor: good.factor, wsViolations: 2, forced: true}, results.Fail, "candidate isolation: 12 violation(s) in 12000 checks (http pass: 0 of 6000; ws fail: 12 of 6000)", results.Pass, results.Fail, results.Pass},
		{"leak 128 B/chat", build{factor: good.factor, leakPerReq: 128, forced: true}, results.Fail, "candidate memory: heap slope +118 B/chat over the baseline's", results.Fail, results.Pass, results.Pass},
		{"leak 20 B/chat (+10 over the baseline)", build{factor: good.factor, leakPerReq: 20, forced: true}, results.Pass, "all 6", results.Pass, results.Pass, results.Pass},
		{"leak 20 B/chat unforced", build{factor: good.factor, leakPerReq: 20}, results.Pass, "all 6", results.Pass, results.Pass, results.Pass},
		{"leak 600 B/chat unforced", build{factor: good.factor, leakPerReq: 600}, results.Fail, "heap slope +590 B/chat over the baseline's", results.Fail, results.Pass, results.Pass},
		{"violations", build{factor: good.factor, violations: 2, forced: true}, results.Fail, "candidate isolation: 12 violation(s) in 12000 checks", results.Pass, results.Fail, results.Pass},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sum := Evaluate(synthRun(legacy, tc.cand), DefaultConfig())
			if sum.Verdict != tc.verdict || !strings.Contains(sum.Reason, tc.reason) {
				t.Errorf("verdict %s: %q; want %s containing %q", sum.Verdict, sum.Reason, tc.verdict, tc.reason)
			}
			if got := sum.Memory[results.Candidate].Verdict; got != tc.memVerdict {
				t.Errorf("candidate memory %s (%+v), want %s", got, sum.Memory[results.Candidate], tc.memVerdict)
			}
			if got := sum.Isolation[results.Candidate].Verdict; got != tc.isoVerdict {
				t.Errorf("candidate isolation %s, want %s", got, tc.isoVerdict)
			}
			if len(sum.Latency) != 6 {
				t.Fatalf("%d latency checks, want 6", len(sum.Latency))
			}
			for _, lv := range sum.Latency {
				if tc.latencyWant != "" && lv.Verdict != tc.latencyWant {
					t.Errorf("%s p%v: %s (ratio %.3f CI %.3f–%.3f p %.3f), want %s", lv.Protocol, lv.Percentile, lv.Verdict, lv.Ratio, lv.CILow, lv.CIHigh, lv.PValue, tc.latencyWant)
				}
				if (lv.Verdict == results.Inconclusive) != (lv.MoreRounds > 0) {
					t.Errorf("%s p%v: %s with more rounds %d", lv.Protocol, lv.Percentile, lv.Verdict, lv.MoreRounds)
				}
			}
			if sum.Requests[results.Baseline] != 12000 || sum.Requests[results.Candidate] != 12000 {
				t.Errorf("requests %v, want 12000 each", sum.Requests)
			}
			if sum.Rounds != 6 || sum.Partial {
				t.Errorf("rounds %d partial %v", sum.Rounds, sum.Partial)
			}
			// The baseline's numbers are the "before": info, but computed.
			bm := sum.Memory[results.Baseline]
			if bm.Verdict != results.Info || bm.RetainedBytesPerRequest < 10 || bm.FactoriesLiveAfter != 1 {
				t.Errorf("baseline memory %+v", bm)
			}
		})
	}
}

// TestEvaluateLiveFactoriesAgainstPerRequestBaseline: with a baseline that
// keeps no factory, one live candidate factory fails.
func TestEvaluateLiveFactoriesAgainstPerRequestBaseline(t *testing.T) {
	t.Parallel()
	base := build{factor: steady(1, tight...), forced: true}
	cand := build{factor: steady(1, tight...), factories: 1, forced: true}
	sum := Evaluate(synthRun(base, cand), DefaultConfig())
	if m := sum.Memory[results.Candidate]; m.Verdict != results.Fail || !strings.Contains(sum.Reason, "candidate memory: 1 factories live after the last round") {
		t.Errorf("verdict %s %q, candidate memory %+v", sum.Verdict, sum.Reason, m)
	}
}

// TestIsolationByProtocol: each protocol's checks get their own verdict.
func TestIsolationByProtocol(t *testing.T) {
	t.Parallel()
	base := build{factor: steady(1, tight...), forced: true}
	cand := build{factor: steady(1, tight...), wsViolations: 3, forced: true}
	iv := Evaluate(synthRun(base, cand), DefaultConfig()).Isolation[results.Candidate]
	if got := iv.ByProtocol(); len(got) != 2 || got[0] != results.HTTP || got[1] != results.WS {
		t.Fatalf("protocols %v", got)
	}
	h, w := iv.Protocols[results.HTTP], iv.Protocols[results.WS]
	if h.Verdict != results.Pass || h.Checked != 6000 || h.Violations != 0 {
		t.Errorf("http %+v", h)
	}
	if w.Verdict != results.Fail || w.Checked != 6000 || w.Violations != 18 {
		t.Errorf("ws %+v", w)
	}
}

func TestEvaluateLatencyValues(t *testing.T) {
	t.Parallel()
	base := build{factor: steady(1, tight...), forced: true}
	cand := build{factor: steady(1.5, tight...), forced: true}
	sum := Evaluate(synthRun(base, cand), DefaultConfig())
	lv := sum.Latency[0]
	if lv.Protocol != results.HTTP || lv.Percentile != 50 {
		t.Fatalf("first check %s p%v, want http p50", lv.Protocol, lv.Percentile)
	}
	// p50 of 20..40ms is 30ms, times the round factors in tight (near 1);
	// the figures shown are the ones the ratio is computed from: their
	// geometric means over the rounds, which divide to the ratio.
	if abs(lv.BaselineMs-30) > 0.2 || abs(lv.CandidateMs-45) > 0.3 {
		t.Errorf("baseline / candidate %.3f / %.3f ms, want ~30 / ~45", lv.BaselineMs, lv.CandidateMs)
	}
	for _, l := range sum.Latency {
		if r := l.CandidateMs / l.BaselineMs; abs(r-l.Ratio) > 1e-9*l.Ratio {
			t.Errorf("%s: %.4f / %.4f ms = %.6f, but the ratio is %.6f", l.Check(), l.CandidateMs, l.BaselineMs, r, l.Ratio)
		}
	}
	if abs(lv.Ratio-1.5) > 0.005 || lv.CILow > lv.Ratio || lv.CIHigh < lv.Ratio || lv.PValue > 1e-6 {
		t.Errorf("ratio %.4f CI %.4f–%.4f p %v", lv.Ratio, lv.CILow, lv.CIHigh, lv.PValue)
	}
}

func TestEvaluatePartial(t *testing.T) {
	t.Parallel()
	base := build{factor: steady(1, tight...), forced: true}
	cand := build{factor: steady(1, tight[:5]...), forced: true} // cut short in round 6
	run := synthRun(base, cand)
	cfg := DefaultConfig()
	cfg.Rounds = 6
	sum := Evaluate(run, cfg)
	if sum.Rounds != 5 || !sum.Partial {
		t.Fatalf("rounds %d partial %v, want 5 true", sum.Rounds, sum.Partial)
	}
	// Five tight rounds decide latency, and their six heap readings (one
	// per round boundary) the memory slope: a partial run still has a
	// verdict.
	if sum.Verdict != results.Pass {
		t.Errorf("verdict %s: %s, want pass", sum.Verdict, sum.Reason)
	}
	if sum.Requests[results.Baseline] != 10000 {
		t.Errorf("baseline requests %d, want 10000 (complete rounds only)", sum.Requests[results.Baseline])
	}
	if !strings.Contains(strings.Join(sum.Warnings, "\n"), "partial run") {
		t.Errorf("warnings %q lack the partial note", sum.Warnings)
	}
	// No NaN or Inf reaches summary.json.
	if _, err := json.Marshal(sum); err != nil {
		t.Fatalf("summary does not encode: %v", err)
	}
}

func TestEvaluateOneRoundAndDisabledProtocol(t *testing.T) {
	t.Parallel()
	base := build{factor: []float64{1}, forced: true}
	run := synthRun(base, build{factor: []float64{1}, forced: true})
	for _, s := range run.Segments {
		s.Protocols[results.WS] = results.NewProtocol(results.WS) // WS disabled: no samples
	}
	sum := Evaluate(run, DefaultConfig())
	if len(sum.Latency) != 3 {
		t.Fatalf("%d latency checks, want 3 (http only)", len(sum.Latency))
	}
	if sum.Verdict != results.Inconclusive || !strings.Contains(sum.Latency[0].Note, "need at least 2") {
		t.Errorf("verdict %s, note %q", sum.Verdict, sum.Latency[0].Note)
	}
	if _, err := json.Marshal(sum); err != nil {
		t.Fatal(err)
	}
}

func TestEvaluateNoMemory(t *testing.T) {
	t.Parallel()
	run := synthRun(build{factor: tight, forced: true}, build{factor: tight, forced: true})
	for _, s := range run.Segments {
		s.Memory = nil
	}
	sum := Evaluate(run, DefaultConfig())
	if sum.Memory[results.Candidate].Verdict != results.Inconclusive || sum.Verdict != results.Inconclusive {
		t.Errorf("memory %+v, verdict %s: %s", sum.Memory[results.Candidate], sum.Verdict, sum.Reason)
	}
}

func ExampleEvaluate() {
	base := build{factor: steady(1, tight...), forced: true}
	cand := build{factor: steady(1.5, tight...), forced: true}
	sum := Evaluate(synthRun(base, cand), DefaultConfig())
	fmt.Println(sum.Verdict)
	fmt.Println(sum.Reason)
	// Output:
	// fail
	// http p50 +50.0% (CI 1.50–1.50, p<0.001) over the 5% budget (and 5 more failure(s))
}

// A percentile from a segment too small to estimate it is not gated: with
// 20 chats per round, p99 is the maximum of 20 (a +8% candidate must not
// fail on it), while p50 still decides.
func TestEvaluateTooFewChats(t *testing.T) {
	t.Parallel()
	run := synthRun(build{factor: steady(1, tight...), forced: true}, build{factor: steady(1.08, tight...), forced: true})
	for _, s := range run.Segments {
		for _, p := range s.Protocols {
			small := results.NewHistogram()
			for k := range 20 {
				small.Record(p.Latency.Quantile((float64(k) + 0.5) / 20))
			}
			p.Latency = small // the chats counted stay, so the error check decides
		}
	}
	sum := Evaluate(run, DefaultConfig())
	for _, lv := range sum.Latency {
		switch lv.Percentile {
		case 50:
			if lv.Verdict != results.Fail {
				t.Errorf("%s: %s, want fail (+8%% from 20 chats a round is enough at p50)", lv.Check(), lv.Verdict)
			}
		default:
			if lv.Verdict != results.Inconclusive || !strings.HasPrefix(lv.Note, tooFewPrefix) || lv.MoreRounds != 0 {
				t.Errorf("%s: %s, note %q: want inconclusive for too few chats", lv.Check(), lv.Verdict, lv.Note)
			}
		}
	}
	// Without a failing p50 the overall reason names the ungated check.
	cfg := DefaultConfig()
	cfg.Percentiles = []float64{99}
	if sum := Evaluate(run, cfg); sum.Verdict != results.Inconclusive || !strings.Contains(sum.Reason, "http p99 not gated: too few chats per round: 20 in the smallest segment, fewer than the 500") {
		t.Errorf("verdict %s: %q", sum.Verdict, sum.Reason)
	}
}

// The memory slope has one reading per round boundary: the reading before
// a round that follows a read one is the same idle heap and is not counted
// twice; after a round without readings, the next round's before counts.
func TestReadMemoryOneReadingPerBoundary(t *testing.T) {
	t.Parallel()
	b := build{factor: steady(1, tight[:4]...), leakPerReq: 100, forced: true}
	var segs []*results.Segment
	for r := 1; r <= 4; r++ {
		segs = append(segs, segment(results.Candidate, r, 1, b))
	}
	m := ReadMemory(segs)
	if want := []float64{0, 2000, 4000, 6000, 8000}; !slices.Equal(m.Chats, want) || len(m.Heap) != 5 || m.Rounds != 4 {
		t.Errorf("points at chats %v (%d heaps, %d rounds), want %v: before round 1, then after each", m.Chats, len(m.Heap), m.Rounds, want)
	}
	segs[1].Memory = nil // round 2 unread: round 3's before counts again
	m = ReadMemory(segs)
	if want := []float64{0, 2000, 4000, 6000, 8000}; !slices.Equal(m.Chats, want) || m.Rounds != 3 {
		t.Errorf("with round 2 unread: points at chats %v, %d rounds; want %v, 3", m.Chats, m.Rounds, want)
	}
}
