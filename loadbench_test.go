package loadbench_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/loadbench/loadbench"
	"github.com/loadbench/loadbench/results"
	"github.com/loadbench/loadbench/targets"
	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// startTarget serves the built-in build impl in this process on a loopback
// port until the test ends.
func startTarget(t testing.TB, impl string) *targets.Started {
	t.Helper()
	tg, err := targets.Start(impl)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := tg.Close(); err != nil {
			t.Errorf("close %s: %v", impl, err)
		}
	})
	return tg
}

func TestStrings(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		v    interface{ String() string }
		want string
	}{
		{loadbench.HTTP, "http"}, {loadbench.WebSocket, "ws"}, {loadbench.Protocol(9), "Protocol(9)"},
		{loadbench.Pass, "pass"}, {loadbench.Fail, "fail"}, {loadbench.Inconclusive, "inconclusive"},
		{loadbench.Verdict(0), "Verdict(0)"},
		{loadbench.Poisson, "poisson"}, {loadbench.Constant, "constant"}, {loadbench.Arrivals(7), "Arrivals(7)"},
		{loadbench.Arrivals(-1), "Arrivals(-1)"},
		{loadbench.PerSecond(200), "200/s"}, {loadbench.PerSecond(0.5), "0.5/s"},
		{loadbench.Max(), "max"}, {loadbench.Off(), "off"}, {loadbench.Rate{}, "default"},
		{loadbench.PhaseStart, "start"}, {loadbench.PhaseWarmup, "warmup"}, {loadbench.PhaseBefore, "before"},
		{loadbench.PhaseLoad, "load"}, {loadbench.PhaseSettle, "settle"}, {loadbench.PhaseAfter, "after"},
		{loadbench.Phase(0), "Phase(0)"},
	} {
		if got := c.v.String(); got != c.want {
			t.Errorf("%#v.String() = %q, want %q", c.v, got, c.want)
		}
	}
	if !(loadbench.Rate{}).IsZero() || loadbench.Off().IsZero() || loadbench.Max().IsZero() || loadbench.PerSecond(1).IsZero() {
		t.Error("IsZero: only the zero Rate is zero")
	}
}

// TestAttack attacks every built-in build over both protocols. Only the
// per-request build must answer every chat: the legacy singleton (and the
// partial migration's WebSocket route) misroute chats that overlap, which
// the engine counts as failed chats and isolation violations.
func TestAttack(t *testing.T) {
	for _, b := range targets.Impls() {
		t.Run("build="+b, func(t *testing.T) {
			tg := startTarget(t, b)
			res, err := loadbench.Attack(context.Background(), tg.URL, loadbench.Options{
				HTTPRate: loadbench.PerSecond(200), WSRate: loadbench.PerSecond(200), Users: 20, Duration: 300 * time.Millisecond,
			})
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Protocols) != 2 || res.Protocols[0].Protocol != loadbench.HTTP || res.Protocols[1].Protocol != loadbench.WebSocket {
				t.Fatalf("protocols %+v, want http then ws", res.Protocols)
			}
			for _, p := range res.Protocols {
				if p.Chats < 30 || p.Answered+p.Errors != p.Chats || (b == targets.ImplPerRequest && p.Errors != 0) {
					t.Errorf("%s: %d chats, %d answered, %d errors %v", p.Protocol, p.Chats, p.Answered, p.Errors, p.ErrorClasses)
				}
				if !(0 < p.P50 && p.P50 <= p.P95 && p.P95 <= p.P99 && p.P99 <= p.Max) {
					t.Errorf("%s: percentiles out of order: %s %s %s %s", p.Protocol, p.P50, p.P95, p.P99, p.Max)
				}
				if got := p.Latency(99); got != p.P99 {
					t.Errorf("%s: Latency(99) = %s, P99 = %s", p.Protocol, got, p.P99)
				}
				seg := res.Segment.Protocols[p.Protocol.String()]
				if seg == nil || seg.Requests != p.Chats {
					t.Errorf("%s: segment does not match the result", p.Protocol)
				}
			}
			if res.Chats() != res.Protocols[0].Chats+res.Protocols[1].Chats || (b == targets.ImplPerRequest && res.Errors() != 0) {
				t.Errorf("Chats() %d, Errors() %d", res.Chats(), res.Errors())
			}
			if res.Isolation.Checked == 0 {
				t.Error("nothing checked for isolation")
			}
			if b == targets.ImplPerRequest && res.Isolation.Violations != 0 {
				t.Errorf("per-request build: %d isolation violations: %v", res.Isolation.Violations, res.Isolation.Examples)
			}
			if res.Partial || res.Elapsed < 300*time.Millisecond {
				t.Errorf("partial %t, elapsed %s", res.Partial, res.Elapsed)
			}
			if _, ok := res.Protocol(loadbench.WebSocket); !ok {
				t.Error("Protocol(WebSocket) missing")
			}
		})
	}
}

