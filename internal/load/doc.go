// Package load is loadbench's load engine: open-model HTTP and WebSocket load
// against any deployment that speaks the agents wire contract, with every
// response and event checked.
//
// The engine knows only the wire, never a build:
//
//	POST {base}/api/agents/run   {"user_id","thread_id","message"} → run_id, ids, factory_id, five events, result
//	GET  {base}/api/demo/ws      chat → agent_started, agent_thinking, tool_executing, tool_completed, agent_completed
//
// Arrivals follow an open model: chats are scheduled at the rate, as
// independent (Poisson) arrivals by default or exactly 1/rate apart
// (WithArrivals), and sent on schedule whether or not earlier ones were
// answered, and latency is measured from the intended send time, so a
// stalled target shows its stall instead of hiding it behind a waiting
// generator (coordinated omission). Rate Max switches a protocol to a closed
// loop (throughput mode): HTTP with a fixed number of workers, WebSocket with
// every user sending its next chat when the previous one is answered.
//
// Every virtual user (ids like lb_user_00042) has its own thread and a secret
// token (lbsecret_<16 hex>) in every message; any response or event that
// carries another user's secret or ids is an isolation violation.
//
// HTTP goes through a minimal HTTP/1.1 keep-alive client of its own
// (rawhttp.go) rather than net/http's Transport, so the generator is cheap
// enough to out-run vegeta on a loopback target; WebSocket uses
// github.com/coder/websocket with compression off, one reader goroutine and
// no per-message allocation per connection.
//
// Accounting. Latency holds answered chats only; a failed chat counts once,
// under its error class, with its time to failure (Protocol.Failed).
// classify separates the target's classes (timeout, connection refused,
// tls: …) from the generator's own (results.GeneratorErrorPrefix: no free
// port, no file descriptor, in-flight limit), which are never charged to
// the target. At most WithMaxInFlight chats are in flight over both
// protocols (an atomic slot per chat, no lock); a chat due past the limit
// is not sent and counts as Protocol.NotSent. Every chat's send lag
// (dispatch − intended send) is recorded and Protocol.Saturated set when
// its p99 exceeds WithMaxSendLag. More than WithMaxEventGap between two
// consecutive events of a chat (WebSocket arrivals, HTTP events' own
// timestamps), or a redial slower than WithRedialWithin, is a timing
// violation. A failed WebSocket dial counts once (Protocol.ConnErrors).
//
// How the target is reached is transport.go's: headers on every request and
// handshake (WithHeader; values are secrets and never written), TLS
// (WithTLSConfig, built by TLSConfig), proxies (WithProxy, the environment by
// default: absolute form for http, CONNECT tunnels for https and every
// WebSocket), a WebSocket subprotocol and pings of quiet connections, and a
// body template (WithBodyTemplate, body.go) that must carry the user's
// secret. The raw client skips 1xx answers, reads comma-separated
// Transfer-Encoding/Connection values and 64 KiB header lines, and redials a
// keep-alive connection the server closed while idle. WebSocket messages
// outside the chat contract count as other messages unless they carry
// another user's data (wsconn.go).
//
// Results are a results.Segment; TextReport and JSONReport render it.
package load
