package perrequest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"strings"
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

func TestNewRefusesMissingContextAndWorkflow(t *testing.T) {
	if _, err := New(agent.UserExecutionContext{}, Deps{Workflow: agent.NewWorkflow()}); !errors.Is(err, agent.ErrInvalidContext) {
		t.Errorf("missing context: %v", err)
	}
	if _, err := New(uctx(t, 1), Deps{}); !errors.Is(err, ErrMissingWorkflow) {
		t.Errorf("missing workflow: %v", err)
	}
}

type countBridge struct{ users map[string]int }

func (c *countBridge) Notify(ev agent.Event) { c.users[ev.UserID]++ }

func TestIsolatedFactoryPerRequest(t *testing.T) {
	var logBuf bytes.Buffer
	b := NewBuild(agent.WithThink(0), agent.WithTool(0), agent.WithLogger(slog.New(slog.NewJSONHandler(&logBuf, nil))))
	ba, bb := &countBridge{map[string]int{}}, &countBridge{map[string]int{}}
	sa, err := b.Acquire(uctx(t, 1), ba)
	if err != nil {
		t.Fatal(err)
	}
	sb, err := b.Acquire(uctx(t, 2), bb)
	if err != nil {
		t.Fatal(err)
	}
	if sa.FactoryID() == sb.FactoryID() {
		t.Error("two requests share a factory id")
	}
	if _, err := sa.Run(context.Background(), "alice secret", func(agent.Event, []byte) error { return nil }); err != nil {
		t.Fatal(err)
	}
	var ctxs []string
	if _, err := sb.Run(context.Background(), "bob", func(ev agent.Event, _ []byte) error {
		if d, ok := ev.Data.(agent.ThinkingData); ok {
			ctxs = d.Context
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if strings.Join(ctxs, "|") != "bob" { // its own LLM manager's conversation only
		t.Errorf("bob's context %v", ctxs)
	}
	if ba.users["user-0001"] != 5 || len(ba.users) != 1 || bb.users["user-0002"] != 5 || len(bb.users) != 1 {
		t.Errorf("bridges a=%v b=%v", ba.users, bb.users)
	}
	if vis := sb.VisibleContexts(); len(vis) == 0 || vis[0].UserID() != "user-0002" {
		t.Errorf("visible %v", vis)
	}
	for _, v := range sb.VisibleContexts() {
		if v.UserID() != "user-0002" {
			t.Errorf("bob's factory tracks %s", v.UserID())
		}
	}
	if got := b.Stats().InstancesRetained; got != 2 {
		t.Errorf("tracked %d while running, want 2", got)
	}
	sa.Release()
	sb.Release()
	sb.Release() // idempotent
	if got := b.Stats(); got.InstancesRetained != 0 || got.FactoriesCreated != 2 {
		t.Errorf("stats after release %+v", got)
	}
	if _, err := sa.Run(context.Background(), "x", func(agent.Event, []byte) error { return nil }); err == nil {
		t.Error("run after release accepted")
	}
	for _, line := range []string{"agent instance factory created", "configuring agent instance factory", "agent class registry validated", "agent instance factory configured", "agent instance created", "user context cleaned up"} {
		if n := strings.Count(logBuf.String(), `"msg":"`+line+`"`); n != 2 {
			t.Errorf("%d %q lines, want 2", n, line)
		}
	}
	if strings.Contains(logBuf.String(), "alice secret") {
		t.Error("log carries message text")
	}
	if n := strings.Count(logBuf.String(), `"event":"factory_created"`); n != 2 {
		t.Errorf("%d creation lines", n)
	}
	if n := strings.Count(logBuf.String(), `"event":"factory_released"`); n != 2 {
		t.Errorf("%d release lines", n)
	}
}

func TestFactoriesAreCollected(t *testing.T) {
	b := NewBuild(agent.WithThink(0), agent.WithTool(0))
	for i := range 50 {
		s, err := b.Acquire(uctx(t, i), nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Run(context.Background(), "m", func(agent.Event, []byte) error { return nil }); err != nil {
			t.Fatal(err)
		}
		s.Release()
	}
	if b.Stats().FactoriesCreated != 50 {
		t.Fatalf("created %d", b.Stats().FactoriesCreated)
	}
	deadline := time.Now().Add(10 * time.Second)
	for b.Stats().FactoriesLive != 0 && time.Now().Before(deadline) {
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
	}
	if live := b.Stats().FactoriesLive; live != 0 {
		t.Errorf("%d factories still live after GC", live)
	}
}

func TestPerformanceConfigFromEnv(t *testing.T) {
	t.Parallel()
	env := map[string]string{"FACTORY_POOL_INITIAL_SIZE": "7", "FACTORY_MAX_CONCURRENT_PER_USER": "3", "FACTORY_ENABLE_WEAK_REFS": "False"}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	f, err := New(uctx(t, 1), Deps{Workflow: agent.NewWorkflow(), Env: lookup})
	if err != nil {
		t.Fatal(err)
	}
	c := f.Config()
	if c.PoolInitialSize != 7 || c.MaxConcurrentPerUser != 3 || c.EnableWeakRefs || c.CacheSize != 128 || c.ExecutionTimeout != 30*time.Second {
		t.Errorf("config %+v", c)
	}
	if cap(f.emitterPool) != 7 || cap(f.metricsBuffer) != 100 {
		t.Errorf("pool %d, metrics buffer %d", cap(f.emitterPool), cap(f.metricsBuffer))
	}
	env["FACTORY_POOL_MAX_SIZE"] = "many"
	if _, err := New(uctx(t, 1), Deps{Workflow: agent.NewWorkflow(), Env: lookup}); err == nil || !strings.Contains(err.Error(), "FACTORY_POOL_MAX_SIZE") {
		t.Errorf("bad FACTORY_POOL_MAX_SIZE: %v", err)
	}
}

// The agent-class cache pins the last N factories: retained factories grow
// with distinct factories up to N, and 0 pins none.
func TestFactoryCachePinsUpToN(t *testing.T) {
	for _, n := range []int{0, 8} {
		b := NewBuild(agent.WithThink(0), agent.WithTool(0), agent.WithFactoryCache(n))
		live := func() int64 {
			deadline := time.Now().Add(5 * time.Second)
			prev := int64(-1)
			for {
				runtime.GC()
				time.Sleep(10 * time.Millisecond)
				cur := b.Stats().FactoriesLive
				if cur == prev || time.Now().After(deadline) {
					return cur
				}
				prev = cur
			}
		}
		for _, k := range []int{3, 20} {
			for i := range k {
				s, err := b.Acquire(uctx(t, i), nil)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := s.Run(context.Background(), "m", func(agent.Event, []byte) error { return nil }); err != nil {
					t.Fatal(err)
				}
				s.Release()
			}
			want := int64(min(b.CacheLen(), n))
			if got := live(); got != want {
				t.Errorf("cache %d after %d factories: %d live, want %d", n, k, got, want)
			}
			if got := b.Stats().StaleRequests; got != want {
				t.Errorf("cache %d: %d stale, want %d", n, got, want)
			}
		}
		if b.CacheLen() != n {
			t.Errorf("cache %d holds %d", n, b.CacheLen())
		}
	}
}
