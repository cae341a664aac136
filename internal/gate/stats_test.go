package gate

import (
	"math"
	"strings"
	"testing"

	"github.com/loadbench/loadbench/results"
)

func TestQuantiles(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		got, want float64
		name      string
	}{
		{tQuantile(0.975, 5), 2.5705818366147395, "t(0.975, 5)"},
		{tQuantile(0.995, 10), 3.169272667175838, "t(0.995, 10)"},
		{tQuantile(0.025, 5), -2.5705818366147395, "t(0.025, 5)"},
		{zQuantile(0.975), 1.959963984540054, "z(0.975)"},
	} {
		if math.Abs(c.got-c.want) > 1e-6 {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
}

// Known Clopper–Pearson bounds: 0 of 20 → upper 16.84%; 20 of 20 → lower
// 83.16%; 5 of 50 → 3.33%–21.81%.
func TestClopperPearson(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		k, n   int
		lo, hi float64
	}{
		{0, 20, 0, 0.16843},
		{20, 20, 0.83157, 1},
		{5, 50, 0.03328, 0.21814},
		{0, 0, 0, 1},
	} {
		lo, hi := ClopperPearson(c.k, c.n, 0.95)
		if math.Abs(lo-c.lo) > 1e-4 || math.Abs(hi-c.hi) > 1e-4 {
			t.Errorf("ClopperPearson(%d, %d) = %.5f–%.5f, want %.5f–%.5f", c.k, c.n, lo, hi, c.lo, c.hi)
		}
	}
}

func TestDiffInterval(t *testing.T) {
	t.Parallel()
	z := zQuantile(0.975)
	// Newcombe (1998), table II example: 56/70 vs 48/80 → 0.2000, 0.0524–0.3339
	// (method 10), here as candidate 56/70 minus baseline 48/80.
	d, lo, hi := DiffInterval(48, 80, 56, 70, z)
	if math.Abs(d-0.2) > 1e-9 || math.Abs(lo-0.0524) > 5e-4 || math.Abs(hi-0.3339) > 5e-4 {
		t.Errorf("diff %.4f CI %.4f–%.4f, want 0.2000, 0.0524–0.3339", d, lo, hi)
	}
	// No errors on either side: symmetric around 0 and within 0.1 point
	// with 16,000 chats each.
	d, lo, hi = DiffInterval(0, 16000, 0, 16000, z)
	if d != 0 || lo >= 0 || hi <= 0 || hi > 0.001 || math.Abs(lo+hi) > 1e-12 {
		t.Errorf("0 vs 0: %v %v–%v", d, lo, hi)
	}
}

func TestTheilSen(t *testing.T) {
	t.Parallel()
	x := []float64{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}
	y := make([]float64, len(x))
	for i := range x {
		y[i] = 100 + 64*x[i]
	}
	y[4] += 5000 // one outlier does not move the median slope
	s, lo, hi := TheilSen(x, y, zQuantile(0.975))
	if s != 64 || lo > 64 || hi < 64 || math.IsInf(lo, 0) || math.IsInf(hi, 0) {
		t.Errorf("slope %v CI %v–%v, want 64 inside a finite interval", s, lo, hi)
	}
	// Too few points: no bounds.
	if _, lo, hi := TheilSen(x[:3], y[:3], zQuantile(0.975)); !math.IsInf(lo, -1) || !math.IsInf(hi, 1) {
		t.Errorf("3 points: CI %v–%v, want infinite", lo, hi)
	}
}

// Errors are gated on their own: target errors only, candidate against
// baseline plus the budget.
func TestEvaluateErrors(t *testing.T) {
	t.Parallel()
	good := build{factor: steady(1, tight...), forced: true}
	withErrors := func(run *results.Run, build string, class string, perSeg int64) {
		for _, s := range run.Segments {
			if s.Manifest.Build != build {
				continue
			}
			for _, p := range s.Protocols {
				p.Errors[class] = perSeg
				p.Success -= perSeg
				p.Requests = p.Success + perSeg
			}
		}
	}
	run := synthRun(good, good)
	withErrors(run, results.Candidate, "http 500", 10) // 1% of 1000 per segment
	sum := Evaluate(run, DefaultConfig())
	if sum.Errors == nil || sum.Errors.Verdict != results.Fail || sum.Verdict != results.Fail ||
		!strings.Contains(sum.Reason, "candidate http errors: target error rate 1.00% vs baseline 0.00%") {
		t.Errorf("+1 point: errors %+v, verdict %s: %s", sum.Errors, sum.Verdict, sum.Reason)
	}
	run = synthRun(good, good)
	withErrors(run, results.Candidate, results.GeneratorErrorPrefix+"no free port", 10)
	sum = Evaluate(run, DefaultConfig())
	if sum.Errors.CandidateErrors != 0 || sum.Errors.Verdict != results.Pass || sum.Verdict != results.Pass {
		t.Errorf("generator errors counted: %+v, verdict %s: %s", sum.Errors, sum.Verdict, sum.Reason)
	}
	run = synthRun(good, good)
	withErrors(run, results.Baseline, "http 500", 10)
	withErrors(run, results.Candidate, "http 500", 10)
	sum = Evaluate(run, DefaultConfig())
	if sum.Errors.Verdict == results.Fail {
		t.Errorf("equal error rates failed: %+v", sum.Errors)
	}
}

