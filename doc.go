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
// Options.Header, TLS and Proxy reach authenticated and private
// deployments (CompareOptions.Baseline and Candidate, per side); ParseBody
// makes the chat message of a service whose messages differ from the
// built-in contract's. Every error caused by invalid input wraps ErrUsage
// and speaks of the configuration (no command-line flag names). StartTarget
// serves one of the project's built-in builds on a loopback port, for
// examples and benchmarks.
//
// The load engine and the gate behind this package are internal and free to
// change; the raw results (Result.Segment, Comparison.Summary) are the types
// of the public package results.
//
// The loadbench command is built on this package where the mapping is
// lossless: `loadbench attack` parses its flags into Options, calls Attack,
// writes Result.Segment to the run directory and prints Result.WriteText or
// WriteJSON. `loadbench compare` stays on the internal compare engine.
// Besides two URLs it starts the built-in builds as child processes (with
// extra serve arguments and a workload profile) and ends them, and it has
// settings CompareOptions does not carry: the metrics and forced-GC routes,
// a body template, WebSocket subprotocol and ping interval per side, the
// engine's in-flight and timing limits, live progress and report rendering.
// Managing child processes is the command's business, not a library's: a
// Go test that wants built-in builds starts them with StartTarget and
// passes their URLs to Compare.
package loadbench
