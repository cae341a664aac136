package gate

import (
	"testing"

	"github.com/loadbench/loadbench/results"
)

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatalf("default config invalid: %v", err)
	}
	for _, mut := range []func(*Config){
		func(c *Config) { c.Budget = -0.1 },
		func(c *Config) { c.Budget = 1 },
		func(c *Config) { c.Alpha = 0 },
		func(c *Config) { c.Confidence = 1 },
		func(c *Config) { c.ErrorBudget = 1 },
		func(c *Config) { c.MinRounds, c.MaxRounds = 5, 4 },
		func(c *Config) { c.MaxMoreRounds = 0 },
		func(c *Config) { c.PlanRounds = -1 },
		func(c *Config) { c.FailChecks = -1 },
		func(c *Config) { c.Percentiles = []float64{0} },
	} {
		c := DefaultConfig()
		mut(&c)
		if c.Validate() == nil {
			t.Errorf("Validate(%+v) = nil, want error", c)
		}
	}
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}

// A continued run's config keeps the plan it was started with as N_plan,
// so its looks up to the old maximum keep their boundaries.
func TestPlanConfigContinued(t *testing.T) {
	t.Parallel()
	p := results.Plan{MinRounds: 3, MaxRounds: 12, Budget: 0.05, Alpha: 0.05, Percentiles: []float64{50}}
	if c := PlanConfig(p); c.PlanRounds != 12 || c.MaxRounds != 12 {
		t.Errorf("planned: %d of %d", c.PlanRounds, c.MaxRounds)
	}
	p.MaxRounds = 30
	p.Continued = []results.Continuation{{AfterRound: 12, AddedRounds: 10, MaxRounds: 22}, {AfterRound: 22, AddedRounds: 8, MaxRounds: 30}}
	c := PlanConfig(p)
	if c.PlanRounds != 12 || c.MaxRounds != 30 {
		t.Errorf("continued: plan %d, max %d; want 12, 30", c.PlanRounds, c.MaxRounds)
	}
	orig := PlanConfig(results.Plan{MinRounds: 3, MaxRounds: 12, Budget: 0.05, Alpha: 0.05})
	if c.criticalZ(10) != orig.criticalZ(10) {
		t.Errorf("look 10 moved when the run was continued: %v, was %v", c.criticalZ(10), orig.criticalZ(10))
	}
}
