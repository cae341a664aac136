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
	"weak"

	"github.com/loadbench/loadbench/internal/agent"
)

// ErrMissingWorkflow is returned by New when Deps has no workflow.
var ErrMissingWorkflow = errors.New("perrequest: deps.Workflow is required")

// errReleased is returned by a factory used after Release.
var errReleased = errors.New("perrequest: factory already released")

// Deps are the dependencies a per-request factory is built and configured
// with.
type Deps struct {
	Workflow *agent.Workflow // required: the agent workflow
	Bridge   agent.Bridge    // the WebSocket bridge of this request's connection; may be nil
	Tracker  *Tracker        // counts factories and instances; may be nil
	Logger   *slog.Logger    // factory log; nil: an in-memory sink
	// Env reads the FACTORY_* configuration; nil: os.LookupEnv.
	Env func(string) (string, bool)
	// Window is the await between configure and agent creation (the
	// agent.Config.ConfigureWindow both builds pay: the I/O the real service
	// awaits there). Here nothing else can configure this factory in the
	// meantime, so it costs time but never misroutes.
	Window agent.Window
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

// emitter is one pooled WebSocket emitter (the real WebSocketEmitterPool's
// entries).
type emitter struct {
	key  string
	wire agent.Emitter
}

// Factory is the AgentInstanceFactory of one request
// (agent_instance_factory.py, create_agent_instance_factory(user_context)).
// It is safe for concurrent use; it satisfies agent.Session.
type Factory struct {
	id     string
	uctx   agent.UserExecutionContext
	deps   Deps
	logger *slog.Logger
	config agent.PerformanceConfig
	start  time.Time
	llm    *agent.LLMManager
	engine *sync.Mutex // the build's engine-factory lock

	mu             sync.Mutex // the real factory's own asyncio.Lock
	released       bool
	emitterPool    chan *emitter                         // FACTORY_POOL_INITIAL_SIZE slots
	metricsBuffer  []float64                             // FACTORY_METRICS_BUFFER_SIZE samples
	activeContexts map[string]agent.UserExecutionContext // by request id
	agentInstances map[string]*agent.AgentInstance       // by instance key
	semaphores     map[string]weak.Pointer[semaphore]    // weak map, by user id
	registry       map[string]string
	seq            uint64
	metrics        agent.FactoryMetrics
}

type semaphore struct{ ch chan struct{} }

// New builds and configures the factory of one request, paying what the
// real construction pays (each cost beside its counterpart):
//
//   - the performance configuration is loaded from the FACTORY_* variables
//     (factory_performance_config.py: a new FactoryPerformanceConfig, one
//     environment read per field);
//   - its structures are built: the emitter pool's queue, the metrics
//     buffer, the tracking maps, the weak semaphore map and a lock
//     (AgentInstanceFactory.__init__);
//   - it is configured with the request's bridge and a new LLM manager
//     after validating the agent class registry, with its log lines
//     (configure());
//   - creation and configuration happen inside engine, the process-wide
//     engine-factory lock (execution_engine_factory.py holds its lock
//     across engine creation);
//   - every step logs at INFO through a real slog handler.
//
// It refuses a missing or invalid context.
func New(uctx agent.UserExecutionContext, deps Deps) (*Factory, error) {
	return newFactory(uctx, deps, new(sync.Mutex))
}

func newFactory(uctx agent.UserExecutionContext, deps Deps, engine *sync.Mutex) (*Factory, error) {
	start := time.Now()
	if err := uctx.Validate(); err != nil {
		return nil, fmt.Errorf("perrequest: %w", err)
	}
	if deps.Workflow == nil {
		return nil, ErrMissingWorkflow
	}
	logger := agent.LoggerOf(deps.Logger)
	engine.Lock()
	defer engine.Unlock()
	cfg, err := agent.LoadPerformanceConfig(deps.Env)
	if err != nil {
		return nil, fmt.Errorf("perrequest: %w", err)
	}
	f := &Factory{
		id:             agent.NewID("factory"),
		uctx:           uctx,
		deps:           deps,
		logger:         logger,
		config:         cfg,
		start:          start,
		engine:         engine,
		emitterPool:    make(chan *emitter, cfg.PoolInitialSize),
		metricsBuffer:  make([]float64, 0, cfg.MetricsBufferSize),
		activeContexts: map[string]agent.UserExecutionContext{uctx.RequestID(): uctx},
		agentInstances: make(map[string]*agent.AgentInstance, 1),
		semaphores:     make(map[string]weak.Pointer[semaphore], 1),
	}
	logger.LogAttrs(context.Background(), slog.LevelInfo, "agent instance factory created",
		slog.String("factory_id", f.id), slog.Int("pool_initial", cfg.PoolInitialSize),
		slog.Bool("weak_refs", cfg.EnableWeakRefs), slog.Int("cache_size", cfg.CacheSize))
	// configure(websocket_bridge, llm_manager, agent_class_registry)
	reg := agent.AgentClasses()
	n, err := agent.ValidateRegistry(reg)
	if err != nil {
		return nil, fmt.Errorf("perrequest: %w", err)
	}
	f.registry = reg
	f.llm = agent.NewLLMManager(uctx)
	agent.LogConfigure(logger, uctx, f.id, n, time.Since(start))
	if t := deps.Tracker; t != nil {
		t.created.Add(1)
		t.live.Add(1)
		runtime.AddCleanup(f, (*Tracker).collected, t)
	}
	agent.LogFactory(logger, agent.AuditFactoryCreated, uctx, f.id, time.Since(start))
	return f, nil
}

// ID returns the factory id, unique per request.
func (f *Factory) ID() string { return f.id }

// FactoryID returns the factory id (agent.Session).
func (f *Factory) FactoryID() string { return f.id }

// Context returns the request's user context.
func (f *Factory) Context() agent.UserExecutionContext { return f.uctx }

// Config is the performance configuration the factory loaded.
func (f *Factory) Config() agent.PerformanceConfig { return f.config }

// Metrics returns a snapshot of the factory's counters.
func (f *Factory) Metrics() agent.FactoryMetrics {
	f.mu.Lock()
	defer f.mu.Unlock()
	m := f.metrics
	m.ActiveContexts = len(f.activeContexts)
	return m
}

func (f *Factory) semaphoreFor(userID string) *semaphore {
	f.mu.Lock()
	defer f.mu.Unlock()
	if s := f.semaphores[userID].Value(); s != nil {
		return s
	}
	s := &semaphore{ch: make(chan struct{}, f.config.MaxConcurrentPerUser)}
	f.semaphores[userID] = weak.Make(s)
	return s
}

// Run creates the agent (under the engine-factory lock) and executes the
// workflow for message under this request's context, its own bridge and
// its own LLM manager.
func (f *Factory) Run(ctx context.Context, message string, emit agent.Emitter) (agent.Result, error) {
	sem := f.semaphoreFor(f.uctx.UserID())
	select {
	case sem.ch <- struct{}{}:
	case <-ctx.Done():
		return agent.Result{}, ctx.Err()
	}
	defer func() { <-sem.ch }()
	if err := f.deps.Window.Sleep(ctx, f.uctx, agent.ChatSeq(ctx)); err != nil {
		return agent.Result{}, err
	}

	start := time.Now()
	f.engine.Lock()
	f.mu.Lock()
	if f.released {
		f.mu.Unlock()
		f.engine.Unlock()
		return agent.Result{}, errReleased
	}
	f.seq++
	key := agent.InstanceKey(f.uctx.UserID(), agent.DefaultAgentName, start, f.seq)
	f.agentInstances[key] = agent.NewAgentInstance(key, agent.DefaultAgentName, f.uctx)
	f.metrics.InstancesCreated++
	bridge := f.deps.Bridge
	wire := emit
	if bridge != nil {
		wire = func(ev agent.Event, raw []byte) error {
			bridge.Notify(ev)
			return emit(ev, raw)
		}
	}
	em := &emitter{key: agent.EmitterKey(f.uctx), wire: wire}
	select {
	case f.emitterPool <- em:
	default: // pool full: the emitter is used unpooled
	}
	f.metricsBuffer = append(f.metricsBuffer, float64(time.Since(start).Microseconds())/1000)
	f.mu.Unlock()
	agent.LogAgentCreated(f.logger, f.uctx, f.id, agent.DefaultAgentName)
	f.engine.Unlock()
	if t := f.deps.Tracker; t != nil {
		t.tracked.Add(1)
	}

	ctx, cancel := context.WithTimeout(ctx, f.config.ExecutionTimeout)
	defer cancel()
	res, err := f.deps.Workflow.Run(ctx, agent.Input{
		Context:   f.uctx,
		Message:   message,
		FactoryID: f.id,
		Seq:       agent.ChatSeq(ctx),
		LLM:       f.llm,
	}, em.wire)
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
	out := make([]agent.UserExecutionContext, 0, len(f.activeContexts)+len(f.agentInstances)+1)
	for _, c := range f.activeContexts {
		out = append(out, c)
	}
	for _, in := range f.agentInstances {
		out = append(out, in.Context)
	}
	out = append(out, f.llm.Owner())
	return out
}

// Release ends the request: every per-request structure is dropped
// (cleanup_user_context). It is idempotent.
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
	clear(f.agentInstances)
	clear(f.semaphores)
	for len(f.emitterPool) > 0 {
		<-f.emitterPool
	}
	f.mu.Unlock()
	if t := f.deps.Tracker; t != nil {
		t.tracked.Add(-n)
	}
	f.logger.LogAttrs(context.Background(), slog.LevelInfo, "user context cleaned up",
		slog.String("factory_id", f.id), slog.String("user_id", f.uctx.UserID()),
		slog.Duration("elapsed", time.Since(start)))
	agent.LogFactory(f.logger, agent.AuditFactoryReleased, f.uctx, f.id, time.Since(f.start))
}

func (f *Factory) isReleased() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.released
}
