package targets

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"strconv"
	"sync"
	"sync/atomic"
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
	// ImplPartial is the half-migrated service: HTTP (the supervisor path)
	// on per-request factories, the demo WebSocket route still configuring
	// the legacy singleton.
	ImplPartial = "partial"
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
func Impls() []string { return []string{ImplBaseline, ImplPerRequest, ImplPartial} }

// ValidImpl reports whether impl names a build.
func ValidImpl(impl string) bool {
	return impl == ImplBaseline || impl == ImplPerRequest || impl == ImplPartial
}

// NewBuild returns the build named impl.
func NewBuild(impl string, opts ...agent.Option) (agent.Build, error) {
	switch impl {
	case ImplBaseline:
		return baseline.NewBuild(opts...), nil
	case ImplPerRequest:
		return perrequest.NewBuild(opts...), nil
	case ImplPartial:
		return &partialBuild{http: perrequest.NewBuild(opts...), ws: baseline.NewBuild(opts...)}, nil
	}
	return nil, fmt.Errorf("targets: unknown build %q (want %s, %s or %s)", impl, ImplBaseline, ImplPerRequest, ImplPartial)
}

// partialBuild composes the two builds (which never import each other):
// requests without a bridge (HTTP) get per-request factories, requests with
// one (the WebSocket route) configure the legacy singleton.
type partialBuild struct {
	http *perrequest.Build
	ws   *baseline.Build
}

func (p *partialBuild) Name() string { return ImplPartial }

func (p *partialBuild) Acquire(uctx agent.UserExecutionContext, bridge agent.Bridge) (agent.Session, error) {
	if bridge == nil {
		return p.http.Acquire(uctx, nil)
	}
	return p.ws.Acquire(uctx, bridge)
}

func (p *partialBuild) Stats() agent.Stats {
	h, w := p.http.Stats(), p.ws.Stats()
	return agent.Stats{
		FactoriesCreated:  h.FactoriesCreated + w.FactoriesCreated,
		FactoriesLive:     h.FactoriesLive + w.FactoriesLive,
		InstancesRetained: h.InstancesRetained + w.InstancesRetained,
		StaleRequests:     h.StaleRequests + w.StaleRequests,
		MisroutedAgents:   h.MisroutedAgents + w.MisroutedAgents,
	}
}

// Defaults of the fault injection and of the owner's wait.
const (
	// DefaultOrphanTimeout bounds how long a chat whose own events never
	// arrive waits for them before it is answered with an error; 0 takes
	// the profile's per-chat timeout (agent.Profile.Load().Timeout).
	DefaultOrphanTimeout = 0
	// seqLimit bounds the per-(user, thread) chat counters; the map is
	// cleared when it reaches it.
	seqLimit = 1 << 16
)

