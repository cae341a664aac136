package validate

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/loadbench/loadbench"
	"github.com/loadbench/loadbench/internal/builtin"
	"github.com/loadbench/loadbench/internal/usage"
	"github.com/loadbench/loadbench/results"
)

// four are the scenarios the tally tests use: A/A, +10%, leak, isolation.
func four(t *testing.T, slowdowns ...float64) []Scenario {
	t.Helper()
	sc, err := Scenarios([]string{AA, Slowdown, Leak, Isolation}, slowdowns)
	if err != nil {
		t.Fatal(err)
	}
	return sc
}

// outcomes returns n outcomes of scenario with the given verdicts in order:
// pass, fail, inconclusive, error counts.
func outcomes(scenario string, pass, fail, inc, errs int) []Outcome {
	var out []Outcome
	add := func(v results.Verdict, n int) {
		for range n {
			out = append(out, Outcome{Scenario: scenario, Run: len(out) + 1, Verdict: v, Seconds: 10})
		}
	}
	add(results.Pass, pass)
	add(results.Fail, fail)
	add(results.Inconclusive, inc)
	add(Error, errs)
	return out
}

func rate(t *testing.T, r *float64) float64 {
	t.Helper()
	if r == nil {
		t.Fatal("rate is nil")
	}
	return *r
}

func TestTallyCountsRatesAndGoals(t *testing.T) {
	t.Parallel()
	var all []Outcome
	all = append(all, outcomes(AA, 396, 0, 4, 0)...)       // 0 of 400: CI 0–0.92%, met
	all = append(all, outcomes(Slowdown, 1, 18, 1, 0)...)  // 90%, CI 68–99%: not shown
	all = append(all, outcomes(Leak, 1, 18, 0, 1)...)      // 18/19 = 94.7%: not shown
	all = append(all, outcomes(Isolation, 0, 20, 0, 0)...) // 100%: met
	rep := Tally(four(t), 20, all, 1234)

	want := []Row{
		{Scenario: AA, Runs: 400, Pass: 396, Fail: 0, Inconclusive: 4, Goal: "≤ 1%", GoalMet: true, GoalPlausible: true},
		{Scenario: Slowdown, Runs: 20, Pass: 1, Fail: 18, Inconclusive: 1, Goal: "≥ 95%", GoalMet: false, GoalPlausible: true},
		{Scenario: Leak, Runs: 20, Pass: 1, Fail: 18, Errors: 1, Goal: "≥ 95%", GoalMet: false, GoalPlausible: true},
		{Scenario: Isolation, Runs: 20, Fail: 20, Goal: "100%", GoalMet: true, GoalPlausible: true},
	}
	if len(rep.Rows) != len(want) {
		t.Fatalf("%d rows, want %d", len(rep.Rows), len(want))
	}
	for i, w := range want {
		g := rep.Rows[i]
		if g.Scenario != w.Scenario || g.Runs != w.Runs || g.Pass != w.Pass || g.Fail != w.Fail ||
			g.Inconclusive != w.Inconclusive || g.Errors != w.Errors || g.Goal != w.Goal || g.GoalMet != w.GoalMet || g.GoalPlausible != w.GoalPlausible {
			t.Errorf("row %d = %+v, want %+v", i, g, w)
		}
		if g.MeanSeconds != 10 {
			t.Errorf("row %s mean seconds %v, want 10", g.Scenario, g.MeanSeconds)
		}
	}
	if got := rate(t, rep.AAFalseAlarmRate); got != 0 || rep.Rows[0].RateHigh > 0.0093 || rep.Rows[0].RateHigh < 0.0091 {
		t.Errorf("A/A false alarm rate %v (CI %v–%v), want 0 (CI 0–0.92%%)", got, rep.Rows[0].RateLow, rep.Rows[0].RateHigh)
	}
	if got := rate(t, rep.SlowdownDetectionRate); got != 0.9 {
		t.Errorf("slowdown detection rate %v, want 0.9", got)
	}
	// The error is outside the rate: 18 detections in 19 completed compares.
	if got := rate(t, rep.LeakDetectionRate); got != 18.0/19 {
		t.Errorf("leak detection rate %v, want 18/19", got)
	}
	if got := rate(t, rep.IsolationDetectionRate); got != 1 {
		t.Errorf("isolation detection rate %v, want 1", got)
	}
	if rep.GoalsMet || !rep.Complete || rep.Errors != 1 || rep.Runs != 20 || rep.WallSeconds != 1234 {
		t.Errorf("goals met %v complete %v errors %d runs %d wall %v; want false true 1 20 1234",
			rep.GoalsMet, rep.Complete, rep.Errors, rep.Runs, rep.WallSeconds)
	}
}

