// Package targets serves a build of the chat-agent service over HTTP and
// WebSocket: POST /api/agents/run, GET /api/demo/ws, GET /metrics,
// GET /healthz and, when enabled, POST /debug/gc. Each Server has its own
// Prometheus registry.
//
// Builds: baseline (the legacy singleton), perrequest, and partial, the
// half-migrated service (HTTP on per-request factories, the WebSocket route
// still configuring the singleton), composed here because the two builds
// never import each other.
//
// A chat's events reach it through a sink that accepts events from other
// goroutines (under the legacy build another user's agent may deliver to
// it). A chat whose own events never arrive waits for them until the orphan
// timeout (a quarter of the profile's per-chat timeout by default) and ends with an
// error: HTTP 504, or a WebSocket error message.
//
// Fault injection: WithSlowdown, WithLeak (bytes per chat), WithDelay (a
// fixed latency per chat), WithBurn (a fixed CPU time per chat, real work on
// the request path), WithFailRate (a share of chats answered with an
// error, chosen by a hash of the chat and WithFailSeed), WithWSFailRate
// (the same on WebSocket chats only), WithLeakPerUser
// (bytes once per distinct user id). Metrics include loadbench_chats_in_flight,
// loadbench_agents_misrouted_total, loadbench_foreign_events_total,
// loadbench_chats_orphaned_total and the process collector's
// process_cpu_seconds_total (on Linux; /proc/self/stat, 10 ms resolution).
//
// Running a build: Start serves one on a loopback port in this process
// (start.go; it shares this process's heap), StartProcess runs one as its
// own `loadbench serve` process (process.go). Both enable POST /debug/gc,
// whose answer carries the serving process's token (internal/procid), as
// does the gauge loadbench_process_info{token}: a client whose own token
// matches is measuring its own heap.
//
// Staging (staging.go) wraps a Server to behave like a staging deployment
// behind a proxy: a required bearer token, 103 Early Hints and WebSocket
// heartbeats.
package targets
