package main

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/loadbench/loadbench"
	"github.com/loadbench/loadbench/internal/validate"
	"github.com/loadbench/loadbench/results"
)

func TestValidateBadUsage(t *testing.T) {
	t.Parallel()
	out := filepath.Join(t.TempDir(), "v")
	for _, args := range [][]string{
		{"--runs", "0"},
		{"--runs", "-3"},
		{"--scenarios", "aa,bogus"},
		{"--scenarios", "aa,aa"},
		{"--scenarios", "capacity,capacity-aa"},
		{"--scenarios", "capacity-bogus"},
		{"--slowdowns", "0.9"},
		{"--slowdowns", "1.05,fast"},
		{"--rounds", "1"},
		{"--budget", "5"},
		{"--alpha", "2"},
		{"--http-rate", "-1"},
		{"--no-such-flag"},
		{"extra-arg"},
	} {
		code, stdout, stderr := runCmd(context.Background(), t, append([]string{"validate", "--quiet", "--out", out}, args...)...)
		if code != exitUsage {
			t.Errorf("validate %s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, exitUsage, stdout, stderr)
		}
		if stdout != "" {
			t.Errorf("validate %s: printed a table on bad usage:\n%s", strings.Join(args, " "), stdout)
		}
	}
	if code, _, stderr := runCmd(context.Background(), t, "validate", "--quiet", "--out", out, "--scenarios", "bogus"); code != exitUsage || !strings.Contains(stderr, `"bogus"`) {
		t.Errorf("unknown scenario: exit %d, stderr %q; want 2 naming it", code, stderr)
	}
}

// TestValidateHelpAndProgressCoverCapacity: the help names the capacity
// scenarios and how to select them, and the progress line shows where a
// capacity run is.
func TestValidateHelpAndProgressCoverCapacity(t *testing.T) {
	t.Parallel()
	code, stdout, stderr := runCmd(context.Background(), t, "validate", "--help")
	if code != exitOK {
		t.Fatalf("validate --help: exit %d\n%s", code, stderr)
	}
	for _, want := range []string{"capacity-aa", "capacity-cpu", "capacity-throughput", "--scenarios capacity selects all three",
		"not run by default", "about 70 s", "about 6 min", "×1.090", "goal ≤ 2.5%", "aa,legacy,within,slowdown,budget,errors,leak,leak-per-user,isolation,capacity-aa,capacity-cpu,capacity-throughput; capacity for"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("validate --help lacks %q:\n%s", want, stdout)
		}
	}
	var b strings.Builder
	p := &progressLine{w: &b}
	p.validate(validate.Progress{Run: 2, Runs: 20, Scenario: "capacity CPU only", Done: 5, Total: 60,
		Capacity: loadbench.CapacityProgress{Step: 7, Phase: "cpu", Build: "candidate", Rate: 2100}})
	if got := b.String(); !strings.Contains(got, "validate 5/60  run 2/20  capacity CPU only") || !strings.Contains(got, "step 7  cpu      candidate   2100.0/s") {
		t.Errorf("progress line %q", got)
	}
}

// TestValidateEndToEnd runs one short compare per scenario against the
// built-in targets, in the scenarios whose faults today's serve has
// (within, slowdown, budget, errors and leak-per-user need serve's --delay,
// --fail-rate and --leak-per-user). Two rounds are too few for a latency
// verdict, so it checks the bookkeeping and the verdicts that do not need
// many rounds.
func TestValidateEndToEnd(t *testing.T) {
	builtinTargets(t)
	dir := filepath.Join(t.TempDir(), "validate")
	code, stdout, stderr := runCmd(context.Background(), t, "validate", "--quiet", "--json", "--out", dir,
		"--scenarios", "aa,legacy,leak,isolation",
		"--runs", "1", "--rounds", "2", "--round-duration", "700ms", "--warmup", "200ms", "--settle", "200ms",
		"--http-rate", "100", "--ws-rate", "100", "--users", "20",
		// A 3 ms mean configure window (0–6 ms) makes the legacy build misroute
		// many chats 5 ms apart: the isolation scenario has
		// something to detect in so short a run.
		"--serve-args", "--configure-window 3ms")
	if code != exitOK && code != exitFail {
		t.Fatalf("exit %d, want 0 or 1 (goals met or missed)\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	var printed map[string]any
	if err := json.Unmarshal([]byte(stdout), &printed); err != nil {
		t.Fatalf("stdout is not JSON: %v\n%s", err, stdout)
	}
	for _, k := range []string{"aa_false_alarm_rate", "slowdown_detection_rate", "leak_detection_rate", "isolation_detection_rate", "runs", "wall_seconds"} {
		if _, ok := printed[k]; !ok {
			t.Errorf("--json lacks %q", k)
		}
	}
	var rep validate.Report
	if err := results.ReadJSON(filepath.Join(dir, validate.JSONFile), &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Outcomes) != 4 || !rep.Complete || rep.Errors != 0 {
		t.Fatalf("report: %d outcomes, complete %v, %d errors; want 4, true, 0\n%+v", len(rep.Outcomes), rep.Complete, rep.Errors, rep.Outcomes)
	}
	for _, o := range rep.Outcomes {
		if _, err := results.ReadRun(o.Dir); err != nil {
			t.Errorf("%s: %v", o.Scenario, err)
		}
		if want := filepath.Join(dir, o.Scenario, "run-01"); o.Dir != want {
			t.Errorf("%s wrote into %s, want %s", o.Scenario, o.Dir, want)
		}
	}
	// The legacy build shows users each other's data in any amount of load.
	if got := rep.IsolationDetectionRate; got == nil || *got != 1 {
		t.Errorf("isolation detection rate %v, want 1", got)
	}
	if code == exitOK != rep.GoalsMet {
		t.Errorf("exit %d but goals met %v", code, rep.GoalsMet)
	}
}
