package audit

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"

	"github.com/loadbench/loadbench/baseline"
	"github.com/loadbench/loadbench/internal/agent"
	"github.com/loadbench/loadbench/perrequest"
	"github.com/loadbench/loadbench/targets"
)

const testUsers = 30

func fast(extra ...agent.Option) []agent.Option {
	return append([]agent.Option{agent.WithThink(0), agent.WithTool(0)}, extra...)
}

func TestBaselineViolatesEveryCheck(t *testing.T) {
	rep, err := Run(context.Background(), baseline.NewBuild(fast()...), WithUsers(testUsers))
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Checks) != 8 {
		t.Fatalf("got %d checks, want 8", len(rep.Checks))
	}
	for _, c := range rep.Checks {
		if !c.Violated || len(c.Findings) == 0 {
			t.Errorf("%s: baseline not flagged (%+v)", c.Name, c)
		}
	}
	if rep.Isolated() || rep.Violations != 8 {
		t.Errorf("violations = %d, want 8", rep.Violations)
	}
}

func TestPerRequestIsolated(t *testing.T) {
	rep, err := Run(context.Background(), perrequest.NewBuild(fast()...), WithUsers(testUsers))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range rep.Checks {
		if c.Violated {
			t.Errorf("%s: per-request build flagged: %v", c.Name, c.Findings)
		}
	}
	if !rep.Isolated() {
		t.Errorf("report not isolated")
	}
	var buf bytes.Buffer
	if err := rep.WriteTable(&buf); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "isolated, 0 of 8") {
		t.Errorf("table:\n%s", buf.String())
	}
}

func TestRunRejectsFewUsersAndUnknownCheck(t *testing.T) {
	if _, err := Run(context.Background(), newFake(""), WithUsers(1)); err == nil {
		t.Error("users=1 accepted")
	}
	if _, err := Run(context.Background(), newFake(""), WithChecks("nope")); err == nil {
		t.Error("unknown check accepted")
	}
}

// Each check must catch a purpose-built leaky fake, and the same fake with
// no defect must pass it: no check passes by construction.
func TestEachCheckCatchesItsLeakyFake(t *testing.T) {
	for _, name := range Checks() {
		t.Run(name, func(t *testing.T) {
			clean, err := Run(context.Background(), newFake(""), WithUsers(testUsers), WithChecks(name))
			if err != nil {
				t.Fatal(err)
			}
			if clean.Checks[0].Violated {
				t.Fatalf("clean fake flagged: %v", clean.Checks[0].Findings)
			}
			leaky, err := Run(context.Background(), newFake(name), WithUsers(testUsers), WithChecks(name))
			if err != nil {
				t.Fatal(err)
			}
			if !leaky.Checks[0].Violated {
				t.Fatalf("leaky fake for %s not caught", name)
			}
		})
	}
}

// fake is an isolated build with one injectable defect, named after the
// check meant to catch it.
type fake struct {
	defect   string
	workflow *agent.Workflow

	mu        sync.Mutex
	active    map[*fakeSession]bool
	released  []*fakeSession
	retained  int64
	last      agent.Bridge
	lastByDom map[string]string
	n         int
}

func newFake(defect string) *fake {
	return &fake{
		defect:    defect,
		workflow:  agent.NewWorkflow(fast()...),
		active:    map[*fakeSession]bool{},
		lastByDom: map[string]string{},
	}
}

func (f *fake) Name() string { return "fake-" + f.defect }

func (f *fake) Stats() agent.Stats {
	f.mu.Lock()
	defer f.mu.Unlock()
	return agent.Stats{FactoriesCreated: uint64(f.n), InstancesRetained: f.retained}
}

func (f *fake) Acquire(uctx agent.UserExecutionContext, bridge agent.Bridge) (agent.Session, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.n++
	s := &fakeSession{f: f, uctx: uctx, id: agent.NewID("fake"), bridge: bridge}
	if f.defect == CheckSharedGlobalInstance {
		s.id = "factory_shared"
	}
	if f.defect == CheckWebSocketEventIsolation && bridge != nil {
		f.last = bridge
	}
	f.active[s] = true
	return s, nil
}

type fakeSession struct {
	f       *fake
	uctx    agent.UserExecutionContext
	id      string
	bridge  agent.Bridge
	message string
}

