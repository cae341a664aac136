package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/loadbench/loadbench/internal/agent"
	"github.com/loadbench/loadbench/internal/compare"
	"github.com/loadbench/loadbench/internal/load"
	"github.com/loadbench/loadbench/internal/report"
	"github.com/loadbench/loadbench/results"
	"github.com/loadbench/loadbench/targets"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

func newCompareCmd(s streams) *cobra.Command {
	var (
		cfg                         compare.Config
		lf                          loadFlags
		ef                          engineFlags
		gf                          gateFlags
		baselineArgs, candidateArgs string
		profile                     string
		jsonOut, quiet              bool
		tr, trBase, trCand          transportFlags // transportflags.go
	)
	cmd := &cobra.Command{
		Use:   "compare [--baseline URL --candidate URL]",
		Short: "Interleaved before/after rounds gating latency, errors, memory and isolation",
		Long: `Compare runs the same load against a baseline and a candidate in interleaved
rounds (A B, B A, ...) and gates the candidate on four things: latency at each
percentile within the budget of the baseline, a target error rate at most
--error-budget over the baseline's, a live heap that does not grow with the
chats answered, and no user ever shown another user's data.

With --rounds auto (the default) it adds rounds until every check is decided or
--max-duration runs out; the verdict's error rates hold however early it stops.
Every round uses fresh user ids.

Without --baseline and --candidate it starts both built-in targets itself
(the legacy singleton as baseline, the per-request build as candidate), each
as its own child process, and ends them when done.

--header, --cacert, --cert/--key, --insecure, --ws-subprotocol, --ws-ping and
--body apply to both sides; their --baseline-… and --candidate-… forms replace
them for one side (two deployments with different tokens). Header values are
never written: the manifest shows "Name: <redacted>".

Exit codes: 0 pass, 1 fail, 2 bad usage, 3 run error, 4 inconclusive.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := lf.apply("compare", &cfg); err != nil {
				return err
			}
			engineOpts, err := ef.options("compare")
			if err != nil {
				return err
			}
			cfg.Load = engineOpts
			prof, err := agent.ParseProfile(profile)
			if err != nil {
				return usageErr("compare: --profile must be ci or production, got %q", profile)
			}
			if err := gf.apply("compare", &cfg); err != nil {
				return err
			}
			applyProfile(cmd.Flags(), prof, &cfg) // after the gate's flags: it may set --max-duration
			if err := applyTransport(cmd.Flags(), &cfg, &tr, &trBase, &trCand); err != nil {
				return err
			}
			cfg.BaselineArgs = strings.Fields(baselineArgs)
			cfg.CandidateArgs = strings.Fields(candidateArgs)
			if err := checkTargets(&cfg); err != nil {
				return err
			}
			if cfg.BaselineURL == "" && cfg.CandidateURL == "" { // the built-in targets serve the profile too
				cfg.BaselineArgs = append([]string{"--profile", prof.String()}, cfg.BaselineArgs...)
				cfg.CandidateArgs = append([]string{"--profile", prof.String()}, cfg.CandidateArgs...)
			}
			if cfg.Out == "" {
				cfg.Out = filepath.Join("runs", time.Now().UTC().Format("20060102T150405Z"))
			}
			if cfg.BaselineURL == "" && cfg.CandidateURL == "" {
				exe, err := s.executable()
				if err != nil {
					return withCode(exitRunError, fmt.Errorf("compare: find own executable: %w", err))
				}
				cfg.Executable = exe
			}
			cfg.Args = redactArgs(s.Args)
			cfg.Render = renderReports
			var prog *progressLine
			if !quiet && isTerminal(s.Err) {
				prog = &progressLine{w: s.Err}
				cfg.Progress = prog.compare
			}
			res, runErr := compare.Run(cmd.Context(), cfg)
			prog.clear()
			return compareOutcome(s, res, runErr, jsonOut, quiet)
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.BaselineURL, "baseline", "", "base URL of the baseline deployment (with --candidate; default: start the built-in legacy target)")
	f.StringVar(&cfg.CandidateURL, "candidate", "", "base URL of the candidate deployment (with --baseline; default: start the built-in per-request target)")
	f.StringVar(&cfg.BaselineImpl, "baseline-impl", "baseline", "build served by the built-in baseline (baseline|perrequest)")
	f.StringVar(&cfg.CandidateImpl, "candidate-impl", "perrequest", "build served by the built-in candidate (baseline|perrequest)")
	f.StringVar(&baselineArgs, "baseline-args", "", `extra "serve" flags for the built-in baseline, e.g. "--think 10ms"`)
	f.StringVar(&candidateArgs, "candidate-args", "", `extra "serve" flags for the built-in candidate, e.g. "--slowdown 1.1" or "--leak 1024"`)
	lf.register(f)
	ef.register(f)
	f.StringVar(&profile, "profile", agent.DefaultProfile.String(), "workload profile of the built-in targets and of the load (users, rates, per-chat timeout) unless those flags are given: ci or production")
	gf.register(f)
	f.DurationVar(&cfg.Timeout, "timeout", 30*time.Second, "per-chat timeout")
	f.Float64Var(&cfg.MaxErrorRate, "max-error-rate", compare.DefaultMaxErrorRate, "sanity limit: a segment's target error rate above it means a broken run (exit 3); the gate compares error rates with --error-budget")
	f.StringVar(&cfg.HTTPPath, "http-path", "/api/agents/run", "HTTP chat route")
	f.StringVar(&cfg.WSPath, "ws-path", "/api/demo/ws", "WebSocket chat route")
	f.StringVar(&cfg.MetricsPath, "metrics-path", compare.DefaultMetricsPath, `Prometheus route, scraped when present ("-": never)`)
	f.StringVar(&cfg.GCPath, "gc-path", compare.DefaultGCPath, `forced-GC route, used when present ("-": never)`)
	f.StringVar(&cfg.Out, "out", "", "run directory (default runs/<UTC timestamp>)")
	f.BoolVar(&jsonOut, "json", false, "print summary.json instead of the table")
	f.BoolVar(&quiet, "quiet", false, "no progress display")
	tr.register(f, "")
	trBase.register(f, "baseline-")
	trCand.register(f, "candidate-")
	return cmd
}

// applyProfile sets the load shape of p on cfg, except what flags set.
func applyProfile(f *pflag.FlagSet, p agent.Profile, cfg *compare.Config) {
	shape := p.Load()
	if !f.Changed("users") {
		cfg.Users = shape.Users
	}
	if !f.Changed("http-rate") {
		cfg.HTTPRate = shape.HTTPRate
	}
	if !f.Changed("ws-rate") {
		cfg.WSRate = shape.WSRate
	}
	if !f.Changed("timeout") {
		cfg.Timeout = shape.Timeout
	}
	if !f.Changed("max-event-gap") {
		cfg.Load = append(cfg.Load, load.WithMaxEventGap(shape.MaxEventGap))
	}
	for _, d := range []struct {
		flag  string
		dst   *time.Duration
		value time.Duration
	}{{"round-duration", &cfg.RoundDuration, shape.RoundDuration}, {"warmup", &cfg.Warmup, shape.Warmup}, {"max-duration", &cfg.MaxDuration, shape.MaxDuration}} {
		if d.value != 0 && !f.Changed(d.flag) {
			*d.dst = d.value
		}
	}
}

// compareOutcome prints what a compare produced and maps it to an exit code.
func compareOutcome(s streams, res *compare.Result, runErr error, jsonOut, quiet bool) error {
	if res != nil && res.Summary != nil {
		if jsonOut {
			enc := json.NewEncoder(s.Out)
			enc.SetIndent("", "  ")
			if err := enc.Encode(res.Summary); err != nil {
				return withCode(exitRunError, err)
			}
		} else {
			if err := report.Text(res.Summary)(s.Out); err != nil {
				return withCode(exitRunError, err)
			}
			fmt.Fprintf(s.Out, "results: %s (report: %s)\n", res.Dir, filepath.Join(res.Dir, "report.html"))
		}
	} else if res != nil && runErr != nil && !quiet {
		fmt.Fprintf(s.Err, "loadbench: compare: no complete round; results so far in %s\n", res.Dir)
	}
	switch {
	case runErr == nil:
	case errors.Is(runErr, context.Canceled):
		return withCode(exitRunError, fmt.Errorf("compare: interrupted; partial results written"))
	default:
		return withCode(exitRunError, runErr)
	}
	return verdictExit(res.Summary.Verdict)
}

// progressLine redraws one status line on a terminal.
type progressLine struct {
	mu sync.Mutex
	w  interface{ Write([]byte) (int, error) }
	n  int
}

func (p *progressLine) compare(pr compare.Progress) {
	line := fmt.Sprintf("round %d/≤%d  %-9s  %-7s", pr.Round, pr.Rounds, pr.Build, pr.Phase)
	if pr.Phase == compare.PhaseLoad || pr.Phase == compare.PhaseWarmup {
		l := pr.Load
		line += fmt.Sprintf("  %4.1fs/%.0fs  sent %d  %.0f/s  errors %d  violations %d",
			l.Elapsed.Seconds(), l.Total.Seconds(), l.Sent, l.Rate, l.Errors, l.Violations)
	}
	p.draw(line)
}

func (p *progressLine) draw(line string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	pad := ""
	if d := p.n - len(line); d > 0 {
		pad = strings.Repeat(" ", d)
	}
	fmt.Fprintf(p.w, "\r%s%s", line, pad)
	p.n = len(line)
}

func (p *progressLine) clear() {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.n > 0 {
		fmt.Fprintf(p.w, "\r%s\r", strings.Repeat(" ", p.n))
		p.n = 0
	}
}

// renderReports writes the charts and reports of a compare run.
func renderReports(dir string, run *results.Run, sum *results.Summary) error {
	return report.Write(dir, run, sum, report.All...)
}

// applyTransport sets each side's transport options from the plain flags
// and that side's --baseline-…/--candidate-… flags, and records them
// (header values redacted) for the manifest.
func applyTransport(f *pflag.FlagSet, cfg *compare.Config, tr, base, cand *transportFlags) error {
	for _, side := range []struct {
		flags *transportFlags
		dst   *[]load.Option
	}{{base, &cfg.BaselineLoad}, {cand, &cfg.CandidateLoad}} {
		eff := tr.over(f, side.flags)
		if side.flags.changed(f) {
			eff.prefix = side.flags.prefix
		}
		opts, err := eff.options("compare")
		if err != nil {
			return err
		}
		*side.dst = opts
	}
	cfg.TransportFlags = map[string]string{}
	for _, t := range []*transportFlags{tr, base, cand} {
		for k, v := range t.record(f) {
			cfg.TransportFlags[k] = v
		}
	}
	return nil
}

// checkTargets checks the flags that choose the two targets, naming them;
// compare.Run checks the same in terms of its configuration.
func checkTargets(c *compare.Config) error {
	switch {
	case (c.BaselineURL == "") != (c.CandidateURL == ""):
		return usageErr("compare: give both --baseline and --candidate, or neither")
	case c.BaselineURL != "" && (len(c.BaselineArgs) > 0 || len(c.CandidateArgs) > 0):
		return usageErr("compare: --baseline-args and --candidate-args apply to the built-in targets only")
	case !slices.Contains(targets.Impls(), c.BaselineImpl) || !slices.Contains(targets.Impls(), c.CandidateImpl):
		return usageErr("compare: --baseline-impl and --candidate-impl must be baseline, perrequest or partial, got %q and %q", c.BaselineImpl, c.CandidateImpl)
	}
	return nil
}
