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