func TestTallyFalseAlarmsOverGoalAndMissingData(t *testing.T) {
	t.Parallel()
	sc := four(t)
	all := append(outcomes(AA, 17, 2, 1, 0), outcomes(Slowdown, 0, 0, 0, 3)...)
	rep := Tally(sc, 20, all, 0)
	if got := rate(t, rep.AAFalseAlarmRate); got != 0.1 || rep.Rows[0].GoalMet || rep.Rows[0].GoalPlausible {
		t.Errorf("A/A rate %v met %v plausible %v, want 0.1, missed and contradicted (CI above 1%%)", got, rep.Rows[0].GoalMet, rep.Rows[0].GoalPlausible)
	}
	// Only errors: no rate, and a goal is never met by no data.
	if rep.SlowdownDetectionRate != nil || rep.Rows[1].GoalMet {
		t.Errorf("slowdown rate %v met %v, want nil and missed", rep.SlowdownDetectionRate, rep.Rows[1].GoalMet)
	}
	if rep.LeakDetectionRate != nil || rep.IsolationDetectionRate != nil || rep.Rows[2].Runs != 0 {
		t.Errorf("scenarios without outcomes: leak %v isolation %v runs %d", rep.LeakDetectionRate, rep.IsolationDetectionRate, rep.Rows[2].Runs)
	}
	if rep.GoalsMet || rep.Complete {
		t.Errorf("goals met %v complete %v, want false false", rep.GoalsMet, rep.Complete)
	}
}

func TestTallyJSONKeys(t *testing.T) {
	t.Parallel()
	rep := Tally(four(t), 1, outcomes(AA, 1, 0, 0, 0), 3)
	data, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"aa_false_alarm_rate", "slowdown_detection_rate", "leak_detection_rate", "isolation_detection_rate", "runs", "wall_seconds"} {
		if _, ok := m[k]; !ok {
			t.Errorf("JSON lacks %q: %s", k, data)
		}
	}
	if m["aa_false_alarm_rate"] != 0.0 || m["leak_detection_rate"] != nil || m["runs"] != 1.0 || m["wall_seconds"] != 3.0 {
		t.Errorf("aa %v leak %v runs %v wall %v; want 0, null, 1, 3", m["aa_false_alarm_rate"], m["leak_detection_rate"], m["runs"], m["wall_seconds"])
	}
}

