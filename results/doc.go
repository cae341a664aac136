// Package results owns the on-disk format of a loadbench run.
//
// A segment directory holds one load segment (one `loadbench attack`, or one
// build in one round of a compare):
//
//	manifest.json     who ran what, where and when (Manifest)
//	protocols.json    per protocol: counts, errors by class (the target's and
//	                  the generator's), HDR histograms of answered chats'
//	                  latency, of failed chats' time to failure and of send
//	                  lag; not-sent chats, in-flight figures, saturation and
//	                  timing violations (docs/accounting.md)
//	timeline.json     per protocol, per second: requests, errors, generator
//	                  errors, not sent, p50, p99 (answered chats only)
//	isolation.json    cross-user checks: counts, distinct factory ids, examples
//	memory.json       optional: memory before and after the segment (compare)
//	samples.json      optional: /metrics samples taken during the segment
//	http.vegeta.bin   optional: the HTTP results in vegeta's binary encoding
//
// A compare run directory holds a manifest.json, one segment directory per
// build and round (baseline/round-01, candidate/round-01, ...), summary.json
// (the verdicts) and rounds.bench (Go benchmark format, for benchstat).
//
// Every file is written atomically (temporary file, then rename), so a run
// that is cut short leaves only whole files; reading a damaged file returns an
// error that names it.
package results
