package validate

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/loadbench/loadbench"
	"github.com/loadbench/loadbench/internal/builtin"
	"github.com/loadbench/loadbench/internal/usage"
	"github.com/loadbench/loadbench/results"
)

// Capacity summaries as summary.json stores them, cut to the fields the
// classifiers read, from three real runs of 2026-12-06 (docs/capacity.md,
// "Measured here"): a CPU-only run of the 50us burn (runs/cpuonly-burn50-1),
// the full A/A run (runs/cap-gmp2-aa) and the full legacy against
// per-request run that failed on throughput (runs/cap-gmp2-default).
const (
	storedCPUOnlyBurn = `{"verdict": "fail", "reason": "CPU per chat: 10.7% (6.6%–15.0%) more, over the 5% budget",
		"cpu": {"ratio": 1.106838318845232, "ci_low": 1.0655645151606208, "ci_high": 1.1497108308636494, "verdict": "fail", "budget": 0.05, "rates": [1300, 2100], "pairs": 10},
		"capacity": {"ratio": 0, "ci_low": 0, "ci_high": 0, "verdict": "inconclusive", "budget": 0.05, "baseline": {"max_rate": 0}, "candidate": {"max_rate": 0}, "skipped": true},
		"errors": {"baseline": 0, "candidate": 0, "budget": 0.001, "verdict": "pass"},
		"steps": [{"n": 1}, {"n": 2}, {"n": 3}]}`
	storedFullAA = `{"verdict": "inconclusive", "reason": "CPU per chat: 10 pair(s), interval 1.002–1.055 straddles the limit 1.050; sustainable throughput: 5 bisection pair(s), interval 0.917–1.12",
		"cpu": {"ratio": 1.028140113238658, "ci_low": 1.0022926064470377, "ci_high": 1.0546541854654075, "verdict": "inconclusive", "budget": 0.05, "pairs": 10},
		"capacity": {"ratio": 1.0124239609650156, "ci_low": 0.9166045377220442, "ci_high": 1.1182600942424292, "verdict": "inconclusive", "budget": 0.05},
		"errors": {"verdict": "pass"},
		"steps": [{"n": 1}, {"n": 2}]}`
	storedFullThroughputFail = `{"verdict": "fail", "reason": "sustainable throughput: perrequest sustains 0.872× (0.832–0.914) the baseline's rate, under the 5% budget",
		"cpu": {"ratio": 1.041, "ci_low": 1.010, "ci_high": 1.074, "verdict": "inconclusive", "budget": 0.05, "pairs": 10},
		"capacity": {"ratio": 0.872, "ci_low": 0.832, "ci_high": 0.914, "verdict": "fail", "budget": 0.05},
		"errors": {"verdict": "pass"},
		"steps": [{"n": 1}]}`
)

func stored(t *testing.T, js string) *results.CapacitySummary {
	t.Helper()
	var s results.CapacitySummary
	if err := json.Unmarshal([]byte(js), &s); err != nil {
		t.Fatal(err)
	}
	return &s
}

func capacityScenarios(t *testing.T, names ...string) []Scenario {
	t.Helper()
	sc, err := Scenarios(names, nil)
	if err != nil {
		t.Fatal(err)
	}
	return sc
}

func names(sc []Scenario) []string {
	var out []string
	for _, s := range sc {
		out = append(out, s.Name)
	}
	return out
}

