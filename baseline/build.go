package baseline

import (
	"context"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/loadbench/loadbench/internal/agent"
)

// Name is the build's name.
const Name = "baseline"

// Build serves requests from the process-wide factory. It satisfies
// agent.Build.
type Build struct {
	f      *Factory
	logger *slog.Logger
}

// NewBuild configures the process-wide factory with the workflow of opts (as
// the real service does at startup) and returns a Build over it. Several
// Builds in one process share the one factory, and the last configuration
// wins for all of them: that is the legacy design.
func NewBuild(opts ...agent.Option) *Build {
	return newBuildOn(Get(), opts...)
}

// newBuildOn builds over f; tests and benchmarks pass a fresh newFactory().
func newBuildOn(f *Factory, opts ...agent.Option) *Build {
	c := agent.NewConfig(opts...)
	f.Configure(WithLLM(agent.NewWorkflowFromConfig(c)))
	return &Build{f: f, logger: c.Logger}
}

// Name returns "baseline".
func (b *Build) Name() string { return Name }

// Factory returns the factory the build serves from.
func (b *Build) Factory() *Factory { return b.f }

// Acquire returns a session on the shared factory. A non-nil bridge
// reconfigures the factory with it for every user, as the demo WebSocket
// route does for every connection.
func (b *Build) Acquire(uctx agent.UserExecutionContext, bridge agent.Bridge) (agent.Session, error) {
	if bridge != nil {
		b.f.Configure(WithBridge(bridge))
	}
	if err := b.f.register(uctx); err != nil {
		return nil, err
	}
	agent.LogFactory(b.logger, agent.AuditFactoryReused, uctx, b.f.id, time.Since(b.f.createdAt))
	return &session{b: b, uctx: uctx, start: time.Now()}, nil
}

// Stats reports one factory, live forever, and its retained instances.
func (b *Build) Stats() agent.Stats {
	return agent.Stats{FactoriesCreated: 1, FactoriesLive: 1, InstancesRetained: int64(b.f.InstancesRetained())}
}

type session struct {
	b        *Build
	uctx     agent.UserExecutionContext
	start    time.Time
	released atomic.Bool
}

func (s *session) FactoryID() string                   { return s.b.f.id }
func (s *session) Context() agent.UserExecutionContext { return s.uctx }

func (s *session) Run(ctx context.Context, message string, emit agent.Emitter) (agent.Result, error) {
	if s.released.Load() {
		return agent.Result{}, errReleased
	}
	return s.b.f.run(ctx, s.uctx, message, emit)
}

func (s *session) VisibleContexts() []agent.UserExecutionContext { return s.b.f.visible() }

func (s *session) Release() {
	if s.released.Swap(true) {
		return
	}
	s.b.f.release(s.uctx)
	agent.LogFactory(s.b.logger, agent.AuditFactoryRetained, s.uctx, s.b.f.id, time.Since(s.start))
}
