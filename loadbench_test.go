package loadbench_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/loadbench/loadbench"
	"github.com/loadbench/loadbench/results"
	"github.com/loadbench/loadbench/targets"
	vegeta "github.com/tsenart/vegeta/v12/lib"
)

func startTarget(t *testing.T, b loadbench.Build) *loadbench.Target {
	t.Helper()
	tg, err := loadbench.StartTarget(b)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := tg.Close(); err != nil {
			t.Errorf("close %s: %v", b, err)
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
		{loadbench.Baseline, "baseline"}, {loadbench.PerRequest, "perrequest"},
	} {
		if got := c.v.String(); got != c.want {
			t.Errorf("%#v.String() = %q, want %q", c.v, got, c.want)
		}
	}
	bs := loadbench.Builds()
	if len(bs) < 2 || bs[0] != loadbench.Baseline {
		t.Errorf("Builds() = %v, want baseline first and at least two", bs)
	}
}

// TestAttack attacks every built-in build over both protocols. Only the
// per-request build must answer every chat: the legacy singleton (and the
// partial migration's WebSocket route) misroute chats that overlap, which
// the engine counts as failed chats and isolation violations.
func TestAttack(t *testing.T) {
	for _, b := range loadbench.Builds() {
		t.Run("build="+b.String(), func(t *testing.T) {
			tg := startTarget(t, b)
			res, err := loadbench.Attack(context.Background(), tg.URL, loadbench.Options{
				HTTPRate: 200, WSRate: 200, Users: 20, Duration: 300 * time.Millisecond,
			})
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Protocols) != 2 || res.Protocols[0].Protocol != loadbench.HTTP || res.Protocols[1].Protocol != loadbench.WebSocket {
				t.Fatalf("protocols %+v, want http then ws", res.Protocols)
			}
			for _, p := range res.Protocols {
				if p.Chats < 30 || p.Answered+p.Errors != p.Chats || (b == loadbench.PerRequest && p.Errors != 0) {
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
			if res.Chats() != res.Protocols[0].Chats+res.Protocols[1].Chats || (b == loadbench.PerRequest && res.Errors() != 0) {
				t.Errorf("Chats() %d, Errors() %d", res.Chats(), res.Errors())
			}
			if res.Isolation.Checked == 0 {
				t.Error("nothing checked for isolation")
			}
			if b == loadbench.PerRequest && res.Isolation.Violations != 0 {
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
	tg := startTarget(t, loadbench.PerRequest)
	var last loadbench.Progress
	calls := 0
	res, err := loadbench.Attack(context.Background(), tg.URL, loadbench.Options{
		HTTPRate: loadbench.Off, WSRate: 500, Users: 5, MaxRequests: 40, Duration: 5 * time.Second,
		VegetaFile: filepath.Join(t.TempDir(), "vegeta.bin"), // HTTP is off: not written
		Progress:   func(p loadbench.Progress) { last, calls = p, calls+1 },
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Protocols) != 1 || res.Protocols[0].Protocol != loadbench.WebSocket {
		t.Fatalf("protocols %+v, want ws only", res.Protocols)
	}
	if _, ok := res.Protocol(loadbench.HTTP); ok {
		t.Error("http attacked while Off")
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
	tg := startTarget(t, loadbench.PerRequest)
	path := filepath.Join(t.TempDir(), "results.bin")
	res, err := loadbench.Attack(context.Background(), tg.URL, loadbench.Options{
		HTTPRate: 200, WSRate: loadbench.Off, MaxRequests: 20, VegetaFile: path,
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
	tg := startTarget(t, loadbench.Baseline)
	res, err := loadbench.Attack(context.Background(), tg.URL, loadbench.Options{
		HTTPRate: 300, WSRate: loadbench.Off, Duration: 200 * time.Millisecond,
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
	tg := startTarget(t, loadbench.PerRequest)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	res, err := loadbench.Attack(ctx, tg.URL, loadbench.Options{HTTPRate: 100, WSRate: 100, Users: 5, Duration: time.Minute})
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
		{"negative rate", good, loadbench.Options{HTTPRate: -3}},
		{"both off", good, loadbench.Options{HTTPRate: loadbench.Off, WSRate: loadbench.Off}},
		{"negative users", good, loadbench.Options{Users: -1}},
		{"negative duration", good, loadbench.Options{Duration: -time.Second}},
		{"negative timeout", good, loadbench.Options{Timeout: -time.Second}},
		{"negative max", good, loadbench.Options{MaxRequests: -1}},
		{"bad path", good, loadbench.Options{HTTPPath: "run"}},
		{"bad prefix", good, loadbench.Options{UserPrefix: "user 1"}},
		{"negative in flight", good, loadbench.Options{MaxInFlight: -1}},
		{"workers over in flight", good, loadbench.Options{HTTPRate: loadbench.Max, Workers: 8, MaxInFlight: 4}},
		{"bad subprotocol", good, loadbench.Options{WSSubprotocol: "a b"}},
	} {
		res, err := loadbench.Attack(context.Background(), c.url, c.o)
		if res != nil {
			t.Errorf("%s: a result for bad input", c.name)
		}
		checkUsage(t, c.name, "attack", err)
	}
	_, err := loadbench.StartTarget("nosuch")
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
		{"max rate", a, b, loadbench.CompareOptions{HTTPRate: loadbench.Max}},
		{"both off", a, b, loadbench.CompareOptions{HTTPRate: loadbench.Off, WSRate: loadbench.Off}},
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

// TestCompare compares two built-in builds served in this process. They
// share one heap, so only the shape of the outcome is checked, not the
// memory verdict.
func TestCompare(t *testing.T) {
	if testing.Short() {
		t.Skip("a compare of two targets takes seconds")
	}
	base, cand := startTarget(t, loadbench.PerRequest), startTarget(t, loadbench.PerRequest)
	dir := filepath.Join(t.TempDir(), "run")
	cmp, err := loadbench.Compare(context.Background(), base.URL, cand.URL, loadbench.CompareOptions{
		Rounds: 2, RoundDuration: 400 * time.Millisecond, Warmup: -1, Settle: 50 * time.Millisecond,
		HTTPRate: 100, WSRate: 100, Users: 10, Percentiles: []float64{50, 99}, Dir: dir,
	})
	if err != nil {
		t.Fatal(err)
	}
	if cmp.Dir != dir || cmp.Summary == nil || cmp.Summary.Rounds != 2 {
		t.Fatalf("dir %q, summary %+v", cmp.Dir, cmp.Summary)
	}
	if cmp.Verdict.String() != cmp.Summary.Verdict || cmp.Reason == "" {
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
	if _, err := os.Stat(filepath.Join(dir, results.SummaryFile)); err != nil {
		t.Errorf("summary not written: %v", err)
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
	opts := loadbench.Options{HTTPRate: 50, WSRate: 50, Users: 5, Duration: 300 * time.Millisecond, TLS: tlsConf,
		Header: http.Header{"Authorization": {"Bearer t0ken"}}}
	res, err := loadbench.Attack(context.Background(), srv.URL, opts)
	if err != nil {
		t.Fatal(err)
	}
	if res.Chats() < 20 || res.Errors() != 0 || res.Isolation.Violations != 0 {
		t.Fatalf("with the token: %d chats, %d errors, %d violations", res.Chats(), res.Errors(), res.Isolation.Violations)
	}
	// Without the token (HTTP only: a WebSocket whose every dial fails
	// ends the attack with ErrUnreachable).
	opts.Header, opts.WSRate = nil, loadbench.Off
	res, err = loadbench.Attack(context.Background(), srv.URL, opts)
	if err != nil {
		t.Fatal(err)
	}
	p, _ := res.Protocol(loadbench.HTTP)
	if p.Errors != p.Chats || p.ErrorClasses["http 401"] != p.Chats || res.Isolation.Violations != 0 {
		t.Fatalf("without the token: %d chats, errors %v, %d violations", p.Chats, p.ErrorClasses, res.Isolation.Violations)
	}
}
