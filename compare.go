package loadbench

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/loadbench/loadbench/internal/compare"
	"github.com/loadbench/loadbench/internal/dist"
	"github.com/loadbench/loadbench/internal/gate"
	"github.com/loadbench/loadbench/internal/load"
	"github.com/loadbench/loadbench/internal/report"
	"github.com/loadbench/loadbench/internal/usage"
	"github.com/loadbench/loadbench/results"
)

// Defaults of CompareOptions: the zero value of a field means its default.
const (
	DefaultMinRounds = 3 // rounds before the first look
	// DefaultMaxDuration bounds an automatic compare, all included: 58
	// rounds of 4 s. On a 2-core machine p99's round-to-round spread
	// (7–8%, gate.CalibrationRoundSD) is the limit: passing a candidate
	// +2.5% slower at every check with 80% power would take 122 rounds
	// (20 minutes, gate.PowerPlan), more than a gate can wait. 10 minutes
	// decides an A/A compare and fails +10% (in about 2 minutes), and a
	// compare stops at its first decided look (docs/validation.md).
	DefaultMaxDuration   = 10 * time.Minute
	DefaultRoundDuration = 4 * time.Second        // load per build per round
	DefaultWarmup        = 3 * time.Second        // unrecorded load per build first
	DefaultSettle        = 500 * time.Millisecond // pause before memory is read
	DefaultBudget        = 0.05                   // allowed slowdown: 5%
	DefaultAlpha         = 0.05                   // 1 − confidence of the decisions
	DefaultErrorBudget   = 0.001                  // allowed error-rate increase: 0.1 point
	DefaultMaxRetained   = 16.0                   // allowed heap growth over the baseline's, bytes per answered chat
	DefaultMetricsPath   = "/metrics"             // Prometheus route, scraped when served
	DefaultGCPath        = "/debug/gc"            // forced-GC route, used when served
	// DefaultMaxErrorRate is the target error rate of a segment above
	// which the compare is a run error (a broken deployment), not a
	// measurement; the builds' error rates are gated on their own.
	// It is high (90%) because a build's own failures are measured, not
	// a broken run: the legacy singleton misroutes a share of its chats
	// that grows with concurrency, and a compare with it as the baseline
	// must still complete and gate the candidate.
	DefaultMaxErrorRate = 0.9
)

// MaxSeed is the largest CompareOptions.Seed: every seed survives a JSON
// number in any reader.
const MaxSeed = 1<<53 - 1

// Reserves of an automatic compare's round plan: start-up and the memory
// readings of each segment (the reports' is compare.ReportReserve).
const (
	startReserve   = 2 * time.Second
	segmentReserve = 500 * time.Millisecond
)

// DefaultPercentiles are the latency percentiles gated by default: 50, 95
// and 99.
func DefaultPercentiles() []float64 { return gate.DefaultPercentiles() }

