package validate

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/loadbench/loadbench/internal/compare"
	"github.com/loadbench/loadbench/results"
)

// Names of the built-in scenarios, as given to --scenarios.
const (
	AA        = "aa"
	Slowdown  = "slowdown"
	Leak      = "leak"
	Isolation = "isolation"
)

// Fault sizes of the built-in scenarios and the goals of the issue.
const (
	// DefaultSlowdown is the regression the slowdown scenario injects.
	DefaultSlowdown = 1.10
	// DefaultLeakBytes is what the leak scenario retains per request.
	DefaultLeakBytes = 1024
	// DefaultRuns is the number of compares per scenario.
	DefaultRuns = 20
	// MaxFalseAlarmRate is the goal of the A/A scenario.
	MaxFalseAlarmRate = 0.05
	// MinSlowdownDetection is the goal of the slowdown scenario.
	MinSlowdownDetection = 0.90
	// MinLeakDetection is the goal of the leak scenario.
	MinLeakDetection = 0.95
	// MinIsolationDetection is the goal of the isolation scenario.
	MinIsolationDetection = 1.0
)

// Outcomes of one compare in a scenario: the gate's verdicts (results.Pass,
// results.Fail, results.Inconclusive) and Error for a compare that did not
// complete.
const Error = "error"

// GoalKind says which way a goal bounds a rate.
type GoalKind int

// Goal kinds.
const (
	NoGoal  GoalKind = iota // informational: the rate is measured, not judged
	AtMost                  // rate ≤ Goal.Rate (false alarms)
	AtLeast                 // rate ≥ Goal.Rate (detections)
)

// Goal bounds a scenario's rate.
type Goal struct {
	Kind GoalKind
	Rate float64
}

// Met reports whether rate meets g. A goal is never met by no data (n == 0
// completed compares); NoGoal is always met.
func (g Goal) Met(rate float64, n int) bool {
	switch g.Kind {
	case AtMost:
		return n > 0 && rate <= g.Rate+1e-12
	case AtLeast:
		return n > 0 && rate >= g.Rate-1e-12
	}
	return true
}

// String is the goal as written in the table: "≤ 5%", "≥ 90%", "100%" or
// "—" for no goal.
func (g Goal) String() string {
	switch {
	case g.Kind == AtMost:
		return "≤ " + percent(g.Rate)
	case g.Kind == AtLeast && g.Rate >= 1:
		return percent(g.Rate)
	case g.Kind == AtLeast:
		return "≥ " + percent(g.Rate)
	}
	return "—"
}

// Scenario is one kind of compare whose right answer is known.
type Scenario struct {
	// Name is the key: in --scenarios, in the output directory and in the
	// JSON report.
	Name string
	// Title is what the table shows.
	Title string
	// Measures names the rate: "false alarms" or "detected".
	Measures string
	Goal     Goal
	// Configure turns the validation's compare settings into this
	// scenario's.
	Configure func(*compare.Config)
	// Classify reads the outcome that counts for the scenario from a
	// compare's summary: results.Pass, results.Fail or
	// results.Inconclusive. A "fail" is what the rate counts.
	Classify func(*results.Summary) string
}

// AAScenario compares the per-request build with itself: every overall
// "fail" is a false alarm.
func AAScenario() Scenario {
	return Scenario{
		Name: AA, Title: "A/A (no change)", Measures: "false alarms",
		Goal: Goal{AtMost, MaxFalseAlarmRate},
		Configure: func(c *compare.Config) {
			c.BaselineImpl, c.CandidateImpl = "perrequest", "perrequest"
		},
		Classify: OverallVerdict,
	}
}

// SlowdownScenario makes the per-request candidate slower by factor (1.10
// for +10%) and counts a latency "fail" as detected. The built-in +10%
// scenario has the goal; any other factor is measured without one.
func SlowdownScenario(factor float64) Scenario {
	f := strconv.FormatFloat(factor, 'f', -1, 64)
	s := Scenario{
		Name: Slowdown + "-" + f, Title: "slowdown ×" + f, Measures: "detected",
		Configure: func(c *compare.Config) {
			c.BaselineImpl, c.CandidateImpl = "perrequest", "perrequest"
			c.CandidateArgs = append(slices.Clone(c.CandidateArgs), "--slowdown", f)
		},
		Classify: LatencyVerdict,
	}
	if factor == DefaultSlowdown {
		s.Name, s.Title = Slowdown, fmt.Sprintf("+%.0f%% slowdown", (factor-1)*100)
		s.Goal = Goal{AtLeast, MinSlowdownDetection}
	}
	return s
}

