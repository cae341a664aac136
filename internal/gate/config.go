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
	// DefaultAlpha is 1 − DefaultConfidence: the two error rates of a
	// decision (a false pass, a false fail) are each at most Alpha/2.
	DefaultAlpha = 0.05
	// DefaultConfidence is the level of every interval over the whole
	// compare; each look of a sequential compare uses a higher one.
	DefaultConfidence = 0.95
	// DefaultErrorBudget is how much the candidate's target error rate may
	// exceed the baseline's: 0.1 percentage point.
	DefaultErrorBudget = 0.001
	// DefaultMaxRetainedBytesPerRequest is the heap a candidate may keep
	// per chat answered: the upper bound of its heap slope must be at most
	// this. 64 B/chat is about 5 MB a day at one chat per second; a leak of
	// 128 B/chat is twice over it.
	DefaultMaxRetainedBytesPerRequest = 64
	// DefaultMaxMoreRounds caps the MoreRounds estimate.
	DefaultMaxMoreRounds = 100
)

// DefaultPercentiles are the latency percentiles gated by default.
func DefaultPercentiles() []float64 { return []float64{50, 95, 99} }

// Config sets the gate's thresholds.
type Config struct {
	Budget      float64   // allowed slowdown, 0.05 for 5%; limit = 1 + Budget
	Percentiles []float64 // latency percentiles, 50 for p50
	// Alpha is kept for the unpaired U test that BenchCompare reports
	// (never part of a verdict).
	Alpha float64
	// Confidence is the level of the decisions over the whole compare:
	// false passes and false fails are each at most (1 − Confidence)/2.
	Confidence float64
	// MinRounds and MaxRounds plan a sequential compare: a look after
	// every round from MinRounds to MaxRounds, with the group-sequential
	// boundary of the package comment. MaxRounds 0 is a fixed design: one
	// look, at whatever number of rounds there is.
	MinRounds, MaxRounds int
	// ErrorBudget is the allowed excess of the candidate's target error
	// rate over the baseline's (0.001 for 0.1 percentage point).
	ErrorBudget float64
	// MaxRetainedBytesPerRequest is the candidate's memory threshold, in
	// bytes of live heap per chat answered (the slope's upper bound).
	MaxRetainedBytesPerRequest float64
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
		ErrorBudget:                DefaultErrorBudget,
		MaxRetainedBytesPerRequest: DefaultMaxRetainedBytesPerRequest,
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
	case c.MinRounds < 0 || c.MaxRounds < 0 || (c.MaxRounds > 0 && c.MinRounds > c.MaxRounds):
		return fmt.Errorf("gate config: rounds %d to %d: not a plan", c.MinRounds, c.MaxRounds)
	case !(c.ErrorBudget >= 0 && c.ErrorBudget < 1):
		return fmt.Errorf("gate config: error budget %v outside [0, 1)", c.ErrorBudget)
	case !(c.MaxRetainedBytesPerRequest >= 0):
		return fmt.Errorf("gate config: max retained bytes per request %v is negative", c.MaxRetainedBytesPerRequest)
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

// LookConfidence is the two-sided level of the intervals of the look after
// n rounds: Confidence for a fixed design, higher for a sequential one.
func (c Config) LookConfidence(n int) float64 { return 1 - 2*(1-normalCDF(c.criticalZ(n))) }

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