type config struct {
	agentOpts     []agent.Option
	debugGC       bool
	leak          int
	profile       agent.Profile
	delay         time.Duration
	failRate      float64
	failSeed      uint64
	leakPerUser   int
	orphanTimeout time.Duration
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

// WithProfile sets the workload profile (agent.DefaultProfile).
func WithProfile(p agent.Profile) Option {
	return func(c *config) { c.profile = p; c.agentOpts = append(c.agentOpts, agent.WithProfile(p)) }
}

// WithConfigureWindow sets the mean wait between configure and agent
// creation, paid by both builds (agent.DefaultConfigureWindow; see
// agent.Window).
func WithConfigureWindow(d time.Duration) Option {
	return func(c *config) { c.agentOpts = append(c.agentOpts, agent.WithConfigureWindow(d)) }
}

// WithFixedConfigureWindow makes every chat wait exactly d between
// configure and agent creation (tests that interleave requests on purpose).
func WithFixedConfigureWindow(d time.Duration) Option {
	return func(c *config) { c.agentOpts = append(c.agentOpts, agent.WithFixedConfigureWindow(d)) }
}

// WithFactoryCache sets the per-request build's agent-class cache size
// (agent.DefaultFactoryCache).
func WithFactoryCache(n int) Option {
	return func(c *config) { c.agentOpts = append(c.agentOpts, agent.WithFactoryCache(n)) }
}

// WithDelay adds d to every chat before it runs (fault injection).
func WithDelay(d time.Duration) Option { return func(c *config) { c.delay = d } }

// WithFailRate answers that share of chats with an error: HTTP 500, or a
// WebSocket error message (fault injection). Which chats fail depends only
// on (user, thread, chat sequence) and the fail seed, so two runs of a
// scenario with one seed agree.
func WithFailRate(f float64) Option { return func(c *config) { c.failRate = f } }

// WithFailSeed changes which chats WithFailRate fails, not how many on
// average: each seed is an independent draw over the same chat keys. Runs
// of a validation scenario take one each, so that they are independent
// trials of the error rule; 0 is the default draw.
func WithFailSeed(seed uint64) Option { return func(c *config) { c.failSeed = seed } }

// WithLeakPerUser retains n bytes once per distinct user id (fault
// injection).
func WithLeakPerUser(n int) Option { return func(c *config) { c.leakPerUser = n } }

// DefaultOrphanDivisor: the default orphan timeout is the profile's per-chat
// timeout divided by it (250 ms under the ci profile).
const DefaultOrphanDivisor = 4

// WithOrphanTimeout bounds the wait of a chat whose events went elsewhere
// (default: the profile's per-chat timeout / DefaultOrphanDivisor).
func WithOrphanTimeout(d time.Duration) Option { return func(c *config) { c.orphanTimeout = d } }

// Server is the http.Handler of one build.
type Server struct {
	build    agent.Build
	mux      *http.ServeMux
	registry *prometheus.Registry
	requests *prometheus.CounterVec
	misroute prometheus.Counter
	foreign  prometheus.Counter
	orphaned prometheus.Counter
	leak     int
	live     func() int64
	cfg      config
	inFlight atomic.Int64

	leakMu     sync.Mutex
	leaked     [][]byte
	userLeaked map[string][]byte

	seqMu sync.Mutex
	seqs  map[string]uint64

	failSalt string // ChatKey salt of the injected failures

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
	if c.leakPerUser < 0 {
		return nil, fmt.Errorf("targets: negative per-user leak %d", c.leakPerUser)
	}
	if c.delay < 0 {
		return nil, fmt.Errorf("targets: negative delay %s", c.delay)
	}
	if c.orphanTimeout < 0 {
		return nil, fmt.Errorf("targets: negative orphan timeout %s", c.orphanTimeout)
	}
	if math.IsNaN(c.failRate) || c.failRate < 0 || c.failRate > 1 {
		return nil, fmt.Errorf("targets: fail rate %v outside [0, 1]", c.failRate)
	}
	if c.orphanTimeout == 0 {
		// A quarter of the client's per-chat timeout: the orphaned chat
		// ends with an error the client sees before its own timeout, and
		// a WebSocket connection (which answers its chats in order) is not
		// held so long that the user's next chats queue behind it and time
		// out on the client, whose late events would then reach the wrong
		// chat.
		c.orphanTimeout = c.profile.Load().Timeout / DefaultOrphanDivisor
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
		cfg:      c,
		conns:    make(map[*websocket.Conn]struct{}),
		seqs:     make(map[string]uint64),

		userLeaked: make(map[string][]byte),
		live:       func() int64 { return b.Stats().FactoriesLive },
		failSalt:   "fail",
	}
	if c.failSeed != 0 {
		s.failSalt = "fail/" + strconv.FormatUint(c.failSeed, 10)
	}
	s.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "loadbench_requests_total",
		Help: "Requests served, by route and status code (101 for accepted WebSocket connections).",
	}, []string{"route", "code"})
	s.misroute = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "loadbench_bridge_misrouted_events_total",
		Help: "Events a connection's WebSocket bridge was notified of for users that never chatted on it.",
	})
	s.foreign = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "loadbench_foreign_events_total",
		Help: "Events delivered to a chat of another user (the legacy configure race).",
	})
	s.orphaned = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "loadbench_chats_orphaned_total",
		Help: "Chats whose own events never reached them, answered with an error after the orphan timeout.",
	})
	s.registry.MustRegister(
		collectors.NewGoCollector(),
		s.foreign,
		s.orphaned,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "loadbench_chats_in_flight",
			Help: "Chats received and not yet answered.",
		}, func() float64 { return float64(s.inFlight.Load()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "loadbench_agents_misrouted_total",
			Help: "Agents created with another request's bridge or LLM manager.",
		}, func() float64 { return float64(b.Stats().MisroutedAgents) }),
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
	s.inFlight.Add(1)
	defer s.inFlight.Add(-1)
	seq := s.chatSeq(RouteRun, uctx, req.ChatSeq)
	if err := s.beforeChat(r.Context(), uctx, seq); err != nil {
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

// errInjected marks a failure injected by WithFailRate.
var errInjected = errors.New("injected failure")

// chatSeq is the chat's sequence number: the client's, or the next of the
// server's count for (route, user, thread). Counting per route keeps a
// user's HTTP and WebSocket chats, which share a thread, from interleaving
// differently in two runs; a client that numbers its chats makes the keys
// exact.
func (s *Server) chatSeq(route string, uctx agent.UserExecutionContext, given *uint64) uint64 {
	if given != nil {
		return *given
	}
	key := route + "\x00" + uctx.UserID() + "\x00" + uctx.ThreadID()
	s.seqMu.Lock()
	defer s.seqMu.Unlock()
	if len(s.seqs) >= seqLimit {
		clear(s.seqs)
	}
	n := s.seqs[key]
	s.seqs[key] = n + 1
	return n
}

// beforeChat applies the chat-level faults: the per-user leak, the added
// delay and the injected failure.
func (s *Server) beforeChat(ctx context.Context, uctx agent.UserExecutionContext, seq uint64) error {
	s.retainUser(uctx.UserID())
	if err := agent.Pause(ctx, s.cfg.delay); err != nil {
		return err
	}
	if f := s.cfg.failRate; f > 0 && agent.ChatKey(s.failSalt, uctx.UserID(), uctx.ThreadID(), seq) < f {
		return errInjected
	}
	return nil
}

// awaitOwn waits for the chat's own agent_completed. The agent has
// finished, so when its events went to another chat they will never come:
// the owner waits for them (as the real client does) until ctx ends or the
// orphan timeout passes, and the chat ends with an error.
func (s *Server) awaitOwn(ctx context.Context, sink *chatSink) error {
	select {
	case <-sink.done:
		return nil
	default:
	}
	t := time.NewTimer(s.cfg.orphanTimeout)
	defer t.Stop()
	select {
	case <-sink.done:
		return nil
	case <-ctx.Done():
	case <-t.C:
	}
	s.orphaned.Inc()
	return fmt.Errorf("events of run %s never arrived", sink.runID)
}

// chatSink receives the events delivered to one chat: its own, and under
// the legacy build other users' too, from other goroutines and possibly
// after the chat ended (then they are dropped). It is safe for concurrent
// use.
type chatSink struct {
	userID, runID string
	foreign       prometheus.Counter
	write         func([]byte) error // nil: collect for an HTTP response
	done          chan struct{}

	mu       sync.Mutex
	events   []json.RawMessage
	finished bool
	closed   bool
}

func newChatSink(uctx agent.UserExecutionContext, foreign prometheus.Counter) *chatSink {
	return &chatSink{userID: uctx.UserID(), runID: uctx.RunID(), foreign: foreign, done: make(chan struct{})}
}

func (c *chatSink) emit(ev agent.Event, raw []byte) error {
	own := ev.RunID == c.runID
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	if ev.UserID != c.userID {
		c.foreign.Inc()
	}
	if c.write == nil {
		c.events = append(c.events, append(json.RawMessage(nil), raw...))
	}
	c.mu.Unlock()
	if c.write != nil {
		if err := c.write(raw); err != nil && own {
			return err // this chat's own connection failed
		}
	}
	if own && ev.Type == agent.EventAgentCompleted {
		c.mu.Lock()
		if !c.finished {
			c.finished = true
			close(c.done)
		}
		c.mu.Unlock()
	}
	return nil
}

func (c *chatSink) snapshot() []json.RawMessage {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]json.RawMessage(nil), c.events...)
}

func (c *chatSink) close() {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
}

// retainUser is the --leak-per-user fault: n bytes kept once per distinct
// user id.
func (s *Server) retainUser(userID string) {
	n := s.cfg.leakPerUser
	if n <= 0 {
		return
	}
	s.leakMu.Lock()
	defer s.leakMu.Unlock()
	if _, ok := s.userLeaked[userID]; ok {
		return
	}
	b := make([]byte, n)
	for i := 0; i < len(b); i += 4096 {
		b[i] = 1
	}
	s.userLeaked[userID] = b
}

// InFlight is the number of chats received and not yet answered.
func (s *Server) InFlight() int64 { return s.inFlight.Load() }

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
