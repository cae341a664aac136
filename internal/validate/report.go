package validate

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/loadbench/loadbench/internal/gate"
	"github.com/loadbench/loadbench/results"
)

// Outcome is one compare (or capacity run) of a validation.
type Outcome struct {
	Scenario string          `json:"scenario"`
	Run      int             `json:"run"`     // from 1
	Verdict  results.Verdict `json:"verdict"` // results.Pass, Fail, Inconclusive, or Error
	Overall  results.Verdict `json:"overall,omitempty"`
	Reason   string          `json:"reason,omitempty"` // the summary's reason, or the error
	Dir      string          `json:"dir"`
	Seconds  float64         `json:"seconds"` // wall time of the compare
	Rounds   int             `json:"rounds,omitempty"`
	// Effect is the measured end-to-end effect: the candidate/baseline
	// ratio of the first latency check (p50 of the first protocol); 0 when
	// none.
	Effect float64 `json:"effect,omitempty"`
	// Effects is the candidate/baseline ratio of every latency check, by
	// check ("http p99").
	Effects map[string]float64 `json:"effects,omitempty"`
	// Steps, CPURatio and ThroughputRatio are a capacity run's: its steps,
	// and the candidate/baseline ratios of CPU per chat and of sustainable
	// throughput (summary.json cpu.ratio and capacity.ratio); 0 where not
	// measured.
	Steps           int     `json:"steps,omitempty"`
	CPURatio        float64 `json:"cpu_ratio,omitempty"`
	ThroughputRatio float64 `json:"throughput_ratio,omitempty"`
}

// Row is one scenario's line of the table.
type Row struct {
	Scenario     string `json:"scenario"`
	Title        string `json:"title"`
	Measures     string `json:"measures"` // "false alarms" or "detected"
	Runs         int    `json:"runs"`     // compares started, errors included
	Pass         int    `json:"pass"`
	Fail         int    `json:"fail"`
	Inconclusive int    `json:"inconclusive"`
	Errors       int    `json:"errors"`
	// Rate is the counted outcome (Fail, or Pass for "passed" scenarios)
	// over the completed compares (Runs − Errors): the false alarm rate
	// of A/A, the detection rate of the others. Nil before any compare
	// completed. RateLow and RateHigh are its 95% Clopper–Pearson
	// interval.
	Rate     *float64 `json:"rate"`
	RateLow  float64  `json:"rate_low"`
	RateHigh float64  `json:"rate_high"`
	// Goal is the goal as written ("≤ 5%"); GoalMet whether the interval's
	// bound meets it; GoalPlausible whether the interval reaches it (more
	// runs could show it).
	Goal          string `json:"goal"`
	GoalMet       bool   `json:"goal_met"`
	GoalPlausible bool   `json:"goal_plausible"`
	// MeanSeconds, MedianSeconds and MaxSeconds are the wall times of
	// one compare; MedianRounds its rounds.
	MeanSeconds   float64 `json:"mean_seconds"`
	MedianSeconds float64 `json:"median_seconds"`
	MaxSeconds    float64 `json:"max_seconds"`
	MedianRounds  float64 `json:"median_rounds"`
	// Effect is the mean measured end-to-end effect (Outcome.Effect).
	Effect float64 `json:"effect,omitempty"`
	// Effects is the mean ratio of every latency check (Outcome.Effects);
	// MaxEffectCheck names the check with the largest. In the real runs a
	// fixed delay moved the tails by more than the median, and a tail on
	// the budget keeps a compare undecided whatever its p50 shows.
	Effects        map[string]float64 `json:"effects,omitempty"`
	MaxEffectCheck string             `json:"max_effect_check,omitempty"`
	// Capacity marks a capacity scenario: its runs are capacity runs.
	// MedianSteps is their median number of steps; CPUEffect and
	// ThroughputEffect the mean measured ratios (Outcome.CPURatio,
	// Outcome.ThroughputRatio) over the runs that measured them.
	Capacity         bool    `json:"capacity,omitempty"`
	MedianSteps      float64 `json:"median_steps,omitempty"`
	CPUEffect        float64 `json:"cpu_effect,omitempty"`
	ThroughputEffect float64 `json:"throughput_effect,omitempty"`
}

