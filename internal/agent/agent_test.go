package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestValidateRejectsPlaceholdersAndReservedKeys(t *testing.T) {
	t.Parallel()
	bad := []string{"", "  ", "a\nb", strings.Repeat("x", MaxIDLength+1)}
	for _, id := range bad {
		if _, err := NewUserExecutionContext(id, "thread-1", "run-1"); !errors.Is(err, ErrInvalidContext) {
			t.Errorf("user_id %q accepted", id)
		}
	}
	if _, err := NewUserExecutionContext("u-1", "", "run-1"); err == nil {
		t.Error("empty thread_id accepted")
	}
	if _, err := NewUserExecutionContext("u-1", "t-1", "null"); err == nil {
		t.Error("placeholder run_id accepted")
	}
	var zero UserExecutionContext
	if zero.Validate() == nil || !zero.IsZero() {
		t.Error("zero context valid")
	}
}

// Every exact placeholder of the real code, in every id field and any case.
func TestEveryPlaceholderValueIsRejected(t *testing.T) {
	t.Parallel()
	want := []string{"registry", "placeholder", "default", "temp", "none", "null", "undefined", "0", "1",
		"xxx", "yyy", "example", "test", "demo", "sample", "template", "mock", "fake", "dummy"}
	if len(PlaceholderIDs()) != len(want) {
		t.Errorf("%d placeholder values, want %d", len(PlaceholderIDs()), len(want))
	}
	for _, v := range want {
		for _, id := range []string{v, strings.ToUpper(v)} {
			if _, err := NewUserExecutionContext(id, "t-1", "r-1"); !errors.Is(err, ErrInvalidContext) {
				t.Errorf("user_id %q accepted", id)
			}
			if _, err := NewUserExecutionContext("u-1", id, "r-1"); err == nil {
				t.Errorf("thread_id %q accepted", id)
			}
			if _, err := NewUserExecutionContext("u-1", "t-1", id); err == nil {
				t.Errorf("run_id %q accepted", id)
			}
			if _, err := NewUserExecutionContext("u-1", "t-1", "r-1", WithRequestID(id)); err == nil {
				t.Errorf("request_id %q accepted", id)
			}
		}
	}
}

// Every placeholder prefix, rejected on ids shorter than 20 bytes only.
func TestEveryPlaceholderPrefixIsRejectedOnShortIDs(t *testing.T) {
	t.Parallel()
	want := []string{"placeholder_", "registry_", "temp_", "example_", "demo_", "sample_", "template_", "mock_", "fake_", "default_", "test_"}
	if strings.Join(PlaceholderPrefixes(), ",") != strings.Join(want, ",") {
		t.Errorf("prefixes %v", PlaceholderPrefixes())
	}
	for _, p := range want {
		short := p + "x"
		if _, err := NewUserExecutionContext(short, "t-1", "r-1"); !errors.Is(err, ErrInvalidContext) {
			t.Errorf("user_id %q accepted", short)
		}
		if _, err := NewUserExecutionContext("u-1", strings.ToUpper(short), "r-1"); err == nil {
			t.Errorf("thread_id %q accepted", strings.ToUpper(short))
		}
		long := p + strings.Repeat("x", 20)
		if _, err := NewUserExecutionContext(long, "t-1", "r-1"); err != nil {
			t.Errorf("long id %q rejected: %v", long, err)
		}
	}
	// default_ has legitimate exceptions; test_ is allowed in a test environment.
	for _, id := range []string{"default_user", "default_admin", "default_system", "default_account", "default_service", "default_client", "default_guest"} {
		if _, err := NewUserExecutionContext(id, "t-1", "r-1"); err != nil {
			t.Errorf("legitimate %q rejected: %v", id, err)
		}
	}
	for _, id := range []string{"default_placeholder", "default_demo", "default_fake"} {
		if _, err := NewUserExecutionContext(id, "t-1", "r-1"); err == nil {
			t.Errorf("%q accepted", id)
		}
	}
	if _, err := NewUserExecutionContext("test_user_1", "t-1", "r-1", WithTestEnvironment()); err != nil {
		t.Errorf("test_ id rejected in a test environment: %v", err)
	}
	if _, err := NewUserExecutionContext("demo_user_1", "t-1", "r-1", WithTestEnvironment()); err == nil {
		t.Error("demo_ id accepted in a test environment")
	}
}

