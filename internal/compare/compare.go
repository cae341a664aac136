package compare

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/loadbench/loadbench/internal/gate"
	"github.com/loadbench/loadbench/internal/load"
	"github.com/loadbench/loadbench/internal/usage"
	"github.com/loadbench/loadbench/results"
)

// Defaults of a compare; `make run` uses them all.
const (
	// RoundsAuto (Config.Rounds 0, the default) adds rounds until every
	// check is decided or MaxDuration runs out.
	RoundsAuto = 0
	// DefaultMinRounds is the first look of an automatic compare.
	DefaultMinRounds = 3
	// DefaultMaxDuration bounds an automatic compare, start-up, warm-up
	// and reports included: with the other defaults it plans 12 rounds, so
	// `make run` ends within 3 minutes.
	DefaultMaxDuration   = 150 * time.Second
	DefaultRoundDuration = 4 * time.Second
	DefaultWarmup        = 3 * time.Second
	DefaultSettle        = 500 * time.Millisecond
	// DefaultFactorySettle is how long factories_live must stay unchanged
	// (polled every FactoryPoll, at most FactorySettleMax) before the
	// reading after a segment counts.
	DefaultFactorySettle = 300 * time.Millisecond
	FactoryPoll          = 100 * time.Millisecond
	FactorySettleMax     = 5 * time.Second
	// Reserves of the round plan: start-up of the targets, the reports at
	// the end, and the memory readings of a segment.
	startReserve       = 2 * time.Second
	reportReserve      = 10 * time.Second
	segmentReserve     = 1 * time.Second
	DefaultRate        = 200.0 // chats per second, per protocol
	DefaultUsers       = 100
	DefaultMetricsPath = "/metrics"
	DefaultGCPath      = "/debug/gc"
	// DefaultMaxErrorRate is the target error rate of a segment above
	// which the run is broken (exit 3), not a measurement: a sanity limit
	// only; the gate compares the builds' error rates on their own.
	// It is high (90%) because a build's own failures are measured, not
	// a broken run: the legacy singleton misroutes a share of its chats
	// that grows with concurrency, and a compare with it as the baseline
	// must still complete and gate the candidate.
	DefaultMaxErrorRate = 0.9
	// DefaultSampleEvery is how often /metrics is sampled during a segment.
	DefaultSampleEvery = time.Second
)

// Phases of a segment, in Progress and in the /metrics samples.
const (
	PhaseStart  = "start"
	PhaseWarmup = "warmup"
	PhaseBefore = "before"
	PhaseLoad   = "load"
	PhaseSettle = "settle"
	PhaseAfter  = "after"
	PhaseReport = "report"
)

// Errors a caller maps to exit codes.
var (
	// ErrRun is wrapped by every error that makes the run itself fail: a
	// target unreachable or crashed, an error rate over the limit.
	ErrRun = errors.New("run error")
)

// Config configures a compare. The zero value of a field means its default.
type Config struct {
	// BaselineURL and CandidateURL name deployments to compare; both empty
	// starts the built-in targets as child processes of Executable.
	BaselineURL, CandidateURL string
	Executable                string   // loadbench executable for the child targets
	BaselineImpl              string   // build served by the built-in baseline; default "baseline"
	CandidateImpl             string   // and by the candidate; default "perrequest"
	BaselineArgs              []string // extra `serve` flags for the built-in baseline
	CandidateArgs             []string // and for the candidate

	// Rounds is the number of rounds, or RoundsAuto: add rounds until
	// decided, from MinRounds up to what fits in MaxDuration.
	Rounds        int
	MinRounds     int
	MaxDuration   time.Duration
	RoundDuration time.Duration
	Warmup        time.Duration // per build, before the first round; negative: none
	Settle        time.Duration
	HTTPRate      float64 // 0 disables HTTP
	WSRate        float64 // 0 disables WebSocket
	Users         int
	Timeout       time.Duration // per chat; 0: load.DefaultTimeout
	MaxErrorRate  float64       // negative: DefaultMaxErrorRate is not applied, any rate passes
	HTTPPath      string
	WSPath        string
	MetricsPath   string // "-" disables scraping
	GCPath        string // "-" disables forced GC
	Gate          gate.Config
	// Load holds extra load-engine options applied to every segment (the
	// generator's in-flight limit, send-lag and event-gap limits).
	Load []load.Option
	// BaselineLoad and CandidateLoad are transport options (load.WithHeader,
	// load.WithTLSConfig, load.WithProxy, load.WithWSSubprotocol, ...)
	// applied to every attacker of that side and to its metrics scrapes.
	BaselineLoad, CandidateLoad []load.Option
	// TransportFlags are the transport settings as the manifest records
	// them: secrets (header values) already redacted by the caller.
	TransportFlags map[string]string

	Out  string   // run directory; created
	Args []string // the command line, for the manifest

	// Progress, when set, is called as the run moves on.
	Progress func(Progress)
	// Render, when set, renders reports into the run directory after the
	// summary is written (and for partial runs).
	Render func(dir string, run *results.Run, sum *results.Summary) error
}

