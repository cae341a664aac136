package loadbench

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/loadbench/loadbench/internal/capacity"
	"github.com/loadbench/loadbench/internal/cpu"
	"github.com/loadbench/loadbench/internal/load"
	"github.com/loadbench/loadbench/internal/report"
	"github.com/loadbench/loadbench/internal/usage"
	"github.com/loadbench/loadbench/results"
)

// Defaults of CapacityOptions: the zero value of a field means its
// default.
const (
	DefaultCapacityUsers   = 200             // virtual users
	DefaultCapacityTimeout = 5 * time.Second // per chat: an overloaded step waits at most this
	DefaultStepDuration    = 3 * time.Second // load per step
	DefaultCapacityWarmup  = 2 * time.Second // unrecorded load per build first
	// DefaultLowRate is the rate of the SLO step and of the bracket's
	// first step, chats/s over all protocols.
	DefaultLowRate = 50.0
	// DefaultGrowth is the bracket's factor between steps.
	DefaultGrowth = 2.0
	// DefaultMaxCapacityRate caps the bracket, chats/s.
	DefaultMaxCapacityRate = 100_000.0
	// DefaultWidth is the relative width at which a bisection stops: 1%.
	DefaultWidth = 0.01
	// DefaultRepeats is the bisections per build: the paired values of
	// the throughput ratio (5 gives a t interval with 4 degrees of
	// freedom).
	DefaultRepeats = 5
	// DefaultCPURounds is the paired rounds at each CPU rate.
	DefaultCPURounds = 5
	// DefaultCPUBudget and DefaultCapacityBudget are 5%, as the latency
	// budget: the candidate may cost 5% more CPU per chat, or need 5% more
	// pods at the baseline's peak.
	DefaultCPUBudget      = 0.05
	DefaultCapacityBudget = 0.05
	// DefaultMinEnded is the share of offered chats that must end within
	// the timeout at a sustainable rate.
	DefaultMinEnded = 0.99
	// DefaultSLOFactor and DefaultSLOFloor derive the SLO from the
	// baseline's p99 at DefaultLowRate: max(4 × p99, p99 + 10 ms). Queueing
	// delay grows without bound at the knee, so the rate found depends
	// little on the factor; the floor keeps a very fast baseline from
	// making scheduling noise an SLO breach.
	DefaultSLOFactor = 4.0
	DefaultSLOFloor  = 10 * time.Millisecond
	// DefaultMaxGeneratorCPU is the share of its CPUs above which the
	// generator counts as saturated.
	DefaultMaxGeneratorCPU = 0.9
)

// DefaultCPUFractions are the CPU rounds' rates, as fractions of the
// baseline's sustainable rate: 50% and 80%, below the knee.
func DefaultCPUFractions() []float64 { return []float64{0.5, 0.8} }

