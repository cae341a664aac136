// Package gate is a tiny chat-agent service of its own, gated from its
// tests and benchmarks with loadbench's public API (gate_test.go): the
// shortest way to put a service you own under loadbench.
package gate

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sync/atomic"
	"time"
)

// Service answers POST /api/agents/run with the agents wire contract:
// the ids asked for, a run id, a factory id, and five events in order.
// Work is how long each answer takes to think.
type Service struct {
	Work time.Duration

	runs atomic.Int64
}

type request struct {
	UserID   string `json:"user_id"`
	ThreadID string `json:"thread_id"`
	Message  string `json:"message"`
}

type event struct {
	Type      string         `json:"type"`
	RunID     string         `json:"run_id"`
	UserID    string         `json:"user_id"`
	ThreadID  string         `json:"thread_id"`
	Timestamp string         `json:"timestamp"`
	Data      map[string]any `json:"data"`
}

type response struct {
	RunID     string         `json:"run_id"`
	UserID    string         `json:"user_id"`
	ThreadID  string         `json:"thread_id"`
	FactoryID string         `json:"factory_id"`
	Events    []event        `json:"events"`
	Result    map[string]any `json:"result"`
}

var eventTypes = []string{"agent_started", "agent_thinking", "tool_executing", "tool_completed", "agent_completed"}

// ServeHTTP implements http.Handler.
func (s *Service) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/api/agents/run" {
		http.NotFound(w, r)
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, `{"error":"method not allowed"}`, http.StatusMethodNotAllowed)
		return
	}
	var req request
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&req); err != nil || req.UserID == "" || req.ThreadID == "" {
		http.Error(w, `{"error":"want user_id and thread_id"}`, http.StatusBadRequest)
		return
	}
	n := s.runs.Add(1)
	runID, factoryID := fmt.Sprintf("run_%d", n), fmt.Sprintf("factory_%d", n)
	if s.Work > 0 {
		time.Sleep(s.Work)
	}
	resp := response{RunID: runID, UserID: req.UserID, ThreadID: req.ThreadID, FactoryID: factoryID,
		Result: map[string]any{"status": "completed", "echo": req.Message}}
	for i, typ := range eventTypes {
		data := map[string]any{"step": i + 1}
		if i == 0 {
			data["factory_id"] = factoryID
			data["message"] = req.Message // the user's own message: loadbench checks no one else's shows up
		}
		resp.Events = append(resp.Events, event{Type: typ, RunID: runID, UserID: req.UserID, ThreadID: req.ThreadID,
			Timestamp: time.Now().UTC().Format(time.RFC3339Nano), Data: data})
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(resp)
}
