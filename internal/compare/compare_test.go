package compare

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/loadbench/loadbench/internal/usage"
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
`

func TestParseMetrics(t *testing.T) {
	t.Parallel()
	r, err := parseMetrics(strings.NewReader(metricsText))
	if err != nil {
		t.Fatal(err)
	}
	want := reading{HeapAlloc: 1234567, HeapInuse: 2e6, RSS: 3.3e7, FactoriesLive: 3, AgentInstances: 1200}
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

// writeScript writes an executable shell script standing in for loadbench.
func writeScript(t *testing.T, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "fake-loadbench")
	if err := os.WriteFile(path, []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestStartChild(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	t.Run("usage error", func(t *testing.T) {
		exe := writeScript(t, `echo "loadbench: serve: unknown flag --bogus" >&2; exit 2`)
		_, err := startChild(ctx, "candidate", exe, "perrequest", []string{"--bogus"}, filepath.Join(dir, "a.log"))
		if !errors.Is(err, ErrChildUsage) || !strings.Contains(err.Error(), "unknown flag --bogus") {
			t.Errorf("err = %v, want a usage error quoting the child", err)
		}
	})
	t.Run("crash", func(t *testing.T) {
		exe := writeScript(t, `echo boom >&2; exit 1`)
		_, err := startChild(ctx, "baseline", exe, "baseline", nil, filepath.Join(dir, "b.log"))
		if err == nil || errors.Is(err, ErrChildUsage) || !strings.Contains(err.Error(), "boom") {
			t.Errorf("err = %v, want exited before listening: boom", err)
		}
	})
	t.Run("listens and stops on SIGTERM", func(t *testing.T) {
		exe := writeScript(t, `echo "args: $*" >&2; echo "listening on http://127.0.0.1:5"; trap 'exit 0' TERM; while :; do sleep 0.05; done`)
		c, err := startChild(ctx, "baseline", exe, "baseline", []string{"--think", "1ms"}, filepath.Join(dir, "c.log"))
		if err != nil {
			t.Fatal(err)
		}
		if c.url != "http://127.0.0.1:5" {
			t.Errorf("url %q", c.url)
		}
		if dead, _ := c.exited(); dead {
			t.Fatal("child reported exited while running")
		}
		c.stop()
		if dead, _ := c.exited(); !dead {
			t.Error("child still running after stop")
		}
		log, _ := os.ReadFile(filepath.Join(dir, "c.log"))
		if !strings.Contains(string(log), "args: serve --impl baseline --addr 127.0.0.1:0 --debug-gc --think 1ms") {
			t.Errorf("child log %q, want the serve command line", log)
		}
	})
}

func TestConfigValidation(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		mod  func(*Config)
		want string
	}{
		{"one url", func(c *Config) { c.BaselineURL = "http://127.0.0.1:1" }, "give both"},
		{"args with urls", func(c *Config) {
			c.BaselineURL, c.CandidateURL, c.CandidateArgs = "http://127.0.0.1:1", "http://127.0.0.1:2", []string{"--leak", "1"}
		}, "built-in targets only"},
		{"one round", func(c *Config) { c.Rounds = 1 }, "at least 2"},
		{"no load", func(c *Config) { c.HTTPRate, c.WSRate = 0, 0 }, "nothing to measure"},
		{"bad impl", func(c *Config) { c.CandidateImpl = "x" }, "baseline, perrequest or partial"},
		{"bad url", func(c *Config) { c.BaselineURL, c.CandidateURL = "ftp://a", "ftp://b" }, "compare"},
		{"short rounds", func(c *Config) { c.Rounds, c.RoundDuration = 2, -time.Second }, "round duration must be positive"},
		{"negative settle", func(c *Config) { c.Rounds, c.Settle = 2, -time.Second }, "settle must not be negative"},
		{"negative users", func(c *Config) { c.Users = -1 }, "users must be positive"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := Config{HTTPRate: 1, WSRate: 1, Out: t.TempDir(), Executable: "/bin/true"}
			tc.mod(&c)
			_, err := Run(context.Background(), c)
			if !errors.Is(err, usage.ErrUsage) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want a usage error containing %q", err, tc.want)
			}
			if err != nil && strings.Contains(err.Error(), "--") {
				t.Errorf("err = %v names a CLI flag; the engine speaks of its configuration", err)
			}
		})
	}
}
