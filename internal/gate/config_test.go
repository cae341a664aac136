package gate

import (
	"slices"
	"strings"
	"testing"
)

func TestParseBudget(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in      string
		want    float64
		wantErr string
	}{
		{"5%", 0.05, ""},
		{"0.05", 0.05, ""},
		{" 12.5% ", 0.125, ""},
		{"0", 0, ""},
		{"0%", 0, ""},
		{"99.9%", 0.999, ""},
		{"-1%", 0, "negative"},
		{"-0.01", 0, "negative"},
		{"100%", 0, "not below 100%"},
		{"1", 0, "did you mean 1%"},
		{"5", 0, "did you mean 5%"},
		{"five", 0, "not a number"},
		{"", 0, "not a number"},
		{"NaN", 0, "not a number"},
	} {
		got, err := ParseBudget(tc.in)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("ParseBudget(%q) = %v, %v; want error containing %q", tc.in, got, err, tc.wantErr)
			}
			if err != nil && !strings.HasPrefix(err.Error(), "parse budget") {
				t.Errorf("ParseBudget(%q) error %q lacks the operation prefix", tc.in, err)
			}
			continue
		}
		if err != nil || abs(got-tc.want) > 1e-12 {
			t.Errorf("ParseBudget(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
}

func TestParsePercentiles(t *testing.T) {
	t.Parallel()
	got, err := ParsePercentiles("50, p95,99.9")
	if err != nil || !slices.Equal(got, []float64{50, 95, 99.9}) {
		t.Fatalf("ParsePercentiles = %v, %v", got, err)
	}
	for _, bad := range []string{"", "50,,99", "0", "101", "50,50", "x"} {
		if p, err := ParsePercentiles(bad); err == nil {
			t.Errorf("ParsePercentiles(%q) = %v, want error", bad, p)
		}
	}
}

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