// Every reserved metadata key, in both maps.
func TestEveryReservedKeyIsRejected(t *testing.T) {
	t.Parallel()
	want := []string{"user_id", "thread_id", "run_id", "request_id", "created_at", "db_session", "websocket_client_id"}
	if strings.Join(ReservedKeys(), ",") != strings.Join(want, ",") {
		t.Errorf("reserved %v", ReservedKeys())
	}
	for _, k := range want {
		if _, err := NewUserExecutionContext("u-1", "t-1", "r-1", WithAgentContext(map[string]any{k: "x"})); err == nil {
			t.Errorf("agent_context key %q accepted", k)
		}
		if _, err := NewUserExecutionContext("u-1", "t-1", "r-1", WithAuditMetadata(map[string]any{k: "x"})); err == nil {
			t.Errorf("audit_metadata key %q accepted", k)
		}
	}
	if _, err := NewUserExecutionContext("u-1", "t-1", "r-1", WithAgentContext(map[string]any{"db": "x"})); err != nil {
		t.Errorf("ordinary key rejected: %v", err)
	}
}

// The ids the load engine and the targets generate pass (internal/load:
// lb_user_00042, lb_user_00042_thread; run ids run_<hex>; request ids
// req_<hex>; connection ids conn_<hex>).
func TestLoadEngineIDsPass(t *testing.T) {
	t.Parallel()
	for _, i := range []int{0, 42, 99999} {
		u := fmt.Sprintf("lb_user_%05d", i)
		if _, err := NewUserExecutionContext(u, u+"_thread", NewID("run"), WithWebSocketClientID(NewID("conn"))); err != nil {
			t.Errorf("%s rejected: %v", u, err)
		}
	}
}

func TestContextIsDeepCopied(t *testing.T) {
	t.Parallel()
	in := map[string]any{"nested": map[string]any{"k": "v"}, "list": []any{"a"}}
	c, err := NewUserExecutionContext("u-1", "t-1", "r-1", WithAgentContext(in), WithWebSocketClientID("conn-1"))
	if err != nil {
		t.Fatal(err)
	}
	in["nested"].(map[string]any)["k"] = "changed"
	in["list"].([]any)[0] = "changed"
	out := c.AgentContext()
	if out["nested"].(map[string]any)["k"] != "v" || out["list"].([]any)[0] != "a" {
		t.Errorf("context changed through the caller's map: %v", out)
	}
	out["nested"].(map[string]any)["k"] = "changed"
	if c.AgentContext()["nested"].(map[string]any)["k"] != "v" {
		t.Error("context changed through a returned map")
	}
	if c.RequestID() == "" || c.WebSocketClientID() != "conn-1" || c.CreatedAt().IsZero() {
		t.Errorf("fields: %q %q %v", c.RequestID(), c.WebSocketClientID(), c.CreatedAt())
	}
}

func TestWorkflowEmitsFiveEventsInOrder(t *testing.T) {
	t.Parallel()
	c, err := NewUserExecutionContext("u-1", "t-1", "r-1")
	if err != nil {
		t.Fatal(err)
	}
	w := NewWorkflow(WithThink(0), WithTool(0))
	var got []string
	res, err := w.Run(context.Background(), Input{Context: c, Message: "two words", FactoryID: "f-1", History: []string{"h"}},
		func(ev Event, raw []byte) error {
			got = append(got, ev.Type)
			var m map[string]any
			if err := json.Unmarshal(raw, &m); err != nil {
				t.Fatal(err)
			}
			for _, k := range []string{"type", "run_id", "user_id", "thread_id", "agent_name", "timestamp", "data"} {
				if _, ok := m[k]; !ok {
					t.Errorf("%s lacks %s", ev.Type, k)
				}
			}
			if _, err := time.Parse(time.RFC3339, ev.Timestamp); err != nil {
				t.Error(err)
			}
			if d, ok := ev.Data.(ThinkingData); ok && (len(d.Context) != 1 || d.Context[0] != "h") {
				t.Errorf("thinking context %v", d.Context)
			}
			return nil
		})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(got, ",") != strings.Join(EventTypes(), ",") {
		t.Errorf("events %v", got)
	}
	if res.WordCount != 2 || res.Digest == "" || res.Status != "completed" {
		t.Errorf("result %+v", res)
	}
	stop := errors.New("stop")
	if _, err := w.Run(context.Background(), Input{Context: c}, func(Event, []byte) error { return stop }); !errors.Is(err, stop) {
		t.Errorf("emitter error not returned: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := NewWorkflow().Run(ctx, Input{Context: c}, func(Event, []byte) error { return nil }); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled run: %v", err)
	}
}

