package results

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/loadbench/loadbench/internal/flagval"
)

// Plan is everything the verdict of a compare depends on, typed: the
// rounds and their looks, the load, the generator's limits and the gate's
// thresholds. It is manifest.json's "plan", written before the first round;
// the gate, the reports, rounds.bench and `loadbench report` read it. The
// manifest's "flags" are the command line for people, never read back.
type Plan struct {
	// Rounds is a fixed number of rounds; 0 adds rounds until every check
	// is decided, looking after each round from MinRounds to MaxRounds.
	Rounds      int      `json:"rounds"`
	MinRounds   int      `json:"min_rounds,omitempty"`
	MaxRounds   int      `json:"max_rounds,omitempty"`
	MaxDuration Duration `json:"max_duration,omitempty"`
	// RoundDuration is each build's load per round; Warmup its unrecorded
	// load before round 1 (0: none); Settle the pause after each segment
	// before memory is read.
	RoundDuration Duration `json:"round_duration"`
	Warmup        Duration `json:"warmup"`
	Settle        Duration `json:"settle"`

	// HTTPRate and WSRate are arrival rates in chats per second; 0 is off.
	HTTPRate float64  `json:"http_rate"`
	WSRate   float64  `json:"ws_rate"`
	Users    int      `json:"users"`
	Timeout  Duration `json:"timeout"`
	Arrivals string   `json:"arrivals"` // "poisson" or "constant"
	HTTPPath string   `json:"http_path"`
	WSPath   string   `json:"ws_path"`
	// MaxInFlight, MaxSendLag and MaxEventGap are the generator's limits;
	// a zero MaxSendLag never reports saturation, a zero MaxEventGap does
	// not check the gaps.
	MaxInFlight int      `json:"max_in_flight"`
	MaxSendLag  Duration `json:"max_send_lag"`
	MaxEventGap Duration `json:"max_event_gap"`
	// MetricsPath and GCPath are the memory routes asked for; "" is never.
	MetricsPath string `json:"metrics_path"`
	GCPath      string `json:"gc_path"`
	// MaxErrorRate is the sanity limit of a segment's target error rate
	// above which the run is broken.
	MaxErrorRate float64 `json:"max_error_rate"`

	// Budget is the allowed slowdown (0.05 for 5%) at each of Percentiles;
	// Alpha is 1 − the confidence of the decisions.
	Budget      float64   `json:"budget"`
	Percentiles []float64 `json:"percentiles"`
	Alpha       float64   `json:"alpha"`
	// ErrorBudget is the allowed excess of the candidate's target error
	// rate over the baseline's (0.001 for 0.1 point).
	ErrorBudget float64 `json:"error_budget"`
	// MemoryGate says whether the candidate's memory is gated; MaxRetained
	// is its limit in bytes of live heap per chat answered.
	MemoryGate  bool    `json:"memory_gate"`
	MaxRetained float64 `json:"max_retained"`

	// Seed is the compare's seed: the user ids of every round, and so the
	// arrival schedules and every draw a target keys by user, and which
	// build goes first in round 1 derive from it. The same seed replays
	// them; latencies are the machine's. 0 in runs from before it existed.
	Seed uint64 `json:"seed"`

	// Baseline and Candidate say what was compared (the URLs are the
	// manifest's targets).
	Baseline  PlanSide `json:"baseline"`
	Candidate PlanSide `json:"candidate"`

	// Continued lists the continuations of the run, in order; each raised
	// MaxRounds by its AddedRounds. Empty for a run never continued.
	Continued []Continuation `json:"continued,omitempty"`

	// Unknown lists the fields (by their JSON names) that the run never
	// recorded: set only for a run written before the plan existed.
	Unknown []string `json:"unknown,omitempty"`
}

// PlanSide is what one side of a compare was.
type PlanSide struct {
	// Build is the built-in build that was started ("baseline",
	// "perrequest", "partial"); empty for a deployment known only by its
	// URL.
	Build string `json:"build,omitempty"`
	// Args are the extra serve flags of a built-in build.
	Args []string `json:"args,omitempty"`
	// Headers are the names of the headers sent to it, never their values:
	// a continued run must be given them again.
	Headers []string `json:"headers,omitempty"`
}

// Sequential reports whether the plan adds rounds until decided.
func (p Plan) Sequential() bool { return p.Rounds == 0 && p.MaxRounds > 0 }

// Known reports whether the run recorded the field named by its JSON name.
func (p Plan) Known(field string) bool { return !slices.Contains(p.Unknown, field) }

// Duration is a time.Duration that JSON holds as Go writes it: "4s",
// "500ms".
type Duration time.Duration

// D is d as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// String is d as Go writes a duration.
func (d Duration) String() string { return time.Duration(d).String() }

// MarshalText writes d as "4s".
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText reads a duration written as "4s".
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("parse duration %q: %w", b, err)
	}
	*d = Duration(v)
	return nil
}

