package load

import (
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/loadbench/loadbench/results"
	"github.com/loadbench/loadbench/targets"
)

// The engine against the real targets: the legacy singleton build misroutes
// events between overlapping chats (violations, one factory id, owners whose
// events never come), the per-request build does not (a factory per chat)
// and answers every chat correctly; the partial build misroutes on
// WebSocket only.
func TestRealTargets(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end: ~2 s of load on both built-in targets; run without -short")
	}
	for _, impl := range targets.Impls() {
		t.Run(impl, func(t *testing.T) {
			// A 60 ms configure window makes overlap (and so legacy
			// misrouting) certain at 40 chats/s per protocol (25 ms
			// apart); the per-request build pays it too, but never misroutes.
			s, err := targets.New(impl, targets.WithFixedConfigureWindow(60*time.Millisecond))
			if err != nil {
				t.Fatal(err)
			}
			srv := httptest.NewServer(s)
			t.Cleanup(func() { srv.Close(); s.Close() })
			seg := runAttack(t, mustAttack(t, srv.URL, WithHTTPRate(40), WithWSRate(40), WithUsers(8), WithDuration(time.Second)))
			for name, p := range seg.Protocols {
				misroutes := impl == targets.ImplBaseline || impl == targets.ImplPartial && name == results.WS
				if p.Requests != 40 || !misroutes && p.Success != 40 {
					t.Errorf("%s: requests %d success %d errors %v", name, p.Requests, p.Success, p.Errors)
				}
			}
			iso := seg.Isolation
			t.Logf("%s: isolation checked %d violations %d factories %d; first example %v", impl, iso.Checked, iso.Violations, iso.DistinctFactoryIDs, iso.Examples[:min(1, len(iso.Examples))])
			if impl == targets.ImplPerRequest && iso.Checked != 40+5*40 {
				t.Errorf("checked %d, want 240", iso.Checked)
			}
			switch impl {
			case targets.ImplBaseline:
				if iso.Violations == 0 || !strings.Contains(iso.Examples[0].Reason, "foreign") {
					t.Errorf("legacy build: no isolation violation found")
				}
				if iso.DistinctFactoryIDs != 1 {
					t.Errorf("legacy build: %d factory ids, want the one singleton", iso.DistinctFactoryIDs)
				}
			case targets.ImplPartial:
				for _, ex := range iso.Examples {
					if ex.Protocol != results.WS {
						t.Errorf("partial build: violation on %s: %v", ex.Protocol, ex)
					}
				}
				if iso.Violations == 0 {
					t.Errorf("partial build: no WebSocket violation found")
				}
			case targets.ImplPerRequest:
				if iso.Violations != 0 {
					t.Errorf("per-request build: %d violations: %v", iso.Violations, iso.Examples)
				}
				if iso.DistinctFactoryIDs != 80 {
					t.Errorf("per-request build: %d factory ids, want one per chat (80)", iso.DistinctFactoryIDs)
				}
			}
		})
	}
}

// The stall case against a real target, slowed by a freezing middleware.
func TestRealTargetStall(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end: ~3 s of load on a stalled built-in target; run without -short")
	}
	s, err := targets.New(targets.ImplPerRequest)
	if err != nil {
		t.Fatal(err)
	}
	f := newFake()
	f.stall = 200 * time.Millisecond
	srv := httptest.NewServer(stallHandler{f, s})
	t.Cleanup(func() { srv.Close(); s.Close() })
	rate := 400.0
	if raceEnabled {
		rate = 100
	}
	seg := runAttack(t, mustAttack(t, srv.URL, WithHTTPRate(rate), WithWSRate(0), WithUsers(20), WithDuration(3*time.Second)))
	// The built-in target answers in about 8 ms (more under the race
	// detector on a busy machine), on top of the stall.
	stallCheckServed(t, results.HTTP, seg.Protocols[results.HTTP], 20*time.Millisecond)
}
