package results

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Summary is summary.json: the verdicts of a compare. The gate is on the
// candidate; the baseline's numbers are the "before".
type Summary struct {
	Verdict   Verdict                     `json:"verdict"` // Pass, Fail, Inconclusive
	Reason    string                      `json:"reason"`  // one line: why
	Budget    float64                     `json:"budget"`  // 0.05 for 5%
	Alpha     float64                     `json:"alpha"`
	Rounds    int                         `json:"rounds"`
	Seed      uint64                      `json:"seed,omitempty"` // the plan's: replays the compare's draws
	Partial   bool                        `json:"partial,omitempty"`
	Latency   []LatencyVerdict            `json:"latency"`
	Memory    map[string]MemoryVerdict    `json:"memory"`    // Baseline, Candidate
	Isolation map[string]IsolationVerdict `json:"isolation"` // Baseline, Candidate
	Requests  map[string]int64            `json:"requests"`  // Baseline, Candidate
	Warnings  []string                    `json:"warnings,omitempty"`
	// Load is the load accounting of each build and protocol (build →
	// protocol): target and generator errors, chats not sent, in-flight
	// chats, send lag and saturation, timing violations.
	Load map[string]map[string]Accounting `json:"load,omitempty"`
	// Errors is the candidate's target error rate against the baseline's,
	// pooled over protocols and rounds; nil when nothing was sent. Since
	// ErrorsByProtocol exists its Verdict is theirs combined (fail if any
	// protocol fails, pass if all pass); runs summarized before it hold the
	// pooled rule's verdict.
	Errors *ErrorVerdict `json:"errors,omitempty"`
	// ErrorsByProtocol is the error rule per protocol (http, ws): a
	// regression on one protocol is judged on that protocol's chats alone.
	// Absent in summaries written before it.
	ErrorsByProtocol map[string]*ErrorVerdict `json:"errors_by_protocol,omitempty"`
	// MemoryComparison is the candidate's heap slope against the
	// baseline's in the same compare, the figure the memory rule judges.
	// Absent in summaries written before it.
	MemoryComparison *MemoryComparison `json:"memory_comparison,omitempty"`
	// Sequential describes the looks of a compare that stops when decided.
	Sequential *Sequential `json:"sequential,omitempty"`
	// Power says what the plan can show, in one line: "to pass a
	// candidate up to +2.5% at 80% power: about 28 rounds (the noisiest
	// check: http p99); this plan's 28 rounds: 81% (from the rounds' own
	// noise)". Absent in summaries written before it.
	Power string `json:"power,omitempty"`
	// Saturated names the segments where the load generator could not keep
	// its schedule ("baseline round 3 http"); any makes the verdict
	// inconclusive unless isolation failed.
	Saturated []string `json:"saturated,omitempty"`
	// DisturbedRounds lists the rounds (from 1) left out of the latency
	// checks because the generator's send lag p99 in one of their
	// segments was over DisturbedLagMs: the machine delayed the sending,
	// and latency is measured from the intended send time.
	DisturbedRounds []int   `json:"disturbed_rounds,omitempty"`
	DisturbedLagMs  float64 `json:"disturbed_lag_ms,omitempty"`
}

