package report_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/loadbench/loadbench/internal/report"
	"github.com/loadbench/loadbench/results"
)

func capacityRun() (*results.CapacityManifest, *results.CapacitySummary) {
	m := &results.CapacityManifest{Manifest: results.NewManifest(results.CapacityKind, nil), Plan: &results.CapacityPlan{
		Protocols: []string{"http", "ws"}, Users: 200, Repeats: 2, Width: 0.01, CPURounds: 1, Local: true,
		Baseline: results.PlanSide{Build: "perrequest"}, Candidate: results.PlanSide{Build: "perrequest", Args: []string{"--burn", "20us"}},
	}}
	s := &results.CapacitySummary{
		Verdict: results.Fail, Reason: "CPU per chat: 12.0% (9.0%–15.0%) more, over the 5% budget",
		Lines: []string{"perrequest needs 12.0% (9.0%–15.0%) more CPU per chat than perrequest: 1.12 (1.09–1.15) pods per perrequest pod at equal load"},
		CPU:   results.CapacityCPU{Ratio: 1.12, CILow: 1.09, CIHigh: 1.15, Verdict: results.Fail, Budget: 0.05, Pairs: 2, Rates: []float64{100}},
		Capacity: results.CapacityThroughput{Ratio: 0.99, CILow: 0.97, CIHigh: 1.01, Verdict: results.Pass, Budget: 0.05,
			Baseline: results.CapacityBuild{MaxRate: 1000}, Candidate: results.CapacityBuild{MaxRate: 990}},
		Errors: results.CapacityErrors{Verdict: results.Pass, Budget: 0.001},
		SLOMs:  40,
	}
	for i, r := range []float64{100, 200, 400, 800} {
		for _, b := range []string{results.Baseline, results.Candidate} {
			s.Steps = append(s.Steps, results.CapacityStep{N: len(s.Steps) + 1, Phase: results.PhaseBracket, Build: b, Rate: r,
				Answered: 100, Throughput: r, P50Ms: 5 + float64(i), P99Ms: 10 * float64(i+1), P999Ms: 20 * float64(i+1), Sustainable: i < 3})
		}
	}
	return m, s
}

func TestWriteCapacityRendersEveryFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	m, s := capacityRun()
	if err := report.WriteCapacity(dir, m, s); err != nil {
		t.Fatal(err)
	}
	read := func(name string) string {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	md := read(report.MarkdownFile)
	for _, want := range []string{"❌ fail", s.Lines[0], "| CPU per chat | ❌ fail | 1.120 | 1.090–1.150 (95%) |", "| 8 | bracket  | candidate | 800.0 |", "perrequest --burn 20us", "not pinned"} {
		if !strings.Contains(md, want) {
			t.Errorf("report.md lacks %q:\n%s", want, md)
		}
	}
	if h := read(report.HTMLFile); !strings.Contains(h, "<svg") || strings.Contains(h, "<?xml") || !strings.Contains(h, "loadbench capacity: fail") {
		t.Errorf("report.html: no inlined chart or no verdict")
	}
	if j := read(report.JUnitFile); !strings.Contains(j, `failures="1"`) || !strings.Contains(j, `name="cpu_per_chat"`) || !strings.Contains(j, "<failure") {
		t.Errorf("junit.xml:\n%s", j)
	}
	if svg := read(filepath.Join("charts", report.CapacityChartFile)); !strings.Contains(svg, "<svg") || !strings.Contains(svg, "knee 1000/s") {
		t.Errorf("chart lacks the knee")
	}
	var text strings.Builder
	if err := report.CapacityText(s)(&text); err != nil || !strings.HasPrefix(text.String(), "FAIL: CPU per chat") {
		t.Errorf("text: %v\n%s", err, text.String())
	}
}
