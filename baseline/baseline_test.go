package baseline

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/loadbench/loadbench/internal/agent"
)

func uctx(t testing.TB, i int) agent.UserExecutionContext {
	t.Helper()
	c, err := agent.NewUserExecutionContext(fmt.Sprintf("user-%04d", i), "thread-1", agent.NewID("run"))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// collector is a request's socket: safe for events from other goroutines.
type collector struct {
	mu  sync.Mutex
	evs []agent.Event
}

func (c *collector) emit(ev agent.Event, _ []byte) error {
	c.mu.Lock()
	c.evs = append(c.evs, ev)
	c.mu.Unlock()
	return nil
}

func (c *collector) users() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	m := map[string]int{}
	for _, e := range c.evs {
		m[e.UserID]++
	}
	return m
}

func (c *collector) thinking(user string) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, e := range c.evs {
		if d, ok := e.Data.(agent.ThinkingData); ok && e.UserID == user {
			return d.Context
		}
	}
	return nil
}

func fast(extra ...agent.Option) []agent.Option {
	return append([]agent.Option{agent.WithThink(0), agent.WithTool(0)}, extra...)
}

func TestGetIsTheOneFactory(t *testing.T) {
	if Get() != Get() {
		t.Fatal("Get returned two factories")
	}
	if NewBuild().Factory() != Get() {
		t.Fatal("NewBuild is not over the singleton")
	}
}

// Without overlap every request's agent gets its own route and LLM manager:
// the legacy build behaves, and cleans up per user context.
func TestNoOverlapBehaves(t *testing.T) {
	var logBuf bytes.Buffer
	b := newBuildOn(newFactory(), fast(agent.WithLogger(slog.New(slog.NewJSONHandler(&logBuf, nil))))...)
	for i := range 20 {
		u := uctx(t, i)
		s, err := b.Acquire(u, nil)
		if err != nil {
			t.Fatal(err)
		}
		var c collector
		if _, err := s.Run(context.Background(), fmt.Sprintf("message %d", i), c.emit); err != nil {
			t.Fatal(err)
		}
		if got := c.users(); len(got) != 1 || got[u.UserID()] != 5 {
			t.Errorf("request %d received %v", i, got)
		}
		if ctx := c.thinking(u.UserID()); len(ctx) != 1 || ctx[0] != fmt.Sprintf("message %d", i) {
			t.Errorf("request %d thinking context %v", i, ctx)
		}
		if s.FactoryID() != b.Factory().ID() {
			t.Error("factory id differs from the singleton's")
		}
		s.Release()
	}
	st := b.Stats()
	if st.MisroutedAgents != 0 || st.InstancesRetained != 0 || st.StaleRequests != 1 {
		t.Errorf("stats %+v; want no misrouting, no instances, the last request's objects held", st)
	}
	if m := b.Factory().Metrics(); m.ActiveContexts != 0 || m.InstancesCreated != 20 || m.ContextsCleaned != 20 {
		t.Errorf("metrics %+v", m)
	}
	if b.Factory().Configures() != 20 {
		t.Errorf("%d configures, want one per request", b.Factory().Configures())
	}
	// configure logs three lines, creation one, plus the two factory events.
	if n := strings.Count(logBuf.String(), "\n"); n != 20*6 {
		t.Errorf("%d log lines, want %d", n, 20*6)
	}
	if strings.Contains(logBuf.String(), "message 1") {
		t.Error("log carries message text")
	}
}

