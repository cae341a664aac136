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
	"slices"
	"sync"
	"time"

	"github.com/loadbench/loadbench/internal/dist"
	"github.com/loadbench/loadbench/internal/gate"
	"github.com/loadbench/loadbench/internal/load"
	"github.com/loadbench/loadbench/internal/procid"
	"github.com/loadbench/loadbench/internal/usage"
	"github.com/loadbench/loadbench/results"
)

// Timings of the engine that no plan changes.
const (
	// DefaultFactorySettle is how long factories_live must stay unchanged
	// (polled every FactoryPoll, at most FactorySettleMax) before the
	// reading after a segment counts.
	DefaultFactorySettle = 300 * time.Millisecond
	FactoryPoll          = 100 * time.Millisecond
	FactorySettleMax     = 5 * time.Second
	// ReportReserve is the time an automatic compare keeps for its reports
	// at the end: it adds no round that would eat into it.
	ReportReserve = 10 * time.Second
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

// Config is one compare as the root package has checked it: the typed
// plan, how each side is reached, and where the results go. Nothing here
// is defaulted or validated again.
type Config struct {
	Plan                results.Plan
	Baseline, Candidate Side
	// Dir is the run directory; created.
	Dir string
	// Flags and Args are the command line for the manifest, secrets
	// already redacted; nil for a library call.
	Flags map[string]string
	Args  []string
	// Progress, when set, is called as the run moves on.
	Progress func(Progress)
	// Render, when set, renders reports into the run directory after the
	// summary is written (and for partial runs).
	Render func(dir string, run *results.Run, sum *results.Summary) error
	// Resume, when set, is the stored run in Dir that this compare
	// continues; Plan is its plan extended, the continuation last in
	// Plan.Continued, whose MaxDuration bounds this call. Its complete
	// rounds are kept, the segments of a round cut short are measured
	// again, and the rounds go on from the next number with the same seed
	// (UserPrefix and the order of the builds continue).
	Resume *results.Run
	// Generators, when set, runs every segment (warm-up included) on
	// several generator processes: the gate sees their merge, and each
	// shard's raw segment is stored beside it (generators.go).
	Generators Generators
}

// Side is how one deployment is reached.
type Side struct {
	URL string
	// Load holds the engine's options of every segment of this side: the
	// plan's load and the side's transport (load.WithHeader, ...).
	Load []load.Option
	// Client reads the side's metrics and forces its GC.
	Client *http.Client
	// Alive, when set, is asked after every segment; an error ends the
	// compare as a run error (a built-in target that died).
	Alive func() error
	// Spec is the plan's load as plain values, for Config.Generators
	// (Duration and UserPrefix are set per segment).
	Spec dist.Spec
}

// Progress is where a compare is.
type Progress struct {
	Round, Rounds int
	Build         string // results.Baseline or results.Candidate
	Phase         string
	Load          load.Progress // during PhaseLoad and PhaseWarmup
}

// UserPrefix is the user id prefix of a round of the compare with seed:
// "lb_<seed>_ra_" for round 1, "_rz_" for 26, "_rba_" for 27, and
// "lb_<seed>_w_" for the warm-up (round 0), where <seed> is the seed in 12
// letters. Every round has its own users, so a leak per user grows with the
// rounds; every compare has its own, so the arrival schedules (seeded by
// the prefix) and every draw a target keys by user differ between
// compares and repeat with the seed. Letters, not digits: the load engine
// reads the digits after the prefix as the user's number.
func UserPrefix(seed uint64, round int) string {
	tag := make([]byte, 12) // 26^12 > 2^53, the largest seed
	for i, n := len(tag)-1, seed; i >= 0; i, n = i-1, n/26 {
		tag[i] = byte('a' + n%26)
	}
	if round <= 0 {
		return "lb_" + string(tag) + "_w_"
	}
	var b []byte
	for n := round - 1; ; n = n/26 - 1 {
		b = append([]byte{byte('a' + n%26)}, b...)
		if n < 26 {
			break
		}
	}
	return "lb_" + string(tag) + "_r" + string(b) + "_"
}

// candidateFirst reports whether the candidate runs first in round: the
// seed draws round 1's order, and the rounds alternate from there (A B,
// B A, ...), so drift falls on both builds.
func candidateFirst(seed uint64, round int) bool { return (seed+uint64(round))%2 == 0 }

// target is one side of the compare.
type target struct {
	build string // results.Baseline or results.Candidate
	side  Side
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
// stops the load and still writes what was measured: the complete rounds,
// a partial summary, and the reports.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	if err := os.MkdirAll(cfg.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("compare: %w: %w", err, usage.ErrUsage)
	}
	c := &comparer{cfg: cfg, client: &http.Client{Timeout: 30 * time.Second}, start: time.Now()}
	c.manifest = results.NewManifest("compare", cfg.Args)
	if cfg.Flags != nil {
		c.manifest.Flags = maps.Clone(cfg.Flags)
	}
	if cfg.Resume != nil {
		if err := c.resume(cfg.Resume); err != nil {
			return nil, err
		}
	}
	plan := cfg.Plan
	c.manifest.Plan = &plan

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
	done     int // complete rounds of the resumed run; 0 for a new one
	// stopInFlags is set when the resumed run's flags said why it stopped.
	stopInFlags bool
	shards      []*results.Segment // of the last segment on Generators
}

