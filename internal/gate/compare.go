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
	Lo, Hi    float64           // confidence interval of Ratio; ±Inf with too few values
	P         float64           // Mann–Whitney U test of the two samples
	N         int               // values per build (rounds when paired)
	Verdict   string            // results.Pass, Fail or Inconclusive
	// MoreRounds estimates, when Inconclusive, how many more values per
	// build (rounds) would let the data decide; 0 otherwise.
	MoreRounds int
	Warnings   []error
}

// Delta is Ratio-1: +0.12 for 12% slower.
func (c Comparison) Delta() float64 { return c.Ratio - 1 }

// ComparePaired compares values measured in pairs: baseline[i] and
// candidate[i] come from the same round. The ratio is the median of the
// per-round ratios candidate[i]/baseline[i], with the distribution-free
// confidence interval of that median; p is the U test of the two samples.
// The slices must have the same length.
func ComparePaired(baseline, candidate []float64, cfg Config) (Comparison, error) {
	if len(baseline) != len(candidate) {
		return Comparison{}, fmt.Errorf("compare paired: %d baseline values, %d candidate values", len(baseline), len(candidate))
	}
	c := compareSamples(baseline, candidate, cfg)
	if c.N == 0 {
		return c, nil
	}
	ratios := make([]float64, len(baseline))
	for i := range baseline {
		ratios[i] = ratio(baseline[i], candidate[i])
	}
	rs := benchmath.AssumeNothing.Summary(benchmath.NewSample(ratios, thresholds(cfg)), cfg.Confidence)
	c.Ratio, c.Lo, c.Hi = rs.Center, rs.Lo, rs.Hi
	c.Warnings = appendUnique(c.Warnings, rs.Warnings...)
	c.decide(cfg, c.Candidate.Center > c.Baseline.Center)
	return c, nil
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
	slower := c.Candidate.Center > c.Baseline.Center
	if higherIsBetter {
		slower = c.Candidate.Center < c.Baseline.Center
	}
	c.decide(cfg, slower)
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
	c.Warnings = appendUnique(c.Warnings, c.Baseline.Warnings...)
	c.Warnings = appendUnique(c.Warnings, c.Candidate.Warnings...)
	c.Warnings = appendUnique(c.Warnings, cmp.Warnings...)
	return c
}

// decide applies the rule of the package comment to c's ratio, interval
// and p; slower says whether the candidate's center is the worse one.
func (c *Comparison) decide(cfg Config, slower bool) {
	limit := cfg.limit()
	c.MoreRounds = 0
	switch {
	case c.N < 2:
		c.Verdict = results.Inconclusive
		c.Warnings = appendUnique(c.Warnings, fmt.Errorf("%d value(s) per build: need at least 2 to compare", c.N))
	case c.Hi <= limit && !math.IsInf(c.Lo, 0): // a finite interval, within the limit
		c.Verdict = results.Pass
		return
	case c.Ratio > limit && slower && (c.P < cfg.Alpha || c.Lo > 1):
		c.Verdict = results.Fail
		return
	default:
		c.Verdict = results.Inconclusive
	}
	c.MoreRounds = moreRounds(c.N, c.Ratio, c.Lo, c.Hi, limit, cfg)
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

// appendUnique appends the errors of more whose text is not yet in errs.
func appendUnique(errs []error, more ...error) []error {
	for _, e := range more {
		if e == nil || slices.ContainsFunc(errs, func(x error) bool { return x.Error() == e.Error() }) {
			continue
		}
		errs = append(errs, e)
	}
	return errs
}
