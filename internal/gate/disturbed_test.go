package gate

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/loadbench/loadbench/results"
)

// lagSegments is one segment per send lag: each has an HTTP protocol
// whose send lags are all lag.
func lagSegments(build string, lags ...time.Duration) []*results.Segment {
	var out []*results.Segment
	for i, lag := range lags {
		p := &results.Protocol{Latency: results.NewHistogram(), SendLag: results.NewHistogram()}
		for range 200 {
			p.Latency.Record(8 * time.Millisecond)
			p.SendLag.Record(lag)
		}
		s := &results.Segment{Protocols: map[string]*results.Protocol{results.HTTP: p}}
		s.Manifest.Build, s.Manifest.Round = build, i+1
		out = append(out, s)
	}
	return out
}

func TestDisturbedRounds(t *testing.T) {
	t.Parallel()
	ms := time.Millisecond
	cfg := DefaultConfig()
	cfg.DisturbedLag = 2 * ms
	base := lagSegments(results.Baseline, 1*ms, 5*ms, 1*ms, 1*ms)
	cand := lagSegments(results.Candidate, 1*ms, 1*ms, 1*ms, 9*ms)
	d := disturbedRounds(base, cand, cfg)
	if len(d.rounds) != 2 || !d.rounds[2] || !d.rounds[4] || d.base != 1 || d.cand != 1 || d.limit != 2*ms {
		t.Fatalf("disturbance %+v, want rounds 2 and 4 over 2ms, one segment each", d)
	}
	if why := d.blocksPass(4); why != "" {
		t.Errorf("2 of 4 rounds, balanced: blocked: %s", why)
	}
	if txt := d.text(4); !strings.Contains(txt, "2 of 4 round(s) left out (2, 4)") {
		t.Errorf("text %q", txt)
	}
	// A generator always a little late: twice the median, not the floor.
	slow := lagSegments(results.Baseline, 3*ms, 3*ms, 3*ms, 7*ms)
	slowC := lagSegments(results.Candidate, 3*ms, 3*ms, 3*ms, 3*ms)
	if d := disturbedRounds(slow, slowC, cfg); d.limit < 6*ms || d.limit > 6*ms+10*time.Microsecond || len(d.rounds) != 1 || !d.rounds[4] {
		t.Errorf("late generator: %+v, want only round 4 over 6ms", d)
	}
	// No floor, no rule.
	cfg.DisturbedLag = 0
	if d := disturbedRounds(base, cand, cfg); len(d.rounds) != 0 {
		t.Errorf("without a floor: %+v", d)
	}
}

// A pass is blocked when over half the rounds are disturbed, or when the
// candidate's segments are disturbed beyond chance more often than the
// baseline's.
func TestDisturbedBlocksPass(t *testing.T) {
	t.Parallel()
	rounds := func(k int) map[int]bool {
		m := map[int]bool{}
		for r := 1; r <= k; r++ {
			m[r] = true
		}
		return m
	}
	for _, c := range []struct {
		d     disturbance
		n     int
		block string
	}{
		{disturbance{rounds: rounds(15), base: 8, cand: 8}, 58, ""},
		{disturbance{rounds: rounds(30), base: 15, cand: 15}, 58, "more than 50%"},
		{disturbance{rounds: rounds(10), base: 0, cand: 10}, 58, "may hold up the generator"},
		{disturbance{rounds: rounds(6), base: 1, cand: 5}, 58, ""}, // p = 0.11
		{disturbance{}, 10, ""},
	} {
		why := c.d.blocksPass(c.n)
		if (c.block == "") != (why == "") || !strings.Contains(why, c.block) {
			t.Errorf("%d of %d rounds, baseline %d, candidate %d: %q, want %q", len(c.d.rounds), c.n, c.d.base, c.d.cand, why, c.block)
		}
	}
}

func TestSignTest(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		k, n int
		p    float64
	}{
		{0, 10, 1}, {5, 10, 0.623046875}, {10, 10, 1.0 / 1024}, {9, 10, 11.0 / 1024}, {1, 1, 0.5}, {0, 0, 1},
	} {
		if got := signTest(c.k, c.n); math.Abs(got-c.p) > 1e-12 {
			t.Errorf("signTest(%d, %d) = %v, want %v", c.k, c.n, got, c.p)
		}
	}
}