// resume takes over the stored run r: its manifest (the caller sets the
// extended plan), its complete rounds, and the number of the next round.
// The segments of a round cut short are removed first, so that a reader
// never mixes a stale segment with the new ones: that round is measured
// again.
func (c *comparer) resume(r *results.Run) error {
	c.done = r.Rounds()
	c.manifest = r.Manifest
	c.manifest.Flags = maps.Clone(r.Manifest.Flags)
	_, c.stopInFlags = c.manifest.Flags["stopped"]
	delete(c.manifest.Flags, "stopped") // the stored run's, until this one stops
	c.manifest.Targets = map[string]string{}
	c.manifest.Stopped, c.manifest.Partial = "", false
	for _, s := range r.Segments {
		if s.Manifest.Round <= c.done {
			c.segments = append(c.segments, s)
		}
	}
	for _, build := range []string{results.Baseline, results.Candidate} {
		entries, err := os.ReadDir(filepath.Join(c.cfg.Dir, build))
		if err != nil {
			return fmt.Errorf("compare: resume: %w", err)
		}
		for _, e := range entries {
			var round int
			if _, err := fmt.Sscanf(e.Name(), "round-%d", &round); err != nil || round <= c.done {
				continue
			}
			if err := os.RemoveAll(filepath.Join(c.cfg.Dir, build, e.Name())); err != nil {
				return fmt.Errorf("compare: resume: %w", err)
			}
		}
	}
	return nil
}

// maxDuration bounds this call: the plan's MaxDuration, or for a resumed
// run its continuation's.
func (c *comparer) maxDuration() time.Duration {
	if p := c.cfg.Plan; c.cfg.Resume != nil && len(p.Continued) > 0 {
		return p.Continued[len(p.Continued)-1].MaxDuration.D()
	}
	return c.cfg.Plan.MaxDuration.D()
}

// rounds is the most rounds the plan runs.
func (c *comparer) rounds() int {
	if p := c.cfg.Plan; p.Sequential() {
		return p.MaxRounds
	}
	return c.cfg.Plan.Rounds
}

// stop records why the compare stopped adding rounds.
func (c *comparer) stop(why string) {
	c.manifest.Stopped = why
	if c.cfg.Flags != nil || c.stopInFlags { // a command's run: its flags say it too, as before the plan
		c.manifest.Flags["stopped"] = why
	}
}

func (c *comparer) progress(p Progress) {
	if c.cfg.Progress != nil {
		p.Rounds = c.rounds()
		c.cfg.Progress(p)
	}
}