func TestSlowdownScalesWork(t *testing.T) {
	t.Parallel()
	w := NewWorkflow(WithThink(10*time.Millisecond), WithTool(2*time.Millisecond), WithSlowdown(3), WithCPURounds(4))
	if w.think != 30*time.Millisecond || w.tool != 6*time.Millisecond || w.rounds != 12 {
		t.Errorf("workflow %+v", *w)
	}
	if c := NewConfig(WithSlowdown(-1)); c.Slowdown != DefaultSlowdown {
		t.Errorf("negative slowdown kept: %v", c.Slowdown)
	}
}

func TestParseProfile(t *testing.T) {
	t.Parallel()
	for _, p := range []Profile{ProfileCI, ProfileProduction} {
		got, err := ParseProfile(strings.ToUpper(p.String()))
		if err != nil || got != p {
			t.Errorf("%s: %v %v", p, got, err)
		}
	}
	if _, err := ParseProfile("staging"); err == nil {
		t.Error("unknown profile accepted")
	}
	if DefaultProfile != ProfileCI || strings.Join(Profiles(), ",") != "ci,production" {
		t.Error("profiles")
	}
}

func TestProfileLoadShapes(t *testing.T) {
	t.Parallel()
	ci := ProfileCI.Load()
	if ci.Timeout != time.Second || ci.MaxEventGap != 100*time.Millisecond || ci.Users != 100 {
		t.Errorf("ci %+v", ci)
	}
	p := ProfileProduction.Load()
	mean := time.Duration(float64(ProductionLLMMedian)*math.Exp(ProductionLLMSigma*ProductionLLMSigma/2)) + ProductionToolMedian
	if in := p.InFlight(mean); in < 200 {
		t.Errorf("production puts %.0f chats in flight, want >= 200", in)
	}
	if p.MaxEventGap <= ProductionLLMMax || p.Timeout < p.MaxEventGap {
		t.Errorf("production %+v", p)
	}
}

// The production waits follow the documented distribution: median 1.5 s,
// p99 6 s (seeded: the draws are a pure function of the chat).
func TestProductionWaitDistribution(t *testing.T) {
	t.Parallel()
	const n = 20000
	llm := make([]float64, n)
	tool := make([]float64, n)
	for i := range n {
		a, b := ProfileProduction.Waits(0, 0, fmt.Sprintf("lb_user_%05d", i%500), "t", uint64(i/500))
		llm[i], tool[i] = a.Seconds(), b.Seconds()
	}
	slices.Sort(llm)
	slices.Sort(tool)
	q := func(s []float64, p float64) float64 { return s[int(p*float64(len(s)-1))] }
	if m := q(llm, 0.5); math.Abs(m-1.5) > 0.06 {
		t.Errorf("LLM median %.3f s, want 1.5", m)
	}
	if p99 := q(llm, 0.99); math.Abs(p99-6) > 0.6 {
		t.Errorf("LLM p99 %.2f s, want 6", p99)
	}
	if m := q(tool, 0.5); math.Abs(m-0.030) > 0.002 {
		t.Errorf("tool median %.4f s, want 0.030", m)
	}
	if llm[n-1] > ProductionLLMMax.Seconds() {
		t.Errorf("LLM wait %.1f s over the cap", llm[n-1])
	}
	a1, b1 := ProfileProduction.Waits(0, 0, "u", "t", 3)
	a2, b2 := ProfileProduction.Waits(0, 0, "u", "t", 3)
	if a1 != a2 || b1 != b2 {
		t.Error("waits are not a function of the chat")
	}
	if a, b := ProfileCI.Waits(5*time.Millisecond, time.Millisecond, "u", "t", 3); a != 5*time.Millisecond || b != time.Millisecond {
		t.Errorf("ci waits %s %s", a, b)
	}
	c, _ := NewUserExecutionContext("u-1", "t-1", "r-1")
	w := NewWorkflow(WithProfile(ProfileProduction), WithSlowdown(2))
	x, _ := w.Waits(c, 1)
	y, _ := ProfileProduction.Waits(0, 0, "u-1", "t-1", 1)
	if x != 2*y {
		t.Errorf("slowdown: %s vs %s", x, y)
	}
}