func (s *fakeSession) FactoryID() string                   { return s.id }
func (s *fakeSession) Context() agent.UserExecutionContext { return s.uctx }

func (s *fakeSession) Run(ctx context.Context, message string, emit agent.Emitter) (agent.Result, error) {
	f := s.f
	f.mu.Lock()
	s.message = message
	history := []string{message}
	switch f.defect {
	case CheckConcurrentContamination: // leaks messages of sessions still open
		for o := range f.active {
			if o != s && o.message != "" {
				history = append(history, o.message)
			}
		}
	case CheckDataPersistsAfterRequest: // leaks messages of finished sessions
		for _, o := range f.released {
			history = append(history, o.message)
		}
	case CheckContextSeparation: // a domain router keyed by the wrong domain
		dom, _ := s.uctx.AgentContext()["domain"].(string)
		for d, m := range f.lastByDom {
			if d != dom {
				history = append(history, m)
				break
			}
		}
		if dom != "" {
			f.lastByDom[dom] = message
		}
	}
	bridge := s.bridge
	if f.defect == CheckWebSocketEventIsolation {
		bridge = f.last
	}
	f.mu.Unlock()
	return f.workflow.Run(ctx, agent.Input{Context: s.uctx, Message: message, FactoryID: s.id, History: history},
		func(ev agent.Event, raw []byte) error {
			if bridge != nil {
				bridge.Notify(ev)
			}
			return emit(ev, raw)
		})
}

func (s *fakeSession) VisibleContexts() []agent.UserExecutionContext {
	f := s.f
	f.mu.Lock()
	defer f.mu.Unlock()
	out := []agent.UserExecutionContext{s.uctx}
	switch f.defect {
	case CheckConcurrentExecutionIsolation: // tracks every open session
		for o := range f.active {
			out = append(out, o.uctx)
		}
	case CheckMultiTenantSecrets: // keeps finished sessions' contexts reachable
		for _, o := range f.released {
			out = append(out, o.uctx)
		}
	}
	return out
}

func (s *fakeSession) Release() {
	f := s.f
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.active, s)
	if f.defect == CheckDataPersistsAfterRequest || f.defect == CheckMultiTenantSecrets {
		f.released = append(f.released, s)
	}
	if f.defect == CheckPerRequestAccumulation {
		f.retained++
	}
}

// The partial migration fails the WebSocket-side check only: HTTP requests
// (no bridge) get per-request factories, WebSocket ones still configure the
// singleton. It runs in a fresh process, as `audit --impl partial` does: the
// legacy singleton is process-wide and other tests of this binary leave it
// holding a finished request's objects.
func TestPartialFailsOnlyWebSocketChecks(t *testing.T) {
	if os.Getenv("LOADBENCH_AUDIT_CHILD") == "" {
		cmd := exec.Command(os.Args[0], "-test.run=^TestPartialFailsOnlyWebSocketChecks$", "-test.v")
		cmd.Env = append(os.Environ(), "LOADBENCH_AUDIT_CHILD=1")
		out, err := cmd.CombinedOutput()
		if err != nil || !strings.Contains(string(out), "--- PASS: TestPartialFailsOnlyWebSocketChecks") {
			t.Fatalf("child: %v\n%s", err, out)
		}
		return
	}
	b, err := targets.NewBuild(targets.ImplPartial, fast()...)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Run(context.Background(), b, WithUsers(testUsers))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range rep.Checks {
		if want := c.Name == CheckWebSocketEventIsolation; c.Violated != want {
			t.Errorf("%s: violated %v, want %v (%v)", c.Name, c.Violated, want, c.Findings)
		}
	}
}

// A per-request build whose agent-class cache pins factories keeps
// finished requests' factories: the accumulation check catches it.
func TestFactoryCacheIsAccumulation(t *testing.T) {
	rep, err := Run(context.Background(), perrequest.NewBuild(fast(agent.WithFactoryCache(8))...), WithUsers(testUsers), WithChecks(CheckPerRequestAccumulation))
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Checks[0].Violated || !strings.Contains(rep.Checks[0].Findings[0], "8 finished requests") {
		t.Errorf("cache 8: %+v", rep.Checks[0])
	}
}