func TestCapacityScenarioSelection(t *testing.T) {
	t.Parallel()
	// Not among the defaults: each of their runs takes minutes.
	def := capacityScenarios(t, DefaultScenarioNames()...)
	for _, s := range def {
		if s.IsCapacity() || strings.HasPrefix(s.Name, CapacityGroup) {
			t.Errorf("default scenario %s is a capacity one", s.Name)
		}
	}
	// The group stands for the three, in their order, where it is named.
	sc := capacityScenarios(t, AA, CapacityGroup, Leak)
	if got, want := names(sc), []string{AA, CapacityAA, CapacityCPU, CapacityThroughput, Leak}; !slices.Equal(got, want) {
		t.Errorf("aa,capacity,leak selects %q, want %q", got, want)
	}
	for _, s := range sc {
		if s.IsCapacity() != (s.Classify == nil) || s.IsCapacity() != strings.HasPrefix(s.Name, CapacityGroup+"-") {
			t.Errorf("%s: capacity %v, compare classifier %v", s.Name, s.IsCapacity(), s.Classify != nil)
		}
	}
	if got := names(capacityScenarios(t, " capacity-cpu ")); !slices.Equal(got, []string{CapacityCPU}) {
		t.Errorf("one capacity scenario by name: %q", got)
	}
	if got := ScenarioNames(); !slices.Equal(got[len(got)-3:], CapacityScenarioNames()) || len(got) != len(DefaultScenarioNames())+3 {
		t.Errorf("ScenarioNames %q", got)
	}
	for _, c := range []struct {
		names []string
		want  string
	}{
		{[]string{CapacityGroup, CapacityAA}, `"capacity-aa" appears twice`},
		{[]string{CapacityCPU, CapacityGroup}, `"capacity-cpu" appears twice`},
		{[]string{CapacityGroup, CapacityGroup}, "appears twice"},
		{[]string{"capacity-bogus"}, `unknown scenario "capacity-bogus" (want aa, `},
	} {
		_, err := Scenarios(c.names, nil)
		if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "--") {
			t.Errorf("Scenarios(%q) = %v, want an error with %q and no flag name", c.names, err, c.want)
		}
	}
	if _, err := Scenarios([]string{"nope"}, nil); err == nil || !strings.Contains(err.Error(), "capacity-throughput, or capacity for the capacity ones") {
		t.Errorf("unknown scenario: %v, want the capacity names listed", err)
	}
}

func TestCapacityScenariosConfigureAndGoals(t *testing.T) {
	t.Parallel()
	base := Setup{
		Builds:   builtin.Spec{Baseline: builtin.Build{Impl: "baseline"}, Candidate: builtin.Build{Impl: "perrequest", Args: []string{"--think", "1ms"}}},
		Capacity: loadbench.CapacityOptions{CPURounds: 3},
	}
	got := map[string]Setup{}
	byName := map[string]Scenario{}
	for _, s := range capacityScenarios(t, CapacityGroup) {
		c := cloneSetup(base)
		s.Configure(&c)
		got[s.Name], byName[s.Name] = c, s
		if c.Builds.Baseline.Impl != "perrequest" || c.Builds.Candidate.Impl != "perrequest" || c.Capacity.CPURounds != 3 {
			t.Errorf("%s: impls %q %q, cpu rounds %d; want per-request on both, the validation's 3",
				s.Name, c.Builds.Baseline.Impl, c.Builds.Candidate.Impl, c.Capacity.CPURounds)
		}
	}
	burn := []string{"--think", "1ms", "--burn", CapacityBurn}
	if c := got[CapacityAA]; !slices.Equal(c.Builds.Candidate.Args, []string{"--think", "1ms"}) || c.Capacity.CPURates != nil {
		t.Errorf("capacity A/A: args %q, cpu rates %v; want no burn, a full run", c.Builds.Candidate.Args, c.Capacity.CPURates)
	}
	if c := got[CapacityCPU]; !slices.Equal(c.Builds.Candidate.Args, burn) || !slices.Equal(c.Capacity.CPURates, []float64{1300, 2100}) {
		t.Errorf("capacity CPU: args %q, cpu rates %v; want the burn at 1300,2100", c.Builds.Candidate.Args, c.Capacity.CPURates)
	}
	if c := got[CapacityThroughput]; !slices.Equal(c.Builds.Candidate.Args, burn) || c.Capacity.CPURates != nil {
		t.Errorf("capacity throughput: args %q, cpu rates %v; want the burn, a full run", c.Builds.Candidate.Args, c.Capacity.CPURates)
	}
	if !slices.Equal(base.Builds.Candidate.Args, []string{"--think", "1ms"}) || base.Capacity.CPURates != nil || base.Builds.Baseline.Impl != "baseline" {
		t.Errorf("scenarios changed the shared setup: %+v", base)
	}
	// A scenario's CPU rates are its own copy.
	got[CapacityCPU].Capacity.CPURates[0] = 1
	if CapacityCPURates()[0] != 1300 {
		t.Error("CapacityCPURates shares its slice")
	}
	for name, want := range map[string]struct {
		goal, measures string
	}{
		CapacityAA:         {"≤ 2.5%", "false alarms"},
		CapacityCPU:        {"≥ 95%", "detected"},
		CapacityThroughput: {"≥ 95%", "detected"},
	} {
		s := byName[name]
		if s.Goal.String() != want.goal || s.Measures != want.measures || s.Counts != "" {
			t.Errorf("%s: goal %s, measures %q, counts %q; want %s, %q, fail", name, s.Goal, s.Measures, s.Counts, want.goal, want.measures)
		}
	}
	for _, name := range []string{CapacityCPU, CapacityThroughput} {
		if title := byName[name].Title; !strings.Contains(title, "burn 50us") || !strings.Contains(title, "×1.090") {
			t.Errorf("%s title %q does not state the burn and its measured effect", name, title)
		}
	}
}