func (c *comparer) run(ctx context.Context) error {
	c.progress(Progress{Phase: PhaseStart})
	c.discover(ctx)
	if err := results.WriteJSON(filepath.Join(c.cfg.Dir, results.ManifestFile), c.manifest); err != nil {
		return err
	}
	if w := c.cfg.Plan.Warmup.D(); w > 0 {
		for _, t := range c.targets {
			if _, err := c.attack(ctx, t, 0, w, PhaseWarmup); err != nil {
				return fmt.Errorf("compare: warm up %s: %w", t.build, err)
			}
		}
	}
	plan := c.cfg.Plan
	for round := c.done + 1; round <= c.rounds(); round++ {
		roundStart := time.Now()
		order := c.targets
		if candidateFirst(plan.Seed, round) {
			order = []*target{c.targets[1], c.targets[0]}
		}
		for i, t := range order {
			seg, err := c.segment(ctx, t, round, i+1)
			if err != nil {
				return err
			}
			c.segments = append(c.segments, seg)
		}
		if !plan.Sequential() || round < plan.MinRounds {
			continue
		}
		if c.decided() {
			c.stop(fmt.Sprintf("decided after round %d", round))
			return nil
		}
		// Stop early when the next round would not fit: fewer looks than
		// planned keep the error rates (the boundary was set for more).
		if round < c.rounds() && time.Since(c.start)+time.Since(roundStart)+ReportReserve > c.maxDuration() {
			c.stop(fmt.Sprintf("out of time after round %d", round))
			return nil
		}
	}
	return nil
}

// decided reports whether the rounds so far decide the compare: every check
// passed, or one failed.
func (c *comparer) decided() bool {
	run := &results.Run{Dir: c.cfg.Dir, Manifest: c.manifest, Segments: c.segments}
	sum := gate.Evaluate(run, gate.PlanConfig(c.cfg.Plan))
	return sum.Verdict == results.Pass || sum.Verdict == results.Fail
}

// discover finds out which memory routes each side serves.
func (c *comparer) discover(ctx context.Context) {
	for _, t := range []*target{{build: results.Baseline, side: c.cfg.Baseline}, {build: results.Candidate, side: c.cfg.Candidate}} {
		c.targets = append(c.targets, t)
		c.manifest.Targets[t.build] = t.side.URL
		client := t.side.Client
		if client == nil {
			client = c.client
		}
		pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		t.probe = discover(pctx, client, t.side.URL, c.cfg.Plan.MetricsPath, c.cfg.Plan.GCPath)
		cancel()
	}
}

// attack runs one load segment against t.
func (c *comparer) attack(ctx context.Context, t *target, round int, d time.Duration, phase string) (*results.Segment, error) {
	if c.cfg.Generators != nil {
		return c.attackOnGenerators(ctx, t, round, d, phase)
	}
	opts := append(slices.Clone(t.side.Load),
		load.WithDuration(d), load.WithUserPrefix(UserPrefix(c.cfg.Plan.Seed, round)),
		load.WithProgress(func(lp load.Progress) {
			c.progress(Progress{Round: round, Build: t.build, Phase: phase, Load: lp})
		}))
	a, err := load.NewAttacker(t.side.URL, opts...)
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
	if err := c.alive(); err != nil {
		return seg, fmt.Errorf("compare: %w: %w", err, ErrRun)
	}
	return seg, nil
}

