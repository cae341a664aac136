package loadbench_test

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/loadbench/loadbench"
	"github.com/loadbench/loadbench/results"
	"github.com/loadbench/loadbench/targets"
)

// TestCompareFieldErrors: every setting of CompareOptions at fault is a
// *FieldError naming it in words, the engine's own checks included.
func TestCompareFieldErrors(t *testing.T) {
	t.Parallel()
	a, b := "http://127.0.0.1:1", "http://127.0.0.1:2"
	ping := loadbench.Access{WSPing: -time.Second}
	for _, c := range []struct {
		field string
		o     loadbench.CompareOptions
	}{
		{"round duration", loadbench.CompareOptions{RoundDuration: -time.Second}},
		{"rounds", loadbench.CompareOptions{Rounds: 1}},
		{"min rounds", loadbench.CompareOptions{MinRounds: 1}},
		{"max duration", loadbench.CompareOptions{MaxDuration: -time.Second}},
		{"max duration", loadbench.CompareOptions{MaxDuration: 20 * time.Second}}, // no room for the first look
		{"warmup", loadbench.CompareOptions{Warmup: -time.Second}},
		{"settle", loadbench.CompareOptions{Settle: -time.Second}},
		{"http rate", loadbench.CompareOptions{HTTPRate: loadbench.PerSecond(0)}},
		{"ws rate", loadbench.CompareOptions{WSRate: loadbench.PerSecond(-1)}},
		{"arrivals", loadbench.CompareOptions{Arrivals: 2}},
		{"max send lag", loadbench.CompareOptions{MaxSendLag: -time.Second}},
		{"max event gap", loadbench.CompareOptions{MaxEventGap: -time.Second}},
		{"max error rate", loadbench.CompareOptions{MaxErrorRate: 2}},
		{"budget", loadbench.CompareOptions{Budget: 1}},
		{"percentiles", loadbench.CompareOptions{Percentiles: []float64{50, 50}}},
		{"alpha", loadbench.CompareOptions{Alpha: -0.1}},
		{"error budget", loadbench.CompareOptions{ErrorBudget: -0.1}},
		{"max retained", loadbench.CompareOptions{MaxRetained: -1}},
		{"users", loadbench.CompareOptions{Users: -2}},
		{"timeout", loadbench.CompareOptions{Timeout: -time.Second}},
		{"max in flight", loadbench.CompareOptions{MaxInFlight: -1}},
		{"baseline ws ping", loadbench.CompareOptions{Baseline: loadbench.Side{Access: ping}}},
		{"candidate ws ping", loadbench.CompareOptions{Candidate: loadbench.Side{Access: ping}}},
	} {
		cmp, err := loadbench.Compare(context.Background(), a, b, c.o)
		if cmp != nil {
			t.Errorf("%s: a comparison for bad input", c.field)
		}
		fieldError(t, c.field, "compare", c.field, err)
		if err != nil && strings.Contains(err.Error(), "attack") || strings.Contains(err.Error(), "--") {
			t.Errorf("%s: %q speaks of an attack or a flag", c.field, err)
		}
	}
}

// TestCompareFieldErrorRoundDuration is the example, in full.
func TestCompareFieldErrorRoundDuration(t *testing.T) {
	t.Parallel()
	_, err := loadbench.Compare(context.Background(), "http://127.0.0.1:1", "http://127.0.0.1:2",
		loadbench.CompareOptions{RoundDuration: -time.Second})
	fe, ok := errors.AsType[*loadbench.FieldError](err)
	if !ok || fe.Op != "compare" || fe.Field != "round duration" || fe.Problem != "must be positive, got -1s" {
		t.Fatalf("err %v (%#v), want a FieldError about the round duration", err, fe)
	}
	if got, want := err.Error(), "compare: round duration must be positive, got -1s"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}

