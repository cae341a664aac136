package main

import (
	"bytes"
	"context"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/loadbench/loadbench/internal/report"
	"github.com/loadbench/loadbench/internal/report/reporttest"
	"github.com/loadbench/loadbench/results"
)

func runReport(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	t.Setenv(report.StepSummaryEnv, "")
	var out, errb bytes.Buffer
	code = run(context.Background(), append([]string{"report"}, args...), streams{In: strings.NewReader(""), Out: &out, Err: &errb})
	return code, out.String(), errb.String()
}

func TestReportRerendersInPlace(t *testing.T) {
	dir := t.TempDir()
	reporttest.Write(t, dir)
	code, out, errs := runReport(t, dir)
	if code != exitFail { // the fixture's stored verdict is fail
		t.Fatalf("exit %d, want %d; stderr %s", code, exitFail, errs)
	}
	for _, f := range []string{report.MarkdownFile, report.HTMLFile, report.JUnitFile, results.SummaryFile, "charts/heap.svg", "charts/heap.png"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("not written: %v", err)
		}
	}
	if !strings.HasPrefix(out, "FAIL: ws p99") || !strings.Contains(out, filepath.Join(dir, report.HTMLFile)) {
		t.Errorf("stdout:\n%s", out)
	}
}

func TestReportOneFormat(t *testing.T) {
	dir := t.TempDir()
	reporttest.Write(t, dir)
	if code, _, errs := runReport(t, "--format", "junit", dir); code != exitFail {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if _, err := os.Stat(filepath.Join(dir, report.JUnitFile)); err != nil {
		t.Error(err)
	}
	if _, err := os.Stat(filepath.Join(dir, report.HTMLFile)); err == nil {
		t.Error("--format junit wrote report.html")
	}
}

func TestReportBadInput(t *testing.T) {
	good := t.TempDir()
	reporttest.Write(t, good)
	damaged := t.TempDir()
	reporttest.Write(t, damaged)
	if err := os.Remove(filepath.Join(damaged, "candidate", "round-02", results.ProtocolsFile)); err != nil {
		t.Fatal(err)
	}
	garbled := t.TempDir()
	reporttest.Write(t, garbled)
	if err := os.WriteFile(filepath.Join(garbled, "baseline", "round-01", results.TimelineFile), []byte("{not json"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		args []string
		want string
	}{
		{"missing protocols", []string{damaged}, "loadbench: report: read " + filepath.Join(damaged, "candidate", "round-02", results.ProtocolsFile) + ": missing"},
		{"damaged timeline", []string{garbled}, "loadbench: report: read " + filepath.Join(garbled, "baseline", "round-01", results.TimelineFile) + ": damaged"},
		{"no such dir", []string{filepath.Join(good, "nope")}, "loadbench: report: read " + filepath.Join(good, "nope", results.ManifestFile) + ": missing"},
		{"bad format", []string{"--format", "pdf", good}, "loadbench: report: parse format"},
		{"no dir", nil, "loadbench: requires at least 1 arg"},
		{"out with one dir", []string{"--out", t.TempDir(), good}, "loadbench: report: --out needs several DIRs"},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, _, errs := runReport(t, c.args...)
			if code != exitUsage || !strings.HasPrefix(errs, c.want) {
				t.Errorf("exit %d, stderr %q; want exit 2 and %q", code, errs, c.want)
			}
		})
	}
}

