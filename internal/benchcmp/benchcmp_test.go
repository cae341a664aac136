package benchcmp

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/loadbench/loadbench/internal/gate"
	"github.com/loadbench/loadbench/internal/testtool"
	"github.com/loadbench/loadbench/results"
)

func benchFiles(t *testing.T, oldName, newName string) *Result {
	t.Helper()
	res, err := CompareFiles(filepath.Join("testdata", oldName), filepath.Join("testdata", newName), gate.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestCompareGolden(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		newFile string
		verdict results.Verdict
	}{
		{"new_fail.txt", results.Fail},
		{"new_pass.txt", results.Pass},
	} {
		res := benchFiles(t, "old.txt", tc.newFile)
		if res.Verdict != tc.verdict {
			t.Errorf("%s: verdict %s (%s), want %s", tc.newFile, res.Verdict, res.Reason, tc.verdict)
		}
		if len(res.Rows) != 6 { // 2 benchmarks × 3 units, matched across packages
			t.Errorf("%s: %d rows, want 6", tc.newFile, len(res.Rows))
		}
		var buf bytes.Buffer
		if err := res.Report()(&buf); err != nil {
			t.Fatal(err)
		}
		testtool.Golden(t, "benchcmp_"+strings.TrimSuffix(strings.TrimPrefix(tc.newFile, "new_"), ".txt")+".golden", buf.Bytes())
	}
}

// TestCompareMatchesBenchstat checks centers, intervals and p against
// benchstat's own output on the same files (testdata/benchstat_fail.golden,
// made with `benchstat -ignore pkg old.txt new_fail.txt`, x/perf as of
// go.mod).
func TestCompareMatchesBenchstat(t *testing.T) {
	t.Parallel()
	res := benchFiles(t, "old.txt", "new_fail.txt")
	bs := benchstatRows(t, "benchstat_fail.golden")
	for _, row := range res.Rows {
		line, ok := bs[row.Unit+" "+row.Name]
		if !ok {
			t.Errorf("benchstat has no row %s %s", row.Unit, row.Name)
			continue
		}
		var buf bytes.Buffer
		r := &Result{Rows: []Row{row}}
		if err := r.Report()(&buf); err != nil {
			t.Fatal(err)
		}
		cells := strings.Fields(strings.Split(buf.String(), "\n")[1])
		oldCell, newCell := cells[2]+" ± "+cells[4], cells[5]+" ± "+cells[7]
		for _, want := range []string{oldCell, newCell, fmt.Sprintf("p=%.3f n=10", row.P)} {
			if !strings.Contains(line, want) {
				t.Errorf("%s %s: benchstat row %q lacks our %q", row.Unit, row.Name, line, want)
			}
		}
	}
	// The exact U test p for fully separated samples of 10: 2/C(20,10).
	run := res.Rows[0]
	if run.Name != "Run-8" || run.Unit != "sec/op" || math.Abs(run.P-2.0/184756) > 1e-12 {
		t.Errorf("first row %s %s p=%v, want Run-8 sec/op p=%v", run.Name, run.Unit, run.P, 2.0/184756)
	}
	if run.Verdict != results.Fail || math.Abs(run.Ratio-1.212/1.009) > 0.002 {
		t.Errorf("Run-8 sec/op: %s ratio %v", run.Verdict, run.Ratio)
	}
	// Constant B/op and allocs/op: equal, no NaN.
	for _, row := range res.Rows[1:] {
		if row.Unit != "sec/op" && (row.Ratio != 1 || row.P != 1 || row.Verdict != results.Pass) {
			t.Errorf("%s %s: ratio %v p %v %s", row.Name, row.Unit, row.Ratio, row.P, row.Verdict)
		}
	}
}

// benchstatRows maps "unit name" to the row of benchstat's output.
func benchstatRows(t *testing.T, name string) map[string]string {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows := map[string]string{}
	unit := ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		fields := strings.Fields(line)
		switch {
		case len(fields) == 0:
		case strings.HasPrefix(line, " ") && strings.Contains(line, "vs base"):
			unit = strings.Fields(strings.Split(line, "│")[2])[0]
		case !strings.HasPrefix(line, " ") && unit != "" && fields[0] != "geomean":
			rows[unit+" "+fields[0]] = line
		}
	}
	return rows
}

func TestCompareErrors(t *testing.T) {
	t.Parallel()
	cfg := gate.DefaultConfig()
	if _, err := CompareFiles("testdata/nope.txt", "testdata/old.txt", cfg); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
	other := "pkg: x\nBenchmarkOther-8 10 5 ns/op\n"
	if _, err := Compare(strings.NewReader(other), mustOpen(t, "old.txt"), cfg); !errors.Is(err, ErrNoCommon) {
		t.Errorf("no common benchmark: %v", err)
	}
	if _, err := Compare(strings.NewReader("not a benchmark\n"), mustOpen(t, "old.txt"), cfg); err == nil || !strings.Contains(err.Error(), "no benchmark results") {
		t.Errorf("empty input: %v", err)
	}
}

func TestCompareFewRuns(t *testing.T) {
	t.Parallel()
	old := "BenchmarkX-8 10 100 ns/op\nBenchmarkX-8 10 101 ns/op\nBenchmarkX-8 10 99 ns/op\n"
	res, err := Compare(strings.NewReader(old), strings.NewReader(old), gate.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	if res.Verdict != results.Inconclusive || res.Rows[0].MoreRounds != 3 {
		t.Errorf("3 runs each: %s more %d (%s)", res.Verdict, res.Rows[0].MoreRounds, res.Reason)
	}
	if len(res.Warnings) == 0 {
		t.Error("no warning about too few samples")
	}
}

func mustOpen(t *testing.T, name string) *os.File {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}
