package targets

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/loadbench/loadbench/internal/procid"
)

// MetricProcessInfo is the gauge, always 1, whose token label is the serving
// process's token (as in GCResponse.Process): two targets reporting the same
// token, or a target reporting its client's, share one process and one heap.
const MetricProcessInfo = "loadbench_process_info"

// newCounters creates the server's own counters (registered by
// registerMetrics).
func (s *Server) newCounters() {
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
}

// registerMetrics registers the Go and process collectors, the server's
// counters and the gauges read from the build, and returns the handler of
// GET /metrics.
func (s *Server) registerMetrics() http.Handler {
	b := s.build
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
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name:        MetricProcessInfo,
			Help:        "Always 1; token names the serving process, so that a client can tell that a target shares its process (and heap).",
			ConstLabels: prometheus.Labels{"token": procid.Token()},
		}, func() float64 { return 1 }),
	)
	return promhttp.HandlerFor(s.registry, promhttp.HandlerOpts{})
}