func TestCapacityClassifiers(t *testing.T) {
	t.Parallel()
	burn, aa, thr := stored(t, storedCPUOnlyBurn), stored(t, storedFullAA), stored(t, storedFullThroughputFail)
	cases := []struct {
		name string
		f    func(*results.CapacitySummary) results.Verdict
		sum  *results.CapacitySummary
		want results.Verdict
	}{
		{"overall, CPU-only burn", CapacityOverallVerdict, burn, results.Fail},
		{"overall, A/A", CapacityOverallVerdict, aa, results.Inconclusive},
		{"overall, throughput fail", CapacityOverallVerdict, thr, results.Fail},
		{"cpu, CPU-only burn", CapacityCPUVerdict, burn, results.Fail},
		{"cpu, A/A", CapacityCPUVerdict, aa, results.Inconclusive},
		{"cpu, throughput fail", CapacityCPUVerdict, thr, results.Inconclusive},
		{"throughput, not searched", CapacityThroughputVerdict, burn, results.Inconclusive},
		{"throughput, A/A", CapacityThroughputVerdict, aa, results.Inconclusive},
		{"throughput, fail", CapacityThroughputVerdict, thr, results.Fail},
		{"cpu pass", CapacityCPUVerdict, &results.CapacitySummary{CPU: results.CapacityCPU{Verdict: results.Pass}}, results.Pass},
		{"throughput pass", CapacityThroughputVerdict, &results.CapacitySummary{Capacity: results.CapacityThroughput{Verdict: results.Pass}}, results.Pass},
		// A skipped search is never a pass nor a fail, whatever it says.
		{"throughput skipped", CapacityThroughputVerdict, &results.CapacitySummary{Capacity: results.CapacityThroughput{Verdict: results.Fail, Skipped: true}}, results.Inconclusive},
		{"empty", CapacityOverallVerdict, &results.CapacitySummary{}, results.Inconclusive},
		{"cpu empty", CapacityCPUVerdict, &results.CapacitySummary{}, results.Inconclusive},
	}
	for _, c := range cases {
		if got := c.f(c.sum); got != c.want {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
	}
	// What each scenario counts, with the measured ratios and steps.
	sc := map[string]Scenario{}
	for _, s := range capacityScenarios(t, CapacityGroup) {
		sc[s.Name] = s
	}
	for _, c := range []struct {
		scenario string
		sum      *results.CapacitySummary
		want     Outcome
	}{
		{CapacityCPU, burn, Outcome{Verdict: results.Fail, Overall: results.Fail, Reason: burn.Reason, Steps: 3, CPURatio: burn.CPU.Ratio}},
		{CapacityAA, aa, Outcome{Verdict: results.Inconclusive, Overall: results.Inconclusive, Reason: aa.Reason, Steps: 2, CPURatio: aa.CPU.Ratio, ThroughputRatio: aa.Capacity.Ratio}},
		{CapacityAA, thr, Outcome{Verdict: results.Fail, Overall: results.Fail, Reason: thr.Reason, Steps: 1, CPURatio: 1.041, ThroughputRatio: 0.872}},
		{CapacityThroughput, thr, Outcome{Verdict: results.Fail, Overall: results.Fail, Reason: thr.Reason, Steps: 1, CPURatio: 1.041, ThroughputRatio: 0.872}},
		{CapacityThroughput, burn, Outcome{Verdict: results.Inconclusive, Overall: results.Fail, Reason: burn.Reason, Steps: 3, CPURatio: burn.CPU.Ratio}},
	} {
		got := capacityOutcome(sc[c.scenario], c.sum)
		if fmt.Sprint(got) != fmt.Sprint(c.want) {
			t.Errorf("%s of %q:\n got %+v\nwant %+v", c.scenario, c.sum.Reason, got, c.want)
		}
	}
}

// capacityOutcomes are n runs of a capacity scenario with the given
// verdicts, each with steps and measured ratios.
func capacityOutcomes(scenario string, pass, fail, inc, errs int, cpu, throughput float64) []Outcome {
	out := outcomes(scenario, pass, fail, inc, errs)
	for i := range out {
		if out[i].Verdict != Error {
			out[i].Steps, out[i].CPURatio, out[i].ThroughputRatio = 100+2*i, cpu, throughput
			out[i].Seconds = 340
		}
	}
	return out
}

func TestTallyAndRenderCapacityRows(t *testing.T) {
	t.Parallel()
	sc := capacityScenarios(t, AA, CapacityGroup)
	var all []Outcome
	all = append(all, outcomes(AA, 20, 0, 0, 0)...)
	all = append(all, capacityOutcomes(CapacityAA, 5, 0, 15, 0, 1.002, 1.004)...)         // 0 of 20: ≤ 2.5% not shown
	all = append(all, capacityOutcomes(CapacityCPU, 0, 4, 4, 0, 1.090, 0)...)             // 4 of 8: ≥ 95% contradicted
	all = append(all, capacityOutcomes(CapacityThroughput, 0, 19, 0, 1, 1.090, 0.917)...) // 19 of 19: not shown
	rep := Tally(sc, 20, all, 7200)

	rows := map[string]Row{}
	for _, r := range rep.Rows {
		rows[r.Scenario] = r
	}
	aa, cpu, thr := rows[CapacityAA], rows[CapacityCPU], rows[CapacityThroughput]
	if !aa.Capacity || !cpu.Capacity || !thr.Capacity || rows[AA].Capacity {
		t.Errorf("capacity marks: %v %v %v, A/A %v", aa.Capacity, cpu.Capacity, thr.Capacity, rows[AA].Capacity)
	}
	if aa.Runs != 20 || aa.Pass != 5 || aa.Inconclusive != 15 || rate(t, aa.Rate) != 0 || aa.Goal != "≤ 2.5%" || aa.GoalMet || !aa.GoalPlausible {
		t.Errorf("capacity A/A row %+v", aa)
	}
	if cpu.Fail != 4 || rate(t, cpu.Rate) != 0.5 || cpu.GoalMet || cpu.GoalPlausible || cpu.RateLow < 0.157 || cpu.RateHigh > 0.844 {
		t.Errorf("capacity CPU row %+v: want 4 of 8 (15.7–84.3%%), ≥ 95%% contradicted", cpu)
	}
	if thr.Errors != 1 || rate(t, thr.Rate) != 1 || thr.GoalMet || !thr.GoalPlausible {
		t.Errorf("capacity throughput row %+v: want 19 of 19 completed, plausible", thr)
	}
	if aa.CPUEffect != 1.002 || aa.ThroughputEffect != 1.004 || cpu.ThroughputEffect != 0 || thr.MedianSteps != 118 || aa.MedianSeconds != 340 {
		t.Errorf("effects: A/A cpu %v throughput %v, CPU-only throughput %v, median steps %v, seconds %v",
			aa.CPUEffect, aa.ThroughputEffect, cpu.ThroughputEffect, thr.MedianSteps, aa.MedianSeconds)
	}
	for _, c := range []struct{ got, want string }{
		{effectCell(cpu), "CPU +9.0%"},
		{effectCell(thr), "CPU +9.0%, throughput -8.3%"},
		{roundsCell(thr), "118 steps"},
		{roundsCell(Row{Capacity: true}), "—"},
		{effectCell(Row{Capacity: true}), "—"},
		{roundsCell(rows[AA]), "0"},
	} {
		if c.got != c.want {
			t.Errorf("cell %q, want %q", c.got, c.want)
		}
	}

	text := verdict(t, rep)
	for _, want := range []string{"capacity A/A (no change)", "0% false alarms (0%–16.8%)", "≤ 2.5%", "50% detected (15.7%–84.3%)", "1 run(s) ended in a run error",
		"goal missed: A/A (no change), capacity A/A (no change), capacity CPU only (burn 50us: CPU ×1.090), capacity throughput (burn 50us: CPU ×1.090)"} {
		if !strings.Contains(text, want) {
			t.Errorf("text table lacks %q:\n%s", want, text)
		}
	}
	if n := strings.Count(text, "✗"); n != 1 {
		t.Errorf("%d goals contradicted, want 1 (capacity CPU):\n%s", n, text)
	}

	rep.Settings = Settings{Runs: 20, RoundDuration: "4s", Budget: 0.05, Alpha: 0.05, Percentiles: []string{"p50"},
		Capacity: &CapacitySettings{Protocols: []string{"http", "ws"}, Users: 200, Timeout: "5s", StepDuration: "3s", Warmup: "2s",
			Repeats: 5, CPURounds: 5, CPUFractions: []float64{0.5, 0.8}, CPURates: map[string][]float64{CapacityCPU: {1300, 2100}},
			CPUBudget: 0.05, CapacityBudget: 0.05, ErrorBudget: 0.001, Alpha: 0.05}}
	md := markdown(t, rep)
	for _, want := range []string{
		"Settings: 20 runs per scenario; each compare auto rounds of 4s",
		"Capacity runs (`loadbench capacity` of the built-in targets): 20 runs per scenario; steps of 3s, warmup 2s, http and ws, 200 users, timeout 5s; 5 bisections per build; 5 CPU rounds per rate, at 50% and 80% of the baseline's sustainable rate; capacity-cpu at 1300, 2100 chats/s without the throughput search; budgets: CPU per chat 5%, throughput 5%, target errors 0.1 point; alpha 0.05.",
		"| capacity A/A (no change) | 20 | 5 | 0 | 15 | 0 | 0% false alarms (0%–16.8%) | ≤ 2.5% | ~ | CPU +0.2%, throughput +0.4% | 119 steps | 340 / 340 |",
		"| capacity CPU only (burn 50us: CPU ×1.090) | 8 | 0 | 4 | 4 | 0 | 50% detected (15.7%–84.3%) | ≥ 95% | ✗ | CPU +9.0% | 107 steps | 340 / 340 |",
		"| capacity throughput (burn 50us: CPU ×1.090) | 20 | 0 | 19 | 0 | 1 | 100% detected (82.4%–100%) | ≥ 95% | ~ | CPU +9.0%, throughput -8.3% | 118 steps | 340 / 340 |",
		"| A/A (no change) | 20 | 20 | 0 | 0 | 0 |",
		"Capacity rows: each run is one capacity run",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
	// Capacity scenarios alone: no compare settings line.
	only := Tally(capacityScenarios(t, CapacityCPU), 1, capacityOutcomes(CapacityCPU, 0, 1, 0, 0, 1.1, 0), 70)
	only.Settings = rep.Settings
	if md := markdown(t, only); strings.Contains(md, "each compare") || !strings.Contains(md, "Capacity runs") {
		t.Errorf("capacity-only markdown:\n%s", md)
	}
	// And compare scenarios alone: no capacity lines.
	if md := markdown(t, Tally(four(t), 1, nil, 0)); strings.Contains(md, "Capacity") || !strings.Contains(md, "each compare") {
		t.Errorf("compare-only markdown:\n%s", md)
	}
}

func markdown(t *testing.T, rep *Report) string {
	t.Helper()
	var b bytes.Buffer
	if err := rep.Markdown()(&b); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// fakeCapacity answers every capacity run with one of the stored
// summaries: the CPU-only burn run when CPU rates are given, the
// throughput fail for a full run of a burn, the A/A run otherwise.
type fakeCapacity struct {
	t     *testing.T
	calls []Setup
	errAt int // 1-based call that returns a run error; 0: none
}

func (f *fakeCapacity) run(_ context.Context, spec builtin.Spec, o loadbench.CapacityOptions) (*loadbench.CapacityResult, error) {
	f.calls = append(f.calls, Setup{Capacity: o, Builds: spec})
	if f.errAt == len(f.calls) {
		return nil, errors.New("capacity: baseline: target exited")
	}
	js := storedFullAA
	switch {
	case len(o.CPURates) > 0:
		js = storedCPUOnlyBurn
	case slices.Contains(spec.Candidate.Args, "--burn"):
		js = storedFullThroughputFail
	}
	if err := os.MkdirAll(o.Dir, 0o755); err != nil {
		f.t.Fatal(err)
	}
	if o.Progress != nil {
		o.Progress(loadbench.CapacityProgress{Step: 1, Phase: results.PhaseCPU, Build: results.Baseline, Rate: 1300})
	}
	s := stored(f.t, js)
	return &loadbench.CapacityResult{Dir: o.Dir, Summary: s}, nil
}

func TestRunCapacityScenarios(t *testing.T) {
	t.Parallel()
	out := t.TempDir()
	var compares []loadbench.CompareOptions
	compare := func(_ context.Context, _ builtin.Spec, o loadbench.CompareOptions) (*loadbench.Comparison, error) {
		compares = append(compares, o)
		return &loadbench.Comparison{Dir: o.Dir, Summary: &results.Summary{Verdict: results.Pass}}, nil
	}
	capf := &fakeCapacity{t: t, errAt: 4}
	var progress []Progress
	rep, err := Run(context.Background(), Config{
		Runs: 2, Out: out, Scenarios: capacityScenarios(t, AA, CapacityGroup),
		Compare:      loadbench.CompareOptions{Rounds: 4},
		Capacity:     loadbench.CapacityOptions{Reports: true},
		Builds:       builtin.Spec{Executable: "/bin/loadbench", Candidate: builtin.Build{Args: []string{"--think", "1ms"}}},
		Args:         []string{"loadbench", "validate", "--scenarios", "aa,capacity"},
		CompareFunc:  compare,
		CapacityFunc: capf.run,
		Progress:     func(p Progress) { progress = append(progress, p) },
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(compares) != 2 || len(capf.calls) != 6 || compares[1].Dir != filepath.Join(out, AA, "run-02") || compares[0].Rounds != 4 {
		t.Fatalf("%d compares and %d capacity runs, want 2 and 6", len(compares), len(capf.calls))
	}
	var order []string
	for _, c := range capf.calls {
		rel, _ := filepath.Rel(out, c.Capacity.Dir)
		order = append(order, rel)
		if !c.Capacity.Reports || !slices.Equal(c.Capacity.CommandLine, []string{"loadbench", "validate", "--scenarios", "aa,capacity"}) || c.Builds.Executable != "/bin/loadbench" {
			t.Errorf("%s: reports %v, command line %q, executable %q", rel, c.Capacity.Reports, c.Capacity.CommandLine, c.Builds.Executable)
		}
		if c.Builds.Baseline.Impl != "perrequest" || c.Builds.Candidate.Impl != "perrequest" {
			t.Errorf("%s: builds %q %q", rel, c.Builds.Baseline.Impl, c.Builds.Candidate.Impl)
		}
	}
	var want []string
	for run := 1; run <= 2; run++ {
		for _, s := range CapacityScenarioNames() {
			want = append(want, filepath.Join(s, fmt.Sprintf("run-%02d", run)))
		}
	}
	if !slices.Equal(order, want) {
		t.Errorf("capacity runs went into\n%q\nwant\n%q", order, want)
	}
	if !slices.Equal(capf.calls[1].Capacity.CPURates, []float64{1300, 2100}) || capf.calls[0].Capacity.CPURates != nil {
		t.Errorf("cpu rates: %v (capacity-cpu), %v (capacity-aa)", capf.calls[1].Capacity.CPURates, capf.calls[0].Capacity.CPURates)
	}

	rows := map[string]Row{}
	for _, r := range rep.Rows {
		rows[r.Scenario] = r
	}
	// Call 4 (capacity-aa, run 2) errored: counted, outside the rate.
	if r := rows[CapacityAA]; r.Runs != 2 || r.Inconclusive != 1 || r.Errors != 1 || rate(t, r.Rate) != 0 {
		t.Errorf("capacity A/A row %+v", r)
	}
	if r := rows[CapacityCPU]; r.Fail != 2 || rate(t, r.Rate) != 1 || r.CPUEffect < 1.1068 || r.CPUEffect > 1.1069 || r.MedianSteps != 3 {
		t.Errorf("capacity CPU row %+v", r)
	}
	if r := rows[CapacityThroughput]; r.Fail != 2 || rate(t, r.Rate) != 1 || r.ThroughputEffect != 0.872 {
		t.Errorf("capacity throughput row %+v", r)
	}
	if rows[AA].Pass != 2 || rows[AA].Capacity {
		t.Errorf("A/A row %+v", rows[AA])
	}
	if rep.Errors != 1 || !rep.Complete || rep.AAFalseAlarmRate == nil {
		t.Errorf("errors %d complete %v aa %v", rep.Errors, rep.Complete, rep.AAFalseAlarmRate)
	}

	var onDisk Report
	if err := results.ReadJSON(filepath.Join(out, JSONFile), &onDisk); err != nil {
		t.Fatal(err)
	}
	if len(onDisk.Outcomes) != 8 {
		t.Fatalf("%d outcomes on disk, want 8", len(onDisk.Outcomes))
	}
	o := onDisk.Outcomes[1] // capacity-aa, run 1
	if o.Scenario != CapacityAA || o.Dir != filepath.Join(out, CapacityAA, "run-01") || o.Overall != results.Inconclusive || o.Steps != 2 || o.ThroughputRatio == 0 {
		t.Errorf("capacity A/A outcome %+v", o)
	}
	if e := onDisk.Outcomes[5]; e.Scenario != CapacityAA || e.Verdict != Error || !strings.Contains(e.Reason, "target exited") {
		t.Errorf("errored outcome %+v", e)
	}
	c := onDisk.Settings.Capacity
	if c == nil || c.StepDuration != "3s" || c.Users != loadbench.DefaultCapacityUsers || c.Repeats != loadbench.DefaultRepeats ||
		!slices.Equal(c.CPURates[CapacityCPU], []float64{1300, 2100}) || len(c.CPURates) != 1 || !slices.Equal(c.CPUFractions, []float64{0.5, 0.8}) {
		t.Errorf("capacity settings %+v", c)
	}
	md, err := os.ReadFile(filepath.Join(out, MarkdownFile))
	if err != nil || !strings.Contains(string(md), "| capacity CPU only (burn 50us: CPU ×1.090) | 2 | 0 | 2 | 0 | 0 |") || !strings.Contains(string(md), "Capacity runs (") {
		t.Errorf("validation.md (%v):\n%s", err, md)
	}
	var sawCapacity bool
	for _, p := range progress {
		sawCapacity = sawCapacity || p.Capacity.Step == 1 && p.Capacity.Rate == 1300 && strings.HasPrefix(p.Scenario, "capacity")
	}
	if !sawCapacity {
		t.Errorf("no capacity run's progress among %d updates", len(progress))
	}
}

// TestRunCapacityUsageErrors: a capacity plan that cannot run is refused
// before any run; a capacity run's usage error ends the validation.
func TestRunCapacityUsageErrors(t *testing.T) {
	t.Parallel()
	capf := &fakeCapacity{t: t}
	cmp := &fakeCompare{t: t, out: t.TempDir()}
	_, err := Run(context.Background(), Config{
		Runs: 1, Out: cmp.out, Scenarios: capacityScenarios(t, AA, CapacityAA),
		Capacity: loadbench.CapacityOptions{Repeats: 1}, CompareFunc: cmp.run, CapacityFunc: capf.run,
	})
	if !errors.Is(err, usage.ErrUsage) || len(capf.calls)+len(cmp.calls) != 0 || !strings.Contains(err.Error(), "capacity-aa: capacity: repeats") {
		t.Errorf("bad capacity plan: %v after %d runs, want a usage error before any", err, len(capf.calls)+len(cmp.calls))
	}
	// The same options do not matter without capacity scenarios.
	cmp = &fakeCompare{t: t, out: t.TempDir()}
	if _, err := Run(context.Background(), Config{
		Runs: 1, Out: cmp.out, Scenarios: capacityScenarios(t, AA), Capacity: loadbench.CapacityOptions{Repeats: 1}, CompareFunc: cmp.run,
	}); err != nil {
		t.Errorf("compare scenarios only: %v", err)
	}
	failing := func(context.Context, builtin.Spec, loadbench.CapacityOptions) (*loadbench.CapacityResult, error) {
		return nil, usage.Errorf("capacity: build must be baseline, perrequest or partial")
	}
	if _, err := Run(context.Background(), Config{
		Runs: 2, Out: t.TempDir(), Scenarios: capacityScenarios(t, CapacityCPU), CapacityFunc: failing,
	}); !errors.Is(err, usage.ErrUsage) || !strings.Contains(err.Error(), "validate: capacity-cpu: ") {
		t.Errorf("capacity usage error: %v", err)
	}
}