// CompareOptions shape a compare. The zero value is the default compare,
// the same as the loadbench command's: rounds of 4 s at 200 chats/s per
// protocol until decided. Zero values follow the rule of Options.
type CompareOptions struct {
	// Rounds of interleaved load (A B, B A, ...), at least 2; 0 adds
	// rounds until every check is decided, looking after each round from
	// MinRounds (0 means DefaultMinRounds) on, for at most MaxDuration
	// (0 means DefaultMaxDuration) in all.
	Rounds      int
	MinRounds   int
	MaxDuration time.Duration
	// RoundDuration is the load time of each build in each round; 0 means
	// DefaultRoundDuration.
	RoundDuration time.Duration
	// Warmup is unrecorded load on each build before the first round; 0
	// means DefaultWarmup. NoWarmup starts with round 1.
	Warmup   time.Duration
	NoWarmup bool
	// Settle is the pause after each segment before memory is read; 0
	// means DefaultSettle. NoSettle reads memory right away.
	Settle   time.Duration
	NoSettle bool

	// HTTPRate and WSRate are the arrival rates, by the rule of
	// Options.HTTPRate; a compare measures at fixed rates (no Max).
	HTTPRate, WSRate Rate
	// Users is the number of virtual users; 0 means DefaultUsers.
	Users int
	// Timeout bounds each chat; 0 means DefaultTimeout.
	Timeout time.Duration
	// HTTPPath and WSPath are the chat routes; empty means the defaults.
	HTTPPath, WSPath string
	// Arrivals, MaxInFlight, MaxSendLag, NoSendLagLimit, MaxEventGap and
	// NoEventGapLimit are the load engine's settings, as in Options.
	Arrivals        Arrivals
	MaxInFlight     int
	MaxSendLag      time.Duration
	NoSendLagLimit  bool
	MaxEventGap     time.Duration
	NoEventGapLimit bool
	// MaxErrorRate is the share of failed chats in a segment above which
	// the compare returns a run error; 0 means DefaultMaxErrorRate.
	MaxErrorRate float64

	// MetricsPath and GCPath are where each deployment serves Prometheus
	// metrics and a forced GC, each used when it answers; empty means
	// DefaultMetricsPath and DefaultGCPath. NoMetrics and NoGC never ask.
	MetricsPath, GCPath string
	NoMetrics, NoGC     bool

	// Budget is the allowed slowdown of the candidate at each percentile
	// (0.05 for 5%); 0 means DefaultBudget.
	Budget float64
	// Percentiles gated (50 for p50); nil means DefaultPercentiles.
	Percentiles []float64
	// Alpha is 1 − the confidence of the decisions; 0 means DefaultAlpha.
	Alpha float64
	// ErrorBudget is the allowed increase of the candidate's target error
	// rate over the baseline's (0.001 for 0.1 point); 0 means
	// DefaultErrorBudget.
	ErrorBudget float64
	// MaxRetained is how much the slope of the candidate's live heap may
	// exceed the baseline's in the same compare, in bytes per answered
	// chat; 0 means DefaultMaxRetained (16: half the +32 B/chat leak a
	// compare must catch; both builds grow 12–15 B/chat in the background,
	// which the difference cancels). NoMemoryGate
	// reports the memory without gating it (a deployment that serves no
	// heap metric).
	MaxRetained  float64
	NoMemoryGate bool

	// Seed is the compare's seed (at most MaxSeed): every round's user ids,
	// and so the arrival schedules and every draw a target keys by user,
	// and which build goes first in round 1 derive from it. 0 draws one
	// at random; Comparison.Summary.Seed and the plan record it, and the
	// same seed replays the compare's draws (latencies are the machine's).
	Seed uint64

	// Baseline and Candidate are how each deployment is reached, what it
	// is, and whether it is still up.
	Baseline, Candidate Side

	// Dir is the run directory: the segments, manifest.json,
	// summary.json and rounds.bench are written there (in a test,
	// t.TempDir()). Empty means a new temporary directory, returned as
	// Comparison.Dir, and removed again when Compare fails before a round
	// completes.
	Dir string
	// Reports also writes report.md, report.html, junit.xml and charts/
	// into Dir.
	Reports bool
	// Progress, when set, is called as the compare moves on.
	Progress func(CompareProgress)
	// CommandLine and Flags are recorded in the manifest for people: the
	// command that ran the compare and its flags, secrets redacted by the
	// caller. A library call leaves them empty.
	CommandLine []string
	Flags       map[string]string
	// Generators, when set, runs every segment on several generator
	// processes (see Options.Generators); the gate judges their merged
	// segments, and each shard's raw segment is kept beside the merged one
	// (baseline/round-01/shard-00/). nil runs the load in this process.
	Generators Generators
}

// Side is one deployment of a compare.
type Side struct {
	// Access is how the deployment is reached, for its chats and for its
	// metrics and forced GC.
	Access
	// Build names what is deployed, for the manifest and the report (a
	// built-in build "perrequest", a release "v1.4.2"); empty when it is
	// known only by its URL. Args are the extra settings it was started
	// with, for the record.
	Build string
	Args  []string
	// Alive, when set, is asked after every segment whether the
	// deployment still serves (a process started for the compare); an
	// error ends the compare as a run error.
	Alive func() error
}

// Phase is where a compare is within a segment.
type Phase int

// The phases, in the order a segment goes through them.
const (
	PhaseStart  Phase = iota + 1 // finding the deployments' memory routes
	PhaseWarmup                  // unrecorded load
	PhaseBefore                  // reading memory before the load
	PhaseLoad                    // recorded load
	PhaseSettle                  // the pause after the load
	PhaseAfter                   // reading memory after the load
)