// Settings are the compare settings a validation ran with.
type Settings struct {
	Runs          int      `json:"runs"`
	Rounds        int      `json:"rounds"`
	RoundDuration string   `json:"round_duration"`
	Warmup        string   `json:"warmup"`
	Settle        string   `json:"settle"`
	HTTPRate      float64  `json:"http_rate"`
	WSRate        float64  `json:"ws_rate"`
	Users         int      `json:"users"`
	Budget        float64  `json:"budget"`
	Alpha         float64  `json:"alpha"`
	Percentiles   []string `json:"percentiles"`
	Scenarios     []string `json:"scenarios"`
	// Capacity is the plan the capacity scenarios' runs start from; nil
	// when none was selected.
	Capacity *CapacitySettings `json:"capacity,omitempty"`
}

// CapacitySettings are the settings of the capacity runs: `loadbench
// capacity`'s plan, its defaults filled in.
type CapacitySettings struct {
	Protocols    []string `json:"protocols"`
	Users        int      `json:"users"`
	Timeout      string   `json:"timeout"`
	StepDuration string   `json:"step_duration"`
	Warmup       string   `json:"warmup"`
	// Repeats is the bisections per build; CPURounds the paired rounds per
	// CPU rate, at CPUFractions of the baseline's sustainable rate, or at
	// CPURates (chats/s, by scenario) for the scenarios that skip the
	// search.
	Repeats        int                  `json:"repeats"`
	CPURounds      int                  `json:"cpu_rounds"`
	CPUFractions   []float64            `json:"cpu_fractions,omitempty"`
	CPURates       map[string][]float64 `json:"cpu_rates,omitempty"`
	CPUBudget      float64              `json:"cpu_budget"`
	CapacityBudget float64              `json:"capacity_budget"`
	ErrorBudget    float64              `json:"error_budget"`
	Alpha          float64              `json:"alpha"`
}

// Report is the tally of a validation: validation.json. The first six
// fields are what `loadbench validate --json` promises; a rate is null when
// its scenario did not run or no compare of it completed.
type Report struct {
	AAFalseAlarmRate       *float64 `json:"aa_false_alarm_rate"`
	SlowdownDetectionRate  *float64 `json:"slowdown_detection_rate"`
	LeakDetectionRate      *float64 `json:"leak_detection_rate"`
	IsolationDetectionRate *float64 `json:"isolation_detection_rate"`
	// Runs is the number of compares per scenario asked for.
	Runs        int     `json:"runs"`
	WallSeconds float64 `json:"wall_seconds"`

	// SlowdownDetectionRates are the detection rates of every slowdown
	// scenario, by factor ("1.05").
	SlowdownDetectionRates map[string]*float64 `json:"slowdown_detection_rates,omitempty"`
	// SmallestDetectedSlowdown is the smallest factor detected in at least
	// MinSlowdownDetection of the runs, among two or more measured; empty
	// otherwise.
	SmallestDetectedSlowdown string `json:"smallest_detected_slowdown,omitempty"`
	// GoalsMet: every goal met; Complete: every compare asked for ran.
	GoalsMet bool              `json:"goals_met"`
	Complete bool              `json:"complete"`
	Errors   int               `json:"errors"`
	Settings Settings          `json:"settings"`
	Manifest *results.Manifest `json:"manifest,omitempty"`
	Rows     []Row             `json:"scenarios"`
	Outcomes []Outcome         `json:"outcomes,omitempty"`
}