// TestComparePlan: Plan fills in every default and plans the rounds of an
// automatic compare (58 of the defaults: 10 min of 4 s rounds, as the README
// says); every No... field shows in it.
func TestComparePlan(t *testing.T) {
	t.Parallel()
	p, err := loadbench.CompareOptions{}.Plan()
	if err != nil {
		t.Fatal(err)
	}
	want := results.Plan{
		Rounds: 0, MinRounds: loadbench.DefaultMinRounds, MaxRounds: 58, // 10 min: (600 − 2 − 2×3 − 10 s) / (2 × (4 + 0.5 + 0.5 s))
		MaxDuration:   results.Duration(loadbench.DefaultMaxDuration),
		RoundDuration: results.Duration(loadbench.DefaultRoundDuration),
		Warmup:        results.Duration(loadbench.DefaultWarmup), Settle: results.Duration(loadbench.DefaultSettle),
		HTTPRate: loadbench.DefaultRate, WSRate: loadbench.DefaultRate, Users: loadbench.DefaultUsers,
		Timeout: results.Duration(loadbench.DefaultTimeout), Arrivals: "poisson",
		HTTPPath: loadbench.DefaultHTTPPath, WSPath: loadbench.DefaultWSPath,
		MaxInFlight: loadbench.DefaultMaxInFlight, MaxSendLag: results.Duration(loadbench.DefaultMaxSendLag),
		MaxEventGap: results.Duration(loadbench.DefaultMaxEventGap),
		MetricsPath: loadbench.DefaultMetricsPath, GCPath: loadbench.DefaultGCPath,
		MaxErrorRate: loadbench.DefaultMaxErrorRate, Budget: loadbench.DefaultBudget,
		Percentiles: loadbench.DefaultPercentiles(), Alpha: loadbench.DefaultAlpha,
		ErrorBudget: loadbench.DefaultErrorBudget, MemoryGate: true, MaxRetained: loadbench.DefaultMaxRetained,
	}
	if !reflect.DeepEqual(p, want) {
		t.Errorf("default plan\n got %+v\nwant %+v", p, want)
	}
	if !p.Sequential() {
		t.Error("the default plan is not sequential")
	}

	p, err = loadbench.CompareOptions{
		Rounds: 4, WSRate: loadbench.PerSecond(5), Arrivals: loadbench.Constant,
		NoWarmup: true, Warmup: time.Second, NoSettle: true, NoMetrics: true, NoGC: true,
		NoSendLagLimit: true, NoEventGapLimit: true, NoMemoryGate: true, MinRounds: 5, MaxDuration: time.Hour,
	}.Plan()
	if err != nil {
		t.Fatal(err)
	}
	if p.Rounds != 4 || p.MinRounds != 0 || p.MaxRounds != 0 || p.MaxDuration != 0 || p.Sequential() ||
		p.HTTPRate != 0 || p.WSRate != 5 || p.Arrivals != "constant" || p.Warmup != 0 || p.Settle != 0 ||
		p.MetricsPath != "" || p.GCPath != "" || p.MaxSendLag != 0 || p.MaxEventGap != 0 || p.MemoryGate {
		t.Errorf("plan with every No...: %+v", p)
	}
	if _, err := (loadbench.CompareOptions{HTTPRate: loadbench.Max()}).Plan(); !errors.Is(err, loadbench.ErrUsage) {
		t.Errorf("Plan with Max: err %v", err)
	}
}

// TestComparePlanRecordsSides: Plan is the plan "as manifest.json records
// it", and the manifest's plan records each side's build and arguments.
func TestComparePlanRecordsSides(t *testing.T) {
	t.Parallel()
	p, err := loadbench.CompareOptions{
		Baseline:  loadbench.Side{Build: "v1", Args: []string{"-x"}},
		Candidate: loadbench.Side{Build: "v2"},
	}.Plan()
	if err != nil {
		t.Fatal(err)
	}
	if p.Baseline.Build != "v1" || !slices.Equal(p.Baseline.Args, []string{"-x"}) || p.Candidate.Build != "v2" {
		t.Errorf("Plan().Baseline %+v, Candidate %+v; want v1 [-x] and v2, as the manifest records them", p.Baseline, p.Candidate)
	}
}

// deadURL is the URL of a loopback port where nothing listens.
func deadURL(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return "http://" + addr
}

