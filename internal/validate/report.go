package validate

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/loadbench/loadbench/results"
)

// Outcome is one compare of a validation.
type Outcome struct {
	Scenario string  `json:"scenario"`
	Run      int     `json:"run"`     // from 1
	Verdict  string  `json:"verdict"` // results.Pass, Fail, Inconclusive, or Error
	Overall  string  `json:"overall,omitempty"`
	Reason   string  `json:"reason,omitempty"` // the summary's reason, or the error
	Dir      string  `json:"dir"`
	Seconds  float64 `json:"seconds"` // wall time of the compare
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
	// Rate is Fail over the completed compares (Runs − Errors): the false
	// alarm rate of A/A, the detection rate of the others. Nil before any
	// compare completed.
	Rate *float64 `json:"rate"`
	// Goal is the goal as written ("≤ 5%"), GoalMet whether Rate meets it.
	Goal    string `json:"goal"`
	GoalMet bool   `json:"goal_met"`
	// MeanSeconds is the mean wall time of one compare.
	MeanSeconds float64 `json:"mean_seconds"`
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
	secs := make([]float64, len(scenarios))
	for i, s := range scenarios {
		idx[s.Name] = i
		r.Rows = append(r.Rows, Row{Scenario: s.Name, Title: s.Title, Measures: s.Measures, Goal: s.Goal.String()})
	}
	for _, o := range outcomes {
		i, ok := idx[o.Scenario]
		if !ok {
			continue
		}
		row := &r.Rows[i]
		row.Runs++
		secs[i] += o.Seconds
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
			rate := float64(row.Fail) / float64(done)
			row.Rate = &rate
		}
		if row.Runs > 0 {
			row.MeanSeconds = secs[i] / float64(row.Runs)
		}
		goal := scenarios[i].Goal
		row.GoalMet = goal.Kind == NoGoal || row.Rate != nil && goal.Met(*row.Rate, done)
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
		if f, ok := slowdownFactor(row.Scenario); ok {
			if row.Scenario == Slowdown {
				r.SlowdownDetectionRate = row.Rate
			}
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

// slowdownFactor is the factor of a slowdown scenario's name.
func slowdownFactor(name string) (float64, bool) {
	if name == Slowdown {
		return DefaultSlowdown, true
	}
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
		fmt.Fprintf(&b, "Settings: %d runs per scenario; each compare %d rounds of %s per build, warmup %s, settle %s, HTTP %g/s, WebSocket %g/s, %d users; budget %s, alpha %g, percentiles %s.\n\n",
			s.Runs, s.Rounds, s.RoundDuration, s.Warmup, s.Settle, s.HTTPRate, s.WSRate, s.Users,
			percent(s.Budget), s.Alpha, strings.Join(s.Percentiles, ", "))
		b.WriteString("| scenario | runs | pass | fail | inconclusive | error | rate | goal | met | s/compare |\n")
		b.WriteString("|---|---:|---:|---:|---:|---:|---:|---:|:---:|---:|\n")
		for _, row := range r.Rows {
			fmt.Fprintf(&b, "| %s | %d | %d | %d | %d | %d | %s | %s | %s | %.0f |\n",
				row.Title, row.Runs, row.Pass, row.Fail, row.Inconclusive, row.Errors,
				rateCell(row), row.Goal, mark(row), row.MeanSeconds)
		}
		fmt.Fprintf(&b, "\nRate: fail / completed compares (runs − errors): false alarms for A/A, detections for the others. Wall time %s.\n\n",
			wallText(r.WallSeconds))
		fmt.Fprintf(&b, "%s\n", r.verdictLine())
		if _, err := io.WriteString(w, b.String()); err != nil {
			return fmt.Errorf("write validation markdown: %w", err)
		}
		return nil
	}
}

func (r *Report) verdictLine() string {
	var parts []string
	if r.Errors > 0 {
		parts = append(parts, fmt.Sprintf("%d compare(s) ended in a run error", r.Errors))
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
	return fmt.Sprintf("%s %s", percent(*row.Rate), row.Measures)
}

func mark(row Row) string {
	switch {
	case row.Goal == "" || row.Goal == (Goal{}).String():
		return ""
	case row.GoalMet:
		return "✓"
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
