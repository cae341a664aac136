package gate

import (
	"math"
	"math/rand/v2"
	"sync"

	"github.com/aclements/go-moremath/stats"
	"github.com/loadbench/loadbench/results"
)

// Spending is the name of the error-spending function of a sequential
// compare, as summary.json records it.
const Spending = "lan-demets-obrien-fleming"

// ReserveShare is the share of each side's α that the planned rounds do
// not spend: it is kept for rounds beyond the plan (an extended or
// continued compare), so that however far a compare is extended the
// total spend stays at most α/2 per side.
const ReserveShare = 0.1

// boundaryPaths is the number of simulated paths of a boundary found by
// simulation (memory.go's).
const boundaryPaths = 200_000

// maxLooks bounds the looks a boundary is computed for.
const maxLooks = 2000

func normalCDF(z float64) float64 { return stats.StdNormal.CDF(z) }

// spent is the cumulative one-sided error a design at one-sided level a
// may have spent by information fraction t = n/N_plan: the Lan–DeMets
// O'Brien–Fleming-type function (1 − ρ)·2(1 − Φ(z_{1−a/2}/√t)) up to the
// plan (t ≤ 1), then (1 − ρ)·a + ρ·a·(1 − 1/t) beyond it, which tends to
// a as t grows (ρ = ReserveShare).
func spent(a, t float64) float64 {
	switch {
	case t <= 0:
		return 0
	case t <= 1:
		return (1 - ReserveShare) * 2 * (1 - normalCDF(zQuantile(1-a/2)/math.Sqrt(t)))
	}
	return (1-ReserveShare)*a + ReserveShare*a*(1-1/t)
}

// lookLevel is the nominal one-sided level of the look after n rounds at
// one-sided design level a: the probability, for a statistic on the limit,
// of crossing at this look taken alone. A fixed design (MaxRounds 0) has
// one look at level a. A sequential one has looks after every round from
// MinRounds, with the error-spending boundary of the package comment over
// the information fraction n/PlanRounds; a look before MinRounds (a run
// cut short) is taken as a first look that spends what the function
// allows by then.
func (c Config) lookLevel(n int, a float64) float64 {
	if c.MaxRounds <= 0 {
		return a
	}
	n = max(n, 1)
	plan := c.planRounds()
	first := max(1, c.MinRounds)
	if n < first || n-first >= maxLooks {
		return spent(a, float64(n)/float64(plan))
	}
	return designFor(first, plan, a).level(n)
}

// planRounds is the N_plan of the information fraction.
func (c Config) planRounds() int {
	if c.PlanRounds > 0 {
		return c.PlanRounds
	}
	return max(1, c.MaxRounds)
}

// criticalZ is the one-sided normal critical value of the look after n
// rounds at the design's level (1 − Confidence)/2: the error-rate and
// memory intervals use it.
func (c Config) criticalZ(n int) float64 {
	return zQuantile(1 - c.lookLevel(n, (1-c.Confidence)/2))
}

// tCritical is the one-sided t critical value (n−1 degrees of freedom) of
// the pass side of the look after n rounds: the t quantile at the look's
// nominal level (the significance-level approach to a sequential t test:
// Jennison and Turnbull, ch. 11).
func (c Config) tCritical(n int) float64 { return c.tCriticalAt(n, (1-c.Confidence)/2) }

// tCriticalAt is tCritical at one-sided design level a.
func (c Config) tCriticalAt(n int, a float64) float64 {
	n = max(n, 2)
	return cachedT(1-c.tLevel(n, a), n-1)
}

// tLevel is the nominal one-sided level of the t test at the look after
// n rounds: the normal design's level divided by tKappa, the correction
// that keeps the studentized statistic's crossing probability at the
// spending function's.
func (c Config) tLevel(n int, a float64) float64 {
	l := c.lookLevel(n, a)
	if c.MaxRounds <= 0 {
		return l
	}
	return l / tKappa(max(2, c.MinRounds), c.planRounds(), a)
}

// kappaPaths is the number of simulated paths that set tKappa.
const kappaPaths = 60_000

type kappaKey struct {
	first, plan int
	a           float64
}

var kappas sync.Map // kappaKey → float64

// tKappa is the correction of the significance-level approach for the
// studentized statistic: with the variance estimated anew at each look,
// the t statistics of successive looks are less correlated than the
// normal ones the boundary is computed for, so the nominal levels of the
// normal design, each converted to a t quantile, cross about 5–10% more
// often than the design spends. tKappa ≥ 1 is the smallest factor by
// which dividing every look's nominal level brings the crossing
// probability over the looks first..plan (at most 60 of them; later looks
// have the degrees of freedom where t is close to normal) back to what the
// spending function allows by then, found by simulation (kappaPaths
// seeded paths of standard normal rounds): a constant of (first, plan, a).
func tKappa(first, plan int, a float64) float64 {
	key := kappaKey{first, plan, a}
	if v, ok := kappas.Load(key); ok {
		return v.(float64)
	}
	last := max(first, min(plan, first+59))
	looks := last - first + 1
	d := designFor(first, plan, a)
	levels := make([]float64, looks)
	for j := range levels {
		levels[j] = d.level(first + j)
	}
	ts := make([]float32, kappaPaths*looks)
	rng := rand.New(rand.NewPCG(0x5e9, uint64(plan)<<16|uint64(first)))
	for i := range kappaPaths {
		var sum, sumSq float64
		for n := 1; n <= last; n++ {
			x := rng.NormFloat64()
			sum += x
			sumSq += x * x
			if n < first {
				continue
			}
			nf := float64(n)
			m := sum / nf
			v := (sumSq - nf*m*m) / (nf - 1)
			ts[i*looks+n-first] = float32(m / math.Sqrt(max(v, 1e-300)/nf))
		}
	}
	target := spent(a, float64(last)/float64(plan))
	crossed := func(kappa float64) float64 {
		crit := make([]float32, looks)
		for j := range crit {
			crit[j] = float32(tQuantile(1-levels[j]/kappa, first+j-1))
		}
		k := 0
		for i := range kappaPaths {
			for j, tv := range ts[i*looks : (i+1)*looks] {
				if tv >= crit[j] {
					k++
					break
				}
			}
		}
		return float64(k) / kappaPaths
	}
	kappa := 1.0
	if crossed(1) > target {
		lo, hi := 1.0, 4.0
		for range 20 {
			mid := (lo + hi) / 2
			if crossed(mid) > target {
				lo = mid
			} else {
				hi = mid
			}
		}
		kappa = hi
	}
	kappas.Store(key, kappa)
	return kappa
}

