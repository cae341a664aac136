package agent

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestValidateRejectsPlaceholdersAndReservedKeys(t *testing.T) {
	t.Parallel()
	bad := []string{"", "  ", "placeholder", "DEFAULT", "temp", "none", "null", "0", "1", "test", "demo", "mock", "registry",
		"placeholder_x", "registry_1", "temp_abc", "mock_user", "default_u", "a\nb", strings.Repeat("x", MaxIDLength+1)}
	for _, id := range bad {
		if _, err := NewUserExecutionContext(id, "thread-1", "run-1"); !errors.Is(err, ErrInvalidContext) {
			t.Errorf("user_id %q accepted", id)
		}
	}
	for _, id := range []string{"user-42", "temp_but_long_enough_id_x", "alice", "10"} {
		if _, err := NewUserExecutionContext(id, "thread-1", "run-1"); err != nil {
			t.Errorf("user_id %q rejected: %v", id, err)
		}
	}
	if _, err := NewUserExecutionContext("u-1", "", "run-1"); err == nil {
		t.Error("empty thread_id accepted")
	}
	if _, err := NewUserExecutionContext("u-1", "t-1", "null"); err == nil {
		t.Error("placeholder run_id accepted")
	}
	for _, k := range reservedKeys {
		if _, err := NewUserExecutionContext("u-1", "t-1", "r-1", WithAgentContext(map[string]any{k: "x"})); err == nil {
			t.Errorf("agent_context key %q accepted", k)
		}
		if _, err := NewUserExecutionContext("u-1", "t-1", "r-1", WithAuditMetadata(map[string]any{k: "x"})); err == nil {
			t.Errorf("audit_metadata key %q accepted", k)
		}
	}
	var zero UserExecutionContext
	if zero.Validate() == nil || !zero.IsZero() {
		t.Error("zero context valid")
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
