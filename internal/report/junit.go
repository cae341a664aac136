package report

import (
	"encoding/xml"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/loadbench/loadbench/results"
)

// JUnit renders the verdicts as a JUnit XML report, one test case per
// verdict: latency.<protocol> × percentile, memory per build, the
// candidate's errors per protocol (errors.<protocol>), isolation per
// build. A failed verdict is a <failure> whose message and body carry the
// numbers; an inconclusive one is <skipped> with the numbers (inconclusive is
// neither pass nor fail: exit code 4); a passed or informational (not gated,
// the baseline's) verdict is a passing test case with the numbers in
// <system-out>. Failure and skip counts are in the testsuite's attributes.
func JUnit(run *results.Run, sum *results.Summary) func(io.Writer) error {
	return func(w io.Writer) error {
		suite := junitSuite{Name: "loadbench compare"}
		if !run.Manifest.Start.IsZero() {
			suite.Timestamp = run.Manifest.Start.UTC().Format("2006-01-02T15:04:05")
		}
		if run.Manifest.Hostname != "" {
			suite.Hostname = run.Manifest.Hostname
		}
		suite.Properties = []junitProperty{
			{"verdict", string(sum.Verdict)}, {"reason", sum.Reason},
			{"budget", pct(sum.Budget)}, {"rounds", strconv.Itoa(sum.Rounds)},
		}
		for _, l := range sum.Latency {
			name := results.PercentileName(l.Percentile)
			msg := fmt.Sprintf("%s: candidate %.2f ms vs baseline %.2f ms, ratio %.3f (CI %.3f–%.3f, p %s), budget %.3f",
				l.Check(), l.CandidateMs, l.BaselineMs, l.Ratio, l.CILow, l.CIHigh, pValue(l.PValue), 1+sum.Budget)
			if l.MoreRounds > 0 {
				msg += fmt.Sprintf("; about %d more rounds would decide", l.MoreRounds)
			}
			if l.Note != "" {
				msg += "; " + l.Note
			}
			suite.add("latency."+l.Protocol, name, l.Verdict, msg)
		}
		for _, build := range []string{results.Baseline, results.Candidate} {
			if m, ok := sum.Memory[build]; ok {
				msg := fmt.Sprintf("%s memory: heap grew %s, slope %s per chat answered, %s live factories, %s retained agent instances",
					build, bytesIEC(m.RetainedBytes), slope(m), count(m.FactoriesLiveAfter), count(m.AgentInstancesRetained))
				if c := sum.MemoryComparison; c != nil && build == results.Candidate {
					msg += "; slope over the baseline's " + memoryDiff(c)
				}
				if m.Note != "" {
					msg += "; " + m.Note
				}
				suite.add("memory", build, m.Verdict, msg)
			}
		}
		if e := sum.Errors; e != nil && len(sum.ErrorsByProtocol) == 0 { // a summary from before the per-protocol rule
			msg := fmt.Sprintf("candidate target error rate %.3f%% (%d of %d) vs baseline %.3f%% (%d of %d): %+.3f points (CI %+.3f to %+.3f), budget %s points",
				100*e.CandidateRate, e.CandidateErrors, e.CandidateChats, 100*e.BaselineRate, e.BaselineErrors, e.BaselineChats,
				100*e.Diff, 100*e.DiffLow, 100*e.DiffHigh, strconv.FormatFloat(100*e.Budget, 'f', -1, 64))
			suite.add("errors", results.Candidate, e.Verdict, msg)
		}
		for _, name := range protocolOrder(sum.ErrorsByProtocol) {
			e := sum.ErrorsByProtocol[name]
			msg := fmt.Sprintf("candidate %s target error rate %.3f%% (%d of %d) vs baseline %.3f%% (%d of %d): %s, budget %s points",
				name, 100*e.CandidateRate, e.CandidateErrors, e.CandidateChats, 100*e.BaselineRate, e.BaselineErrors, e.BaselineChats,
				errorDiff(e), strconv.FormatFloat(100*e.Budget, 'f', -1, 64))
			if e.Note != "" {
				msg += "; " + e.Note
			}
			suite.add("errors."+name, results.Candidate, e.Verdict, msg)
		}
		for _, build := range []string{results.Baseline, results.Candidate} {
			if iv, ok := sum.Isolation[build]; ok {
				msg := fmt.Sprintf("%s isolation: %d of %d responses carried another user's data; %d distinct factory ids",
					build, iv.Violations, iv.Checked, iv.DistinctFactoryIDs)
				if len(iv.Protocols) > 0 {
					msg += "; " + iv.ProtocolText()
				}
				suite.add("isolation", build, iv.Verdict, msg)
			}
		}
		doc := junitSuites{Name: "loadbench", Tests: suite.Tests, Failures: suite.Failures, Skipped: suite.Skipped, Suites: []junitSuite{suite}}
		if _, err := io.WriteString(w, xml.Header); err != nil {
			return err
		}
		enc := xml.NewEncoder(w)
		enc.Indent("", "  ")
		if err := enc.Encode(doc); err != nil {
			return fmt.Errorf("encode junit: %w", err)
		}
		_, err := io.WriteString(w, "\n")
		return err
	}
}

type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Skipped  int          `xml:"skipped,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name       string          `xml:"name,attr"`
	Tests      int             `xml:"tests,attr"`
	Failures   int             `xml:"failures,attr"`
	Errors     int             `xml:"errors,attr"`
	Skipped    int             `xml:"skipped,attr"`
	Timestamp  string          `xml:"timestamp,attr,omitempty"`
	Hostname   string          `xml:"hostname,attr,omitempty"`
	Properties []junitProperty `xml:"properties>property"`
	Cases      []junitCase     `xml:"testcase"`
}

type junitProperty struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

type junitCase struct {
	Classname string        `xml:"classname,attr"`
	Name      string        `xml:"name,attr"`
	Failure   *junitMessage `xml:"failure,omitempty"`
	Skipped   *junitMessage `xml:"skipped,omitempty"`
	SystemOut string        `xml:"system-out,omitempty"`
}

type junitMessage struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr,omitempty"`
	Body    string `xml:",chardata"`
}

func (s *junitSuite) add(class, name string, verdict results.Verdict, msg string) {
	c := junitCase{Classname: class, Name: name}
	kind := strings.SplitN(class, ".", 2)[0]
	switch verdict {
	case results.Fail:
		c.Failure = &junitMessage{Message: msg, Type: kind, Body: "fail: " + msg}
		s.Failures++
	case results.Inconclusive, "":
		c.Skipped = &junitMessage{Message: "inconclusive: " + msg}
		s.Skipped++
	case results.Info:
		c.SystemOut = "info (not gated): " + msg
	default:
		c.SystemOut = string(verdict) + ": " + msg
	}
	s.Tests++
	s.Cases = append(s.Cases, c)
}