// Progress is where a compare is.
type Progress struct {
	Round, Rounds int
	Build         string // results.Baseline or results.Candidate
	Phase         string
	Load          load.Progress // during PhaseLoad and PhaseWarmup
}

func (c *Config) setDefaults() {
	if c.BaselineImpl == "" {
		c.BaselineImpl = "baseline"
	}
	if c.CandidateImpl == "" {
		c.CandidateImpl = "perrequest"
	}
	if c.MinRounds == 0 {
		c.MinRounds = DefaultMinRounds
	}
	if c.MaxDuration == 0 {
		c.MaxDuration = DefaultMaxDuration
	}
	if c.RoundDuration == 0 {
		c.RoundDuration = DefaultRoundDuration
	}
	if c.Warmup == 0 {
		c.Warmup = DefaultWarmup
	}
	if c.Settle == 0 {
		c.Settle = DefaultSettle
	}
	if c.Users == 0 {
		c.Users = DefaultUsers
	}
	if c.Timeout == 0 {
		c.Timeout = load.DefaultTimeout
	}
	if c.MaxErrorRate == 0 {
		c.MaxErrorRate = DefaultMaxErrorRate
	}
	if c.HTTPPath == "" {
		c.HTTPPath = load.DefaultHTTPPath
	}
	if c.WSPath == "" {
		c.WSPath = load.DefaultWSPath
	}
	if c.MetricsPath == "" {
		c.MetricsPath = DefaultMetricsPath
	}
	if c.GCPath == "" {
		c.GCPath = DefaultGCPath
	}
	if c.Gate.Budget == 0 && len(c.Gate.Percentiles) == 0 {
		c.Gate = gate.DefaultConfig()
	}
}

func (c *Config) validate() error {
	switch {
	case (c.BaselineURL == "") != (c.CandidateURL == ""):
		return usage.Errorf("compare: give both a baseline and a candidate url, or neither")
	case c.BaselineURL != "" && (len(c.BaselineArgs) > 0 || len(c.CandidateArgs) > 0):
		return usage.Errorf("compare: extra target arguments apply to the built-in targets only, not to given urls")
	case !validImpl(c.BaselineImpl) || !validImpl(c.CandidateImpl):
		return usage.Errorf("compare: the built-in builds must be baseline, perrequest or partial, got %q and %q", c.BaselineImpl, c.CandidateImpl)
	case c.Rounds != RoundsAuto && c.Rounds < 2:
		return usage.Errorf("compare: rounds must be at least 2, got %d", c.Rounds)
	case c.Rounds == RoundsAuto && c.MinRounds < 2:
		return usage.Errorf("compare: at least 2 rounds before the first look, got %d", c.MinRounds)
	case c.Rounds == RoundsAuto && c.PlanRounds() < c.MinRounds:
		return usage.Errorf("compare: a maximum duration of %s leaves room for %d round(s) of %s, fewer than the %d of the first look",
			c.MaxDuration, c.PlanRounds(), c.RoundDuration, c.MinRounds)
	case c.RoundDuration <= 0:
		return usage.Errorf("compare: round duration must be positive, got %s", c.RoundDuration)
	case c.Settle < 0:
		return usage.Errorf("compare: settle must not be negative, got %s", c.Settle)
	case c.HTTPRate < 0 || c.WSRate < 0:
		return usage.Errorf("compare: rates must not be negative")
	case c.HTTPRate == 0 && c.WSRate == 0:
		return usage.Errorf("compare: both rates are 0: nothing to measure")
	case c.Users <= 0:
		return usage.Errorf("compare: users must be positive, got %d", c.Users)
	case c.Out == "":
		return usage.Errorf("compare: no output directory")
	case c.BaselineURL == "" && c.Executable == "":
		return usage.Errorf("compare: no loadbench executable to start the built-in targets")
	}
	for i, u := range []string{c.BaselineURL, c.CandidateURL} {
		if u == "" {
			continue
		}
		opts := append([]load.Option{load.WithHTTPRate(c.HTTPRate), load.WithWSRate(c.WSRate)}, c.sideLoad(i == 1)...)
		if _, err := load.NewAttacker(u, opts...); err != nil {
			return fmt.Errorf("compare: %w", err) // wraps usage.ErrUsage
		}
	}
	return nil
}

