package targets

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"strconv"
	"sync"
	"time"

	"github.com/coder/websocket"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/loadbench/loadbench/baseline"
	"github.com/loadbench/loadbench/internal/agent"
	"github.com/loadbench/loadbench/perrequest"
)

// Build names accepted by New and NewBuild.
const (
	ImplBaseline   = baseline.Name
	ImplPerRequest = perrequest.Name
)

// Routes served.
const (
	RouteRun     = "/api/agents/run"
	RouteWS      = "/api/demo/ws"
	RouteMetrics = "/metrics"
	RouteHealth  = "/healthz"
	RouteDebugGC = "/debug/gc"
)

// MaxBodyBytes bounds HTTP bodies and WebSocket messages (1 MiB).
const MaxBodyBytes = 1 << 20

// DefaultCloseTimeout bounds how long Close waits for WebSocket close
// handshakes before dropping the connections.
const DefaultCloseTimeout = 2 * time.Second

// Impls lists the build names.
func Impls() []string { return []string{ImplBaseline, ImplPerRequest} }

// NewBuild returns the build named impl.
func NewBuild(impl string, opts ...agent.Option) (agent.Build, error) {
	switch impl {
	case ImplBaseline:
		return baseline.NewBuild(opts...), nil
	case ImplPerRequest:
		return perrequest.NewBuild(opts...), nil
	}
	return nil, fmt.Errorf("targets: unknown build %q (want %s or %s)", impl, ImplBaseline, ImplPerRequest)
}

type config struct {
	agentOpts []agent.Option
	debugGC   bool
	leak      int
}

// Option configures a Server.
type Option func(*config)

// WithThink sets the simulated LLM wait (agent.DefaultThink).
func WithThink(d time.Duration) Option {
	return func(c *config) { c.agentOpts = append(c.agentOpts, agent.WithThink(d)) }
}

// WithTool sets the simulated tool wait (agent.DefaultTool).
func WithTool(d time.Duration) Option {
	return func(c *config) { c.agentOpts = append(c.agentOpts, agent.WithTool(d)) }
}

// WithSlowdown multiplies the simulated work (agent.DefaultSlowdown).
func WithSlowdown(f float64) Option {
	return func(c *config) { c.agentOpts = append(c.agentOpts, agent.WithSlowdown(f)) }
}

// WithAuditLogger logs every factory creation and release.
func WithAuditLogger(l *slog.Logger) Option {
	return func(c *config) { c.agentOpts = append(c.agentOpts, agent.WithLogger(l)) }
}

// WithDebugGC enables POST /debug/gc.
func WithDebugGC(on bool) Option { return func(c *config) { c.debugGC = on } }

// WithLeak retains n bytes per request forever (fault injection).
func WithLeak(n int) Option { return func(c *config) { c.leak = n } }

// Server is the http.Handler of one build.
type Server struct {
	build    agent.Build
	mux      *http.ServeMux
	registry *prometheus.Registry
	requests *prometheus.CounterVec
	misroute prometheus.Counter
	leak     int
	live     func() int64

	leakMu sync.Mutex
	leaked [][]byte

	connMu  sync.Mutex
	conns   map[*websocket.Conn]struct{}
	closing bool
	connWG  sync.WaitGroup
}

// New returns the server of the build named impl.
func New(impl string, opts ...Option) (*Server, error) {
	var c config
	for _, o := range opts {
		o(&c)
	}
	if c.leak < 0 {
		return nil, fmt.Errorf("targets: negative leak %d", c.leak)
	}
	b, err := NewBuild(impl, c.agentOpts...)
	if err != nil {
		return nil, err
	}
	s := &Server{
		build:    b,
		mux:      http.NewServeMux(),
		registry: prometheus.NewRegistry(),
		leak:     c.leak,
		conns:    make(map[*websocket.Conn]struct{}),
		live:     func() int64 { return b.Stats().FactoriesLive },
	}
	s.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "loadbench_requests_total",
		Help: "Requests served, by route and status code (101 for accepted WebSocket connections).",
	}, []string{"route", "code"})
	s.misroute = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "loadbench_bridge_misrouted_events_total",
		Help: "Events a connection's WebSocket bridge was notified of for users that never chatted on it.",
	})
	s.registry.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		s.requests,
		s.misroute,
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "loadbench_factories_created_total",
			Help: "AgentInstanceFactory instances ever created.",
		}, func() float64 { return float64(b.Stats().FactoriesCreated) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "loadbench_factories_live",
			Help: "AgentInstanceFactory instances not yet garbage collected.",
		}, func() float64 { return float64(b.Stats().FactoriesLive) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "loadbench_agent_instances_retained",
			Help: "Agent instances currently held by factories.",
		}, func() float64 { return float64(b.Stats().InstancesRetained) }),
	)
	s.mux.HandleFunc(RouteRun, s.handleRun)
	s.mux.HandleFunc(RouteWS, s.handleWS)
	s.mux.HandleFunc(RouteHealth, s.handleHealth)
	metricsHandler := promhttp.HandlerFor(s.registry, promhttp.HandlerOpts{})
	s.mux.Handle(RouteMetrics, s.counted(RouteMetrics, metricsHandler))
	if c.debugGC {
		s.mux.HandleFunc(RouteDebugGC, s.handleGC)
	}
	return s, nil
}

