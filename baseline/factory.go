package baseline

import (
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"sync"
	"time"
	"weak"

	"github.com/loadbench/loadbench/internal/agent"
)

// Factory is the legacy AgentInstanceFactory
// (netra_backend/app/agents/supervisor/agent_instance_factory.py, reached
// through get_agent_instance_factory()). Its configured bridge and LLM
// manager are shared by every user of the process; everything sits behind
// one mutex, so the defect is logical, never a data race.
type Factory struct {
	id        string
	createdAt time.Time

	mu sync.Mutex
	// Dependencies, swapped by every configure: the real configure(
	// websocket_bridge=…, llm_manager=…) assigns self._websocket_bridge and
	// self._llm_manager on the one shared instance.
	registry   map[string]string
	route      *route
	llm        *agent.LLMManager
	configures uint64

	// Tracking. Active contexts and agent instances are removed per user
	// context on release (the real cleanup_user_context); the per-user
	// semaphores sit in a weak map (the real _agent_semaphores is a
	// weakref.WeakValueDictionary), so they go once no run holds them.
	activeContexts map[string]agent.UserExecutionContext // by request id
	agentInstances map[string]*agent.AgentInstance       // by request id
	userSemaphores map[string]weak.Pointer[semaphore]    // by user id
	seq            uint64

	metrics  agent.FactoryMetrics
	misroute uint64
	lost     uint64
}

// semaphore bounds one user's concurrent runs.
type semaphore struct{ ch chan struct{} }

// route is the event path of one request: its connection's bridge and the
// emitter that writes to its socket or HTTP response. An agent delivers
// through whichever route the factory held when the agent was created.
type route struct {
	owner  agent.UserExecutionContext
	bridge agent.Bridge

	mu      sync.Mutex
	emit    agent.Emitter
	pending []pendingEvent // delivered before the request's Run began
	closed  bool
	lost    func()
}

type pendingEvent struct {
	ev  agent.Event
	raw []byte
}

// deliver hands one event to the request's socket. Events for a request
// whose run has not begun wait for it; events for a finished request are
// lost (its socket or response is gone).
func (r *route) deliver(ev agent.Event, raw []byte) error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		r.lost()
		return nil
	}
	emit := r.emit
	if emit == nil {
		r.pending = append(r.pending, pendingEvent{ev, append([]byte(nil), raw...)})
		r.mu.Unlock()
		return nil
	}
	r.mu.Unlock()
	if r.bridge != nil {
		r.bridge.Notify(ev)
	}
	return emit(ev, raw)
}

// open sets the emitter of the request and flushes what waited for it.
func (r *route) open(emit agent.Emitter) {
	r.mu.Lock()
	r.emit = emit
	pending := r.pending
	r.pending = nil
	r.mu.Unlock()
	for _, p := range pending {
		if r.bridge != nil {
			r.bridge.Notify(p.ev)
		}
		_ = emit(p.ev, p.raw)
	}
}

func (r *route) close() {
	r.mu.Lock()
	r.closed = true
	r.pending = nil
	r.mu.Unlock()
}

func (r *route) isClosed() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.closed
}

// The process-wide singleton. It exists because it is the defect under test:
// the real service's get_agent_instance_factory() returns one module-global
// factory, and loadbench must measure exactly that shape. It is the only
// mutable package-level state of loadbench.
var (
	singletonOnce sync.Once
	singleton     *Factory
)

// Get returns the process-wide factory, creating it on first use, like the
// real get_agent_instance_factory().
func Get() *Factory {
	singletonOnce.Do(func() { singleton = newFactory() })
	return singleton
}

// newFactory builds an unshared factory. Only Get and tests use it.
func newFactory() *Factory {
	return &Factory{
		id:             agent.NewID("factory"),
		createdAt:      time.Now(),
		registry:       agent.AgentClasses(),
		activeContexts: make(map[string]agent.UserExecutionContext),
		agentInstances: make(map[string]*agent.AgentInstance),
		userSemaphores: make(map[string]weak.Pointer[semaphore]),
	}
}

// ID returns the factory id, the same for every request.
func (f *Factory) ID() string { return f.id }

// Metrics returns a snapshot of the factory's counters.
func (f *Factory) Metrics() agent.FactoryMetrics {
	f.mu.Lock()
	defer f.mu.Unlock()
	m := f.metrics
	m.ActiveContexts = len(f.activeContexts)
	return m
}

