package gate

import (
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/loadbench/loadbench/results"
	"golang.org/x/perf/benchmath"
)

// Comparison is the verdict on one measurement (a latency percentile, a
// benchmark unit) of the baseline against the candidate. Ratio, Lo and Hi
// are cost ratios, candidate/baseline, so above 1 is worse.
type Comparison struct {
	Baseline  benchmath.Summary // center (median) and interval of the baseline's values
	Candidate benchmath.Summary // the same for the candidate
	Ratio     float64           // candidate/baseline
	Lo, Hi    float64           // confidence interval of Ratio at Confidence; ±Inf with too few values
	// Confidence is the two-sided level of [Lo, Hi] at this look: each
	// bound is one-sided at its side's nominal level (see ComparePaired).
	Confidence float64
	// FailChecks is what the fail side's level was divided by (Holm's
	// step; Config.FailChecks, at least 1).
	FailChecks int
	// P is, for paired values, the one-sided p value of the paired t test
	// of the mean log ratio against log(1 + budget), in the direction of
	// the estimate (small: the data are clearly on that side of the
	// limit); for unpaired values, the Mann–Whitney U test's (shown, never
	// part of the verdict).
	P       float64
	N       int             // values per build (rounds when paired)
	Verdict results.Verdict // results.Pass, Fail or Inconclusive
	// MoreRounds estimates, when Inconclusive, how many more values per
	// build (rounds) would let the data decide; 0 otherwise.
	MoreRounds int
	Warnings   []error
}

// Delta is Ratio-1: +0.12 for 12% slower.
func (c Comparison) Delta() float64 { return c.Ratio - 1 }

// ComparePaired is the latency rule over paired per-round values:
// baseline[i] and candidate[i] come from the same round (the slices must
// have the same length). It is a non-inferiority test against the limit
// L = 1 + cfg.Budget on the per-round log ratios d_i = ln(candidate[i] /
// baseline[i]): Ratio = exp(mean d), Hi = exp(mean d + t·s/√n) with t at
// the look's nominal level of the pass side ((1 − Confidence)/2 spent over
// the looks), and Lo = exp(mean d − t'·s/√n) with t' at the fail side's
// (the same design at (1 − Confidence)/2 / FailChecks). Pass when Hi ≤ L,
// fail when Lo > L, inconclusive otherwise with MoreRounds. Confidence is
// the interval's two-sided level at this look, 1 − the two sides' nominal
// levels. Pairs where a value is not positive are left out with a
// warning.
func ComparePaired(baseline, candidate []float64, cfg Config) (Comparison, error) {
	if len(baseline) != len(candidate) {
		return Comparison{}, fmt.Errorf("compare paired: %d baseline values, %d candidate values", len(baseline), len(candidate))
	}
	c := Comparison{N: len(baseline), Verdict: results.Inconclusive}
	if c.N == 0 {
		c.Warnings = append(c.Warnings, errors.New("no values to compare"))
		return c, nil
	}
	th := thresholds(cfg)
	c.Baseline = benchmath.AssumeNothing.Summary(benchmath.NewSample(slices.Clone(baseline), th), cfg.Confidence)
	c.Candidate = benchmath.AssumeNothing.Summary(benchmath.NewSample(slices.Clone(candidate), th), cfg.Confidence)
	var d []float64
	for i := range baseline {
		b, x := baseline[i], candidate[i]
		if !(b > 0 && x > 0) || math.IsInf(b, 0) || math.IsInf(x, 0) {
			c.Warnings = AppendUnique(c.Warnings, fmt.Errorf("round %d: value not positive, left out", i+1))
			continue
		}
		d = append(d, math.Log(x/b))
	}
	c.N = len(d)
	c.Ratio, c.Lo, c.Hi, c.P = pairedT(d, cfg)
	c.Confidence, c.FailChecks = cfg.pairedConfidence(c.N), max(1, cfg.FailChecks)
	c.decide(cfg)
	switch {
	case c.Verdict != results.Inconclusive:
	case c.N < 2:
		c.MoreRounds = 2 - c.N
	default:
		c.MoreRounds = moreRoundsT(d, cfg)
	}
	return c, nil
}

// pairedConfidence is the two-sided level of ComparePaired's interval
// after n rounds: 1 − the pass side's nominal level − the fail side's.
func (c Config) pairedConfidence(n int) float64 {
	n = max(n, 2)
	return 1 - c.tLevel(n, c.alpha()) - c.tLevel(n, c.failAlpha())
}

