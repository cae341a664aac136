package gate

import (
	"fmt"
	"slices"
	"time"

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
	// per chat answered beyond what the baseline keeps in the same
	// compare: the upper bound of the difference of their heap slopes must
	// be at most this. Both builds grow 12–15 B/chat in the background,
	// which the difference cancels; 16 B/chat is half the +32 B/chat leak
	// the gate must catch, so such a leak sits 16 B/chat over the limit,
	// several times the interval's half-width at the default plan (heap
	// noise 20 KB: about 3 B/chat), and fails; an A/A compare sits 16 B/chat
	// under it and passes. 16 B/chat is about 280 MB a day at 200 chats/s.
	DefaultMaxRetainedBytesPerRequest = 16
	// DisturbedLagShare is what the plan's saturation limit (MaxSendLag,
	// 20 ms by default) is divided by to give Config.DisturbedLag (2 ms):
	// a generator late by a tenth of its saturation limit is not
	// saturated, but it was disturbed enough to add its own delay to the
	// p99 of the chats it sent.
	DisturbedLagShare = 10
	// MaxDisturbedShare is the share of a compare's rounds that may be
	// left out as disturbed before its latency checks can no longer pass.
	// A real default compare on this machine had 15 of 58 rounds
	// disturbed (26%), spread over both builds' segments.
	MaxDisturbedShare = 0.5
	// DisturbedBalanceLevel is the one-sided level of the sign test that
	// keeps the latency checks from passing when the candidate's
	// segments are disturbed more often than the baseline's
	// (disturbance.blocksPass).
	DisturbedBalanceLevel = 0.01
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
	// every round from MinRounds to MaxRounds, with the error-spending
	// boundary of the package comment. MaxRounds 0 is a fixed design: one
	// look, at whatever number of rounds there is.
	MinRounds, MaxRounds int
	// PlanRounds is N_plan, the rounds the information fraction n/N_plan
	// of the spending function is measured against; 0 is MaxRounds. A
	// compare extended beyond its plan (compare --continue) keeps the
	// PlanRounds it was started with and raises only MaxRounds, so the
	// looks already taken keep their boundaries and the rounds beyond the
	// plan spend only the reserve (ReserveShare).
	PlanRounds int
	// FailChecks is the number of checks whose fail sides share the
	// verdict's false-fail rate (Holm's step: each is tested at
	// (1 − Confidence)/2 / FailChecks); 0 is 1, no adjustment.
	// ComparePaired reads it; Evaluate sets it itself.
	FailChecks int
	// holmOthers is the number of checks besides the latency checks that
	// share the fail side (errors per protocol, memory); Evaluate sets it
	// for the latency checks' Holm step-down.
	holmOthers int
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
	// DisturbedLag is the floor of the generator's send lag p99 above which
	// a round counts as disturbed and is left out of the latency checks
	// (see "Disturbed rounds" in the package comment); 0 leaves every
	// round in. PlanConfig sets it to a tenth of the plan's MaxSendLag.
	DisturbedLag time.Duration
}

// PlanConfig is the gate's configuration for a compare run with plan p.
func PlanConfig(p results.Plan) Config {
	c := DefaultConfig()
	c.Budget, c.Alpha, c.Confidence = p.Budget, p.Alpha, 1-p.Alpha
	c.Percentiles = slices.Clone(p.Percentiles)
	c.ErrorBudget, c.MaxRetainedBytesPerRequest = p.ErrorBudget, p.MaxRetained
	c.NoMemoryGate = !p.MemoryGate
	c.DisturbedLag = p.MaxSendLag.D() / DisturbedLagShare
	if p.Sequential() {
		c.MinRounds, c.MaxRounds = p.MinRounds, p.MaxRounds
		// A continued run keeps the plan it was started with as N_plan:
		// the rounds its continuations added spend only the reserve.
		c.PlanRounds = p.MaxRounds
		for _, k := range p.Continued {
			c.PlanRounds -= k.AddedRounds
		}
		c.PlanRounds = max(c.PlanRounds, max(1, c.MinRounds))
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
	case c.PlanRounds < 0:
		return fmt.Errorf("gate config: plan rounds %d is negative", c.PlanRounds)
	case c.FailChecks < 0:
		return fmt.Errorf("gate config: fail checks %d is negative", c.FailChecks)
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

// LookConfidence is the two-sided level of a symmetric interval of the
// look after n rounds (the error-rate and memory intervals, and the
// latency intervals' pass side): 1 − 2·(the look's nominal one-sided
// level). It is Confidence for a fixed design, higher for a sequential
// one.
func (c Config) LookConfidence(n int) float64 {
	return 1 - 2*c.lookLevel(n, c.alpha())
}

// alpha is the design's one-sided level per side, (1 − Confidence)/2.
func (c Config) alpha() float64 { return (1 - c.Confidence) / 2 }

// failAlpha is the one-sided level of each check's fail side: alpha over
// FailChecks.
func (c Config) failAlpha() float64 { return c.alpha() / float64(max(1, c.FailChecks)) }

// limit is 1 + Budget.
func (c Config) limit() float64 { return 1 + c.Budget }