// alive asks both sides whether they still serve.
func (c *comparer) alive() error {
	for _, t := range c.targets {
		if t.side.Alive == nil {
			continue
		}
		if err := t.side.Alive(); err != nil {
			return err
		}
	}
	return nil
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
	seg, err := c.attack(ctx, t, round, c.cfg.Plan.RoundDuration.D(), PhaseLoad)
	if err == nil {
		c.progress(Progress{Round: round, Build: t.build, Phase: PhaseSettle})
		s.setPhase(PhaseSettle)
		err = sleep(ctx, c.cfg.Plan.Settle.D())
	}
	stopSampling()
	wg.Wait()
	if err != nil {
		return nil, c.runErr(ctx, fmt.Errorf("compare: %s round %d: %w", t.build, round, err))
	}
	c.progress(Progress{Round: round, Build: t.build, Phase: PhaseAfter})
	after, err := c.settledMemory(ctx, t, before)
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
	if err := results.WriteSegment(results.SegmentDir(c.cfg.Dir, t.build, round), seg); err != nil {
		return nil, err
	}
	if err := c.writeShards(results.SegmentDir(c.cfg.Dir, t.build, round), seg); err != nil {
		return nil, err
	}
	// Only the target's errors are charged: the generator's own (no free
	// port, no descriptor, in-flight limit) are flagged in the segment
	// (Protocol.GeneratorErrorCount, NotSent, Saturated) and the reports.
	limit := c.cfg.Plan.MaxErrorRate
	for name, p := range seg.Protocols {
		if r := p.TargetErrorRate(); r > limit {
			return seg, fmt.Errorf("compare: %s round %d: %s target error rate %.2f%% over the %.2f%% sanity limit (%s): %w",
				t.build, round, name, 100*r, 100*limit, topError(p.Errors), ErrRun)
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
		snap.SharedHeap = g.Process == procid.Token()
	}
	r, err := t.probe.scrape(ctx)
	if err != nil {
		return snap, err
	}
	if !snap.Forced {
		snap.HeapLiveBytes, snap.FactoriesLive = r.HeapAlloc, r.FactoriesLive
	}
	snap.AgentInstancesRetained, snap.RSSBytes = r.AgentInstances, r.RSS
	snap.SharedHeap = snap.SharedHeap || r.Process == procid.Token()
	return snap, nil
}

// settledMemory reads t's memory after a segment once factories_live has
// stayed the same for DefaultFactorySettle, polling every FactoryPoll (a
// forced GC each time when the target offers one), for at most
// FactorySettleMax; the last reading counts. A first reading whose
// factories_live is back at before's (every chat's factory released, after
// the settle pause) counts at once: nothing is left to settle, and waiting
// would only add DefaultFactorySettle of idle time to every segment.
func (c *comparer) settledMemory(ctx context.Context, t *target, before results.Snapshot) (results.Snapshot, error) {
	snap, err := c.memory(ctx, t)
	if err != nil || snap.FactoriesLive < 0 || snap.FactoriesLive == before.FactoriesLive {
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
	res := &Result{Dir: c.cfg.Dir}
	c.manifest.End = time.Now().UTC()
	c.manifest.Partial = partial
	if len(c.targets) > 0 || partial {
		if err := results.WriteJSON(filepath.Join(c.cfg.Dir, results.ManifestFile), c.manifest); err != nil {
			return res, err
		}
	}
	run := &results.Run{Dir: c.cfg.Dir, Manifest: c.manifest, Segments: c.segments}
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
	sum := gate.Evaluate(run, gate.PlanConfig(c.cfg.Plan))
	results.AddAccounting(run, sum)
	sum.Partial = sum.Partial || partial
	run.Summary = sum
	res.Run, res.Summary = run, sum
	if err := results.WriteJSON(filepath.Join(c.cfg.Dir, results.SummaryFile), sum); err != nil {
		return res, err
	}
	var bench bytes.Buffer
	if err := gate.WriteBench(&bench, run); err != nil {
		return res, err
	}
	if err := results.WriteFileAtomic(filepath.Join(c.cfg.Dir, results.BenchFile), bench.Bytes()); err != nil {
		return res, err
	}
	if c.cfg.Render != nil {
		if err := c.cfg.Render(c.cfg.Dir, run, sum); err != nil {
			return res, fmt.Errorf("compare: render reports: %w", err)
		}
	}
	return res, nil
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
