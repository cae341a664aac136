package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/loadbench/loadbench"
	"github.com/loadbench/loadbench/internal/builtin"
	"github.com/loadbench/loadbench/internal/usage"
	"github.com/loadbench/loadbench/internal/validate"
	"github.com/spf13/cobra"
)

func newValidateCmd(s streams) *cobra.Command {
	var (
		cfg            validate.Config
		lf             loadFlags
		gf             gateFlags
		scenarios      string
		slowdowns      string
		serveArgs      string
		jsonOut, quiet bool
		reports        bool
	)
	cmd := &cobra.Command{
		Use:   "validate [--runs 20] [--rounds auto] [--scenarios LIST] [--out DIR] [--json]",
		Short: "Measure the gate: false fails, detections and decisions in scenarios whose answer is known",
		Long: `Validate runs many compares of the built-in targets in scenarios whose right
answer is known, and counts how often the gate gives it:

  aa             per-request vs per-request: a fail is a false alarm (goal ≤ 1%; decided ≥ 95%)
  legacy         legacy vs per-request, as make run: must pass (goal ≥ 95%)
  within         candidate --delay 100us (≤ +2.5% at every check): must pass (goal ≥ 80%, fail ≤ 1%)
  slowdown       candidate --delay 725us (≈ +10%): a latency fail is a detection (goal ≥ 95%)
  budget         candidate --delay 475us (≈ +5%, at the budget): measured, no goal
  errors         candidate --ws-fail-rate 0.005 (+0.5 point on WebSocket only): an error fail is a detection (goal ≥ 95%)
  leak           candidate --leak 32 (B/chat, twice the 16 B/chat limit): a memory fail is a detection (goal ≥ 95%)
  leak-per-user  candidate --leak-per-user 2048: a memory fail is a detection (goal ≥ 95%)
  isolation      the legacy build as candidate: an isolation fail is a detection (goal 100%)

Capacity scenarios (issue 20): each run is one "loadbench capacity" run of the
built-in targets at capacity's defaults, per-request against per-request. They
are not run by default; --scenarios capacity selects all three, or name them:

  capacity-aa          no change, full run (about 6 min): an overall fail is a false alarm (goal ≤ 2.5%, capacity's α/2)
  capacity-cpu         candidate --burn 50us (CPU per chat ×1.090 measured), CPU only at 1300,2100 chats/s
                       (about 70 s): a cpu.verdict fail is a detection (goal ≥ 95%)
  capacity-throughput  the same burn, full run (about 6 min): a capacity.verdict fail is a detection (goal ≥ 95%)

The compare flags (--rounds, the rates, --users, the gate's) do not apply to
capacity runs; --serve-args and --reports do.

Every rate comes with its 95% Clopper–Pearson interval, and a goal counts as met
only when the interval's bound meets it (0 false alarms in 20 runs shows a rate
below 16.8%, not below 1%). Each row also gives the measured end-to-end effect.
--slowdowns 1.05,1.10,1.20 adds one --slowdown scenario per factor (no goal).
Runs interleave the scenarios. Each compare or capacity run writes into
OUT/<scenario>/run-NN/; OUT/validation.json and OUT/validation.md are rewritten
after every one, so a validation cut short keeps its counts.

Exit codes: 0 every goal met, 1 a goal missed, 2 bad usage, 3 a compare or
capacity run ended in a run error (or the validation was interrupted).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if cfg.Runs < 1 {
				return usageErr("validate: --runs must be at least 1, got %d", cfg.Runs)
			}
			factors, err := validate.ParseSlowdowns(slowdowns)
			if err != nil {
				return usageErr("validate: --slowdowns: %v", err)
			}
			var names []string
			for n := range strings.SplitSeq(scenarios, ",") {
				if n = strings.TrimSpace(n); n != "" {
					names = append(names, n)
				}
			}
			if cfg.Scenarios, err = validate.Scenarios(names, factors); err != nil {
				return usageErr("validate: --scenarios: %v", err)
			}
			c := &cfg.Compare
			if err := lf.apply("validate", c); err != nil {
				return err
			}
			if err := gf.apply("validate", c); err != nil {
				return err
			}
			c.Reports = reports
			cfg.Capacity.Reports = reports
			exe, err := s.executable()
			if err != nil {
				return withCode(exitRunError, fmt.Errorf("validate: find own executable: %w", err))
			}
			cfg.Builds = builtin.Spec{
				Executable: exe,
				Baseline:   builtin.Build{Impl: "baseline", Args: strings.Fields(serveArgs)},
				Candidate:  builtin.Build{Impl: "perrequest", Args: strings.Fields(serveArgs)},
			}
			if cfg.Out == "" {
				cfg.Out = filepath.Join("runs", "validate-"+time.Now().UTC().Format("20060102T150405Z"))
			}
			cfg.Args = s.Args
			var prog *progressLine
			if !quiet && isTerminal(s.Err) {
				prog = &progressLine{w: s.Err}
				cfg.Progress = prog.validate
			}
			rep, runErr := validate.Run(cmd.Context(), cfg)
			prog.clear()
			return validateOutcome(s, cfg.Out, rep, runErr, jsonOut)
		},
	}
	f := cmd.Flags()
	f.IntVar(&cfg.Runs, "runs", validate.DefaultRuns, "compares per scenario")
	f.StringVar(&scenarios, "scenarios", strings.Join(validate.DefaultScenarioNames(), ","), "scenarios to run ("+strings.Join(validate.ScenarioNames(), ",")+"; "+validate.CapacityGroup+" for the three capacity ones)")
	f.StringVar(&serveArgs, "serve-args", "", `extra "serve" flags for both built-in targets in every scenario, e.g. "--profile production"`)
	f.StringVar(&slowdowns, "slowdowns", "", "extra slowdown factors to measure, e.g. 1.05,1.10,1.20")
	lf.register(f)
	gf.register(f)
	f.StringVar(&cfg.Out, "out", "", "validation directory (default runs/validate-<UTC timestamp>)")
	f.BoolVar(&jsonOut, "json", false, "print the rates as JSON instead of the table")
	f.BoolVar(&reports, "reports", false, "render the reports of every compare and capacity run")
	f.BoolVar(&quiet, "quiet", false, "no progress display")
	return cmd
}

// validateOutcome prints a validation's report and maps it to an exit code:
// usage 2, run errors and interruption 3, a missed goal 1.
func validateOutcome(s streams, out string, rep *validate.Report, runErr error, jsonOut bool) error {
	if errors.Is(runErr, usage.ErrUsage) && (rep == nil || len(rep.Outcomes) == 0) {
		return withCode(exitUsage, runErr)
	}
	if rep != nil {
		if jsonOut {
			short := *rep
			short.Outcomes, short.Manifest = nil, nil
			enc := json.NewEncoder(s.Out)
			enc.SetIndent("", "  ")
			if err := enc.Encode(&short); err != nil {
				return withCode(exitRunError, err)
			}
		} else {
			if err := rep.Text()(s.Out); err != nil {
				return withCode(exitRunError, err)
			}
			fmt.Fprintf(s.Out, "results: %s (%s, %s)\n", out,
				filepath.Join(out, validate.MarkdownFile), filepath.Join(out, validate.JSONFile))
		}
	}
	switch {
	case runErr == nil:
	case errors.Is(runErr, context.Canceled):
		return withCode(exitRunError, fmt.Errorf("validate: interrupted; counts so far in %s", out))
	default:
		return withCode(exitRunError, runErr)
	}
	switch {
	case rep.Errors > 0:
		return withCode(exitRunError, fmt.Errorf("validate: %d run(s) ended in a run error; see %s", rep.Errors, filepath.Join(out, validate.JSONFile)))
	case !rep.GoalsMet:
		return withCode(exitFail, nil)
	}
	return nil
}

// validate draws a validation's progress: which run and scenario, and where
// its compare or capacity run is.
func (p *progressLine) validate(v validate.Progress) {
	line := fmt.Sprintf("validate %d/%d  run %d/%d  %-24s", v.Done, v.Total, v.Run, v.Runs, v.Scenario)
	if c := v.Capacity; c.Step != 0 {
		line += fmt.Sprintf("  step %d  %-7s  %-9s  %7.1f/s  %4.1fs/%.0fs", c.Step, c.Phase, c.Build, c.Rate, c.Load.Elapsed.Seconds(), c.Load.Total.Seconds())
	}
	if c := v.Compare; c.Phase != 0 {
		line += fmt.Sprintf("  round %d/%d  %-9s  %s", c.Round, c.Rounds, c.Build, c.Phase)
		if c.Phase == loadbench.PhaseLoad || c.Phase == loadbench.PhaseWarmup {
			line += fmt.Sprintf("  %4.1fs/%.0fs", c.Load.Elapsed.Seconds(), c.Load.Total.Seconds())
		}
	}
	p.draw(line)
}