func TestTallySmallestDetectedSlowdown(t *testing.T) {
	t.Parallel()
	sc := four(t, 1.05, 1.10, 1.20)
	if len(sc) != 7 { // the built-in +10% is a delay; ×1.10 by --slowdown is its own
		t.Fatalf("%d scenarios, want 7", len(sc))
	}
	var all []Outcome
	all = append(all, outcomes("slowdown-1.1", 2, 8, 0, 0)...)  // 80%
	all = append(all, outcomes("slowdown-1.05", 7, 3, 0, 0)...) // 30%
	all = append(all, outcomes("slowdown-1.2", 0, 10, 0, 0)...) // 100%
	rep := Tally(sc, 10, all, 0)
	if rep.SmallestDetectedSlowdown != "1.20" {
		t.Errorf("smallest detected slowdown %q, want 1.20", rep.SmallestDetectedSlowdown)
	}
	got := map[string]float64{}
	for k, v := range rep.SlowdownDetectionRates {
		got[k] = rate(t, v)
	}
	if want := map[string]float64{"1.05": 0.3, "1.10": 0.8, "1.20": 1}; !reflect.DeepEqual(got, want) {
		t.Errorf("slowdown rates %v, want %v", got, want)
	}
	// The extra factors have no goal: only the built-in +10% is judged.
	for _, row := range rep.Rows {
		if strings.HasPrefix(row.Scenario, Slowdown+"-") && (!row.GoalMet || row.Goal != "—") {
			t.Errorf("row %s goal %q met %v, want none", row.Scenario, row.Goal, row.GoalMet)
		}
	}
	if !strings.Contains(verdict(t, rep), "×1.20") {
		t.Errorf("table does not name the smallest detected slowdown:\n%s", verdict(t, rep))
	}
}