// LeakScenario makes the per-request candidate retain DefaultLeakBytes per
// request and counts a candidate memory "fail" as detected.
func LeakScenario() Scenario {
	return Scenario{
		Name: Leak, Title: "leak 1 KiB/request", Measures: "detected",
		Goal: Goal{AtLeast, MinLeakDetection},
		Configure: func(c *compare.Config) {
			c.BaselineImpl, c.CandidateImpl = "perrequest", "perrequest"
			c.CandidateArgs = append(slices.Clone(c.CandidateArgs), "--leak", strconv.Itoa(DefaultLeakBytes))
		},
		Classify: MemoryVerdict,
	}
}

// IsolationScenario makes the legacy singleton build the candidate and
// counts a candidate isolation "fail" as detected.
func IsolationScenario() Scenario {
	return Scenario{
		Name: Isolation, Title: "isolation (legacy build)", Measures: "detected",
		Goal: Goal{AtLeast, MinIsolationDetection},
		Configure: func(c *compare.Config) {
			c.BaselineImpl, c.CandidateImpl = "perrequest", "baseline"
		},
		Classify: IsolationVerdict,
	}
}

// DefaultScenarioNames are the scenarios of a validation by default.
func DefaultScenarioNames() []string { return []string{AA, Slowdown, Leak, Isolation} }

// Scenarios returns the named built-in scenarios, in the order given, then
// one SlowdownScenario per extra factor. Unknown or repeated names and
// factors that are not above 1 are errors.
func Scenarios(names []string, slowdowns []float64) ([]Scenario, error) {
	var out []Scenario
	seen := map[string]bool{}
	add := func(s Scenario) error {
		if seen[s.Name] {
			return fmt.Errorf("validate scenarios: %q appears twice", s.Name)
		}
		seen[s.Name] = true
		out = append(out, s)
		return nil
	}
	for _, n := range names {
		var s Scenario
		switch strings.TrimSpace(n) {
		case AA:
			s = AAScenario()
		case Slowdown:
			s = SlowdownScenario(DefaultSlowdown)
		case Leak:
			s = LeakScenario()
		case Isolation:
			s = IsolationScenario()
		default:
			return nil, fmt.Errorf("validate scenarios: unknown scenario %q (want %s)", n, strings.Join(DefaultScenarioNames(), ", "))
		}
		if err := add(s); err != nil {
			return nil, err
		}
	}
	for _, f := range slowdowns {
		if !(f > 1) || math.IsInf(f, 0) {
			return nil, fmt.Errorf("validate scenarios: slowdown %v is not a factor above 1 (write 1.05 for +5%%)", f)
		}
		s := SlowdownScenario(f)
		if s.Name == Slowdown { // ×1.10 is the built-in scenario; measure it once
			if seen[Slowdown] {
				continue
			}
		}
		if err := add(s); err != nil {
			return nil, err
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("validate scenarios: none selected")
	}
	return out, nil
}

// ParseSlowdowns parses a comma-separated list of slowdown factors such as
// "1.05,1.10,1.20". The empty string is no factors.
func ParseSlowdowns(s string) ([]float64, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	var out []float64
	for f := range strings.SplitSeq(s, ",") {
		v, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
		if err != nil || !(v > 1) || math.IsInf(v, 0) {
			return nil, fmt.Errorf("parse slowdowns %q: %q is not a factor above 1 (write 1.05 for +5%%)", s, strings.TrimSpace(f))
		}
		out = append(out, v)
	}
	return out, nil
}

// OverallVerdict is the summary's overall verdict.
func OverallVerdict(s *results.Summary) string { return normalize(s.Verdict) }

// LatencyVerdict is the latency outcome of a summary: fail if any latency
// check failed, pass if all passed, inconclusive otherwise (also with no
// latency checks).
func LatencyVerdict(s *results.Summary) string {
	if len(s.Latency) == 0 {
		return results.Inconclusive
	}
	all := true
	for _, l := range s.Latency {
		if l.Verdict == results.Fail {
			return results.Fail
		}
		all = all && l.Verdict == results.Pass
	}
	if all {
		return results.Pass
	}
	return results.Inconclusive
}

// MemoryVerdict is the candidate's memory verdict.
func MemoryVerdict(s *results.Summary) string {
	m, ok := s.Memory[results.Candidate]
	if !ok {
		return results.Inconclusive
	}
	return normalize(m.Verdict)
}

// IsolationVerdict is the candidate's isolation verdict.
func IsolationVerdict(s *results.Summary) string {
	v, ok := s.Isolation[results.Candidate]
	if !ok {
		return results.Inconclusive
	}
	return normalize(v.Verdict)
}

// normalize maps anything but pass and fail to inconclusive.
func normalize(v string) string {
	if v == results.Pass || v == results.Fail {
		return v
	}
	return results.Inconclusive
}

// percent formats 0.05 as "5%" and 0.125 as "12.5%".
func percent(r float64) string {
	return strconv.FormatFloat(math.Round(r*1000)/10, 'f', -1, 64) + "%"
}
