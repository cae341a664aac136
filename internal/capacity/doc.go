// Package capacity is the engine of `loadbench capacity`, private to the
// root package: it runs the steps of a capacity run (one build at one
// offered rate for one step), judges each step sustainable or not, searches
// each build's sustainable throughput (a geometric bracket, then repeated
// interleaved bisections) and measures CPU per chat in paired rounds at
// fixed rates, and turns it all into a results.CapacitySummary with
// verdicts from internal/gate's paired rule.
//
// Each answer is one fixed-sample look at its pairs. An inconclusive one
// says how large a run would decide it if the ratio held. Runs pooled by
// Merge are judged the same way: merging runs until an answer decides is a
// sequential test whose error rates are higher than the interval's
// (TestMergingUntilDecidedRaisesTheErrorRates), which the merged summary
// says.
//
// The search (Search) sees the builds only through a Measurer, so it is
// tested against a model of a target (search_test.go); Run supplies the
// real one, which loads a deployment with internal/load and reads its CPU
// with internal/cpu.
package capacity
