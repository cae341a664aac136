package loadbench_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/loadbench/loadbench"
)

func TestCapacityPlanZeroValueIsTheDefaultRun(t *testing.T) {
	t.Parallel()
	p, err := loadbench.CapacityOptions{}.CapacityPlan()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(p.Protocols, []string{"http", "ws"}) || p.Users != 200 || p.StepDuration.D() != 3*time.Second ||
		p.CPUBudget != 0.05 || p.CapacityBudget != 0.05 || p.ErrorBudget != 0.001 || p.SLO != 0 ||
		!slices.Equal(p.CPUFractions, []float64{0.5, 0.8}) || p.CPURates != nil || p.Repeats != 5 || p.Width != 0.01 {
		t.Errorf("default plan %+v", p)
	}
	q, err := loadbench.CapacityOptions{CPURates: []float64{100, 200}, Protocols: []loadbench.Protocol{loadbench.WebSocket}}.CapacityPlan()
	if err != nil || q.CPUFractions != nil || !slices.Equal(q.Protocols, []string{"ws"}) {
		t.Errorf("given rates: %+v, %v", q, err)
	}
}

func TestCapacityRefusesBadSettingsByName(t *testing.T) {
	t.Parallel()
	for field, o := range map[string]loadbench.CapacityOptions{
		"cpu budget":      {CPUBudget: 1.5},
		"capacity budget": {CapacityBudget: -0.1},
		"repeats":         {Repeats: 1},
		"cpu rates":       {CPURates: []float64{100, -1}},
		"protocol":        {Protocols: []loadbench.Protocol{loadbench.HTTP, loadbench.HTTP}},
		"slo":             {SLO: -time.Second},
		"users":           {Users: -3},
	} {
		_, err := loadbench.Capacity(context.Background(), "http://127.0.0.1:1", "http://127.0.0.1:2", o)
		var fe *loadbench.FieldError
		if !errors.As(err, &fe) || fe.Field != field || !errors.Is(err, loadbench.ErrUsage) {
			t.Errorf("%s: %v; want a usage error about %q", field, err, field)
		}
	}
	if _, err := loadbench.Capacity(context.Background(), "", "http://127.0.0.1:2", loadbench.CapacityOptions{}); err == nil || !strings.Contains(err.Error(), "url") {
		t.Errorf("no baseline url: %v", err)
	}
}
