package loadbench

import (
	"errors"
	"slices"
	"testing"

	"github.com/loadbench/loadbench/internal/gate"
	"github.com/loadbench/loadbench/internal/load"
	"github.com/loadbench/loadbench/targets"
)

// TestDefaultsMatchEngine pins the documented defaults (written out so that
// go doc shows their values) to the engine's, the gate's, and the routes
// the built-in builds serve.
func TestDefaultsMatchEngine(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name      string
		got, want any
	}{
		{"DefaultRate", DefaultRate, load.DefaultRate},
		{"DefaultUsers", DefaultUsers, load.DefaultUsers},
		{"DefaultDuration", DefaultDuration, load.DefaultDuration},
		{"DefaultTimeout", DefaultTimeout, load.DefaultTimeout},
		{"DefaultHTTPPath", DefaultHTTPPath, load.DefaultHTTPPath},
		{"DefaultWSPath", DefaultWSPath, load.DefaultWSPath},
		{"DefaultUserPrefix", DefaultUserPrefix, load.DefaultUserPrefix},
		{"DefaultWorkersPerCPU", DefaultWorkersPerCPU, load.DefaultWorkersPerCPU},
		{"DefaultMaxInFlight", DefaultMaxInFlight, load.DefaultMaxInFlight},
		{"DefaultMaxSendLag", DefaultMaxSendLag, load.DefaultMaxSendLag},
		{"DefaultMaxEventGap", DefaultMaxEventGap, load.DefaultMaxEventGap},
		{"DefaultWSPing", DefaultWSPing, load.DefaultWSPing},
		{"DefaultErrorBudget", DefaultErrorBudget, gate.DefaultConfig().ErrorBudget},
		{"DefaultMaxRetained", DefaultMaxRetained, gate.DefaultConfig().MaxRetainedBytesPerRequest},
		{"DefaultBudget", DefaultBudget, gate.DefaultBudget},
		{"DefaultAlpha", DefaultAlpha, gate.DefaultAlpha},
		// The memory routes a compare asks for by default are those the
		// built-in builds serve.
		{"DefaultMetricsPath", DefaultMetricsPath, targets.RouteMetrics},
		{"DefaultGCPath", DefaultGCPath, targets.RouteDebugGC},
		{"Poisson", Poisson.engine(), load.DefaultArrivals},
	} {
		if c.got != c.want {
			t.Errorf("%s = %v, engine's %v", c.name, c.got, c.want)
		}
	}
	if got, want := DefaultPercentiles(), gate.DefaultPercentiles(); !slices.Equal(got, want) {
		t.Errorf("DefaultPercentiles() = %v, gate's %v", got, want)
	}
	if got := gate.DefaultConfig().Percentiles; !slices.Equal(DefaultPercentiles(), got) {
		t.Errorf("DefaultPercentiles() = %v, gate's default config %v", DefaultPercentiles(), got)
	}
}

// TestRatesEngine pins the Rate values to the engine's numbers and the rule
// of Options.HTTPRate: both zero is DefaultRate each; either set, a zero
// one is off.
func TestRatesEngine(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name         string
		http, ws     Rate
		wantH, wantW float64
	}{
		{"both default", Rate{}, Rate{}, DefaultRate, DefaultRate},
		{"ws only", Rate{}, PerSecond(5), 0, 5},
		{"http only", PerSecond(7), Rate{}, 7, 0},
		{"http off", Off(), Rate{}, 0, 0}, // both off: an error, below
		{"max and off", Max(), Off(), load.Max, 0},
		{"both fixed", PerSecond(1.5), PerSecond(300), 1.5, 300},
		{"max ws", Off(), Max(), 0, load.Max},
	} {
		h, w, err := rates("attack", c.http, c.ws)
		if c.wantH == 0 && c.wantW == 0 {
			if err == nil || !errors.Is(err, ErrUsage) {
				t.Errorf("%s: rates = %v, %v, %v; want a usage error", c.name, h, w, err)
			}
			continue
		}
		if err != nil || h != c.wantH || w != c.wantW {
			t.Errorf("%s: rates = %v, %v, %v; want %v, %v", c.name, h, w, err, c.wantH, c.wantW)
		}
	}
}
