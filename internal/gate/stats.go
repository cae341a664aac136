package gate

import (
	"math"
	"slices"
	"sync"

	"github.com/aclements/go-moremath/mathx"
	"github.com/aclements/go-moremath/stats"
)

// zQuantile is the standard normal quantile at p.
func zQuantile(p float64) float64 { return stats.StdNormal.InvCDF(p) }

// tQuantile is Student's t quantile at p with df degrees of freedom, found
// by bisection on the CDF.
func tQuantile(p float64, df int) float64 {
	if df < 1 {
		return math.Inf(1)
	}
	if p == 0.5 {
		return 0
	}
	if p < 0.5 {
		return -tQuantile(1-p, df)
	}
	d := stats.TDist{V: float64(df)}
	lo, hi := 0.0, 1.0
	for d.CDF(hi) < p {
		hi *= 2
		if hi > 1e12 {
			return math.Inf(1)
		}
	}
	for range 200 {
		mid := (lo + hi) / 2
		if d.CDF(mid) < p {
			lo = mid
		} else {
			hi = mid
		}
		if hi-lo < 1e-12*hi {
			break
		}
	}
	return (lo + hi) / 2
}

// tCDF is Student's t CDF with df degrees of freedom.
func tCDF(x float64, df int) float64 { return stats.TDist{V: float64(df)}.CDF(x) }

// betaQuantile is the quantile p of the Beta(a, b) distribution, by
// bisection on the regularized incomplete beta function.
func betaQuantile(p, a, b float64) float64 {
	lo, hi := 0.0, 1.0
	for range 200 {
		mid := (lo + hi) / 2
		if mathx.BetaInc(mid, a, b) < p {
			lo = mid
		} else {
			hi = mid
		}
		if hi-lo < 1e-13 {
			break
		}
	}
	return (lo + hi) / 2
}

// ClopperPearson is the exact (Clopper–Pearson) two-sided confidence
// interval at level confidence (0.95) of a proportion with k successes out
// of n. With n = 0 it is [0, 1].
func ClopperPearson(k, n int, confidence float64) (lo, hi float64) {
	if n <= 0 {
		return 0, 1
	}
	a := (1 - confidence) / 2
	if k > 0 {
		lo = betaQuantile(a, float64(k), float64(n-k+1))
	}
	hi = 1
	if k < n {
		hi = betaQuantile(1-a, float64(k+1), float64(n-k))
	}
	return lo, hi
}

// wilson is the Wilson score interval of k out of n at normal quantile z.
func wilson(k, n int64, z float64) (lo, hi float64) {
	if n <= 0 {
		return 0, 1
	}
	nf := float64(n)
	p := float64(k) / nf
	z2 := z * z
	den := 1 + z2/nf
	center := (p + z2/(2*nf)) / den
	half := z * math.Sqrt(p*(1-p)/nf+z2/(4*nf*nf)) / den
	return max(0, center-half), min(1, center+half)
}

// DiffInterval is Newcombe's hybrid score interval (his method 10) of the
// difference of two proportions, kc/nc − kb/nb, each bound one-sided at
// normal quantile z. It keeps its coverage for rates near 0, where the Wald
// interval does not.
func DiffInterval(kb, nb, kc, nc int64, z float64) (diff, lo, hi float64) {
	pb, pc := frac(kb, nb), frac(kc, nc)
	lb, ub := wilson(kb, nb, z)
	lc, uc := wilson(kc, nc, z)
	diff = pc - pb
	lo = diff - math.Sqrt((pc-lc)*(pc-lc)+(ub-pb)*(ub-pb))
	hi = diff + math.Sqrt((uc-pc)*(uc-pc)+(pb-lb)*(pb-lb))
	return diff, lo, hi
}

func frac(k, n int64) float64 {
	if n <= 0 {
		return 0
	}
	return float64(k) / float64(n)
}

