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
	f        *Factory
	workflow *agent.Workflow
	logger   *slog.Logger
	window   agent.Window
	// yield, when set, replaces the configure window (tests use it to
	// interleave requests explicitly).
	yield func(ctx context.Context, uctx agent.UserExecutionContext) error
}

// NewBuild returns a Build over the process-wide factory. Several Builds in
// one process share the one factory: that is the legacy design.
func NewBuild(opts ...agent.Option) *Build {
	return newBuildOn(Get(), opts...)
}

// newBuildOn builds over f; tests and benchmarks pass a fresh newFactory().
func newBuildOn(f *Factory, opts ...agent.Option) *Build {
	c := agent.NewConfig(opts...)
	return &Build{f: f, workflow: agent.NewWorkflowFromConfig(c), logger: agent.LoggerOf(c.Logger), window: c.Window()}
}

// Name returns "baseline".
func (b *Build) Name() string { return Name }

// Factory returns the factory the build serves from.
func (b *Build) Factory() *Factory { return b.f }

// Acquire configures the shared factory with this request's route (its
// connection's bridge and, once Run begins, its emitter) and a new LLM
// manager for its user, as the demo WebSocket route and the supervisor do
// for every request (configure_agent_instance_factory(websocket_bridge=…,
// llm_manager=…)). Every user's next agent will use them.
func (b *Build) Acquire(uctx agent.UserExecutionContext, bridge agent.Bridge) (agent.Session, error) {
	if err := uctx.Validate(); err != nil {
		return nil, err
	}
	start := time.Now()
	r := &route{owner: uctx, bridge: bridge, lost: b.f.lostEvent}
	b.f.register(uctx)
	if err := b.f.configure(b.logger, uctx, r, agent.NewLLMManager(uctx)); err != nil {
		b.f.cleanup(uctx)
		return nil, err
	}
	agent.LogFactory(b.logger, agent.AuditFactoryReused, uctx, b.f.id, time.Since(start))
	return &session{b: b, uctx: uctx, route: r, start: start}, nil
}

// Stats reports one factory, live forever, its instances, whether it still
// holds a finished request's route and LLM manager, and its misrouted agents.
func (b *Build) Stats() agent.Stats {
	mis, _ := b.f.counters()
	return agent.Stats{
		FactoriesCreated:  1,
		FactoriesLive:     1,
		InstancesRetained: int64(b.f.InstancesRetained()),
		StaleRequests:     b.f.stale(),
		MisroutedAgents:   mis,
	}
}

// EventsLost is the number of events delivered to a finished request.
func (b *Build) EventsLost() uint64 {
	_, lost := b.f.counters()
	return lost
}

type session struct {
	b        *Build
	uctx     agent.UserExecutionContext
	route    *route
	start    time.Time
	released atomic.Bool
}

func (s *session) FactoryID() string                   { return s.b.f.id }
func (s *session) Context() agent.UserExecutionContext { return s.uctx }

// Run opens the request's route to emit, yields (the await between
// configure and create), then creates the agent with the route and LLM
// manager the factory holds at that moment. When another request configured
// the factory in between, this request's events go to that request's socket
// and its LLM calls to that user's manager; emit then receives nothing of
// this run.
func (s *session) Run(ctx context.Context, message string, emit agent.Emitter) (agent.Result, error) {
	if s.released.Load() {
		return agent.Result{}, errReleased
	}
	s.route.open(emit)
	var err error
	if s.b.yield != nil {
		err = s.b.yield(ctx, s.uctx)
	} else {
		err = s.b.window.Sleep(ctx, s.uctx, agent.ChatSeq(ctx))
	}
	if err != nil {
		return agent.Result{}, err
	}
	r, llm, _ := s.b.f.createAgent(s.uctx)
	agent.LogAgentCreated(s.b.logger, s.uctx, s.b.f.id, agent.DefaultAgentName)
	sem := s.b.f.semaphoreFor(s.uctx.UserID())
	select {
	case sem.ch <- struct{}{}:
	case <-ctx.Done():
		return agent.Result{}, ctx.Err()
	}
	defer func() { <-sem.ch }()
	ctx, cancel := context.WithTimeout(ctx, agent.ExecutionTimeout)
	defer cancel()
	res, err := s.b.workflow.Run(ctx, agent.Input{
		Context:   s.uctx,
		Message:   message,
		FactoryID: s.b.f.id,
		Seq:       agent.ChatSeq(ctx),
		LLM:       llm,
	}, r.deliver)
	if err != nil {
		s.b.f.errored()
	}
	return res, err
}

func (s *session) VisibleContexts() []agent.UserExecutionContext { return s.b.f.visible() }

// Release closes the request's route (later events for it are lost) and
// cleans up its user context. The factory keeps the route and LLM manager
// configured until the next request replaces them.
func (s *session) Release() {
	if s.released.Swap(true) {
		return
	}
	s.route.close()
	s.b.f.cleanup(s.uctx)
	agent.LogFactory(s.b.logger, agent.AuditFactoryRetained, s.uctx, s.b.f.id, time.Since(s.start))
}
