package gate

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
)

// Defaults of Config.
const (
	// DefaultBudget is the allowed slowdown of the candidate: 5%.
	DefaultBudget = 0.05
	// DefaultAlpha is the significance level of the U test.
	DefaultAlpha = 0.05
	// DefaultConfidence is the level of the ratio's confidence interval.
	DefaultConfidence = 0.95
	// DefaultMaxRetainedBytesPerRequest is the heap a candidate may keep per
	// request served, after a forced GC. A leak of 1 KiB per request is four
	// times over it; GC noise of a few hundred KB over thousands of
	// requests stays under it.
	DefaultMaxRetainedBytesPerRequest = 256
	// DefaultUnforcedTolerance multiplies the memory threshold when the
	// readings did not follow a forced GC (no /debug/gc), which leaves
	// floating garbage in the heap.
	DefaultUnforcedTolerance = 4
	// DefaultMaxMoreRounds caps the MoreRounds estimate.
	DefaultMaxMoreRounds = 100
)

// DefaultPercentiles are the latency percentiles gated by default.
func DefaultPercentiles() []float64 { return []float64{50, 95, 99} }

// Config sets the gate's thresholds.
type Config struct {
	Budget      float64   // allowed slowdown, 0.05 for 5%; limit = 1 + Budget
	Percentiles []float64 // latency percentiles, 50 for p50
	Alpha       float64   // significance level of the U test
	Confidence  float64   // confidence level of the ratio's interval
	// MaxRetainedBytesPerRequest is the candidate's memory threshold.
	MaxRetainedBytesPerRequest float64
	// UnforcedTolerance multiplies MaxRetainedBytesPerRequest when a
	// memory reading was not taken after a forced GC.
	UnforcedTolerance float64
	// MaxMoreRounds caps LatencyVerdict.MoreRounds.
	MaxMoreRounds int
}

// DefaultConfig returns the documented defaults.
func DefaultConfig() Config {
	return Config{
		Budget:                     DefaultBudget,
		Percentiles:                DefaultPercentiles(),
		Alpha:                      DefaultAlpha,
		Confidence:                 DefaultConfidence,
		MaxRetainedBytesPerRequest: DefaultMaxRetainedBytesPerRequest,
		UnforcedTolerance:          DefaultUnforcedTolerance,
		MaxMoreRounds:              DefaultMaxMoreRounds,
	}
}

// Validate reports the first invalid field of c.
func (c Config) Validate() error {
	switch {
	case !(c.Budget >= 0 && c.Budget < 1):
		return fmt.Errorf("gate config: budget %v outside [0, 1)", c.Budget)
	case !(c.Alpha > 0 && c.Alpha < 1):
		return fmt.Errorf("gate config: alpha %v outside (0, 1)", c.Alpha)
	case !(c.Confidence > 0 && c.Confidence < 1):
		return fmt.Errorf("gate config: confidence %v outside (0, 1)", c.Confidence)
	case !(c.MaxRetainedBytesPerRequest >= 0):
		return fmt.Errorf("gate config: max retained bytes per request %v is negative", c.MaxRetainedBytesPerRequest)
	case !(c.UnforcedTolerance >= 1):
		return fmt.Errorf("gate config: unforced tolerance %v below 1", c.UnforcedTolerance)
	case c.MaxMoreRounds < 1:
		return fmt.Errorf("gate config: max more rounds %d below 1", c.MaxMoreRounds)
	}
	for _, p := range c.Percentiles {
		if !(p > 0 && p <= 100) {
			return fmt.Errorf("gate config: percentile %v outside (0, 100]", p)
		}
	}
	return nil
}

// limit is 1 + Budget.
func (c Config) limit() float64 { return 1 + c.Budget }

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

// percentileName formats 99 as "p99" and 99.9 as "p99.9".
func percentileName(p float64) string {
	return "p" + strconv.FormatFloat(p, 'f', -1, 64)
}