// TheilSen is the Theil–Sen slope of y against x (the median of the
// pairwise slopes) with Sen's distribution-free interval, each bound
// one-sided at normal quantile z (from Kendall's tau). Pairs with equal x
// are left out, and the variance of Kendall's S is corrected for them. With
// too few points for a bound, that bound is ±Inf.
func TheilSen(x, y []float64, z float64) (slope, lo, hi float64) {
	n := min(len(x), len(y))
	var s []float64
	for i := range n {
		for j := i + 1; j < n; j++ {
			if dx := x[j] - x[i]; dx != 0 {
				s = append(s, (y[j]-y[i])/dx)
			}
		}
	}
	if len(s) == 0 {
		return math.NaN(), math.Inf(-1), math.Inf(1)
	}
	slices.Sort(s)
	N := float64(len(s))
	slope = median(s)
	// Var(S) of Kendall's S, with the correction for tied x.
	v := func(t float64) float64 { return t * (t - 1) * (2*t + 5) }
	ties := map[float64]int{}
	for _, xi := range x[:n] {
		ties[xi]++
	}
	varS := v(float64(n))
	for _, t := range ties {
		varS -= v(float64(t))
	}
	lo, hi = math.Inf(-1), math.Inf(1)
	if len(ties) == n && n <= maxExactKendall {
		// No tied x: Kendall's S has its exact null distribution, which
		// the normal approximation understates in the tail for a few
		// points (6 readings cannot give a bound beyond 99.4% by it, but
		// can by the exact law, up to 1 − 1/720).
		if c, ok := kendallCritical(n, 1-normalCDF(z)); ok {
			C := float64(c - 2) // Hollander and Wolfe's C_α = k_α − 2
			lo = s[int((N-C)/2)-1]
			if k := int((N+C)/2) + 1; k <= len(s) {
				hi = s[k-1]
			}
		}
		return slope, lo, hi
	}
	c := z * math.Sqrt(varS/18)
	if k := math.Floor((N - c) / 2); k >= 1 { // 1-based rank
		lo = s[int(k)-1]
	}
	if k := math.Ceil((N+c)/2) + 1; k <= N {
		hi = s[int(k)-1]
	}
	return slope, lo, hi
}

// maxExactKendall is the most points for which TheilSen uses the exact
// distribution of Kendall's S (beyond, the normal approximation is good).
const maxExactKendall = 40

var kendallDists sync.Map // n → []float64: P(inversions = k), k = 0..n(n−1)/2

// kendallCritical is the smallest k_α of Kendall's S for n untied points
// with P(S ≥ k_α) ≤ a under independence (S = N − 2·inversions of a
// random permutation, N = n(n−1)/2), and false when even S = N, of
// probability 1/n!, is likelier than a.
func kendallCritical(n int, a float64) (int, bool) {
	N := n * (n - 1) / 2
	var dist []float64
	if v, ok := kendallDists.Load(n); ok {
		dist = v.([]float64)
	} else {
		// Mahonian numbers as probabilities: adding the m-th element adds
		// 0..m−1 inversions, each with probability 1/m.
		dist = []float64{1}
		for m := 2; m <= n; m++ {
			next := make([]float64, len(dist)+m-1)
			for k, p := range dist {
				for j := range m {
					next[k+j] += p / float64(m)
				}
			}
			dist = next
		}
		kendallDists.Store(n, dist)
	}
	// P(S ≥ N − 2i) = P(inversions ≤ i).
	tail, best := 0.0, -1
	for i := 0; i <= N/2; i++ {
		tail += dist[i]
		if tail > a {
			break
		}
		best = i
	}
	if best < 0 {
		return 0, false
	}
	return N - 2*best, true
}

func median(sorted []float64) float64 {
	n := len(sorted)
	if n%2 == 1 {
		return sorted[n/2]
	}
	return (sorted[n/2-1] + sorted[n/2]) / 2
}
