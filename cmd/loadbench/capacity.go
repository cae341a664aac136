package main

import (
	"fmt"
	"maps"
	"math"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/loadbench/loadbench"
	"github.com/loadbench/loadbench/internal/builtin"
	"github.com/loadbench/loadbench/internal/flagval"
	"github.com/spf13/cobra"
)

// capacityFlags are the flags of `loadbench capacity`.
type capacityFlags struct {
	baseline, candidate         string
	baselineImpl, candidateImpl string
	baselineArgs, candidateArgs string
	protocol                    string
	users                       int
	timeout, step, warmup, slo  time.Duration
	cpuRates                    string
	cpuRounds, repeats          int
	lowRate, maxRate            float64
	cpuBudget, capBudget, errB  string
	alpha                       float64
	maxInFlight                 int
	maxSendLag                  time.Duration
	arrivals                    string
	httpPath, wsPath, metrics   string
	out                         string
	seed                        uint64
	jsonOut, quiet              bool
	tr, trBase, trCand          transportFlags
}

func newCapacityCmd(s streams) *cobra.Command {
	var cf capacityFlags
	cmd := &cobra.Command{
		Use:   "capacity [--baseline URL --candidate URL]",
		Short: "CPU per chat and sustainable throughput of the candidate against the baseline, each with a verdict",
		Long: `Capacity answers "how many more pods does the candidate need?" twice, each
answer with a paired interval and a verdict:

1. CPU per chat: interleaved paired rounds at fixed rates (by default 50% and
   80% of the baseline's sustainable rate found in the same run; --cpu-rates
   skips the search), both builds on the same arrival schedule; CPU seconds per
   answered chat from the targets' process_cpu_seconds_total; the ratio
   candidate/baseline against --cpu-budget.
2. Sustainable throughput: the highest offered rate at which at least 99% of
   the offered chats end within --timeout, the chats in flight do not trend
   upwards, the answered chats' p99 stays within --slo, and the generator is not
   saturated. A geometric bracket, then --repeats interleaved bisections of
   each build to 1% width; the paired ratio against --capacity-budget.

The candidate's target error rate is judged against the baseline's at the same
(CPU) steps, plus --error-budget. Rates are offered chats per second over all
loaded protocols, split equally (--protocol both).

Without --baseline and --candidate it starts the built-in targets itself as
child processes, pinned to other CPUs than the generator where there are at
least 2 (the plan records it). The transport flags are compare's.

Exit codes: 0 pass, 1 fail (either answer or the errors), 2 bad usage, 3 run
error, 4 inconclusive (either answer, or a step bound by the generator).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runCapacity(cmd, s, &cf)
		},
	}
	f := cmd.Flags()
	f.StringVar(&cf.baseline, "baseline", "", "base URL of the baseline deployment (with --candidate; default: start the built-in legacy target)")
	f.StringVar(&cf.candidate, "candidate", "", "base URL of the candidate deployment (with --baseline; default: start the built-in per-request target)")
	f.StringVar(&cf.baselineImpl, "baseline-impl", "baseline", "build served by the built-in baseline (baseline|perrequest|partial)")
	f.StringVar(&cf.candidateImpl, "candidate-impl", "perrequest", "build served by the built-in candidate (baseline|perrequest|partial)")
	f.StringVar(&cf.baselineArgs, "baseline-args", "", `extra "serve" flags for the built-in baseline`)
	f.StringVar(&cf.candidateArgs, "candidate-args", "", `extra "serve" flags for the built-in candidate, e.g. "--burn 20us"`)
	f.StringVar(&cf.protocol, "protocol", "both", "what is loaded: http, ws or both (at equal rates)")
	f.IntVar(&cf.users, "users", loadbench.DefaultCapacityUsers, "virtual users")
	f.DurationVar(&cf.timeout, "timeout", loadbench.DefaultCapacityTimeout, "per-chat timeout; a sustainable rate ends 99% of its chats within it")
	f.DurationVar(&cf.step, "step-duration", loadbench.DefaultStepDuration, "load time of each step")
	f.DurationVar(&cf.warmup, "warmup", loadbench.DefaultCapacityWarmup, "unrecorded load on each build first (0: none)")
	f.DurationVar(&cf.slo, "slo", 0, "p99 limit of a sustainable rate (0: max(4 × the baseline's p99 at --low-rate, that p99 + 10ms))")
	f.StringVar(&cf.cpuRates, "cpu-rates", "", "rates of the CPU rounds, chats/s, comma-separated (skips the throughput search); default 50% and 80% of the baseline's sustainable rate")
	f.IntVar(&cf.cpuRounds, "cpu-rounds", loadbench.DefaultCPURounds, "paired rounds at each CPU rate")
	f.IntVar(&cf.repeats, "repeats", loadbench.DefaultRepeats, "bisections of each build: the pairs of the throughput ratio")
	f.Float64Var(&cf.lowRate, "low-rate", loadbench.DefaultLowRate, "rate of the SLO step and the first bracket step, chats/s")
	f.Float64Var(&cf.maxRate, "max-rate", loadbench.DefaultMaxCapacityRate, "highest rate the bracket tries, chats/s")
	f.StringVar(&cf.cpuBudget, "cpu-budget", "5%", "how much more CPU per chat the candidate may use")
	f.StringVar(&cf.capBudget, "capacity-budget", "5%", "how many more pods the candidate may need at the baseline's peak (1/throughput ratio − 1)")
	f.StringVar(&cf.errB, "error-budget", "0.1%", "how much the candidate's target error rate may exceed the baseline's, in percentage points")
	f.Float64Var(&cf.alpha, "alpha", loadbench.DefaultAlpha, "1 − the confidence of the intervals")
	f.IntVar(&cf.maxInFlight, "max-in-flight", loadbench.DefaultMaxInFlight, "chats in flight at the generator; past it a chat is not sent (the generator's)")
	f.DurationVar(&cf.maxSendLag, "max-send-lag", loadbench.DefaultMaxSendLag, "p99 send lag above which the generator is saturated (0: never)")
	f.StringVar(&cf.arrivals, "arrivals", "poisson", "arrival process: poisson or constant")
	f.StringVar(&cf.httpPath, "http-path", loadbench.DefaultHTTPPath, "HTTP chat route")
	f.StringVar(&cf.wsPath, "ws-path", loadbench.DefaultWSPath, "WebSocket chat route")
	f.StringVar(&cf.metrics, "metrics-path", loadbench.DefaultMetricsPath, "Prometheus route with process_cpu_seconds_total")
	f.StringVar(&cf.out, "out", "", "run directory (default runs/capacity-<UTC timestamp>)")
	f.Uint64Var(&cf.seed, "seed", 0, "the run's seed (0: draw one)")
	f.BoolVar(&cf.jsonOut, "json", false, "print summary.json instead of the table")
	f.BoolVar(&cf.quiet, "quiet", false, "no progress display")
	cf.tr.register(f, "")
	cf.trBase.register(f, "baseline-")
	cf.trCand.register(f, "candidate-")
	return cmd
}

// runCapacity turns the flags into CapacityOptions and runs
// loadbench.Capacity, with the built-in targets around it when no URLs are
// given.
func runCapacity(cmd *cobra.Command, s streams, cf *capacityFlags) error {
	const op = "capacity"
	f := cmd.Flags()
	builtins := cf.baseline == "" && cf.candidate == ""
	switch {
	case (cf.baseline == "") != (cf.candidate == ""):
		return usageErr("capacity: give both --baseline and --candidate, or neither")
	case !builtins && (cf.baselineArgs != "" || cf.candidateArgs != ""):
		return usageErr("capacity: --baseline-args and --candidate-args apply to the built-in targets only")
	}
	o := loadbench.CapacityOptions{
		Users: cf.users, Timeout: cf.timeout, StepDuration: cf.step, Warmup: cf.warmup, NoWarmup: cf.warmup == 0,
		SLO: cf.slo, CPURounds: cf.cpuRounds, Repeats: cf.repeats, LowRate: cf.lowRate, MaxRate: cf.maxRate,
		Alpha: cf.alpha, MaxInFlight: cf.maxInFlight, MaxSendLag: cf.maxSendLag, NoSendLagLimit: cf.maxSendLag == 0,
		HTTPPath: cf.httpPath, WSPath: cf.wsPath, MetricsPath: cf.metrics, Seed: cf.seed,
	}
	// The library reads a zero as its default: a zero here is refused.
	for _, z := range []struct {
		zero bool
		flag string
	}{
		{cf.users == 0, "users"}, {cf.timeout == 0, "timeout"}, {cf.step == 0, "step-duration"},
		{cf.cpuRounds == 0, "cpu-rounds"}, {cf.repeats == 0, "repeats"}, {cf.lowRate == 0, "low-rate"},
		{cf.maxRate == 0, "max-rate"}, {cf.alpha == 0, "alpha"}, {cf.maxInFlight == 0, "max-in-flight"},
	} {
		if z.zero {
			return usageErr("%s: --%s must be positive, got 0", op, z.flag)
		}
	}
	switch cf.protocol {
	case "http":
		o.Protocols = []loadbench.Protocol{loadbench.HTTP}
	case "ws":
		o.Protocols = []loadbench.Protocol{loadbench.WebSocket}
	case "both":
	default:
		return usageErr("%s: --protocol must be http, ws or both, got %q", op, cf.protocol)
	}
	switch cf.arrivals {
	case loadbench.Poisson.String():
		o.Arrivals = loadbench.Poisson
	case loadbench.Constant.String():
		o.Arrivals = loadbench.Constant
	default:
		return usageErr("%s: --arrivals must be poisson or constant, got %q", op, cf.arrivals)
	}
	for _, b := range []struct {
		flag, v string
		dst     *float64
	}{{"cpu-budget", cf.cpuBudget, &o.CPUBudget}, {"capacity-budget", cf.capBudget, &o.CapacityBudget}, {"error-budget", cf.errB, &o.ErrorBudget}} {
		v, err := flagval.ParseBudget(b.v)
		if err != nil {
			return usageErr("%s: --%s: %v", op, b.flag, err)
		}
		if v == 0 {
			return usageErr("%s: --%s must be above 0%%, got %q", op, b.flag, b.v)
		}
		*b.dst = v
	}
	if cf.cpuRates != "" {
		for r := range strings.SplitSeq(cf.cpuRates, ",") {
			v, err := strconv.ParseFloat(strings.TrimSpace(r), 64)
			if err != nil || !(v > 0) || math.IsInf(v, 0) {
				return usageErr("%s: --cpu-rates must be positive numbers of chats per second, got %q", op, cf.cpuRates)
			}
			o.CPURates = append(o.CPURates, v)
		}
	}
	for _, side := range []struct {
		flags *transportFlags
		dst   *loadbench.Side
	}{{&cf.trBase, &o.Baseline}, {&cf.trCand, &o.Candidate}} {
		eff := cf.tr.over(f, side.flags)
		if side.flags.changed(f) {
			eff.prefix = side.flags.prefix
		}
		tr, err := eff.parse(op)
		if err != nil {
			return err
		}
		side.dst.Access = tr.access()
	}
	o.Dir = cf.out
	if o.Dir == "" {
		o.Dir = filepath.Join("runs", "capacity-"+time.Now().UTC().Format("20060102T150405Z"))
	}
	o.CommandLine, o.Flags = redactArgs(s.Args), recordFlags(f, builtins)
	for _, t := range []*transportFlags{&cf.tr, &cf.trBase, &cf.trCand} {
		maps.Copy(o.Flags, t.record(f))
	}
	o.Reports = true
	var prog *progressLine
	if !cf.quiet && isTerminal(s.Err) {
		prog = &progressLine{w: s.Err}
		o.Progress = func(p loadbench.CapacityProgress) {
			prog.draw(fmt.Sprintf("step %d  %-7s  %-9s  %7.1f/s  %4.1fs/%.0fs  sent %d  errors %d",
				p.Step, p.Phase, p.Build, p.Rate, p.Load.Elapsed.Seconds(), p.Load.Total.Seconds(), p.Load.Sent, p.Load.Errors))
		}
	}
	var res *loadbench.CapacityResult
	var err error
	if builtins {
		exe, xerr := s.executable()
		if xerr != nil {
			return withCode(exitRunError, fmt.Errorf("capacity: find own executable: %w", xerr))
		}
		res, err = builtin.Capacity(cmd.Context(), builtin.Spec{
			Executable: exe,
			Baseline:   builtin.Build{Impl: cf.baselineImpl, Args: strings.Fields(cf.baselineArgs)},
			Candidate:  builtin.Build{Impl: cf.candidateImpl, Args: strings.Fields(cf.candidateArgs)},
		}, o)
	} else {
		res, err = loadbench.Capacity(cmd.Context(), cf.baseline, cf.candidate, o)
	}
	prog.clear()
	return capacityOutcome(s, o.Dir, res, err, cf.jsonOut, cf.quiet)
}

// capacityOutcome prints what a capacity run produced and maps it to an
// exit code.
func capacityOutcome(s streams, dir string, res *loadbench.CapacityResult, runErr error, jsonOut, quiet bool) error {
	var out *outcome
	if res != nil {
		out = &outcome{res.Dir, res.WriteText, res.WriteJSON, res.Summary.Verdict}
	}
	return out.finish(s, "capacity", "step", dir, runErr, jsonOut, quiet)
}