// PlanRounds is the most rounds an automatic compare runs: what fits in
// MaxDuration after start-up, warm-up and the reports, each round costing
// both builds' load, settle time and memory readings. The plan is fixed
// before any data, so the sequential boundary does not depend on them.
func (c *Config) PlanRounds() int {
	warm := max(c.Warmup, 0)
	left := c.MaxDuration - startReserve - 2*warm - reportReserve
	round := 2 * (c.RoundDuration + max(c.Settle, 0) + segmentReserve)
	if left <= 0 || round <= 0 {
		return 0
	}
	return int(left / round)
}

// gateConfig is the gate's configuration with the sequential plan.
func (c *Config) gateConfig() gate.Config {
	g := c.Gate
	if c.Rounds == RoundsAuto {
		g.MinRounds, g.MaxRounds = c.MinRounds, c.PlanRounds()
	}
	return g
}

// UserPrefix is the user id prefix of a round: "lb_ra_" for round 1,
// "lb_rz_" for 26, "lb_rba_" for 27, and "lb_w_" for the warm-up (round 0).
// Every round has its own users, so a leak per user grows with the rounds.
// Letters, not digits: the load engine reads the digits after the prefix
// as the user's number.
func UserPrefix(round int) string {
	if round <= 0 {
		return "lb_w_"
	}
	var b []byte
	for n := round - 1; ; n = n/26 - 1 {
		b = append([]byte{byte('a' + n%26)}, b...)
		if n < 26 {
			break
		}
	}
	return "lb_r" + string(b) + "_"
}

// target is one side of the compare.
type target struct {
	build string // results.Baseline or results.Candidate
	url   string
	child *child // nil for a deployment given by URL
	probe *probe
}

// Result is what a compare produced. Run and Summary are set whenever at
// least one round completed, also when Run returns an error.
type Result struct {
	Dir     string
	Run     *results.Run
	Summary *results.Summary
}

// Run executes the compare described by cfg. On cancellation or error it
// stops the load, ends the child targets, and still writes what was
// measured: the complete rounds, a partial summary, and the reports.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	cfg.setDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.Out, 0o755); err != nil {
		return nil, fmt.Errorf("compare: %w: %w", err, usage.ErrUsage)
	}
	c := &comparer{cfg: cfg, client: &http.Client{Timeout: 30 * time.Second}, start: time.Now()}
	c.manifest = results.NewManifest("compare", cfg.Args)
	c.manifest.Flags = cfg.flags()
	defer c.stopChildren()

	runErr := c.run(ctx)
	res, finErr := c.finish(runErr != nil)
	if runErr != nil {
		return res, runErr
	}
	return res, finErr
}

type comparer struct {
	start    time.Time
	cfg      Config
	client   *http.Client
	manifest results.Manifest
	targets  []*target // baseline, candidate
	segments []*results.Segment
}