// Build returns the build the server serves.
func (s *Server) Build() agent.Build { return s.build }

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if _, pattern := s.mux.Handler(r); pattern == "" {
		s.requests.WithLabelValues("other", "404").Inc()
	}
	s.mux.ServeHTTP(w, r)
}

// Close closes every WebSocket connection (status 1001), waiting at most
// DefaultCloseTimeout for the handshakes and handlers, and refuses new ones.
// http.Server.Shutdown does not track hijacked connections; call Close
// after it.
func (s *Server) Close() {
	s.connMu.Lock()
	s.closing = true
	conns := make([]*websocket.Conn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.connMu.Unlock()
	done := make(chan struct{})
	go func() {
		var wg sync.WaitGroup
		for _, c := range conns {
			wg.Go(func() { _ = c.Close(websocket.StatusGoingAway, "server shutting down") })
		}
		wg.Wait()
		s.connWG.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(DefaultCloseTimeout):
		for _, c := range conns {
			_ = c.CloseNow()
		}
	}
}

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
	r.Body = http.MaxBytesReader(w, r.Body, MaxBodyBytes)
	var req RunRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			s.writeJSON(w, RouteRun, http.StatusRequestEntityTooLarge, errorBody{"run: body over 1 MiB"})
			return
		}
		s.writeJSON(w, RouteRun, http.StatusBadRequest, errorBody{"run: invalid JSON: " + err.Error()})
		return
	}
	uctx, err := agent.NewUserExecutionContext(req.UserID, req.ThreadID, agent.NewID("run"),
		agent.WithAuditMetadata(map[string]any{"route": RouteRun, "remote_addr": r.RemoteAddr}))
	if err != nil {
		s.writeJSON(w, RouteRun, http.StatusBadRequest, errorBody{"run: " + err.Error()})
		return
	}
	sess, err := s.build.Acquire(uctx, nil)
	if err != nil {
		s.writeJSON(w, RouteRun, http.StatusBadRequest, errorBody{"run: " + err.Error()})
		return
	}
	defer sess.Release()
	s.retain()
	events := make([]json.RawMessage, 0, 5)
	res, err := sess.Run(r.Context(), req.Message, func(_ agent.Event, raw []byte) error {
		events = append(events, append(json.RawMessage(nil), raw...))
		return nil
	})
	if err != nil {
		s.writeJSON(w, RouteRun, http.StatusServiceUnavailable, errorBody{"run: " + err.Error()})
		return
	}
	s.writeJSON(w, RouteRun, http.StatusOK, RunResponse{
		RunID: uctx.RunID(), UserID: uctx.UserID(), ThreadID: uctx.ThreadID(),
		FactoryID: sess.FactoryID(), Events: events, Result: res,
	})
}

// retain is the --leak fault: n bytes per request kept forever, touched so
// they are resident.
func (s *Server) retain() {
	if s.leak <= 0 {
		return
	}
	b := make([]byte, s.leak)
	for i := 0; i < len(b); i += 4096 {
		b[i] = 1
	}
	s.leakMu.Lock()
	s.leaked = append(s.leaked, b)
	s.leakMu.Unlock()
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
	s.writeJSON(w, RouteDebugGC, http.StatusOK, GCResponse{HeapLiveBytes: heapLive(), FactoriesLive: s.live()})
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
