package gate

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

// The boundary found by recursive integration crosses, for a statistic on
// the limit, with the probability the spending function allows by each
// look: checked against 200,000 simulated paths of the normal sums, to the
// plan (12 rounds) and beyond it (24, an extended compare).
func TestDesignMatchesSimulation(t *testing.T) {
	t.Parallel()
	const a, first, plan, last = 0.025, 3, 12, 24
	paths := 200_000
	if fewTrials() {
		paths = 50_000
	}
	d := designFor(first, plan, a)
	crit := make([]float64, last+1)
	for n := first; n <= last; n++ {
		crit[n] = zQuantile(1 - d.level(n))
	}
	rng := rand.New(rand.NewPCG(7, 8))
	at := map[int]int{}
	for range paths {
		s := 0.0
		for n := 1; n <= last; n++ {
			s += rng.NormFloat64()
			if n >= first && s/math.Sqrt(float64(n)) >= crit[n] {
				at[n]++
				break
			}
		}
	}
	cum := 0
	for n := first; n <= last; n++ {
		cum += at[n]
		if n != 6 && n != plan && n != last {
			continue
		}
		want := spent(a, float64(n)/plan)
		got := float64(cum) / float64(paths)
		se := math.Sqrt(want * (1 - want) / float64(paths))
		t.Logf("by round %d: crossed %.5f, spending function %.5f (critical z %.3f)", n, got, want, crit[n])
		if math.Abs(got-want) > 4*se {
			t.Errorf("by round %d: crossed %.5f, want %.5f ± %.5f", n, got, want, 4*se)
		}
	}
	if want := (1 - ReserveShare) * a; math.Abs(spent(a, 1)-want) > 1e-12 {
		t.Errorf("spent by the plan %v, want %v", spent(a, 1), want)
	}
	if spent(a, 1e9) > a {
		t.Errorf("spent beyond the plan %v, over a = %v", spent(a, 1e9), a)
	}
}

// A look's boundary costs little enough to compute at every look: under
// 50 ms a look (about 2–5 ms on an idle core; the bound leaves room for a
// loaded machine).
func TestDesignIsFast(t *testing.T) {
	start := time.Now()
	d := designFor(3, 40, 0.0123) // a key no other test uses
	d.level(40)
	if el := time.Since(start); el > 38*50*time.Millisecond {
		t.Errorf("38 looks took %v, want under 50 ms a look", el)
	} else {
		t.Logf("38 looks: %v", el)
	}
}

// Extending a compare beyond its plan keeps the looks already taken: the
// boundary of a look up to the plan does not depend on MaxRounds as long
// as PlanRounds stays, the looks beyond it spend only the reserve, and a
// look after the plan is stricter than the plan's last.
func TestExtendBeyondThePlan(t *testing.T) {
	t.Parallel()
	plan := DefaultConfig()
	plan.MinRounds, plan.MaxRounds = 3, 12
	ext := plan
	ext.MaxRounds, ext.PlanRounds = 30, 12
	for n := 3; n <= 12; n++ {
		if a, b := plan.criticalZ(n), ext.criticalZ(n); a != b {
			t.Errorf("look %d: %v planned, %v extended", n, a, b)
		}
	}
	if !(ext.criticalZ(13) > plan.criticalZ(12)) {
		t.Errorf("look 13 %v not stricter than look 12 %v", ext.criticalZ(13), plan.criticalZ(12))
	}
	// Re-planning for 30 rounds instead (PlanRounds left at 0) would move
	// the early looks: that is not how a run is extended.
	replanned := ext
	replanned.PlanRounds = 0
	if replanned.criticalZ(6) == plan.criticalZ(6) {
		t.Errorf("a 30-round plan has the 12-round plan's look 6")
	}
	s := ext.sequentialSummary(24)
	if s.PlanRounds != 12 || s.Information != 2 || s.Spending != Spending || !(s.AlphaSpent > 0.0225 && s.AlphaSpent < 0.025) {
		t.Errorf("summary after 24 of 12 planned rounds: %+v", s)
	}
}
