// Package benchcmp gates `go test -bench` outputs: the `loadbench
// benchcmp` command.
//
// Compare reads two outputs (the baseline's and the candidate's, as
// benchstat's OLD and NEW), Columns two columns of one output (`benchcmp
// --col build=baseline,perrequest`, as `benchstat -col /build` shows
// BenchmarkChat), and each returns a Result: one Row per benchmark and unit
// found on both sides, a verdict and a one-line reason. Inputs are parsed
// with golang.org/x/perf/benchfmt; a Row's numbers are those of
// gate.CompareUnpaired, so the decision is the gate's: pass when the cost
// ratio's interval is within 1 + budget, fail when it is wholly over,
// inconclusive otherwise. The overall verdict fails if any row fails, else
// is inconclusive if any row is, else passes.
//
// Every unit is gated in its own direction (UnitBetter: lower is better
// for sec/op, *-ms, B/* and errors, higher for B/s and */s), unless the
// input's `Unit NAME better=higher|lower` line says otherwise. Result.Report
// renders the table that `loadbench benchcmp` prints.
//
// The statistics and the compare's own rules stay in internal/gate; this
// package only reads benchmark files, matches their results and renders
// the outcome.
package benchcmp
