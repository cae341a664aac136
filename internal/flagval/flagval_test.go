package flagval

import (
	"math"
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

func abs(x float64) float64 { return math.Abs(x) }

func TestFormatRoundTrip(t *testing.T) {
	t.Parallel()
	for _, b := range []float64{0, 0.05, 0.125, 0.001} {
		got, err := ParseBudget(FormatBudget(b))
		if err != nil || math.Abs(got-b) > 1e-12 {
			t.Errorf("ParseBudget(FormatBudget(%v)) = %v, %v", b, got, err)
		}
	}
	ps := []float64{50, 95, 99.9}
	if got, err := ParsePercentiles(FormatPercentiles(ps)); err != nil || !slices.Equal(got, ps) {
		t.Errorf("ParsePercentiles(FormatPercentiles(%v)) = %v, %v", ps, got, err)
	}
}
