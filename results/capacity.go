package results

import (
	"math"
	"path/filepath"
	"strconv"
)

// A capacity run directory (`loadbench capacity`) holds manifest.json
// (CapacityManifest: kind "capacity" and the CapacityPlan), one segment
// directory per step under steps/ (steps/001-baseline, ...),
// summary.json (CapacitySummary) and, with reports, report.md,
// report.html, junit.xml and charts/latency-vs-throughput.svg.

// CapacityKind is the manifest kind of a capacity run.
const CapacityKind = "capacity"

// Step phases of a capacity run, in the order they run.
const (
	PhaseSLO     = "slo"     // the baseline at the low rate: derives the SLO
	PhaseBracket = "bracket" // both builds at geometric rates up to their first unsustainable one
	PhaseBisect  = "bisect"  // one build's bisection between a sustainable and an unsustainable rate
	PhaseCPU     = "cpu"     // both builds at a fixed rate: CPU per chat
)

// CapacityManifest is manifest.json of a capacity run: the common
// manifest with the capacity plan as "plan".
type CapacityManifest struct {
	Manifest
	Plan *CapacityPlan `json:"plan,omitempty"`
}

// CapacityPlan is what a capacity run was asked to do, every default
// filled in. Rates are offered chats per second over all loaded protocols
// (split equally between them).
type CapacityPlan struct {
	Protocols []string `json:"protocols"` // HTTP, WS or both
	Users     int      `json:"users"`
	Timeout   Duration `json:"timeout"`
	// StepDuration is the load time of one step; Warmup the unrecorded
	// load on each build first (0: none).
	StepDuration Duration `json:"step_duration"`
	Warmup       Duration `json:"warmup"`
	// LowRate is the rate of the SLO step and the first bracket step;
	// Growth the bracket's factor; MaxRate the bracket's ceiling; Width
	// the relative width (0.01) at which a bisection stops.
	LowRate float64 `json:"low_rate"`
	Growth  float64 `json:"growth"`
	MaxRate float64 `json:"max_rate"`
	Width   float64 `json:"width"`
	// Repeats is the number of bisections per build: the paired values
	// of the capacity ratio.
	Repeats int `json:"repeats"`
	// MinEnded is the share of offered chats that must end (answered or
	// failed by the target) within the timeout for a sustainable step.
	MinEnded float64 `json:"min_ended"`
	// SLO is the p99 limit of answered chats; 0 derives it from the
	// baseline's p99 at LowRate: max(SLOFactor × p99, p99 + SLOFloor).
	SLO       Duration `json:"slo,omitempty"`
	SLOFactor float64  `json:"slo_factor"`
	SLOFloor  Duration `json:"slo_floor"`
	// CPURates are the rates of the CPU rounds when given (the search is
	// skipped); otherwise CPUFractions of the baseline's sustainable rate.
	CPURates     []float64 `json:"cpu_rates,omitempty"`
	CPUFractions []float64 `json:"cpu_fractions,omitempty"`
	CPURounds    int       `json:"cpu_rounds"`
	// Budgets: CPU per chat and sustainable throughput (cost ratios, 0.05
	// for 5%), and the target error rate's allowed excess (0.001 for 0.1
	// point).
	CPUBudget      float64  `json:"cpu_budget"`
	CapacityBudget float64  `json:"capacity_budget"`
	ErrorBudget    float64  `json:"error_budget"`
	Alpha          float64  `json:"alpha"`
	Arrivals       string   `json:"arrivals"`
	MaxInFlight    int      `json:"max_in_flight"`
	MaxSendLag     Duration `json:"max_send_lag"`
	// MaxGeneratorCPU is the share of its CPUs above which the generator
	// counts as saturated.
	MaxGeneratorCPU float64 `json:"max_generator_cpu"`
	HTTPPath        string  `json:"http_path"`
	WSPath          string  `json:"ws_path"`
	MetricsPath     string  `json:"metrics_path"`
	Seed            uint64  `json:"seed"`
	// Baseline and Candidate are the builds; Local is true when they run
	// on this machine as child processes (false: elsewhere, staging).
	Baseline  PlanSide `json:"baseline"`
	Candidate PlanSide `json:"candidate"`
	Local     bool     `json:"local"`
	// Pinning is how the generator and the targets were kept apart on
	// this machine's CPUs; nil when they were not pinned.
	Pinning *Pinning `json:"pinning,omitempty"`
}