func TestAttackOneProtocolAndMaxRequests(t *testing.T) {
	tg := startTarget(t, targets.ImplPerRequest)
	var last loadbench.Progress
	calls := 0
	res, err := loadbench.Attack(context.Background(), tg.URL, loadbench.Options{
		WSRate: loadbench.PerSecond(500), Users: 5, MaxRequests: 40, Duration: 5 * time.Second,
		Progress: func(p loadbench.Progress) { last, calls = p, calls+1 },
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Protocols) != 1 || res.Protocols[0].Protocol != loadbench.WebSocket {
		t.Fatalf("protocols %+v, want ws only", res.Protocols)
	}
	if _, ok := res.Protocol(loadbench.HTTP); ok {
		t.Error("http attacked with only WSRate set")
	}
	if n := res.Chats(); n != 40 {
		t.Errorf("%d chats, want MaxRequests 40", n)
	}
	if res.Elapsed > 3*time.Second {
		t.Errorf("MaxRequests did not end the attack early: %s", res.Elapsed)
	}
	if calls == 0 || last.Sent != 40 || last.Done != 40 || last.Errors != 0 || last.Total != 5*time.Second {
		t.Errorf("%d progress calls, last %+v", calls, last)
	}
}

func TestAttackVegetaFile(t *testing.T) {
	tg := startTarget(t, targets.ImplPerRequest)
	path := filepath.Join(t.TempDir(), "results.bin")
	res, err := loadbench.Attack(context.Background(), tg.URL, loadbench.Options{
		HTTPRate: loadbench.PerSecond(200), WSRate: loadbench.Off(), MaxRequests: 20, VegetaFile: path,
	})
	if err != nil {
		t.Fatal(err)
	}
	fh, err := os.Open(path)
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
	if m.Requests != uint64(res.Chats()) || m.Requests != 20 || m.Success != 1 {
		t.Errorf("vegeta file: %d requests, success %v; attack sent %d", m.Requests, m.Success, res.Chats())
	}
}

// recorder is a MetricReporter that keeps what it is given.
type recorder map[string]float64

func (r recorder) ReportMetric(v float64, unit string) { r[unit] = v }

func TestReportMetrics(t *testing.T) {
	tg := startTarget(t, targets.ImplBaseline)
	res, err := loadbench.Attack(context.Background(), tg.URL, loadbench.Options{
		HTTPRate: loadbench.PerSecond(300), Duration: 200 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	got := recorder{}
	res.ReportMetrics(got)
	if len(got) != 5 || got["ns/op"] != 0 {
		t.Fatalf("metrics %v, want ns/op 0 and four more", got)
	}
	p, _ := res.Protocol(loadbench.HTTP)
	ms := func(d time.Duration) float64 { return float64(d) / 1e6 }
	for unit, want := range map[string]float64{
		loadbench.UnitP50: ms(p.P50), loadbench.UnitP95: ms(p.P95), loadbench.UnitP99: ms(p.P99),
		loadbench.UnitErrors: float64(p.Errors),
	} {
		if got[unit] != want {
			t.Errorf("%s = %v, want %v", unit, got[unit], want)
		}
	}
	if got[loadbench.UnitP50] <= 0 || got[loadbench.UnitP50] > got[loadbench.UnitP99] {
		t.Errorf("p50-ms %v, p99-ms %v", got[loadbench.UnitP50], got[loadbench.UnitP99])
	}
}

func TestAttackCanceled(t *testing.T) {
	tg := startTarget(t, targets.ImplPerRequest)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	res, err := loadbench.Attack(ctx, tg.URL, loadbench.Options{HTTPRate: loadbench.PerSecond(100), WSRate: loadbench.PerSecond(100), Users: 5, Duration: time.Minute})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err %v, want the context's", err)
	}
	if res == nil || !res.Partial || res.Chats() == 0 {
		t.Fatalf("want a partial result with chats, got %+v", res)
	}
}

func TestAttackUnreachable(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	_, err = loadbench.Attack(context.Background(), "http://"+addr, loadbench.Options{Duration: 100 * time.Millisecond})
	if !errors.Is(err, loadbench.ErrUnreachable) || errors.Is(err, loadbench.ErrUsage) {
		t.Fatalf("err %v, want ErrUnreachable and not ErrUsage", err)
	}
}

// checkUsage checks err wraps ErrUsage with an operation prefix and no CLI
// flag name.
func checkUsage(t *testing.T, name, op string, err error) {
	t.Helper()
	switch {
	case !errors.Is(err, loadbench.ErrUsage):
		t.Errorf("%s: err %v, want ErrUsage", name, err)
	case !strings.HasPrefix(err.Error(), op+": "):
		t.Errorf("%s: %q does not start with %q", name, err, op+": ")
	case strings.Contains(err.Error(), "--"):
		t.Errorf("%s: %q names a CLI flag", name, err)
	}
}

func TestAttackUsage(t *testing.T) {
	t.Parallel()
	good := "http://127.0.0.1:1"
	for _, c := range []struct {
		name, url string
		o         loadbench.Options
	}{
		{"scheme", "ftp://127.0.0.1:1", loadbench.Options{}},
		{"no host", "http://", loadbench.Options{}},
		{"query", good + "/?a=1", loadbench.Options{}},
		{"negative rate", good, loadbench.Options{HTTPRate: loadbench.PerSecond(-3)}},
		{"zero rate", good, loadbench.Options{WSRate: loadbench.PerSecond(0)}},
		{"both off", good, loadbench.Options{HTTPRate: loadbench.Off(), WSRate: loadbench.Off()}},
		{"negative users", good, loadbench.Options{Users: -1}},
		{"negative duration", good, loadbench.Options{Duration: -time.Second}},
		{"negative timeout", good, loadbench.Options{Timeout: -time.Second}},
		{"negative max", good, loadbench.Options{MaxRequests: -1}},
		{"bad path", good, loadbench.Options{HTTPPath: "run"}},
		{"bad prefix", good, loadbench.Options{UserPrefix: "user 1"}},
		{"negative in flight", good, loadbench.Options{MaxInFlight: -1}},
		{"workers over in flight", good, loadbench.Options{HTTPRate: loadbench.Max(), Workers: 8, MaxInFlight: 4}},
		{"bad subprotocol", good, loadbench.Options{Access: loadbench.Access{WSSubprotocol: "a b"}}},
		{"negative send lag", good, loadbench.Options{MaxSendLag: -time.Millisecond}},
		{"negative event gap", good, loadbench.Options{MaxEventGap: -time.Millisecond}},
		{"negative ws ping", good, loadbench.Options{Access: loadbench.Access{WSPing: -time.Second}}},
		{"bad arrivals", good, loadbench.Options{Arrivals: 7}},
		{"vegeta without http", good, loadbench.Options{WSRate: loadbench.PerSecond(5), VegetaFile: "v.bin"}},
	} {
		res, err := loadbench.Attack(context.Background(), c.url, c.o)
		if res != nil {
			t.Errorf("%s: a result for bad input", c.name)
		}
		checkUsage(t, c.name, "attack", err)
	}
	_, err := targets.Start("nosuch")
	checkUsage(t, "unknown build", "start target", err)
}

func TestCompareUsage(t *testing.T) {
	t.Parallel()
	a, b := "http://127.0.0.1:1", "http://127.0.0.1:2"
	for _, c := range []struct {
		name       string
		base, cand string
		o          loadbench.CompareOptions
	}{
		{"no candidate", a, "", loadbench.CompareOptions{}},
		{"bad url", a, "ws://x", loadbench.CompareOptions{}},
		{"one round", a, b, loadbench.CompareOptions{Rounds: 1}},
		{"max rate", a, b, loadbench.CompareOptions{HTTPRate: loadbench.Max()}},
		{"both off", a, b, loadbench.CompareOptions{HTTPRate: loadbench.Off(), WSRate: loadbench.Off()}},
		{"negative rate", a, b, loadbench.CompareOptions{WSRate: loadbench.PerSecond(-1)}},
		{"negative rounds", a, b, loadbench.CompareOptions{Rounds: -1}},
		{"min rounds", a, b, loadbench.CompareOptions{MinRounds: 1}},
		{"max duration", a, b, loadbench.CompareOptions{MaxDuration: -time.Second}},
		{"short max duration", a, b, loadbench.CompareOptions{MaxDuration: 20 * time.Second}},
		{"round duration", a, b, loadbench.CompareOptions{RoundDuration: -time.Second}},
		{"warmup", a, b, loadbench.CompareOptions{Warmup: -1}},
		{"arrivals", a, b, loadbench.CompareOptions{Arrivals: 3}},
		{"send lag", a, b, loadbench.CompareOptions{MaxSendLag: -time.Second}},
		{"in flight", a, b, loadbench.CompareOptions{MaxInFlight: -1}},
		{"error budget", a, b, loadbench.CompareOptions{ErrorBudget: 1}},
		{"max retained", a, b, loadbench.CompareOptions{MaxRetained: -1}},
		{"candidate ws ping", a, b, loadbench.CompareOptions{Candidate: loadbench.Side{Access: loadbench.Access{WSPing: -time.Second}}}},
		{"baseline subprotocol", a, b, loadbench.CompareOptions{Baseline: loadbench.Side{Access: loadbench.Access{WSSubprotocol: "a b"}}}},
		{"budget", a, b, loadbench.CompareOptions{Budget: 2}},
		{"alpha", a, b, loadbench.CompareOptions{Alpha: 1.5}},
		{"percentile", a, b, loadbench.CompareOptions{Percentiles: []float64{0}}},
		{"no percentile", a, b, loadbench.CompareOptions{Percentiles: []float64{}}},
		{"settle", a, b, loadbench.CompareOptions{Settle: -time.Second}},
		{"users", a, b, loadbench.CompareOptions{Users: -2}},
		{"error rate", a, b, loadbench.CompareOptions{MaxErrorRate: 2}},
	} {
		cmp, err := loadbench.Compare(context.Background(), c.base, c.cand, c.o)
		if cmp != nil {
			t.Errorf("%s: a comparison for bad input", c.name)
		}
		checkUsage(t, c.name, "compare", err)
	}
}

// TestCompare compares two built-in builds served in this process and
// checks the shape of the outcome and of the run directory: the manifest
// records what was compared (the baseline's build name, no name for a
// candidate known only by its URL) in its typed plan, which
// results.ReadRun reads back.
func TestCompare(t *testing.T) {
	if testing.Short() {
		t.Skip("a compare of two targets takes seconds")
	}
	base, cand := startTarget(t, targets.ImplPerRequest), startTarget(t, targets.ImplPerRequest)
	dir := filepath.Join(t.TempDir(), "run")
	o := loadbench.CompareOptions{
		Rounds: 2, RoundDuration: 400 * time.Millisecond, NoWarmup: true, Settle: 50 * time.Millisecond,
		HTTPRate: loadbench.PerSecond(100), WSRate: loadbench.PerSecond(100), Users: 10,
		Percentiles: []float64{50, 99}, Dir: dir,
		Baseline:  loadbench.Side{Build: "v1", Args: []string{"--work", "1ms"}, Alive: base.Alive},
		Candidate: loadbench.Side{Alive: cand.Alive},
	}
	cmp, err := loadbench.Compare(context.Background(), base.URL, cand.URL, o)
	if err != nil {
		t.Fatal(err)
	}
	if cmp.Dir != dir || cmp.Summary == nil || cmp.Summary.Rounds != 2 || cmp.Rounds != 2 || cmp.Partial {
		t.Fatalf("dir %q, rounds %d, partial %t, summary %+v", cmp.Dir, cmp.Rounds, cmp.Partial, cmp.Summary)
	}
	if cmp.Verdict.String() != string(cmp.Summary.Verdict) || cmp.Reason == "" {
		t.Errorf("verdict %v, summary %q, reason %q", cmp.Verdict, cmp.Summary.Verdict, cmp.Reason)
	}
	if len(cmp.Latency) != 4 {
		t.Fatalf("%d latency rows, want 2 protocols × 2 percentiles", len(cmp.Latency))
	}
	for _, l := range cmp.Latency {
		if l.Protocol.String() == "" || l.Baseline <= 0 || l.Candidate <= 0 || l.Verdict == 0 {
			t.Errorf("row %+v", l)
		}
	}
	for _, f := range []string{results.SummaryFile, results.ManifestFile, results.BenchFile} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("%s not written: %v", f, err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "report.html")); err == nil {
		t.Error("report.html written without Reports")
	}
	var text, js bytes.Buffer
	if err := cmp.WriteText(&text); err != nil || !strings.HasPrefix(text.String(), "verdict: ") {
		t.Errorf("WriteText: %v\n%s", err, text.String())
	}
	var sum results.Summary
	if err := cmp.WriteJSON(&js); err != nil || json.Unmarshal(js.Bytes(), &sum) != nil || sum.Verdict != cmp.Summary.Verdict || sum.Rounds != 2 {
		t.Errorf("WriteJSON: %v\n%s", err, js.String())
	}

	// The manifest as written: the plan's sides, the candidate nameless.
	raw, err := os.ReadFile(filepath.Join(dir, results.ManifestFile))
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		Partial bool `json:"partial"`
		Plan    struct {
			Rounds    int                        `json:"rounds"`
			Baseline  map[string]json.RawMessage `json:"baseline"`
			Candidate map[string]json.RawMessage `json:"candidate"`
		} `json:"plan"`
	}
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	if b := string(m.Plan.Baseline["build"]); b != `"v1"` || m.Plan.Rounds != 2 || m.Partial {
		t.Errorf("manifest plan: baseline build %s, rounds %d, partial %t\n%s", b, m.Plan.Rounds, m.Partial, raw)
	}
	if _, ok := m.Plan.Candidate["build"]; ok || m.Plan.Candidate == nil {
		t.Errorf("manifest plan: candidate %v, want no build\n%s", m.Plan.Candidate, raw)
	}

	run, err := results.ReadRun(dir)
	if err != nil {
		t.Fatal(err)
	}
	p := run.Manifest.Plan
	if p == nil {
		t.Fatal("ReadRun: no plan in the manifest")
	}
	if p.Baseline.Build != "v1" || !slices.Equal(p.Baseline.Args, o.Baseline.Args) || p.Candidate.Build != "" || p.Candidate.Args != nil {
		t.Errorf("ReadRun: plan sides %+v, %+v", p.Baseline, p.Candidate)
	}
	if p.Rounds != 2 || p.HTTPRate != 100 || p.WSRate != 100 || p.Users != 10 || p.Warmup != 0 ||
		!slices.Equal(p.Percentiles, []float64{50, 99}) || !p.MemoryGate || p.MetricsPath != loadbench.DefaultMetricsPath {
		t.Errorf("ReadRun: plan %+v", *p)
	}
	if run.Rounds() != 2 || run.Summary == nil || run.Summary.Verdict != cmp.Summary.Verdict {
		t.Errorf("ReadRun: %d rounds, summary %+v", run.Rounds(), run.Summary)
	}
	if run.Manifest.Targets[results.Baseline] != base.URL || run.Manifest.Targets[results.Candidate] != cand.URL {
		t.Errorf("ReadRun: targets %v", run.Manifest.Targets)
	}
}

