package gate

import (
	"math"
	"strings"
	"testing"

	"github.com/loadbench/loadbench/results"
)

// Known values: six rounds with known ratios. The interval is the t
// interval of the mean log ratio, t(0.975, 5) = 2.5705818366147395.
func TestComparePairedKnownValues(t *testing.T) {
	t.Parallel()
	b := []float64{10.0, 10.1, 9.9, 10.2, 9.8, 10.05}
	c := make([]float64, len(b))
	ratios := []float64{1.5, 1.55, 1.45, 1.5, 1.6, 1.4}
	var m float64
	for i := range b {
		c[i] = b[i] * ratios[i]
		m += math.Log(ratios[i]) / 6
	}
	var ss float64
	for _, r := range ratios {
		ss += (math.Log(r) - m) * (math.Log(r) - m)
	}
	se := math.Sqrt(ss/5) / math.Sqrt(6)
	got, err := ComparePaired(b, c, DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	near := func(name string, got, want float64) {
		t.Helper()
		if math.Abs(got-want) > 1e-6 {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	near("ratio", got.Ratio, math.Exp(m))
	near("ci low", got.Lo, math.Exp(m-2.5705818366147395*se))
	near("ci high", got.Hi, math.Exp(m+2.5705818366147395*se))
	near("baseline center", got.Baseline.Center, (10.0+10.05)/2)
	if got.Verdict != results.Fail || got.MoreRounds != 0 || got.P > 1e-4 {
		t.Errorf("verdict %s, more %d, p %v; want fail, 0, tiny", got.Verdict, got.MoreRounds, got.P)
	}
	// The inputs are not reordered.
	if b[0] != 10.0 || b[4] != 9.8 {
		t.Errorf("ComparePaired sorted its input: %v", b)
	}
}

func TestComparePairedLengthMismatch(t *testing.T) {
	t.Parallel()
	if _, err := ComparePaired([]float64{1, 2}, []float64{1}, DefaultConfig()); err == nil || !strings.HasPrefix(err.Error(), "compare paired:") {
		t.Fatalf("err = %v", err)
	}
}

func TestDecisionRule(t *testing.T) {
	t.Parallel()
	b := []float64{100, 102, 98, 101, 99, 100.5}
	scale := func(f float64, jitter ...float64) []float64 {
		out := make([]float64, len(b))
		for i := range b {
			out[i] = b[i] * f
			if len(jitter) > 0 {
				out[i] *= jitter[i]
			}
		}
		return out
	}
	wide := []float64{1.09, 0.92, 1.04, 0.95, 1.08, 0.93}
	for _, tc := range []struct {
		name     string
		base     []float64
		cand     []float64
		want     results.Verdict
		wantMore bool
	}{
		{"+50% slowdown", b, scale(1.5), results.Fail, false},
		{"identical", b, scale(1), results.Pass, false},
		{"identical, tight jitter", b, scale(1, 1.004, 0.997, 1.01, 0.99, 1.0, 1.003), results.Pass, false},
		{"identical, wide spread", b, scale(1, wide...), results.Inconclusive, true},
		{"+3% tight", b, scale(1.03, 1.002, 0.999, 1.004, 1.0, 0.998, 1.001), results.Pass, false},
		{"+7% tight: over budget and significant", b, scale(1.07, 1.002, 0.999, 1.004, 1.0, 0.998, 1.001), results.Fail, false},
		{"+4.5% tight: within the budget, never a fail", b, scale(1.045, 1.002, 0.999, 1.004, 1.0, 0.998, 1.001), results.Pass, false},
		{"+5% tight: at the limit, undecided", b, scale(1.05, 1.002, 0.999, 1.004, 1.0, 0.998, 1.001), results.Inconclusive, true},
		{"+6% tight: over the limit", b, scale(1.06, 1.002, 0.999, 1.004, 1.0, 0.998, 1.001), results.Fail, false},
		{"+7% wide: not significant", b, scale(1.07, 1.2, 0.85, 1.1, 0.9, 1.15, 0.95), results.Inconclusive, true},
		{"20% faster", b, scale(0.8), results.Pass, false},
		{"two rounds, wide", b[:2], scale(1.07, 1.2, 0.85, 1, 1, 1, 1)[:2], results.Inconclusive, true},
		{"one round", b[:1], scale(1.5)[:1], results.Inconclusive, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := ComparePaired(tc.base, tc.cand, DefaultConfig())
			if err != nil {
				t.Fatal(err)
			}
			if c.Verdict != tc.want {
				t.Errorf("verdict %s (ratio %.3f CI %.3f–%.3f p %.4f), want %s", c.Verdict, c.Ratio, c.Lo, c.Hi, c.P, tc.want)
			}
			if (c.MoreRounds > 0) != tc.wantMore {
				t.Errorf("more rounds %d, want >0: %v", c.MoreRounds, tc.wantMore)
			}
		})
	}
}

// Rounds share conditions (machine load), which makes the unpaired U test
// weak; the paired interval still sees a slowdown in every round.
func TestDecisionPairedDrift(t *testing.T) {
	t.Parallel()
	drift := []float64{1.0, 1.3, 0.8, 1.2, 0.9, 1.1}
	var b, c []float64
	for i, d := range drift {
		b = append(b, 100*d)
		c = append(c, 100*d*(1.10+0.002*float64(i%3)))
	}
	got, err := ComparePaired(b, c, DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	if u := CompareUnpaired(b, c, false, DefaultConfig()); u.Verdict == results.Fail {
		t.Fatalf("construction: the unpaired comparison should not see it: %+v", u)
	}
	if got.Verdict != results.Fail || got.Lo <= 1 {
		t.Fatalf("verdict %s ratio %.3f CI %.3f–%.3f p %.3f; want fail", got.Verdict, got.Ratio, got.Lo, got.Hi, got.P)
	}
}

func TestMoreRounds(t *testing.T) {
	t.Parallel()
	cfg := DefaultConfig()
	// n' = 6·(0.08/0.05)² = 15.36 → 16 rounds, 10 more.
	if got := moreRounds(6, 1.0, 0.95, 1.08, 1.05, cfg); got != 10 {
		t.Errorf("moreRounds below the limit = %d, want 10", got)
	}
	// Over the limit: w = ratio-lo = 0.1, d = 0.05: n' = 24, 18 more.
	if got := moreRounds(6, 1.10, 1.0, 1.2, 1.05, cfg); got != 18 {
		t.Errorf("moreRounds over the limit = %d, want 18", got)
	}
	if got := moreRounds(6, 1.05, 1.0, 1.1, 1.05, cfg); got != cfg.MaxMoreRounds {
		t.Errorf("moreRounds at the limit = %d, want the cap %d", got, cfg.MaxMoreRounds)
	}
	if got := moreRounds(3, 1.0, math.Inf(-1), math.Inf(1), 1.05, cfg); got != 3 {
		t.Errorf("moreRounds without interval = %d, want 3 (6 needed for a 95%% interval)", got)
	}
	// The paired t rule: n' = (t·s/|mean − log L|)².
	d := []float64{0, 0.04, -0.04, 0.02, -0.02, 0}
	if got := moreRoundsT(d, cfg); got < 1 || got >= cfg.MaxMoreRounds {
		t.Errorf("moreRoundsT = %d, want a finite estimate", got)
	}
}

func TestCompareUnpairedZeroVariance(t *testing.T) {
	t.Parallel()
	same := []float64{8, 8, 8, 8, 8, 8, 8, 8, 8, 8}
	c := CompareUnpaired(same, same, false, DefaultConfig())
	if c.Ratio != 1 || c.Lo != 1 || c.Hi != 1 || c.P != 1 || c.Verdict != results.Pass {
		t.Errorf("identical constants: %+v", c)
	}
	zero := make([]float64, 10)
	c = CompareUnpaired(zero, zero, false, DefaultConfig())
	if c.Ratio != 1 || c.Verdict != results.Pass || math.IsNaN(c.Lo) || math.IsNaN(c.Hi) {
		t.Errorf("zeros: %+v", c)
	}
	more := []float64{9, 9, 9, 9, 9, 9, 9, 9, 9, 9}
	c = CompareUnpaired(same, more, false, DefaultConfig())
	if c.Verdict != results.Fail || math.Abs(c.Ratio-9.0/8) > 1e-12 {
		t.Errorf("8 → 9 allocs: %+v", c)
	}
	c = CompareUnpaired(zero, more, false, DefaultConfig())
	if c.Verdict != results.Fail || !math.IsInf(c.Ratio, 1) {
		t.Errorf("0 → 9 allocs: %+v", c)
	}
}

func TestCompareUnpairedHigherIsBetter(t *testing.T) {
	t.Parallel()
	old := []float64{100, 101, 99, 100, 102, 98, 100, 101, 99, 100}
	slow := make([]float64, len(old))
	for i, v := range old {
		slow[i] = v / 1.5 // throughput down by a third: 1.5× the cost
	}
	c := CompareUnpaired(old, slow, true, DefaultConfig())
	if c.Verdict != results.Fail || math.Abs(c.Ratio-1.5) > 1e-9 {
		t.Errorf("throughput drop: ratio %v verdict %s", c.Ratio, c.Verdict)
	}
	c = CompareUnpaired(slow, old, true, DefaultConfig())
	if c.Verdict != results.Pass {
		t.Errorf("throughput gain: ratio %v verdict %s", c.Ratio, c.Verdict)
	}
}

// pairedRounds is six rounds of baseline 10 ms and candidate 10·e^d with
// per-round log ratios of mean m and standard deviation exactly s.
func pairedRounds(m, s float64) (b, c []float64) {
	z := []float64{-1.5, -0.5, 0.5, 1.5, -1, 1} // mean 0
	_, sz := meanSD(z)
	for _, v := range z {
		b = append(b, 10)
		c = append(c, 10*math.Exp(m+s*v/sz))
	}
	return b, c
}

// The fail side of six checks is Holm's: a check that fails at α/5 but
// not at α/6 fails only after another check has failed, and its interval
// carries the level it was tested at. The pass side stays at α.
func TestHolmFailSide(t *testing.T) {
	t.Parallel()
	cfg := DefaultConfig() // fixed design: one look at α = 2.5% per side
	a, n, s := cfg.alpha(), 6, 0.01
	t6, t5 := tQuantile(1-a/6, n-1), tQuantile(1-a/5, n-1)
	lim := math.Log(cfg.limit())
	// Between the two critical values: over at α/5, not at α/6.
	between := lim + (t6+t5)/2*s/math.Sqrt(float64(n))
	mk := func(m float64) *latencyCheck {
		b, c := pairedRounds(m, s)
		return &latencyCheck{proto: results.HTTP, pct: 50, bv: b, cv: c}
	}
	within := func() []*latencyCheck {
		var ks []*latencyCheck
		for range 4 {
			ks = append(ks, mk(0))
		}
		return ks
	}
	// Alone with five others within: not a fail (Bonferroni's α/6).
	checks := append(within(), mk(between), mk(0))
	decideHolm(checks, cfg)
	if v := checks[4].cmp; v.Verdict == results.Fail || v.FailChecks != 6 {
		t.Errorf("borderline check among passes: %s, fail checks %d; want not a fail, at α/6", v.Verdict, v.FailChecks)
	}
	// With a clear fail among the six, the borderline one is tested again
	// at α/5 and fails too.
	checks = append(within(), mk(between), mk(lim+0.2))
	decideHolm(checks, cfg)
	if v := checks[5].cmp; v.Verdict != results.Fail || v.FailChecks != 6 {
		t.Errorf("clear fail: %s at %d checks, want fail at 6", v.Verdict, v.FailChecks)
	}
	if v := checks[4].cmp; v.Verdict != results.Fail || v.FailChecks != 5 {
		t.Errorf("borderline check after a fail: %s at %d checks, want fail at 5", v.Verdict, v.FailChecks)
	}
	// The bounds are at their stated levels: Hi at α, Lo at α/5.
	v := checks[4].cmp
	m, se := between, s/math.Sqrt(float64(n))
	if math.Abs(v.Hi-math.Exp(m+tQuantile(1-a, n-1)*se)) > 1e-9 || math.Abs(v.Lo-math.Exp(m-t5*se)) > 1e-9 {
		t.Errorf("interval %v–%v, want the t bounds at α and α/5", v.Lo, v.Hi)
	}
	if want := 1 - a - a/5; math.Abs(v.Confidence-want) > 1e-12 {
		t.Errorf("confidence %v, want %v", v.Confidence, want)
	}
}

// Evaluate reports each latency interval's real level: with six latency
// checks, two error checks (one per protocol) and the memory check sharing
// the fail side, and none failing, 1 − α/2 − α/2/9 for a fixed design
// (97.22%, not 95%).
func TestEvaluateLatencyConfidence(t *testing.T) {
	t.Parallel()
	good := build{factor: steady(1, tight...), forced: true}
	sum := Evaluate(synthRun(good, good), DefaultConfig())
	if len(sum.Latency) != 6 {
		t.Fatalf("%d latency checks, want 6", len(sum.Latency))
	}
	for _, l := range sum.Latency {
		if want := 1 - 0.025 - 0.025/9; math.Abs(l.Confidence-want) > 1e-12 || l.FailChecks != 9 {
			t.Errorf("%s: confidence %v at %d checks, want %v at 9", l.Check(), l.Confidence, l.FailChecks, want)
		}
	}
	if !strings.Contains(sum.Power, "at 80% power") {
		t.Errorf("power note %q", sum.Power)
	}
}
