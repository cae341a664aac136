package baseline

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/loadbench/loadbench/internal/agent"
)

// timingSamples bounds each timing ring of the factory.
const timingSamples = 256

// Factory is the legacy AgentInstanceFactory. All its state is shared by
// every user of the process.
type Factory struct {
	id        string
	createdAt time.Time

	mu sync.Mutex
	// Dependencies, swapped by Configure.
	classRegistry  map[string]string // agent name → class
	agentRegistry  map[string]bool
	bridge         agent.Bridge
	wsManager      string
	llm            *agent.Workflow
	toolDispatcher string
	config         agent.FactoryConfig
	configures     uint64

	// Tracking, shared by every user.
	activeContexts map[string]agent.UserExecutionContext // by request id
	userSemaphores map[string]chan struct{}              // by user id; never removed
	emitters       map[string]*emitter                   // by user_thread_run
	agentInstances map[string]*agent.AgentInstance       // by user_agent_ms; never removed
	history        []string                              // recent messages of every user
	seq            uint64

	metrics agent.FactoryMetrics
	timings struct{ contextCreation, agentCreation, cleanup []time.Duration }
}

// emitter is the WebSocket emitter of one run.
type emitter struct {
	key  string
	wire agent.Emitter
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

// newFactory builds an unshared factory. Only Get and tests use it (tests and
// benchmarks need a fresh instance so the never-cleaned map of one run does
// not weigh on the next).
func newFactory() *Factory {
	return &Factory{
		id:             agent.NewID("factory"),
		createdAt:      time.Now(),
		classRegistry:  map[string]string{agent.DefaultAgentName: "SupervisorAgent"},
		agentRegistry:  map[string]bool{agent.DefaultAgentName: true},
		wsManager:      "websocket_manager",
		llm:            agent.NewWorkflow(),
		toolDispatcher: "tool_dispatcher",
		config:         agent.DefaultFactoryConfig(),
		activeContexts: make(map[string]agent.UserExecutionContext),
		userSemaphores: make(map[string]chan struct{}),
		emitters:       make(map[string]*emitter, agent.EmitterPoolInitial),
		agentInstances: make(map[string]*agent.AgentInstance),
	}
}

// ConfigOption is one argument of Configure.
type ConfigOption func(*Factory)

// WithBridge sets the WebSocket bridge every agent of the factory notifies.
func WithBridge(b agent.Bridge) ConfigOption { return func(f *Factory) { f.bridge = b } }

// WithLLM sets the workflow (the LLM manager) every agent runs.
func WithLLM(w *agent.Workflow) ConfigOption { return func(f *Factory) { f.llm = w } }

// Configure reconfigures the one factory, for every user, like the real
// configure_agent_instance_factory(websocket_bridge, llm_manager, ...).
func (f *Factory) Configure(opts ...ConfigOption) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, o := range opts {
		o(f)
	}
	f.configures++
}

// ID returns the factory id, the same for every request.
func (f *Factory) ID() string { return f.id }

// Bridge returns the currently configured bridge.
func (f *Factory) Bridge() agent.Bridge {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.bridge
}

// Metrics returns a snapshot of the factory's counters.
func (f *Factory) Metrics() agent.FactoryMetrics {
	f.mu.Lock()
	defer f.mu.Unlock()
	m := f.metrics
	m.ActiveContexts = len(f.activeContexts)
	return m
}

// InstancesRetained is the number of agent instances the factory holds.
func (f *Factory) InstancesRetained() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.agentInstances)
}

// register records uctx as active, like the real factory's context creation.
func (f *Factory) register(uctx agent.UserExecutionContext) error {
	if uctx.IsZero() {
		return fmt.Errorf("baseline: %w: missing context", agent.ErrInvalidContext)
	}
	start := time.Now()
	f.mu.Lock()
	defer f.mu.Unlock()
	f.activeContexts[uctx.RequestID()] = uctx
	f.timings.contextCreation = appendSample(f.timings.contextCreation, time.Since(start))
	return nil
}

// semaphore returns the shared per-user semaphore.
func (f *Factory) semaphore(userID string) chan struct{} {
	f.mu.Lock()
	defer f.mu.Unlock()
	s, ok := f.userSemaphores[userID]
	if !ok {
		s = make(chan struct{}, f.config.MaxConcurrentRunsPerUser)
		f.userSemaphores[userID] = s
	}
	return s
}

// run executes one request on the shared factory.
func (f *Factory) run(ctx context.Context, uctx agent.UserExecutionContext, message string, wire agent.Emitter) (agent.Result, error) {
	sem := f.semaphore(uctx.UserID())
	select {
	case sem <- struct{}{}:
	case <-ctx.Done():
		return agent.Result{}, ctx.Err()
	}
	defer func() { <-sem }()

	start := time.Now()
	f.mu.Lock()
	f.seq++
	key := agent.InstanceKey(uctx.UserID(), agent.DefaultAgentName, start, f.seq)
	f.agentInstances[key] = agent.NewAgentInstance(key, agent.DefaultAgentName, uctx)
	f.metrics.InstancesCreated++
	f.timings.agentCreation = appendSample(f.timings.agentCreation, time.Since(start))
	ek := agent.EmitterKey(uctx)
	f.emitters[ek] = &emitter{key: ek, wire: wire}
	// The shared recent-message history: every user's messages.
	f.history = append(f.history, message)
	if len(f.history) > agent.HistoryWindow {
		f.history = append(f.history[:0], f.history[len(f.history)-agent.HistoryWindow:]...)
	}
	history := append([]string(nil), f.history...)
	llm := f.llm
	timeout := f.config.ExecutionTimeout
	f.mu.Unlock()

	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	res, err := llm.Run(ctx, agent.Input{
		Context:   uctx,
		Message:   message,
		FactoryID: f.id,
		History:   history,
	}, func(ev agent.Event, raw []byte) error {
		// Events go to the connection that asked, and to whatever bridge
		// the factory was last configured with.
		if b := f.Bridge(); b != nil {
			b.Notify(ev)
		}
		return wire(ev, raw)
	})
	if err != nil {
		f.mu.Lock()
		f.metrics.Errors++
		f.mu.Unlock()
	}
	return res, err
}

// release ends a request: the emitter and the active context go; the agent
// instance stays forever.
func (f *Factory) release(uctx agent.UserExecutionContext) {
	start := time.Now()
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.emitters, agent.EmitterKey(uctx))
	if _, ok := f.activeContexts[uctx.RequestID()]; ok {
		delete(f.activeContexts, uctx.RequestID())
		f.metrics.ContextsCleaned++
	}
	f.timings.cleanup = appendSample(f.timings.cleanup, time.Since(start))
}

// visible lists every context the factory tracks: active ones and those held
// by its agent instances.
func (f *Factory) visible() []agent.UserExecutionContext {
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

func appendSample(s []time.Duration, d time.Duration) []time.Duration {
	if len(s) >= timingSamples {
		copy(s, s[1:])
		s = s[:len(s)-1]
	}
	return append(s, d)
}

// errReleased is returned by a session used after Release.
var errReleased = errors.New("baseline: session already released")