var phaseNames = map[Phase]string{
	PhaseStart: compare.PhaseStart, PhaseWarmup: compare.PhaseWarmup, PhaseBefore: compare.PhaseBefore,
	PhaseLoad: compare.PhaseLoad, PhaseSettle: compare.PhaseSettle, PhaseAfter: compare.PhaseAfter,
}

// String is the phase's name: "start", "warmup", "before", "load",
// "settle", "after".
func (p Phase) String() string {
	if s, ok := phaseNames[p]; ok {
		return s
	}
	return fmt.Sprintf("Phase(%d)", int(p))
}

func phaseOf(name string) Phase {
	for p, s := range phaseNames {
		if s == name {
			return p
		}
	}
	return 0
}

// CompareProgress is where a running compare is.
type CompareProgress struct {
	// Round is the current round (0 before the first), of at most Rounds.
	Round, Rounds int
	// Build is "baseline" or "candidate"; empty at PhaseStart.
	Build string
	Phase Phase
	// Load is the attack's progress during PhaseWarmup and PhaseLoad.
	Load Progress
}

// Comparison is the outcome of Compare.
type Comparison struct {
	Verdict Verdict
	Reason  string // one line: why
	// Rounds is the number of complete rounds the verdict used; Partial is
	// set when the compare was cut short.
	Rounds  int
	Partial bool
	// Latency holds one row per protocol and percentile.
	Latency []LatencyComparison
	// Dir is the run directory.
	Dir string
	// Summary is the gate's full summary (memory, isolation, warnings), as
	// summary.json holds it.
	Summary *results.Summary
}

// LatencyComparison is the gate's verdict on one protocol and percentile.
type LatencyComparison struct {
	Protocol   Protocol
	Percentile float64 // 50 for p50
	// Baseline and Candidate are the builds' latencies at Percentile,
	// geometric means over the rounds: Candidate/Baseline is Ratio.
	Baseline, Candidate time.Duration
	// Ratio is candidate over baseline (1.1: 10% slower); Low and High
	// bound its confidence interval.
	Ratio, Low, High float64
	// P is the p-value of the paired difference between the builds.
	P       float64
	Verdict Verdict
}

// WriteText writes c's summary as the loadbench command prints it: the
// verdict line, then a table per check.
func (c *Comparison) WriteText(w io.Writer) error { return report.Text(c.Summary)(w) }

// WriteJSON writes c's summary as summary.json holds it, indented.
func (c *Comparison) WriteJSON(w io.Writer) error { return writeIndented(w, c.Summary) }