// sideLoad returns the transport options of the candidate (or baseline).
func (c *Config) sideLoad(candidate bool) []load.Option {
	if candidate {
		return c.CandidateLoad
	}
	return c.BaselineLoad
}

func (cfg *Config) flags() map[string]string {
	m := cfg.baseFlags()
	for k, v := range cfg.TransportFlags {
		m[k] = v
	}
	return m
}

func (cfg *Config) baseFlags() map[string]string {
	pct := make([]string, len(cfg.Gate.Percentiles))
	for i, p := range cfg.Gate.Percentiles {
		pct[i] = strconv.FormatFloat(p, 'f', -1, 64)
	}
	rounds := strconv.Itoa(cfg.Rounds)
	extra := map[string]string{}
	if cfg.Rounds == RoundsAuto {
		rounds = "auto"
		extra["min-rounds"] = strconv.Itoa(cfg.MinRounds)
		extra["max-rounds"] = strconv.Itoa(cfg.PlanRounds())
		extra["max-duration"] = cfg.MaxDuration.String()
	}
	f := map[string]string{
		"rounds":         rounds,
		"round-duration": cfg.RoundDuration.String(),
		"warmup":         cfg.Warmup.String(),
		"settle":         cfg.Settle.String(),
		"http-rate":      strconv.FormatFloat(cfg.HTTPRate, 'f', -1, 64),
		"ws-rate":        strconv.FormatFloat(cfg.WSRate, 'f', -1, 64),
		"users":          strconv.Itoa(cfg.Users),
		"budget":         strconv.FormatFloat(cfg.Gate.Budget*100, 'f', -1, 64) + "%",
		"alpha":          strconv.FormatFloat(cfg.Gate.Alpha, 'f', -1, 64),
		"percentiles":    strings.Join(pct, ","),
		"baseline-impl":  cfg.BaselineImpl,
		"candidate-impl": cfg.CandidateImpl,
		"baseline-args":  strings.Join(cfg.BaselineArgs, " "),
		"candidate-args": strings.Join(cfg.CandidateArgs, " "),
		"max-error-rate": strconv.FormatFloat(cfg.MaxErrorRate, 'f', -1, 64),
		"error-budget":   strconv.FormatFloat(cfg.Gate.ErrorBudget*100, 'f', -1, 64) + "%",
		"max-retained":   strconv.FormatFloat(cfg.Gate.MaxRetainedBytesPerRequest, 'f', -1, 64),
	}
	maps.Copy(f, extra)
	return f
}

func (c *comparer) progress(p Progress) {
	if c.cfg.Progress != nil {
		p.Rounds = c.cfg.Rounds
		if p.Rounds == RoundsAuto {
			p.Rounds = c.cfg.PlanRounds()
		}
		c.cfg.Progress(p)
	}
}

func (c *comparer) run(ctx context.Context) error {
	c.progress(Progress{Phase: PhaseStart})
	if err := c.startTargets(ctx); err != nil {
		return err
	}
	if err := results.WriteJSON(filepath.Join(c.cfg.Out, results.ManifestFile), c.manifest); err != nil {
		return err
	}
	if c.cfg.Warmup > 0 {
		for _, t := range c.targets {
			if _, err := c.attack(ctx, t, 0, c.cfg.Warmup, PhaseWarmup); err != nil {
				return fmt.Errorf("compare: warm up %s: %w", t.build, err)
			}
		}
	}
	rounds := c.cfg.Rounds
	if rounds == RoundsAuto {
		rounds = c.cfg.PlanRounds()
	}
	for round := 1; round <= rounds; round++ {
		roundStart := time.Now()
		order := c.targets
		if round%2 == 0 { // A B, B A, ...: drift falls on both builds
			order = []*target{c.targets[1], c.targets[0]}
		}
		for i, t := range order {
			seg, err := c.segment(ctx, t, round, i+1)
			if err != nil {
				return err
			}
			c.segments = append(c.segments, seg)
		}
		if c.cfg.Rounds != RoundsAuto || round < c.cfg.MinRounds {
			continue
		}
		if c.decided() {
			c.manifest.Flags["stopped"] = fmt.Sprintf("decided after round %d", round)
			return nil
		}
		// Stop early when the next round would not fit: fewer looks than
		// planned keep the error rates (the boundary was set for more).
		if time.Since(c.start)+time.Since(roundStart)+reportReserve > c.cfg.MaxDuration {
			c.manifest.Flags["stopped"] = fmt.Sprintf("out of time after round %d", round)
			return nil
		}
	}
	return nil
}