// CapacityOptions shape a capacity run. The zero value is the default
// run: both protocols at equal rates, 200 users, the SLO derived from the
// baseline at low load, 5% budgets. Zero values follow the rule of Options.
type CapacityOptions struct {
	// Protocols are what is loaded; nil means both, at equal rates.
	Protocols []Protocol
	// Users is the number of virtual users; 0 means DefaultCapacityUsers.
	Users int
	// Timeout bounds each chat; 0 means DefaultCapacityTimeout.
	Timeout time.Duration
	// StepDuration is the load time of a step; 0 means
	// DefaultStepDuration.
	StepDuration time.Duration
	// Warmup is unrecorded load on each build first; 0 means
	// DefaultCapacityWarmup. NoWarmup skips it.
	Warmup   time.Duration
	NoWarmup bool
	// LowRate, Growth, MaxRate, Width and Repeats shape the search of the
	// sustainable rate; 0 means their Default constants.
	LowRate, Growth, MaxRate, Width float64
	Repeats                         int
	// CPURates are the rates of the CPU rounds, chats/s over all
	// protocols; given, the search of the sustainable rate is skipped.
	// Nil means DefaultCPUFractions of the baseline's sustainable rate.
	CPURates []float64
	// CPURounds is the paired rounds at each CPU rate; 0 means
	// DefaultCPURounds.
	CPURounds int
	// CPUBudget, CapacityBudget and ErrorBudget are fractions (0.05 for
	// 5%; 0.001 for 0.1 point); 0 means DefaultCPUBudget,
	// DefaultCapacityBudget and DefaultErrorBudget.
	CPUBudget, CapacityBudget, ErrorBudget float64
	// Alpha is 1 − the confidence of the intervals; 0 means DefaultAlpha.
	Alpha float64
	// SLO is the p99 limit of a sustainable rate; 0 derives it from the
	// baseline's p99 at LowRate (DefaultSLOFactor, DefaultSLOFloor).
	SLO time.Duration
	// HTTPPath, WSPath and MetricsPath are the routes; empty means the
	// defaults. The CPU is read from MetricsPath (process_cpu_seconds_total)
	// unless the side's CPUStat is given.
	HTTPPath, WSPath, MetricsPath string
	// BaselineCPUStat and CandidateCPUStat, when set, are the paths of
	// the targets' cgroup v2 cpu.stat (a container's, readable here): the
	// CPU is read there instead of from /metrics.
	BaselineCPUStat, CandidateCPUStat string
	// Arrivals, MaxInFlight, MaxSendLag and NoSendLagLimit are the load
	// engine's, as in Options.
	Arrivals       Arrivals
	MaxInFlight    int
	MaxSendLag     time.Duration
	NoSendLagLimit bool
	// Seed, as CompareOptions.Seed; 0 draws one.
	Seed uint64
	// Baseline and Candidate are how each deployment is reached.
	Baseline, Candidate Side
	// Local says the deployments run on this machine (the built-in
	// builds); Pinning records how they and the generator share its CPUs.
	Local   bool
	Pinning *results.Pinning
	// Dir is the run directory; empty means a new temporary one.
	Dir string
	// Reports also writes report.md, report.html, junit.xml and the chart.
	Reports bool
	// Progress, when set, is called as the run moves on.
	Progress func(CapacityProgress)
	// CommandLine and Flags are recorded in the manifest.
	CommandLine []string
	Flags       map[string]string
}

// CapacityProgress is where a running capacity run is.
type CapacityProgress struct {
	Step  int
	Phase string // slo, bracket, bisect, cpu, warmup
	Build string
	Rate  float64
	Load  Progress
}

// CapacityResult is the outcome of Capacity.
type CapacityResult struct {
	Verdict Verdict
	Reason  string
	Dir     string
	// Summary is summary.json's content.
	Summary *results.CapacitySummary
}

// WriteText writes the result as the loadbench command prints it.
func (r *CapacityResult) WriteText(w io.Writer) error { return report.CapacityText(r.Summary)(w) }

// WriteJSON writes summary.json's content, indented.
func (r *CapacityResult) WriteJSON(w io.Writer) error { return writeIndented(w, r.Summary) }

// Capacity measures what the candidate costs against the baseline: CPU
// seconds per answered chat in paired rounds at fixed rates, and the
// sustainable throughput of each build (the highest offered rate at which
// the chats end within the timeout, in-flight does not grow, p99 stays
// within the SLO and the generator is not saturated), each with a paired
// interval and a verdict against its budget.
//
// Errors are as Compare's: invalid input wraps ErrUsage and writes
// nothing; a run error returns the partial result when a step completed.
func Capacity(ctx context.Context, baselineURL, candidateURL string, o CapacityOptions) (*CapacityResult, error) {
	const op = "capacity"
	p, err := o.CapacityPlan()
	if err != nil {
		return nil, err
	}
	if p.Seed == 0 {
		p.Seed = drawSeed()
	}
	cfg := capacity.Config{Plan: p, Dir: o.Dir, Args: o.CommandLine, Flags: o.Flags}
	if f := o.Progress; f != nil {
		cfg.Progress = func(c capacity.Progress) {
			l := c.Load
			f(CapacityProgress{Step: c.Step, Phase: c.Phase, Build: c.Build, Rate: c.Rate,
				Load: Progress{Elapsed: l.Elapsed, Total: l.Total, Sent: l.Sent, Done: l.Done, Errors: l.Errors, Violations: l.Violations, Rate: l.Rate}})
		}
	}
	if o.Reports {
		cfg.Render = func(dir string, m *results.CapacityManifest, s *results.CapacitySummary) error {
			return report.WriteCapacity(dir, m, s)
		}
	}
	for _, s := range []struct {
		name, url, stat string
		side            Side
		dst             *capacity.Side
	}{
		{results.Baseline, baselineURL, o.BaselineCPUStat, o.Baseline, &cfg.Baseline},
		{results.Candidate, candidateURL, o.CandidateCPUStat, o.Candidate, &cfg.Candidate},
	} {
		if s.url == "" {
			return nil, usage.Errorf("%s: want both a baseline and a candidate url", op)
		}
		access, err := s.side.Access.options(op, s.name+" ")
		if err != nil {
			return nil, err
		}
		opts := append(capacityLoad(p), access...)
		a, err := load.NewAttacker(s.url, append(slices.Clone(opts), load.WithHTTPRate(1), load.WithWSRate(1))...)
		if err != nil {
			return nil, reop(op, s.name, err)
		}
		var counter cpu.Counter = cpu.Metrics{URL: strings.TrimRight(s.url, "/") + p.MetricsPath, Client: a.HTTPClient(probeTimeout)}
		if s.stat != "" {
			counter = cpu.Cgroup{Path: s.stat}
		}
		*s.dst = capacity.Side{URL: s.url, Load: opts, CPU: counter, Alive: s.side.Alive}
	}
	if cfg.Dir == "" {
		if cfg.Dir, err = os.MkdirTemp("", "loadbench-capacity-"); err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
	}
	sum, err := capacity.Run(ctx, cfg)
	if sum == nil {
		if err == nil {
			err = errors.New("capacity: no complete step")
		}
		return nil, err
	}
	return &CapacityResult{Verdict: verdictOf(sum.Verdict), Reason: sum.Reason, Dir: cfg.Dir, Summary: sum}, err
}

