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
		HTTPRate: 200,
		WSRate:   loadbench.Off, // this service speaks HTTP only
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
		Rounds: 4, RoundDuration: 400 * time.Millisecond, Warmup: -1, Settle: 10 * time.Millisecond,
		HTTPRate: 100, WSRate: loadbench.Off, Dir: t.TempDir(),
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
		HTTPRate: 200, WSRate: loadbench.Off, MaxRequests: int64(b.N),
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
