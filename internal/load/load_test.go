package load

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/loadbench/loadbench/internal/usage"
	"github.com/loadbench/loadbench/results"
	vegeta "github.com/tsenart/vegeta/v12/lib"
)

func TestCleanRunBothProtocols(t *testing.T) {
	f := newFake()
	srv := startFake(t, f)
	vf := filepath.Join(t.TempDir(), "http.vegeta.bin")
	var progress []Progress
	a := mustAttack(t, srv.URL, WithHTTPRate(100), WithWSRate(100), WithDuration(time.Second), WithUsers(10),
		WithVegetaFile(vf), WithProgress(func(p Progress) { progress = append(progress, p) }))
	seg := runAttack(t, a)
	if seg.Manifest.Kind != "attack" || seg.Manifest.Partial || seg.Manifest.End.Before(seg.Manifest.Start) {
		t.Errorf("manifest = %+v", seg.Manifest)
	}
	if seg.Manifest.Targets["http"] != srv.URL+DefaultHTTPPath || seg.Manifest.Targets["ws"] != "ws"+strings.TrimPrefix(srv.URL, "http")+DefaultWSPath {
		t.Errorf("targets = %v", seg.Manifest.Targets)
	}
	for _, name := range []string{results.HTTP, results.WS} {
		p := seg.Protocols[name]
		if p == nil {
			t.Fatalf("no %s protocol", name)
		}
		if p.Requests != 100 || p.Success != 100 || p.ErrorCount() != 0 {
			t.Errorf("%s: requests %d success %d errors %v, want 100/100/none", name, p.Requests, p.Success, p.Errors)
		}
		if p.Latency.Count() != 100 {
			t.Errorf("%s: latency count %d", name, p.Latency.Count())
		}
		var sum int64
		for _, s := range seg.Timeline[name] {
			sum += s.Requests
		}
		if sum != 100 {
			t.Errorf("%s: timeline sums to %d requests", name, sum)
		}
	}
	ws := seg.Protocols[results.WS]
	if ws.Connections != 10 || ws.Redials != 0 || ws.Connect.Count() != 10 || ws.FirstEvent.Count() != 100 {
		t.Errorf("ws: connections %d redials %d connect %d first %d", ws.Connections, ws.Redials, ws.Connect.Count(), ws.FirstEvent.Count())
	}
	iso := seg.Isolation
	if iso.Checked != 100+5*100 || iso.Violations != 0 || iso.DistinctFactoryIDs != 200 {
		t.Errorf("isolation = checked %d violations %d factories %d, want 600/0/200", iso.Checked, iso.Violations, iso.DistinctFactoryIDs)
	}
	if len(progress) == 0 || progress[len(progress)-1].Sent != 200 || progress[len(progress)-1].Done != 200 {
		t.Errorf("progress = %+v", progress)
	}
	// The vegeta file holds every HTTP result, readable by vegeta's decoder.
	fh, err := os.Open(vf)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	dec := vegeta.NewDecoder(fh)
	var m vegeta.Metrics
	for {
		var r vegeta.Result
		if err := dec.Decode(&r); err != nil {
			break
		}
		m.Add(&r)
	}
	m.Close()
	if m.Requests != 100 || m.Success != 1 {
		t.Errorf("vegeta file: %d requests, success %v", m.Requests, m.Success)
	}
}

// stallCheck asserts the latency shape of a target that freezes 200 ms at
// the start of every second: 20% of chats wait 0..200 ms, so p90 ≈ 100 ms
// and p99 ≈ 190 ms (a closed-loop generator would report p90 under 1 ms).
func stallCheck(t *testing.T, name string, p *results.Protocol) {
	t.Helper()
	stallCheckServed(t, name, p, 0)
}

// stallCheckServed is stallCheck for a target that adds its own service
// time (up to served) to every chat: the upper bounds move by it.
func stallCheckServed(t *testing.T, name string, p *results.Protocol, served time.Duration) {
	t.Helper()
	p90, p99 := p.Latency.Quantile(0.90), p.Latency.Quantile(0.99)
	t.Logf("%s: %d requests, p50 %s p90 %s p99 %s", name, p.Requests, p.Latency.Quantile(0.5), p90, p99)
	if p.ErrorCount() != 0 {
		t.Errorf("%s: errors %v", name, p.Errors)
	}
	if p90 < 75*time.Millisecond || p90 > 140*time.Millisecond+served {
		t.Errorf("%s: p90 = %s, want near 100ms", name, p90)
	}
	if p99 < 165*time.Millisecond || p99 > 250*time.Millisecond+served {
		t.Errorf("%s: p99 = %s, want near 190ms", name, p99)
	}
}