// decided reports whether the rounds so far decide the compare: every check
// passed, or one failed.
func (c *comparer) decided() bool {
	run := &results.Run{Dir: c.cfg.Out, Manifest: c.manifest, Segments: c.segments}
	sum := gate.Evaluate(run, c.cfg.gateConfig())
	return sum.Verdict == results.Pass || sum.Verdict == results.Fail
}

func (c *comparer) startTargets(ctx context.Context) error {
	builtin := c.cfg.BaselineURL == ""
	specs := []struct {
		build, url, impl string
		extra            []string
	}{
		{results.Baseline, c.cfg.BaselineURL, c.cfg.BaselineImpl, c.cfg.BaselineArgs},
		{results.Candidate, c.cfg.CandidateURL, c.cfg.CandidateImpl, c.cfg.CandidateArgs},
	}
	for _, s := range specs {
		t := &target{build: s.build, url: s.url}
		if builtin {
			ch, err := startChild(ctx, s.build, c.cfg.Executable, s.impl, s.extra, filepath.Join(c.cfg.Out, s.build+".log"))
			if err != nil {
				if errors.Is(err, ErrChildUsage) {
					return fmt.Errorf("compare: %w: %w", err, usage.ErrUsage)
				}
				return fmt.Errorf("compare: %w: %w", err, ErrRun)
			}
			t.child, t.url = ch, ch.url
		}
		c.targets = append(c.targets, t)
		c.manifest.Targets[s.build] = t.url
	}
	for _, t := range c.targets {
		metricsPath, gcPath := c.cfg.MetricsPath, c.cfg.GCPath
		if metricsPath == "-" {
			metricsPath = ""
		}
		if gcPath == "-" {
			gcPath = ""
		}
		client := c.client
		if side := c.cfg.sideLoad(t.build == results.Candidate); len(side) > 0 {
			if a, err := load.NewAttacker(t.url, side...); err == nil {
				client = a.HTTPClient(c.client.Timeout)
			}
		}
		pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		t.probe = discover(pctx, client, t.url, metricsPath, gcPath)
		cancel()
	}
	return nil
}

// attack runs one load segment against t.
func (c *comparer) attack(ctx context.Context, t *target, round int, d time.Duration, phase string) (*results.Segment, error) {
	opts := []load.Option{
		load.WithHTTPRate(c.cfg.HTTPRate), load.WithWSRate(c.cfg.WSRate),
		load.WithDuration(d), load.WithUsers(c.cfg.Users), load.WithTimeout(c.cfg.Timeout),
		load.WithUserPrefix(UserPrefix(round)),
		load.WithHTTPPath(c.cfg.HTTPPath), load.WithWSPath(c.cfg.WSPath),
		load.WithProgress(func(p load.Progress) {
			c.progress(Progress{Round: round, Build: t.build, Phase: phase, Load: p})
		}),
	}
	opts = append(opts, c.cfg.Load...)
	opts = append(opts, c.cfg.sideLoad(t.build == results.Candidate)...)
	a, err := load.NewAttacker(t.url, opts...)
	if err != nil {
		return nil, err // wraps usage.ErrUsage
	}
	seg, err := a.Attack(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return seg, err
		}
		return seg, fmt.Errorf("%w: %w", err, ErrRun)
	}
	if dead, derr := c.childExited(); dead {
		return seg, fmt.Errorf("compare: %w: %w", derr, ErrRun)
	}
	return seg, nil
}

