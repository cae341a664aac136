package loadbench

import (
	"context"
	"crypto/tls"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/loadbench/loadbench/internal/compare"
	"github.com/loadbench/loadbench/internal/gate"
	"github.com/loadbench/loadbench/internal/load"
	"github.com/loadbench/loadbench/internal/usage"
	"github.com/loadbench/loadbench/results"
)

// Defaults of CompareOptions: the zero value of a field means its default.
const (
	// RoundsAuto (the zero value of CompareOptions.Rounds) adds paired
	// rounds until every check is decided or MaxDuration runs out.
	RoundsAuto           = 0
	DefaultMinRounds     = 3                      // rounds before the first look
	DefaultMaxDuration   = 150 * time.Second      // bound of an automatic compare
	DefaultRoundDuration = 4 * time.Second        // load per build per round
	DefaultWarmup        = 3 * time.Second        // unrecorded load per build first
	DefaultSettle        = 500 * time.Millisecond // pause before memory is read
	DefaultBudget        = 0.05                   // allowed slowdown: 5%
	DefaultAlpha         = 0.05                   // 1 − confidence of the intervals
	DefaultErrorBudget   = 0.001                  // allowed error-rate increase: 0.1 point
	DefaultMaxRetained   = 64.0                   // allowed heap growth, bytes per answered chat
	// DefaultMaxErrorRate is the target error rate of a segment above
	// which the compare is a run error (a broken deployment), not a
	// measurement; the builds' error rates are gated on their own.
	// It is high (90%) because a build's own failures are measured, not
	// a broken run: the legacy singleton misroutes a share of its chats
	// that grows with concurrency, and a compare with it as the baseline
	// must still complete and gate the candidate.
	DefaultMaxErrorRate = 0.9
)

// DefaultPercentiles are the latency percentiles gated by default: 50, 95
// and 99.
func DefaultPercentiles() []float64 { return gate.DefaultPercentiles() }

// CompareOptions shape a compare. The zero value is the default compare,
// the same as the loadbench command's: rounds of 4 s at 200 chats/s per
// protocol until decided.
type CompareOptions struct {
	// Rounds of interleaved load (A B, B A, ...), at least 2; 0 means
	// RoundsAuto.
	Rounds int
	// MinRounds is the first look of an automatic compare (0 means
	// DefaultMinRounds); MaxDuration bounds it (0 means
	// DefaultMaxDuration).
	MinRounds   int
	MaxDuration time.Duration
	// RoundDuration is the load time of each build in each round; 0 means
	// DefaultRoundDuration.
	RoundDuration time.Duration
	// Warmup is unrecorded load on each build before the first round; 0
	// means DefaultWarmup, negative means none.
	Warmup time.Duration
	// Settle is the pause after each segment before memory is read; 0
	// means DefaultSettle.
	Settle time.Duration
	// HTTPRate and WSRate are arrival rates in chats per second: 0 means
	// DefaultRate, Off disables the protocol. Compare measures at fixed
	// rates only (no Max).
	HTTPRate, WSRate float64
	// Users is the number of virtual users; 0 means DefaultUsers.
	Users int
	// Timeout bounds each chat; 0 means DefaultTimeout.
	Timeout time.Duration
	// MaxErrorRate is the share of failed chats in a segment above which
	// the compare returns an error; 0 means DefaultMaxErrorRate.
	MaxErrorRate float64
	// HTTPPath and WSPath are the chat routes; empty means the defaults.
	HTTPPath, WSPath string
	// Budget is the allowed slowdown of the candidate at each percentile
	// (0.05 for 5%); 0 means DefaultBudget.
	Budget float64
	// Percentiles gated (50 for p50); nil means DefaultPercentiles.
	Percentiles []float64
	// Alpha is 1 − the confidence of the gate's intervals; 0 means
	// DefaultAlpha.
	Alpha float64
	// ErrorBudget is the allowed increase of the candidate's target error
	// rate over the baseline's (0.001 for 0.1 point); 0 means
	// DefaultErrorBudget.
	ErrorBudget float64
	// MaxRetained is the allowed slope of the candidate's live heap, in
	// bytes per answered chat; 0 means DefaultMaxRetained.
	MaxRetained float64
	// Dir is the run directory the segments and summary.json are written
	// to; empty means a new temporary directory (Comparison.Dir).
	Dir string
	// Baseline and Candidate are how each deployment is reached (headers,
	// TLS, proxy), for its chats and for its /metrics and /debug/gc.
	Baseline, Candidate Access
}

// Access is how one deployment is reached. Header values are secrets:
// nothing loadbench writes holds them.
type Access struct {
	Header http.Header                      // sent on every request and handshake; nil: none
	TLS    *tls.Config                      // nil: the system roots
	Proxy  func(*url.URL) (*url.URL, error) // nil: the environment
}

func (a Access) options() []load.Option {
	var opts []load.Option
	if a.Header != nil {
		opts = append(opts, load.WithHeader(a.Header))
	}
	if a.TLS != nil {
		opts = append(opts, load.WithTLSConfig(a.TLS))
	}
	if a.Proxy != nil {
		opts = append(opts, load.WithProxy(a.Proxy))
	}
	return opts
}

// Comparison is the outcome of Compare.
type Comparison struct {
	Verdict Verdict
	Reason  string // one line: why
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
	// medians over the rounds.
	Baseline, Candidate time.Duration
	// Ratio is candidate over baseline (1.1: 10% slower); Low and High
	// bound its confidence interval (at 1 − CompareOptions.Alpha).
	Ratio, Low, High float64
	// P is the p-value of the paired difference between the builds.
	P       float64
	Verdict Verdict
}

