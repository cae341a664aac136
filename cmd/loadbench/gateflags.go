package main

import (
	"strconv"
	"strings"
	"time"

	"github.com/loadbench/loadbench/internal/compare"
	"github.com/loadbench/loadbench/internal/gate"
	"github.com/spf13/pflag"
)

// gateFlags are the flags compare and validate share for the verdict: the
// rounds (a fixed number or until decided) and the gate's thresholds.
type gateFlags struct {
	rounds                         string
	minRounds                      int
	maxDuration                    time.Duration
	budget, percentiles, errBudget string
	alpha                          float64
	maxRetained                    float64
}

func (g *gateFlags) register(f *pflag.FlagSet) {
	f.StringVar(&g.rounds, "rounds", "auto", `interleaved rounds: "auto" adds rounds until every check is decided or --max-duration runs out; or a fixed number (at least 2)`)
	f.IntVar(&g.minRounds, "min-rounds", compare.DefaultMinRounds, "with --rounds auto: rounds before the first look")
	f.DurationVar(&g.maxDuration, "max-duration", compare.DefaultMaxDuration, "with --rounds auto: the whole compare's time, start-up, warm-up and reports included; sets the most rounds")
	f.StringVar(&g.budget, "budget", "5%", "latency budget of the candidate over the baseline")
	f.StringVar(&g.percentiles, "percentiles", "50,95,99", "latency percentiles gated")
	f.Float64Var(&g.alpha, "alpha", gate.DefaultAlpha, "error rate of the verdict: a false pass and a false fail are each at most alpha/2, over all looks")
	f.StringVar(&g.errBudget, "error-budget", "0.1%", "how much the candidate's target error rate may exceed the baseline's, in percentage points (0.1% or 0.001)")
	f.Float64Var(&g.maxRetained, "max-retained", gate.DefaultMaxRetainedBytesPerRequest, "live heap the candidate may keep per chat answered, bytes (upper bound of the heap slope)")
}

// apply checks the flags and sets them on c; op prefixes the errors.
func (g *gateFlags) apply(op string, c *compare.Config) error {
	var err error
	c.Gate = gate.DefaultConfig()
	if c.Gate.Budget, err = gate.ParseBudget(g.budget); err != nil {
		return usageErr("%s: --budget: %v", op, err)
	}
	if c.Gate.Percentiles, err = gate.ParsePercentiles(g.percentiles); err != nil {
		return usageErr("%s: --percentiles: %v", op, err)
	}
	if g.alpha <= 0 || g.alpha >= 1 {
		return usageErr("%s: --alpha must be between 0 and 1, got %g", op, g.alpha)
	}
	c.Gate.Alpha, c.Gate.Confidence = g.alpha, 1-g.alpha
	if c.Gate.ErrorBudget, err = gate.ParseBudget(g.errBudget); err != nil {
		return usageErr("%s: --error-budget: %v", op, strings.Replace(err.Error(), "parse budget", "parse error budget", 1))
	}
	if !(g.maxRetained >= 0) {
		return usageErr("%s: --max-retained must not be negative, got %g", op, g.maxRetained)
	}
	c.Gate.MaxRetainedBytesPerRequest = g.maxRetained
	switch r := strings.TrimSpace(g.rounds); r {
	case "auto":
		c.Rounds = compare.RoundsAuto
		if g.minRounds < 2 {
			return usageErr("%s: --min-rounds must be at least 2, got %d", op, g.minRounds)
		}
		if g.maxDuration <= 0 {
			return usageErr("%s: --max-duration must be positive, got %s", op, g.maxDuration)
		}
		c.MinRounds, c.MaxDuration = g.minRounds, g.maxDuration
	default:
		n, err := strconv.Atoi(r)
		if err != nil || n < 2 {
			return usageErr("%s: --rounds must be auto or a number of at least 2, got %q", op, g.rounds)
		}
		c.Rounds = n
	}
	return nil
}
