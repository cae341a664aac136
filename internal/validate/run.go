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
	// Runs is the number of compares per scenario; 0 means DefaultRuns.
	Runs int
	// Scenarios are run in this order within each run; nil means the four
	// built-in ones.
	Scenarios []Scenario
	// Compare holds the settings every compare starts from (rounds,
	// durations, rates, gate) and Builds the built-in builds and the
	// executable that serves them; each scenario then applies its own.
	// Compare's Dir and Progress are set per compare.
	Compare loadbench.CompareOptions
	Builds  builtin.Spec
	// Out is the validation's directory; required.
	Out string
	// Args is the command line, for the report's manifest.
	Args []string
	// Progress, when set, is called as the validation moves on.
	Progress func(Progress)
	// CompareFunc runs one compare; nil means builtin.Compare. Tests
	// replace it.
	CompareFunc func(context.Context, builtin.Spec, loadbench.CompareOptions) (*loadbench.Comparison, error)
}

// Progress is where a validation is.
type Progress struct {
	Run, Runs int
	Scenario  string // its Title
	// Compare is the running compare's progress; zero between compares.
	Compare loadbench.CompareProgress
	// Done is the number of compares finished, of Total.
	Done, Total int
}

// Run executes the validation: cfg.Runs rounds of one compare per scenario,
// scenarios interleaved, the report rewritten to cfg.Out after every
// compare. It returns the report also on error. Run errors of single
// compares are counted, not returned; a usage error, cancellation or a
// failure to write the report ends the validation and is returned.
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
			su := cloneSetup(Setup{Options: cfg.Compare, Builds: cfg.Builds})
			if sc.Configure != nil {
				sc.Configure(&su)
			}
			if sc.PerRun != nil {
				sc.PerRun(&su, run)
			}
			cc := su.Options
			cc.Dir = filepath.Join(cfg.Out, sc.Name, fmt.Sprintf("run-%02d", run))
			cc.CommandLine = cfg.Args
			p := Progress{Run: run, Runs: cfg.Runs, Scenario: sc.Title, Done: len(outcomes), Total: total}
			if cfg.Progress != nil {
				cfg.Progress(p)
				cc.Progress = func(cp loadbench.CompareProgress) {
					q := p
					q.Compare = cp
					cfg.Progress(q)
				}
			}
			began := time.Now()
			res, err := cfg.CompareFunc(ctx, su.Builds, cc)
			o := Outcome{Scenario: sc.Name, Run: run, Dir: cc.Dir, Seconds: time.Since(began).Seconds()}
			switch {
			case errors.Is(err, usage.ErrUsage):
				rep, _ := write()
				return rep, fmt.Errorf("validate: %s: %w", sc.Name, err)
			case err != nil && ctx.Err() != nil:
				// Interrupted: the compare's partial data is not an outcome.
				rep, _ := write()
				return rep, fmt.Errorf("validate: %w", ctx.Err())
			case err != nil:
				o.Verdict, o.Reason = Error, err.Error()
			case res == nil || res.Summary == nil:
				o.Verdict, o.Reason = Error, "no summary"
			default:
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
			}
			outcomes = append(outcomes, o)
			if rep, err := write(); err != nil {
				return rep, fmt.Errorf("validate: %w", err)
			}
		}
	}
	return write()
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

// Setup is what one compare of a scenario runs: the options and the
// built-in builds.
type Setup struct {
	Options loadbench.CompareOptions
	Builds  builtin.Spec
}

// cloneSetup copies s so that a scenario's changes stay its own.
func cloneSetup(s Setup) Setup {
	s.Builds.Baseline.Args = slices.Clone(s.Builds.Baseline.Args)
	s.Builds.Candidate.Args = slices.Clone(s.Builds.Candidate.Args)
	s.Options.Percentiles = slices.Clone(s.Options.Percentiles)
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
	}
	return s, nil
}