// pairedT is the mean log ratio's t interval (Hi at the pass side's level,
// Lo at the fail side's) and the one-sided p value against log(limit),
// all back on the ratio scale. The p value is the fixed-sample one, as if
// this look were the only one: the design's control is in the bounds.
func pairedT(d []float64, cfg Config) (ratio, lo, hi, p float64) {
	n := len(d)
	if n == 0 {
		return math.NaN(), math.Inf(-1), math.Inf(1), 1
	}
	m, sd := meanSD(d)
	if n < 2 {
		return math.Exp(m), math.Inf(-1), math.Inf(1), 1
	}
	se := sd / math.Sqrt(float64(n))
	lo, hi = math.Exp(m-cfg.tCriticalAt(n, cfg.failAlpha())*se), math.Exp(m+cfg.tCritical(n)*se)
	lim := math.Log(cfg.limit())
	switch {
	case se == 0 && m == lim:
		p = 1
	case se == 0:
		p = 0
	case m <= lim:
		p = tCDF((m-lim)/se, n-1)
	default:
		p = 1 - tCDF((m-lim)/se, n-1)
	}
	return math.Exp(m), lo, hi, p
}

func meanSD(v []float64) (mean, sd float64) {
	for _, x := range v {
		mean += x
	}
	mean /= float64(len(v))
	if len(v) < 2 {
		return mean, 0
	}
	var ss float64
	for _, x := range v {
		ss += (x - mean) * (x - mean)
	}
	return mean, math.Sqrt(ss / float64(len(v)-1))
}

// PairsToDecide is about how many paired values beyond these a compare
// would need for its fixed-sample interval to clear the limit L = 1 +
// cfg.Budget in a share power of compares, if the pairs' mean log ratio
// and their scatter held: n = ((z_{1−α} + z_{power})·s / |mean − log L|)²
// with α = (1 − cfg.Confidence)/2, the normal approximation of a paired t
// test's sample size. (moreRoundsT's n' is the size at which the interval
// would just reach the limit, which decides about half the time.) It is
// cfg.MaxMoreRounds when that is more, or when the mean is on the limit,
// and 0 with fewer than 2 pairs of positive values.
func PairsToDecide(baseline, candidate []float64, power float64, cfg Config) int {
	var d []float64
	for i := range min(len(baseline), len(candidate)) {
		if baseline[i] > 0 && candidate[i] > 0 {
			d = append(d, math.Log(candidate[i]/baseline[i]))
		}
	}
	if len(d) < 2 {
		return 0
	}
	m, sd := meanSD(d)
	z := zQuantile(1-(1-cfg.Confidence)/2) + zQuantile(power)
	need := math.Pow(z*sd/math.Abs(m-math.Log(cfg.limit())), 2)
	if !(need < float64(len(d)+cfg.MaxMoreRounds)) { // NaN too
		return cfg.MaxMoreRounds
	}
	return max(1, int(math.Ceil(need))-len(d))
}

// moreRoundsT estimates the rounds to add before the t interval, whose
// half-width shrinks as 1/√n for a mean, separates the ratio from the
// limit: n' = (t·s/|mean − log L|)², with today's t and s.
func moreRoundsT(d []float64, cfg Config) int {
	n := len(d)
	m, sd := meanSD(d)
	dist := math.Abs(m - math.Log(cfg.limit()))
	t := cfg.tCritical(n)
	if m > math.Log(cfg.limit()) {
		t = cfg.tCriticalAt(n, cfg.failAlpha())
	}
	if !(dist > 0) {
		return cfg.MaxMoreRounds
	}
	need := math.Pow(t*sd/dist, 2)
	if math.IsNaN(need) || need > float64(n+cfg.MaxMoreRounds) {
		return cfg.MaxMoreRounds
	}
	return max(1, min(int(math.Ceil(need))-n, cfg.MaxMoreRounds))
}

// CompareUnpaired compares independent samples (such as `go test -bench
// -count=10` of two builds, run one after the other). The ratio is
// center(candidate)/center(baseline); its interval combines the two
// medians' intervals, [cand.Lo/base.Hi, cand.Hi/base.Lo], which covers the
// true ratio whenever both intervals cover their medians: it is
// conservative (wide), so it errs towards inconclusive, never towards pass.
// With higherIsBetter (throughput units such as B/s) the cost ratio is
// baseline/candidate instead.
func CompareUnpaired(baseline, candidate []float64, higherIsBetter bool, cfg Config) Comparison {
	c := compareSamples(baseline, candidate, cfg)
	if c.N == 0 {
		return c
	}
	num, den := c.Candidate, c.Baseline
	if higherIsBetter {
		num, den = den, num
	}
	c.Ratio = ratio(den.Center, num.Center)
	c.Lo = ratio(den.Hi, num.Lo)
	c.Hi = ratio(den.Lo, num.Hi)
	if math.IsInf(den.Lo, 0) || math.IsInf(den.Hi, 0) || math.IsInf(num.Lo, 0) || math.IsInf(num.Hi, 0) {
		c.Lo, c.Hi = math.Inf(-1), math.Inf(1)
	}
	c.decide(cfg)
	if c.Verdict == results.Inconclusive && c.N >= 2 {
		c.MoreRounds = moreRounds(c.N, c.Ratio, c.Lo, c.Hi, cfg.limit(), cfg)
	}
	return c
}

