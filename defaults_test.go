package loadbench

import (
	"testing"

	"github.com/loadbench/loadbench/internal/compare"
	"github.com/loadbench/loadbench/internal/gate"
	"github.com/loadbench/loadbench/internal/load"
	"github.com/loadbench/loadbench/targets"
)

// TestDefaultsMatchEngine pins the documented defaults (written out so that
// go doc shows their values) to the engine's.
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
		{"Max", Max, load.Max},
		{"DefaultWorkersPerCPU", DefaultWorkersPerCPU, load.DefaultWorkersPerCPU},
		{"DefaultMaxInFlight", DefaultMaxInFlight, load.DefaultMaxInFlight},
		{"DefaultMaxSendLag", DefaultMaxSendLag, load.DefaultMaxSendLag},
		{"DefaultMaxEventGap", DefaultMaxEventGap, load.DefaultMaxEventGap},
		{"DefaultWSPing", DefaultWSPing, load.DefaultWSPing},
		{"RoundsAuto", RoundsAuto, compare.RoundsAuto},
		{"DefaultMinRounds", DefaultMinRounds, compare.DefaultMinRounds},
		{"DefaultMaxDuration", DefaultMaxDuration, compare.DefaultMaxDuration},
		{"DefaultErrorBudget", DefaultErrorBudget, gate.DefaultConfig().ErrorBudget},
		{"DefaultMaxRetained", DefaultMaxRetained, gate.DefaultConfig().MaxRetainedBytesPerRequest},
		{"DefaultRoundDuration", DefaultRoundDuration, compare.DefaultRoundDuration},
		{"DefaultWarmup", DefaultWarmup, compare.DefaultWarmup},
		{"DefaultSettle", DefaultSettle, compare.DefaultSettle},
		{"DefaultMaxErrorRate", DefaultMaxErrorRate, compare.DefaultMaxErrorRate},
		{"DefaultBudget", DefaultBudget, gate.DefaultBudget},
		{"DefaultAlpha", DefaultAlpha, gate.DefaultAlpha},
		{"Baseline", string(Baseline), targets.ImplBaseline},
		{"PerRequest", string(PerRequest), targets.ImplPerRequest},
	} {
		if c.got != c.want {
			t.Errorf("%s = %v, engine's %v", c.name, c.got, c.want)
		}
	}
	if Off == Max || Off >= 0 {
		t.Errorf("Off = %v must be negative and not Max", Off)
	}
}
