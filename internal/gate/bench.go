package gate

import (
	"fmt"
	"io"
	"strconv"

	"github.com/loadbench/loadbench/results"
)

// BenchPkg is the pkg: line of rounds.bench.
const BenchPkg = "loadbench/compare"

// WriteBench writes the complete rounds of run in the Go benchmark format,
// one line per build, protocol and round:
//
//	BenchmarkChat/impl=baseline/proto=http 2400 1234567 p50-ns 2345678 p95-ns 3456789 p99-ns
//
// The iteration count is the segment's requests for that protocol; the
// percentiles are those of the run's plan. Read
// it with `benchstat -col /impl rounds.bench`.
func WriteBench(w io.Writer, run *results.Run) error {
	pcts := run.Plan().Percentiles
	if len(pcts) == 0 {
		pcts = DefaultPercentiles()
	}
	m := run.Manifest
	bw := &errWriter{w: w}
	bw.printf("goos: %s\ngoarch: %s\npkg: %s\n", m.OS, m.Arch, BenchPkg)
	if m.CPUModel != "" {
		bw.printf("cpu: %s\n", m.CPUModel)
	}
	n := run.Rounds()
	segs := map[string][]*results.Segment{}
	for _, b := range []string{results.Baseline, results.Candidate} {
		for r := 1; r <= n; r++ {
			segs[b] = append(segs[b], run.Segment(b, r))
		}
	}
	for _, b := range []string{results.Baseline, results.Candidate} {
		for _, proto := range protocols(segs) {
			for _, s := range segs[b] {
				p := s.Protocols[proto]
				if p == nil || p.Latency.Count() == 0 {
					continue
				}
				bw.printf("BenchmarkChat/impl=%s/proto=%s %d", b, proto, max(p.Requests, p.Latency.Count()))
				for _, pct := range pcts {
					bw.printf(" %d p%s-ns", p.Latency.Quantile(pct/100).Nanoseconds(), strconv.FormatFloat(pct, 'f', -1, 64))
				}
				bw.printf("\n")
			}
		}
	}
	if bw.err != nil {
		return fmt.Errorf("write bench: %w", bw.err)
	}
	return nil
}

// errWriter keeps the first write error.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) printf(format string, args ...any) {
	if e.err == nil {
		_, e.err = fmt.Fprintf(e.w, format, args...)
	}
}
