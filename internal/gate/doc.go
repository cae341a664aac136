// Package gate turns stored loadbench results into verdicts.
//
// Evaluate reads a compare run (results.Run: R interleaved rounds, one load
// segment per build and round) and returns its results.Summary: a latency
// verdict per protocol and percentile, a memory and an isolation verdict per
// build, and an overall verdict on the candidate. It is a pure function of the
// stored data, so a summary can be recomputed from a run directory at any
// time, also from a run cut short (only complete rounds count).
//
// BenchCompare applies the same latency rule to two `go test -bench` outputs
// (the `loadbench benchcmp` command), BenchColumns to two columns of one
// output (`benchcmp --col build=baseline,perrequest`, for BenchmarkChat),
// each unit in its direction (UnitBetter: lower is better for *-ms, B/*
// and errors); WriteBench writes a compare run in the Go benchmark format
// for benchstat.
//
// The statistics are those of golang.org/x/perf/benchmath, as in benchstat:
// medians with distribution-free (order statistic) confidence intervals and
// the Mann–Whitney U test. Rendering is kept apart from the statistics: result
// structs are plain data, and Reporter values write them.
//
// # Latency rule
//
// For each protocol and percentile, the per-round values are that segment's
// latency percentile in ms. Rounds run interleaved, so the values of the two
// builds in one round are paired, and the per-round ratios
// candidate/baseline share the round's conditions. Let limit = 1 + budget.
//
//   - ratio: the median of the per-round ratios; its confidence interval
//     (default 95%) is the distribution-free interval of that median, from
//     order statistics (benchmath.AssumeNothing.Summary).
//   - p: the Mann–Whitney U test of the baseline's against the candidate's
//     per-round values (benchmath.AssumeNothing.Compare).
//   - pass: the interval's upper bound is within the limit (CI high ≤ limit):
//     the data show, with the stated confidence, that the candidate costs at
//     most the budget.
//   - fail: ratio > limit, the candidate's median is above the baseline's,
//     and the difference is significant: p < alpha, or the ratio's interval
//     lies entirely above 1 (the paired, per-round evidence: with 6 rounds,
//     the candidate was slower in every round, a sign test at p = 0.031).
//   - inconclusive: anything else, with an estimate of how many more rounds
//     would narrow the interval (its width shrinks as 1/√n) enough to
//     separate the ratio from the limit.
//
// The paired half of "significant" is an addition to the U test, for a
// measured reason: rounds differ in conditions (other load on the machines),
// which the interleaving cancels in the per-round ratios but which swamps the
// unpaired U test. In simulation (6 rounds, 2% noise per segment, 5%
// round-to-round drift), the U test alone detected a +10% slowdown in 81% of
// runs, and with the interval in 99.9%, while A/A runs failed in under 1%
// of runs either way (TestErrorRates pins this).
//
// A ratio within the limit that is not significant is deliberately not a
// pass: with noisy rounds a real +10% regression often shows a median ratio
// under 1.05 and no significant difference, and passing it would be a missed
// regression. The gate passes only what it can show to be within budget.
// Fail needs both the effect size (over the budget) and significance, so an
// A/A comparison fails only if a test gives a false positive in the slower
// direction (the U test: about alpha/2; the interval: 1/64 with 6 rounds) and
// the noise also pushes the median ratio over the limit. With the default 6 rounds the 95%
// interval of the median ratio is [min ratio, max ratio] (96.9% coverage), and
// the smallest possible p of the U test is 0.002. With fewer than 6 rounds
// there is no finite interval, so there is no pass; with fewer than 2 rounds
// the verdict is inconclusive.
//
// # Memory rule
//
// Per round, retained bytes = the heap after the segment (after a forced GC)
// minus the heap before it, and bytes per request = retained / requests
// served. A build's RetainedBytesPerRequest is the median over rounds,
// RetainedBytes the total over rounds, and FactoriesLiveAfter and
// AgentInstancesRetained are read after the last round. The candidate passes
// when its bytes per request are at most MaxRetainedBytesPerRequest (default
// 256: a leak of 1 KiB per request is caught four times over, while GC noise
// of a few hundred KB over thousands of requests is not) and no factory is
// live after the last round (skipped, with a note, when the target does not
// report it). When a reading did not follow a forced GC (no /debug/gc, as in
// staging) the threshold is multiplied by UnforcedTolerance (default 4). With
// no memory readings at all the candidate's memory is inconclusive. The
// baseline is computed the same way and reported as info.
//
// # Isolation rule
//
// A build's checks are summed over its segments; it passes iff no response
// carried another user's data. Only the candidate is gated.
//
// # Overall verdict
//
// Fail if any latency check, the candidate's memory or the candidate's
// isolation fails; else inconclusive if any of those is inconclusive; else
// pass. The reason names the first failing thing, isolation first, then
// memory, then latency (the worst latency check).
package gate
