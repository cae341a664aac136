package validate

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	"github.com/loadbench/loadbench/internal/compare"
	"github.com/loadbench/loadbench/internal/gate"
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
	// durations, rates, gate, Executable); each scenario then applies its
	// own. Its Out and Progress are set per compare.
	Compare compare.Config
	// Out is the validation's directory; required.
	Out string
	// Args is the command line, for the report's manifest.
	Args []string
	// Progress, when set, is called as the validation moves on.
	Progress func(Progress)
	// Compare runs one compare; nil means compare.Run. Tests replace it.
	CompareFunc func(context.Context, compare.Config) (*compare.Result, error)
}

// Progress is where a validation is.
type Progress struct {
	Run, Runs int
	Scenario  string // its Title
	// Compare is the running compare's progress; zero between compares.
	Compare compare.Progress
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
		cfg.CompareFunc = compare.Run
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
	settings := settingsOf(cfg)
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
			cc := cloneConfig(cfg.Compare)
			if sc.Configure != nil {
				sc.Configure(&cc)
			}
			if sc.PerRun != nil {
				sc.PerRun(&cc, run)
			}
			cc.Out = filepath.Join(cfg.Out, sc.Name, fmt.Sprintf("run-%02d", run))
			cc.Args = cfg.Args
			p := Progress{Run: run, Runs: cfg.Runs, Scenario: sc.Title, Done: len(outcomes), Total: total}
			if cfg.Progress != nil {
				cfg.Progress(p)
				cc.Progress = func(cp compare.Progress) {
					q := p
					q.Compare = cp
					cfg.Progress(q)
				}
			}
			began := time.Now()
			res, err := cfg.CompareFunc(ctx, cc)
			o := Outcome{Scenario: sc.Name, Run: run, Dir: cc.Out, Seconds: time.Since(began).Seconds()}
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

// cloneConfig copies c so that a scenario's changes stay its own.
func cloneConfig(c compare.Config) compare.Config {
	c.BaselineArgs = slices.Clone(c.BaselineArgs)
	c.CandidateArgs = slices.Clone(c.CandidateArgs)
	c.Gate.Percentiles = slices.Clone(c.Gate.Percentiles)
	return c
}

// settingsOf states the compare settings, compare's defaults filled in.
func settingsOf(cfg Config) Settings {
	c := cfg.Compare
	g := c.Gate
	if g.Budget == 0 && len(g.Percentiles) == 0 {
		g = gate.DefaultConfig()
	}
	s := Settings{
		Runs: cfg.Runs, Rounds: c.Rounds, RoundDuration: c.RoundDuration.String(),
		Warmup: c.Warmup.String(), Settle: c.Settle.String(),
		HTTPRate: c.HTTPRate, WSRate: c.WSRate, Users: c.Users,
		Budget: g.Budget, Alpha: g.Alpha,
	}
	if c.RoundDuration == 0 {
		s.RoundDuration = compare.DefaultRoundDuration.String()
	}
	switch {
	case c.Warmup == 0:
		s.Warmup = compare.DefaultWarmup.String()
	case c.Warmup < 0:
		s.Warmup = "0s"
	}
	if c.Settle == 0 {
		s.Settle = compare.DefaultSettle.String()
	}
	if s.Users == 0 {
		s.Users = compare.DefaultUsers
	}
	for _, p := range g.Percentiles {
		s.Percentiles = append(s.Percentiles, "p"+strconv.FormatFloat(p, 'f', -1, 64))
	}
	for _, sc := range cfg.Scenarios {
		s.Scenarios = append(s.Scenarios, sc.Name)
	}
	return s
}
