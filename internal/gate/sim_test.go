package gate

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/loadbench/loadbench/results"
)

// simulate runs trials of a 6-round paired comparison under a log-normal
// model: value = 10ms · effect · exp(drift_round + noise_segment), and
// returns the share of each verdict.
func simulate(t *testing.T, seed uint64, trials int, drift, noise, effect float64) map[string]float64 {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 7))
	cfg := DefaultConfig()
	out := map[string]float64{}
	for range trials {
		b, c := make([]float64, 6), make([]float64, 6)
		for r := range b {
			d := rng.NormFloat64() * drift
			b[r] = 10 * math.Exp(d+rng.NormFloat64()*noise)
			c[r] = 10 * effect * math.Exp(d+rng.NormFloat64()*noise)
		}
		cmp, err := ComparePaired(b, c, cfg)
		if err != nil {
			t.Fatal(err)
		}
		out[cmp.Verdict] += 1 / float64(trials)
	}
	return out
}

// TestErrorRates pins the operating characteristics of the rule with the
// default 6 rounds: at most 5% false alarms on A/A and at least 90%
// detection of a +10% slowdown, with 2% noise per segment, with and without
// round-to-round drift; and the false-alarm bound also with 6% noise, where
// detection is (rightly) not promised.
func TestErrorRates(t *testing.T) {
	t.Parallel()
	const trials = 2000
	for _, tc := range []struct {
		drift, noise float64
		detect       bool
	}{
		{0, 0.02, true},
		{0.05, 0.02, true},
		{0.2, 0.02, true},
		{0.05, 0.06, false},
	} {
		aa := simulate(t, 1, trials, tc.drift, tc.noise, 1)
		ab := simulate(t, 2, trials, tc.drift, tc.noise, 1.10)
		t.Logf("drift %.2f noise %.2f: A/A %v; +10%% %v", tc.drift, tc.noise, aa, ab)
		if aa[results.Fail] > 0.05 {
			t.Errorf("drift %.2f noise %.2f: A/A false alarms %.3f > 0.05", tc.drift, tc.noise, aa[results.Fail])
		}
		if tc.detect && ab[results.Fail] < 0.90 {
			t.Errorf("drift %.2f noise %.2f: +10%% detected %.3f < 0.90", tc.drift, tc.noise, ab[results.Fail])
		}
		if ab[results.Pass] > 0.01 {
			t.Errorf("drift %.2f noise %.2f: +10%% passed %.3f of the time", tc.drift, tc.noise, ab[results.Pass])
		}
	}
}