func TestRegistryAndLLMManager(t *testing.T) {
	t.Parallel()
	if n, err := ValidateRegistry(AgentClasses()); err != nil || n != len(AgentClasses()) {
		t.Errorf("registry: %d %v", n, err)
	}
	for _, reg := range []map[string]string{{}, {"x": "XAgent"}, {DefaultAgentName: "Supervisor"}, {DefaultAgentName: "SupervisorAgent", "b": "SupervisorAgent"}} {
		if _, err := ValidateRegistry(reg); err == nil {
			t.Errorf("registry %v accepted", reg)
		}
	}
	c, _ := NewUserExecutionContext("u-1", "t-1", "r-1")
	m := NewLLMManager(c)
	for i := range HistoryWindow + 2 {
		m.Call(fmt.Sprint(i))
	}
	if got := m.Call("last"); len(got) != HistoryWindow || got[len(got)-1] != "last" || m.Calls() != HistoryWindow+3 {
		t.Errorf("conversation %v, calls %d", got, m.Calls())
	}
	sink := NewMemorySink(10)
	_, _ = sink.Write([]byte("0123456789abc")) // over the limit: its last 10 bytes
	_, _ = sink.Write([]byte("de"))            // full: the older half goes
	big := NewMemorySink(100)
	for range 1000 {
		_, _ = big.Write([]byte("0123456789"))
	}
	if n := len(big.Bytes()); n < 50 || n > 100 || big.Total() != 10000 {
		t.Errorf("sink holds %d bytes", n)
	}
	if string(sink.Bytes()) != "abcde" || sink.Total() != 15 {
		t.Errorf("sink %q total %d", sink.Bytes(), sink.Total())
	}
}

func TestPerformanceConfigDefaults(t *testing.T) {
	t.Parallel()
	c, err := LoadPerformanceConfig(func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	if !c.EnablePooling || c.PoolInitialSize != 20 || c.PoolMaxSize != 200 || c.CacheSize != 128 || c.MetricsBufferSize != 100 ||
		c.MaxConcurrentPerUser != 10 || c.ExecutionTimeout != 30*time.Second || c.EnableEventBatching || c.EventBatchTimeout != 100*time.Millisecond {
		t.Errorf("defaults %+v", c)
	}
	if _, err := LoadPerformanceConfig(func(k string) (string, bool) { return "0", k == "FACTORY_MAX_CONCURRENT_PER_USER" }); err == nil {
		t.Error("zero per-user concurrency accepted")
	}
}

func TestWindowIsUniformAndTheSameForAChat(t *testing.T) {
	t.Parallel()
	uctx, err := NewUserExecutionContext("lb_user_00001", "lb_user_00001_thread", "run-1")
	if err != nil {
		t.Fatal(err)
	}
	const mean = time.Millisecond
	w := Window{Mean: mean}
	if a, b := w.Wait(uctx, 7), w.Wait(uctx, 7); a != b {
		t.Fatalf("chat 7 waits %s and %s: not the same draw", a, b)
	}
	if (Window{}).Wait(uctx, 7) != 0 {
		t.Fatal("a zero mean waits")
	}
	if got := (Window{Mean: mean, Fixed: true}).Wait(uctx, 7); got != mean {
		t.Fatalf("a fixed window waits %s, want %s", got, mean)
	}
	const n = 20000
	var sum time.Duration
	over := 0
	for seq := range uint64(n) {
		d := w.Wait(uctx, seq)
		if d < 0 || d >= 2*mean {
			t.Fatalf("chat %d waits %s, outside [0, 2×mean)", seq, d)
		}
		sum += d
		if d > 3*mean/2 {
			over++
		}
	}
	// Uniform on [0, 2 ms): mean 1 ms, P(wait > 1.5 ms) = 25%.
	if m := sum / n; m < 970*time.Microsecond || m > 1030*time.Microsecond {
		t.Errorf("mean wait %s, want about %s", m, mean)
	}
	if p := float64(over) / n; p < 0.235 || p > 0.265 {
		t.Errorf("P(wait > 1.5×mean) = %.3f, want about 0.25", p)
	}
}
