package compare

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/loadbench/loadbench/internal/procid"
)

const metricsText = `# HELP go_memstats_heap_alloc_bytes Number of heap bytes allocated and currently in use.
# TYPE go_memstats_heap_alloc_bytes gauge
go_memstats_heap_alloc_bytes 1.234567e+06
# TYPE go_memstats_heap_inuse_bytes gauge
go_memstats_heap_inuse_bytes 2e+06
# TYPE process_resident_memory_bytes gauge
process_resident_memory_bytes 3.3e+07
# TYPE loadbench_factories_live gauge
loadbench_factories_live 3
# TYPE loadbench_agent_instances_retained gauge
loadbench_agent_instances_retained 1200
# TYPE loadbench_requests_total counter
loadbench_requests_total{code="200",route="/api/agents/run"} 10
# TYPE loadbench_process_info gauge
loadbench_process_info{token="0123456789abcdef"} 1
`

func TestParseMetrics(t *testing.T) {
	t.Parallel()
	r, err := parseMetrics(strings.NewReader(metricsText))
	if err != nil {
		t.Fatal(err)
	}
	want := reading{HeapAlloc: 1234567, HeapInuse: 2e6, RSS: 3.3e7, FactoriesLive: 3, AgentInstances: 1200, Process: "0123456789abcdef"}
	if r != want {
		t.Errorf("got %+v, want %+v", r, want)
	}
	r, err = parseMetrics(strings.NewReader("# TYPE go_memstats_heap_alloc_bytes gauge\ngo_memstats_heap_alloc_bytes 5\n"))
	if err != nil || r.HeapAlloc != 5 || r.FactoriesLive != -1 || r.AgentInstances != -1 {
		t.Errorf("a target without loadbench metrics: %+v, %v; want -1 for what it does not report", r, err)
	}
	if _, err := parseMetrics(strings.NewReader("this is { not prometheus")); err == nil {
		t.Error("garbage parsed without error")
	}
}

func TestDiscoverAndMemoryReadings(t *testing.T) {
	gcCalls := 0
	mux := http.NewServeMux()
	mux.HandleFunc("GET /metrics", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, metricsText) })
	mux.HandleFunc("POST /debug/gc", func(w http.ResponseWriter, r *http.Request) {
		gcCalls++
		fmt.Fprint(w, `{"heap_live_bytes": 4096, "factories_live": 0}`)
	})
	full := httptest.NewServer(mux)
	defer full.Close()
	bare := httptest.NewServer(http.NotFoundHandler()) // a staging deployment hiding both routes
	defer bare.Close()
	ctx := context.Background()

	c := &comparer{client: full.Client()}
	p := discover(ctx, full.Client(), full.URL+"/", "/metrics", "/debug/gc")
	if p.metrics != full.URL+"/metrics" || p.gc != full.URL+"/debug/gc" {
		t.Fatalf("discover found metrics %q gc %q", p.metrics, p.gc)
	}
	snap, err := c.memory(ctx, &target{probe: p})
	if err != nil {
		t.Fatal(err)
	}
	if !snap.Forced || snap.HeapLiveBytes != 4096 || snap.FactoriesLive != 0 || snap.AgentInstancesRetained != 1200 || snap.RSSBytes != 3.3e7 {
		t.Errorf("forced snapshot %+v", snap)
	}
	if gcCalls != 2 {
		t.Errorf("gc called %d times, want 2 (discovery and the reading)", gcCalls)
	}

	p = discover(ctx, bare.Client(), bare.URL, "/metrics", "/debug/gc")
	if p.metrics != "" || p.gc != "" {
		t.Fatalf("discover on a bare target found metrics %q gc %q", p.metrics, p.gc)
	}
	snap, err = c.memory(ctx, &target{probe: p})
	if err != nil || snap.Forced || snap.HeapLiveBytes != -1 {
		t.Errorf("bare snapshot %+v, %v; want unforced, unreported", snap, err)
	}

	// Metrics but no forced GC: the heap is read from /metrics as it stands.
	p = discover(ctx, full.Client(), full.URL, "/metrics", "")
	snap, err = c.memory(ctx, &target{probe: p})
	if err != nil || snap.Forced || snap.HeapLiveBytes != 1234567 || snap.FactoriesLive != 3 {
		t.Errorf("unforced snapshot %+v, %v", snap, err)
	}
	if snap.SharedHeap {
		t.Errorf("a target of another process (token %q) read as sharing this one's heap", "0123456789abcdef")
	}

	// A target served by this very process says so with its token.
	same := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `{"heap_live_bytes": 1, "factories_live": 0, "process": %q}`, procid.Token())
	}))
	defer same.Close()
	p = discover(ctx, same.Client(), same.URL, "", "/debug/gc")
	if snap, err = c.memory(ctx, &target{probe: p}); err != nil || !snap.SharedHeap {
		t.Errorf("in-process target: snapshot %+v, %v; want the shared heap marked", snap, err)
	}
}

func TestSamplerRecordsPhases(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, metricsText) }))
	defer srv.Close()
	s := newSampler(&probe{client: srv.Client(), metrics: srv.URL}, PhaseLoad)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.run(ctx, time.Millisecond); close(done) }()
	waitFor(t, func() bool { return len(s.samples()) >= 2 })
	s.setPhase(PhaseSettle)
	n := len(s.samples())
	waitFor(t, func() bool { return len(s.samples()) > n+1 })
	cancel()
	<-done
	got := s.samples()
	if got[0].Phase != PhaseLoad || got[len(got)-1].Phase != PhaseSettle {
		t.Errorf("phases %q … %q, want load … settle", got[0].Phase, got[len(got)-1].Phase)
	}
	if got[0].AgentInstancesRetained != 1200 || got[0].HeapLiveBytes != 1234567 {
		t.Errorf("sample %+v", got[0])
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached in 10s")
		}
		time.Sleep(time.Millisecond)
	}
}
