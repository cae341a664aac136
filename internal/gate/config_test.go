package gate

import (
	"testing"
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