// Tally counts outcomes per scenario into a report. It is pure: the
// scenarios give the rows and their order, runs the compares asked for per
// scenario, wall the elapsed seconds. Outcomes of unknown scenarios are
// ignored.
func Tally(scenarios []Scenario, runs int, outcomes []Outcome, wall float64) *Report {
	r := &Report{Runs: runs, WallSeconds: wall, Outcomes: outcomes, GoalsMet: true, Complete: true}
	idx := map[string]int{}
	secs := make([][]float64, len(scenarios))
	rounds := make([][]float64, len(scenarios))
	effects := make([][]float64, len(scenarios))
	checks := make([]map[string][]float64, len(scenarios))
	steps := make([][]float64, len(scenarios))
	cpus := make([][]float64, len(scenarios))
	throughputs := make([][]float64, len(scenarios))
	counted := make([]int, len(scenarios))
	for i, s := range scenarios {
		idx[s.Name] = i
		r.Rows = append(r.Rows, Row{Scenario: s.Name, Title: s.Title, Measures: s.Measures, Goal: s.Goal.String(), Capacity: s.IsCapacity()})
	}
	for _, o := range outcomes {
		i, ok := idx[o.Scenario]
		if !ok {
			continue
		}
		row := &r.Rows[i]
		row.Runs++
		secs[i] = append(secs[i], o.Seconds)
		if o.Rounds > 0 {
			rounds[i] = append(rounds[i], float64(o.Rounds))
		}
		if o.Effect > 0 {
			effects[i] = append(effects[i], o.Effect)
		}
		if o.Steps > 0 {
			steps[i] = append(steps[i], float64(o.Steps))
		}
		if o.CPURatio > 0 {
			cpus[i] = append(cpus[i], o.CPURatio)
		}
		if o.ThroughputRatio > 0 {
			throughputs[i] = append(throughputs[i], o.ThroughputRatio)
		}
		for k, v := range o.Effects {
			if checks[i] == nil {
				checks[i] = map[string][]float64{}
			}
			checks[i][k] = append(checks[i][k], v)
		}
		want := scenarios[i].Counts
		if want == "" {
			want = results.Fail
		}
		if o.Verdict == want {
			counted[i]++
		}
		switch o.Verdict {
		case results.Pass:
			row.Pass++
		case results.Fail:
			row.Fail++
		case Error:
			row.Errors++
		default:
			row.Inconclusive++
		}
	}
	var smallest float64
	for i := range r.Rows {
		row := &r.Rows[i]
		done := row.Runs - row.Errors
		if done > 0 {
			rate := float64(counted[i]) / float64(done)
			row.Rate = &rate
			row.RateLow, row.RateHigh = gate.ClopperPearson(counted[i], done, GoalConfidence)
		}
		if row.Runs > 0 {
			row.MeanSeconds = mean(secs[i])
			row.MedianSeconds = medianOf(secs[i])
			row.MaxSeconds = slices.Max(secs[i])
		}
		if len(rounds[i]) > 0 {
			row.MedianRounds = medianOf(rounds[i])
		}
		if len(effects[i]) > 0 {
			row.Effect = mean(effects[i])
		}
		if len(steps[i]) > 0 {
			row.MedianSteps = medianOf(steps[i])
		}
		if len(cpus[i]) > 0 {
			row.CPUEffect = mean(cpus[i])
		}
		if len(throughputs[i]) > 0 {
			row.ThroughputEffect = mean(throughputs[i])
		}
		for _, k := range slices.Sorted(maps.Keys(checks[i])) {
			if row.Effects == nil {
				row.Effects = map[string]float64{}
			}
			row.Effects[k] = mean(checks[i][k])
			if row.MaxEffectCheck == "" || row.Effects[k] > row.Effects[row.MaxEffectCheck] {
				row.MaxEffectCheck = k
			}
		}
		goal := scenarios[i].Goal
		row.GoalMet = goal.Kind == NoGoal || row.Rate != nil && goal.Met(counted[i], done)
		row.GoalPlausible = goal.Plausible(counted[i], done)
		r.GoalsMet = r.GoalsMet && row.GoalMet
		r.Errors += row.Errors
		r.Complete = r.Complete && row.Runs >= runs
		switch {
		case row.Scenario == AA:
			r.AAFalseAlarmRate = row.Rate
		case row.Scenario == Leak:
			r.LeakDetectionRate = row.Rate
		case row.Scenario == Isolation:
			r.IsolationDetectionRate = row.Rate
		}
		if row.Scenario == Slowdown {
			r.SlowdownDetectionRate = row.Rate
		}
		if f, ok := slowdownFactor(row.Scenario); ok {
			if r.SlowdownDetectionRates == nil {
				r.SlowdownDetectionRates = map[string]*float64{}
			}
			key := strconv.FormatFloat(f, 'f', 2, 64)
			r.SlowdownDetectionRates[key] = row.Rate
			if row.Rate != nil && *row.Rate >= MinSlowdownDetection-1e-12 && (smallest == 0 || f < smallest) {
				smallest = f
				r.SmallestDetectedSlowdown = key
			}
		}
	}
	if len(r.SlowdownDetectionRates) < 2 {
		r.SmallestDetectedSlowdown = "" // one factor measured says nothing about smaller ones
	}
	return r
}