// Pinning records the CPUs of the generator and of the built-in targets.
type Pinning struct {
	GeneratorCPUs       []int  `json:"generator_cpus"`
	TargetCPUs          []int  `json:"target_cpus"`
	GeneratorGOMAXPROCS int    `json:"generator_gomaxprocs"`
	TargetGOMAXPROCS    int    `json:"target_gomaxprocs"`
	Method              string `json:"method"` // "sched_setaffinity"
}

// CapacityStep is one build's load at one rate: what it measured and
// whether the rate was sustainable.
type CapacityStep struct {
	N      int     `json:"n"` // from 1, in the order run
	Phase  string  `json:"phase"`
	Repeat int     `json:"repeat,omitempty"` // bisection or CPU round, from 1
	Build  string  `json:"build"`
	Rate   float64 `json:"rate"` // offered, chats/s
	// Offered chats (sent and not sent), Answered, TargetErrors (failed by
	// the target, timeouts included) and Timeouts.
	Offered      int64   `json:"offered"`
	Answered     int64   `json:"answered"`
	TargetErrors int64   `json:"target_errors"`
	Timeouts     int64   `json:"timeouts"`
	NotSent      int64   `json:"not_sent,omitempty"`
	Ended        float64 `json:"ended"`      // share of Offered that ended within the timeout
	ErrorRate    float64 `json:"error_rate"` // target errors over chats that reached it
	Throughput   float64 `json:"throughput"` // answered chats/s
	P50Ms        float64 `json:"p50_ms"`
	P99Ms        float64 `json:"p99_ms"`
	P999Ms       float64 `json:"p999_ms"`
	InFlightMean float64 `json:"in_flight_mean"`
	// InFlightGrowth is the fitted growth of the chats in flight over the
	// step's last three quarters; InFlightTrend marks an upward trend.
	InFlightGrowth float64 `json:"in_flight_growth"`
	InFlightTrend  bool    `json:"in_flight_trend,omitempty"`
	// The generator's own: p99 send lag, CPU per chat sent (µs, from
	// /proc/self/stat), the share of its CPUs it used, and whether it was
	// saturated (send lag or CPU over its limit).
	SendLagP99Ms       float64 `json:"send_lag_p99_ms"`
	GeneratorCPUUs     float64 `json:"generator_cpu_us"`
	GeneratorCPUShare  float64 `json:"generator_cpu_share"`
	GeneratorSaturated bool    `json:"generator_saturated,omitempty"`
	// The target's CPU per answered chat (µs) and where it was read.
	CPUUs     float64 `json:"cpu_us,omitempty"`
	CPUSource string  `json:"cpu_source,omitempty"`
	// Sustainable is the step's verdict; Why lists what failed.
	Sustainable bool     `json:"sustainable"`
	Why         []string `json:"why,omitempty"`
	// Redone marks a step whose generator saturated and that was measured
	// again (the next step): it is kept for the record and used nowhere.
	Redone  bool   `json:"redone,omitempty"`
	Segment string `json:"segment,omitempty"` // its directory, relative to the run
}

// CapacitySummary is summary.json of a capacity run.
type CapacitySummary struct {
	// Verdict is fail when either answer (or the error check) fails,
	// inconclusive when either is inconclusive or a step was bound by the
	// generator, pass otherwise. Reason says why in one line; Lines are
	// the plain-language answers.
	Verdict  Verdict            `json:"verdict"`
	Reason   string             `json:"reason"`
	Lines    []string           `json:"lines,omitempty"`
	CPU      CapacityCPU        `json:"cpu"`
	Capacity CapacityThroughput `json:"capacity"`
	Errors   CapacityErrors     `json:"errors"`
	// SLOMs is the p99 limit used and SLORule how it was set.
	SLOMs   float64 `json:"slo_ms"`
	SLORule string  `json:"slo_rule"`
	// GeneratorBound lists the steps (N) where the generator, not the
	// target, was the bound.
	GeneratorBound []int          `json:"generator_bound,omitempty"`
	Steps          []CapacityStep `json:"steps"`
	// USL is a Universal Scalability Law fit per build, report-only.
	USL      map[string]CapacityUSL `json:"usl,omitempty"`
	Seed     uint64                 `json:"seed"`
	Partial  bool                   `json:"partial,omitempty"`
	Warnings []string               `json:"warnings,omitempty"`
}