func (c *comparer) childExited() (bool, error) {
	for _, t := range c.targets {
		if t.child == nil {
			continue
		}
		if dead, err := t.child.exited(); dead {
			return true, err
		}
	}
	return false, nil
}

// segment measures one build in one round and stores it.
func (c *comparer) segment(ctx context.Context, t *target, round, order int) (*results.Segment, error) {
	c.progress(Progress{Round: round, Build: t.build, Phase: PhaseBefore})
	before, err := c.memory(ctx, t)
	if err != nil {
		return nil, c.runErr(ctx, fmt.Errorf("compare: %s round %d: %w", t.build, round, err))
	}
	s := newSampler(t.probe, PhaseLoad)
	sctx, stopSampling := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); s.run(sctx, DefaultSampleEvery) }()
	seg, err := c.attack(ctx, t, round, c.cfg.RoundDuration, PhaseLoad)
	if err == nil {
		c.progress(Progress{Round: round, Build: t.build, Phase: PhaseSettle})
		s.setPhase(PhaseSettle)
		err = sleep(ctx, c.cfg.Settle)
	}
	stopSampling()
	wg.Wait()
	if err != nil {
		return nil, c.runErr(ctx, fmt.Errorf("compare: %s round %d: %w", t.build, round, err))
	}
	c.progress(Progress{Round: round, Build: t.build, Phase: PhaseAfter})
	after, err := c.settledMemory(ctx, t)
	if err != nil {
		return nil, c.runErr(ctx, fmt.Errorf("compare: %s round %d: %w", t.build, round, err))
	}
	var requests int64
	for _, p := range seg.Protocols {
		requests += p.Success
	}
	seg.Manifest.Kind = "segment"
	seg.Manifest.Build, seg.Manifest.Round, seg.Manifest.Order = t.build, round, order
	seg.Manifest.Flags = c.manifest.Flags
	seg.Manifest.Args = c.manifest.Args
	seg.Memory = &results.Memory{Before: before, After: after, Requests: requests}
	seg.Samples = append(append([]results.Sample{gcSample(before, PhaseBefore)}, s.samples()...), gcSample(after, PhaseAfter))
	if err := results.WriteSegment(results.SegmentDir(c.cfg.Out, t.build, round), seg); err != nil {
		return nil, err
	}
	// Only the target's errors are charged: the generator's own (no free
	// port, no descriptor, in-flight limit) are flagged in the segment
	// (Protocol.GeneratorErrorCount, NotSent, Saturated) and the reports.
	if limit := c.cfg.MaxErrorRate; limit >= 0 {
		for name, p := range seg.Protocols {
			if r := p.TargetErrorRate(); r > limit {
				return seg, fmt.Errorf("compare: %s round %d: %s target error rate %.2f%% over the %.2f%% sanity limit (%s): %w",
					t.build, round, name, 100*r, 100*limit, topError(p.Errors), ErrRun)
			}
		}
	}
	return seg, nil
}

func (c *comparer) runErr(ctx context.Context, err error) error {
	if ctx.Err() != nil || errors.Is(err, ErrRun) || errors.Is(err, usage.ErrUsage) {
		return err
	}
	return fmt.Errorf("%w: %w", err, ErrRun)
}

func topError(errs map[string]int64) string {
	best, n := "", int64(-1)
	for k, v := range errs {
		if results.IsGeneratorError(k) {
			continue
		}
		if v > n || (v == n && k < best) {
			best, n = k, v
		}
	}
	return fmt.Sprintf("most common: %q ×%d", best, n)
}

// memory reads t's memory: after a forced GC when the target offers one,
// otherwise from /metrics as it stands (after the settle time).
func (c *comparer) memory(ctx context.Context, t *target) (results.Snapshot, error) {
	snap := results.Snapshot{Time: time.Now().UTC(), HeapLiveBytes: -1, FactoriesLive: -1, AgentInstancesRetained: -1, RSSBytes: -1}
	if t.probe.gc != "" {
		g, err := t.probe.forceGC(ctx)
		if err != nil {
			return snap, err
		}
		snap.Forced = true
		snap.HeapLiveBytes, snap.FactoriesLive = g.HeapLiveBytes, g.FactoriesLive
	}
	r, err := t.probe.scrape(ctx)
	if err != nil {
		return snap, err
	}
	if !snap.Forced {
		snap.HeapLiveBytes, snap.FactoriesLive = r.HeapAlloc, r.FactoriesLive
	}
	snap.AgentInstancesRetained, snap.RSSBytes = r.AgentInstances, r.RSS
	return snap, nil
}

