package gate

import (
	"math"
	"math/rand/v2"
)

// repeatedPaths is the number of simulated paths of RepeatedLooksRate.
const repeatedPaths = 20_000

// RepeatedLooksRate is the probability that ComparePaired's fixed-sample
// interval, at one-sided level a on each side, decides a ratio that lies
// exactly on its limit at one of several looks, when it is looked at after
// each batch of pairs in sizes (cumulative: looks after sizes[0] pairs,
// then sizes[0]+sizes[1], ...) and the looking stops at the first
// decision: the error rate of pooling runs until they decide, per side,
// against the a of one look. It is found by simulation (seeded, so the
// same sizes give the same rate) of normal per-pair log ratios; looks
// with fewer than 2 pairs decide nothing.
func RepeatedLooksRate(sizes []int, a float64) float64 {
	var crit []float64
	total := 0
	for _, s := range sizes {
		total += max(0, s)
		crit = append(crit, tQuantile(1-a, max(1, total-1)))
	}
	if total < 2 {
		return 0
	}
	rng := rand.New(rand.NewPCG(0x100c5, uint64(total)))
	crossed := 0
	for range repeatedPaths {
		var sum, sumSq float64
		n := 0
		for i, s := range sizes {
			for range max(0, s) {
				x := rng.NormFloat64()
				sum, sumSq, n = sum+x, sumSq+x*x, n+1
			}
			if n < 2 {
				continue
			}
			nf := float64(n)
			m := sum / nf
			sd := math.Sqrt(max(sumSq-nf*m*m, 0) / (nf - 1))
			if m/(sd/math.Sqrt(nf)) >= crit[i] {
				crossed++
				break
			}
		}
	}
	return float64(crossed) / repeatedPaths
}
