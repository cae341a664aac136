package load

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/loadbench/loadbench/results"
)

// fakeTarget speaks the wire contract of the targets. Options make it stall,
// leak other users' messages, or break the five-event contract.
type fakeTarget struct {
	stall   time.Duration // freeze for this long at the start of every second
	epoch   time.Time
	leaky   bool                               // agent_thinking.data.context holds other users' recent messages
	mutate  func(n int64, evs []event) []event // breaks the events of chat n (from 0)
	factory string                             // a fixed factory id; "" = one per request
	chats   atomic.Int64
	mu      sync.Mutex
	recent  []string
	dropWS  atomic.Int64 // close this many WS connections after their first chat
	// pause is slept before the third event of every chat (tool_executing):
	// over WebSocket between the messages, over HTTP between the events'
	// timestamps.
	pause time.Duration
}

type event struct {
	Type      string         `json:"type"`
	RunID     string         `json:"run_id"`
	UserID    string         `json:"user_id"`
	ThreadID  string         `json:"thread_id"`
	AgentName string         `json:"agent_name"`
	Timestamp string         `json:"timestamp"`
	Data      map[string]any `json:"data"`
}

type chatReq struct {
	Type     string `json:"type"`
	UserID   string `json:"user_id"`
	ThreadID string `json:"thread_id"`
	Message  string `json:"message"`
}

func newFake() *fakeTarget { return &fakeTarget{epoch: time.Now()} }

func (f *fakeTarget) waitStall() {
	if f.stall <= 0 {
		return
	}
	if phase := time.Since(f.epoch) % time.Second; phase < f.stall {
		time.Sleep(f.stall - phase)
	}
}

func (f *fakeTarget) events(req chatReq, ws bool) (string, string, []event) {
	n := f.chats.Add(1) - 1
	run := fmt.Sprintf("run_%d", n)
	fid := f.factory
	if fid == "" {
		fid = fmt.Sprintf("factory_%d", n)
	}
	var context []string
	f.mu.Lock()
	if f.leaky {
		context = append(context, f.recent...)
	} else {
		context = []string{req.Message}
	}
	f.recent = append(f.recent, req.Message)
	if len(f.recent) > 3 {
		f.recent = f.recent[1:]
	}
	f.mu.Unlock()
	evs := make([]event, 0, 5)
	for i, typ := range eventTypes {
		if i == 2 && f.pause > 0 && !ws {
			time.Sleep(f.pause)
		}
		ts := time.Now().UTC().Format(time.RFC3339Nano)
		ev := event{Type: typ, RunID: run, UserID: req.UserID, ThreadID: req.ThreadID, AgentName: "triage", Timestamp: ts, Data: map[string]any{}}
		switch i {
		case 0:
			ev.Data["factory_id"] = fid
		case 1:
			ev.Data["context"] = context
		}
		evs = append(evs, ev)
	}
	if f.mutate != nil {
		evs = f.mutate(n, evs)
	}
	return run, fid, evs
}

func (f *fakeTarget) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc(DefaultHTTPPath, func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			http.Error(w, `{"error":"method"}`, http.StatusMethodNotAllowed)
			return
		}
		var req chatReq
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&req); err != nil || req.UserID == "" {
			http.Error(w, `{"error":"bad request"}`, http.StatusBadRequest)
			return
		}
		f.waitStall()
		run, fid, evs := f.events(req, false)
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{
			"run_id": run, "user_id": req.UserID, "thread_id": req.ThreadID, "factory_id": fid,
			"events": evs, "result": "ok: " + req.Message,
		})
	})
	mux.HandleFunc(DefaultWSPath, func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, &websocket.AcceptOptions{CompressionMode: websocket.CompressionDisabled})
		if err != nil {
			return
		}
		defer c.CloseNow()
		ctx := r.Context()
		send := func(v any) error {
			b, _ := json.Marshal(v)
			return c.Write(ctx, websocket.MessageText, b)
		}
		if send(map[string]string{"type": "connection_established", "connection_id": "c1"}) != nil {
			return
		}
		for {
			_, b, err := c.Read(ctx)
			if err != nil {
				return
			}
			var req chatReq
			if json.Unmarshal(b, &req) != nil {
				send(map[string]string{"type": "error", "error": "bad json"})
				continue
			}
			switch req.Type {
			case "ping":
				send(map[string]string{"type": "pong"})
				continue
			case "chat":
			default:
				send(map[string]string{"type": "error", "error": "unknown type"})
				continue
			}
			f.waitStall()
			_, _, evs := f.events(req, true)
			for i, ev := range evs {
				if i == 2 && f.pause > 0 {
					time.Sleep(f.pause)
				}
				if send(ev) != nil {
					return
				}
			}
			if f.dropWS.Add(-1) >= 0 {
				return
			}
		}
	})
	return mux
}

func startFake(t *testing.T, f *fakeTarget) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(f.handler())
	t.Cleanup(srv.Close)
	return srv
}

// mustAttack builds an attacker with constant arrivals unless opts say
// otherwise: the tests that count chats need the metronome's exact count
// (TestPoissonAttackCount covers the default process).
func mustAttack(t *testing.T, url string, opts ...Option) *Attacker {
	t.Helper()
	a, err := NewAttacker(url, append([]Option{WithArrivals(ArrivalsConstant)}, opts...)...)
	if err != nil {
		t.Fatalf("NewAttacker: %v", err)
	}
	return a
}

func runAttack(t *testing.T, a *Attacker) *results.Segment {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	seg, err := a.Attack(ctx)
	if err != nil {
		t.Fatalf("Attack: %v", err)
	}
	return seg
}

// stallHandler freezes every request of h for f's stall window.
type stallHandler struct {
	f *fakeTarget
	h http.Handler
}

func (s stallHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.f.waitStall()
	s.h.ServeHTTP(w, r)
}
