package flagval

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
)

// ParseBudget parses a budget written as a percentage ("5%") or a fraction
// ("0.05"). It rejects negative budgets and budgets of 100% or more, so a
// bare "5" (500%) is an error that suggests "5%".
func ParseBudget(s string) (float64, error) {
	t := strings.TrimSpace(s)
	pct := strings.HasSuffix(t, "%")
	t = strings.TrimSpace(strings.TrimSuffix(t, "%"))
	v, err := strconv.ParseFloat(t, 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, fmt.Errorf("parse budget %q: not a number (write 5%% or 0.05)", s)
	}
	if pct {
		v /= 100
	}
	switch {
	case v < 0:
		return 0, fmt.Errorf("parse budget %q: negative", s)
	case v >= 1 && !pct:
		return 0, fmt.Errorf("parse budget %q: %v%% is not below 100%% (did you mean %s%%?)", s, v*100, t)
	case v >= 1:
		return 0, fmt.Errorf("parse budget %q: not below 100%%", s)
	}
	return v, nil
}

// ParsePercentiles parses a comma-separated list of percentiles such as
// "50,95,99" or "p50,p99.9". Each must be in (0, 100] and appear once.
func ParsePercentiles(s string) ([]float64, error) {
	if strings.TrimSpace(s) == "" {
		return nil, errors.New("parse percentiles: empty list")
	}
	var out []float64
	for f := range strings.SplitSeq(s, ",") {
		t := strings.TrimPrefix(strings.TrimSpace(f), "p")
		v, err := strconv.ParseFloat(t, 64)
		if err != nil || math.IsNaN(v) {
			return nil, fmt.Errorf("parse percentiles %q: %q is not a number", s, strings.TrimSpace(f))
		}
		if !(v > 0 && v <= 100) {
			return nil, fmt.Errorf("parse percentiles %q: %v is outside (0, 100]", s, v)
		}
		if slices.Contains(out, v) {
			return nil, fmt.Errorf("parse percentiles %q: %v appears twice", s, v)
		}
		out = append(out, v)
	}
	return out, nil
}

// FormatBudget writes a budget as a percentage: 0.05 as "5%".
func FormatBudget(b float64) string { return strconv.FormatFloat(b*100, 'f', -1, 64) + "%" }

// FormatPercentiles writes a percentile list as ParsePercentiles reads it:
// "50,95,99".
func FormatPercentiles(ps []float64) string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = strconv.FormatFloat(p, 'f', -1, 64)
	}
	return strings.Join(s, ",")
}
