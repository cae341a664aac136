package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/loadbench/loadbench/results"
)

// Flags that would change a stored plan are refused with --continue, in
// one line naming the flag, before the run is read; --max-rounds needs
// --continue.
func TestContinueConflictingFlags(t *testing.T) {
	t.Parallel()
	dir := t.TempDir() // no run: the flags are refused first
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--continue", dir, "--budget", "3%"}, "compare: --budget conflicts with --continue"},
		{[]string{"--continue", dir, "--percentiles", "50,99"}, "compare: --percentiles conflicts with --continue"},
		{[]string{"--continue", dir, "--http-rate", "100"}, "compare: --http-rate conflicts with --continue"},
		{[]string{"--continue", dir, "--round-duration", "2s"}, "compare: --round-duration conflicts with --continue"},
		{[]string{"--continue", dir, "--seed", "7"}, "compare: --seed conflicts with --continue"},
		{[]string{"--continue", dir, "--candidate-args", "--slowdown 1.1"}, "compare: --candidate-args conflicts with --continue"},
		{[]string{"--continue", dir, "--baseline", "http://127.0.0.1:1"}, "compare: give both --baseline and --candidate, or neither"},
		{[]string{"--continue", dir, "--max-rounds", "0"}, "compare: --max-rounds must be positive, got 0"},
		{[]string{"--max-rounds", "20"}, "compare: --max-rounds applies to --continue DIR only"},
		{[]string{"--continue", dir}, "continue: read " + dir},
	} {
		code, _, stderr := runCmd(context.Background(), t, append([]string{"compare"}, tc.args...)...)
		lines := strings.Split(strings.TrimSpace(stderr), "\n")
		if code != exitUsage || len(lines) != 1 || !strings.HasPrefix(lines[0], "loadbench: "+tc.want) {
			t.Errorf("compare %q: exit %d, stderr %q; want exit %d and one line starting %q", tc.args, code, stderr, exitUsage, "loadbench: "+tc.want)
		}
	}
}

// An inconclusive compare of the built-in builds, continued: the builds
// are started again from the stored plan (their logs kept apart), the run
// goes on to the new most rounds, and the exit code is the new verdict's.
func TestContinueBuiltinTargetsEndToEnd(t *testing.T) {
	builtinTargets(t)
	dir := filepath.Join(t.TempDir(), "run")
	// 2 rounds at most, and an alpha that decides nothing in so few.
	code, out, errOut := runCmd(context.Background(), t, "compare", "--quiet", "--out", dir,
		"--rounds", "auto", "--min-rounds", "2", "--max-duration", "17s", "--alpha", "0.000001",
		"--round-duration", "500ms", "--warmup", "0", "--settle", "50ms",
		"--http-rate", "50", "--ws-rate", "50", "--users", "4", "--candidate-impl", "perrequest", "--baseline-impl", "perrequest")
	if code != exitInconclusive || readSummary(t, dir).Rounds != 2 {
		t.Fatalf("first compare: exit %d, want inconclusive (4) after 2 rounds\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	code, out, errOut = runCmd(context.Background(), t, "compare", "--quiet", "--continue", dir, "--max-rounds", "3")
	if code != exitInconclusive || !strings.HasPrefix(out, "verdict: INCONCLUSIVE") {
		t.Fatalf("continue: exit %d, want inconclusive (4)\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	run, err := results.ReadRun(dir)
	if err != nil {
		t.Fatal(err)
	}
	p := run.Plan()
	if run.Rounds() != 3 || run.Summary.Rounds != 3 || p.MaxRounds != 3 || len(p.Continued) != 1 || p.Continued[0].AfterRound != 2 {
		t.Errorf("continued run: %d rounds (summary %d), plan max %d, continued %+v; want 3 rounds, continued after round 2",
			run.Rounds(), run.Summary.Rounds, p.MaxRounds, p.Continued)
	}
	if args := strings.Join(p.Continued[0].Args, " "); !strings.Contains(args, "--continue "+dir) {
		t.Errorf("continuation's command line %q, want the one that continued it", args)
	}
	for _, log := range []string{"baseline.log", "candidate.log", "baseline.continued-1.log", "candidate.continued-1.log"} {
		if _, err := os.Stat(filepath.Join(dir, log)); err != nil {
			t.Errorf("no %s: %v", log, err)
		}
	}
}
