package report

import (
	"bytes"
	"cmp"
	"encoding/xml"
	"fmt"
	"html/template"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/loadbench/loadbench/results"
)

// CapacityChartFile is the latency-vs-throughput chart of a capacity run,
// under charts/.
const CapacityChartFile = "latency-vs-throughput.svg"

// WriteCapacity renders the reports of a capacity run in dir: the chart,
// report.md, report.html and junit.xml, each written atomically. When
// GITHUB_STEP_SUMMARY is set, the Markdown is appended to that file too.
func WriteCapacity(dir string, m *results.CapacityManifest, s *results.CapacitySummary) error {
	svg, err := CapacityChart(m, s)
	if err != nil {
		return fmt.Errorf("write report: chart: %w", err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "charts"), 0o755); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	if err := results.WriteFileAtomic(filepath.Join(dir, "charts", CapacityChartFile), svg); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	var md bytes.Buffer
	for _, f := range []struct {
		name   string
		render func(io.Writer) error
		buf    *bytes.Buffer
	}{
		{MarkdownFile, CapacityMarkdown(m, s, filepath.Join("charts", CapacityChartFile)), &md},
		{HTMLFile, CapacityHTML(m, s, svg), nil},
		{JUnitFile, CapacityJUnit(m, s), nil},
	} {
		var b bytes.Buffer
		if err := f.render(&b); err != nil {
			return fmt.Errorf("write report: %s: %w", f.name, err)
		}
		if f.buf != nil {
			f.buf.Write(b.Bytes())
		}
		if err := results.WriteFileAtomic(filepath.Join(dir, f.name), b.Bytes()); err != nil {
			return fmt.Errorf("write report: %w", err)
		}
	}
	if path := os.Getenv(StepSummaryEnv); path != "" {
		return AppendStepSummary(path, md.Bytes())
	}
	return nil
}

// CapacityText is the summary as the capacity command prints it.
func CapacityText(s *results.CapacitySummary) func(io.Writer) error {
	return func(w io.Writer) error {
		var b strings.Builder
		fmt.Fprintf(&b, "%s: %s\n", strings.ToUpper(string(s.Verdict)), s.Reason)
		for _, l := range s.Lines {
			fmt.Fprintf(&b, "  %s\n", l)
		}
		fmt.Fprintf(&b, "cpu per chat:   %-12s ratio %.3f (%.3f–%.3f), budget %s; baseline %.1f µs, candidate %.1f µs over %d pairs at %s chats/s (%s)\n",
			s.CPU.Verdict, s.CPU.Ratio, s.CPU.CILow, s.CPU.CIHigh, pct(s.CPU.Budget), s.CPU.BaselineUs, s.CPU.CandidateUs, s.CPU.Pairs, rateList(s.CPU.Rates), cmpOr(s.CPU.Source, "no CPU source"))
		if s.Capacity.Skipped {
			fmt.Fprintf(&b, "throughput:     not searched (CPU rates given)\n")
		} else {
			fmt.Fprintf(&b, "throughput:     %-12s ratio %.3f (%.3f–%.3f), budget %s; baseline %.1f chats/s, candidate %.1f chats/s\n",
				s.Capacity.Verdict, s.Capacity.Ratio, s.Capacity.CILow, s.Capacity.CIHigh, pct(s.Capacity.Budget), s.Capacity.Baseline.MaxRate, s.Capacity.Candidate.MaxRate)
		}
		fmt.Fprintf(&b, "target errors:  %-12s candidate %.3f%% vs baseline %.3f%% at the CPU steps, budget %s points\n",
			s.Errors.Verdict, 100*s.Errors.Candidate, 100*s.Errors.Baseline, pct(s.Errors.Budget))
		fmt.Fprintf(&b, "slo:            p99 ≤ %.1f ms (%s)\n", s.SLOMs, s.SLORule)
		if len(s.GeneratorBound) > 0 {
			fmt.Fprintf(&b, "generator:      bounded steps %v\n", s.GeneratorBound)
		}
		for _, w := range s.Warnings {
			fmt.Fprintf(&b, "warning: %s\n", w)
		}
		_, err := io.WriteString(w, b.String())
		return err
	}
}

// interval is an answer's interval with its level: "0.950–1.033 (95%)";
// at 95% for a summary written before the level was stored.
func interval(lo, hi float64, z results.Sizing) string {
	return fmt.Sprintf("%.3f–%.3f (%s)", lo, hi, pct(cmp.Or(z.Confidence, 0.95)))
}

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func rateList(r []float64) string {
	s := make([]string, len(r))
	for i, x := range r {
		s[i] = fmt.Sprintf("%.0f", x)
	}
	return strings.Join(s, ", ")
}

