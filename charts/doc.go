// Package charts draws the charts of a loadbench compare run with
// gonum.org/v1/plot, each as PNG and SVG under DIR/charts/:
//
//	latency-spectrum    latency by percentile, p50 to p99.99, per protocol (HDR style)
//	percentiles         p50/p95/p99 per protocol, CI whiskers and the budget line
//	latency-over-time   p50 and p99 per second across all rounds, rounds shaded
//	heap                live heap over time, readings after forced GCs, load phases shaded
//	factories           live factories and retained agent instances over time
//	throughput          requests and errors per second, per protocol
//
// The baseline is always drawn in BaselineHex (blue) and the candidate in
// CandidateHex (orange). Output is deterministic for a given run: no wall-clock
// times, time axes count seconds from the start of the run.
package charts