func TestStallShowsInLatency(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end: stalled chats for ~8 s; run without -short")
	}
	for _, proto := range []string{results.HTTP, results.WS} {
		t.Run(proto, func(t *testing.T) {
			f := newFake()
			f.stall = 200 * time.Millisecond
			srv := startFake(t, f)
			rate := 500.0
			if raceEnabled {
				rate = 150
			}
			opts := []Option{WithDuration(4 * time.Second), WithUsers(50), WithHTTPRate(0), WithWSRate(0)}
			if proto == results.HTTP {
				opts = append(opts, WithHTTPRate(rate))
			} else {
				opts = append(opts, WithWSRate(rate))
			}
			seg := runAttack(t, mustAttack(t, srv.URL, opts...))
			stallCheck(t, proto, seg.Protocols[proto])
		})
	}
}

func TestLeakyTargetIsolationViolations(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end: 2 s of load on a leaky target; run without -short")
	}
	for _, proto := range []string{results.HTTP, results.WS} {
		t.Run(proto, func(t *testing.T) {
			f := newFake()
			f.leaky = true
			f.factory = "the_singleton"
			srv := startFake(t, f)
			opts := []Option{WithDuration(time.Second), WithUsers(5), WithHTTPRate(0), WithWSRate(0)}
			if proto == results.HTTP {
				opts = append(opts, WithHTTPRate(50))
			} else {
				opts = append(opts, WithWSRate(50))
			}
			seg := runAttack(t, mustAttack(t, srv.URL, opts...))
			iso := seg.Isolation
			if iso.Violations == 0 || len(iso.Examples) == 0 {
				t.Fatalf("no violations found: %+v", iso)
			}
			ex := iso.Examples[0]
			if ex.Protocol != proto || !strings.HasPrefix(ex.UserID, "lb_user_") ||
				!strings.Contains(ex.Reason, "foreign secret of lb_user_") || !strings.Contains(ex.Reason, "agent_thinking") {
				t.Errorf("example = %+v", ex)
			}
			if strings.Contains(ex.Reason, ex.UserID) {
				t.Errorf("example blames the asking user itself: %+v", ex)
			}
			if iso.DistinctFactoryIDs != 1 || iso.FactoryIDs[0] != "the_singleton" {
				t.Errorf("factories = %d %v", iso.DistinctFactoryIDs, iso.FactoryIDs)
			}
			// Leaks are violations, not protocol errors.
			if p := seg.Protocols[proto]; p.ErrorCount() != 0 {
				t.Errorf("errors = %v", p.Errors)
			}
		})
	}
}

func TestFiveEventChecks(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end: ~6 s of malformed WebSocket answers; run without -short")
	}
	cases := []struct {
		name      string
		mutate    func(n int64, evs []event) []event
		http, ws  string // the expected error reason (without the protocol prefix)
		violation bool
	}{
		{"missing event", func(_ int64, evs []event) []event { return append(evs[:2:2], evs[3:]...) },
			"event 3 is tool_completed, want tool_executing", "event 3 is tool_completed, want tool_executing", false},
		{"reordered", func(_ int64, evs []event) []event { evs[1], evs[2] = evs[2], evs[1]; return evs },
			"event 2 is tool_executing, want agent_thinking", "event 2 is tool_executing, want agent_thinking", false},
		{"foreign ids", func(_ int64, evs []event) []event { evs[3].UserID = "lb_user_99999"; return evs },
			"event 4 (tool_completed) has foreign ids", "foreign event", true},
		{"no agent_completed", func(_ int64, evs []event) []event { return evs[:4] },
			"4 events, want 5", "missing agent_completed", false},
		{"bad timestamp", func(_ int64, evs []event) []event { evs[0].Timestamp = "yesterday"; return evs },
			"event 1 has a bad timestamp", "event 1 has a bad timestamp", false},
	}
	for _, c := range cases {
		for _, proto := range []string{results.HTTP, results.WS} {
			t.Run(c.name+"/"+proto, func(t *testing.T) {
				f := newFake()
				f.mutate = c.mutate
				srv := startFake(t, f)
				opts := []Option{WithDuration(500 * time.Millisecond), WithUsers(2), WithHTTPRate(0), WithWSRate(0), WithTimeout(time.Second)}
				want := "http: " + c.http
				if proto == results.HTTP {
					opts = append(opts, WithHTTPRate(20))
				} else {
					opts = append(opts, WithWSRate(20))
					want = "ws: " + c.ws
				}
				seg := runAttack(t, mustAttack(t, srv.URL, opts...))
				p := seg.Protocols[proto]
				if p.Requests != 10 || p.Errors[want] == 0 || p.Success != 0 {
					t.Errorf("requests %d success %d errors %v, want all failing with %q", p.Requests, p.Success, p.Errors, want)
				}
				if got := seg.Isolation.Violations > 0; got != c.violation {
					t.Errorf("violations = %d, want some: %v", seg.Isolation.Violations, c.violation)
				}
			})
		}
	}
}

