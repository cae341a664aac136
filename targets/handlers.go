package targets

import (
	"encoding/json"
	"errors"
	"net/http"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"strconv"
	"time"

	"github.com/loadbench/loadbench/internal/agent"
	"github.com/loadbench/loadbench/internal/procid"
)

// statusWriter records the status code of a plain HTTP response.
type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(p []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return w.ResponseWriter.Write(p)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (s *Server) counted(route string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw := &statusWriter{ResponseWriter: w}
		h.ServeHTTP(sw, r)
		if sw.code == 0 {
			sw.code = http.StatusOK
		}
		s.requests.WithLabelValues(route, strconv.Itoa(sw.code)).Inc()
	})
}

func (s *Server) writeJSON(w http.ResponseWriter, route string, code int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		code = http.StatusInternalServerError
		body = []byte(`{"error":"encode response"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_, _ = w.Write(append(body, '\n'))
	s.requests.WithLabelValues(route, strconv.Itoa(code)).Inc()
}

type errorBody struct {
	Error string `json:"error"`
}

// RunRequest is the body of POST /api/agents/run.
type RunRequest struct {
	UserID   string `json:"user_id"`
	ThreadID string `json:"thread_id"`
	Message  string `json:"message"`
	// ChatSeq optionally numbers the chat within its user and thread; it
	// keys the chat's waits and faults. Without it the server counts.
	ChatSeq *uint64 `json:"chat_seq,omitempty"`
}

// RunResponse is the 200 answer of POST /api/agents/run.
type RunResponse struct {
	RunID     string            `json:"run_id"`
	UserID    string            `json:"user_id"`
	ThreadID  string            `json:"thread_id"`
	FactoryID string            `json:"factory_id"`
	Events    []json.RawMessage `json:"events"`
	Result    agent.Result      `json:"result"`
}

func (s *Server) handleRun(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		s.writeJSON(w, RouteRun, http.StatusMethodNotAllowed, errorBody{"run: method not allowed"})
		return
	}
	req, uctx, ok := s.readRun(w, r)
	if !ok {
		return
	}
	s.runChat(w, r, req, uctx)
}

// readRun decodes the body of POST /api/agents/run into the chat's request
// and user context; on a bad body it answers the error and returns false.
func (s *Server) readRun(w http.ResponseWriter, r *http.Request) (req RunRequest, uctx agent.UserExecutionContext, ok bool) {
	r.Body = http.MaxBytesReader(w, r.Body, MaxBodyBytes)
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			s.writeJSON(w, RouteRun, http.StatusRequestEntityTooLarge, errorBody{"run: body over 1 MiB"})
			return req, uctx, false
		}
		s.writeJSON(w, RouteRun, http.StatusBadRequest, errorBody{"run: invalid JSON: " + err.Error()})
		return req, uctx, false
	}
	uctx, err := agent.NewUserExecutionContext(req.UserID, req.ThreadID, agent.NewID("run"),
		agent.WithAuditMetadata(map[string]any{"route": RouteRun, "remote_addr": r.RemoteAddr}))
	if err != nil {
		s.writeJSON(w, RouteRun, http.StatusBadRequest, errorBody{"run: " + err.Error()})
		return req, uctx, false
	}
	return req, uctx, true
}

// runChat runs one HTTP chat and answers it: its events and result, or the
// error that ended it.
func (s *Server) runChat(w http.ResponseWriter, r *http.Request, req RunRequest, uctx agent.UserExecutionContext) {
	s.inFlight.Add(1)
	defer s.inFlight.Add(-1)
	seq := s.chatSeq(RouteRun, uctx, req.ChatSeq)
	if err := s.beforeChat(r.Context(), RouteRun, uctx, seq); err != nil {
		code := http.StatusInternalServerError
		if !errors.Is(err, errInjected) {
			code = http.StatusServiceUnavailable
		}
		s.writeJSON(w, RouteRun, code, errorBody{"run: " + err.Error()})
		return
	}
	sess, err := s.build.Acquire(uctx, nil)
	if err != nil {
		s.writeJSON(w, RouteRun, http.StatusBadRequest, errorBody{"run: " + err.Error()})
		return
	}
	defer sess.Release()
	s.retain()
	sink := newChatSink(uctx, s.foreign)
	defer sink.close()
	ctx := agent.WithChatSeq(r.Context(), seq)
	res, err := sess.Run(ctx, req.Message, sink.emit)
	if err != nil {
		s.writeJSON(w, RouteRun, http.StatusServiceUnavailable, errorBody{"run: " + err.Error()})
		return
	}
	if err := s.awaitOwn(ctx, sink); err != nil {
		s.writeJSON(w, RouteRun, http.StatusGatewayTimeout, errorBody{"run: " + err.Error()})
		return
	}
	s.writeJSON(w, RouteRun, http.StatusOK, RunResponse{
		RunID: uctx.RunID(), UserID: uctx.UserID(), ThreadID: uctx.ThreadID(),
		FactoryID: sess.FactoryID(), Events: sink.snapshot(), Result: res,
	})
}

func (s *Server) handleHealth(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		s.writeJSON(w, RouteHealth, http.StatusMethodNotAllowed, errorBody{"healthz: method not allowed"})
		return
	}
	s.writeJSON(w, RouteHealth, http.StatusOK, map[string]string{"status": "ok", "impl": s.build.Name()})
}

// GCResponse is the answer of POST /debug/gc.
type GCResponse struct {
	HeapLiveBytes uint64 `json:"heap_live_bytes"`
	FactoriesLive int64  `json:"factories_live"`
	// Process is the serving process's token (internal/procid): equal to
	// the client's own when the target shares its process, and so its heap.
	Process string `json:"process"`
}

func (s *Server) handleGC(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		s.writeJSON(w, RouteDebugGC, http.StatusMethodNotAllowed, errorBody{"debug/gc: method not allowed"})
		return
	}
	runtime.GC()
	runtime.GC()
	debug.FreeOSMemory()
	// Cleanups run on their own goroutine after the cycle; give them a
	// bounded moment to settle.
	prev := s.live()
	for range 20 {
		time.Sleep(5 * time.Millisecond)
		cur := s.live()
		if cur == prev {
			break
		}
		prev = cur
	}
	s.writeJSON(w, RouteDebugGC, http.StatusOK, GCResponse{
		HeapLiveBytes: heapLive(), FactoriesLive: s.live(), Process: procid.Token(),
	})
}

func heapLive() uint64 {
	sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(sample)
	if sample[0].Value.Kind() == metrics.KindUint64 {
		return sample[0].Value.Uint64()
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}
