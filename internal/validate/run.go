package validate

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"time"

	"github.com/loadbench/loadbench"
	"github.com/loadbench/loadbench/internal/builtin"
	"github.com/loadbench/loadbench/internal/usage"
	"github.com/loadbench/loadbench/results"
)

// Files a validation writes into its output directory, next to one
// directory per scenario.
const (
	JSONFile     = "validation.json"
	MarkdownFile = "validation.md"
)

// Config configures a validation.
type Config struct {
	// Runs is the number of runs (compares, or capacity runs) per scenario;
	// 0 means DefaultRuns.
	Runs int
	// Scenarios are run in this order within each run; nil means the
	// default ones (DefaultScenarioNames: the compare scenarios).
	Scenarios []Scenario
	// Compare holds the settings every compare starts from (rounds,
	// durations, rates, gate) and Builds the built-in builds and the
	// executable that serves them; each scenario then applies its own.
	// Compare's Dir and Progress are set per compare.
	Compare loadbench.CompareOptions
	Builds  builtin.Spec
	// Capacity holds the settings every run of a capacity scenario starts
	// from; the zero value is `loadbench capacity`'s defaults. Its Dir,
	// CommandLine and Progress are set per run.
	Capacity loadbench.CapacityOptions
	// Out is the validation's directory; required.
	Out string
	// Args is the command line, for the report's manifest.
	Args []string
	// Progress, when set, is called as the validation moves on.
	Progress func(Progress)
	// CompareFunc runs one compare; nil means builtin.Compare. Tests
	// replace it.
	CompareFunc func(context.Context, builtin.Spec, loadbench.CompareOptions) (*loadbench.Comparison, error)
	// CapacityFunc runs one capacity run; nil means builtin.Capacity, what
	// `loadbench capacity` runs for the built-in targets. Tests replace it.
	CapacityFunc func(context.Context, builtin.Spec, loadbench.CapacityOptions) (*loadbench.CapacityResult, error)
}

// Progress is where a validation is.
type Progress struct {
	Run, Runs int
	Scenario  string // its Title
	// Compare is the running compare's progress, Capacity the running
	// capacity run's; zero when none runs.
	Compare  loadbench.CompareProgress
	Capacity loadbench.CapacityProgress
	// Done is the number of compares finished, of Total.
	Done, Total int
}

