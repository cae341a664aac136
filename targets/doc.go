// Package targets serves either build of the chat-agent service over HTTP and
// WebSocket: POST /api/agents/run, GET /api/demo/ws, GET /metrics,
// GET /healthz and, when enabled, POST /debug/gc. Each Server has its own
// Prometheus registry. Staging (staging.go) wraps a Server to behave like a
// staging deployment behind a proxy: a required bearer token, 103 Early
// Hints and WebSocket heartbeats.
package targets