// TestAttackWithHeaderAndTLS reaches a target behind TLS from a CA of the
// test's own that answers 401 without a bearer token: with Header and TLS
// every chat is answered; without the header every HTTP chat fails with the
// target's 401, never an isolation violation.
func TestAttackWithHeaderAndTLS(t *testing.T) {
	t.Parallel()
	s, err := targets.New(targets.ImplPerRequest)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(targets.Staging{RequireHeader: "Authorization", RequireValue: "Bearer t0ken"}.Wrap(s))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	t.Cleanup(func() { srv.Close(); s.Close() })
	tlsConf := &tls.Config{RootCAs: x509.NewCertPool()}
	tlsConf.RootCAs.AddCert(srv.Certificate())
	opts := loadbench.Options{HTTPRate: loadbench.PerSecond(50), WSRate: loadbench.PerSecond(50), Users: 5, Duration: 300 * time.Millisecond,
		Access: loadbench.Access{TLS: tlsConf, Header: http.Header{"Authorization": {"Bearer t0ken"}}}}
	res, err := loadbench.Attack(context.Background(), srv.URL, opts)
	if err != nil {
		t.Fatal(err)
	}
	if res.Chats() < 20 || res.Errors() != 0 || res.Isolation.Violations != 0 {
		t.Fatalf("with the token: %d chats, %d errors, %d violations", res.Chats(), res.Errors(), res.Isolation.Violations)
	}
	// Without the token (HTTP only: a WebSocket whose every dial fails
	// ends the attack with ErrUnreachable).
	opts.Header, opts.WSRate = nil, loadbench.Off()
	res, err = loadbench.Attack(context.Background(), srv.URL, opts)
	if err != nil {
		t.Fatal(err)
	}
	p, _ := res.Protocol(loadbench.HTTP)
	if p.Errors != p.Chats || p.ErrorClasses["http 401"] != p.Chats || res.Isolation.Violations != 0 {
		t.Fatalf("without the token: %d chats, errors %v, %d violations", p.Chats, p.ErrorClasses, res.Isolation.Violations)
	}
}