func TestDroppedConnectionsAreRedialled(t *testing.T) {
	f := newFake()
	f.dropWS.Store(3)
	srv := startFake(t, f)
	seg := runAttack(t, mustAttack(t, srv.URL, WithHTTPRate(0), WithWSRate(20), WithUsers(2), WithDuration(time.Second)))
	p := seg.Protocols[results.WS]
	if p.Redials != 3 || p.Connections != 5 {
		t.Errorf("connections %d redials %d, want 5 and 3", p.Connections, p.Redials)
	}
	if p.Requests != 20 {
		t.Errorf("requests = %d, want 20", p.Requests)
	}
	// A drop right after an answer loses no chat; at most the in-flight ones.
	if p.Success+p.Errors["ws: connection dropped"] != 20 {
		t.Errorf("success %d errors %v", p.Success, p.Errors)
	}
}

func TestThroughputModeBoundedByMaxRequests(t *testing.T) {
	f := newFake()
	srv := startFake(t, f)
	seg := runAttack(t, mustAttack(t, srv.URL, WithHTTPRate(Max), WithWSRate(Max), WithWorkers(4), WithUsers(4),
		WithMaxRequests(300), WithDuration(20*time.Second)))
	total := seg.Protocols[results.HTTP].Requests + seg.Protocols[results.WS].Requests
	if total != 300 {
		t.Errorf("requests = %d, want 300", total)
	}
	for name, p := range seg.Protocols {
		if p.ErrorCount() != 0 || p.Requests == 0 {
			t.Errorf("%s: requests %d errors %v", name, p.Requests, p.Errors)
		}
	}
	if d := seg.Manifest.End.Sub(seg.Manifest.Start); d > 15*time.Second {
		t.Errorf("took %s: max requests did not end the attack", d)
	}
}

func TestThroughputModeBoundedByDuration(t *testing.T) {
	f := newFake()
	srv := startFake(t, f)
	start := time.Now()
	seg := runAttack(t, mustAttack(t, srv.URL, WithHTTPRate(Max), WithWSRate(Max), WithWorkers(2), WithUsers(2), WithDuration(500*time.Millisecond)))
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("took %s", d)
	}
	for name, p := range seg.Protocols {
		if p.Requests == 0 || p.ErrorCount() != 0 {
			t.Errorf("%s: requests %d errors %v", name, p.Requests, p.Errors)
		}
	}
}

