// Package gate is a tiny chat-agent service of its own, gated from its
// tests and benchmarks with loadbench's public API (gate_test.go): the
// shortest way to put a service you own under loadbench.
package gate

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
)

// Routes of the agents wire contract, loadbench's defaults.
const (
	RunPath = "/api/agents/run"
	WSPath  = "/api/demo/ws"
)

// wsWriteTimeout bounds one WebSocket write.
const wsWriteTimeout = 10 * time.Second

// Service serves the agents wire contract (the package comment of
// github.com/loadbench/loadbench): POST /api/agents/run answers a chat with
// one JSON body, and a WebSocket connection on /api/demo/ws answers each
// chat with five messages, one per event. Either way a chat gets the ids
// asked for, a run id, a factory id, and the five events in order. Work is
// how long each answer takes to think.
type Service struct {
	Work time.Duration

	runs atomic.Int64
}

type request struct {
	UserID   string `json:"user_id"`
	ThreadID string `json:"thread_id"`
	Message  string `json:"message"`
}

// wsRequest is a client's WebSocket message: a chat is
// {"type":"chat","user_id","thread_id","message"}.
type wsRequest struct {
	Type string `json:"type"`
	request
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

// wsError is the WebSocket answer to a message the service cannot serve:
// it fails the chat it answers.
type wsError struct {
	Type  string `json:"type"` // "error"
	Error string `json:"error"`
}

var eventTypes = []string{"agent_started", "agent_thinking", "tool_executing", "tool_completed", "agent_completed"}

// ServeHTTP implements http.Handler.
func (s *Service) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case RunPath:
		s.serveRun(w, r)
	case WSPath:
		s.serveWS(w, r)
	default:
		http.NotFound(w, r)
	}
}

// serveRun answers POST /api/agents/run with the whole chat in one body.
func (s *Service) serveRun(w http.ResponseWriter, r *http.Request) {
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
	resp := s.chat(req)
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(resp)
}

// serveWS holds one user's connection on /api/demo/ws. It reads the
// client's messages one at a time and answers each chat with its five
// events, one text message each, before it reads the next: the chats of a
// connection are answered in the order they were sent, never interleaved.
// A message that is not a chat gets an error message. The websocket
// library answers the client's pings while the loop reads; the handler ends
// when the client closes the connection.
func (s *Service) serveWS(w http.ResponseWriter, r *http.Request) {
	c, err := websocket.Accept(w, r, nil)
	if err != nil {
		return // Accept has written the HTTP error
	}
	defer c.CloseNow()
	c.SetReadLimit(1 << 20)
	ctx := r.Context()
	for {
		_, b, err := c.Read(ctx)
		if err != nil {
			return // closed by the client, or over the read limit
		}
		var req wsRequest
		if err := json.Unmarshal(b, &req); err != nil || req.Type != "chat" || req.UserID == "" || req.ThreadID == "" {
			if wsWrite(ctx, c, wsError{Type: "error", Error: "ws: want a chat with user_id and thread_id"}) != nil {
				return
			}
			continue
		}
		for _, ev := range s.chat(req.request).Events {
			if wsWrite(ctx, c, ev) != nil {
				return
			}
		}
	}
}

// wsWrite sends v as one text message.
func wsWrite(ctx context.Context, c *websocket.Conn, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("ws write: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, wsWriteTimeout)
	defer cancel()
	return c.Write(ctx, websocket.MessageText, b)
}

// chat runs one chat of req: what both routes answer.
func (s *Service) chat(req request) response {
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
	return resp
}