// writeIndented writes v as JSON indented as summary.json is.
func writeIndented(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// Compare runs the same load against the deployments at baselineURL and
// candidateURL in interleaved rounds and gates the candidate on latency
// (each percentile within the budget of the baseline), errors, memory
// released after load (read from the metrics route and forced by the GC
// route where the deployments serve them) and isolation. It writes the run
// directory and returns the Comparison.
//
// A run error (a deployment unreachable or no longer alive, too many
// failed chats, ctx cancelled) returns the error and, when at least one
// round completed, the partial Comparison. Invalid input returns an error
// wrapping ErrUsage (a *FieldError where one setting is at fault) and
// writes nothing.
func Compare(ctx context.Context, baselineURL, candidateURL string, o CompareOptions) (*Comparison, error) {
	cfg, err := o.engineConfig(baselineURL, candidateURL)
	if err != nil {
		return nil, err
	}
	temp := cfg.Dir == ""
	if temp {
		if cfg.Dir, err = os.MkdirTemp("", "loadbench-compare-"); err != nil {
			return nil, fmt.Errorf("compare: %w", err)
		}
	}
	res, err := compare.Run(ctx, cfg)
	if res == nil || res.Summary == nil {
		if temp {
			os.RemoveAll(cfg.Dir)
		}
		if err == nil {
			err = errors.New("compare: no complete round")
		}
		return nil, err
	}
	return newComparison(res), err
}

// engineConfig checks o and the URLs and makes the engine's configuration:
// every check of a compare's settings is here or, for what a single
// attack also takes, in the load engine.
func (o CompareOptions) engineConfig(baselineURL, candidateURL string) (compare.Config, error) {
	const op = "compare"
	plan, err := o.plan(op)
	if err != nil {
		return compare.Config{}, err
	}
	if plan.Seed == 0 {
		plan.Seed = drawSeed()
	}
	cfg := compare.Config{
		Plan: plan, Dir: o.Dir, Flags: o.Flags, Args: o.CommandLine,
		Progress: progressFunc(o.Progress), Render: renderFunc(o.Reports),
		Generators: o.Generators,
	}
	return cfg, engineSides(op, &cfg, baselineURL, candidateURL, o.Baseline, o.Candidate)
}

// renderFunc is the engine's Render: every report, or none.
func renderFunc(reports bool) func(string, *results.Run, *results.Summary) error {
	if !reports {
		return nil
	}
	return func(dir string, run *results.Run, sum *results.Summary) error {
		return report.Write(dir, run, sum, report.All...)
	}
}

// engineSides sets each side of cfg, whose plan is set: its URL, the
// engine's options of cfg.Plan and its access, its metrics client and
// liveness check.
func engineSides(op string, cfg *compare.Config, baselineURL, candidateURL string, baseline, candidate Side) error {
	plan := cfg.Plan
	for _, s := range []struct {
		name string
		url  string
		side Side
		dst  *compare.Side
	}{
		{results.Baseline, baselineURL, baseline, &cfg.Baseline},
		{results.Candidate, candidateURL, candidate, &cfg.Candidate},
	} {
		if s.url == "" {
			return usage.Errorf("%s: want both a baseline and a candidate url", op)
		}
		access, err := s.side.Access.options(op, s.name+" ")
		if err != nil {
			return err
		}
		// The engine checks the URL and every load setting as it builds the
		// side's attacker, whose client then reads the side's metrics.
		opts := append(loadOptions(plan), access...)
		a, err := load.NewAttacker(s.url, opts...)
		if err != nil {
			return reop(op, s.name, err)
		}
		*s.dst = compare.Side{URL: s.url, Load: opts, Alive: s.side.Alive, Client: a.HTTPClient(probeTimeout), Spec: loadSpec(plan)}
	}
	return nil
}

// loadSpec is loadOptions as the plain values a generator worker takes.
func loadSpec(p results.Plan) dist.Spec {
	return dist.Spec{
		HTTPRate: p.HTTPRate, WSRate: p.WSRate, Users: p.Users, Timeout: p.Timeout.D(),
		HTTPPath: p.HTTPPath, WSPath: p.WSPath, MaxInFlight: p.MaxInFlight,
		MaxSendLag: p.MaxSendLag.D(), MaxEventGap: p.MaxEventGap.D(), Arrivals: p.Arrivals,
	}
}

// loadOptions are the engine's options of every segment of plan p.
func loadOptions(p results.Plan) []load.Option {
	arrivals, _ := load.ParseArrivals(p.Arrivals) // a valid Arrivals' name
	return []load.Option{
		load.WithHTTPRate(p.HTTPRate), load.WithWSRate(p.WSRate),
		load.WithUsers(p.Users), load.WithTimeout(p.Timeout.D()),
		load.WithHTTPPath(p.HTTPPath), load.WithWSPath(p.WSPath),
		load.WithMaxInFlight(p.MaxInFlight), load.WithMaxSendLag(p.MaxSendLag.D()),
		load.WithMaxEventGap(p.MaxEventGap.D()), load.WithArrivals(arrivals),
	}
}

// reop makes an error of the engine's attacker one of the compare: the
// same field and problem, another operation; side names the deployment
// where the setting is not a field.
func reop(op, side string, err error) error {
	if fe, ok := errors.AsType[*FieldError](err); ok {
		return usage.Fieldf(op, fe.Field, "%s", fe.Problem)
	}
	return usage.Errorf("%s: %s: %s", op, side, strings.TrimPrefix(err.Error(), "attack: "))
}

// drawSeed draws a seed in [1, MaxSeed].
func drawSeed() uint64 { return 1 + rand.Uint64N(MaxSeed) }

// probeTimeout bounds one scrape of a metrics or GC route.
const probeTimeout = 30 * time.Second

// Plan is the typed plan a compare with o runs: o checked, its defaults
// filled in and the rounds planned, as manifest.json records it. It says
// up front how many rounds an automatic compare can take. A zero Seed stays
// zero here: Compare draws it.
func (o CompareOptions) Plan() (results.Plan, error) { return o.plan("compare") }

// plan checks o and returns it as the typed plan, defaults filled in.
func (o CompareOptions) plan(op string) (results.Plan, error) {
	p := results.Plan{
		Rounds: o.Rounds, MinRounds: cmp.Or(o.MinRounds, DefaultMinRounds),
		MaxDuration:   results.Duration(cmp.Or(o.MaxDuration, DefaultMaxDuration)),
		RoundDuration: results.Duration(cmp.Or(o.RoundDuration, DefaultRoundDuration)),
		Warmup:        results.Duration(cmp.Or(o.Warmup, DefaultWarmup)),
		Settle:        results.Duration(cmp.Or(o.Settle, DefaultSettle)),
		Users:         cmp.Or(o.Users, DefaultUsers),
		Timeout:       results.Duration(cmp.Or(o.Timeout, DefaultTimeout)),
		Arrivals:      o.Arrivals.String(),
		HTTPPath:      cmp.Or(o.HTTPPath, DefaultHTTPPath),
		WSPath:        cmp.Or(o.WSPath, DefaultWSPath),
		MaxInFlight:   cmp.Or(o.MaxInFlight, DefaultMaxInFlight),
		MetricsPath:   cmp.Or(o.MetricsPath, DefaultMetricsPath),
		GCPath:        cmp.Or(o.GCPath, DefaultGCPath),
		MaxErrorRate:  cmp.Or(o.MaxErrorRate, DefaultMaxErrorRate),
		Budget:        cmp.Or(o.Budget, DefaultBudget),
		Percentiles:   slices.Clone(o.Percentiles),
		Alpha:         cmp.Or(o.Alpha, DefaultAlpha),
		ErrorBudget:   cmp.Or(o.ErrorBudget, DefaultErrorBudget),
		MaxRetained:   cmp.Or(o.MaxRetained, DefaultMaxRetained),
		MemoryGate:    !o.NoMemoryGate,
		Seed:          o.Seed,
		Baseline:      o.Baseline.planSide(),
		Candidate:     o.Candidate.planSide(),
	}
	if p.Percentiles == nil {
		p.Percentiles = DefaultPercentiles()
	}
	if o.NoWarmup {
		p.Warmup = 0
	}
	if o.NoSettle {
		p.Settle = 0
	}
	if o.NoMetrics {
		p.MetricsPath = ""
	}
	if o.NoGC {
		p.GCPath = ""
	}
	var err error
	if p.HTTPRate, p.WSRate, err = rates(op, o.HTTPRate, o.WSRate); err != nil {
		return p, err
	}
	sendLag, err := limit(op, "max send lag", o.MaxSendLag, o.NoSendLagLimit, DefaultMaxSendLag)
	if err != nil {
		return p, err
	}
	eventGap, err := limit(op, "max event gap", o.MaxEventGap, o.NoEventGapLimit, DefaultMaxEventGap)
	if err != nil {
		return p, err
	}
	p.MaxSendLag, p.MaxEventGap = results.Duration(sendLag), results.Duration(eventGap)
	bad := func(field, format string, args ...any) (results.Plan, error) {
		return p, usage.Fieldf(op, field, format, args...)
	}
	switch {
	case p.HTTPRate == load.Max || p.WSRate == load.Max:
		return p, usage.Errorf("%s: rates must be fixed: a compare measures at fixed rates, not Max", op)
	case o.Rounds < 0 || o.Rounds == 1:
		return bad("rounds", "must be at least 2, got %d", o.Rounds)
	case p.MinRounds < 2:
		return bad("min rounds", "must be at least 2, got %d", p.MinRounds)
	case o.MaxDuration < 0:
		return bad("max duration", "must be positive, got %s", o.MaxDuration)
	case o.RoundDuration < 0:
		return bad("round duration", "must be positive, got %s", o.RoundDuration)
	case o.Warmup < 0:
		return bad("warmup", "must not be negative, got %s", o.Warmup)
	case o.Settle < 0:
		return bad("settle", "must not be negative, got %s", o.Settle)
	case o.Seed > MaxSeed:
		return bad("seed", "must be at most %d, got %d", uint64(MaxSeed), o.Seed)
	case !o.Arrivals.valid():
		return bad("arrivals", "must be Poisson or Constant, got %s", o.Arrivals)
	case !(p.MaxErrorRate > 0 && p.MaxErrorRate <= 1):
		return bad("max error rate", "must be between 0 and 1, got %v", o.MaxErrorRate)
	case !(p.Budget > 0 && p.Budget < 1):
		return bad("budget", "must be between 0 and 1 (0.05 for 5%%), got %v", o.Budget)
	case len(p.Percentiles) == 0:
		return bad("percentiles", "must name at least one percentile")
	case !(p.Alpha > 0 && p.Alpha < 1):
		return bad("alpha", "must be between 0 and 1, got %v", o.Alpha)
	case !(p.ErrorBudget > 0 && p.ErrorBudget < 1):
		return bad("error budget", "must be between 0 and 1 (0.001 for 0.1 point), got %v", o.ErrorBudget)
	case !(p.MaxRetained >= 0) || math.IsInf(p.MaxRetained, 0):
		return bad("max retained", "must not be negative, got %v", o.MaxRetained)
	}
	for i, pct := range p.Percentiles {
		if !(pct > 0 && pct <= 100) || slices.Contains(p.Percentiles[:i], pct) {
			return bad("percentiles", "must each be in (0, 100] and appear once, got %v", o.Percentiles)
		}
	}
	// The load settings are the engine's to check, as for an attack.
	if err := load.CheckOptions(loadOptions(p)...); err != nil {
		return p, reop(op, "load", err)
	}
	if p.Rounds == 0 {
		p.MaxRounds = maxRounds(p)
		if p.MaxRounds < p.MinRounds {
			return bad("max duration", "of %s leaves room for %d round(s) of %s, fewer than the %d of the first look",
				p.MaxDuration, p.MaxRounds, p.RoundDuration, p.MinRounds)
		}
	} else {
		p.MinRounds, p.MaxDuration = 0, 0
	}
	return p, nil
}

// maxRounds is the most rounds an automatic compare runs: what fits in
// MaxDuration after start-up, warm-up and the reports, each round costing
// both builds' load, settle time and memory readings. The plan is fixed
// before any data, so the sequential boundary does not depend on them.
func maxRounds(p results.Plan) int {
	left := p.MaxDuration.D() - startReserve - 2*p.Warmup.D() - compare.ReportReserve
	round := 2 * (p.RoundDuration.D() + p.Settle.D() + segmentReserve)
	if left <= 0 || round <= 0 {
		return 0
	}
	return int(left / round)
}

// progressFunc maps the engine's progress to f.
func progressFunc(f func(CompareProgress)) func(compare.Progress) {
	if f == nil {
		return nil
	}
	return func(p compare.Progress) {
		l := p.Load
		f(CompareProgress{
			Round: p.Round, Rounds: p.Rounds, Build: p.Build, Phase: phaseOf(p.Phase),
			Load: Progress{Elapsed: l.Elapsed, Total: l.Total, Sent: l.Sent, Done: l.Done,
				Errors: l.Errors, Violations: l.Violations, Rate: l.Rate},
		})
	}
}

func newComparison(res *compare.Result) *Comparison {
	s := res.Summary
	c := &Comparison{Verdict: verdictOf(s.Verdict), Reason: s.Reason, Rounds: s.Rounds, Partial: s.Partial, Dir: res.Dir, Summary: s}
	ms := func(v float64) time.Duration { return time.Duration(v * float64(time.Millisecond)) }
	for _, l := range s.Latency {
		p, _ := protocolOf(l.Protocol)
		c.Latency = append(c.Latency, LatencyComparison{
			Protocol: p, Percentile: l.Percentile,
			Baseline: ms(l.BaselineMs), Candidate: ms(l.CandidateMs),
			Ratio: l.Ratio, Low: l.CILow, High: l.CIHigh, P: l.PValue,
			Verdict: verdictOf(l.Verdict),
		})
	}
	return c
}
