package gate

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"testing"

	"github.com/loadbench/loadbench/internal/testtool"
	"github.com/loadbench/loadbench/results"
	"golang.org/x/perf/benchfmt"
)

func TestWriteBench(t *testing.T) {
	t.Parallel()
	run := synthRun(build{factor: steady(1, tight[:2]...)}, build{factor: steady(1.5, tight[:2]...)})
	var buf bytes.Buffer
	if err := WriteBench(&buf, run); err != nil {
		t.Fatal(err)
	}
	testtool.Golden(t, "rounds.bench.golden", buf.Bytes())

	// Read it back as benchstat would.
	type key struct{ name, unit string }
	got := map[key][]float64{}
	var names []string
	r := benchfmt.NewReader(bytes.NewReader(buf.Bytes()), "rounds.bench")
	for r.Scan() {
		switch rec := r.Result().(type) {
		case *benchfmt.SyntaxError:
			t.Fatalf("syntax error: %v", rec)
		case *benchfmt.Result:
			if rec.GetConfig("pkg") != BenchPkg || rec.GetConfig("goos") != "linux" || rec.GetConfig("cpu") != "Test CPU" {
				t.Errorf("config %q %q %q", rec.GetConfig("pkg"), rec.GetConfig("goos"), rec.GetConfig("cpu"))
			}
			if rec.Iters != 1000 {
				t.Errorf("%s: iterations %d, want 1000 requests", rec.Name, rec.Iters)
			}
			names = append(names, rec.Name.String())
			for _, v := range rec.Values {
				unit, val := v.Unit, v.Value
				if v.OrigUnit != "" {
					unit, val = v.OrigUnit, v.OrigValue
				}
				got[key{rec.Name.String(), unit}] = append(got[key{rec.Name.String(), unit}], val)
			}
		}
	}
	if len(names) != 8 { // 2 builds × 2 protocols × 2 rounds
		t.Fatalf("%d results, want 8: %v", len(names), names)
	}
	for _, b := range []string{results.Baseline, results.Candidate} {
		for _, proto := range []string{results.HTTP, results.WS} {
			name := fmt.Sprintf("Chat/impl=%s/proto=%s", b, proto)
			for r := 1; r <= 2; r++ {
				h := run.Segment(b, r).Protocols[proto].Latency
				for _, p := range []float64{50, 95, 99} {
					vals := got[key{name, fmt.Sprintf("p%v-ns", p)}]
					if len(vals) != 2 {
						t.Fatalf("%s p%v: %d values, want 2", name, p, len(vals))
					}
					if want := float64(h.Quantile(p / 100).Nanoseconds()); math.Abs(vals[r-1]-want) > 0.5 {
						t.Errorf("%s round %d p%v = %v ns, want %v", name, r, p, vals[r-1], want)
					}
				}
			}
		}
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestWriteBenchError(t *testing.T) {
	t.Parallel()
	run := synthRun(build{factor: tight}, build{factor: tight})
	if err := WriteBench(failWriter{}, run); err == nil {
		t.Fatal("no error from a failing writer")
	}
}