func mean(v []float64) float64 {
	var s float64
	for _, x := range v {
		s += x
	}
	return s / float64(len(v))
}

func medianOf(v []float64) float64 {
	s := slices.Sorted(slices.Values(v))
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// slowdownFactor is the factor of a --slowdowns scenario's name.
func slowdownFactor(name string) (float64, bool) {
	rest, ok := strings.CutPrefix(name, Slowdown+"-")
	if !ok {
		return 0, false
	}
	f, err := strconv.ParseFloat(rest, 64)
	return f, err == nil
}

// Text writes the table for a terminal.
func (r *Report) Text() func(io.Writer) error {
	return func(w io.Writer) error {
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "scenario\truns\tpass\tfail\tinconclusive\terror\trate\tgoal\t")
		for _, row := range r.Rows {
			fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t%s\t%s\t%s\n",
				row.Title, row.Runs, row.Pass, row.Fail, row.Inconclusive, row.Errors,
				rateCell(row), row.Goal, mark(row))
		}
		if err := tw.Flush(); err != nil {
			return fmt.Errorf("write validation table: %w", err)
		}
		_, err := fmt.Fprintf(w, "%s\n", r.verdictLine())
		if err != nil {
			return fmt.Errorf("write validation table: %w", err)
		}
		return nil
	}
}