// TestCompareTempDirRemovedOnEarlyFailure: a compare without a Dir that
// fails before its first round leaves no temporary directory behind. The
// test points the temporary directory at one of its own, so that no other
// test's compare can be mistaken for a leak, and checks that the compare
// did create its directory there while it ran.
func TestCompareTempDirRemovedOnEarlyFailure(t *testing.T) {
	base := startTarget(t, targets.ImplPerRequest)
	cand := deadURL(t)
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	if os.TempDir() != tmp {
		t.Skipf("os.TempDir() = %s ignores TMPDIR", os.TempDir())
	}
	pattern := filepath.Join(os.TempDir(), "loadbench-compare-*")
	before, _ := filepath.Glob(pattern)
	var during []string
	cmp, err := loadbench.Compare(context.Background(), base.URL, cand, loadbench.CompareOptions{
		Warmup: 100 * time.Millisecond, RoundDuration: 200 * time.Millisecond, Rounds: 2,
		HTTPRate: loadbench.PerSecond(20), WSRate: loadbench.PerSecond(20), Users: 2,
		Progress: func(p loadbench.CompareProgress) {
			if p.Phase == loadbench.PhaseWarmup && during == nil {
				during, _ = filepath.Glob(pattern)
			}
		},
	})
	if err == nil || cmp != nil {
		t.Fatalf("cmp %+v, err %v: want an error and no comparison", cmp, err)
	}
	if !errors.Is(err, loadbench.ErrUnreachable) || errors.Is(err, loadbench.ErrUsage) {
		t.Errorf("err %v, want ErrUnreachable", err)
	}
	if len(during) != len(before)+1 {
		t.Errorf("while it ran: %v, before %v: want one new directory", during, before)
	}
	after, _ := filepath.Glob(pattern)
	for _, d := range after {
		if !slices.Contains(before, d) {
			t.Errorf("left behind: %s", d)
		}
	}
}

// TestCompareInProcessPass compares two per-request builds served in this
// process: the same code, so the gate must pass. They share the
// generator's heap, which the compare knows from their process token: the
// heap slope is reported, not gated, and says why.
//
// The settings are what it takes to decide on two shared cores, measured
// run by run (verdict, rounds used of the most planned):
//
//   - With no failed chat on either side the error check passes only once
//     the candidate has answered about 1000·z² chats (z the look's
//     boundary): 100/s per protocol in 1 s rounds ran out of rounds
//     (inconclusive 18 of 18, errors undecided).
//   - p99 is too noisy in one process to be told from a 5% budget in a
//     bounded time: at 200/s per protocol its 98.96% interval was still
//     ±5–7% after 9 to 13 rounds of 3 s (inconclusive in 2 of 4 quiet
//     runs, pass in the others; Poisson arrivals were worse). So p50 and
//     p95 are gated; p99 is for the real compare of separate processes.
//   - Constant arrivals at 200/s per protocol in 3 s rounds, p50 and p95,
//     then passed in 8, 10 and 7 of at most 13 rounds (57 s, 72 s, 50 s),
//     and once ran out of rounds with ws p95 at +1.1% (CI 0.97–1.05)
//     while other tests loaded the machine.
//   - So the budget is 10%: what this test shows is that two in-process
//     builds reach PASS at all (their shared heap no longer fails the
//     memory rule), not the 5% resolution, which is the real compare's
//     (issue 19's work on deciding in a gate's time).
func TestCompareInProcessPass(t *testing.T) {
	if testing.Short() {
		t.Skip("a compare until decided takes tens of seconds")
	}
	if raceEnabled {
		// Measured: at these rates under -race the generator was saturated
		// in 18 of the 36 protocol segments of 9 rounds: inconclusive.
		t.Skip("the race detector slows targets and generator several-fold: the generator saturates at the rates a decision needs")
	}
	base, cand := startTarget(t, targets.ImplPerRequest), startTarget(t, targets.ImplPerRequest)
	cmp, err := loadbench.Compare(context.Background(), base.URL, cand.URL, loadbench.CompareOptions{
		HTTPRate: loadbench.PerSecond(200), WSRate: loadbench.PerSecond(200), Users: 20,
		RoundDuration: 3 * time.Second, Warmup: 300 * time.Millisecond, Settle: 100 * time.Millisecond,
		Arrivals: loadbench.Constant, Percentiles: []float64{50, 95}, Budget: 0.10,
		MaxDuration: 180 * time.Second, Dir: t.TempDir(), // 20 rounds at most: the errors check alone needs ~6
		Baseline:  loadbench.Side{Build: targets.ImplPerRequest, Alive: base.Alive},
		Candidate: loadbench.Side{Build: targets.ImplPerRequest, Alive: cand.Alive},
	})
	if err != nil {
		t.Fatal(err)
	}
	mem := cmp.Summary.Memory[results.Candidate]
	t.Logf("verdict %s after %d rounds: %s; candidate memory %s (%s)", cmp.Verdict, cmp.Rounds, cmp.Reason, mem.Verdict, mem.Note)
	for _, l := range cmp.Latency {
		t.Logf("%s p%g: %s vs %s, ratio %.3f (%.3f–%.3f) %s", l.Protocol, l.Percentile, l.Baseline, l.Candidate, l.Ratio, l.Low, l.High, l.Verdict)
	}
	if cmp.Verdict != loadbench.Pass {
		t.Errorf("verdict %s, want pass: %s; candidate memory %s: %s", cmp.Verdict, cmp.Reason, mem.Verdict, mem.Note)
	}
	if mem.Verdict != results.Pass || !strings.Contains(mem.Note, "shares the load generator's process") {
		t.Errorf("candidate memory %s, note %q: want pass, the shared process named", mem.Verdict, mem.Note)
	}
	if cmp.Partial || cmp.Rounds < loadbench.DefaultMinRounds {
		t.Errorf("partial %t after %d rounds", cmp.Partial, cmp.Rounds)
	}
}

