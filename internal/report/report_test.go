package report_test

import (
	"encoding/xml"
	"flag"
	"io"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/loadbench/loadbench/charts"
	"github.com/loadbench/loadbench/internal/report"
	"github.com/loadbench/loadbench/internal/report/reporttest"
	"github.com/loadbench/loadbench/internal/testtool"
	"github.com/loadbench/loadbench/results"
)

// shared is the fixture run rendered once in every format, for the tests
// that only read it (rendering the charts under -race takes seconds).
var shared struct {
	once sync.Once
	dir  string
	run  *results.Run
	err  error
}

func TestMain(m *testing.M) {
	flag.Parse()
	code := m.Run()
	if shared.dir != "" {
		os.RemoveAll(shared.dir)
	}
	os.Exit(code)
}

// writeAll returns the directory of the fixture run rendered in every
// format. Callers must not modify it.
func writeAll(t *testing.T) (string, *results.Run) {
	t.Helper()
	shared.once.Do(func() {
		if shared.dir, shared.err = os.MkdirTemp("", "report-test-"); shared.err != nil {
			return
		}
		os.Unsetenv(report.StepSummaryEnv)
		shared.run = reporttest.Write(t, shared.dir)
		shared.err = report.Write(shared.dir, shared.run, nil, report.All...)
	})
	if shared.err != nil {
		t.Fatal(shared.err)
	}
	return shared.dir, shared.run
}

