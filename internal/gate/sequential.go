package gate

import (
	"math"
	"math/rand/v2"
	"slices"
	"sync"

	"github.com/aclements/go-moremath/stats"
)

// boundaryPaths is the number of simulated paths that set a sequential
// boundary: its constant is then within about ±0.01 of the exact one.
const boundaryPaths = 200_000

func normalCDF(z float64) float64 { return stats.StdNormal.CDF(z) }

// criticalZ is the one-sided normal critical value of a look after n
// rounds. A fixed design (MaxRounds 0) uses z at 1 − (1 − Confidence)/2.
// A sequential one uses the O'Brien–Fleming shaped boundary
// z_n = C·√(MaxRounds/n), with C such that a statistic whose mean is
// exactly on the limit crosses the boundary at any look from MinRounds to
// MaxRounds with probability (1 − Confidence)/2 (see sequentialC).
func (c Config) criticalZ(n int) float64 {
	a := (1 - c.Confidence) / 2
	if c.MaxRounds <= 0 {
		return zQuantile(1 - a)
	}
	n = max(n, 1)
	return sequentialC(max(1, c.MinRounds), c.MaxRounds, a) * math.Sqrt(float64(c.MaxRounds)/float64(n))
}

// tCritical is the one-sided t critical value of the look after n rounds
// (n−1 degrees of freedom). A fixed design uses the t quantile at
// 1 − (1 − Confidence)/2. A sequential one uses the t quantile at the
// nominal level of the boundary C_t·√(MaxRounds/n), with C_t set by
// sequentialCt so that the studentized statistic, whose variance is
// estimated anew at every look, keeps the error rate.
func (c Config) tCritical(n int) float64 {
	a := (1 - c.Confidence) / 2
	n = max(n, 2)
	if c.MaxRounds <= 0 {
		return cachedT(1-a, n-1)
	}
	ct := sequentialCt(max(2, c.MinRounds), max(2, c.MaxRounds), a)
	return boundaryT(ct, n, c.MaxRounds)
}

// boundaryT is the t critical value at look n of a boundary with constant
// C: the t quantile at the normal level of C·√(max/n).
func boundaryT(c float64, n, maxRounds int) float64 {
	return cachedT(normalCDF(c*math.Sqrt(float64(maxRounds)/float64(n))), n-1)
}

func cachedT(p float64, df int) float64 {
	key := tKey{p, df}
	if v, ok := tCriticals.Load(key); ok {
		return v.(float64)
	}
	v := tQuantile(p, df)
	tCriticals.Store(key, v)
	return v
}

type tKey struct {
	p  float64
	df int
}

var tCriticals sync.Map // tKey → float64

// sequentialCt is the constant of the t boundary, by simulation: paths of
// MaxRounds standard normal per-round values; at each look n the
// studentized mean T_n = mean/(s/√n); C_t is the smallest constant (by
// bisection) for which at most a share a of the paths have T_n ≥
// boundaryT(C_t, n) at some look. The seed is fixed, so C_t is a constant
// of (min, max, a).
func sequentialCt(minRounds, maxRounds int, a float64) float64 {
	key := boundaryKey{minRounds, maxRounds, a, true}
	if v, ok := boundaries.Load(key); ok {
		return v.(float64)
	}
	const paths = boundaryPaths / 2
	looks := maxRounds - minRounds + 1
	ts := make([]float64, paths*looks)
	rng := rand.New(rand.NewPCG(0x5e9, uint64(maxRounds)<<8|uint64(minRounds)))
	for i := range paths {
		var sum, sumSq float64
		for n := 1; n <= maxRounds; n++ {
			x := rng.NormFloat64()
			sum += x
			sumSq += x * x
			if n < minRounds {
				continue
			}
			nf := float64(n)
			m := sum / nf
			v := (sumSq - nf*m*m) / (nf - 1)
			ts[i*looks+n-minRounds] = m / math.Sqrt(max(v, 1e-300)/nf)
		}
	}
	crossed := func(c float64) float64 {
		crit := make([]float64, looks)
		for j := range crit {
			crit[j] = boundaryT(c, minRounds+j, maxRounds)
		}
		k := 0
		for i := range paths {
			for j, tv := range ts[i*looks : (i+1)*looks] {
				if tv >= crit[j] {
					k++
					break
				}
			}
		}
		return float64(k) / paths
	}
	lo, hi := 0.5, 10.0
	for range 30 {
		mid := (lo + hi) / 2
		if crossed(mid) > a {
			lo = mid
		} else {
			hi = mid
		}
	}
	boundaries.Store(key, hi)
	return hi
}

type boundaryKey struct {
	min, max int
	a        float64
	t        bool // the t boundary (sequentialCt), not the normal one
}

var boundaries sync.Map // boundaryKey → float64

// sequentialC is the constant C of the boundary, by simulation of the
// per-round increments (a Brownian motion observed at each round): under
// the null hypothesis on the limit, the cumulative sum S_n of n standard
// normal increments crosses C·√(max/n)·√n = C·√max at some look n in
// [min, max] with probability a. The seed is fixed, so C is a constant of
// (min, max, a).
func sequentialC(minRounds, maxRounds int, a float64) float64 {
	key := boundaryKey{minRounds, maxRounds, a, false}
	if v, ok := boundaries.Load(key); ok {
		return v.(float64)
	}
	rng := rand.New(rand.NewPCG(0x5e9, uint64(maxRounds)))
	m := make([]float64, boundaryPaths)
	for i := range m {
		s, best := 0.0, math.Inf(-1)
		for n := 1; n <= maxRounds; n++ {
			s += rng.NormFloat64()
			if n >= minRounds && s > best {
				best = s
			}
		}
		m[i] = best / math.Sqrt(float64(maxRounds))
	}
	slices.Sort(m)
	v := m[min(len(m)-1, int(math.Ceil((1-a)*float64(len(m))))-1)]
	boundaries.Store(key, v)
	return v
}