// ErrorVerdict compares the builds' target error rates (generator errors
// never count): Diff = CandidateRate − BaselineRate and its confidence
// interval, against Budget (0.001 for 0.1 percentage point).
type ErrorVerdict struct {
	BaselineErrors  int64   `json:"baseline_errors"`
	BaselineChats   int64   `json:"baseline_chats"` // answered + target errors
	CandidateErrors int64   `json:"candidate_errors"`
	CandidateChats  int64   `json:"candidate_chats"`
	BaselineRate    float64 `json:"baseline_rate"`
	CandidateRate   float64 `json:"candidate_rate"`
	Diff            float64 `json:"diff"`
	DiffLow         float64 `json:"diff_low"`
	DiffHigh        float64 `json:"diff_high"`
	Budget          float64 `json:"budget"`
	Verdict         Verdict `json:"verdict"`
	Note            string  `json:"note,omitempty"`
	// Protocol is the protocol of a per-protocol verdict, "" when pooled.
	Protocol string `json:"protocol,omitempty"`
	// Rounds is the number of rounds the interval clusters the chats by;
	// BaselineDesignEffect and CandidateDesignEffect are each build's
	// design effect (the variance of its error rate over the rounds'
	// clusters relative to independent chats, at least 1). 0 in summaries
	// written before them.
	Rounds                int     `json:"rounds,omitempty"`
	BaselineDesignEffect  float64 `json:"baseline_design_effect,omitempty"`
	CandidateDesignEffect float64 `json:"candidate_design_effect,omitempty"`
}

// MemoryComparison is the memory rule's figure: the candidate's live-heap
// slope minus the baseline's, both measured at the round boundaries of the
// same compare, in bytes per chat answered, with its interval at the
// look's level (CriticalZ, one-sided), against Limit.
type MemoryComparison struct {
	BaselineBytesPerChat  float64 `json:"baseline_bytes_per_chat"`
	CandidateBytesPerChat float64 `json:"candidate_bytes_per_chat"`
	DiffBytesPerChat      float64 `json:"diff_bytes_per_chat"`
	DiffLow               float64 `json:"diff_low"`
	DiffHigh              float64 `json:"diff_high"`
	Limit                 float64 `json:"limit"`
	// Information is the information on the slope difference at this look
	// over the planned (a sequential compare's, over 1 beyond its plan; 0
	// for a fixed one).
	Information float64 `json:"information,omitempty"`
	CriticalZ   float64 `json:"critical_z"`
	Verdict     Verdict `json:"verdict"`
	Note        string  `json:"note,omitempty"`
}

// Sequential is the design of a compare that adds rounds until decided:
// a look after every round from MinRounds to MaxRounds. LookConfidence is
// the two-sided level of a symmetric interval at this look (the
// error-spending boundary's nominal level, CriticalZ one-sided): the
// error-rate intervals' and the latency intervals' pass side; each
// latency verdict carries its own interval's level (LatencyVerdict.
// Confidence). Stopping at the first decided look keeps each error rate
// at most (1 − Confidence)/2.
type Sequential struct {
	MinRounds      int     `json:"min_rounds"`
	MaxRounds      int     `json:"max_rounds"`
	Confidence     float64 `json:"confidence"`
	LookConfidence float64 `json:"look_confidence"`
	CriticalZ      float64 `json:"critical_z"`
	// Spending names the error-spending function; PlanRounds is N_plan,
	// the rounds the information fraction Information = rounds/N_plan is
	// measured against (MaxRounds may exceed it in an extended compare);
	// AlphaSpent is the one-sided error each side may have spent by this
	// look. Absent in summaries written before them.
	Spending    string  `json:"spending,omitempty"`
	PlanRounds  int     `json:"plan_rounds,omitempty"`
	Information float64 `json:"information,omitempty"`
	AlphaSpent  float64 `json:"alpha_spent,omitempty"`
}

// LatencyVerdict is the verdict on one protocol and percentile. The ms
// values are the geometric means of the per-round values, the figures the
// ratio is computed from (CandidateMs/BaselineMs is Ratio); Ratio and its
// confidence interval are candidate/baseline.
type LatencyVerdict struct {
	Protocol    string  `json:"protocol"`
	Percentile  float64 `json:"percentile"` // 50, 95, 99
	BaselineMs  float64 `json:"baseline_ms"`
	CandidateMs float64 `json:"candidate_ms"`
	Ratio       float64 `json:"ratio"`
	CILow       float64 `json:"ci_low"`
	CIHigh      float64 `json:"ci_high"`
	// PValue is the one-sided fixed-sample p value of the paired t test
	// against the limit, as if this look were the only one (nominal, not
	// adjusted for the looks or the checks); the interval decides.
	PValue  float64 `json:"p_value"`
	Verdict Verdict `json:"verdict"`
	// Confidence is the two-sided level of [CILow, CIHigh] at this look:
	// CIHigh is one-sided at the pass side's nominal level, CILow at the
	// fail side's, which is divided among FailChecks checks (Holm). 0 in
	// summaries written before it.
	Confidence float64 `json:"confidence,omitempty"`
	FailChecks int     `json:"fail_checks,omitempty"`
	// MoreRounds, when inconclusive, estimates how many more rounds would
	// let the data decide.
	MoreRounds int    `json:"more_rounds,omitempty"`
	Note       string `json:"note,omitempty"`
}