func read(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestGoldenMarkdown(t *testing.T) {
	t.Parallel()
	dir, _ := writeAll(t)
	testtool.Golden(t, "report.md", read(t, filepath.Join(dir, report.MarkdownFile)))
}

func TestGoldenJUnit(t *testing.T) {
	t.Parallel()
	dir, _ := writeAll(t)
	testtool.Golden(t, "junit.xml", read(t, filepath.Join(dir, report.JUnitFile)))
}

func TestMarkdownOrderAndLinks(t *testing.T) {
	t.Parallel()
	dir, _ := writeAll(t)
	md := string(read(t, filepath.Join(dir, report.MarkdownFile)))
	sum := reporttest.Summary()
	// The verdict and the reason come first.
	lines := strings.SplitN(md, "\n", 4)
	if !strings.Contains(lines[0], "fail") || !strings.Contains(lines[2], sum.Reason) {
		t.Errorf("report does not open with the verdict and reason:\n%s", strings.Join(lines[:3], "\n"))
	}
	last := -1
	for _, h := range []string{"### Latency", "### Memory", "### Isolation", "### Setup", "### Charts"} {
		i := strings.Index(md, h)
		if i < last {
			t.Errorf("%q missing or out of order", h)
		}
		last = i
	}
	for _, name := range charts.Names() {
		link := "(charts/" + name + ".png)"
		if !strings.Contains(md, link) {
			t.Errorf("no link %s", link)
		}
		if _, err := os.Stat(filepath.Join(dir, "charts", name+".png")); err != nil {
			t.Errorf("linked chart not written: %v", err)
		}
	}
	for _, want := range []string{"| ws | p99 | 41.00 ms | 44.10 ms | 1.076 (+7.6%) | 1.055–1.090 | 0.004 | ❌ fail", "about 4 more rounds", "loadgen-1", "HTTP 50 chats/s", "| users | 100 |", "v0.1.0"} {
		if !strings.Contains(md, want) {
			t.Errorf("report.md lacks %q", want)
		}
	}
}

func TestJUnitStructure(t *testing.T) {
	t.Parallel()
	dir, _ := writeAll(t)
	var doc struct {
		Tests    int `xml:"tests,attr"`
		Failures int `xml:"failures,attr"`
		Skipped  int `xml:"skipped,attr"`
		Suites   []struct {
			Cases []struct {
				Class   string `xml:"classname,attr"`
				Name    string `xml:"name,attr"`
				Failure *struct {
					Message string `xml:"message,attr"`
				} `xml:"failure"`
				Skipped *struct{} `xml:"skipped"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal(read(t, filepath.Join(dir, report.JUnitFile)), &doc); err != nil {
		t.Fatal(err)
	}
	// 6 latency verdicts, memory and isolation for both builds, the
	// candidate's errors per protocol (inconclusive: skipped).
	if doc.Tests != 12 || doc.Failures != 1 || doc.Skipped != 3 || len(doc.Suites) != 1 || len(doc.Suites[0].Cases) != 12 {
		t.Fatalf("tests %d failures %d skipped %d suites %d", doc.Tests, doc.Failures, doc.Skipped, len(doc.Suites))
	}
	for _, c := range doc.Suites[0].Cases {
		failed := c.Failure != nil
		if want := c.Class == "latency.ws" && c.Name == "p99"; failed != want {
			t.Errorf("%s %s: failure %v, want %v", c.Class, c.Name, failed, want)
		}
		if failed && !strings.Contains(c.Failure.Message, "44.10 ms") {
			t.Errorf("failure message lacks the numbers: %q", c.Failure.Message)
		}
		if skipped := c.Skipped != nil; skipped != ((c.Class == "latency.ws" && c.Name == "p95") || c.Class == "errors.http" || c.Class == "errors.ws") {
			t.Errorf("%s %s: skipped %v", c.Class, c.Name, skipped)
		}
	}
}

// externalRef finds anything that would make a browser fetch: URLs outside
// the SVG and XLink namespace declarations, script or link elements,
// @import and url(...) that is not a data: URL.
var externalRef = regexp.MustCompile(`(?i)https?://|<script|<link|@import|url\(\s*['"]?(?:[a-z]+:)?//|<iframe|<object|<embed|src\s*=`)

func TestHTMLSelfContained(t *testing.T) {
	t.Parallel()
	dir, _ := writeAll(t)
	page := string(read(t, filepath.Join(dir, report.HTMLFile)))
	// The reported target URLs and the SVG namespaces are the only URLs;
	// neither is fetched. Take them out, then nothing may remain.
	stripped := page
	for _, ns := range []string{`xmlns="http://www.w3.org/2000/svg"`, `xmlns:xlink="http://www.w3.org/1999/xlink"`} {
		stripped = strings.ReplaceAll(stripped, ns, "")
	}
	for _, u := range reporttest.Manifest().Targets {
		stripped = strings.ReplaceAll(stripped, ">"+u+"<", "><")
		stripped = strings.ReplaceAll(stripped, " "+u+"<", "<")
	}
	if m := externalRef.FindAllString(stripped, 5); len(m) > 0 {
		t.Errorf("report.html has external references: %q", m)
	}
	if n := strings.Count(page, "<svg"); n != len(charts.Names()) {
		t.Errorf("report.html inlines %d SVGs, want %d", n, len(charts.Names()))
	}
	if strings.Contains(page, "<?xml") {
		t.Error("report.html contains an XML declaration")
	}
	for _, want := range []string{reporttest.Summary().Reason, "Latency", "Memory", "Isolation", "Setup", "loadgen-1", "44.10 ms"} {
		if !strings.Contains(page, strings.ReplaceAll(want, "'", "&#39;")) {
			t.Errorf("report.html lacks %q", want)
		}
	}
	// It is well-formed enough for an XML reader (a cheap structural check).
	dec := xml.NewDecoder(strings.NewReader(page))
	dec.Strict = false
	dec.AutoClose = xml.HTMLAutoClose
	dec.Entity = xml.HTMLEntity
	for {
		if _, err := dec.Token(); err == io.EOF {
			break
		} else if err != nil {
			t.Fatalf("report.html does not parse: %v", err)
		}
	}
}

func TestTheSelfContainedCheckCatchesReferences(t *testing.T) {
	t.Parallel()
	for _, bad := range []string{`<script src="x.js">`, `<link rel="stylesheet" href="a.css">`, `@import "b.css"`, `url(https://x/f.woff)`, `<img src="a.png">`, `see http://example.com`} {
		if !externalRef.MatchString(bad) {
			t.Errorf("check misses %q", bad)
		}
	}
	if externalRef.MatchString(`src: url(data:font/ttf;base64,AAAA)`) {
		// the CSS descriptor "src:" is not an attribute "src="
		t.Error("check flags an inline data URL")
	}
}

func TestWriteFormatsAndStepSummary(t *testing.T) {
	dir := t.TempDir()
	run := reporttest.Write(t, dir)
	os.Remove(filepath.Join(dir, results.SummaryFile))
	step := filepath.Join(t.TempDir(), "step.md")
	if err := os.WriteFile(step, []byte("# earlier step\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv(report.StepSummaryEnv, step)
	if err := report.Write(dir, run, nil, report.FormatJUnit, report.FormatJSON); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]bool{report.JUnitFile: true, results.SummaryFile: true, report.MarkdownFile: false, report.HTMLFile: false, "charts": false} {
		_, err := os.Stat(filepath.Join(dir, name))
		if (err == nil) != want {
			t.Errorf("%s exists: %v, want %v", name, err == nil, want)
		}
	}
	var sum results.Summary
	if err := results.ReadJSON(filepath.Join(dir, results.SummaryFile), &sum); err != nil || sum.Reason != reporttest.Summary().Reason {
		t.Errorf("summary.json: %v, %q", err, sum.Reason)
	}
	if got := read(t, step); string(got) != "# earlier step\n" {
		t.Errorf("step summary written without Markdown: %q", got)
	}
	if err := report.Write(dir, run, nil, report.FormatMD); err != nil {
		t.Fatal(err)
	}
	got := string(read(t, step))
	md := string(read(t, filepath.Join(dir, report.MarkdownFile)))
	if got != "# earlier step\n"+md+"\n" {
		t.Errorf("step summary is not the earlier content plus report.md:\n%s", got)
	}
}

func TestWriteWithoutSummary(t *testing.T) {
	dir := t.TempDir()
	run := reporttest.Write(t, dir)
	run.Summary = nil
	err := report.Write(dir, run, nil)
	if err == nil || !strings.Contains(err.Error(), "summary.json: missing") {
		t.Errorf("err %v, want one naming the missing summary.json", err)
	}
}

func TestParseFormats(t *testing.T) {
	t.Parallel()
	for in, want := range map[string][]report.Format{
		"all":        report.All,
		"md":         {report.FormatMD},
		"html,junit": {report.FormatHTML, report.FormatJUnit},
		"JSON, md":   {report.FormatJSON, report.FormatMD},
	} {
		got, err := report.ParseFormats(in)
		if err != nil || !slices.Equal(got, want) {
			t.Errorf("ParseFormats(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "pdf", "md,"} {
		if _, err := report.ParseFormats(bad); err == nil {
			t.Errorf("ParseFormats(%q): no error", bad)
		}
	}
}

// The latency table shows the figures the ratio is computed from: on
// every row candidate/baseline is the ratio shown, up to the rounding of
// two decimals (a table of medians over rounds beside a mean ratio could
// read slower while the ratio read faster).
func TestMarkdownLatencyFiguresDivideToRatio(t *testing.T) {
	t.Parallel()
	dir, _ := writeAll(t)
	md := string(read(t, filepath.Join(dir, report.MarkdownFile)))
	row := regexp.MustCompile(`(?m)^\| (http|ws) \| p\d+ \| ([\d.]+) ms \| ([\d.]+) ms \| ([\d.]+) \(`)
	rows := row.FindAllStringSubmatch(md, -1)
	if len(rows) != len(reporttest.Summary().Latency) {
		t.Fatalf("%d latency rows, want %d", len(rows), len(reporttest.Summary().Latency))
	}
	for _, r := range rows {
		var b, c, ratio float64
		for i, p := range []*float64{&b, &c, &ratio} {
			v, err := strconv.ParseFloat(r[i+2], 64)
			if err != nil {
				t.Fatal(err)
			}
			*p = v
		}
		// 0.005 ms of rounding on each figure, 0.0005 on the ratio.
		tol := 0.005/b + 0.005*c/(b*b) + 0.0005
		if math.Abs(c/b-ratio) > tol {
			t.Errorf("%s: %.2f/%.2f = %.4f, table ratio %.3f", r[0], c, b, c/b, ratio)
		}
	}
}
