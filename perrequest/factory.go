package perrequest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/loadbench/loadbench/internal/agent"
)

// ErrMissingWorkflow is returned by New when Deps has no workflow.
var ErrMissingWorkflow = errors.New("perrequest: deps.Workflow is required")

// errReleased is returned by a factory used after Release.
var errReleased = errors.New("perrequest: factory already released")

// Deps are the immutable dependencies a per-request factory shares.
type Deps struct {
	Workflow *agent.Workflow // required: the LLM manager
	Bridge   agent.Bridge    // the WebSocket bridge of this request's connection; may be nil
	Tracker  *Tracker        // counts factories and instances; may be nil
	Logger   *slog.Logger    // audit trail; may be nil
}

// Tracker counts factories and agent instances across requests. The zero
// value is ready to use; it is safe for concurrent use.
type Tracker struct {
	created atomic.Uint64
	live    atomic.Int64
	tracked atomic.Int64
}

// Created is the number of factories ever built.
func (t *Tracker) Created() uint64 { return t.created.Load() }

// Live is the number of factories not yet garbage collected.
func (t *Tracker) Live() int64 { return t.live.Load() }

// Tracked is the number of agent instances held by unreleased factories.
func (t *Tracker) Tracked() int64 { return t.tracked.Load() }

func (t *Tracker) collected() { t.live.Add(-1) }

// Factory is the AgentInstanceFactory of one request. It is safe for
// concurrent use; it satisfies agent.Session.
type Factory struct {
	id        string
	uctx      agent.UserExecutionContext
	deps      Deps
	config    agent.FactoryConfig
	start     time.Time
	semaphore chan struct{}

	mu             sync.Mutex
	released       bool
	activeContexts map[string]agent.UserExecutionContext
	emitters       map[string]agent.Emitter
	agentInstances map[string]*agent.AgentInstance
	history        []string
	seq            uint64
	metrics        agent.FactoryMetrics
	timings        struct{ contextCreation, agentCreation, cleanup time.Duration }
}

// New builds the factory of one request, like the real
// create_agent_instance_factory(user_context). It refuses a missing or
// invalid context.
func New(uctx agent.UserExecutionContext, deps Deps) (*Factory, error) {
	start := time.Now()
	if err := uctx.Validate(); err != nil {
		return nil, fmt.Errorf("perrequest: %w", err)
	}
	if deps.Workflow == nil {
		return nil, ErrMissingWorkflow
	}
	cfg := agent.DefaultFactoryConfig()
	f := &Factory{
		id:             agent.NewID("factory"),
		uctx:           uctx,
		deps:           deps,
		config:         cfg,
		start:          start,
		semaphore:      make(chan struct{}, cfg.MaxConcurrentRunsPerUser),
		activeContexts: map[string]agent.UserExecutionContext{uctx.RequestID(): uctx},
		emitters:       make(map[string]agent.Emitter, 1),
		agentInstances: make(map[string]*agent.AgentInstance, 1),
	}
	f.timings.contextCreation = time.Since(start)
	if t := deps.Tracker; t != nil {
		t.created.Add(1)
		t.live.Add(1)
		runtime.AddCleanup(f, (*Tracker).collected, t)
	}
	agent.LogFactory(deps.Logger, agent.AuditFactoryCreated, uctx, f.id, time.Since(start))
	return f, nil
}

// ID returns the factory id, unique per request.
func (f *Factory) ID() string { return f.id }

// FactoryID returns the factory id (agent.Session).
func (f *Factory) FactoryID() string { return f.id }

// Context returns the request's user context.
func (f *Factory) Context() agent.UserExecutionContext { return f.uctx }

// Metrics returns a snapshot of the factory's counters.
func (f *Factory) Metrics() agent.FactoryMetrics {
	f.mu.Lock()
	defer f.mu.Unlock()
	m := f.metrics
	m.ActiveContexts = len(f.activeContexts)
	return m
}

// Run executes the workflow for message under this request's context.
func (f *Factory) Run(ctx context.Context, message string, emit agent.Emitter) (agent.Result, error) {
	select {
	case f.semaphore <- struct{}{}:
	case <-ctx.Done():
		return agent.Result{}, ctx.Err()
	}
	defer func() { <-f.semaphore }()

	start := time.Now()
	f.mu.Lock()
	if f.released {
		f.mu.Unlock()
		return agent.Result{}, errReleased
	}
	f.seq++
	key := agent.InstanceKey(f.uctx.UserID(), agent.DefaultAgentName, start, f.seq)
	f.agentInstances[key] = agent.NewAgentInstance(key, agent.DefaultAgentName, f.uctx)
	f.metrics.InstancesCreated++
	f.timings.agentCreation = time.Since(start)
	bridge := f.deps.Bridge
	wire := emit
	if bridge != nil {
		wire = func(ev agent.Event, raw []byte) error {
			bridge.Notify(ev)
			return emit(ev, raw)
		}
	}
	f.emitters[agent.EmitterKey(f.uctx)] = wire
	// This request's own messages only.
	f.history = append(f.history, message)
	if len(f.history) > agent.HistoryWindow {
		f.history = f.history[len(f.history)-agent.HistoryWindow:]
	}
	history := append([]string(nil), f.history...)
	f.mu.Unlock()
	if t := f.deps.Tracker; t != nil {
		t.tracked.Add(1)
	}

	ctx, cancel := context.WithTimeout(ctx, f.config.ExecutionTimeout)
	defer cancel()
	res, err := f.deps.Workflow.Run(ctx, agent.Input{
		Context:   f.uctx,
		Message:   message,
		FactoryID: f.id,
		History:   history,
	}, wire)
	if err != nil {
		f.mu.Lock()
		f.metrics.Errors++
		f.mu.Unlock()
	}
	return res, err
}

// VisibleContexts lists the contexts this factory tracks: only its own.
func (f *Factory) VisibleContexts() []agent.UserExecutionContext {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]agent.UserExecutionContext, 0, len(f.activeContexts)+len(f.agentInstances))
	for _, c := range f.activeContexts {
		out = append(out, c)
	}
	for _, in := range f.agentInstances {
		out = append(out, in.Context)
	}
	return out
}

// Release ends the request: every per-request structure is dropped. It is
// idempotent.
func (f *Factory) Release() {
	start := time.Now()
	f.mu.Lock()
	if f.released {
		f.mu.Unlock()
		return
	}
	f.released = true
	n := int64(len(f.agentInstances))
	f.metrics.ContextsCleaned += uint64(len(f.activeContexts))
	clear(f.activeContexts)
	clear(f.emitters)
	clear(f.agentInstances)
	f.history = nil
	f.timings.cleanup = time.Since(start)
	f.mu.Unlock()
	if t := f.deps.Tracker; t != nil {
		t.tracked.Add(-n)
	}
	agent.LogFactory(f.deps.Logger, agent.AuditFactoryReleased, f.uctx, f.id, time.Since(f.start))
}
