package baseline

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"

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

func runOnce(t testing.TB, b *Build, i int, msg string) (string, []agent.Event) {
	t.Helper()
	s, err := b.Acquire(uctx(t, i), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Release()
	var evs []agent.Event
	if _, err := s.Run(context.Background(), msg, func(ev agent.Event, _ []byte) error {
		evs = append(evs, ev)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return s.FactoryID(), evs
}

func TestGetIsTheOneFactory(t *testing.T) {
	if Get() != Get() {
		t.Fatal("Get returned two factories")
	}
	if NewBuild().Factory() != Get() {
		t.Fatal("NewBuild is not over the singleton")
	}
}

func TestLegacyDefects(t *testing.T) {
	var logBuf bytes.Buffer
	b := newBuildOn(newFactory(), agent.WithThink(0), agent.WithTool(0), agent.WithLogger(slog.New(slog.NewJSONHandler(&logBuf, nil))))
	id1, _ := runOnce(t, b, 1, "alice secret")
	id2, evs := runOnce(t, b, 2, "bob message")
	if id1 != id2 {
		t.Errorf("factory ids differ: %s %s", id1, id2)
	}
	th := evs[1].Data.(agent.ThinkingData)
	if !strings.Contains(strings.Join(th.Context, "|"), "alice secret") {
		t.Errorf("bob's context lacks alice's message: %v", th.Context)
	}
	for i := 3; i < 20; i++ {
		runOnce(t, b, i, "msg")
	}
	if got := b.Stats().InstancesRetained; got != 19 {
		t.Errorf("retained %d instances, want 19", got)
	}
	_, evs = runOnce(t, b, 30, "last")
	if ctx := evs[1].Data.(agent.ThinkingData).Context; len(ctx) != agent.HistoryWindow {
		t.Errorf("context holds %d messages, want %d", len(ctx), agent.HistoryWindow)
	}
	if m := b.Factory().Metrics(); m.ActiveContexts != 0 || m.InstancesCreated != 20 || m.ContextsCleaned != 20 {
		t.Errorf("metrics %+v", m)
	}
	lines := strings.Split(strings.TrimSpace(logBuf.String()), "\n")
	if len(lines) != 40 {
		t.Fatalf("%d audit lines, want 40", len(lines))
	}
	var rec map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &rec); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"event", "user_id", "request_id", "factory_id", "elapsed"} {
		if _, ok := rec[k]; !ok {
			t.Errorf("audit line lacks %s: %s", k, lines[0])
		}
	}
}

type countBridge struct{ n int }

func (c *countBridge) Notify(agent.Event) { c.n++ }

func TestBridgeSwapReachesEveryUser(t *testing.T) {
	b := newBuildOn(newFactory(), agent.WithThink(0), agent.WithTool(0))
	a, bb := &countBridge{}, &countBridge{}
	sa, err := b.Acquire(uctx(t, 1), a)
	if err != nil {
		t.Fatal(err)
	}
	sb, err := b.Acquire(uctx(t, 2), bb)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sa.Run(context.Background(), "x", func(agent.Event, []byte) error { return nil }); err != nil {
		t.Fatal(err)
	}
	sa.Release()
	sb.Release()
	if a.n != 0 || bb.n != 5 {
		t.Errorf("alice's events went to bridges a=%d b=%d; the swap should send them to b", a.n, bb.n)
	}
	if _, err := sa.Run(context.Background(), "x", func(agent.Event, []byte) error { return nil }); err == nil {
		t.Error("run after release accepted")
	}
	if _, err := b.Acquire(agent.UserExecutionContext{}, nil); err == nil {
		t.Error("missing context accepted")
	}
}
