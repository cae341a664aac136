// Package loadbench is the library face of loadbench: open-model HTTP and
// WebSocket load against any service that speaks the agents wire contract,
// with every response checked for correctness and for other users' data
// (isolation), and a statistical gate of a candidate deployment against a
// baseline.
//
// The wire contract a target serves (see the README for the full shape):
//
//	POST {base}/api/agents/run  {"user_id","thread_id","message"}
//	     → {"run_id","user_id","thread_id","factory_id","events":[five events],"result"}
//	GET  {base}/api/demo/ws     {"type":"chat",...} → the five events, one message each
//
// Three calls cover the common uses:
//
//   - Attack sends chats at fixed arrival rates (or as fast as possible) and
//     returns a Result: per-protocol latency percentiles of the answered
//     chats, failed chats by class, and isolation findings.
//   - Result.ReportMetrics puts a Result into a benchmark (*testing.B), so
//     that `go test -bench` and benchstat read it.
//   - Compare runs interleaved rounds against a baseline and a candidate
//     deployment and returns the gate's Verdict.
//
// Options and CompareOptions take their defaults from the zero value.
// Every error caused by invalid input wraps ErrUsage. StartTarget serves one
// of the project's built-in builds on a loopback port, for examples and
// benchmarks.
//
// The load engine and the gate behind this package are internal and free to
// change; the raw results (Result.Segment, Comparison.Summary) are the types
// of the public package results.
package loadbench
