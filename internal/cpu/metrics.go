package cpu

import (
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// Metric names read from a target's /metrics.
const (
	// MetricCPUSeconds is the process collector's CPU time counter.
	MetricCPUSeconds = "process_cpu_seconds_total"
	// MetricStartTime is the process collector's start time, in Unix seconds.
	MetricStartTime = "process_start_time_seconds"
)

// Metrics reads MetricCPUSeconds from the Prometheus text at URL (a target's
// full /metrics URL) with Client (http.DefaultClient when nil).
type Metrics struct {
	URL    string
	Client *http.Client
}

// Read scrapes the target's /metrics.
func (m Metrics) Read(ctx context.Context) (Reading, error) {
	client := m.Client
	if client == nil {
		client = http.DefaultClient
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, m.URL, nil)
	if err != nil {
		return Reading{}, fmt.Errorf("read cpu %s: %w", m.URL, err)
	}
	req.Header.Set("Accept", string(expfmt.NewFormat(expfmt.TypeTextPlain)))
	resp, err := client.Do(req)
	if err != nil {
		return Reading{}, fmt.Errorf("read cpu %s: %w", m.URL, err)
	}
	defer resp.Body.Close()
	at := time.Now()
	if resp.StatusCode != http.StatusOK {
		return Reading{}, fmt.Errorf("read cpu %s: status %d", m.URL, resp.StatusCode)
	}
	r, err := ParseMetrics(resp.Body)
	if err != nil {
		return Reading{}, fmt.Errorf("read cpu %s: %w", m.URL, err)
	}
	r.At = at
	return r, nil
}

// ParseMetrics reads MetricCPUSeconds, and MetricStartTime when present, from
// Prometheus text format. Each must be a single series (of any type but a
// summary or histogram) with a finite, non-negative value.
func ParseMetrics(body io.Reader) (Reading, error) {
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(body)
	if err != nil {
		return Reading{}, fmt.Errorf("parse cpu metrics: %w", err)
	}
	// single is the value of the one series of the family name; ok is
	// false when the family is absent or empty.
	single := func(name string) (v float64, ok bool, err error) {
		f, found := fams[name]
		if !found || len(f.GetMetric()) == 0 {
			return 0, false, nil
		}
		if n := len(f.GetMetric()); n > 1 {
			return 0, false, fmt.Errorf("parse cpu metrics: %d series of %s, want one", n, name)
		}
		m := f.GetMetric()[0]
		switch {
		case m.GetCounter() != nil:
			v = m.GetCounter().GetValue()
		case m.GetGauge() != nil:
			v = m.GetGauge().GetValue()
		case m.GetUntyped() != nil:
			v = m.GetUntyped().GetValue()
		default:
			return 0, false, fmt.Errorf("parse cpu metrics: %s is a %s", name, f.GetType())
		}
		if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
			return 0, false, fmt.Errorf("parse cpu metrics: %s is %v", name, v)
		}
		return v, true, nil
	}
	r := Reading{Source: SourceMetrics}
	cpu, ok, err := single(MetricCPUSeconds)
	if err != nil {
		return Reading{}, err
	}
	if !ok {
		return Reading{}, fmt.Errorf("parse cpu metrics: no %s", MetricCPUSeconds)
	}
	r.Seconds = cpu
	if r.Start, _, err = single(MetricStartTime); err != nil {
		return Reading{}, err
	}
	return r, nil
}