func TestBadInput(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, url string
		opts      []Option
		want      string
	}{
		{"malformed url", "http//nohost", nil, "malformed target url"},
		{"ftp url", "ftp://127.0.0.1:80", nil, "malformed target url"},
		{"no host", "http://", nil, "malformed target url"},
		{"bad port", "http://127.0.0.1:99999", nil, "bad port"},
		{"query", "http://127.0.0.1:8080/?x=1", nil, "no query"},
		{"zero duration", "http://127.0.0.1:8080", []Option{WithDuration(0)}, "duration must be positive"},
		{"negative duration", "http://127.0.0.1:8080", []Option{WithDuration(-time.Second)}, "duration must be positive"},
		{"negative http rate", "http://127.0.0.1:8080", []Option{WithHTTPRate(-2)}, "http rate must be"},
		{"negative ws rate", "http://127.0.0.1:8080", []Option{WithWSRate(-0.5)}, "ws rate must be"},
		{"both zero", "http://127.0.0.1:8080", []Option{WithHTTPRate(0), WithWSRate(0)}, "nothing to send"},
		{"no users", "http://127.0.0.1:8080", []Option{WithUsers(0)}, "users must be"},
		{"no workers", "http://127.0.0.1:8080", []Option{WithWorkers(0)}, "workers must be"},
		{"zero timeout", "http://127.0.0.1:8080", []Option{WithTimeout(0)}, "timeout must be"},
		{"negative max", "http://127.0.0.1:8080", []Option{WithMaxRequests(-1)}, "max requests"},
		{"bad path", "http://127.0.0.1:8080", []Option{WithHTTPPath("api")}, "http path must"},
		{"bad prefix", "http://127.0.0.1:8080", []Option{WithUserPrefix("u 1")}, "user prefix"},
		{"zero in flight", "http://127.0.0.1:8080", []Option{WithMaxInFlight(0)}, "max in flight must be positive"},
		{"negative send lag", "http://127.0.0.1:8080", []Option{WithMaxSendLag(-time.Millisecond)}, "max send lag must not be negative"},
		{"negative event gap", "http://127.0.0.1:8080", []Option{WithMaxEventGap(-time.Millisecond)}, "max event gap must not be negative"},
		{"negative redial limit", "http://127.0.0.1:8080", []Option{WithRedialWithin(-time.Second)}, "redial limit must not be negative"},
		{"ws users over in flight", "http://127.0.0.1:8080", []Option{WithWSRate(Max), WithUsers(10), WithMaxInFlight(5)}, "10 users in throughput mode exceed"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := NewAttacker(c.url, c.opts...)
			if err == nil || !errors.Is(err, usage.ErrUsage) || !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), "attack: ") {
				t.Errorf("err = %v, want ErrUsage containing %q", err, c.want)
			}
		})
	}
	if a, err := NewAttacker("https://example.com/base/"); err != nil || a.WSURL() != "wss://example.com/base/api/demo/ws" || a.HTTPURL() != "https://example.com/base/api/agents/run" {
		t.Errorf("https base: %v %v", a, err)
	}
}

func TestUnreachable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	start := time.Now()
	seg, err := mustAttack(t, "http://"+addr).Attack(context.Background())
	if !errors.Is(err, ErrUnreachable) || !strings.Contains(err.Error(), addr) || seg != nil {
		t.Errorf("err = %v, seg = %v; want ErrUnreachable naming %s", err, seg, addr)
	}
	if d := time.Since(start); d > 6*time.Second {
		t.Errorf("took %s, want under 5s", d)
	}
}

func TestCancelReturnsPartialResults(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end: ~2 s of stalled load cut short; run without -short")
	}
	f := newFake()
	f.stall = 900 * time.Millisecond // most chats are stuck when we cancel
	srv := startFake(t, f)
	a := mustAttack(t, srv.URL, WithHTTPRate(100), WithWSRate(100), WithUsers(10), WithDuration(time.Minute))
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(1500*time.Millisecond, cancel)
	start := time.Now()
	seg, err := a.Attack(ctx)
	took := time.Since(start)
	if !errors.Is(err, context.Canceled) || seg == nil || !seg.Manifest.Partial {
		t.Fatalf("err = %v, partial = %v", err, seg != nil && seg.Manifest.Partial)
	}
	if took > 1500*time.Millisecond+CancelGrace+2*time.Second {
		t.Errorf("took %s after a cancel at 1.5s", took)
	}
	for name, p := range seg.Protocols {
		if p.Requests < 50 || p.Requests > 400 {
			t.Errorf("%s: %d requests in a 1.5 s run at 100/s", name, p.Requests)
		}
		if p.Success+p.ErrorCount() != p.Requests {
			t.Errorf("%s: success %d + errors %v != requests %d", name, p.Success, p.Errors, p.Requests)
		}
	}
	// The partial segment is written and read back like any other.
	dir := t.TempDir()
	if err := results.WriteSegment(dir, seg); err != nil {
		t.Fatal(err)
	}
	back, err := results.ReadSegment(dir)
	if err != nil || !back.Manifest.Partial {
		t.Fatalf("read back: %v", err)
	}
}

