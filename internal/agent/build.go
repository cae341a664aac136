package agent

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// Build is one implementation of the service: what the targets serve. Both
// baseline.Build and perrequest.Build satisfy it.
type Build interface {
	// Name is "baseline" or "perrequest".
	Name() string
	// Acquire obtains the factory that serves one request of uctx. A non-nil
	// bridge is the WebSocket bridge of the connection the request came on.
	Acquire(uctx UserExecutionContext, bridge Bridge) (Session, error)
	// Stats reads the build's live counters.
	Stats() Stats
}

// Session is one request's hold on a factory.
type Session interface {
	// FactoryID identifies the factory serving the request.
	FactoryID() string
	// Context is the request's user context.
	Context() UserExecutionContext
	// Run executes the workflow for message, emitting its five events.
	Run(ctx context.Context, message string, emit Emitter) (Result, error)
	// VisibleContexts lists the user contexts the serving factory tracks,
	// i.e. what an agent created by it can reach.
	VisibleContexts() []UserExecutionContext
	// Release ends the request. The session must not be used afterwards.
	Release()
}

// Stats are a build's counters.
type Stats struct {
	FactoriesCreated  uint64 // factories ever built
	FactoriesLive     int64  // factories not yet garbage collected
	InstancesRetained int64  // agent instances currently held
	// StaleRequests counts finished requests whose objects the build still
	// holds: the legacy singleton's last configured bridge and LLM manager,
	// factories pinned by the per-request build's agent-class cache.
	StaleRequests int64
	// MisroutedAgents counts agents created with another request's bridge
	// or LLM manager (the legacy configure-then-create race).
	MisroutedAgents uint64
}

// Audit events written by LogFactory.
const (
	AuditFactoryCreated  = "factory_created"
	AuditFactoryReused   = "factory_reused"
	AuditFactoryReleased = "factory_released"
	AuditFactoryRetained = "factory_retained"
)

// LogFactory writes one audit line for a factory event; a nil logger logs
// nothing.
func LogFactory(l *slog.Logger, event string, uctx UserExecutionContext, factoryID string, elapsed time.Duration) {
	if l == nil {
		return
	}
	l.LogAttrs(context.Background(), slog.LevelInfo, "factory",
		slog.String("event", event),
		slog.String("user_id", uctx.UserID()),
		slog.String("request_id", uctx.RequestID()),
		slog.String("factory_id", factoryID),
		slog.Duration("elapsed", elapsed),
	)
}

// DefaultSinkBytes bounds the in-memory log sink of NewSinkLogger.
const DefaultSinkBytes = 1 << 20

// MemorySink is an io.Writer that keeps at most limit of the last bytes
// written (at least half of them): a log destination whose cost
// (formatting, locking, copying) is real but whose size is bounded. When
// full it drops its older half, so a write costs amortized O(len(p)). It is
// safe for concurrent use.
type MemorySink struct {
	mu    sync.Mutex
	buf   []byte
	limit int
	total uint64
}

// NewMemorySink returns a sink keeping at most limit bytes (DefaultSinkBytes
// when limit <= 0).
func NewMemorySink(limit int) *MemorySink {
	if limit <= 0 {
		limit = DefaultSinkBytes
	}
	return &MemorySink{buf: make([]byte, 0, limit), limit: limit}
}

// Write appends p, dropping the oldest bytes beyond the limit.
func (m *MemorySink) Write(p []byte) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.total += uint64(len(p))
	if len(p) >= m.limit {
		m.buf = append(m.buf[:0], p[len(p)-m.limit:]...)
		return len(p), nil
	}
	if len(m.buf)+len(p) > m.limit {
		keep := max(0, min(len(m.buf), m.limit/2-len(p)))
		m.buf = append(m.buf[:0], m.buf[len(m.buf)-keep:]...)
	}
	m.buf = append(m.buf, p...)
	return len(p), nil
}

// Bytes returns a copy of what the sink holds.
func (m *MemorySink) Bytes() []byte {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]byte(nil), m.buf...)
}

// Total is the number of bytes ever written.
func (m *MemorySink) Total() uint64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.total
}

// NewSinkLogger is a JSON slog logger at INFO writing to a new MemorySink.
func NewSinkLogger() *slog.Logger {
	return slog.New(slog.NewJSONHandler(NewMemorySink(0), &slog.HandlerOptions{Level: slog.LevelInfo}))
}

// LoggerOf returns l, or a NewSinkLogger when l is nil.
func LoggerOf(l *slog.Logger) *slog.Logger {
	if l == nil {
		return NewSinkLogger()
	}
	return l
}

// LogConfigure writes the lines of one factory configure, as the real
// configure logs them: the start, the registry validation, the result. No
// secret is logged: ids and counts only.
func LogConfigure(l *slog.Logger, uctx UserExecutionContext, factoryID string, agents int, elapsed time.Duration) {
	ctx := context.Background()
	l.LogAttrs(ctx, slog.LevelInfo, "configuring agent instance factory",
		slog.String("factory_id", factoryID), slog.String("user_id", uctx.UserID()), slog.String("request_id", uctx.RequestID()))
	l.LogAttrs(ctx, slog.LevelInfo, "agent class registry validated",
		slog.String("factory_id", factoryID), slog.Int("agents", agents))
	l.LogAttrs(ctx, slog.LevelInfo, "agent instance factory configured",
		slog.String("factory_id", factoryID), slog.Bool("websocket_bridge", true), slog.Bool("llm_manager", true),
		slog.Duration("elapsed", elapsed))
}

// LogAgentCreated writes the line of one agent creation.
func LogAgentCreated(l *slog.Logger, uctx UserExecutionContext, factoryID, agentName string) {
	l.LogAttrs(context.Background(), slog.LevelInfo, "agent instance created",
		slog.String("factory_id", factoryID), slog.String("agent", agentName),
		slog.String("user_id", uctx.UserID()), slog.String("run_id", uctx.RunID()))
}

type chatSeqKey struct{}

// WithChatSeq returns ctx carrying the chat's sequence number (see
// Input.Seq); sessions read it with ChatSeq.
func WithChatSeq(ctx context.Context, seq uint64) context.Context {
	return context.WithValue(ctx, chatSeqKey{}, seq)
}

// ChatSeq is the chat sequence number ctx carries, or 0.
func ChatSeq(ctx context.Context) uint64 {
	v, _ := ctx.Value(chatSeqKey{}).(uint64)
	return v
}
