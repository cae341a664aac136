package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/loadbench/loadbench"
	"github.com/loadbench/loadbench/internal/agent"
	"github.com/loadbench/loadbench/internal/builtin"
	"github.com/loadbench/loadbench/internal/dist"
	"github.com/loadbench/loadbench/internal/report"
	"github.com/loadbench/loadbench/results"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// compareFlags are the flags of `loadbench compare`.
type compareFlags struct {
	baseline, candidate         string // URLs
	baselineImpl, candidateImpl string
	baselineArgs, candidateArgs string
	profile                     string
	timeout                     time.Duration
	maxErrorRate                float64
	httpPath, wsPath            string
	metricsPath, gcPath         string
	out                         string
	seed                        uint64
	jsonOut, quiet              bool
	load                        loadFlags
	engine                      engineFlags
	gate                        gateFlags
	tr, trBase, trCand          transportFlags // transportflags.go
	cont                        continueFlags  // continue.go
	generators                  string         // generators.go
	k8s                         k8sGenFlags    // k8sgen.go
}

func newCompareCmd(s streams) *cobra.Command {
	var cf compareFlags
	cmd := &cobra.Command{
		Use:   "compare [--baseline URL --candidate URL]",
		Short: "Interleaved before/after rounds gating latency, errors, memory and isolation",
		Long: `Compare runs the same load against a baseline and a candidate in interleaved
rounds (A B, B A, ...) and gates the candidate on four things: latency at each
percentile within the budget of the baseline, a target error rate at most
--error-budget over the baseline's on each protocol, a live heap that grows at
most --max-retained bytes per chat answered faster than the baseline's, and no
user ever shown another user's data.

With --rounds auto (the default) it adds rounds until every check is decided or
--max-duration runs out; the verdict's error rates hold however early it stops.
Every round uses fresh user ids; every compare its own seed (--seed replays
it), from which the user ids, the arrival schedules and the build order derive.

Without --baseline and --candidate it starts both built-in targets itself
(the legacy singleton as baseline, the per-request build as candidate), each
as its own child process, and ends them when done.

--header, --cacert, --cert/--key, --insecure, --ws-subprotocol, --ws-ping and
--body apply to both sides; their --baseline-… and --candidate-… forms replace
them for one side (two deployments with different tokens). Header values are
never written: the manifest shows "Name: <redacted>".

--continue DIR continues a stored compare that ended inconclusive (or was cut
short) with more rounds: the same plan and seed, the rounds numbered on, the
verdict recomputed over all of them. --max-duration (or --max-rounds, the new
most rounds in all) sets how far; the plan's other flags may not be given.
Built-in builds are started again; URLs, headers and TLS flags, never stored,
are given again.

Exit codes: 0 pass, 1 fail, 2 bad usage, 3 run error, 4 inconclusive.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runCompare(cmd, s, &cf)
		},
	}
	f := cmd.Flags()
	f.StringVar(&cf.baseline, "baseline", "", "base URL of the baseline deployment (with --candidate; default: start the built-in legacy target)")
	f.StringVar(&cf.candidate, "candidate", "", "base URL of the candidate deployment (with --baseline; default: start the built-in per-request target)")
	f.StringVar(&cf.baselineImpl, "baseline-impl", "baseline", "build served by the built-in baseline (baseline|perrequest)")
	f.StringVar(&cf.candidateImpl, "candidate-impl", "perrequest", "build served by the built-in candidate (baseline|perrequest)")
	f.StringVar(&cf.baselineArgs, "baseline-args", "", `extra "serve" flags for the built-in baseline, e.g. "--think 10ms"`)
	f.StringVar(&cf.candidateArgs, "candidate-args", "", `extra "serve" flags for the built-in candidate, e.g. "--slowdown 1.1" or "--leak 1024"`)
	cf.load.register(f)
	cf.engine.register(f)
	f.StringVar(&cf.profile, "profile", agent.DefaultProfile.String(), "workload profile of the built-in targets and of the load (users, rates, per-chat timeout) unless those flags are given: ci or production")
	cf.gate.register(f)
	f.DurationVar(&cf.timeout, "timeout", 30*time.Second, "per-chat timeout")
	f.Float64Var(&cf.maxErrorRate, "max-error-rate", loadbench.DefaultMaxErrorRate, "sanity limit: a segment's target error rate above it means a broken run (exit 3); the gate compares error rates with --error-budget")
	f.StringVar(&cf.httpPath, "http-path", loadbench.DefaultHTTPPath, "HTTP chat route")
	f.StringVar(&cf.wsPath, "ws-path", loadbench.DefaultWSPath, "WebSocket chat route")
	f.StringVar(&cf.metricsPath, "metrics-path", loadbench.DefaultMetricsPath, `Prometheus route, scraped when present ("-": never)`)
	f.StringVar(&cf.gcPath, "gc-path", loadbench.DefaultGCPath, `forced-GC route, used when present ("-": never)`)
	f.StringVar(&cf.out, "out", "", "run directory (default runs/<UTC timestamp>)")
	f.Uint64Var(&cf.seed, "seed", 0, "the compare's seed: replays its user ids, arrival schedules, fault draws and build order (0: draw one; manifest.json and summary.json record it)")
	f.BoolVar(&cf.jsonOut, "json", false, "print summary.json instead of the table")
	f.BoolVar(&cf.quiet, "quiet", false, "no progress display")
	cf.tr.register(f, "")
	cf.trBase.register(f, "baseline-")
	cf.trCand.register(f, "candidate-")
	cf.cont.register(f)
	f.StringVar(&cf.generators, "generators", "", "run every segment on generators: `SPEC` local:N is N loadbench worker processes on this machine (local:N,netns=ADDR/BITS: each in a network namespace of its own, bridged at ADDR; root; merged for the gate; each shard's raw segment in ROUND/shard-NN); k8s:N is N worker pods of a Kubernetes Indexed Job, for --baseline and --candidate URLs the pods can reach (docs/distributed.md)")
	cf.k8s.register(f)
	return cmd
}

// runCompare turns the flags into the library's options (defaults <
// profile < flags) and runs the one compare path: loadbench.Compare, with
// the built-in targets started around it when no URLs are given.
func runCompare(cmd *cobra.Command, s streams, cf *compareFlags) error {
	f := cmd.Flags()
	if f.Changed("continue") || f.Changed("max-rounds") {
		if cf.generators != "" || cf.k8s.changed(f) {
			return usageErr("compare: --generators does not apply to --continue yet")
		}
		return runContinue(cmd, s, cf)
	}
	builtins := cf.baseline == "" && cf.candidate == ""
	switch {
	case (cf.baseline == "") != (cf.candidate == ""):
		return usageErr("compare: give both --baseline and --candidate, or neither")
	case !builtins && (cf.baselineArgs != "" || cf.candidateArgs != ""):
		return usageErr("compare: --baseline-args and --candidate-args apply to the built-in targets only")
	}
	prof, err := agent.ParseProfile(cf.profile)
	if err != nil {
		return usageErr("compare: --profile must be ci or production, got %q", cf.profile)
	}
	var o loadbench.CompareOptions
	if err := cf.load.apply("compare", &o); err != nil {
		return err
	}
	eng, err := cf.engine.parse("compare")
	if err != nil {
		return err
	}
	eng.compare(&o)
	if err := cf.gate.apply("compare", &o); err != nil {
		return err
	}
	if cf.maxErrorRate == 0 {
		return usageErr("compare: --max-error-rate must be between 0 and 1, got 0")
	}
	o.Timeout, o.MaxErrorRate, o.Seed = cf.timeout, cf.maxErrorRate, cf.seed
	o.HTTPPath, o.WSPath = cf.httpPath, cf.wsPath
	o.MetricsPath, o.NoMetrics = cf.metricsPath, cf.metricsPath == "-"
	o.GCPath, o.NoGC = cf.gcPath, cf.gcPath == "-"
	applyProfile(f, prof, &o) // after the gate's flags: it may set --max-duration
	if err := applyTransport(f, &o, cf); err != nil {
		return err
	}
	o.Dir = cf.out
	if o.Dir == "" {
		o.Dir = filepath.Join("runs", time.Now().UTC().Format("20060102T150405Z"))
	}
	o.CommandLine, o.Flags = redactArgs(s.Args), recordFlags(f, builtins)
	for _, t := range []*transportFlags{&cf.tr, &cf.trBase, &cf.trCand} {
		maps.Copy(o.Flags, t.record(f))
	}
	o.Reports = true
	if cf.generators != "" || cf.k8s.changed(f) {
		g, err := compareGenerators(cmd.Context(), s, f, &o, cf, builtins)
		if err != nil {
			return err
		}
		defer g.Close()
		o.Generators = g
	}
	var prog *progressLine
	if !cf.quiet && isTerminal(s.Err) {
		prog = &progressLine{w: s.Err}
		o.Progress = prog.compare
	}
	if !cf.quiet && !cf.jsonOut {
		// Say up front what the compare can show (its plan and power),
		// once it starts: after the options and targets were accepted.
		if line, err := o.Outlook(); err == nil {
			o.Progress = announce(s.Err, line, o.Progress)
		}
	}
	var cmp *loadbench.Comparison
	if builtins {
		exe, err := s.executable()
		if err != nil {
			return withCode(exitRunError, fmt.Errorf("compare: find own executable: %w", err))
		}
		profArgs := []string{"--profile", prof.String()} // the built-in targets serve the profile too
		cmp, err = builtin.Compare(cmd.Context(), builtin.Spec{
			Executable: exe,
			Baseline:   builtin.Build{Impl: cf.baselineImpl, Args: append(profArgs, strings.Fields(cf.baselineArgs)...)},
			Candidate:  builtin.Build{Impl: cf.candidateImpl, Args: append(profArgs, strings.Fields(cf.candidateArgs)...)},
		}, o)
		prog.clear()
		return compareOutcome(s, o.Dir, cmp, err, cf.jsonOut, cf.quiet)
	}
	cmp, err = loadbench.Compare(cmd.Context(), cf.baseline, cf.candidate, o)
	prog.clear()
	return compareOutcome(s, o.Dir, cmp, err, cf.jsonOut, cf.quiet)
}

// applyProfile sets the load shape of p on o, except what flags set.
func applyProfile(f *pflag.FlagSet, p agent.Profile, o *loadbench.CompareOptions) {
	shape := p.Load()
	if !f.Changed("users") {
		o.Users = shape.Users
	}
	if !f.Changed("http-rate") {
		o.HTTPRate = flagRate(shape.HTTPRate)
	}
	if !f.Changed("ws-rate") {
		o.WSRate = flagRate(shape.WSRate)
	}
	if !f.Changed("timeout") {
		o.Timeout = shape.Timeout
	}
	if !f.Changed("max-event-gap") {
		o.MaxEventGap, o.NoEventGapLimit = shape.MaxEventGap, shape.MaxEventGap == 0
	}
	for _, d := range []struct {
		flag  string
		dst   *time.Duration
		value time.Duration
	}{{"round-duration", &o.RoundDuration, shape.RoundDuration}, {"warmup", &o.Warmup, shape.Warmup}, {"max-duration", &o.MaxDuration, shape.MaxDuration}} {
		if d.value != 0 && !f.Changed(d.flag) {
			*d.dst = d.value
		}
	}
}

// recordFlags is the manifest's record of the command line: every flag
// with the value it had, header values redacted; the built-in targets'
// flags only when they were started.
func recordFlags(f *pflag.FlagSet, builtins bool) map[string]string {
	m := map[string]string{}
	f.VisitAll(func(fl *pflag.Flag) {
		switch {
		case isSecretFlag(fl.Name) || isTransportFlag(fl.Name):
			return // recorded below, as given
		case !builtins && (strings.HasSuffix(fl.Name, "-impl") || strings.HasSuffix(fl.Name, "-args") || fl.Name == "profile"):
			return
		case fl.Name == "json" || fl.Name == "quiet":
			return
		}
		m[fl.Name] = fl.Value.String()
	})
	return m
}

// isTransportFlag reports whether name is one of the transport flags, of
// either side.
func isTransportFlag(name string) bool {
	for _, n := range transportFlagNames {
		if name == n || name == "baseline-"+n || name == "candidate-"+n {
			return true
		}
	}
	return false
}

// compareOutcome prints what a compare produced and maps it to an exit code.
func compareOutcome(s streams, dir string, cmp *loadbench.Comparison, runErr error, jsonOut, quiet bool) error {
	var out *outcome
	if cmp != nil {
		out = &outcome{cmp.Dir, cmp.WriteText, cmp.WriteJSON, cmp.Summary.Verdict}
	}
	return out.finish(s, "compare", "round", dir, runErr, jsonOut, quiet)
}

// outcome is what a compare or a capacity run produced, as the command
// prints it; nil when nothing completed.
type outcome struct {
	dir                  string
	writeText, writeJSON func(io.Writer) error
	verdict              results.Verdict
}

// finish prints o (its summary and where the results are), or where the
// partial results are when nothing completed (unit: what did not), and
// maps the run's error or verdict to the exit code.
func (o *outcome) finish(s streams, op, unit, dir string, runErr error, jsonOut, quiet bool) error {
	if o != nil {
		write := o.writeText
		if jsonOut {
			write = o.writeJSON
		}
		if err := write(s.Out); err != nil {
			return withCode(exitRunError, err)
		}
		if !jsonOut {
			fmt.Fprintf(s.Out, "results: %s (report: %s)\n", o.dir, filepath.Join(o.dir, report.HTMLFile))
		}
	} else if runErr != nil && !quiet && !errors.Is(runErr, loadbench.ErrUsage) {
		fmt.Fprintf(s.Err, "loadbench: %s: no complete %s; results so far in %s\n", op, unit, dir)
	}
	switch {
	case runErr == nil:
	case errors.Is(runErr, loadbench.ErrUsage):
		return runErr
	case errors.Is(runErr, context.Canceled):
		return withCode(exitRunError, fmt.Errorf("%s: interrupted; partial results written", op))
	default:
		return withCode(exitRunError, runErr)
	}
	if o == nil {
		return withCode(exitRunError, fmt.Errorf("%s: no result and no error", op))
	}
	return verdictExit(o.verdict)
}

// announce prints line on w when the compare starts, then passes every
// progress on to next (when set).
func announce(w io.Writer, line string, next func(loadbench.CompareProgress)) func(loadbench.CompareProgress) {
	var once sync.Once
	return func(p loadbench.CompareProgress) {
		if p.Phase == loadbench.PhaseStart {
			once.Do(func() { fmt.Fprintln(w, line) })
		}
		if next != nil {
			next(p)
		}
	}
}

// progressLine redraws one status line on a terminal.
type progressLine struct {
	mu sync.Mutex
	w  interface{ Write([]byte) (int, error) }
	n  int
}

func (p *progressLine) compare(pr loadbench.CompareProgress) {
	line := fmt.Sprintf("round %d/≤%d  %-9s  %-7s", pr.Round, pr.Rounds, pr.Build, pr.Phase)
	if pr.Phase == loadbench.PhaseLoad || pr.Phase == loadbench.PhaseWarmup {
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

// applyTransport sets each side's access from the plain flags and that
// side's --baseline-…/--candidate-… flags, and records them (header values
// redacted) in the manifest's flags.
func applyTransport(f *pflag.FlagSet, o *loadbench.CompareOptions, cf *compareFlags) error {
	for _, side := range []struct {
		flags *transportFlags
		dst   *loadbench.Side
	}{{&cf.trBase, &o.Baseline}, {&cf.trCand, &o.Candidate}} {
		eff := cf.tr.over(f, side.flags)
		if side.flags.changed(f) {
			eff.prefix = side.flags.prefix
		}
		tr, err := eff.parse("compare")
		if err != nil {
			return err
		}
		side.dst.Access = tr.access()
	}
	return nil
}

// compareGenerators checks o and starts the workers of --generators, each
// side's access from its transport flags.
func compareGenerators(ctx context.Context, s streams, f *pflag.FlagSet, o *loadbench.CompareOptions, cf *compareFlags, builtins bool) (generators, error) {
	if cf.generators == "" {
		return nil, cf.k8s.check("compare", f, "")
	}
	kind, n, err := parseGenerators("compare", cf.generators)
	if err != nil {
		return nil, err
	}
	if err := cf.k8s.check("compare", f, kind); err != nil {
		return nil, err
	}
	if kind == "k8s" && builtins {
		return nil, usageErr("compare: --generators k8s:N needs --baseline and --candidate URLs the worker pods can reach: the built-in targets run on this machine only")
	}
	if strings.Contains(cf.generators, ",netns=") && builtins {
		return nil, usageErr("compare: --generators local:N,netns= needs --baseline and --candidate URLs the workers' namespaces can reach: the built-in targets listen on loopback")
	}
	plan, err := o.Plan() // before any worker starts
	if err != nil {
		return nil, err
	}
	if err := shareable("compare", n, plan.Users, 0); err != nil {
		return nil, err
	}
	access := map[string]dist.Access{}
	for _, side := range []struct {
		name  string
		flags *transportFlags
	}{{results.Baseline, &cf.trBase}, {results.Candidate, &cf.trCand}} {
		eff := cf.tr.over(f, side.flags)
		if side.flags.changed(f) {
			eff.prefix = side.flags.prefix
		}
		if access[side.name], err = distAccess("compare", eff); err != nil {
			return nil, err
		}
	}
	return startGenerators(ctx, s, "compare", cf.generators, cf.k8s, access)
}
