package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/loadbench/loadbench"
	"github.com/loadbench/loadbench/internal/dist"
	"github.com/loadbench/loadbench/results"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// attackFlags are the flags of `loadbench attack`.
type attackFlags struct {
	httpRate, wsRate string
	duration         time.Duration
	timeout          time.Duration
	users, workers   int
	maxRequests      int64
	maxErrorRate     float64
	httpPath, wsPath string
	prefix           string
	out              string
	json, quiet      bool
	engine           engineFlags
	transport        transportFlags // transportflags.go
	generators       string         // generators.go
	k8s              k8sGenFlags    // k8sgen.go
}

func newAttackCmd(s streams) *cobra.Command {
	var f attackFlags
	cmd := &cobra.Command{
		Use:   "attack BASE_URL",
		Short: "Open-model HTTP and WebSocket load against a target, every response checked",
		Long: `Attack sends chats to BASE_URL (http:// or https://) over HTTP (POST --http-path)
and WebSocket (--ws-path, ws:// or wss:// derived from BASE_URL) at the given
arrival rates, from --users virtual users, for --duration. Latency is measured
from each chat's intended send time. Every response and event is checked for
the five-event contract and for other users' data (isolation).

A rate of "max" is throughput mode: HTTP with --workers closed-loop workers,
WebSocket with every user sending its next chat when the last one is answered.

--header 'Name: value' (repeatable; ${VAR} read from the environment, never
written), --cacert, --cert/--key and --insecure reach authenticated and private-CA
deployments; HTTPS_PROXY/HTTP_PROXY/NO_PROXY are honoured by both protocols.

Results go to --out (default runs/attack-<UTC time>/). Exit codes: 0 clean;
1 isolation violations or an error rate over --max-error-rate; 2 bad usage;
3 target unreachable, run incomplete or interrupted (partial results written).`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runAttack(cmd.Context(), cmd, s, f, args)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.httpRate, "http-rate", "200", `HTTP chats per second; 0 disables HTTP, "max" is throughput mode`)
	fl.StringVar(&f.wsRate, "ws-rate", "200", `WebSocket chats per second (all users); 0 disables WebSocket, "max" is throughput mode`)
	fl.DurationVar(&f.duration, "duration", loadbench.DefaultDuration, "how long chats are sent")
	fl.IntVar(&f.users, "users", loadbench.DefaultUsers, "virtual users, shared by both protocols (one WebSocket connection each)")
	fl.IntVar(&f.workers, "workers", 0, fmt.Sprintf("HTTP workers in throughput mode (default %d×GOMAXPROCS)", loadbench.DefaultWorkersPerCPU))
	fl.DurationVar(&f.timeout, "timeout", loadbench.DefaultTimeout, "per-chat timeout, from the intended send time")
	fl.Int64Var(&f.maxRequests, "max-requests", 0, "stop after this many chats over all protocols (0 = no limit)")
	fl.Float64Var(&f.maxErrorRate, "max-error-rate", 0, "fail (exit 1) when the share of failed chats exceeds this (0..1)")
	fl.StringVar(&f.httpPath, "http-path", loadbench.DefaultHTTPPath, "path of the HTTP endpoint")
	fl.StringVar(&f.wsPath, "ws-path", loadbench.DefaultWSPath, "path of the WebSocket endpoint")
	fl.StringVar(&f.prefix, "user-prefix", loadbench.DefaultUserPrefix, "user id prefix (give each load machine its own)")
	fl.StringVar(&f.out, "out", "", "results directory (default runs/attack-<UTC time>)")
	fl.BoolVar(&f.json, "json", false, "print the summary as one JSON object")
	fl.BoolVar(&f.quiet, "quiet", false, "no progress line")
	f.engine.register(fl)
	f.transport.register(fl, "")
	fl.StringVar(&f.generators, "generators", "", "run the load on generators: `SPEC` local:N is N loadbench worker processes on this machine (local:N,netns=ADDR/BITS: each in a network namespace of its own, bridged at ADDR; root; results merged; each shard's raw results in --out/shard-NN); k8s:N is N worker pods of a Kubernetes Indexed Job (docs/distributed.md)")
	f.k8s.register(fl)
	return cmd
}

// parseAttackRate parses a --*-rate value: a non-negative number (0: off)
// or "max" (throughput mode).
func parseAttackRate(flag, v string) (loadbench.Rate, error) {
	if strings.EqualFold(v, "max") {
		return loadbench.Max(), nil
	}
	r, err := strconv.ParseFloat(v, 64)
	if err != nil || r < 0 || math.IsNaN(r) || math.IsInf(r, 0) {
		return loadbench.Rate{}, usageErr("attack: --%s must be a non-negative number or max, got %q", flag, v)
	}
	return flagRate(r), nil
}