// Markdown writes the table and the settings as Markdown, the form of
// validation.md and of the table in docs/validation.md.
func (r *Report) Markdown() func(io.Writer) error {
	return func(w io.Writer) error {
		var b strings.Builder
		b.WriteString("# loadbench validation\n\n")
		if m := r.Manifest; m != nil {
			if len(m.Args) > 0 {
				fmt.Fprintf(&b, "Command: `%s`\n\n", strings.Join(m.Args, " "))
			}
			cpu := m.CPUModel
			if cpu == "" {
				cpu = "unknown CPU"
			}
			fmt.Fprintf(&b, "Machine: %s, %d CPUs, %s/%s, %s, loadbench %s\n\n", cpu, m.CPUs, m.OS, m.Arch, m.GoVersion, m.Version)
			fmt.Fprintf(&b, "Started %s", m.Start.Format("2006-01-02 15:04:05Z"))
			if !m.End.IsZero() {
				fmt.Fprintf(&b, ", ended %s", m.End.Format("2006-01-02 15:04:05Z"))
			}
			b.WriteString("\n\n")
		}
		s := r.Settings
		compares, capacities := r.kinds()
		if compares || !capacities {
			fmt.Fprintf(&b, "Settings: %d runs per scenario; each compare %s rounds of %s per build, warmup %s, settle %s, HTTP %g/s, WebSocket %g/s, %d users; budget %s, alpha %g, percentiles %s.\n\n",
				s.Runs, roundsText(s.Rounds), s.RoundDuration, s.Warmup, s.Settle, s.HTTPRate, s.WSRate, s.Users,
				percent(s.Budget), s.Alpha, strings.Join(s.Percentiles, ", "))
		}
		if c := s.Capacity; c != nil {
			fmt.Fprintf(&b, "Capacity runs (`loadbench capacity` of the built-in targets): %d runs per scenario; steps of %s, warmup %s, %s, %d users, timeout %s; %d bisections per build; %d CPU rounds per rate, %s; budgets: CPU per chat %s, throughput %s, target errors %s point; alpha %g.\n\n",
				s.Runs, c.StepDuration, c.Warmup, strings.Join(c.Protocols, " and "), c.Users, c.Timeout, c.Repeats, c.CPURounds,
				cpuRatesText(c), percent(c.CPUBudget), percent(c.CapacityBudget), strings.TrimSuffix(percent(c.ErrorBudget), "%"), c.Alpha)
		}
		b.WriteString("| scenario | runs | pass | fail | inconclusive | error | rate (95% CI) | goal | met | effect | median rounds | median / max s |\n")
		b.WriteString("|---|---:|---:|---:|---:|---:|---:|---:|:---:|---:|---:|---:|\n")
		for _, row := range r.Rows {
			fmt.Fprintf(&b, "| %s | %d | %d | %d | %d | %d | %s | %s | %s | %s | %s | %.0f / %.0f |\n",
				row.Title, row.Runs, row.Pass, row.Fail, row.Inconclusive, row.Errors,
				rateCell(row), row.Goal, mark(row), effectCell(row), roundsCell(row), row.MedianSeconds, row.MaxSeconds)
		}
		fmt.Fprintf(&b, "\nRate: the counted outcome (fail, or pass for \"passed\") over completed runs (runs − errors), with its 95%% Clopper–Pearson interval; a goal is met (✓) only when the interval's bound meets it, ~ when the interval reaches the goal but more runs are needed to show it, ✗ when it contradicts it. Effect, for compare rows: the mean measured candidate/baseline ratio of the first latency check (p50), and of the check that moved most when it moved more. Wall time %s.\n\n",
			wallText(r.WallSeconds))
		if capacities {
			b.WriteString("Capacity rows: each run is one capacity run; their effect is the mean candidate/baseline ratio of CPU per chat and of sustainable throughput over the runs that measured it, and their rounds column counts steps.\n\n")
		}
		fmt.Fprintf(&b, "%s\n", r.verdictLine())
		if _, err := io.WriteString(w, b.String()); err != nil {
			return fmt.Errorf("write validation markdown: %w", err)
		}
		return nil
	}
}

// kinds reports whether the report has compare rows and capacity rows.
func (r *Report) kinds() (compares, capacities bool) {
	for _, row := range r.Rows {
		if row.Capacity {
			capacities = true
		} else {
			compares = true
		}
	}
	return compares, capacities
}

// cpuRatesText says at which rates the capacity runs' CPU rounds ran.
func cpuRatesText(c *CapacitySettings) string {
	var parts []string
	if len(c.CPUFractions) > 0 {
		var fs []string
		for _, f := range c.CPUFractions {
			fs = append(fs, percent(f))
		}
		parts = append(parts, "at "+strings.Join(fs, " and ")+" of the baseline's sustainable rate")
	}
	for _, name := range slices.Sorted(maps.Keys(c.CPURates)) {
		var rs []string
		for _, v := range c.CPURates[name] {
			rs = append(rs, strconv.FormatFloat(v, 'f', -1, 64))
		}
		parts = append(parts, name+" at "+strings.Join(rs, ", ")+" chats/s without the throughput search")
	}
	return strings.Join(parts, "; ")
}