// The seed is drawn when not given, recorded in the plan and the summary,
// and a given seed replays the compare's draws: its user ids (so its
// arrival schedules) and which build goes first in round 1.
func TestCompareSeed(t *testing.T) {
	if testing.Short() {
		t.Skip("three compares of two targets take seconds")
	}
	base, cand := startTarget(t, targets.ImplPerRequest), startTarget(t, targets.ImplPerRequest)
	run := func(seed uint64) *results.Run {
		t.Helper()
		dir := filepath.Join(t.TempDir(), "run")
		_, err := loadbench.Compare(context.Background(), base.URL, cand.URL, loadbench.CompareOptions{
			Rounds: 2, RoundDuration: 200 * time.Millisecond, NoWarmup: true, Settle: 20 * time.Millisecond,
			HTTPRate: loadbench.PerSecond(50), WSRate: loadbench.PerSecond(50), Users: 4, Seed: seed, Dir: dir,
		})
		if err != nil {
			t.Fatal(err)
		}
		r, err := results.ReadRun(dir)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	first := func(r *results.Run) string {
		for _, b := range []string{results.Baseline, results.Candidate} {
			if r.Segment(b, 1).Manifest.Order == 1 {
				return b
			}
		}
		return ""
	}
	for _, seed := range []uint64{42, 43} {
		r := run(seed)
		if r.Plan().Seed != seed || r.Summary.Seed != seed {
			t.Errorf("seed %d: plan %d, summary %d", seed, r.Plan().Seed, r.Summary.Seed)
		}
		want := results.Baseline // 42 + round 1 is odd: the baseline goes first
		if seed == 43 {
			want = results.Candidate
		}
		if got := first(r); got != want {
			t.Errorf("seed %d: %s first in round 1, want %s", seed, got, want)
		}
		if r.Segment(want, 2).Manifest.Order != 2 {
			t.Errorf("seed %d: %s first in both rounds; the rounds alternate", seed, want)
		}
	}
	a, b := run(0), run(0)
	if a.Plan().Seed == 0 || a.Plan().Seed > loadbench.MaxSeed || a.Plan().Seed == b.Plan().Seed {
		t.Errorf("drawn seeds %d and %d: want two different ones in [1, MaxSeed]", a.Plan().Seed, b.Plan().Seed)
	}
	if _, err := loadbench.Compare(context.Background(), base.URL, cand.URL, loadbench.CompareOptions{Seed: loadbench.MaxSeed + 1}); err == nil {
		t.Error("a seed over MaxSeed was taken")
	}
}
