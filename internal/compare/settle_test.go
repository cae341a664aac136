package compare

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/loadbench/loadbench/results"
)

// A reading after a segment whose factories_live is back at the reading
// before it counts at once; one that is not waits until it is stable.
func TestSettledMemoryBackAtBefore(t *testing.T) {
	t.Parallel()
	var calls atomic.Int64
	mux := http.NewServeMux()
	mux.HandleFunc("GET /metrics", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, metricsText) })
	mux.HandleFunc("POST /debug/gc", func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		fmt.Fprint(w, `{"heap_live_bytes": 1000, "factories_live": 1}`)
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	ctx := context.Background()
	c := &comparer{client: srv.Client()}
	p := discover(ctx, srv.Client(), srv.URL, "/metrics", "/debug/gc")
	for _, tc := range []struct {
		before    float64
		minCalls  int64
		maxCalls  int64
		explained string
	}{
		{1, 1, 1, "back at before's count: one reading"},
		{0, 1 + int64(DefaultFactorySettle/FactoryPoll), 100, "above before's count: polled until stable"},
	} {
		calls.Store(0)
		snap, err := c.settledMemory(ctx, &target{probe: p}, results.Snapshot{FactoriesLive: tc.before})
		if err != nil {
			t.Fatal(err)
		}
		if n := calls.Load(); n < tc.minCalls || n > tc.maxCalls || snap.FactoriesLive != 1 {
			t.Errorf("before %v: %d readings, factories %v; want %d to %d (%s)", tc.before, n, snap.FactoriesLive, tc.minCalls, tc.maxCalls, tc.explained)
		}
	}
}