// compareSamples summarizes both samples and runs the U test.
func compareSamples(baseline, candidate []float64, cfg Config) Comparison {
	c := Comparison{N: min(len(baseline), len(candidate)), Verdict: results.Inconclusive}
	if len(baseline) == 0 || len(candidate) == 0 {
		c.Warnings = append(c.Warnings, errors.New("no values to compare"))
		return c
	}
	th := thresholds(cfg)
	bs := benchmath.NewSample(slices.Clone(baseline), th)
	cs := benchmath.NewSample(slices.Clone(candidate), th)
	c.Baseline = benchmath.AssumeNothing.Summary(bs, cfg.Confidence)
	c.Candidate = benchmath.AssumeNothing.Summary(cs, cfg.Confidence)
	cmp := benchmath.AssumeNothing.Compare(bs, cs)
	c.P = cmp.P
	c.Warnings = AppendUnique(c.Warnings, c.Baseline.Warnings...)
	c.Warnings = AppendUnique(c.Warnings, c.Candidate.Warnings...)
	c.Warnings = AppendUnique(c.Warnings, cmp.Warnings...)
	return c
}

// decide applies the non-inferiority rule of the package comment to c's
// interval: pass when Hi ≤ limit, fail when Lo > limit.
func (c *Comparison) decide(cfg Config) {
	limit := cfg.limit()
	c.MoreRounds = 0
	switch {
	case c.N < 2:
		c.Verdict = results.Inconclusive
		c.Warnings = AppendUnique(c.Warnings, fmt.Errorf("%d value(s) per build: need at least 2 to compare", c.N))
	case c.Hi <= limit && !math.IsInf(c.Lo, 0):
		c.Verdict = results.Pass
	case c.Lo > limit:
		c.Verdict = results.Fail
	default:
		c.Verdict = results.Inconclusive
	}
}

// moreRounds estimates how many more rounds would make the interval, whose
// half-width shrinks as 1/√n, narrow enough on the side facing the limit to
// separate the ratio from it: n' = n·(w/d)² where w is that half-width and
// d the distance from the ratio to the limit. With no finite interval yet,
// it is the number of rounds still needed for one.
func moreRounds(n int, ratio, lo, hi, limit float64, cfg Config) int {
	capped := func(m int) int { return max(1, min(m, cfg.MaxMoreRounds)) }
	if math.IsInf(lo, 0) || math.IsInf(hi, 0) || math.IsNaN(lo) || math.IsNaN(hi) {
		return capped(minRoundsForCI(cfg.Confidence) - n)
	}
	var w, d float64
	if ratio <= limit {
		w, d = hi-ratio, limit-ratio
	} else {
		w, d = ratio-lo, ratio-limit
	}
	if !(d > 0) || math.IsNaN(w) || math.IsInf(ratio, 0) {
		return cfg.MaxMoreRounds
	}
	need := float64(n) * (w / d) * (w / d)
	if need > float64(n+cfg.MaxMoreRounds) {
		return cfg.MaxMoreRounds
	}
	return capped(int(math.Ceil(need)) - n)
}

// minRoundsForCI is the smallest sample with a finite median interval at
// confidence (6 at 95%), found with benchmath itself.
func minRoundsForCI(confidence float64) int {
	const limit = 50
	for n := 2; n <= limit; n++ {
		v := make([]float64, n)
		for i := range v {
			v[i] = float64(i)
		}
		s := benchmath.AssumeNothing.Summary(benchmath.NewSample(v, &benchmath.DefaultThresholds), confidence)
		if !math.IsInf(s.Lo, 0) && !math.IsInf(s.Hi, 0) {
			return n
		}
	}
	return limit
}

// ratio is c/b, with 0/0 = 1 (identical, both zero) and c/0 = +Inf.
func ratio(b, c float64) float64 {
	switch {
	case b == c:
		return 1
	case b == 0:
		return math.Inf(1)
	}
	return c / b
}

func thresholds(cfg Config) *benchmath.Thresholds {
	t := benchmath.DefaultThresholds
	t.CompareAlpha = cfg.Alpha
	return &t
}

// AppendUnique appends the errors of more whose text is not yet in errs.
func AppendUnique(errs []error, more ...error) []error {
	for _, e := range more {
		if e == nil || slices.ContainsFunc(errs, func(x error) bool { return x.Error() == e.Error() }) {
			continue
		}
		errs = append(errs, e)
	}
	return errs
}