func TestReportMergesRuns(t *testing.T) {
	parent := t.TempDir()
	a, b := filepath.Join(parent, "a"), filepath.Join(parent, "b")
	reporttest.Write(t, a)
	reporttest.Write(t, b)
	code, out, errs := runReport(t, a, b)
	if code != exitOK && code != exitFail && code != exitInconclusive {
		t.Fatalf("exit %d: %s", code, errs)
	}
	merged := a + "-merged"
	if !strings.Contains(out, "merged 2 runs into "+merged) {
		t.Errorf("stdout:\n%s", out)
	}
	// The merged directory is a run of its own: it re-renders.
	m, err := results.ReadRun(merged)
	if err != nil {
		t.Fatal(err)
	}
	if m.Summary == nil || m.Summary.Requests[results.Candidate] != 2*reporttest.Summary().Requests[results.Candidate] {
		t.Errorf("merged summary does not count both runs' requests: %+v", m.Summary)
	}
	if h := m.Segment(results.Baseline, 1).Protocols[results.HTTP].Latency.Count(); h != 1000 {
		t.Errorf("merged baseline round 1 http histogram has %d values, want 1000", h)
	}
	md, err := os.ReadFile(filepath.Join(merged, report.MarkdownFile))
	if err != nil || !strings.Contains(string(md), "merged from 2 runs") {
		t.Errorf("merged report.md does not say it is a merge: %v", err)
	}
	if code2, _, errs := runReport(t, merged); code2 != code {
		t.Errorf("re-rendering the merged run: exit %d, first %d: %s", code2, code, errs)
	}
	// Runs of different setups do not merge.
	c := filepath.Join(parent, "c")
	run := reporttest.Write(t, c)
	run.Manifest.Plan.Users = 7
	if err := results.WriteJSON(filepath.Join(c, results.ManifestFile), run.Manifest); err != nil {
		t.Fatal(err)
	}
	if code, _, errs := runReport(t, "--out", filepath.Join(parent, "ac"), a, c); code != exitUsage || !strings.Contains(errs, "differ in plan.users") {
		t.Errorf("different setups: exit %d, %s", code, errs)
	}
}

// A run written before manifest.json had a plan (the stored example
// report) re-renders, and the gate re-applied to its data from the plan
// its flags recorded gives the verdict and the intervals stored with it.
func TestReportRendersRunFromBeforeThePlan(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "example")
	if err := os.CopyFS(dir, os.DirFS("../../docs/example-report")); err != nil {
		t.Fatal(err)
	}
	var stored results.Summary
	if err := results.ReadJSON(filepath.Join(dir, results.SummaryFile), &stored); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(dir, results.SummaryFile)); err != nil {
		t.Fatal(err)
	}
	code, out, errs := runReport(t, "--format", "json", dir)
	if code != exitOK || !strings.HasPrefix(out, "PASS: all 6 latency checks within 5%") {
		t.Fatalf("exit %d\n%s%s", code, out, errs)
	}
	var again results.Summary
	if err := results.ReadJSON(filepath.Join(dir, results.SummaryFile), &again); err != nil {
		t.Fatal(err)
	}
	if again.Verdict != stored.Verdict || again.Reason != stored.Reason || len(again.Latency) != len(stored.Latency) {
		t.Fatalf("re-judged %s %q, stored %s %q", again.Verdict, again.Reason, stored.Verdict, stored.Reason)
	}
	for i, l := range again.Latency {
		s := stored.Latency[i]
		if l.Ratio != s.Ratio || l.CILow != s.CILow || l.CIHigh != s.CIHigh || l.Verdict != s.Verdict {
			t.Errorf("%s: ratio %v (%v–%v) %s, stored %v (%v–%v) %s", l.Check(), l.Ratio, l.CILow, l.CIHigh, l.Verdict, s.Ratio, s.CILow, s.CIHigh, s.Verdict)
		}
	}
}

// The stored capacity run (docs/capacity-report, a real run with its
// steps/ left out) re-renders to the same report.md, byte for byte.
func TestReportRerendersTheStoredCapacityRun(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "capacity")
	if err := os.CopyFS(dir, os.DirFS("../../docs/capacity-report")); err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile(filepath.Join(dir, "report.md"))
	if err != nil {
		t.Fatal(err)
	}
	var sum results.CapacitySummary
	if err := results.ReadJSON(filepath.Join(dir, results.SummaryFile), &sum); err != nil {
		t.Fatal(err)
	}
	code, out, errs := runReport(t, dir)
	if code != verdictCode(sum.Verdict) || !strings.HasPrefix(out, strings.ToUpper(string(sum.Verdict))+": "+sum.Reason+"\n") {
		t.Fatalf("exit %d\n%s%s", code, out, errs)
	}
	if got, _ := os.ReadFile(filepath.Join(dir, "report.md")); !bytes.Equal(got, want) {
		t.Errorf("report.md re-rendered differs from the stored one:\n%s", got)
	}
}

