package gate

import (
	"fmt"
	"slices"

	"github.com/loadbench/loadbench/results"
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
	// Rounds is the number of rounds a fixed design planned (0: not
	// known); fewer complete rounds make the summary partial.
	Rounds int
	// NoMemoryGate reports the candidate's memory without gating it.
	NoMemoryGate bool
}

// PlanConfig is the gate's configuration for a compare run with plan p.
func PlanConfig(p results.Plan) Config {
	c := DefaultConfig()
	c.Budget, c.Alpha, c.Confidence = p.Budget, p.Alpha, 1-p.Alpha
	c.Percentiles = slices.Clone(p.Percentiles)
	c.ErrorBudget, c.MaxRetainedBytesPerRequest = p.ErrorBudget, p.MaxRetained
	c.NoMemoryGate = !p.MemoryGate
	if p.Sequential() {
		c.MinRounds, c.MaxRounds = p.MinRounds, p.MaxRounds
	} else {
		c.Rounds = p.Rounds
	}
	return c
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
