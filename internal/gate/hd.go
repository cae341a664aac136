package gate

import (
	"math"

	"github.com/aclements/go-moremath/mathx"
	"github.com/loadbench/loadbench/results"
)

// hdQuantile is the Harrell–Davis estimate of quantile q (0.99 for p99)
// of h's values, in milliseconds: the mean of all the order statistics
// weighted by the Beta((n+1)q, (n+1)(1−q)) density over their ranks,
// instead of the one order statistic at rank ⌈qn⌉. Each bucket of the
// histogram holds the ranks (c₀, c₁] and stands at its midpoint, so its
// weight is I(c₁/n) − I(c₀/n), I the regularized incomplete beta
// function. Weights beyond 12 standard deviations of the Beta law from q
// are 0 or 1 to double precision and are not computed. 0 when h is empty.
//
// Why: a segment of a compare has about 800 chats per protocol, so its
// p99 is the 8th largest, and most of the per-round noise of a p99 log
// ratio is this sampling noise (a bootstrap of the stored segments of the
// real runs gives 3.6–6.2% of the 5–8% measured). Harrell–Davis uses the
// order statistics around it as well and lowers that noise by about a
// tenth at p99 on those segments (docs/validation.md), with no model of
// the tail.
func hdQuantile(h *results.Histogram, q float64) float64 {
	n := h.Count()
	if n == 0 {
		return 0
	}
	nf := float64(n)
	a, b := q*(nf+1), (1-q)*(nf+1)
	sd := math.Sqrt(q * (1 - q) / (nf + 2))
	lo, hi := q-12*sd, q+12*sd
	cdf := func(x float64) float64 {
		switch {
		case x <= 0 || x < lo:
			return 0
		case x >= 1 || x > hi:
			return 1
		}
		return mathx.BetaInc(x, a, b)
	}
	var sum, prev float64
	var c int64
	for _, bk := range h.Distribution() {
		c += bk.Count
		f := cdf(float64(c) / nf)
		if w := f - prev; w > 0 {
			mid := float64(bk.From+bk.To) / 2
			sum += w * mid
		}
		prev = f
		if f >= 1 {
			break
		}
	}
	return sum / 1e6
}