func TestEvaluateSaturatedIsInconclusive(t *testing.T) {
	t.Parallel()
	good := build{factor: steady(1, tight...), forced: true}
	run := synthRun(good, good)
	run.Segment(results.Baseline, 3).Protocols[results.WS].Saturated = true
	sum := Evaluate(run, DefaultConfig())
	if sum.Verdict != results.Inconclusive || !strings.Contains(sum.Reason, "load generator saturated (baseline round 3 ws)") {
		t.Errorf("verdict %s: %s", sum.Verdict, sum.Reason)
	}
	// An isolation failure is still a failure.
	run = synthRun(good, build{factor: good.factor, violations: 1, forced: true})
	run.Segment(results.Candidate, 1).Protocols[results.HTTP].Saturated = true
	if sum := Evaluate(run, DefaultConfig()); sum.Verdict != results.Fail {
		t.Errorf("isolation violation with a saturated generator: %s: %s", sum.Verdict, sum.Reason)
	}
}

// A sequential run's summary carries its plan, and its intervals are wider
// than a fixed run's at the same rounds.
func TestEvaluateSequential(t *testing.T) {
	t.Parallel()
	run := synthRun(build{factor: steady(1, tight...), forced: true}, build{factor: steady(1, 1.02, 0.97, 1.03, 0.98, 1.01, 0.99), forced: true})
	fixed := Evaluate(run, DefaultConfig())
	cfg := DefaultConfig()
	cfg.MinRounds, cfg.MaxRounds = 3, 12
	seq := Evaluate(run, cfg)
	if fixed.Sequential != nil || seq.Sequential == nil || seq.Sequential.MaxRounds != 12 || seq.Partial {
		t.Fatalf("fixed %+v sequential %+v partial %v", fixed.Sequential, seq.Sequential, seq.Partial)
	}
	if !(seq.Sequential.LookConfidence > 0.95) {
		t.Errorf("look confidence %v, want above the overall 0.95", seq.Sequential.LookConfidence)
	}
	f, s := fixed.Latency[0], seq.Latency[0]
	if !(s.CIHigh-s.CILow > f.CIHigh-f.CILow) {
		t.Errorf("sequential interval %v–%v not wider than fixed %v–%v", s.CILow, s.CIHigh, f.CILow, f.CIHigh)
	}
}

// Without a forced GC (staging) the memory rule still runs, and its note
// states the detection limit.
func TestEvaluateUnforcedStatesDetectionLimit(t *testing.T) {
	t.Parallel()
	good := build{factor: steady(1, tight...)}
	sum := Evaluate(synthRun(good, good), DefaultConfig())
	m := sum.Memory[results.Candidate]
	if m.Forced || m.Verdict != results.Pass || !strings.Contains(m.Note, "no forced GC") || !strings.Contains(m.Note, "detection limit about") {
		t.Errorf("unforced candidate memory %+v", m)
	}
}

// Kendall's S for a few untied points has its exact law: for 6 points,
// P(S = 15) = 1/720 and P(S ≥ 13) = 6/720; for 3 points nothing beyond
// 1/6 exists.
func TestKendallCritical(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		n    int
		a    float64
		want int
		ok   bool
	}{
		{6, 0.0028, 15, true}, {6, 1.0 / 720, 15, true}, {6, 0.001, 0, false},
		{6, 0.01, 13, true}, {3, 0.1, 0, false}, {3, 1.0 / 6, 3, true},
		{10, 0.025, 23, true}, // P(S ≥ 23) = 0.0233, P(S ≥ 21) = 0.0363 for n = 10
	} {
		got, ok := kendallCritical(tc.n, tc.a)
		if got != tc.want || ok != tc.ok {
			t.Errorf("n %d, a %v: %d %v, want %d %v", tc.n, tc.a, got, ok, tc.want, tc.ok)
		}
	}
}

// With six increasing readings, the exact law gives a finite lower bound
// at a level the normal approximation could not reach.
func TestTheilSenExactForFewPoints(t *testing.T) {
	t.Parallel()
	x := []float64{0, 1, 2, 3, 4, 5}
	y := []float64{0, 10, 21, 29, 41, 50}
	_, lo, hi := TheilSen(x, y, zQuantile(1-0.0028))
	if lo != 8 || !math.IsInf(hi, 1) && hi != 12 {
		t.Errorf("interval %v–%v, want the smallest pairwise slope 8 below", lo, hi)
	}
}
