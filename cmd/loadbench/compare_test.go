package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/loadbench/loadbench/results"
)

// shortCompare is a compare of the built-in targets kept short for tests:
// five fixed rounds of 200 chats per segment (the memory slope's interval
// needs six readings, one per round boundary). The heap after a forced GC
// moves by 10–20 KB per segment whatever the load, which is 50–100 B per
// chat at this size (8 B at the default 1,600), so the memory limit is
// raised to 256 B per chat; the leak tests inject 4 KiB.
// The short compares' generator shares two cores with both targets and
// the other test packages, under the race detector in CI: a send lag p99
// of up to 100 ms still counts as on schedule (20 ms by default), so that
// one busy moment does not make the compare inconclusive for a saturated
// round. The chats are still timed from their intended send.
func shortCompare(out string, extra ...string) []string {
	return append([]string{"compare", "--quiet", "--out", out,
		"--rounds", "5", "--round-duration", "1s", "--warmup", "300ms", "--settle", "200ms",
		"--http-rate", "100", "--ws-rate", "100", "--users", "20", "--max-retained", "256",
		"--max-send-lag", "100ms"}, extra...)
}

func readSummary(t *testing.T, dir string) *results.Summary {
	t.Helper()
	var s results.Summary
	if err := results.ReadJSON(filepath.Join(dir, results.SummaryFile), &s); err != nil {
		t.Fatal(err)
	}
	return &s
}

func builtinTargets(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("starts child targets")
	}
	t.Setenv(envAsMain, "1")
}