// settledMemory reads t's memory after a segment once factories_live has
// stayed the same for DefaultFactorySettle, polling every FactoryPoll (a
// forced GC each time when the target offers one), for at most
// FactorySettleMax; the last reading counts.
func (c *comparer) settledMemory(ctx context.Context, t *target) (results.Snapshot, error) {
	snap, err := c.memory(ctx, t)
	if err != nil || snap.FactoriesLive < 0 {
		return snap, err
	}
	deadline := time.Now().Add(FactorySettleMax)
	stableSince := time.Now()
	for time.Since(stableSince) < DefaultFactorySettle && time.Now().Before(deadline) {
		if err := sleep(ctx, FactoryPoll); err != nil {
			return snap, err
		}
		next, err := c.memory(ctx, t)
		if err != nil {
			return snap, err
		}
		if next.FactoriesLive != snap.FactoriesLive {
			stableSince = time.Now()
		}
		snap = next
	}
	return snap, nil
}

// finish writes the summary, rounds.bench and reports from the segments
// measured so far, and the final manifest.
func (c *comparer) finish(partial bool) (*Result, error) {
	res := &Result{Dir: c.cfg.Out}
	c.manifest.End = time.Now().UTC()
	c.manifest.Partial = partial
	if len(c.targets) > 0 || partial {
		if err := results.WriteJSON(filepath.Join(c.cfg.Out, results.ManifestFile), c.manifest); err != nil {
			return res, err
		}
	}
	run := &results.Run{Dir: c.cfg.Out, Manifest: c.manifest, Segments: c.segments}
	if run.Rounds() == 0 {
		return res, nil
	}
	// Only complete rounds count.
	var complete []*results.Segment
	for _, s := range c.segments {
		if s.Manifest.Round <= run.Rounds() {
			complete = append(complete, s)
		}
	}
	run.Segments = complete
	sum := gate.Evaluate(run, c.cfg.gateConfig())
	results.AddAccounting(run, sum)
	sum.Partial = sum.Partial || partial
	run.Summary = sum
	res.Run, res.Summary = run, sum
	if err := results.WriteJSON(filepath.Join(c.cfg.Out, results.SummaryFile), sum); err != nil {
		return res, err
	}
	var bench bytes.Buffer
	if err := gate.WriteBench(&bench, run); err != nil {
		return res, err
	}
	if err := results.WriteFileAtomic(filepath.Join(c.cfg.Out, results.BenchFile), bench.Bytes()); err != nil {
		return res, err
	}
	if c.cfg.Render != nil {
		if err := c.cfg.Render(c.cfg.Out, run, sum); err != nil {
			return res, fmt.Errorf("compare: render reports: %w", err)
		}
	}
	return res, nil
}

func (c *comparer) stopChildren() {
	var wg sync.WaitGroup
	for _, t := range c.targets {
		if t.child != nil {
			wg.Add(1)
			go func() { defer wg.Done(); t.child.stop() }()
		}
	}
	wg.Wait()
}

// sleep waits d or until ctx is done.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// gcSample is a memory snapshot as a timeline sample; GC marks a reading
// taken right after a forced collection.
func gcSample(m results.Snapshot, phase string) results.Sample {
	return results.Sample{
		Time: m.Time, Phase: phase, GC: m.Forced,
		HeapLiveBytes: m.HeapLiveBytes, HeapInuseBytes: -1, RSSBytes: m.RSSBytes,
		FactoriesLive: m.FactoriesLive, AgentInstancesRetained: m.AgentInstancesRetained,
	}
}

func validImpl(impl string) bool {
	return impl == "baseline" || impl == "perrequest" || impl == "partial"
}