// Configures is the number of configure calls so far.
func (f *Factory) Configures() uint64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.configures
}

// InstancesRetained is the number of agent instances the factory holds.
func (f *Factory) InstancesRetained() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.agentInstances)
}

// configure points the shared factory at one request's route and LLM
// manager, for every user, after validating the registry as the real
// configure does.
func (f *Factory) configure(l *slog.Logger, uctx agent.UserExecutionContext, r *route, llm *agent.LLMManager) error {
	start := time.Now()
	f.mu.Lock()
	n, err := agent.ValidateRegistry(f.registry)
	if err == nil {
		f.route, f.llm = r, llm
		f.configures++
	}
	f.mu.Unlock()
	if err != nil {
		return fmt.Errorf("baseline: %w", err)
	}
	agent.LogConfigure(l, uctx, f.id, n, time.Since(start))
	return nil
}

// register records uctx as active.
func (f *Factory) register(uctx agent.UserExecutionContext) {
	f.mu.Lock()
	f.activeContexts[uctx.RequestID()] = uctx
	f.mu.Unlock()
}

// semaphoreFor returns the per-user semaphore from the weak map, creating it
// when absent or collected. The caller holds the strong reference.
func (f *Factory) semaphoreFor(userID string) *semaphore {
	f.mu.Lock()
	defer f.mu.Unlock()
	if s := f.userSemaphores[userID].Value(); s != nil {
		return s
	}
	s := &semaphore{ch: make(chan struct{}, agent.MaxConcurrentRunsPerUser)}
	f.userSemaphores[userID] = weak.Make(s)
	runtime.AddCleanup(s, f.dropSemaphore, userID)
	return s
}

// dropSemaphore removes a collected semaphore's entry, as a
// WeakValueDictionary drops its key.
func (f *Factory) dropSemaphore(userID string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if e, ok := f.userSemaphores[userID]; ok && e.Value() == nil {
		delete(f.userSemaphores, userID)
	}
}

// createAgent registers the agent of uctx and returns the route and LLM
// manager the factory holds now: whatever request configured it last.
func (f *Factory) createAgent(uctx agent.UserExecutionContext) (*route, *agent.LLMManager, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.seq++
	key := agent.InstanceKey(uctx.UserID(), agent.DefaultAgentName, time.Now(), f.seq)
	f.agentInstances[uctx.RequestID()] = agent.NewAgentInstance(key, agent.DefaultAgentName, uctx)
	f.metrics.InstancesCreated++
	r, llm := f.route, f.llm
	misrouted := r == nil || llm == nil || r.owner.RequestID() != uctx.RequestID() || llm.Owner().RequestID() != uctx.RequestID()
	if misrouted {
		f.misroute++
	}
	return r, llm, misrouted
}

// cleanup removes what the factory tracks for uctx (the real
// cleanup_user_context). The configured route and LLM manager stay until the
// next configure: the singleton still references them.
func (f *Factory) cleanup(uctx agent.UserExecutionContext) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.agentInstances, uctx.RequestID())
	if _, ok := f.activeContexts[uctx.RequestID()]; ok {
		delete(f.activeContexts, uctx.RequestID())
		f.metrics.ContextsCleaned++
	}
}

func (f *Factory) errored() {
	f.mu.Lock()
	f.metrics.Errors++
	f.mu.Unlock()
}

func (f *Factory) lostEvent() {
	f.mu.Lock()
	f.lost++
	f.mu.Unlock()
}

// visible lists every context an agent of the factory can reach: the
// active contexts of every user, those of live agent instances, and the
// owner of the configured LLM manager.
func (f *Factory) visible() []agent.UserExecutionContext {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]agent.UserExecutionContext, 0, len(f.activeContexts)+len(f.agentInstances)+1)
	for _, c := range f.activeContexts {
		out = append(out, c)
	}
	for _, in := range f.agentInstances {
		out = append(out, in.Context)
	}
	if f.llm != nil {
		out = append(out, f.llm.Owner())
	}
	return out
}

// stale reports whether the configured route belongs to a finished request.
func (f *Factory) stale() int64 {
	f.mu.Lock()
	r := f.route
	f.mu.Unlock()
	if r != nil && r.isClosed() {
		return 1
	}
	return 0
}

func (f *Factory) counters() (misroute, lost uint64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.misroute, f.lost
}

// errReleased is returned by a session used after Release.
var errReleased = errors.New("baseline: session already released")
