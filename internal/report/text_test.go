package report

import (
	"strings"
	"testing"

	"github.com/loadbench/loadbench/results"
)

func TestTextLeadsWithVerdict(t *testing.T) {
	t.Parallel()
	sum := &results.Summary{Verdict: results.Fail, Reason: "http p99 +12% over the 5% budget", Budget: 0.05, Rounds: 6,
		Latency: []results.LatencyVerdict{{Protocol: "http", Percentile: 99, BaselineMs: 10, CandidateMs: 11.2, Ratio: 1.12, CILow: 1.08, CIHigh: 1.17, PValue: 0.002, Verdict: results.Fail}},
		Memory:  map[string]results.MemoryVerdict{results.Candidate: {RetainedBytes: 2048, RetainedBytesPerRequest: 1.5, FactoriesLiveAfter: 0, AgentInstancesRetained: -1, Verdict: results.Pass}},
	}
	var b strings.Builder
	if err := Text(sum)(&b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	if !strings.HasPrefix(out, "verdict: FAIL: http p99 +12% over the 5% budget\n") {
		t.Errorf("first line: %q", strings.SplitN(out, "\n", 2)[0])
	}
	for _, want := range []string{"1.080–1.170", "2.0 KiB", "not reported"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

func TestTextShowsLoadAccounting(t *testing.T) {
	t.Parallel()
	sum := &results.Summary{Verdict: results.Inconclusive, Reason: "generator saturated", Rounds: 2,
		Load: map[string]map[string]results.Accounting{
			results.Baseline:  {"http": {Segments: 2, Requests: 990, Success: 980, TargetErrors: 10, TargetErrorRate: 10.0 / 990, GeneratorErrors: 12, NotSent: 10, InFlightMax: 40, InFlightMean: 3.25, SendLagP99Ms: 31.5, SaturatedSegments: 1, TimingViolations: 3}},
			results.Candidate: {"http": {Segments: 2, Requests: 1000, Success: 1000}},
		},
		Warnings: []string{"baseline round 2 http: the generator was saturated (p99 send lag 31.5ms over 20ms): its latencies measure the generator too"},
	}
	var b strings.Builder
	if err := Text(sum)(&b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{"load", "generator errors", "not sent", "baseline http", "10 (1.01%)", "40/3.2", "31.50 ms", "1 of 2", "candidate http", "warning: baseline round 2 http: the generator was saturated"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

// The text report shows each protocol's errors with the difference and
// its verdict, the pooled counts, and the memory difference that is gated.
func TestTextShowsErrorsPerProtocolAndMemoryDifference(t *testing.T) {
	t.Parallel()
	sum := &results.Summary{Verdict: results.Fail, Reason: "candidate ws errors: ...", Rounds: 6,
		Memory: map[string]results.MemoryVerdict{
			results.Baseline:  {SlopeBytesPerChat: 13, SlopeLow: 10, SlopeHigh: 16, Points: 7, Verdict: results.Info},
			results.Candidate: {SlopeBytesPerChat: 45, SlopeLow: 41, SlopeHigh: 49, Points: 7, Verdict: results.Fail},
		},
		MemoryComparison: &results.MemoryComparison{BaselineBytesPerChat: 13, CandidateBytesPerChat: 45, DiffBytesPerChat: 32, DiffLow: 27, DiffHigh: 37, Limit: 16, Verdict: results.Fail},
		Errors:           &results.ErrorVerdict{BaselineChats: 9600, CandidateErrors: 48, CandidateChats: 9600, CandidateRate: 0.005, Verdict: results.Fail},
		ErrorsByProtocol: map[string]*results.ErrorVerdict{
			results.WS:   {CandidateErrors: 48, BaselineChats: 4800, CandidateChats: 4800, CandidateRate: 0.01, Diff: 0.01, DiffLow: 0.006, DiffHigh: 0.014, CandidateDesignEffect: 1.4, Verdict: results.Fail, Protocol: results.WS},
			results.HTTP: {BaselineChats: 4800, CandidateChats: 4800, DiffLow: -0.0008, DiffHigh: 0.0008, Verdict: results.Pass, Protocol: results.HTTP},
		},
	}
	var b strings.Builder
	if err := Text(sum)(&b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"candidate − baseline  ", "+32 B (CI +27 to +37), limit 16 B",
		"candidate http", "+0.000 points (CI -0.080 to +0.080)",
		"candidate ws", "+1.000 points (CI +0.600 to +1.400), design effect 1.0 / 1.4",
		"all protocols", "0 / 48",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	table := out[strings.Index(out, "\nerrors "):]
	if http, ws := strings.Index(table, "candidate http"), strings.Index(table, "candidate ws"); http > ws {
		t.Errorf("ws before http:\n%s", out)
	}
	// A summary from before the per-protocol rule keeps its pooled table.
	sum.ErrorsByProtocol = nil
	b.Reset()
	if err := Text(sum)(&b); err != nil {
		t.Fatal(err)
	}
	if out := b.String(); strings.Contains(out, "all protocols") || !strings.Contains(out, "candidate  48") {
		t.Errorf("pooled errors of an old summary:\n%s", out)
	}
}
