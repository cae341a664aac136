package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/loadbench/loadbench/internal/capacity"
	"github.com/loadbench/loadbench/internal/gate"
	"github.com/loadbench/loadbench/internal/report"
	"github.com/loadbench/loadbench/results"
	"github.com/spf13/cobra"
)

func newReportCmd(s streams) *cobra.Command {
	var format, out string
	cmd := &cobra.Command{
		Use:   "report DIR [DIR...]",
		Short: "Render the report of compare or capacity runs from their stored results",
		Long: `Render the report of a compare run from its stored results alone: report.md,
report.html (self-contained), junit.xml, summary.json and charts/ in DIR.

With one DIR the report is re-rendered in place from DIR's summary.json (or, when
the run has none, from the gate applied to its data). With several DIRs, runs of
the same setup made side by side (for example from several load machines) are
merged, the gate is applied to the merged data with the setup's budget,
percentiles and alpha, and the report is written to --out (default DIR1-merged).

A capacity run (loadbench capacity) is re-rendered in place from its
manifest.json and summary.json: report.md, report.html, junit.xml and the
latency-vs-throughput chart. Several capacity runs of the same setup are
merged: every run's paired bisections and CPU pairs are pairs of the merged
answers, judged again with the setup's budgets and alpha, and the report is
written to --out (default DIR1-merged). The merged answers are judged as one
sample; merging more runs until they decide raises their error rates, by how
much the merged report says (a new run with more --repeats or --cpu-rounds
does not).

Exits like compare: 0 pass, 1 fail, 4 inconclusive; 2 when a DIR is missing,
damaged or incomplete.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, dirs []string) error {
			formats, err := report.ParseFormats(format)
			if err != nil {
				return usageErr("report: %v", err)
			}
			if len(dirs) == 1 && out != "" {
				return usageErr("report: --out needs several DIRs to merge (one DIR is re-rendered in place)")
			}
			if kind := runKind(dirs[0]); kind == results.CapacityKind {
				return reportCapacity(s, dirs, out)
			}
			var runs []*results.Run
			for _, d := range dirs {
				r, err := results.ReadRun(d)
				if err != nil {
					return usageErr("report: %v", err)
				}
				runs = append(runs, r)
			}
			run, dest := runs[0], dirs[0]
			sum := run.Summary
			if len(runs) > 1 {
				if run, err = results.MergeRuns(runs...); err != nil {
					return usageErr("report: %v", err)
				}
				dest = out
				if dest == "" {
					dest = strings.TrimRight(filepath.Clean(dirs[0]), string(filepath.Separator)) + "-merged"
				}
				sum = nil
			}
			if sum == nil {
				sum = gate.Evaluate(run, gate.PlanConfig(run.Plan()))
				results.AddAccounting(run, sum)
			}
			if len(runs) > 1 {
				if err := writeMerged(dest, run); err != nil {
					return withCode(exitRunError, fmt.Errorf("report: %w", err))
				}
				run.Dir = dest
			}
			if err := report.Write(dest, run, sum, formats...); err != nil {
				return withCode(exitRunError, fmt.Errorf("report: %w", err))
			}
			if len(runs) > 1 {
				fmt.Fprintf(s.Out, "merged %d runs into %s\n", len(runs), dest)
			}
			fmt.Fprintf(s.Out, "%s: %s\n", strings.ToUpper(string(sum.Verdict)), sum.Reason)
			for _, f := range formats {
				fmt.Fprintf(s.Out, "wrote %s\n", filepath.Join(dest, reportFile(f)))
			}
			return verdictExit(sum.Verdict)
		},
	}
	f := cmd.Flags()
	f.StringVar(&format, "format", "all", "what to write: md, html, junit, json or all (comma-separated list allowed)")
	f.StringVar(&out, "out", "", "directory for the report of merged runs (default DIR1-merged)")
	return cmd
}

func reportFile(f report.Format) string {
	switch f {
	case report.FormatMD:
		return report.MarkdownFile
	case report.FormatHTML:
		return report.HTMLFile
	case report.FormatJUnit:
		return report.JUnitFile
	}
	return results.SummaryFile
}

// writeMerged stores the merged run in dir (manifest and segments), so the
// merged report can itself be re-rendered later with loadbench report dir.
func writeMerged(dir string, run *results.Run) error {
	if err := mergeDestFree(dir); err != nil {
		return err
	}
	for _, s := range run.Segments {
		if err := results.WriteSegment(results.SegmentDir(dir, s.Manifest.Build, s.Manifest.Round), s); err != nil {
			return err
		}
	}
	return results.WriteJSON(filepath.Join(dir, results.ManifestFile), run.Manifest)
}

// mergeDestFree refuses a merge's destination dir when it already holds a
// run that is not a merge (a merge there is rewritten).
func mergeDestFree(dir string) error {
	var old results.Manifest
	if err := results.ReadJSON(filepath.Join(dir, results.ManifestFile), &old); err == nil && !strings.Contains(old.Note, "merged from") {
		return fmt.Errorf("write %s: already holds a run that is not a merge; choose another --out", dir)
	}
	return nil
}

// runKind is the kind in dir's manifest ("compare", "capacity"); empty
// when it cannot be read (ReadRun then says why).
func runKind(dir string) string {
	var m struct {
		Kind string `json:"kind"`
	}
	if err := results.ReadJSON(filepath.Join(dir, results.ManifestFile), &m); err != nil {
		return ""
	}
	return m.Kind
}

// reportCapacity re-renders a capacity run in place from its manifest and
// summary.json or, given several, merges them (capacity.Merge) into out
// (default DIR1-merged) and renders the merged run there.
func reportCapacity(s streams, dirs []string, out string) error {
	type run struct {
		m   results.CapacityManifest
		sum results.CapacitySummary
	}
	runs := make([]run, len(dirs))
	for i, d := range dirs {
		r := &runs[i]
		if err := results.ReadJSON(filepath.Join(d, results.ManifestFile), &r.m); err != nil {
			return usageErr("report: %v", err)
		}
		if r.m.Kind != results.CapacityKind || r.m.Plan == nil {
			return usageErr("report: %s is not a capacity run with a plan; capacity and compare runs do not merge", d)
		}
		if err := results.ReadJSON(filepath.Join(d, results.SummaryFile), &r.sum); err != nil {
			return usageErr("report: %v", err)
		}
	}
	dest, m, sum := dirs[0], &runs[0].m, &runs[0].sum
	if len(dirs) > 1 {
		dest = out
		if dest == "" {
			dest = strings.TrimRight(filepath.Clean(dirs[0]), string(filepath.Separator)) + "-merged"
		}
		plans := make([]results.CapacityPlan, len(runs))
		sums := make([]*results.CapacitySummary, len(runs))
		for i := range runs {
			plans[i], sums[i] = *runs[i].m.Plan, &runs[i].sum
			for j, st := range sums[i].Steps { // the steps' data stay where they are
				if st.Segment == "" {
					continue
				}
				rel, err := filepath.Rel(dest, filepath.Join(dirs[i], st.Segment))
				if err != nil {
					rel = ""
				}
				sums[i].Steps[j].Segment = rel
			}
		}
		merged, err := capacity.Merge(plans, sums)
		if err != nil {
			return usageErr("report: %v", err)
		}
		if err := mergeDestFree(dest); err != nil {
			return withCode(exitRunError, fmt.Errorf("report: %w", err))
		}
		mm := results.CapacityManifest{Manifest: m.Manifest, Plan: m.Plan}
		mm.Note = "merged from " + strings.Join(dirs, ", ")
		mm.Partial = merged.Partial
		m, sum = &mm, merged
		if err := os.MkdirAll(dest, 0o755); err != nil {
			return withCode(exitRunError, fmt.Errorf("report: %w", err))
		}
		if err := results.WriteJSON(filepath.Join(dest, results.ManifestFile), m); err != nil {
			return withCode(exitRunError, fmt.Errorf("report: %w", err))
		}
		if err := results.WriteJSON(filepath.Join(dest, results.SummaryFile), sum); err != nil {
			return withCode(exitRunError, fmt.Errorf("report: %w", err))
		}
	}
	if err := report.WriteCapacity(dest, m, sum); err != nil {
		return withCode(exitRunError, fmt.Errorf("report: %w", err))
	}
	if len(dirs) > 1 {
		fmt.Fprintf(s.Out, "merged %d runs into %s\n", len(dirs), dest)
	}
	fmt.Fprintf(s.Out, "%s: %s\n", strings.ToUpper(string(sum.Verdict)), sum.Reason)
	for _, line := range sum.Lines {
		fmt.Fprintf(s.Out, "  %s\n", line)
	}
	for _, f := range []string{report.MarkdownFile, report.HTMLFile, report.JUnitFile} {
		fmt.Fprintf(s.Out, "wrote %s\n", filepath.Join(dest, f))
	}
	return verdictExit(sum.Verdict)
}