// capacityLoad are the engine's options of every step of plan p, but the
// rates, duration and user prefix, which each step sets.
func capacityLoad(p results.CapacityPlan) []load.Option {
	arrivals, _ := load.ParseArrivals(p.Arrivals)
	return []load.Option{
		load.WithUsers(p.Users), load.WithTimeout(p.Timeout.D()),
		load.WithHTTPPath(p.HTTPPath), load.WithWSPath(p.WSPath),
		load.WithMaxInFlight(p.MaxInFlight), load.WithMaxSendLag(p.MaxSendLag.D()),
		load.WithArrivals(arrivals),
	}
}

// CapacityPlan is the typed plan a capacity run with o runs: o checked and
// its defaults filled in, as manifest.json records it.
func (o CapacityOptions) CapacityPlan() (results.CapacityPlan, error) {
	const op = "capacity"
	p := results.CapacityPlan{
		Users:           cmp.Or(o.Users, DefaultCapacityUsers),
		Timeout:         results.Duration(cmp.Or(o.Timeout, DefaultCapacityTimeout)),
		StepDuration:    results.Duration(cmp.Or(o.StepDuration, DefaultStepDuration)),
		Warmup:          results.Duration(cmp.Or(o.Warmup, DefaultCapacityWarmup)),
		LowRate:         cmp.Or(o.LowRate, DefaultLowRate),
		Growth:          cmp.Or(o.Growth, DefaultGrowth),
		MaxRate:         cmp.Or(o.MaxRate, DefaultMaxCapacityRate),
		Width:           cmp.Or(o.Width, DefaultWidth),
		Repeats:         cmp.Or(o.Repeats, DefaultRepeats),
		MinEnded:        DefaultMinEnded,
		SLO:             results.Duration(o.SLO),
		SLOFactor:       DefaultSLOFactor,
		SLOFloor:        results.Duration(DefaultSLOFloor),
		CPURates:        slices.Clone(o.CPURates),
		CPURounds:       cmp.Or(o.CPURounds, DefaultCPURounds),
		CPUBudget:       cmp.Or(o.CPUBudget, DefaultCPUBudget),
		CapacityBudget:  cmp.Or(o.CapacityBudget, DefaultCapacityBudget),
		ErrorBudget:     cmp.Or(o.ErrorBudget, DefaultErrorBudget),
		Alpha:           cmp.Or(o.Alpha, DefaultAlpha),
		Arrivals:        o.Arrivals.String(),
		MaxInFlight:     cmp.Or(o.MaxInFlight, DefaultMaxInFlight),
		MaxGeneratorCPU: DefaultMaxGeneratorCPU,
		HTTPPath:        cmp.Or(o.HTTPPath, DefaultHTTPPath),
		WSPath:          cmp.Or(o.WSPath, DefaultWSPath),
		MetricsPath:     cmp.Or(o.MetricsPath, DefaultMetricsPath),
		Seed:            o.Seed,
		Baseline:        results.PlanSide{Build: o.Baseline.Build, Args: slices.Clone(o.Baseline.Args)},
		Candidate:       results.PlanSide{Build: o.Candidate.Build, Args: slices.Clone(o.Candidate.Args)},
		Local:           o.Local,
		Pinning:         o.Pinning,
	}
	if len(p.CPURates) == 0 {
		p.CPUFractions = DefaultCPUFractions()
	}
	if o.NoWarmup {
		p.Warmup = 0
	}
	protos := o.Protocols
	if len(protos) == 0 {
		protos = Protocols()
	}
	for _, pr := range protos {
		if pr != HTTP && pr != WebSocket || slices.Contains(p.Protocols, pr.String()) {
			return p, usage.Fieldf(op, "protocol", "must be http, ws or both, each once, got %v", o.Protocols)
		}
		p.Protocols = append(p.Protocols, pr.String())
	}
	sendLag, err := limit(op, "max send lag", o.MaxSendLag, o.NoSendLagLimit, DefaultMaxSendLag)
	if err != nil {
		return p, err
	}
	p.MaxSendLag = results.Duration(sendLag)
	bad := func(field, format string, args ...any) (results.CapacityPlan, error) {
		return p, usage.Fieldf(op, field, format, args...)
	}
	frac := func(x float64) bool { return x > 0 && x < 1 }
	switch {
	case o.Users < 0:
		return bad("users", "must be positive, got %d", o.Users)
	case o.Timeout < 0:
		return bad("timeout", "must be positive, got %s", o.Timeout)
	case o.StepDuration < 0:
		return bad("step duration", "must be positive, got %s", o.StepDuration)
	case o.Warmup < 0:
		return bad("warmup", "must not be negative, got %s", o.Warmup)
	case !(p.LowRate > 0) || math.IsInf(p.LowRate, 0):
		return bad("low rate", "must be a positive number of chats per second, got %v", o.LowRate)
	case !(p.Growth > 1) || math.IsInf(p.Growth, 0):
		return bad("growth", "must be above 1, got %v", o.Growth)
	case !(p.MaxRate > p.LowRate) || math.IsInf(p.MaxRate, 0):
		return bad("max rate", "must be above the low rate %v, got %v", p.LowRate, o.MaxRate)
	case !frac(p.Width):
		return bad("width", "must be between 0 and 1 (0.01 for 1%%), got %v", o.Width)
	case p.Repeats < 2:
		return bad("repeats", "must be at least 2 (a paired interval needs two), got %d", o.Repeats)
	case p.CPURounds < 1 || p.CPURounds*max(1, len(p.CPURates), len(p.CPUFractions)) < 2:
		return bad("cpu rounds", "must give at least 2 pairs, got %d round(s)", o.CPURounds)
	case !frac(p.CPUBudget):
		return bad("cpu budget", "must be between 0 and 1 (0.05 for 5%%), got %v", o.CPUBudget)
	case !frac(p.CapacityBudget):
		return bad("capacity budget", "must be between 0 and 1 (0.05 for 5%%), got %v", o.CapacityBudget)
	case !frac(p.ErrorBudget):
		return bad("error budget", "must be between 0 and 1 (0.001 for 0.1 point), got %v", o.ErrorBudget)
	case !frac(p.Alpha):
		return bad("alpha", "must be between 0 and 1, got %v", o.Alpha)
	case o.SLO < 0:
		return bad("slo", "must be positive, got %s", o.SLO)
	case o.Seed > MaxSeed:
		return bad("seed", "must be at most %d, got %d", uint64(MaxSeed), o.Seed)
	case !o.Arrivals.valid():
		return bad("arrivals", "must be Poisson or Constant, got %s", o.Arrivals)
	}
	for _, r := range p.CPURates {
		if !(r > 0) || math.IsInf(r, 0) {
			return bad("cpu rates", "must each be a positive number of chats per second, got %v", o.CPURates)
		}
	}
	// The load settings are the engine's to check, as for an attack.
	if err := load.CheckOptions(append(capacityLoad(p), load.WithHTTPRate(1), load.WithWSRate(1))...); err != nil {
		return p, reop(op, "load", err)
	}
	return p, nil
}
