package compare

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/loadbench/loadbench/internal/load"
	"github.com/loadbench/loadbench/results"
)

func TestUserPrefixFreshPerRound(t *testing.T) {
	t.Parallel()
	seen := map[string]int{}
	for r := 0; r <= 800; r++ {
		p := UserPrefix(12345, r)
		if prev, ok := seen[p]; ok {
			t.Fatalf("rounds %d and %d share the prefix %q", prev, r, p)
		}
		seen[p] = r
		// The load engine accepts it.
		if _, err := load.NewAttacker("http://127.0.0.1:1", load.WithUserPrefix(p), load.WithHTTPRate(1)); err != nil {
			t.Fatalf("round %d prefix %q rejected: %v", r, p, err)
		}
		// No prefix starts another round's ids: "lb_ra_" is not in "lb_rab_00001".
		for q := range seen {
			if q != p && (strings.HasPrefix(p, q) || strings.HasPrefix(q, p)) {
				t.Fatalf("prefixes %q and %q overlap", p, q)
			}
		}
	}
	for r, want := range map[int]string{0: "lb_aaaaaaaaasgv_w_", 1: "lb_aaaaaaaaasgv_ra_", 26: "lb_aaaaaaaaasgv_rz_", 27: "lb_aaaaaaaaasgv_raa_"} {
		if got := UserPrefix(12345, r); got != want {
			t.Errorf("UserPrefix(12345, %d) = %q, want %q", r, got, want)
		}
	}
	// Another compare has other users, the largest seed still fits.
	if a, b := UserPrefix(1, 1), UserPrefix(2, 1); a == b || !strings.HasPrefix(UserPrefix(1<<53-1, 1), "lb_") {
		t.Errorf("prefixes %q %q %q", a, b, UserPrefix(1<<53-1, 1))
	}
}

// The seed draws which build goes first in round 1; the rounds alternate.
func TestCandidateFirstAlternates(t *testing.T) {
	t.Parallel()
	for _, seed := range []uint64{1, 2, 77, 1 << 52} {
		first := candidateFirst(seed, 1)
		for r := 2; r <= 6; r++ {
			want := first == (r%2 == 1) // odd rounds as round 1, even ones the other way
			if candidateFirst(seed, r) != want {
				t.Errorf("seed %d round %d: candidate first %t, round 1 %t", seed, r, candidateFirst(seed, r), first)
			}
		}
	}
	if candidateFirst(1, 1) == candidateFirst(2, 1) {
		t.Error("seeds 1 and 2 start with the same build")
	}
}

// The reading after a segment waits until factories_live has stayed the
// same for the settle period, polling with a forced GC each time.
func TestSettledMemoryPollsUntilStable(t *testing.T) {
	t.Parallel()
	var calls atomic.Int64
	mux := http.NewServeMux()
	mux.HandleFunc("GET /metrics", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, metricsText) })
	mux.HandleFunc("POST /debug/gc", func(w http.ResponseWriter, r *http.Request) {
		n := calls.Add(1)
		live := max(0, 4-n) // 3, 2, 1, 0, 0, 0, ...: factories released by later cycles
		fmt.Fprintf(w, `{"heap_live_bytes": %d, "factories_live": %d}`, 1000+n, live)
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	ctx := context.Background()
	c := &comparer{client: srv.Client()}
	p := discover(ctx, srv.Client(), srv.URL, "/metrics", "/debug/gc")
	calls.Store(0)
	start := time.Now()
	snap, err := c.settledMemory(ctx, &target{probe: p}, results.Snapshot{FactoriesLive: 0})
	if err != nil {
		t.Fatal(err)
	}
	if snap.FactoriesLive != 0 {
		t.Errorf("settled reading has %v factories live, want 0", snap.FactoriesLive)
	}
	if n := calls.Load(); n < 4+int64(DefaultFactorySettle/FactoryPoll) {
		t.Errorf("%d readings, want the count to be seen stable for %s after it reached 0", n, DefaultFactorySettle)
	}
	if d := time.Since(start); d < DefaultFactorySettle || d > FactorySettleMax {
		t.Errorf("settled in %s, want between %s and %s", d, DefaultFactorySettle, FactorySettleMax)
	}
}