func (r *Report) verdictLine() string {
	var parts []string
	if r.Errors > 0 {
		what := "compare(s)"
		if _, capacities := r.kinds(); capacities {
			what = "run(s)"
		}
		parts = append(parts, fmt.Sprintf("%d %s ended in a run error", r.Errors, what))
	}
	if r.GoalsMet {
		if r.Errors == 0 {
			parts = append(parts, "every goal met")
		}
	} else {
		var missed []string
		for _, row := range r.Rows {
			if !row.GoalMet {
				missed = append(missed, row.Title)
			}
		}
		parts = append(parts, "goal missed: "+strings.Join(missed, ", "))
	}
	if r.SmallestDetectedSlowdown != "" {
		parts = append(parts, fmt.Sprintf("smallest slowdown detected in ≥%s of runs: ×%s", percent(MinSlowdownDetection), r.SmallestDetectedSlowdown))
	} else if len(r.SlowdownDetectionRates) > 1 {
		parts = append(parts, fmt.Sprintf("no slowdown measured was detected in ≥%s of runs", percent(MinSlowdownDetection)))
	}
	if !r.Complete {
		parts = append(parts, "incomplete")
	}
	parts = append(parts, fmt.Sprintf("%d runs per scenario, wall %s", r.Runs, wallText(r.WallSeconds)))
	return strings.Join(parts, "; ")
}

func rateCell(row Row) string {
	if row.Rate == nil {
		return "—"
	}
	return fmt.Sprintf("%s %s (%s–%s)", percent(*row.Rate), row.Measures, percent(row.RateLow), percent(row.RateHigh))
}

// effectCell is the mean p50 effect and, when another check moved more,
// that check's: "+3.0% (max +4.3% http p95)"; for a capacity scenario the
// mean CPU-per-chat and throughput ratios as changes: "CPU +9.0%,
// throughput -8.3%".
func effectCell(row Row) string {
	if row.Capacity {
		var parts []string
		if row.CPUEffect > 0 {
			parts = append(parts, fmt.Sprintf("CPU %+.1f%%", 100*(row.CPUEffect-1)))
		}
		if row.ThroughputEffect > 0 {
			parts = append(parts, fmt.Sprintf("throughput %+.1f%%", 100*(row.ThroughputEffect-1)))
		}
		if len(parts) == 0 {
			return "—"
		}
		return strings.Join(parts, ", ")
	}
	if row.Effect == 0 {
		return "—"
	}
	cell := fmt.Sprintf("%+.1f%%", 100*(row.Effect-1))
	if k := row.MaxEffectCheck; k != "" && row.Effects[k] > row.Effect {
		cell += fmt.Sprintf(" (max %+.1f%% %s)", 100*(row.Effects[k]-1), k)
	}
	return cell
}

// roundsCell is a compare scenario's median rounds, or a capacity
// scenario's median steps ("107 steps").
func roundsCell(row Row) string {
	if row.Capacity {
		if row.MedianSteps == 0 {
			return "—"
		}
		return fmt.Sprintf("%.0f steps", row.MedianSteps)
	}
	return fmt.Sprintf("%.0f", row.MedianRounds)
}

func mark(row Row) string {
	switch {
	case row.Goal == "" || row.Goal == (Goal{}).String():
		return ""
	case row.GoalMet:
		return "✓"
	case row.GoalPlausible:
		return "~"
	}
	return "✗"
}

func wallText(s float64) string {
	switch {
	case s >= 3600:
		return fmt.Sprintf("%.1f h", s/3600)
	case s >= 60:
		return fmt.Sprintf("%.1f min", s/60)
	}
	return fmt.Sprintf("%.0f s", s)
}

// roundsText is "auto" for 0 (until decided), else the number.
func roundsText(n int) string {
	if n == 0 {
		return "auto"
	}
	return strconv.Itoa(n)
}
