package gate

import (
	"fmt"
	"io"
	"strconv"
	"strings"

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
// percentiles are the run's --percentiles flag (default 50, 95, 99). Read
// it with `benchstat -col /impl rounds.bench`.
func WriteBench(w io.Writer, run *results.Run) error {
	pcts := DefaultPercentiles()
	if f := run.Manifest.Flags["percentiles"]; f != "" {
		p, err := ParsePercentiles(f)
		if err != nil {
			return fmt.Errorf("write bench: %w", err)
		}
		pcts = p
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

// UnitBetter tells which way a benchmark unit improves: -1 when lower is
// better, 1 when higher is, 0 when the unit is unknown. Besides the testing
// package's own units (sec/op, ns/op, B/op, allocs/op lower; B/s, MB/s
// higher) it knows loadbench's:
//
//   - latencies, "*-ms", "*-us", "*-ns" and "*-sec" (p99-ms, p50-ns): lower;
//   - bytes, "B/*" and "*-B/*" (B/chat, retained-B/chat): lower;
//   - failures, "errors" and "*-errors": lower;
//   - rates, "*/s" (chats/s): higher.
//
// A `Unit NAME better=higher|lower` line in the benchmark output overrides
// it (BenchCompare reads those first).
func UnitBetter(unit string) int {
	switch unit {
	case "sec/op", "ns/op", "B/op", "allocs/op", "errors":
		return -1
	case "B/s", "MB/s":
		return 1
	}
	for _, suffix := range []string{"-ms", "-us", "-µs", "-ns", "-sec", "-errors"} {
		if strings.HasSuffix(unit, suffix) {
			return -1
		}
	}
	switch {
	case strings.HasPrefix(unit, "B/") || strings.Contains(unit, "-B/"):
		return -1
	case strings.HasSuffix(unit, "/s"):
		return 1
	}
	return 0
}