// CapacityMarkdown renders the report as Markdown; chart is the chart's
// path relative to the report.
func CapacityMarkdown(m *results.CapacityManifest, s *results.CapacitySummary, chart string) func(io.Writer) error {
	return func(w io.Writer) error {
		var b strings.Builder
		p := func(f string, a ...any) { fmt.Fprintf(&b, f, a...) }
		p("# loadbench capacity: %s\n\n", mark(s.Verdict))
		p("**%s**\n\n", s.Reason)
		for _, l := range s.Lines {
			p("- %s\n", l)
		}
		p("\n| answer | verdict | ratio | interval | budget | baseline | candidate |\n|---|---|---|---|---|---|---|\n")
		p("| CPU per chat | %s | %.3f | %s | %s | %.1f µs | %.1f µs |\n", mark(s.CPU.Verdict), s.CPU.Ratio, interval(s.CPU.CILow, s.CPU.CIHigh, s.CPU.Sizing), pct(s.CPU.Budget), s.CPU.BaselineUs, s.CPU.CandidateUs)
		if !s.Capacity.Skipped {
			p("| sustainable throughput | %s | %.3f | %s | %s | %.1f chats/s | %.1f chats/s |\n", mark(s.Capacity.Verdict), s.Capacity.Ratio, interval(s.Capacity.CILow, s.Capacity.CIHigh, s.Capacity.Sizing), pct(s.Capacity.Budget), s.Capacity.Baseline.MaxRate, s.Capacity.Candidate.MaxRate)
		}
		p("| target errors (CPU steps) | %s | | | +%s points | %.3f%% | %.3f%% |\n\n", mark(s.Errors.Verdict), pct(s.Errors.Budget), 100*s.Errors.Baseline, 100*s.Errors.Candidate)
		p("SLO: p99 ≤ %.1f ms, %s. CPU from %s; CPU rounds at %s chats/s, %d pairs.\n\n", s.SLOMs, s.SLORule, cmpOr(s.CPU.Source, "no source"), rateList(s.CPU.Rates), s.CPU.Pairs)
		if len(s.GeneratorBound) > 0 {
			p("**The generator, not the target, bounded steps %v.**\n\n", s.GeneratorBound)
		}
		for _, w := range s.Warnings {
			p("> warning: %s\n\n", w)
		}
		if chart != "" {
			p("![latency against throughput](%s)\n\n", chart)
		}
		if len(s.USL) > 0 {
			p("## Universal Scalability Law (report-only)\n\nX(N) = λN / (1 + σ(N−1) + κN(N−1)) fitted to each build's steps (N: mean chats in flight, X: answered chats/s). Not part of any verdict.\n\n| build | points | λ chats/s | σ (± SE) | κ (± SE) | R² | peak N | fit |\n|---|---|---|---|---|---|---|---|\n")
			for _, b := range []string{results.Baseline, results.Candidate} {
				u, ok := s.USL[b]
				if !ok {
					continue
				}
				fit := "stable"
				if !u.Stable {
					fit = u.Note
				}
				p("| %s | %d | %.4g | %.3g (± %.2g) | %.3g (± %.2g) | %.3f | %.3g | %s |\n", b, u.Points, u.Lambda, u.Sigma, u.SigmaSE, u.Kappa, u.KappaSE, u.R2, u.PeakN, cell(fit))
			}
			p("\n")
		}
		if m != nil && m.Plan != nil {
			p("## Setup\n\n%s\n\n", setupLine(m))
		}
		p("## Steps\n\n| # | phase | build | offered/s | answered/s | ended | errors | p50 ms | p99 ms | p99.9 ms | in flight (growth) | CPU µs/chat | generator µs/chat, CPU | sustainable |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n")
		for _, st := range s.Steps {
			sus := "yes"
			if !st.Sustainable {
				sus = "no: " + strings.Join(st.Why, "; ")
			}
			if st.Redone {
				sus = "measured again: generator saturated"
			}
			p("| %d | %s %s | %s | %.1f | %.1f | %.2f%% | %.2f%% | %.1f | %.1f | %.1f | %.0f (%+.0f) | %.1f | %.1f, %.0f%% | %s |\n",
				st.N, st.Phase, repeat(st.Repeat), st.Build, st.Rate, st.Throughput, 100*st.Ended, 100*st.ErrorRate,
				st.P50Ms, st.P99Ms, st.P999Ms, st.InFlightMean, st.InFlightGrowth, st.CPUUs, st.GeneratorCPUUs, 100*st.GeneratorCPUShare, cell(sus))
		}
		_, err := io.WriteString(w, b.String())
		return err
	}
}

func repeat(n int) string {
	if n == 0 {
		return ""
	}
	return fmt.Sprint(n)
}