// sequentialSummary describes the design at the look after n rounds.
func (c Config) sequentialSummary(n int) *results.Sequential {
	info := float64(n) / float64(c.planRounds())
	return &results.Sequential{
		MinRounds: c.MinRounds, MaxRounds: c.MaxRounds, Confidence: c.Confidence,
		LookConfidence: c.LookConfidence(n), CriticalZ: c.criticalZ(n),
		Spending: Spending, PlanRounds: c.planRounds(), Information: info,
		AlphaSpent: spent(c.alpha(), info),
	}
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

// design is the boundary of one (first look, N_plan, a), computed look by
// look by recursive numerical integration (Armitage, McPherson and Rowe)
// and extended on demand: the looks are after every round from first on.
type design struct {
	first, plan int
	a           float64

	mu     sync.Mutex
	levels []float64 // nominal one-sided level of look first+i
	// The sub-density of S_n (the sum of n standard normal increments)
	// over the paths that have not crossed by the last computed look, on
	// a uniform grid from lo with step h.
	dens  []float64
	lo, h float64
	spent float64 // cumulative spend by the last computed look
}

type designKey struct {
	first, plan int
	a           float64
}

var designs sync.Map // designKey → *design

func designFor(first, plan int, a float64) *design {
	key := designKey{first, plan, a}
	if d, ok := designs.Load(key); ok {
		return d.(*design)
	}
	d, _ := designs.LoadOrStore(key, &design{first: first, plan: plan, a: a})
	return d.(*design)
}

// gridPoints is the least number of grid points of the density at each
// look, and gridStep the largest step (in units of one round's standard
// deviation): the crossing probabilities then match a simulation to its
// precision (TestDesignMatchesSimulation).
const (
	gridPoints = 201
	gridStep   = 0.2
)

// level is the nominal one-sided level of the look after n rounds
// (n ≥ first).
func (d *design) level(n int) float64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	for len(d.levels) <= n-d.first {
		d.next()
	}
	return d.levels[n-d.first]
}

// next computes the boundary of the next look: the critical value b on the
// scale of Z_n = S_n/√n for which the paths still running cross it with
// the probability the spending function allows at this look, and the
// density of the paths that go on.
func (d *design) next() {
	n := d.first + len(d.levels)
	total := spent(d.a, float64(n)/float64(d.plan))
	inc := max(0, total-d.spent)
	sn := math.Sqrt(float64(n))
	if len(d.levels) == 0 {
		// First look: S_n ~ N(0, n).
		b := math.Inf(1)
		if inc > 0 {
			b = zQuantile(1 - inc)
		}
		d.levels = append(d.levels, 1-normalCDF(b))
		d.spent = inc
		d.grid(b*sn, sn, func(s float64) float64 { return stdNormalPDF(s/sn) / sn })
		return
	}
	// Later looks: one more round, an N(0, 1) increment.
	cross := func(b float64) float64 {
		var p float64
		for j, f := range d.dens {
			u := d.lo + float64(j)*d.h
			p += trapezoid(j, len(d.dens)) * f * (1 - normalCDF(b*sn-u))
		}
		return p * d.h
	}
	b := math.Inf(1)
	if inc > 0 && cross(0) > inc {
		lo, hi := 0.0, 40.0
		for range 45 {
			mid := (lo + hi) / 2
			if cross(mid) > inc {
				lo = mid
			} else {
				hi = mid
			}
		}
		b = hi
	}
	got := 0.0
	if !math.IsInf(b, 1) {
		got = cross(b)
	}
	d.levels = append(d.levels, 1-normalCDF(b))
	d.spent += got
	old, olo, oh := d.dens, d.lo, d.h
	d.grid(b*sn, sn, func(s float64) float64 {
		var v float64
		for j, f := range old {
			u := olo + float64(j)*oh
			v += trapezoid(j, len(old)) * f * stdNormalPDF(s-u)
		}
		return v * oh
	})
}

// grid sets the density on a uniform grid from −6·sd to the continuation
// bound c (capped at 8·sd).
func (d *design) grid(c, sd float64, f func(float64) float64) {
	hi := min(c, 8*sd)
	d.lo = -6 * sd
	g := max(gridPoints, int(math.Ceil((hi-d.lo)/gridStep))+1)
	d.h = (hi - d.lo) / float64(g-1)
	dens := make([]float64, g)
	for i := range dens {
		dens[i] = f(d.lo + float64(i)*d.h)
	}
	d.dens = dens
}

func trapezoid(j, n int) float64 {
	if j == 0 || j == n-1 {
		return 0.5
	}
	return 1
}

func stdNormalPDF(x float64) float64 { return math.Exp(-x*x/2) / math.Sqrt(2*math.Pi) }
