// Package targets serves either build of the chat-agent service over HTTP and
// WebSocket: POST /api/agents/run, GET /api/demo/ws, GET /metrics,
// GET /healthz and, when enabled, POST /debug/gc. Each Server has its own
// Prometheus registry.
package targets
