package main

import (
	"strconv"
	"strings"
	"time"

	"github.com/loadbench/loadbench"
	"github.com/loadbench/loadbench/internal/flagval"
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
	f.IntVar(&g.minRounds, "min-rounds", loadbench.DefaultMinRounds, "with --rounds auto: rounds before the first look")
	f.DurationVar(&g.maxDuration, "max-duration", loadbench.DefaultMaxDuration, "with --rounds auto: the whole compare's time, start-up, warm-up and reports included; sets the most rounds")
	f.StringVar(&g.budget, "budget", "5%", "latency budget of the candidate over the baseline")
	f.StringVar(&g.percentiles, "percentiles", "50,95,99", "latency percentiles gated")
	f.Float64Var(&g.alpha, "alpha", loadbench.DefaultAlpha, "error rate of the verdict: a false pass and a false fail are each at most alpha/2, over all looks")
	f.StringVar(&g.errBudget, "error-budget", "0.1%", "how much the candidate's target error rate may exceed the baseline's, in percentage points (0.1% or 0.001)")
	f.Float64Var(&g.maxRetained, "max-retained", loadbench.DefaultMaxRetained, "live heap the candidate may keep per chat answered beyond the baseline's, bytes (upper bound of the heap slopes' difference)")
}

// apply parses the flags onto o; the library checks the values. op
// prefixes the errors of what only the command parses.
func (g *gateFlags) apply(op string, o *loadbench.CompareOptions) error {
	var err error
	if o.Budget, err = flagval.ParseBudget(g.budget); err != nil {
		return usageErr("%s: --budget: %v", op, err)
	}
	if o.Percentiles, err = flagval.ParsePercentiles(g.percentiles); err != nil {
		return usageErr("%s: --percentiles: %v", op, err)
	}
	if o.ErrorBudget, err = flagval.ParseBudget(g.errBudget); err != nil {
		return usageErr("%s: --error-budget: %v", op, strings.Replace(err.Error(), "parse budget", "parse error budget", 1))
	}
	// The library reads a zero as its default: a zero here is refused.
	switch {
	case o.Budget == 0:
		return usageErr("%s: --budget must be above 0%%, got %q", op, g.budget)
	case o.ErrorBudget == 0:
		return usageErr("%s: --error-budget must be above 0%%, got %q", op, g.errBudget)
	case g.alpha == 0:
		return usageErr("%s: --alpha must be between 0 and 1, got 0", op)
	case g.maxRetained == 0:
		return usageErr("%s: --max-retained must be positive, got 0", op)
	case g.minRounds == 0:
		return usageErr("%s: --min-rounds must be at least 2, got 0", op)
	case g.maxDuration == 0:
		return usageErr("%s: --max-duration must be positive, got 0s", op)
	}
	o.Alpha, o.MaxRetained = g.alpha, g.maxRetained
	switch r := strings.TrimSpace(g.rounds); r {
	case "auto":
		o.Rounds, o.MinRounds, o.MaxDuration = 0, g.minRounds, g.maxDuration
	default:
		n, err := strconv.Atoi(r)
		if err != nil || n < 2 {
			return usageErr("%s: --rounds must be auto or a number of at least 2, got %q", op, g.rounds)
		}
		o.Rounds = n
	}
	return nil
}