// CapacityCPU is the CPU-per-chat answer: Ratio is candidate/baseline
// CPU seconds per answered chat (geometric mean of the paired rounds),
// [CILow, CIHigh] its paired t interval at Sizing.Confidence; 0 where
// unknown.
type CapacityCPU struct {
	Ratio   float64   `json:"ratio"`
	CILow   float64   `json:"ci_low"`
	CIHigh  float64   `json:"ci_high"`
	Verdict Verdict   `json:"verdict"`
	Budget  float64   `json:"budget"`
	Rates   []float64 `json:"rates"` // chats/s
	Pairs   int       `json:"pairs"`
	// BaselineUs and CandidateUs are the builds' mean CPU per answered
	// chat in µs; Source where it was read (metrics, cgroup).
	BaselineUs  float64 `json:"baseline_us"`
	CandidateUs float64 `json:"candidate_us"`
	Source      string  `json:"source,omitempty"`
	Sizing
}

// Sizing is what an answer's pairs can show and what would decide it:
// Confidence is the two-sided level of its interval; MorePairs, when the
// answer is inconclusive, about how many pairs beyond these a run would
// need to decide it in 4 runs of 5 if the ratio and its scatter held (at
// most 100). Absent in summaries written before them.
type Sizing struct {
	Confidence float64 `json:"confidence,omitempty"`
	MorePairs  int     `json:"more_pairs,omitempty"`
}

// CapacityThroughput is the sustainable-throughput answer: Ratio is the
// candidate's sustainable rate over the baseline's (below 1: less), with
// its paired interval. It is judged as a cost, pods of the candidate per
// pod of the baseline (1/Ratio): pass when 1/CILow ≤ 1 + Budget, fail when
// 1/CIHigh > 1 + Budget, inconclusive otherwise.
type CapacityThroughput struct {
	Ratio     float64       `json:"ratio"`
	CILow     float64       `json:"ci_low"`
	CIHigh    float64       `json:"ci_high"`
	Verdict   Verdict       `json:"verdict"`
	Budget    float64       `json:"budget"`
	Baseline  CapacityBuild `json:"baseline"`
	Candidate CapacityBuild `json:"candidate"`
	// Skipped is set when the search did not run (given CPU rates).
	Skipped bool `json:"skipped,omitempty"`
	Sizing
}

// CapacityBuild is one build's sustainable rate: MaxRate (chats/s) is the
// geometric mean of its bisections' results, Repeats each one.
type CapacityBuild struct {
	MaxRate float64   `json:"max_rate"`
	Repeats []float64 `json:"repeats,omitempty"`
}

// CapacityErrors judges the candidate's target error rate against the
// baseline's at the same steps (the CPU rounds, below the knee), plus
// Budget.
type CapacityErrors struct {
	Baseline  float64 `json:"baseline"`
	Candidate float64 `json:"candidate"`
	Budget    float64 `json:"budget"`
	Verdict   Verdict `json:"verdict"`
}

// CapacityUSL is a Universal Scalability Law fit, X(N) = λN / (1 +
// σ(N−1) + κN(N−1)), of a build's steps (N chats in flight, X answered
// chats/s): report-only context. SigmaSE and KappaSE are standard errors;
// Stable is false, with Note, when the fit says little. PeakN is where X
// peaks, √((1−σ)/κ).
type CapacityUSL struct {
	Points  int     `json:"points"`
	Lambda  float64 `json:"lambda"`
	Sigma   float64 `json:"sigma"`
	SigmaSE float64 `json:"sigma_se"`
	Kappa   float64 `json:"kappa"`
	KappaSE float64 `json:"kappa_se"`
	R2      float64 `json:"r2"`
	PeakN   float64 `json:"peak_n,omitempty"`
	Stable  bool    `json:"stable"`
	Note    string  `json:"note,omitempty"`
}

// StepDir is where step n of build is stored, relative to the run.
func StepDir(n int, build string) string {
	return filepath.Join("steps", pad3(n)+"-"+build)
}

func pad3(n int) string {
	s := strconv.Itoa(n)
	for len(s) < 3 {
		s = "0" + s
	}
	return s
}

// Finite is x, or 0 when x is NaN or infinite (JSON holds no such number).
func Finite(x float64) float64 {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return 0
	}
	return x
}