func TestCompareBuiltinTargetsEndToEnd(t *testing.T) {
	builtinTargets(t)
	dir := filepath.Join(t.TempDir(), "run")
	// A 3 ms mean configure window (0–6 ms) makes the legacy baseline misroute
	// many of its chats (5 ms apart here), so the run has the defect to find.
	code, out, errOut := runCmd(context.Background(), t, shortCompare(dir, "--baseline-args", "--configure-window 3ms")...)
	if code != exitOK && code != exitInconclusive {
		t.Fatalf("exit %d, want pass (0) or inconclusive (4)\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	if !strings.HasPrefix(out, "verdict: ") {
		t.Errorf("stdout does not start with the verdict:\n%s", out)
	}
	sum := readSummary(t, dir)
	if sum.Rounds != 5 || len(sum.Latency) != 6 {
		t.Errorf("rounds %d, %d latency verdicts; want 5 and 6 (2 protocols × 3 percentiles)", sum.Rounds, len(sum.Latency))
	}
	if sum.Isolation[results.Candidate].Violations != 0 || sum.Isolation[results.Candidate].Verdict != results.Pass {
		t.Errorf("candidate isolation %+v, want no violations", sum.Isolation[results.Candidate])
	}
	if sum.Isolation[results.Baseline].Violations == 0 || sum.Isolation[results.Baseline].DistinctFactoryIDs != 1 {
		t.Errorf("baseline isolation %+v, want the legacy leak and one factory id", sum.Isolation[results.Baseline])
	}
	if got, req := sum.Isolation[results.Candidate].DistinctFactoryIDs, sum.Requests[results.Candidate]; got != req {
		t.Errorf("candidate: %d distinct factory ids for %d requests, want one per request", got, req)
	}
	if m := sum.Memory[results.Candidate]; m.FactoriesLiveAfter != 0 || m.Verdict != results.Pass {
		t.Errorf("candidate memory %+v, want released", m)
	}
	// The legacy build misroutes overlapping chats: their owners fail
	// (counted as the baseline's target errors, kept out of its latency).
	if e := sum.Errors; e == nil || e.BaselineErrors == 0 || e.CandidateErrors != 0 {
		t.Errorf("errors %+v, want the legacy baseline's misrouted chats and none of the candidate's", e)
	}
	run, err := results.ReadRun(dir)
	if err != nil {
		t.Fatal(err)
	}
	if run.Rounds() != 5 {
		t.Errorf("stored rounds %d, want 5", run.Rounds())
	}
	// Interleaved: the seed draws who goes first in round 1 (the
	// baseline for an even seed), and the rounds alternate from there.
	first := 1
	if run.Plan().Seed%2 == 1 {
		first = 2
	}
	for r := 1; r <= 5; r++ {
		want := first
		if r%2 == 0 {
			want = 3 - first
		}
		if o := run.Segment(results.Baseline, r).Manifest.Order; o != want {
			t.Errorf("seed %d round %d: baseline order %d, want %d", run.Plan().Seed, r, o, want)
		}
	}
	bench, err := os.ReadFile(filepath.Join(dir, results.BenchFile))
	if err != nil || !strings.Contains(string(bench), "impl=candidate") || !strings.Contains(string(bench), "p99-ns") {
		t.Errorf("rounds.bench: %v\n%s", err, bench)
	}
	// The load accounting of every build and protocol, over the 5 rounds.
	for _, build := range []string{results.Baseline, results.Candidate} {
		var reqs int64
		for _, proto := range []string{results.HTTP, results.WS} {
			a := sum.Load[build][proto]
			reqs += a.Requests
			if a.Segments != 5 || a.Requests == 0 || a.InFlightMax < 1 || a.InFlightMean <= 0 || a.SendLagLimitMs != 100 || a.GeneratorErrors != 0 {
				t.Errorf("%s %s accounting %+v", build, proto, a)
			}
		}
		if reqs != sum.Requests[build] {
			t.Errorf("%s: accounting counts %d requests, summary %d", build, reqs, sum.Requests[build])
		}
	}
	if !strings.Contains(out, "\nload ") || !strings.Contains(out, "candidate ws") {
		t.Errorf("stdout lacks the load table:\n%s", out)
	}
	if len(childPIDs(t)) != 0 {
		t.Errorf("child processes left: %v", childPIDs(t))
	}
}

func TestCompareSlowCandidateFailsOnLatency(t *testing.T) {
	builtinTargets(t)
	dir := filepath.Join(t.TempDir(), "run")
	code, out, errOut := runCmd(context.Background(), t, shortCompare(dir, "--candidate-args", "--slowdown 1.5")...)
	if code != exitFail {
		t.Fatalf("exit %d, want 1\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	failed := 0
	for _, l := range readSummary(t, dir).Latency {
		if l.Verdict == results.Fail {
			failed++
			if l.Ratio <= 1.05 {
				t.Errorf("%s p%g failed with ratio %.3f", l.Protocol, l.Percentile, l.Ratio)
			}
		}
	}
	if failed == 0 {
		t.Errorf("no latency verdict failed:\n%s", out)
	}
}

func TestCompareLeakyCandidateFailsOnMemory(t *testing.T) {
	builtinTargets(t)
	dir := filepath.Join(t.TempDir(), "run")
	code, out, errOut := runCmd(context.Background(), t, shortCompare(dir, "--candidate-args", "--leak 4096")...)
	if code != exitFail {
		t.Fatalf("exit %d, want 1\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	m := readSummary(t, dir).Memory[results.Candidate]
	if m.Verdict != results.Fail || m.RetainedBytesPerRequest < 2048 {
		t.Errorf("candidate memory %+v, want a failure near 4096 B/request", m)
	}
}

func TestCompareLegacyCandidateFailsOnIsolation(t *testing.T) {
	builtinTargets(t)
	dir := filepath.Join(t.TempDir(), "run")
	code, out, errOut := runCmd(context.Background(), t, shortCompare(dir, "--candidate-impl", "baseline")...)
	if code != exitFail {
		t.Fatalf("exit %d, want 1\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	iv := readSummary(t, dir).Isolation[results.Candidate]
	if iv.Verdict != results.Fail || iv.Violations == 0 {
		t.Errorf("candidate isolation %+v, want violations", iv)
	}
}

// TestComparePartialFailsIsolationOnWebSocketOnly: the half-migrated build
// (HTTP on per-request factories, the WebSocket route still configuring the
// singleton) fails isolation on WebSocket and passes it on HTTP, and keeps
// no more factories live than the legacy baseline. A 2 ms configure window
// makes the WebSocket chats overlap in every round at this short load.
func TestComparePartialFailsIsolationOnWebSocketOnly(t *testing.T) {
	builtinTargets(t)
	dir := filepath.Join(t.TempDir(), "run")
	code, out, errOut := runCmd(context.Background(), t, shortCompare(dir, "--candidate-impl", "partial", "--candidate-args", "--configure-window 2ms")...)
	if code != exitFail {
		t.Fatalf("exit %d, want 1\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	sum := readSummary(t, dir)
	iv := sum.Isolation[results.Candidate]
	h, w := iv.Protocols[results.HTTP], iv.Protocols[results.WS]
	if w.Verdict != results.Fail || w.Violations == 0 {
		t.Errorf("candidate ws isolation %+v, want violations", w)
	}
	if h.Verdict != results.Pass || h.Checked == 0 || h.Violations != 0 {
		t.Errorf("candidate http isolation %+v, want checked and clean", h)
	}
	if !strings.Contains(sum.Reason, "http pass: 0 of") || !strings.Contains(sum.Reason, "ws fail: ") {
		t.Errorf("reason %q does not say which protocol failed", sum.Reason)
	}
	if m := sum.Memory[results.Candidate]; m.FactoriesLiveAfter != 1 || strings.Contains(m.Note, "(the baseline keeps") {
		t.Errorf("candidate memory %+v: the singleton is the baseline's too", m)
	}
}

func TestCompareUnreachableExits3Quickly(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "run")
	start := time.Now()
	code, _, errOut := runCmd(context.Background(), t, "compare", "--quiet", "--out", dir,
		"--baseline", "http://127.0.0.1:1", "--candidate", "http://127.0.0.1:1")
	if code != exitRunError {
		t.Fatalf("exit %d, want 3; stderr %q", code, errOut)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("took %s to report an unreachable target", d)
	}
	if !strings.Contains(errOut, "127.0.0.1:1") || strings.Count(strings.TrimSpace(errOut), "\n") != 0 {
		t.Errorf("stderr %q, want one line naming the address", errOut)
	}
}

func TestCompareBadUsageExits2(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{
		{"compare", "--rounds", "1"},
		{"compare", "--round-duration", "-1s"},
		{"compare", "--http-rate", "-5"},
		{"compare", "--http-rate", "0", "--ws-rate", "0"},
		{"compare", "--budget", "abc"},
		{"compare", "--baseline", "http://127.0.0.1:9"},
		{"compare", "--baseline", "ftp://x", "--candidate", "ftp://y"},
		{"compare", "--no-such-flag"},
		{"compare", "extra-arg"},
		{"compare", "--candidate-impl", "nope"},
		{"compare", "--max-in-flight", "0"},
		{"compare", "--max-send-lag=-1ms"},
		{"compare", "--max-event-gap=-1ms"},
		{"compare", "--arrivals=bursty"},
	} {
		dir := filepath.Join(t.TempDir(), "run")
		code, out, errOut := runCmd(context.Background(), t, append(args, "--out", dir)...)
		if code != exitUsage {
			t.Errorf("%v: exit %d, want 2 (stderr %q)", args, code, errOut)
			continue
		}
		if out != "" || !strings.HasPrefix(errOut, "loadbench: ") || strings.Count(strings.TrimSpace(errOut), "\n") != 0 {
			t.Errorf("%v: stdout %q stderr %q, want one error line", args, out, errOut)
		}
		if _, err := os.Stat(dir); err == nil {
			t.Errorf("%v: wrote %s", args, dir)
		}
	}
}

func TestCompareInterruptedKeepsPartialResultsAndNoChildren(t *testing.T) {
	builtinTargets(t)
	dir := filepath.Join(t.TempDir(), "run")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { // interrupt once both builds' round 2 is stored (the seed draws which runs first)
		stored := func(build string) bool {
			_, err := os.Stat(filepath.Join(results.SegmentDir(dir, build, 2), results.ManifestFile))
			return err == nil
		}
		deadline := time.Now().Add(2 * time.Minute)
		for time.Now().Before(deadline) {
			if stored(results.Baseline) && stored(results.Candidate) {
				cancel()
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
		cancel()
	}()
	code, out, errOut := runCmd(ctx, t, shortCompare(dir, "--rounds", "10")...)
	if code != exitRunError {
		t.Fatalf("exit %d, want 3\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	sum := readSummary(t, dir)
	if !sum.Partial || sum.Rounds < 2 || sum.Rounds >= 10 {
		t.Errorf("summary partial=%v rounds=%d, want a partial summary of the complete rounds", sum.Partial, sum.Rounds)
	}
	var m results.Manifest
	if err := results.ReadJSON(filepath.Join(dir, results.ManifestFile), &m); err != nil || !m.Partial {
		t.Errorf("manifest partial=%v err=%v", m.Partial, err)
	}
	if pids := childPIDs(t); len(pids) != 0 {
		t.Errorf("child processes left after interrupt: %v", pids)
	}
	if !strings.Contains(out, "partial run") {
		t.Errorf("stdout does not show the partial summary:\n%s", out)
	}
}

func TestCompareJSONPrintsSummary(t *testing.T) {
	builtinTargets(t)
	dir := filepath.Join(t.TempDir(), "run")
	code, out, errOut := runCmd(context.Background(), t, shortCompare(dir, "--rounds", "2", "--json", "--http-rate", "0")...)
	if code == exitUsage || code == exitRunError {
		t.Fatalf("exit %d\nstderr:\n%s", code, errOut)
	}
	var got map[string]any
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("stdout is not JSON: %v\n%s", err, out)
	}
	for _, k := range []string{"verdict", "budget", "rounds", "latency", "memory", "isolation", "requests"} {
		if _, ok := got[k]; !ok {
			t.Errorf("summary JSON lacks %q", k)
		}
	}
}

// With --rounds auto a clear regression is decided at an early look and
// the compare stops there, long before its plan's last round.
func TestCompareAutoRoundsStopsWhenDecided(t *testing.T) {
	builtinTargets(t)
	dir := filepath.Join(t.TempDir(), "run")
	args := []string{"compare", "--quiet", "--out", dir,
		"--rounds", "auto", "--max-duration", "80s", "--round-duration", "1s", "--warmup", "300ms", "--settle", "200ms",
		"--http-rate", "100", "--ws-rate", "0", "--users", "20", "--candidate-args", "--slowdown 1.5"}
	code, out, errOut := runCmd(context.Background(), t, args...)
	if code != exitFail {
		t.Fatalf("exit %d, want fail (1)\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	sum := readSummary(t, dir)
	if sum.Sequential == nil || sum.Sequential.MaxRounds < 10 {
		t.Fatalf("sequential plan %+v, want one of at least 10 rounds", sum.Sequential)
	}
	if sum.Rounds >= sum.Sequential.MaxRounds || sum.Rounds < sum.Sequential.MinRounds {
		t.Errorf("stopped after %d rounds; want at a look before the plan's %d", sum.Rounds, sum.Sequential.MaxRounds)
	}
	run, err := results.ReadRun(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(run.Manifest.Flags["stopped"], "decided after round") {
		t.Errorf("manifest stopped = %q", run.Manifest.Flags["stopped"])
	}
	if !strings.Contains(sum.Reason, "http p") || !strings.Contains(sum.Reason, "over the 5% budget") {
		t.Errorf("reason %q, want the latency regression", sum.Reason)
	}
}

// TestCompareUsageNamesFlags: the engine's checks speak of its
// configuration; the command's own name the flag to fix.
func TestCompareUsageNamesFlags(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--baseline", "http://127.0.0.1:9"}, "compare: give both --baseline and --candidate, or neither"},
		{[]string{"--baseline", "http://127.0.0.1:9", "--candidate", "http://127.0.0.1:8", "--candidate-args", "--leak 1"},
			"compare: --baseline-args and --candidate-args apply to the built-in targets only"},
		{[]string{"--candidate-impl", "nope"}, `compare: --baseline-impl or --candidate-impl must be baseline, perrequest or partial, got "nope"`},
		{[]string{"--round-duration", "-1s"}, "compare: --round-duration must be positive, got -1s"},
		{[]string{"--settle", "-1s"}, "compare: --settle must not be negative, got -1s"},
		{[]string{"--http-rate", "0", "--ws-rate", "0"}, "compare: both rates are off: nothing to send"},
		{[]string{"--users", "-3"}, "compare: --users must be between 1 and 1000000, got -3"},
	} {
		dir := filepath.Join(t.TempDir(), "run")
		code, _, errOut := runCmd(context.Background(), t, append(append([]string{"compare"}, c.args...), "--out", dir)...)
		if code != exitUsage || strings.TrimSpace(errOut) != "loadbench: "+c.want {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", c.args, code, errOut, c.want)
		}
	}
}