func TestResultsRoundTripAndMerge(t *testing.T) {
	f := newFake()
	srv := startFake(t, f)
	seg := runAttack(t, mustAttack(t, srv.URL, WithHTTPRate(50), WithWSRate(50), WithUsers(5), WithDuration(time.Second)))
	dir := t.TempDir()
	if err := results.WriteSegment(dir, seg); err != nil {
		t.Fatal(err)
	}
	back, err := results.ReadSegment(dir)
	if err != nil {
		t.Fatal(err)
	}
	var a, b bytes.Buffer
	if err := JSONReport(seg)(&a); err != nil {
		t.Fatal(err)
	}
	if err := JSONReport(back)(&b); err != nil {
		t.Fatal(err)
	}
	if a.String() != b.String() {
		t.Errorf("report changed in the round trip:\n%s\n---\n%s", a.String(), b.String())
	}
	merged := *back
	merged.Protocols = map[string]*results.Protocol{}
	merged.Timeline = results.Timeline{}
	merged.Isolation = results.Isolation{}
	merged.Merge(back)
	merged.Merge(seg)
	for name, p := range merged.Protocols {
		if p.Requests != 2*seg.Protocols[name].Requests || p.Latency.Count() != 2*seg.Protocols[name].Latency.Count() {
			t.Errorf("%s: merged requests %d latency count %d", name, p.Requests, p.Latency.Count())
		}
		if p.Latency.Quantile(0.99) != seg.Protocols[name].Latency.Quantile(0.99) {
			t.Errorf("%s: merging a segment with itself changed p99", name)
		}
	}
	if merged.Isolation.Checked != 2*seg.Isolation.Checked || merged.Isolation.DistinctFactoryIDs != seg.Isolation.DistinctFactoryIDs {
		t.Errorf("merged isolation = %+v", merged.Isolation)
	}
	// A damaged file is an error naming it.
	if err := os.WriteFile(filepath.Join(dir, results.ProtocolsFile), []byte("{\"protocols\": {"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := results.ReadSegment(dir); err == nil || !strings.Contains(err.Error(), results.ProtocolsFile) {
		t.Errorf("damaged read err = %v", err)
	}
}

func TestReports(t *testing.T) {
	f := newFake()
	f.leaky = true
	srv := startFake(t, f)
	seg := runAttack(t, mustAttack(t, srv.URL, WithHTTPRate(20), WithWSRate(20), WithUsers(3), WithDuration(500*time.Millisecond)))
	var text bytes.Buffer
	if err := TextReport(seg)(&text); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"HTTP", "WS", "Requests", "[total, rate, throughput]", "Latencies", "99.9", "First event", "Connect", "Success", "Isolation", "foreign secret of lb_user_"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("text report lacks %q:\n%s", want, text.String())
		}
	}
	var js bytes.Buffer
	if err := JSONReport(seg)(&js); err != nil {
		t.Fatal(err)
	}
	var m map[string]map[string]any
	if err := json.Unmarshal(js.Bytes(), &m); err != nil {
		t.Fatal(err)
	}
	for _, proto := range []string{"http", "ws"} {
		p, _ := m["protocols"][proto].(map[string]any)
		for _, k := range []string{"requests", "rate", "throughput", "success", "errors", "latency_ms"} {
			if _, ok := p[k]; !ok {
				t.Errorf("json %s lacks %q: %s", proto, k, js.String())
			}
		}
		lat, _ := p["latency_ms"].(map[string]any)
		for _, k := range []string{"min", "mean", "p50", "p90", "p95", "p99", "p999", "max"} {
			if _, ok := lat[k]; !ok {
				t.Errorf("json %s latency lacks %q", proto, k)
			}
		}
	}
	ws, _ := m["protocols"]["ws"].(map[string]any)
	if ws["connect_ms"] == nil || ws["first_event_ms"] == nil {
		t.Errorf("json ws lacks connect_ms/first_event_ms")
	}
	for _, k := range []string{"checked", "violations", "distinct_factory_ids"} {
		if _, ok := m["isolation"][k]; !ok {
			t.Errorf("json isolation lacks %q", k)
		}
	}
	if m["isolation"]["violations"].(float64) == 0 {
		t.Errorf("leaky target: no violations in json")
	}
}
