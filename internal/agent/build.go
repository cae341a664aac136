package agent

import (
	"context"
	"log/slog"
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
