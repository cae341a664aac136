package compare

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// Metric names read from a target's /metrics.
const (
	metricHeapAlloc      = "go_memstats_heap_alloc_bytes"
	metricHeapInuse      = "go_memstats_heap_inuse_bytes"
	metricRSS            = "process_resident_memory_bytes"
	metricFactoriesLive  = "loadbench_factories_live"
	metricAgentInstances = "loadbench_agent_instances_retained"
	// metricProcess carries the serving process's token (internal/procid)
	// in its "token" label.
	metricProcess = "loadbench_process_info"
)

// reading is one scrape of /metrics; a value of -1 means not reported.
type reading struct {
	HeapAlloc, HeapInuse, RSS, FactoriesLive, AgentInstances float64
	// Process is the target's process token; "" when not reported.
	Process string
}

// probe is what a target offers beyond the load routes.
type probe struct {
	client  *http.Client
	metrics string // full URL of /metrics, "" when absent
	gc      string // full URL of /debug/gc, "" when absent
}

// scrape reads the target's /metrics.
func (p *probe) scrape(ctx context.Context) (reading, error) {
	r := reading{-1, -1, -1, -1, -1, ""}
	if p.metrics == "" {
		return r, nil
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.metrics, nil)
	if err != nil {
		return r, fmt.Errorf("scrape %s: %w", p.metrics, err)
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return r, fmt.Errorf("scrape %s: %w", p.metrics, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return r, fmt.Errorf("scrape %s: status %d", p.metrics, resp.StatusCode)
	}
	return parseMetrics(resp.Body)
}

// parseMetrics reads the gauges compare needs from Prometheus text format.
func parseMetrics(body io.Reader) (reading, error) {
	r := reading{-1, -1, -1, -1, -1, ""}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(body)
	if err != nil {
		return r, fmt.Errorf("parse metrics: %w", err)
	}
	for name, dst := range map[string]*float64{
		metricHeapAlloc: &r.HeapAlloc, metricHeapInuse: &r.HeapInuse, metricRSS: &r.RSS,
		metricFactoriesLive: &r.FactoriesLive, metricAgentInstances: &r.AgentInstances,
	} {
		f, ok := fams[name]
		if !ok || len(f.GetMetric()) == 0 {
			continue
		}
		m := f.GetMetric()[0]
		switch {
		case m.GetGauge() != nil:
			*dst = m.GetGauge().GetValue()
		case m.GetCounter() != nil:
			*dst = m.GetCounter().GetValue()
		case m.GetUntyped() != nil:
			*dst = m.GetUntyped().GetValue()
		}
	}
	if f, ok := fams[metricProcess]; ok && len(f.GetMetric()) > 0 {
		for _, l := range f.GetMetric()[0].GetLabel() {
			if l.GetName() == "token" {
				r.Process = l.GetValue()
			}
		}
	}
	return r, nil
}

// gcResult is the answer of POST /debug/gc.
type gcResult struct {
	HeapLiveBytes float64 `json:"heap_live_bytes"`
	FactoriesLive float64 `json:"factories_live"`
	Process       string  `json:"process"` // the serving process's token
}

// forceGC asks the target to collect and returns its live heap.
func (p *probe) forceGC(ctx context.Context) (gcResult, error) {
	var g gcResult
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.gc, nil)
	if err != nil {
		return g, fmt.Errorf("force gc %s: %w", p.gc, err)
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return g, fmt.Errorf("force gc %s: %w", p.gc, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return g, fmt.Errorf("force gc %s: status %d", p.gc, resp.StatusCode)
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&g); err != nil {
		return g, fmt.Errorf("force gc %s: %w", p.gc, err)
	}
	return g, nil
}

// discover finds out whether the target at base serves metricsPath and
// gcPath. Absent routes are not an error: a staging deployment may hide them.
func discover(ctx context.Context, client *http.Client, base, metricsPath, gcPath string) *probe {
	p := &probe{client: client}
	base = strings.TrimRight(base, "/")
	if metricsPath != "" {
		u := base + metricsPath
		p.metrics = u
		if _, err := p.scrape(ctx); err != nil {
			p.metrics = ""
		}
	}
	if gcPath != "" {
		p.gc = base + gcPath
		if _, err := p.forceGC(ctx); err != nil {
			p.gc = ""
		}
	}
	return p
}
