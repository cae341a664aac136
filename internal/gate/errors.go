package gate

import (
	"math"
	"slices"

	"github.com/loadbench/loadbench/results"
)

// roundCounts is one build's target errors and chats reaching the target
// (answered + target errors) per round, for one protocol or pooled.
type roundCounts struct{ errs, chats []int64 }

func (c roundCounts) total() (errs, chats int64) {
	for i := range c.errs {
		errs += c.errs[i]
		chats += c.chats[i]
	}
	return errs, chats
}

// countErrors is each round's target errors and chats of segs, of protocol
// proto ("" pools every protocol).
func countErrors(segs []*results.Segment, proto string) roundCounts {
	var c roundCounts
	for _, s := range segs {
		var e, n int64
		for name, p := range s.Protocols {
			if p != nil && (proto == "" || name == proto) {
				k := p.TargetErrorCount()
				e += k
				n += p.Success + k
			}
		}
		c.errs, c.chats = append(c.errs, e), append(c.chats, n)
	}
	return c
}

// DesignEffect is the Rao–Scott design effect of a rate pooled over
// clusters (rounds): the variance of the ratio estimator ΣE/ΣN over the
// clusters, R/(R − 1)·Σ(E_r − p·N_r)²/N², relative to the binomial
// p(1 − p)/N of independent chats, and never below 1. rounds is the number
// of clusters with chats. With fewer than 2 such rounds, or a rate of 0 or
// 1, it is 1.
func DesignEffect(errs, chats []int64) (deff float64, rounds int) {
	var e, n float64
	for i := range errs {
		if chats[i] > 0 {
			rounds++
			e += float64(errs[i])
			n += float64(chats[i])
		}
	}
	if rounds < 2 || e == 0 || e == n {
		return 1, rounds
	}
	p := e / n
	var ss float64
	for i := range errs {
		if chats[i] > 0 {
			d := float64(errs[i]) - p*float64(chats[i])
			ss += d * d
		}
	}
	v := float64(rounds) / float64(rounds-1) * ss / (n * n)
	return max(1, v/(p*(1-p)/n)), rounds
}

// wilsonF is the Wilson score interval of k out of n (fractional counts,
// as Rao–Scott's effective counts are) at normal quantile z.
func wilsonF(k, n, z float64) (lo, hi float64) {
	if n <= 0 {
		return 0, 1
	}
	p := k / n
	z2 := z * z
	den := 1 + z2/n
	center := (p + z2/(2*n)) / den
	half := z * math.Sqrt(p*(1-p)/n+z2/(4*n*n)) / den
	return max(0, center-half), min(1, center+half)
}

// clusteredBounds is a build's error rate and its Wilson bounds after the
// Rao–Scott adjustment: the errors and chats divided by the design effect.
// A build whose errors vary over the rounds more than independent chats
// would (deff > 1) has its variance estimated from its rounds, so its
// quantile is Student's t with rounds − 1 degrees of freedom at the level
// of z; otherwise z.
func clusteredBounds(c roundCounts, z float64) (rate, lo, hi, deff float64, rounds int) {
	e, n := c.total()
	rate = frac(e, n)
	deff, rounds = DesignEffect(c.errs, c.chats)
	q := z
	if deff > 1 {
		q = cachedT(normalCDF(z), rounds-1)
	}
	lo, hi = wilsonF(float64(e)/deff, float64(n)/deff, q)
	return rate, lo, hi, deff, rounds
}

// clusteredDiff is the candidate's error rate minus the baseline's with
// Newcombe's hybrid score interval over the builds' clustered Wilson
// bounds: the upper bound (the pass side) one-sided at z, the lower (the
// fail side) at zFail, each before the t adjustment of clusteredBounds. The builds' segments of a round run one after the
// other, not at once; any positive correlation between them within a round
// would only narrow the true interval, so treating them as independent is
// conservative.
func clusteredDiff(base, cand roundCounts, z, zFail float64) *results.ErrorVerdict {
	be, bn := base.total()
	ce, cn := cand.total()
	pb, lb, _, db, rb := clusteredBounds(base, z)
	pc, _, uc, dc, rc := clusteredBounds(cand, z)
	_, _, ub, _, _ := clusteredBounds(base, zFail)
	_, lc, _, _, _ := clusteredBounds(cand, zFail)
	diff := pc - pb
	return &results.ErrorVerdict{
		BaselineErrors: be, BaselineChats: bn, CandidateErrors: ce, CandidateChats: cn,
		BaselineRate: pb, CandidateRate: pc,
		Diff:    diff,
		DiffLow: diff - math.Hypot(pc-lc, ub-pb), DiffHigh: diff + math.Hypot(uc-pc, pb-lb),
		Rounds:               max(rb, rc),
		BaselineDesignEffect: db, CandidateDesignEffect: dc,
	}
}

// errorProtocols lists the protocols whose chats reached either build's
// target, in report order (http, ws, then others by name).
func errorProtocols(segs ...[]*results.Segment) []string {
	var names []string
	for _, ss := range segs {
		for _, s := range ss {
			for name, p := range s.Protocols {
				if p != nil && p.Success+p.TargetErrorCount() > 0 && !slices.Contains(names, name) {
					names = append(names, name)
				}
			}
		}
	}
	results.SortProtocols(names)
	return names
}
