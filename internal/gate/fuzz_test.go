package gate

import (
	"math"
	"slices"
	"testing"
)

// FuzzParseBudget: an accepted budget is a fraction in [0, 1).
func FuzzParseBudget(f *testing.F) {
	for _, s := range []string{"5%", "0.05", "5", " 10 % ", "-1%", "NaN", "1e-3", "99.999%", "Inf%", "0x1p-2"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := ParseBudget(s)
		if err == nil && (math.IsNaN(v) || v < 0 || v >= 1) {
			t.Fatalf("ParseBudget(%q) = %v", s, v)
		}
	})
}

// FuzzParsePercentiles: accepted percentiles are in (0, 100], distinct, and
// as many as the list's items.
func FuzzParsePercentiles(f *testing.F) {
	for _, s := range []string{"50,95,99", "p50,p99.9", "", "0", "100", "50,50", "p", "1e2", " 99 ,p95"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ps, err := ParsePercentiles(s)
		if err != nil {
			return
		}
		if len(ps) == 0 {
			t.Fatalf("ParsePercentiles(%q): empty and no error", s)
		}
		for i, p := range ps {
			if !(p > 0 && p <= 100) || slices.Contains(ps[:i], p) {
				t.Fatalf("ParsePercentiles(%q) = %v", s, ps)
			}
		}
	})
}
