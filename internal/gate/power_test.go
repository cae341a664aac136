package gate

import (
	"math"
	"strings"
	"testing"
)

// PowerPlan's rounds are the fewest whose approximate probability reaches
// the power asked for, and the numbers follow the calibration from the
// real rounds (p99's 7–8% per-round spread): a +3% candidate needs about
// 190 rounds for 80%, limited by ws p99, and in 12 rounds passes almost
// never.
func TestPowerPlan(t *testing.T) {
	t.Parallel()
	cfg := DefaultConfig()
	cfg.MinRounds, cfg.MaxRounds = 3, 12
	sd := CalibrationRoundSD()
	p, err := PowerPlan(cfg, sd, 0.03, 0.8)
	if err != nil {
		t.Fatal(err)
	}
	if p.Rounds < 150 || p.Rounds > 240 || p.Check != "ws p99" || p.Achieved < 0.8 {
		t.Errorf("+3%%: %+v, want 150–240 rounds limited by ws p99", p)
	}
	if below := PowerAt(cfg, sd, 0.03, p.Rounds-1); below >= 0.8 {
		t.Errorf("%d rounds already give %.3f", p.Rounds-1, below)
	}
	if at12 := PowerAt(cfg, sd, 0.03, 12); at12 > 0.02 {
		t.Errorf("+3%% in 12 rounds: %.3f, want under 2%%", at12)
	}
	if !strings.HasPrefix(p.Note, "to pass a candidate up to +3% at 80% power: about ") {
		t.Errorf("note %q", p.Note)
	}
	// Less noise, fewer rounds.
	quiet := map[string]float64{"http p99": 0.01}
	q, err := PowerPlan(cfg, quiet, 0.03, 0.8)
	if err != nil || q.Rounds >= p.Rounds || q.Rounds < 3 {
		t.Errorf("quiet check: %+v, %v", q, err)
	}
	// Over the budget: rounds to fail it.
	f, err := PowerPlan(cfg, sd, 0.10, 0.95)
	if err != nil || f.Rounds == 0 || f.Rounds > 6 || !strings.Contains(f.Note, "to fail a candidate at +10%") {
		t.Errorf("+10%%: %+v, %v", f, err)
	}
	for _, bad := range []struct {
		sd            map[string]float64
		effect, power float64
	}{
		{nil, 0.03, 0.8},
		{sd, 0.03, 1},
		{sd, 0.05, 0.8}, // on the limit
		{map[string]float64{"x": math.NaN()}, 0.03, 0.8},
	} {
		if _, err := PowerPlan(cfg, bad.sd, bad.effect, bad.power); err == nil || !strings.HasPrefix(err.Error(), "power plan: ") {
			t.Errorf("PowerPlan(%v, %v, %v) error %v", bad.sd, bad.effect, bad.power, err)
		}
	}
}

// RoundSD reads each check's per-round spread from a run.
func TestRoundSD(t *testing.T) {
	t.Parallel()
	good := build{factor: steady(1, tight...), forced: true}
	cand := build{factor: steady(1, 1.02, 0.98, 1.02, 0.98, 1.02, 0.98), forced: true}
	sd := RoundSD(synthRun(good, cand), DefaultConfig())
	if len(sd) != 6 {
		t.Fatalf("%d checks, want 6: %v", len(sd), sd)
	}
	for name, v := range sd {
		if v < 0.015 || v > 0.03 {
			t.Errorf("%s: sd %v, want about 0.02", name, v)
		}
	}
}