func verdict(t *testing.T, rep *Report) string {
	t.Helper()
	var b bytes.Buffer
	if err := rep.Text()(&b); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// TestTallyEffects: the mean of every latency check, the check that moved
// most, and the effect cell that names it only when it moved more than
// p50.
func TestTallyEffects(t *testing.T) {
	t.Parallel()
	all := outcomes(Slowdown, 0, 2, 0, 0)
	all[0].Effect, all[0].Effects = 1.03, map[string]float64{"http p50": 1.03, "http p99": 1.05, "ws p95": 1.04}
	all[1].Effect, all[1].Effects = 1.01, map[string]float64{"http p50": 1.01, "http p99": 1.03, "ws p95": 1.05}
	aa := outcomes(AA, 1, 0, 0, 0)
	aa[0].Effect, aa[0].Effects = 1.002, map[string]float64{"http p50": 1.002, "ws p99": 0.99}
	rep := Tally(four(t), 20, append(all, aa...), 1)
	row := rep.Rows[1]
	if row.Effect < 1.0199 || row.Effect > 1.0201 || row.MaxEffectCheck != "ws p95" || row.Effects["http p99"] < 1.0399 || row.Effects["http p99"] > 1.0401 {
		t.Errorf("+10%% row: effect %v, effects %v, max %q; want 1.02, http p99 1.04, max ws p95 (1.045)", row.Effect, row.Effects, row.MaxEffectCheck)
	}
	if got, want := effectCell(row), "+2.0% (max +4.5% ws p95)"; got != want {
		t.Errorf("effect cell %q, want %q", got, want)
	}
	// A/A: p50 is the largest, so the cell is p50 alone.
	if got, want := effectCell(rep.Rows[0]), "+0.2%"; got != want {
		t.Errorf("A/A effect cell %q, want %q", got, want)
	}
	if got := effectCell(rep.Rows[2]); got != "—" {
		t.Errorf("leak effect cell %q without data, want —", got)
	}
}

func TestTextAndMarkdownTables(t *testing.T) {
	t.Parallel()
	var all []Outcome
	all = append(all, outcomes(AA, 19, 1, 0, 0)...)
	all = append(all, outcomes(Slowdown, 0, 80, 0, 0)...)
	all = append(all, outcomes(Leak, 0, 20, 0, 0)...)
	all = append(all, outcomes(Isolation, 0, 19, 0, 1)...)
	rep := Tally(four(t), 20, all, 5400)
	text := verdict(t, rep)
	for _, want := range []string{"scenario", "inconclusive", "error", "A/A (no change)", "5% false alarms (0.1%–24.9%)", "≤ 1%", "+10% (+" + SlowdownDelay + ")", "100% detected", "1 compare(s) ended in a run error", "wall 1.5 h"} {
		if !strings.Contains(text, want) {
			t.Errorf("text table lacks %q:\n%s", want, text)
		}
	}
	// +10%: 80/80 shows ≥ 95%; isolation 19/19 is 100%; A/A 1/20 and the
	// leak's 20/20 reach their goals but cannot show them with 20 runs.
	if n, m := strings.Count(text, "✓"), strings.Count(text, "~"); n != 2 || m != 2 {
		t.Errorf("%d goals marked met, %d plausible; want 2 and 2:\n%s", n, m, text)
	}

	m := results.NewManifest("validate", []string{"loadbench", "validate", "--runs", "20"})
	rep.Manifest = &m
	rep.Settings = Settings{Runs: 20, Rounds: 0, RoundDuration: "4s", Budget: 0.05, Alpha: 0.05, Percentiles: []string{"p50", "p99"}}
	var b bytes.Buffer
	if err := rep.Markdown()(&b); err != nil {
		t.Fatal(err)
	}
	md := b.String()
	for _, want := range []string{"`loadbench validate --runs 20`", "Machine: ", "auto rounds of 4s", "| A/A (no change) | 20 | 19 | 1 | 0 | 0 | 5% false alarms (0.1%–24.9%) | ≤ 1% | ~ | — | 0 | 10 / 10 |", "| isolation (legacy build) | 20 | 0 | 19 | 0 | 1 | 100% detected (82.4%–100%) | 100% | ✓ | — | 0 | 10 / 10 |", "Clopper–Pearson"} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
}

func TestClassifiers(t *testing.T) {
	t.Parallel()
	lat := func(vs ...results.Verdict) []results.LatencyVerdict {
		var out []results.LatencyVerdict
		for _, v := range vs {
			out = append(out, results.LatencyVerdict{Verdict: v})
		}
		return out
	}
	sum := &results.Summary{
		Verdict: results.Fail,
		Latency: lat(results.Pass, results.Inconclusive, results.Pass),
		Memory:  map[string]results.MemoryVerdict{results.Baseline: {Verdict: results.Fail}, results.Candidate: {Verdict: results.Pass}},
		Isolation: map[string]results.IsolationVerdict{
			results.Baseline: {Verdict: results.Pass}, results.Candidate: {Verdict: results.Fail},
		},
	}
	cases := []struct {
		name string
		f    func(*results.Summary) results.Verdict
		sum  *results.Summary
		want results.Verdict
	}{
		{"overall", OverallVerdict, sum, results.Fail},
		{"overall info", OverallVerdict, &results.Summary{Verdict: results.Info}, results.Inconclusive},
		{"latency mixed", LatencyVerdict, sum, results.Inconclusive},
		{"latency one fail", LatencyVerdict, &results.Summary{Latency: lat(results.Pass, results.Inconclusive, results.Fail)}, results.Fail},
		{"latency all pass", LatencyVerdict, &results.Summary{Latency: lat(results.Pass, results.Pass)}, results.Pass},
		{"latency none", LatencyVerdict, &results.Summary{}, results.Inconclusive},
		{"memory is the candidate's", MemoryVerdict, sum, results.Pass},
		{"memory missing", MemoryVerdict, &results.Summary{}, results.Inconclusive},
		{"isolation is the candidate's", IsolationVerdict, sum, results.Fail},
		{"isolation missing", IsolationVerdict, &results.Summary{}, results.Inconclusive},
		{"errors", ErrorVerdict, &results.Summary{Errors: &results.ErrorVerdict{Verdict: results.Fail}}, results.Fail},
		{"errors missing", ErrorVerdict, &results.Summary{}, results.Inconclusive},
	}
	for _, c := range cases {
		if got := c.f(c.sum); got != c.want {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
	}
}

func TestScenariosConfigure(t *testing.T) {
	t.Parallel()
	base := Setup{Builds: builtin.Spec{Candidate: builtin.Build{Args: []string{"--think", "1ms"}}}, Options: loadbench.CompareOptions{Rounds: 6}}
	got := map[string]Setup{}
	all, err := Scenarios(DefaultScenarioNames(), []float64{1.05})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range all {
		c := cloneSetup(base)
		s.Configure(&c)
		got[s.Name] = c
	}
	if c := got[AA]; c.Builds.Baseline.Impl != "perrequest" || c.Builds.Candidate.Impl != "perrequest" || len(c.Builds.Candidate.Args) != 2 {
		t.Errorf("A/A config %+v", c)
	}
	if c := got[Slowdown]; c.Builds.Candidate.Impl != "perrequest" || !slices.Equal(c.Builds.Candidate.Args, []string{"--think", "1ms", "--delay", SlowdownDelay}) {
		t.Errorf("slowdown config impl %q args %q", c.Builds.Candidate.Impl, c.Builds.Candidate.Args)
	}
	if c := got["slowdown-1.05"]; !slices.Equal(c.Builds.Candidate.Args, []string{"--think", "1ms", "--slowdown", "1.05"}) {
		t.Errorf("slowdown ×1.05 args %q", c.Builds.Candidate.Args)
	}
	if c := got[Leak]; !slices.Equal(c.Builds.Candidate.Args, []string{"--think", "1ms", "--leak", "32"}) {
		t.Errorf("leak args %q", c.Builds.Candidate.Args)
	}
	for name, want := range map[string][]string{
		Within: {"--delay", WithinDelay}, AtBudget: {"--delay", BudgetDelay},
		Errors: {"--ws-fail-rate", "0.005"}, LeakPerUser: {"--leak-per-user", "2048"},
	} {
		if c := got[name]; c.Builds.Baseline.Impl != "perrequest" || !slices.Equal(c.Builds.Candidate.Args, append([]string{"--think", "1ms"}, want...)) {
			t.Errorf("%s config %q %q", name, c.Builds.Baseline.Impl, c.Builds.Candidate.Args)
		}
	}
	if c := got[Legacy]; c.Builds.Baseline.Impl != "baseline" || c.Builds.Candidate.Impl != "perrequest" || len(c.Builds.Candidate.Args) != 2 {
		t.Errorf("legacy config %+v", c)
	}
	if c := got[Isolation]; c.Builds.Candidate.Impl != "baseline" || c.Builds.Baseline.Impl != "perrequest" {
		t.Errorf("isolation impls %q %q, want perrequest baseline", c.Builds.Baseline.Impl, c.Builds.Candidate.Impl)
	}
	if !slices.Equal(base.Builds.Candidate.Args, []string{"--think", "1ms"}) {
		t.Errorf("scenarios changed the shared config: %q", base.Builds.Candidate.Args)
	}
	// No scenario has a per-run setting: every compare draws its own seed,
	// and the injected failures follow the user ids it seeds.
	for _, s := range all {
		if s.PerRun != nil {
			t.Errorf("%s: a per-run setting", s.Name)
		}
	}
}

func TestScenariosAndSlowdownsRejectBadInput(t *testing.T) {
	t.Parallel()
	for _, names := range [][]string{{"aa", "bogus"}, {"aa", "aa"}, {}} {
		if _, err := Scenarios(names, nil); err == nil {
			t.Errorf("Scenarios(%q) = nil error", names)
		}
	}
	if _, err := Scenarios([]string{AA}, []float64{0.9}); err == nil {
		t.Error("Scenarios with slowdown 0.9: nil error")
	}
	if sc, err := Scenarios(nil, []float64{1.05}); err != nil || len(sc) != 1 || sc[0].Name != "slowdown-1.05" {
		t.Errorf("only --slowdowns 1.05: %v, %v", sc, err)
	}
	for _, s := range []string{"1.05,x", "1", "0.5", "1.05,,1.1"} {
		if _, err := ParseSlowdowns(s); err == nil {
			t.Errorf("ParseSlowdowns(%q) = nil error", s)
		}
	}
	if got, err := ParseSlowdowns(" 1.05, 1.10,1.2 "); err != nil || !slices.Equal(got, []float64{1.05, 1.1, 1.2}) {
		t.Errorf("ParseSlowdowns = %v, %v", got, err)
	}
	if got, err := ParseSlowdowns(""); err != nil || got != nil {
		t.Errorf("ParseSlowdowns(\"\") = %v, %v; want none", got, err)
	}
}

// fakeCompare answers every compare with a summary that the scenario's
// classifier reads as the scenario's right answer, except where fail
// says otherwise, and records what it was asked.
type fakeCompare struct {
	t      *testing.T
	out    string
	calls  []Setup
	errAt  int   // 1-based call that returns a run error; 0: none
	errOf  error // that error
	cancel func()
	stopAt int // call after which cancel is called
}

func (f *fakeCompare) run(ctx context.Context, spec builtin.Spec, o loadbench.CompareOptions) (*loadbench.Comparison, error) {
	c := Setup{Options: o, Builds: spec}
	f.calls = append(f.calls, c)
	n := len(f.calls)
	// The report on disk already counts every compare before this one.
	var rep Report
	if err := results.ReadJSON(filepath.Join(f.out, JSONFile), &rep); err != nil && n > 1 {
		f.t.Errorf("call %d: %v", n, err)
	} else if n > 1 && len(rep.Outcomes) != n-1 {
		f.t.Errorf("call %d: report on disk holds %d outcomes, want %d", n, len(rep.Outcomes), n-1)
	}
	if f.stopAt == n {
		f.cancel()
		return &loadbench.Comparison{Dir: c.Options.Dir}, fmt.Errorf("compare: interrupted: %w", context.Canceled)
	}
	if f.errAt == n {
		return &loadbench.Comparison{Dir: c.Options.Dir}, f.errOf
	}
	sum := &results.Summary{
		Verdict:   results.Pass,
		Latency:   []results.LatencyVerdict{{Verdict: results.Pass}},
		Memory:    map[string]results.MemoryVerdict{results.Candidate: {Verdict: results.Pass}},
		Isolation: map[string]results.IsolationVerdict{results.Candidate: {Verdict: results.Pass}},
	}
	switch {
	case slices.Contains(c.Builds.Candidate.Args, "--slowdown") || slices.Contains(c.Builds.Candidate.Args, "--delay"):
		sum.Latency[0].Verdict = results.Fail
	case slices.Contains(c.Builds.Candidate.Args, "--leak"):
		sum.Memory[results.Candidate] = results.MemoryVerdict{Verdict: results.Fail}
	case c.Builds.Candidate.Impl == "baseline":
		sum.Isolation[results.Candidate] = results.IsolationVerdict{Verdict: results.Fail}
	}
	return &loadbench.Comparison{Dir: c.Options.Dir, Summary: sum}, nil
}

func TestRunInterleavesCountsErrorsAndWritesAfterEveryCompare(t *testing.T) {
	t.Parallel()
	out := t.TempDir()
	f := &fakeCompare{t: t, out: out, errAt: 6, errOf: fmt.Errorf("compare: target crashed: %w", errors.New("run error"))}
	var progress []Progress
	rep, err := Run(context.Background(), Config{
		Runs: 3, Out: out, CompareFunc: f.run, Scenarios: four(t),
		Compare:  loadbench.CompareOptions{Rounds: 4},
		Builds:   builtin.Spec{Candidate: builtin.Build{Args: []string{"--think", "1ms"}}},
		Progress: func(p Progress) { progress = append(progress, p) },
	})
	if err != nil {
		t.Fatal(err)
	}
	var order []string
	for _, c := range f.calls {
		rel, _ := filepath.Rel(out, c.Options.Dir)
		order = append(order, rel)
		if c.Options.Rounds != 4 {
			t.Errorf("%s: rounds %d, want the validation's 4", rel, c.Options.Rounds)
		}
	}
	var want []string
	for run := 1; run <= 3; run++ {
		for _, s := range []string{AA, Slowdown, Leak, Isolation} {
			want = append(want, filepath.Join(s, fmt.Sprintf("run-%02d", run)))
		}
	}
	if !slices.Equal(order, want) {
		t.Errorf("compares ran into\n%q\nwant (interleaved)\n%q", order, want)
	}
	// Call 6 (slowdown, run 2) errored: counted as an error, not dropped.
	row := rep.Rows[1]
	if row.Runs != 3 || row.Fail != 2 || row.Errors != 1 || rate(t, rep.SlowdownDetectionRate) != 1 {
		t.Errorf("slowdown row %+v rate %v, want 3 runs, 2 fail, 1 error, rate 1", row, rep.SlowdownDetectionRate)
	}
	// Three runs cannot show a ≤ 1% or ≥ 95% goal (Clopper–Pearson), only
	// the isolation's 100%.
	if rep.Errors != 1 || rep.GoalsMet || !rep.Complete || rate(t, rep.AAFalseAlarmRate) != 0 || !rep.Rows[3].GoalMet {
		t.Errorf("errors %d goals met %v complete %v", rep.Errors, rep.GoalsMet, rep.Complete)
	}
	var onDisk Report
	if err := results.ReadJSON(filepath.Join(out, JSONFile), &onDisk); err != nil {
		t.Fatal(err)
	}
	if len(onDisk.Outcomes) != 12 || onDisk.Outcomes[5].Verdict != Error || !strings.Contains(onDisk.Outcomes[5].Reason, "target crashed") {
		t.Errorf("outcomes on disk: %d, sixth %+v", len(onDisk.Outcomes), onDisk.Outcomes[5])
	}
	if onDisk.Settings.Rounds != 4 || onDisk.Manifest == nil || onDisk.Manifest.Kind != "validate" || onDisk.Manifest.Partial {
		t.Errorf("settings %+v manifest %+v", onDisk.Settings, onDisk.Manifest)
	}
	md, err := os.ReadFile(filepath.Join(out, MarkdownFile))
	if err != nil || !strings.Contains(string(md), "| leak 32 B/chat | 3 | 0 | 3 |") {
		t.Errorf("validation.md (%v):\n%s", err, md)
	}
	if len(progress) == 0 || progress[0].Run != 1 || progress[0].Total != 12 {
		t.Errorf("progress %+v", progress)
	}
}

func TestRunStopsOnCancellationKeepingCounts(t *testing.T) {
	t.Parallel()
	out := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	f := &fakeCompare{t: t, out: out, cancel: cancel, stopAt: 3}
	rep, err := Run(ctx, Config{Runs: 2, Out: out, CompareFunc: f.run})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v, want cancellation", err)
	}
	if len(f.calls) != 3 || rep == nil || len(rep.Outcomes) != 2 || rep.Complete {
		t.Fatalf("%d calls, report %+v", len(f.calls), rep)
	}
	var onDisk Report
	if err := results.ReadJSON(filepath.Join(out, JSONFile), &onDisk); err != nil {
		t.Fatal(err)
	}
	if len(onDisk.Outcomes) != 2 || !onDisk.Manifest.Partial {
		t.Errorf("on disk: %d outcomes, partial %v; want 2 and partial", len(onDisk.Outcomes), onDisk.Manifest.Partial)
	}
}

func TestRunUsageErrors(t *testing.T) {
	t.Parallel()
	f := &fakeCompare{t: t, errAt: 1, errOf: usage.Errorf("compare: rounds must be at least 2")}
	f.out = t.TempDir()
	if _, err := Run(context.Background(), Config{Out: f.out, CompareFunc: f.run}); !errors.Is(err, usage.ErrUsage) || len(f.calls) != 1 {
		t.Errorf("compare usage error: %v after %d calls, want ErrUsage after 1", err, len(f.calls))
	}
	for _, cfg := range []Config{{Runs: -1, Out: "x"}, {Runs: 1}, {Runs: 1, Out: "x", Scenarios: []Scenario{}}} {
		if _, err := Run(context.Background(), cfg); !errors.Is(err, usage.ErrUsage) {
			t.Errorf("Run(%+v) = %v, want ErrUsage", cfg, err)
		}
	}
}
