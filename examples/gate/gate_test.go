package gate

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/loadbench/loadbench"
)

// TestGate attacks the service for a second and fails on any failed chat or
// any answer that carries another user's data.
func TestGate(t *testing.T) {
	srv := httptest.NewServer(&Service{Work: time.Millisecond})
	defer srv.Close()

	res, err := loadbench.Attack(context.Background(), srv.URL, loadbench.Options{
		// HTTP only (WSRate left zero is off once HTTPRate is set):
		// TestGateWebSocket attacks the other route.
		HTTPRate: loadbench.PerSecond(200),
		Duration: time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Errors() != 0 || res.Isolation.Violations != 0 {
		t.Fatalf("%d failed chats %v, %d isolation violations %v",
			res.Errors(), res.Protocols[0].ErrorClasses, res.Isolation.Violations, res.Isolation.Examples)
	}
	t.Logf("%d chats, p50 %s, p99 %s", res.Chats(), res.Latency(50), res.Latency(99))
}

// TestGateWebSocket attacks the service's WebSocket route alone for a
// second, ten users each sending several chats on its own connection, and
// fails on any failed chat, connection error, stray message or isolation
// violation. Every event must have been checked, and every chat must have
// read its own factory id from its agent_started event.
func TestGateWebSocket(t *testing.T) {
	srv := httptest.NewServer(&Service{Work: time.Millisecond})
	defer srv.Close()

	res, err := loadbench.Attack(context.Background(), srv.URL, loadbench.Options{
		WSRate:   loadbench.PerSecond(100), // WebSocket only: HTTPRate left zero is off
		Users:    10,
		Duration: time.Second,
		Timeout:  5 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := res.Protocol(loadbench.HTTP); ok {
		t.Error("HTTP was attacked with only WSRate set")
	}
	ws, ok := res.Protocol(loadbench.WebSocket)
	if !ok || ws.Chats < 20 {
		t.Fatalf("WebSocket attacked %t with %d chats, want about 100", ok, ws.Chats)
	}
	if res.Errors() != 0 || ws.Answered != ws.Chats || res.Isolation.Violations != 0 {
		t.Fatalf("%d of %d chats answered, %d failed %v, %d isolation violations %v",
			ws.Answered, ws.Chats, res.Errors(), ws.ErrorClasses, res.Isolation.Violations, res.Isolation.Examples)
	}
	if p := res.Segment.Protocols[loadbench.WebSocket.String()]; len(p.ConnErrors) != 0 || p.OtherMessages != 0 {
		t.Errorf("connection errors %v, %d messages outside the contract", p.ConnErrors, p.OtherMessages)
	}
	if want := 5 * ws.Chats; res.Isolation.Checked != want {
		t.Errorf("%d events checked, want 5 per chat: %d", res.Isolation.Checked, want)
	}
	if got := res.Segment.Isolation.DistinctFactoryIDs; got != ws.Chats {
		t.Errorf("%d distinct factory ids, want one per chat: %d", got, ws.Chats)
	}
	t.Logf("%d chats, p50 %s, p99 %s", ws.Chats, ws.Latency(50), ws.Latency(99))
}

// TestGateCatchesSlowdown compares the service against a version of it
// that works ten times longer: the gate must fail the candidate.
func TestGateCatchesSlowdown(t *testing.T) {
	if testing.Short() {
		t.Skip("a compare takes seconds")
	}
	before := httptest.NewServer(&Service{Work: time.Millisecond})
	defer before.Close()
	after := httptest.NewServer(&Service{Work: 10 * time.Millisecond})
	defer after.Close()

	cmp, err := loadbench.Compare(context.Background(), before.URL, after.URL, loadbench.CompareOptions{
		Rounds: 4, RoundDuration: 400 * time.Millisecond, NoWarmup: true, Settle: 10 * time.Millisecond,
		HTTPRate: loadbench.PerSecond(100), WSRate: loadbench.Off(), Dir: t.TempDir(),
	})
	if err != nil {
		t.Fatal(err)
	}
	if cmp.Verdict != loadbench.Fail {
		t.Fatalf("verdict %s (%s), want fail for a tenfold slowdown", cmp.Verdict, cmp.Reason)
	}
}

// BenchmarkService reports the service's latency under 200 chats/s into
// the benchmark: go test -bench . | benchstat -.
func BenchmarkService(b *testing.B) {
	srv := httptest.NewServer(&Service{Work: time.Millisecond})
	defer srv.Close()

	b.ResetTimer()
	res, err := loadbench.Attack(b.Context(), srv.URL, loadbench.Options{
		HTTPRate: loadbench.PerSecond(200), MaxRequests: int64(b.N),
		Duration: time.Duration(b.N)*time.Second/200 + time.Second,
	})
	if err != nil {
		b.Fatal(err)
	}
	res.ReportMetrics(b)
	if res.Errors() != 0 {
		b.Fatalf("%d failed chats", res.Errors())
	}
}