// Run executes the validation: cfg.Runs rounds of one compare (or capacity
// run, for a capacity scenario) per scenario, scenarios interleaved, the
// report rewritten to cfg.Out after every one. It returns the report also
// on error. Run errors of single runs are counted, not returned; a usage
// error, cancellation or a failure to write the report ends the validation
// and is returned.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	if cfg.Runs == 0 {
		cfg.Runs = DefaultRuns
	}
	if cfg.Scenarios == nil {
		var err error
		if cfg.Scenarios, err = Scenarios(DefaultScenarioNames(), nil); err != nil {
			return nil, err
		}
	}
	if cfg.CompareFunc == nil {
		cfg.CompareFunc = builtin.Compare
	}
	if cfg.CapacityFunc == nil {
		cfg.CapacityFunc = builtin.Capacity
	}
	switch {
	case cfg.Runs < 1:
		return nil, usage.Errorf("validate: runs must be at least 1, got %d", cfg.Runs)
	case len(cfg.Scenarios) == 0:
		return nil, usage.Errorf("validate: no scenarios")
	case cfg.Out == "":
		return nil, usage.Errorf("validate: no output directory")
	}
	manifest := results.NewManifest("validate", cfg.Args)
	settings, err := settingsOf(cfg)
	if err != nil {
		return nil, fmt.Errorf("validate: %w", err)
	}
	start := time.Now()
	var outcomes []Outcome
	write := func() (*Report, error) {
		rep := Tally(cfg.Scenarios, cfg.Runs, outcomes, time.Since(start).Seconds())
		m := manifest
		m.End = time.Now().UTC()
		m.Partial = !rep.Complete
		rep.Manifest, rep.Settings = &m, settings
		return rep, WriteReport(cfg.Out, rep)
	}
	total := cfg.Runs * len(cfg.Scenarios)
	for run := 1; run <= cfg.Runs; run++ {
		for _, sc := range cfg.Scenarios {
			if err := ctx.Err(); err != nil {
				rep, _ := write()
				return rep, fmt.Errorf("validate: %w", err)
			}
			su := cloneSetup(Setup{Options: cfg.Compare, Capacity: cfg.Capacity, Builds: cfg.Builds})
			if sc.Configure != nil {
				sc.Configure(&su)
			}
			if sc.PerRun != nil {
				sc.PerRun(&su, run)
			}
			dir := filepath.Join(cfg.Out, sc.Name, fmt.Sprintf("run-%02d", run))
			p := Progress{Run: run, Runs: cfg.Runs, Scenario: sc.Title, Done: len(outcomes), Total: total}
			if cfg.Progress != nil {
				cfg.Progress(p)
			}
			began := time.Now()
			var o Outcome
			var err error
			if sc.IsCapacity() {
				o, err = runCapacity(ctx, cfg, sc, su, dir, p)
			} else {
				o, err = runCompare(ctx, cfg, sc, su, dir, p)
			}
			o.Scenario, o.Run, o.Dir, o.Seconds = sc.Name, run, dir, time.Since(began).Seconds()
			switch {
			case errors.Is(err, usage.ErrUsage):
				rep, _ := write()
				return rep, fmt.Errorf("validate: %s: %w", sc.Name, err)
			case err != nil && ctx.Err() != nil:
				// Interrupted: the run's partial data is not an outcome.
				rep, _ := write()
				return rep, fmt.Errorf("validate: %w", ctx.Err())
			case err != nil:
				o.Verdict, o.Reason = Error, err.Error()
			}
			outcomes = append(outcomes, o)
			if rep, err := write(); err != nil {
				return rep, fmt.Errorf("validate: %w", err)
			}
		}
	}
	return write()
}

// runCompare runs one compare of scenario sc into dir and reads its
// outcome; an error is the compare's.
func runCompare(ctx context.Context, cfg Config, sc Scenario, su Setup, dir string, p Progress) (Outcome, error) {
	cc := su.Options
	cc.Dir, cc.CommandLine = dir, cfg.Args
	if cfg.Progress != nil {
		cc.Progress = func(cp loadbench.CompareProgress) {
			q := p
			q.Compare = cp
			cfg.Progress(q)
		}
	}
	res, err := cfg.CompareFunc(ctx, su.Builds, cc)
	var o Outcome
	switch {
	case err != nil:
		return o, err
	case res == nil || res.Summary == nil:
		o.Verdict, o.Reason = Error, "no summary"
		return o, nil
	}
	o.Verdict = sc.Classify(res.Summary)
	o.Overall, o.Reason = res.Summary.Verdict, res.Summary.Reason
	o.Rounds = res.Summary.Rounds
	if l := res.Summary.Latency; len(l) > 0 {
		o.Effect = l[0].Ratio
		o.Effects = map[string]float64{}
		for _, c := range l {
			o.Effects[c.Check()] = c.Ratio
		}
	}
	return o, nil
}

// runCapacity runs one capacity run of scenario sc into dir and reads its
// outcome; an error is the run's.
func runCapacity(ctx context.Context, cfg Config, sc Scenario, su Setup, dir string, p Progress) (Outcome, error) {
	co := su.Capacity
	co.Dir, co.CommandLine = dir, cfg.Args
	if cfg.Progress != nil {
		co.Progress = func(cp loadbench.CapacityProgress) {
			q := p
			q.Capacity = cp
			cfg.Progress(q)
		}
	}
	res, err := cfg.CapacityFunc(ctx, su.Builds, co)
	var o Outcome
	switch {
	case err != nil:
		return o, err
	case res == nil || res.Summary == nil:
		o.Verdict, o.Reason = Error, "no summary"
		return o, nil
	}
	return capacityOutcome(sc, res.Summary), nil
}