// Check names the check: "http p99".
func (v LatencyVerdict) Check() string { return v.Protocol + " " + PercentileName(v.Percentile) }

// PercentileName formats 99 as "p99" and 99.9 as "p99.9".
func PercentileName(p float64) string { return "p" + strconv.FormatFloat(p, 'f', -1, 64) }

// MemoryVerdict is one build's memory after load.
type MemoryVerdict struct {
	RetainedBytes           float64 `json:"retained_bytes"`
	RetainedBytesPerRequest float64 `json:"retained_bytes_per_request"`
	// SlopeBytesPerChat is the Theil–Sen slope of the live heap after each
	// segment against the cumulative chats answered, with its interval;
	// Points is the number of readings it used, Forced whether all of them
	// followed a forced GC.
	SlopeBytesPerChat      float64 `json:"slope_bytes_per_chat"`
	SlopeLow               float64 `json:"slope_low"`
	SlopeHigh              float64 `json:"slope_high"`
	Points                 int     `json:"points,omitempty"`
	Forced                 bool    `json:"forced,omitempty"`
	FactoriesLiveAfter     float64 `json:"factories_live_after"`
	AgentInstancesRetained float64 `json:"agent_instances_retained"`
	Verdict                Verdict `json:"verdict"`
	Note                   string  `json:"note,omitempty"`
}

// IsolationVerdict is one build's isolation under load.
type IsolationVerdict struct {
	Checked            int64   `json:"checked"`
	Violations         int64   `json:"violations"`
	DistinctFactoryIDs int64   `json:"distinct_factory_ids"`
	Verdict            Verdict `json:"verdict"`
	// Protocols is the verdict of each protocol's checks (http, ws).
	Protocols map[string]ProtocolIsolation `json:"protocols,omitempty"`
}

// ProtocolIsolation is one protocol's isolation checks and their verdict.
type ProtocolIsolation struct {
	Checked    int64   `json:"checked"`
	Violations int64   `json:"violations"`
	Verdict    Verdict `json:"verdict"`
}

// ByProtocol lists the protocols of v in report order (http, then ws, then
// any other by name).
func (v IsolationVerdict) ByProtocol() []string {
	names := make([]string, 0, len(v.Protocols))
	for name := range v.Protocols {
		names = append(names, name)
	}
	SortProtocols(names)
	return names
}

// SortProtocols sorts protocol names in report order: http, then ws, then
// any other by name.
func SortProtocols(names []string) {
	slices.SortFunc(names, func(a, b string) int {
		if d := protoRank(a) - protoRank(b); d != 0 {
			return d
		}
		return strings.Compare(a, b)
	})
}

// ProtocolText is each protocol's verdict and counts, in report order:
// "http pass: 0 of 6000; ws fail: 12 of 6000".
func (v IsolationVerdict) ProtocolText() string {
	var parts []string
	for _, name := range v.ByProtocol() {
		p := v.Protocols[name]
		parts = append(parts, fmt.Sprintf("%s %s: %d of %d", name, p.Verdict, p.Violations, p.Checked))
	}
	return strings.Join(parts, "; ")
}

func protoRank(name string) int {
	switch name {
	case HTTP:
		return 0
	case WS:
		return 1
	}
	return 2
}
