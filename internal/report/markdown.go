package report

import (
	"bufio"
	"fmt"
	"io"
	"strings"

	"github.com/loadbench/loadbench/charts"
	"github.com/loadbench/loadbench/results"
)

// latencyFootnote explains the latency table in every report.
const latencyFootnote = "Baseline and candidate: the geometric means over rounds of each build's per-round percentile, the figures the ratio divides (candidate/baseline = ratio); ratio: the geometric mean of the per-round ratios; CI: its paired t interval at this look's confidence; p: the one-sided paired t test against the limit 1 + budget."

// Markdown renders the report for a pull-request comment: the verdict and
// its reason first, then the latency, memory, errors and isolation tables, the setup,
// and the charts linked by their paths relative to the run directory.
func Markdown(run *results.Run, sum *results.Summary, cs []charts.Chart) func(io.Writer) error {
	return func(w io.Writer) error {
		v := newView(run, sum, cs)
		b := bufio.NewWriter(w)
		p := func(format string, args ...any) { fmt.Fprintf(b, format, args...) }
		p("## loadbench compare: %s\n\n", mark(v.Verdict))
		p("**%s**\n\n", cell(v.Reason))
		p("%s\n\n", v.Intro)
		for _, wn := range v.Warnings {
			p("> ⚠️ %s\n", cell(wn))
		}
		if len(v.Warnings) > 0 {
			p("\n")
		}
		p("### Latency\n\n")
		p("| protocol | percentile | baseline | candidate | ratio | CI | p | verdict |\n")
		p("|---|---|--:|--:|--:|--:|--:|---|\n")
		for _, r := range v.Latency {
			verdict := mark(r.Verdict)
			if r.Note != "" {
				verdict += " (" + cell(r.Note) + ")"
			}
			p("| %s | %s | %s | %s | %s | %s | %s | %s |\n", r.Protocol, r.Percentile, r.Baseline, r.Candidate, r.Ratio, r.CI, r.P, verdict)
		}
		p("\n%s\n\n", latencyFootnote)
		p("### Memory\n\n")
		pairTable(p, v.Memory)
		for _, n := range v.MemNotes {
			p("- %s\n", cell(n))
		}
		if len(v.MemNotes) > 0 {
			p("\n")
		}
		if len(v.Errors) > 0 {
			p("### Errors\n\n")
			pairTable(p, v.Errors)
			p("%s\n\n", cell(v.ErrNote))
		}
		p("### Isolation\n\n")
		pairTable(p, v.Iso)
		if len(v.Examples) > 0 {
			p("Examples of one user's response carrying another user's data:\n\n")
			for _, e := range v.Examples {
				p("- %s\n", cell(e))
			}
			p("\n")
		}
		if len(v.Load) > 0 {
			p("### Load\n\n")
			pairTable(p, v.Load)
			p("Latency holds answered chats only. Generator errors (no free port, no descriptor, in-flight limit) and chats not sent are the load generator's, never charged to the target; a saturated generator (p99 send lag over its limit) measures itself as much as the target.\n\n")
		}
		p("### Setup\n\n")
		p("| | |\n|---|---|\n")
		for _, r := range v.Setup {
			p("| %s | %s |\n", r.Label, cell(r.Value))
		}
		p("\n")
		if len(v.Charts) > 0 {
			p("### Charts\n\n")
			for _, c := range v.Charts {
				p("**%s** ([SVG](%s)): %s\n\n![%s](%s)\n\n", c.Title, c.SVG, c.Caption, c.Title, c.PNG)
			}
		}
		return b.Flush()
	}
}

func pairTable(p func(string, ...any), rows []pairRow) {
	p("| | baseline | candidate |\n|---|--:|--:|\n")
	for _, r := range rows {
		b, c := r.Baseline, r.Candidate
		if r.IsVerdict {
			b, c = mark(r.BaselineVerdict), mark(r.CandidateVerdict)
		}
		p("| %s | %s | %s |\n", r.Label, cell(b), cell(c))
	}
	p("\n")
}

// cell makes s safe inside a Markdown table cell: one line, no pipes.
func cell(s string) string {
	s = strings.ReplaceAll(s, "\n", " ")
	return strings.ReplaceAll(s, "|", `\|`)
}