// capacityOutcome is what a capacity summary counts for scenario sc: its
// verdict, the overall one and its reason, the steps, and the measured
// CPU-per-chat and throughput ratios (0 where not measured).
func capacityOutcome(sc Scenario, s *results.CapacitySummary) Outcome {
	o := Outcome{Verdict: sc.ClassifyCapacity(s), Overall: s.Verdict, Reason: s.Reason, Steps: len(s.Steps)}
	if s.CPU.Pairs > 0 && s.CPU.Ratio > 0 {
		o.CPURatio = s.CPU.Ratio
	}
	if !s.Capacity.Skipped && s.Capacity.Ratio > 0 {
		o.ThroughputRatio = s.Capacity.Ratio
	}
	return o
}

// WriteReport writes rep to dir as validation.json and validation.md, each
// atomically.
func WriteReport(dir string, rep *Report) error {
	if err := results.WriteJSON(filepath.Join(dir, JSONFile), rep); err != nil {
		return err
	}
	var b bytes.Buffer
	if err := rep.Markdown()(&b); err != nil {
		return err
	}
	return results.WriteFileAtomic(filepath.Join(dir, MarkdownFile), b.Bytes())
}

// Setup is what one run of a scenario runs: the compare options (or, for
// a capacity scenario, the capacity options) and the built-in builds.
type Setup struct {
	Options  loadbench.CompareOptions
	Capacity loadbench.CapacityOptions
	Builds   builtin.Spec
}

// cloneSetup copies s so that a scenario's changes stay its own.
func cloneSetup(s Setup) Setup {
	s.Builds.Baseline.Args = slices.Clone(s.Builds.Baseline.Args)
	s.Builds.Candidate.Args = slices.Clone(s.Builds.Candidate.Args)
	s.Options.Percentiles = slices.Clone(s.Options.Percentiles)
	s.Capacity.CPURates = slices.Clone(s.Capacity.CPURates)
	s.Capacity.Protocols = slices.Clone(s.Capacity.Protocols)
	return s
}

// settingsOf states the compare settings, compare's defaults filled in.
func settingsOf(cfg Config) (Settings, error) {
	p, err := cfg.Compare.Plan()
	if err != nil {
		return Settings{}, err
	}
	s := Settings{
		Runs: cfg.Runs, Rounds: p.Rounds, RoundDuration: p.RoundDuration.String(),
		Warmup: p.Warmup.String(), Settle: p.Settle.String(),
		HTTPRate: p.HTTPRate, WSRate: p.WSRate, Users: p.Users,
		Budget: p.Budget, Alpha: p.Alpha,
	}
	for _, pct := range p.Percentiles {
		s.Percentiles = append(s.Percentiles, results.PercentileName(pct))
	}
	for _, sc := range cfg.Scenarios {
		s.Scenarios = append(s.Scenarios, sc.Name)
		if !sc.IsCapacity() {
			continue
		}
		// Each capacity scenario's own plan is checked before any run.
		su := cloneSetup(Setup{Capacity: cfg.Capacity, Builds: cfg.Builds})
		if sc.Configure != nil {
			sc.Configure(&su)
		}
		cp, err := su.Capacity.CapacityPlan()
		if err != nil {
			return Settings{}, fmt.Errorf("%s: %w", sc.Name, err)
		}
		if s.Capacity == nil {
			base, err := cfg.Capacity.CapacityPlan()
			if err != nil {
				return Settings{}, err
			}
			s.Capacity = &CapacitySettings{
				Protocols: base.Protocols, Users: base.Users, Timeout: base.Timeout.D().String(),
				StepDuration: base.StepDuration.D().String(), Warmup: base.Warmup.D().String(),
				Repeats: base.Repeats, CPURounds: base.CPURounds, CPUFractions: base.CPUFractions,
				CPUBudget: base.CPUBudget, CapacityBudget: base.CapacityBudget, ErrorBudget: base.ErrorBudget, Alpha: base.Alpha,
			}
		}
		if len(cp.CPURates) > 0 {
			if s.Capacity.CPURates == nil {
				s.Capacity.CPURates = map[string][]float64{}
			}
			s.Capacity.CPURates[sc.Name] = cp.CPURates
		}
	}
	return s, nil
}
