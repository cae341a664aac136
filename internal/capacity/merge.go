package capacity

import (
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/loadbench/loadbench/internal/gate"
	"github.com/loadbench/loadbench/results"
)

// ErrMerge is wrapped by the errors of runs that cannot be merged.
var ErrMerge = errors.New("capacity merge")

// Merge pools capacity runs of one setup into one summary, judged again on
// all their pairs with the first plan's budgets and alpha: every run's
// paired bisections are pairs of the merged throughput ratio, and every
// run's paired CPU steps pairs of the merged CPU ratio. Runs are
// independent, so their pairs are too; a pair never spans two runs. Each
// run derived its own SLO, and each of its steps was judged against it;
// the merged summary lists them.
//
// The plans must agree on what was compared and how (the builds and their
// arguments, the load, the search and the SLO rule, the CPU rates or
// fractions, the budgets and alpha); the first field that differs is the
// error. Steps keep their measurements; N and the repeat numbers are
// renumbered so that they stay unique.
func Merge(plans []results.CapacityPlan, sums []*results.CapacitySummary) (*results.CapacitySummary, error) {
	if len(plans) != len(sums) || len(sums) < 2 {
		return nil, fmt.Errorf("%w: want two runs or more, each with its plan", ErrMerge)
	}
	p := plans[0]
	for i, q := range plans[1:] {
		if f := planDiff(p, q); f != "" {
			return nil, fmt.Errorf("%w: runs 1 and %d differ in plan.%s", ErrMerge, i+2, f)
		}
	}
	s := &searcher{p: p, est: map[string][]float64{}}
	merged := &results.CapacitySummary{}
	var slos []string
	var rates []float64
	var cpuSizes, capSizes []int // pairs per run
	offset := 0
	for i, sum := range sums {
		if sum == nil {
			return nil, fmt.Errorf("%w: run %d has no summary", ErrMerge, i+1)
		}
		last := offset
		for _, st := range sum.Steps {
			st.N = len(s.steps) + 1
			if st.Repeat > 0 {
				st.Repeat += offset
				last = max(last, st.Repeat)
			}
			s.steps = append(s.steps, st)
		}
		offset = last
		b, c := sum.Capacity.Baseline.Repeats, sum.Capacity.Candidate.Repeats
		n := min(len(b), len(c))
		cpuSizes, capSizes = append(cpuSizes, sum.CPU.Pairs), append(capSizes, n)
		s.est[results.Baseline] = append(s.est[results.Baseline], b[:n]...)
		s.est[results.Candidate] = append(s.est[results.Candidate], c[:n]...)
		for _, r := range sum.CPU.Rates {
			rates = append(rates, math.Round(r))
		}
		slos = append(slos, fmt.Sprintf("%.1f ms", sum.SLOMs))
		for _, w := range sum.Warnings {
			merged.Warnings = append(merged.Warnings, fmt.Sprintf("run %d: %s", i+1, w))
		}
		merged.Partial = merged.Partial || sum.Partial
	}
	s.slo = time.Duration(sums[0].SLOMs * float64(time.Millisecond))
	merged.Capacity.Skipped = sums[0].Capacity.Skipped
	s.finish(merged)
	slices.Sort(rates)
	merged.CPU.Rates = slices.Compact(rates)
	merged.SLORule = fmt.Sprintf("each run's own, %s: %s", strings.Join(slos, ", "), sums[0].SLORule)
	merged.Warnings = append([]string{fmt.Sprintf("merged from %d runs", len(sums)), repeatedLooks(p, merged, cpuSizes, capSizes)}, merged.Warnings...)
	if merged.Partial {
		merged.Warnings = append(merged.Warnings, "a merged run was cut short: its complete pairs are counted")
	}
	return merged, nil
}

// repeatedLooks says what the merged answers' intervals do not: judged
// after each run was added, stopping at the first decision, they pass (or
// fail) a candidate exactly on its limit more often than α/2, by how much
// for these runs' sizes (gate.RepeatedLooksRate).
func repeatedLooks(p results.CapacityPlan, merged *results.CapacitySummary, cpuSizes, capSizes []int) string {
	a := p.Alpha / 2
	var rates []string
	if merged.CPU.Pairs > 0 {
		rates = append(rates, fmt.Sprintf("%.1f%% for CPU per chat (pairs per run: %s)", 100*gate.RepeatedLooksRate(cpuSizes, a), joinInts(cpuSizes)))
	}
	if !merged.Capacity.Skipped {
		rates = append(rates, fmt.Sprintf("%.1f%% for throughput (%s)", 100*gate.RepeatedLooksRate(capSizes, a), joinInts(capSizes)))
	}
	return fmt.Sprintf("each answer is judged on the pooled pairs as one sample, at %.1f%% per side: had runs been added until it decided, a candidate on its limit would pass (or fail) in up to %s; a new run of as many pairs keeps %.1f%%",
		100*a, strings.Join(rates, " and "), 100*a)
}

// planDiff names the first field in which two capacity plans differ in
// what was compared or how; "" when they agree. The seed, the pinning,
// the bracket's limits and the number of bisections and CPU rounds (how
// many pairs a run has) may differ.
func planDiff(a, b results.CapacityPlan) string {
	for _, f := range []struct {
		name string
		a, b any
	}{
		{"baseline", a.Baseline, b.Baseline},
		{"candidate", a.Candidate, b.Candidate},
		{"local", a.Local, b.Local},
		{"protocols", a.Protocols, b.Protocols},
		{"users", a.Users, b.Users},
		{"timeout", a.Timeout, b.Timeout},
		{"step_duration", a.StepDuration, b.StepDuration},
		{"arrivals", a.Arrivals, b.Arrivals},
		{"width", a.Width, b.Width},
		{"min_ended", a.MinEnded, b.MinEnded},
		{"slo", a.SLO, b.SLO},
		{"slo_factor", a.SLOFactor, b.SLOFactor},
		{"slo_floor", a.SLOFloor, b.SLOFloor},
		{"cpu_rates", a.CPURates, b.CPURates},
		{"cpu_fractions", a.CPUFractions, b.CPUFractions},
		{"cpu_budget", a.CPUBudget, b.CPUBudget},
		{"capacity_budget", a.CapacityBudget, b.CapacityBudget},
		{"error_budget", a.ErrorBudget, b.ErrorBudget},
		{"alpha", a.Alpha, b.Alpha},
	} {
		if !reflect.DeepEqual(f.a, f.b) {
			return f.name
		}
	}
	return ""
}
