package results

import (
	"bytes"
	"encoding/json"
	"slices"
	"testing"
	"time"
)

// A run written before manifest.json had a plan (docs/example-report)
// reads with the plan its flags recorded, and what they never recorded
// is unknown.
func TestReadRunFillsPlanOfOldRun(t *testing.T) {
	t.Parallel()
	run, err := ReadRun("../docs/example-report")
	if err != nil {
		t.Fatal(err)
	}
	p := run.Plan()
	if run.Manifest.Plan == nil || !p.Sequential() || p.MinRounds != 3 || p.MaxRounds != 12 || p.MaxDuration.D() != 150*time.Second {
		t.Errorf("rounds of the plan %+v, want until decided, 3 to 12 in 2m30s", p)
	}
	if p.RoundDuration.D() != 4*time.Second || p.Warmup.D() != 3*time.Second || p.Settle.D() != 500*time.Millisecond ||
		p.HTTPRate != 200 || p.WSRate != 200 || p.Users != 100 {
		t.Errorf("load of the plan %+v", p)
	}
	if p.Budget != 0.05 || !slices.Equal(p.Percentiles, []float64{50, 95, 99}) || p.Alpha != 0.05 ||
		p.ErrorBudget != 0.001 || p.MaxRetained != 64 || !p.MemoryGate || p.MaxErrorRate != 0.9 {
		t.Errorf("gate of the plan %+v", p)
	}
	if p.Baseline.Build != "baseline" || p.Candidate.Build != "perrequest" || !slices.Equal(p.Candidate.Args, []string{"--profile", "ci"}) {
		t.Errorf("sides %+v %+v", p.Baseline, p.Candidate)
	}
	for _, f := range []string{"arrivals", "timeout", "max_in_flight", "max_send_lag", "max_event_gap", "http_path", "metrics_path"} {
		if p.Known(f) {
			t.Errorf("%s known, but the old run never recorded it", f)
		}
	}
	if p.Known("users") == false || run.Manifest.Stopped != "decided after round 8" {
		t.Errorf("users unknown or stop %q", run.Manifest.Stopped)
	}
}

func TestPlanFromFlagsRefusesDamage(t *testing.T) {
	t.Parallel()
	for _, flags := range []map[string]string{
		{"budget": "lots"}, {"percentiles": "50,x"}, {"rounds": "some"}, {"round-duration": "4 seconds"},
	} {
		if _, err := PlanFromFlags(flags); err == nil {
			t.Errorf("PlanFromFlags(%v): no error", flags)
		}
	}
	p, err := PlanFromFlags(map[string]string{"rounds": "6", "budget": "10%"})
	if err != nil || p.Rounds != 6 || p.Sequential() || p.Budget != 0.1 {
		t.Errorf("PlanFromFlags = %+v, %v", p, err)
	}
}

// The plan's JSON is snake_case with durations as Go writes them, and
// reads back the same.
func TestPlanJSON(t *testing.T) {
	t.Parallel()
	p := Plan{MinRounds: 3, MaxRounds: 12, RoundDuration: Duration(4 * time.Second), HTTPRate: 200,
		Percentiles: []float64{50, 99.9}, MemoryGate: true, Baseline: PlanSide{Build: "baseline", Args: []string{"--think", "1ms"}}}
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"round_duration":"4s"`, `"min_rounds":3`, `"max_rounds":12`, `"http_rate":200`, `"percentiles":[50,99.9]`, `"baseline":{"build":"baseline","args":["--think","1ms"]}`} {
		if !bytes.Contains(b, []byte(want)) {
			t.Errorf("plan JSON %s lacks %s", b, want)
		}
	}
	var back Plan
	if err := json.Unmarshal(b, &back); err != nil || back.RoundDuration != p.RoundDuration || !slices.Equal(back.Percentiles, p.Percentiles) {
		t.Errorf("read back %+v, %v", back, err)
	}
	if err := json.Unmarshal([]byte(`{"round_duration":"soon"}`), &back); err == nil {
		t.Error("a bad duration read without error")
	}
}