// config maps o to the compare engine's configuration, validated so that
// no error of the engine names a CLI flag.
func (o CompareOptions) config(baselineURL, candidateURL string) (compare.Config, error) {
	const op = "compare"
	var c compare.Config
	if baselineURL == "" || candidateURL == "" {
		return c, usage.Errorf("%s: want both a baseline and a candidate url", op)
	}
	httpRate, err := rate(op, "http rate", o.HTTPRate)
	if err != nil {
		return c, err
	}
	wsRate, err := rate(op, "ws rate", o.WSRate)
	if err != nil {
		return c, err
	}
	switch {
	case httpRate == load.Max || wsRate == load.Max:
		return c, usage.Errorf("%s: rates must be fixed, not Max", op)
	case httpRate == 0 && wsRate == 0:
		return c, usage.Errorf("%s: both protocols are off: nothing to measure", op)
	case o.Rounds < 0 || o.Rounds == 1:
		return c, usage.Errorf("%s: rounds must be at least 2, got %d", op, o.Rounds)
	case o.MinRounds < 0 || o.MinRounds == 1:
		return c, usage.Errorf("%s: min rounds must be at least 2, got %d", op, o.MinRounds)
	case o.MaxDuration < 0:
		return c, usage.Errorf("%s: max duration must be positive, got %s", op, o.MaxDuration)
	case o.ErrorBudget < 0 || o.ErrorBudget >= 1:
		return c, usage.Errorf("%s: error budget must be between 0 and 1, got %v", op, o.ErrorBudget)
	case o.MaxRetained < 0:
		return c, usage.Errorf("%s: max retained must not be negative, got %v", op, o.MaxRetained)
	case o.RoundDuration < 0:
		return c, usage.Errorf("%s: round duration must be positive, got %s", op, o.RoundDuration)
	case o.Settle < 0:
		return c, usage.Errorf("%s: settle must not be negative, got %s", op, o.Settle)
	case o.Users < 0:
		return c, usage.Errorf("%s: users must be positive, got %d", op, o.Users)
	case o.Timeout < 0:
		return c, usage.Errorf("%s: timeout must be positive, got %s", op, o.Timeout)
	case o.MaxErrorRate < 0 || o.MaxErrorRate > 1:
		return c, usage.Errorf("%s: max error rate must be between 0 and 1, got %v", op, o.MaxErrorRate)
	}
	g := gate.DefaultConfig()
	if o.Budget != 0 {
		g.Budget = o.Budget
	}
	if o.Percentiles != nil {
		g.Percentiles = append([]float64(nil), o.Percentiles...)
	}
	if o.Alpha != 0 {
		g.Alpha = o.Alpha
	}
	if o.ErrorBudget != 0 {
		g.ErrorBudget = o.ErrorBudget
	}
	if o.MaxRetained != 0 {
		g.MaxRetainedBytesPerRequest = o.MaxRetained
	}
	if err := g.Validate(); err != nil {
		return c, usage.Errorf("%s: %v", op, err)
	}
	if len(g.Percentiles) == 0 {
		return c, usage.Errorf("%s: no percentile to gate", op)
	}
	for i, u := range []string{baselineURL, candidateURL} {
		side := []Access{o.Baseline, o.Candidate}[i]
		if _, err := (Options{HTTPRate: o.HTTPRate, WSRate: o.WSRate, Header: side.Header, TLS: side.TLS, Proxy: side.Proxy}).attacker(u); err != nil {
			return c, usage.Errorf("%s: %s", op, strings.TrimPrefix(err.Error(), "attack: "))
		}
	}
	c = compare.Config{
		BaselineURL: baselineURL, CandidateURL: candidateURL,
		Rounds: o.Rounds, MinRounds: o.MinRounds, MaxDuration: o.MaxDuration, RoundDuration: o.RoundDuration, Warmup: o.Warmup, Settle: o.Settle,
		HTTPRate: httpRate, WSRate: wsRate, Users: o.Users, Timeout: o.Timeout,
		MaxErrorRate: o.MaxErrorRate, HTTPPath: o.HTTPPath, WSPath: o.WSPath,
		Gate: g, Out: o.Dir,
		BaselineLoad: o.Baseline.options(), CandidateLoad: o.Candidate.options(),
	}
	return c, nil
}

// Compare runs the same load against the deployments at baselineURL and
// candidateURL in interleaved rounds and gates the candidate on latency
// (each percentile within the budget of the baseline), memory released
// after load (read from /metrics and forced by POST /debug/gc where the
// targets serve them) and isolation. It writes the run directory and
// returns the Comparison.
//
// A run error (a target unreachable or crashed, too many failed chats,
// ctx cancelled) returns the error and, when at least one round
// completed, the partial Comparison. Invalid input wraps ErrUsage.
func Compare(ctx context.Context, baselineURL, candidateURL string, o CompareOptions) (*Comparison, error) {
	cfg, err := o.config(baselineURL, candidateURL)
	if err != nil {
		return nil, err
	}
	if cfg.Out == "" {
		if cfg.Out, err = os.MkdirTemp("", "loadbench-compare-"); err != nil {
			return nil, fmt.Errorf("compare: %w", err)
		}
	}
	res, err := compare.Run(ctx, cfg)
	if res == nil || res.Summary == nil {
		return nil, err
	}
	return newComparison(res), err
}

func newComparison(res *compare.Result) *Comparison {
	s := res.Summary
	c := &Comparison{Verdict: verdictOf(s.Verdict), Reason: s.Reason, Dir: res.Dir, Summary: s}
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