// setupLine says what ran where.
func setupLine(m *results.CapacityManifest) string {
	pl := m.Plan
	name := func(s results.PlanSide, def string) string {
		if s.Build == "" {
			return def + " (" + m.Targets[def] + ")"
		}
		return strings.TrimSpace(s.Build + " " + strings.Join(s.Args, " "))
	}
	where := "the targets run elsewhere (given by URL): the generator's CPU is this machine's, the targets' is theirs"
	if pl.Local {
		where = "the built-in targets run on this machine as child processes"
		if pin := pl.Pinning; pin != nil {
			where += fmt.Sprintf(", pinned to CPUs %v (GOMAXPROCS %d) and the generator to CPUs %v (GOMAXPROCS %d) by %s",
				pin.TargetCPUs, pin.TargetGOMAXPROCS, pin.GeneratorCPUs, pin.GeneratorGOMAXPROCS, pin.Method)
		} else {
			where += ", not pinned (fewer than 2 CPUs): generator and targets share them"
		}
	}
	return fmt.Sprintf("Baseline %s, candidate %s; protocols %s, %d users, steps of %s, timeout %s, %d bisections per build to %s width, CPU rounds %d per rate; %s; %d CPUs (%s); seed %d.",
		name(pl.Baseline, results.Baseline), name(pl.Candidate, results.Candidate), strings.Join(pl.Protocols, "+"), pl.Users,
		pl.StepDuration, pl.Timeout, pl.Repeats, pct(pl.Width), pl.CPURounds, where, m.CPUs, m.CPUModel, pl.Seed)
}

// CapacityHTML renders the report as one self-contained page, the chart
// inlined.
func CapacityHTML(m *results.CapacityManifest, s *results.CapacitySummary, svg []byte) func(io.Writer) error {
	return func(w io.Writer) error {
		var md bytes.Buffer
		if err := CapacityMarkdown(m, s, "")(&md); err != nil {
			return err
		}
		return capacityPage.Execute(w, struct {
			Title string
			Body  string
			SVG   template.HTML
		}{fmt.Sprintf("loadbench capacity: %s", s.Verdict), md.String(), template.HTML(inlineSVG(svg))})
	}
}

var capacityPage = template.Must(template.New("capacity").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{{.Title}}</title>
<style>body{font-family:system-ui,sans-serif;margin:2em;max-width:80em}pre{white-space:pre-wrap;font-size:13px}</style>
</head><body><h1>{{.Title}}</h1>
<figure>{{.SVG}}<figcaption>Latency against offered rate, per build: p50, p99 and p99.9 of each step; the dashed line marks each build's sustainable rate (the knee).</figcaption></figure>
<pre>{{.Body}}</pre>
</body></html>
`))

// CapacityJUnit renders the answers as JUnit XML: one test case each for
// CPU per chat, sustainable throughput, target errors and the generator.
func CapacityJUnit(m *results.CapacityManifest, s *results.CapacitySummary) func(io.Writer) error {
	return func(w io.Writer) error {
		suite := junitSuite{Name: "loadbench capacity"}
		if m != nil && !m.Start.IsZero() {
			suite.Timestamp = m.Start.UTC().Format("2006-01-02T15:04:05")
			suite.Hostname = m.Hostname
		}
		suite.Properties = []junitProperty{{"verdict", string(s.Verdict)}, {"reason", s.Reason}}
		suite.add("capacity", "cpu_per_chat", s.CPU.Verdict, fmt.Sprintf("CPU per chat: ratio %.3f (CI %.3f–%.3f), budget %.3f; %s",
			s.CPU.Ratio, s.CPU.CILow, s.CPU.CIHigh, 1+s.CPU.Budget, strings.Join(s.Lines, "; ")))
		if !s.Capacity.Skipped {
			suite.add("capacity", "sustainable_throughput", s.Capacity.Verdict, fmt.Sprintf("throughput ratio %.3f (CI %.3f–%.3f), baseline %.1f chats/s, candidate %.1f chats/s, budget %s",
				s.Capacity.Ratio, s.Capacity.CILow, s.Capacity.CIHigh, s.Capacity.Baseline.MaxRate, s.Capacity.Candidate.MaxRate, pct(s.Capacity.Budget)))
		}
		suite.add("capacity", "target_errors", s.Errors.Verdict, fmt.Sprintf("candidate %.3f%% vs baseline %.3f%%, budget %s points",
			100*s.Errors.Candidate, 100*s.Errors.Baseline, pct(s.Errors.Budget)))
		gen := results.Pass
		if len(s.GeneratorBound) > 0 {
			gen = results.Inconclusive
		}
		suite.add("capacity", "generator_not_bound", gen, fmt.Sprintf("steps bound by the generator: %v", s.GeneratorBound))
		if _, err := io.WriteString(w, xml.Header); err != nil {
			return err
		}
		enc := xml.NewEncoder(w)
		enc.Indent("", "  ")
		doc := junitSuites{Name: "loadbench", Tests: suite.Tests, Failures: suite.Failures, Skipped: suite.Skipped, Suites: []junitSuite{suite}}
		if err := enc.Encode(doc); err != nil {
			return fmt.Errorf("encode junit: %w", err)
		}
		_, err := io.WriteString(w, "\n")
		return err
	}
}