func runAttack(ctx context.Context, cmd *cobra.Command, s streams, f attackFlags, args []string) error {
	if len(args) != 1 {
		return usageErr("attack: want one BASE_URL argument, got %d", len(args))
	}
	httpRate, err := parseAttackRate("http-rate", f.httpRate)
	if err != nil {
		return err
	}
	wsRate, err := parseAttackRate("ws-rate", f.wsRate)
	if err != nil {
		return err
	}
	// The library reads a zero as its default: a zero here is refused;
	// every other value it checks itself.
	switch {
	case f.duration == 0:
		return usageErr("attack: --duration must be positive, got 0s")
	case f.timeout == 0:
		return usageErr("attack: --timeout must be positive, got 0s")
	case f.maxErrorRate < 0 || f.maxErrorRate > 1 || math.IsNaN(f.maxErrorRate):
		return usageErr("attack: --max-error-rate must be between 0 and 1, got %v", f.maxErrorRate)
	case cmd.Flags().Changed("workers") && f.workers == 0:
		return usageErr("attack: --workers must be positive, got 0")
	}
	eng, err := f.engine.parse("attack")
	if err != nil {
		return err
	}
	out := f.out
	if out == "" {
		out = filepath.Join("runs", "attack-"+time.Now().UTC().Format("20060102T150405Z"))
	}
	tr, err := f.transport.parse("attack")
	if err != nil {
		return err
	}
	// The zero values of these Options fields are defaults; the flags'
	// zero or empty values are refused as the engine refuses them.
	switch {
	case f.users == 0:
		return usageErr("attack: users must be between 1 and 1000000, got %d", f.users)
	case f.httpPath == "":
		return usageErr("attack: http path must start with / and hold no spaces, ? or #, got %q", f.httpPath)
	case f.wsPath == "":
		return usageErr("attack: ws path must start with / and hold no spaces, ? or #, got %q", f.wsPath)
	case f.prefix == "":
		return usageErr("attack: user prefix %q must be non-empty, without digits, spaces or quotes", f.prefix)
	}
	opts := loadbench.Options{
		HTTPRate: httpRate, WSRate: wsRate, Duration: f.duration, Users: f.users, Timeout: f.timeout,
		MaxRequests: f.maxRequests, HTTPPath: f.httpPath, WSPath: f.wsPath, UserPrefix: f.prefix,
		Access: tr.access(),
	}
	eng.attack(&opts)
	if f.generators != "" || f.k8s.changed(cmd.Flags()) {
		g, err := attackGenerators(ctx, cmd.Flags(), s, f)
		if err != nil {
			return err
		}
		defer g.Close()
		opts.Generators = g
	} else if httpRate != loadbench.Off() {
		opts.VegetaFile = filepath.Join(out, results.VegetaFile)
	}
	if f.workers > 0 {
		opts.Workers = f.workers
	}
	live := !f.quiet && isTerminal(s.Out)
	if live {
		opts.Progress = func(p loadbench.Progress) { printAttackProgress(s.Out, p) }
	}
	res, aerr := loadbench.Attack(ctx, args[0], opts)
	if live {
		fmt.Fprint(s.Out, "\r\033[K")
	}
	if res == nil {
		if aerr == nil {
			aerr = errors.New("attack: no results")
		}
		return withCode(exitRunError, aerr) // run maps usage errors to exit 2
	}
	seg := res.Segment
	seg.Manifest.Args = append([]string{"attack"}, args...)
	cmd.Flags().VisitAll(func(fl *pflag.Flag) { seg.Manifest.Flags[fl.Name] = fl.Value.String() })
	for k, v := range f.transport.record(cmd.Flags()) {
		seg.Manifest.Flags[k] = v // header values redacted
	}
	if !cmd.Flags().Changed("header") {
		delete(seg.Manifest.Flags, "header")
	}
	if err := results.WriteSegment(out, seg); err != nil {
		return withCode(exitRunError, fmt.Errorf("attack: %w", err))
	}
	if err := writeShards(out, res.Shards); err != nil {
		return withCode(exitRunError, fmt.Errorf("attack: %w", err))
	}
	report := res.WriteText
	if f.json {
		report = res.WriteJSON
	}
	if err := report(s.Out); err != nil {
		return withCode(exitRunError, fmt.Errorf("attack: write summary: %w", err))
	}
	if !f.json {
		fmt.Fprint(s.Out, insecureNote(f.transport.insecure))
		fmt.Fprintf(s.Out, "\nResults in %s\n", out)
	}
	if aerr != nil {
		if errors.Is(aerr, context.Canceled) || errors.Is(aerr, context.DeadlineExceeded) {
			return withCode(exitRunError, fmt.Errorf("attack: interrupted; partial results in %s", out))
		}
		return withCode(exitRunError, fmt.Errorf("%w; partial results in %s", aerr, out))
	}
	if v := res.Isolation.Violations; v > 0 {
		return withCode(exitFail, fmt.Errorf("attack: %d isolation violations (another user's data in a response)", v))
	}
	// Only the target's errors count against it: chats the generator could
	// not send or failed itself are reported, not charged.
	var reached, errs int64
	for _, p := range res.Protocols {
		reached += p.Answered + p.TargetErrors
		errs += p.TargetErrors
	}
	if reached > 0 && float64(errs)/float64(reached) > f.maxErrorRate {
		return withCode(exitFail, fmt.Errorf("attack: target error rate %.2f%% (%d of %d chats) over --max-error-rate %.2f%%",
			100*float64(errs)/float64(reached), errs, reached, 100*f.maxErrorRate))
	}
	return nil
}

// printAttackProgress rewrites the progress line.
func printAttackProgress(w io.Writer, p loadbench.Progress) {
	fmt.Fprintf(w, "\r\033[K%s/%s  sent %d  done %d  %.0f/s  errors %d  violations %d",
		p.Elapsed.Truncate(100*time.Millisecond), p.Total, p.Sent, p.Done, p.Rate, p.Errors, p.Violations)
}

// attackGenerators starts the workers of --generators for an attack.
func attackGenerators(ctx context.Context, fl *pflag.FlagSet, s streams, f attackFlags) (generators, error) {
	if f.generators == "" {
		return nil, f.k8s.check("attack", fl, "")
	}
	kind, n, err := parseGenerators("attack", f.generators)
	if err != nil {
		return nil, err
	}
	if err := f.k8s.check("attack", fl, kind); err != nil {
		return nil, err
	}
	if err := shareable("attack", n, f.users, f.maxRequests); err != nil {
		return nil, err
	}
	acc, err := distAccess("attack", f.transport)
	if err != nil {
		return nil, err
	}
	return startGenerators(ctx, s, "attack", f.generators, f.k8s, map[string]dist.Access{"": acc})
}
