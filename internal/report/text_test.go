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