// Explicit interleaving: A configures, B configures, A creates its agent
// (with B's route and LLM manager), then B creates. A's events reach B's
// socket, A's LLM call goes to B's manager, A receives nothing.
func TestOverlapMisroutesEventsAndLLMCalls(t *testing.T) {
	b := newBuildOn(newFactory(), fast()...)
	gate := map[string]chan struct{}{}
	var mu sync.Mutex
	b.yield = func(ctx context.Context, u agent.UserExecutionContext) error {
		mu.Lock()
		ch := gate[u.UserID()]
		mu.Unlock()
		select {
		case <-ch:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	ua, ub := uctx(t, 1), uctx(t, 2)
	gate[ua.UserID()], gate[ub.UserID()] = make(chan struct{}), make(chan struct{})
	sa, err := b.Acquire(ua, nil) // A configures
	if err != nil {
		t.Fatal(err)
	}
	sb, err := b.Acquire(ub, nil) // B configures
	if err != nil {
		t.Fatal(err)
	}
	var ca, cb collector
	done := make(chan error, 2)
	go func() { _, err := sa.Run(context.Background(), "alice secret", ca.emit); done <- err }()
	go func() { _, err := sb.Run(context.Background(), "bob secret", cb.emit); done <- err }()
	close(gate[ua.UserID()]) // A creates first
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	close(gate[ub.UserID()])
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got := ca.users(); len(got) != 0 {
		t.Errorf("alice received %v; her events should have gone to bob", got)
	}
	if got := cb.users(); got[ua.UserID()] != 5 || got[ub.UserID()] != 5 {
		t.Errorf("bob received %v; want both users' 5 events", got)
	}
	// A's agent called B's LLM manager, so B's own agent then saw A's
	// message in its conversation.
	if ctx := cb.thinking(ub.UserID()); strings.Join(ctx, "|") != "alice secret|bob secret" {
		t.Errorf("bob's agent saw conversation %v; want alice's message in bob's manager", ctx)
	}
	if st := b.Stats(); st.MisroutedAgents != 1 {
		t.Errorf("misrouted agents %d, want 1", st.MisroutedAgents)
	}
	// Both sessions track both users while active.
	if vis := sa.VisibleContexts(); len(vis) < 2 {
		t.Errorf("visible %d contexts", len(vis))
	}
	sa.Release()
	sb.Release()
	if st := b.Stats(); st.InstancesRetained != 0 {
		t.Errorf("instances retained after release: %+v", st)
	}
}

// A request whose route is taken over after it finished: the late events are
// lost, not delivered.
func TestEventsToFinishedRequestAreLost(t *testing.T) {
	b := newBuildOn(newFactory(), fast()...)
	ub, ua := uctx(t, 2), uctx(t, 1)
	sb, err := b.Acquire(ub, nil) // B's connection configured first
	if err != nil {
		t.Fatal(err)
	}
	sa, err := b.Acquire(ua, nil) // then A
	if err != nil {
		t.Fatal(err)
	}
	var ca, cb collector
	if _, err := sa.Run(context.Background(), "alice", ca.emit); err != nil {
		t.Fatal(err)
	}
	sa.Release()
	// B now creates its agent with A's (finished) route.
	if _, err := sb.Run(context.Background(), "bob", cb.emit); err != nil {
		t.Fatal(err)
	}
	sb.Release()
	if len(cb.users()) != 0 || b.EventsLost() != 5 {
		t.Errorf("bob got %v, %d events lost; want none and 5", cb.users(), b.EventsLost())
	}
}

// The misrouting rate grows with concurrency: n requests acquired before
// any creates its agent all use the last one's route.
func TestMisroutingGrowsWithConcurrency(t *testing.T) {
	b := newBuildOn(newFactory(), fast()...)
	for _, n := range []int{1, 4, 16} {
		before := b.Stats().MisroutedAgents
		ss := make([]agent.Session, n)
		cs := make([]*collector, n)
		for i := range n {
			s, err := b.Acquire(uctx(t, i), nil)
			if err != nil {
				t.Fatal(err)
			}
			ss[i], cs[i] = s, &collector{}
		}
		for i := range n {
			if _, err := ss[i].Run(context.Background(), "m", cs[i].emit); err != nil {
				t.Fatal(err)
			}
		}
		for _, s := range ss {
			s.Release()
		}
		if got := b.Stats().MisroutedAgents - before; got != uint64(n-1) {
			t.Errorf("%d overlapping requests: %d misrouted, want %d", n, got, n-1)
		}
		if got := cs[n-1].users(); len(got) != n {
			t.Errorf("%d overlapping: last socket got events of %d users", n, len(got))
		}
	}
}

// Semaphores live in a weak map: once no run holds them they are collected.
func TestSemaphoresAreWeak(t *testing.T) {
	f := newFactory()
	b := newBuildOn(f, fast()...)
	for i := range 30 {
		s, err := b.Acquire(uctx(t, i), nil)
		if err != nil {
			t.Fatal(err)
		}
		var c collector
		if _, err := s.Run(context.Background(), "m", c.emit); err != nil {
			t.Fatal(err)
		}
		s.Release()
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		runtime.GC()
		f.mu.Lock()
		n := len(f.userSemaphores)
		f.mu.Unlock()
		if n == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d semaphores still mapped", n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestRunAfterReleaseAndMissingContext(t *testing.T) {
	b := newBuildOn(newFactory(), fast()...)
	s, err := b.Acquire(uctx(t, 1), nil)
	if err != nil {
		t.Fatal(err)
	}
	s.Release()
	var c collector
	if _, err := s.Run(context.Background(), "x", c.emit); err == nil {
		t.Error("run after release accepted")
	}
	if _, err := b.Acquire(agent.UserExecutionContext{}, nil); err == nil {
		t.Error("missing context accepted")
	}
}