// planFields are the JSON names of a Plan's fields that old runs' flags
// may hold; the rest are unknown for them.
var planFields = []string{
	"rounds", "min_rounds", "max_rounds", "max_duration", "round_duration", "warmup", "settle",
	"http_rate", "ws_rate", "users", "timeout", "arrivals", "http_path", "ws_path",
	"max_in_flight", "max_send_lag", "max_event_gap", "metrics_path", "gc_path", "max_error_rate",
	"budget", "percentiles", "alpha", "error_budget", "memory_gate", "max_retained",
	"seed", "baseline", "candidate",
}

// PlanFromFlags fills the plan of a compare run written before the plan
// existed from its manifest's flags. What the flags never recorded is in
// Unknown and left at its zero value, except the gate's thresholds, which
// take the defaults those runs were made with (5% at p50, p95 and p99,
// alpha 0.05, 0.1 point of errors, 64 B/chat) when absent.
func PlanFromFlags(flags map[string]string) (Plan, error) {
	p := Plan{Budget: 0.05, Percentiles: []float64{50, 95, 99}, Alpha: 0.05, ErrorBudget: 0.001, MaxRetained: 64, MemoryGate: true}
	known := map[string]bool{"memory_gate": true}
	var errs []string
	str := func(flag, field string, dst *string) {
		if v, ok := flags[flag]; ok {
			*dst, known[field] = v, true
		}
	}
	num := func(flag, field string, dst *float64) {
		if v, ok := flags[flag]; ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				errs = append(errs, fmt.Sprintf("%s %q is not a number", flag, v))
				return
			}
			*dst, known[field] = f, true
		}
	}
	integer := func(flag, field string, dst *int) {
		if v, ok := flags[flag]; ok {
			n, err := strconv.Atoi(v)
			if err != nil {
				errs = append(errs, fmt.Sprintf("%s %q is not a whole number", flag, v))
				return
			}
			*dst, known[field] = n, true
		}
	}
	dur := func(flag, field string, dst *Duration) {
		if v, ok := flags[flag]; ok {
			if err := dst.UnmarshalText([]byte(v)); err != nil {
				errs = append(errs, fmt.Sprintf("%s %q is not a duration", flag, v))
				return
			}
			known[field] = true
		}
	}
	budget := func(flag, field string, dst *float64) {
		if v, ok := flags[flag]; ok {
			b, err := flagval.ParseBudget(v)
			if err != nil {
				errs = append(errs, err.Error())
				return
			}
			*dst, known[field] = b, true
		}
	}
	if v, ok := flags["rounds"]; ok && v == "auto" {
		known["rounds"] = true
	} else {
		integer("rounds", "rounds", &p.Rounds)
	}
	integer("min-rounds", "min_rounds", &p.MinRounds)
	integer("max-rounds", "max_rounds", &p.MaxRounds)
	dur("max-duration", "max_duration", &p.MaxDuration)
	dur("round-duration", "round_duration", &p.RoundDuration)
	dur("warmup", "warmup", &p.Warmup)
	dur("settle", "settle", &p.Settle)
	num("http-rate", "http_rate", &p.HTTPRate)
	num("ws-rate", "ws_rate", &p.WSRate)
	integer("users", "users", &p.Users)
	dur("timeout", "timeout", &p.Timeout)
	str("arrivals", "arrivals", &p.Arrivals)
	str("http-path", "http_path", &p.HTTPPath)
	str("ws-path", "ws_path", &p.WSPath)
	integer("max-in-flight", "max_in_flight", &p.MaxInFlight)
	dur("max-send-lag", "max_send_lag", &p.MaxSendLag)
	dur("max-event-gap", "max_event_gap", &p.MaxEventGap)
	str("metrics-path", "metrics_path", &p.MetricsPath)
	str("gc-path", "gc_path", &p.GCPath)
	num("max-error-rate", "max_error_rate", &p.MaxErrorRate)
	budget("budget", "budget", &p.Budget)
	if v, ok := flags["percentiles"]; ok {
		ps, err := flagval.ParsePercentiles(v)
		if err != nil {
			errs = append(errs, err.Error())
		} else {
			p.Percentiles, known["percentiles"] = ps, true
		}
	}
	num("alpha", "alpha", &p.Alpha)
	budget("error-budget", "error_budget", &p.ErrorBudget)
	num("max-retained", "max_retained", &p.MaxRetained)
	for _, side := range []struct {
		name string
		dst  *PlanSide
	}{{Baseline, &p.Baseline}, {Candidate, &p.Candidate}} {
		str(side.name+"-impl", side.name, &side.dst.Build)
		if v := flags[side.name+"-args"]; v != "" {
			side.dst.Args = strings.Fields(v)
		}
	}
	for _, f := range planFields {
		if !known[f] {
			p.Unknown = append(p.Unknown, f)
		}
	}
	if len(errs) > 0 {
		return p, fmt.Errorf("read plan from flags: %s", strings.Join(errs, "; "))
	}
	return p, nil
}
