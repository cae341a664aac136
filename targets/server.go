package targets

import (
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/loadbench/loadbench/internal/agent"
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
	c, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	b, err := NewBuild(impl, c.agentOpts...)
	if err != nil {
		return nil, err
	}
	s := newServer(b, c)
	s.newCounters()
	s.route(s.registerMetrics())
	return s, nil
}

// newServer is the server of build b under c, before its metrics and routes.
func newServer(b agent.Build, c config) *Server {
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
	return s
}

// route registers the handlers; POST /debug/gc only when enabled.
func (s *Server) route(metrics http.Handler) {
	s.mux.HandleFunc(RouteRun, s.handleRun)
	s.mux.HandleFunc(RouteWS, s.handleWS)
	s.mux.HandleFunc(RouteHealth, s.handleHealth)
	s.mux.Handle(RouteMetrics, s.counted(RouteMetrics, metrics))
	if s.cfg.debugGC {
		s.mux.HandleFunc(RouteDebugGC, s.handleGC)
	}
}

// Build returns the build the server serves.
func (s *Server) Build() agent.Build { return s.build }

// InFlight is the number of chats received and not yet answered.
func (s *Server) InFlight() int64 { return s.inFlight.Load() }

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