// Several capacity runs merge into one: every run's pairs are pairs of the
// merged answers. A run merged with a copy of itself keeps its ratios and
// doubles its pairs, so its intervals narrow; a compare run does not merge
// with it, and neither does a run of another plan.
func TestReportMergesCapacityRuns(t *testing.T) {
	tmp := t.TempDir()
	a, b := filepath.Join(tmp, "a"), filepath.Join(tmp, "b")
	for _, d := range []string{a, b} {
		if err := os.CopyFS(d, os.DirFS("../../docs/capacity-report")); err != nil {
			t.Fatal(err)
		}
	}
	var one results.CapacitySummary
	if err := results.ReadJSON(filepath.Join(a, results.SummaryFile), &one); err != nil {
		t.Fatal(err)
	}
	code, out, errs := runReport(t, a, b)
	dest := a + "-merged"
	if !strings.HasPrefix(out, "merged 2 runs into "+dest+"\n") || code == exitUsage || code == exitRunError {
		t.Fatalf("exit %d\n%s%s", code, out, errs)
	}
	var merged results.CapacitySummary
	if err := results.ReadJSON(filepath.Join(dest, results.SummaryFile), &merged); err != nil {
		t.Fatal(err)
	}
	if code != verdictCode(merged.Verdict) {
		t.Errorf("exit %d for a merged %s", code, merged.Verdict)
	}
	if merged.CPU.Pairs != 2*one.CPU.Pairs || len(merged.Capacity.Baseline.Repeats) != 2*len(one.Capacity.Baseline.Repeats) {
		t.Errorf("merged %d CPU pairs, %d bisection pairs; want twice %d and %d", merged.CPU.Pairs, len(merged.Capacity.Baseline.Repeats), one.CPU.Pairs, len(one.Capacity.Baseline.Repeats))
	}
	if math.Abs(merged.CPU.Ratio-one.CPU.Ratio) > 1e-9 || math.Abs(merged.Capacity.Ratio-one.Capacity.Ratio) > 1e-9 {
		t.Errorf("ratios moved: cpu %v → %v, throughput %v → %v", one.CPU.Ratio, merged.CPU.Ratio, one.Capacity.Ratio, merged.Capacity.Ratio)
	}
	if merged.CPU.CIHigh-merged.CPU.CILow >= one.CPU.CIHigh-one.CPU.CILow {
		t.Errorf("cpu interval %v–%v did not narrow from %v–%v", merged.CPU.CILow, merged.CPU.CIHigh, one.CPU.CILow, one.CPU.CIHigh)
	}
	for _, f := range []string{"report.md", "report.html", "junit.xml", results.ManifestFile} {
		if _, err := os.Stat(filepath.Join(dest, f)); err != nil {
			t.Error(err)
		}
	}

	compare := filepath.Join(tmp, "compare")
	reporttest.Write(t, compare)
	if code, _, errs := runReport(t, a, compare); code != exitUsage || !strings.Contains(errs, "capacity and compare runs do not merge") {
		t.Errorf("capacity with compare: exit %d, %s", code, errs)
	}
	var m results.CapacityManifest
	if err := results.ReadJSON(filepath.Join(b, results.ManifestFile), &m); err != nil {
		t.Fatal(err)
	}
	m.Plan.CPUBudget *= 2
	if err := results.WriteJSON(filepath.Join(b, results.ManifestFile), m); err != nil {
		t.Fatal(err)
	}
	if code, _, errs := runReport(t, "--out", filepath.Join(tmp, "x"), a, b); code != exitUsage || !strings.Contains(errs, "differ in plan.cpu_budget") {
		t.Errorf("other budget: exit %d, %s", code, errs)
	}
}

// verdictCode is the exit code of a command that ends with verdict v.
func verdictCode(v results.Verdict) int {
	return exitCode(streams{Err: io.Discard}, verdictExit(v))
}
