package benchcmp

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/loadbench/loadbench/internal/gate"
	"github.com/loadbench/loadbench/results"
)

func TestUnitBetter(t *testing.T) {
	t.Parallel()
	for unit, want := range map[string]int{
		"sec/op": -1, "ns/op": -1, "B/op": -1, "allocs/op": -1, "B/s": 1, "MB/s": 1,
		"p50-ms": -1, "p99-ms": -1, "p95-ns": -1, "p50-us": -1, "max-sec": -1,
		"B/chat": -1, "retained-B/chat": -1, "errors": -1, "target-errors": -1,
		"chats/s": 1, "widgets": 0, "ms": 0,
	} {
		if got := UnitBetter(unit); got != want {
			t.Errorf("UnitBetter(%q) = %d, want %d", unit, got, want)
		}
	}
}

func chatFile(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "chat.txt"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestColumns compares the builds of one BenchmarkChat output
// (testdata/chat.txt: seeded values; perrequest has the baseline's latency,
// 30% more B/chat and half the retained bytes; partial is 20% slower).
func TestColumns(t *testing.T) {
	t.Parallel()
	res, err := Columns(strings.NewReader(chatFile(t)), "build", "baseline", "perrequest", gate.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	if res.Old != "build=baseline" || res.New != "build=perrequest" {
		t.Errorf("names %q %q", res.Old, res.New)
	}
	if len(res.Rows) != 12 { // 2 protocols × 6 units
		t.Fatalf("%d rows, want 12", len(res.Rows))
	}
	for _, r := range res.Rows {
		if !strings.HasPrefix(r.Name, "Chat/proto=") {
			t.Errorf("row name %q keeps the build", r.Name)
		}
		want := results.Pass
		if r.Unit == "B/chat" {
			want = results.Fail
		}
		if r.Verdict != want {
			t.Errorf("%s %s: %s (ratio %.3f), want %s", r.Name, r.Unit, r.Verdict, r.Ratio, want)
		}
	}
	if res.Verdict != results.Fail || !strings.Contains(res.Reason, "B/chat +30") {
		t.Errorf("verdict %s: %s", res.Verdict, res.Reason)
	}
	for _, w := range res.Warnings {
		if strings.Contains(w.Error(), "direction unknown") {
			t.Errorf("unexpected warning %v", w)
		}
	}

	res, err = Columns(strings.NewReader(chatFile(t)), "build", "baseline", "partial", gate.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	if res.Verdict != results.Fail || !strings.Contains(res.Reason, "-ms +") {
		t.Errorf("partial: verdict %s: %s, want a latency failure", res.Verdict, res.Reason)
	}
}

func TestColumnsKeyAlone(t *testing.T) {
	t.Parallel()
	if _, err := Columns(strings.NewReader(chatFile(t)), "build", "", "", gate.DefaultConfig()); err == nil || !strings.Contains(err.Error(), "3 values") {
		t.Errorf("three builds, key alone: %v", err)
	}
	var two []string
	for _, l := range strings.Split(chatFile(t), "\n") {
		if !strings.Contains(l, "build=partial") {
			two = append(two, l)
		}
	}
	res, err := Columns(strings.NewReader(strings.Join(two, "\n")), "build", "", "", gate.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	if res.Old != "build=baseline" || res.New != "build=perrequest" || res.Verdict != results.Fail {
		t.Errorf("%s vs %s: %s", res.Old, res.New, res.Verdict)
	}
}

func TestColumnsErrors(t *testing.T) {
	t.Parallel()
	in := chatFile(t)
	for _, c := range []struct{ key, old, new, want string }{
		{"build", "baseline", "nosuch", "no result with build=nosuch"},
		{"impl", "", "", "no benchmark result named with /impl="},
		{"", "", "", "want a key"},
		{"build", "baseline", "", "want a key"},
		{"build", "baseline", "baseline", "want a key"},
	} {
		_, err := Columns(strings.NewReader(in), c.key, c.old, c.new, gate.DefaultConfig())
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), "benchcmp: ") {
			t.Errorf("%s=%s,%s: %v, want %q", c.key, c.old, c.new, err, c.want)
		}
	}
}

func TestCompareDirections(t *testing.T) {
	t.Parallel()
	sample := func(unit string, v ...float64) string {
		var b strings.Builder
		for _, x := range v {
			b.WriteString("BenchmarkX-8 10 " + strings.TrimRight(strings.TrimRight(strconvF(x), "0"), ".") + " " + unit + "\n")
		}
		return b.String()
	}
	old := []float64{100, 101, 99, 100, 102, 98, 100, 101}
	slower := []float64{80, 81, 79, 80, 82, 78, 80, 81}
	for _, c := range []struct {
		unit string
		want results.Verdict
	}{
		{"chats/s", results.Fail}, // higher is better: 20% fewer fails
		{"p99-ms", results.Pass},  // lower is better: 20% less passes
		{"errors", results.Pass},  // fewer errors pass
		{"widgets", results.Pass}, // unknown: lower taken as better, with a warning
	} {
		res, err := Compare(strings.NewReader(sample(c.unit, old...)), strings.NewReader(sample(c.unit, slower...)), gate.DefaultConfig())
		if err != nil {
			t.Fatal(err)
		}
		if res.Verdict != c.want {
			t.Errorf("%s: %s (%s), want %s", c.unit, res.Verdict, res.Reason, c.want)
		}
		if c.unit == "errors" {
			zeros := sample("errors", 0, 0, 0, 0, 0, 0, 0, 0)
			failing := sample("errors", 3, 2, 4, 3, 3, 5, 2, 3)
			r, err := Compare(strings.NewReader(zeros), strings.NewReader(failing), gate.DefaultConfig())
			if err != nil || r.Verdict != results.Fail {
				t.Errorf("errors 0 → 3: %v %+v", err, r)
			}
			if r, err := Compare(strings.NewReader(zeros), strings.NewReader(zeros), gate.DefaultConfig()); err != nil || r.Verdict != results.Pass {
				t.Errorf("errors 0 → 0: %v %+v", err, r)
			}
		}
		warned := false
		for _, w := range res.Warnings {
			warned = warned || strings.Contains(w.Error(), "direction unknown")
		}
		if warned != (c.unit == "widgets") {
			t.Errorf("%s: unknown-direction warning %t", c.unit, warned)
		}
	}
}

func strconvF(x float64) string { return strconv.FormatFloat(x, 'f', 3, 64) }
