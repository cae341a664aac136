package load

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/loadbench/loadbench/results"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// goldenSegment is a fixed segment: the report's layout is pinned in
// testdata/, independent of any run's timing.
func goldenSegment() *results.Segment {
	h := results.NewProtocol(results.HTTP)
	w := results.NewProtocol(results.WS)
	for i := range 1000 {
		d := time.Duration(i+1) * 100 * time.Microsecond
		h.Latency.Record(d)
		w.Latency.Record(2 * d)
		w.FirstEvent.Record(d)
	}
	for i := range 10 {
		w.Connect.Record(time.Duration(i+1) * time.Millisecond)
	}
	h.Requests, h.Success, h.Duration, h.Wait = 1000, 997, 5*time.Second, 120*time.Millisecond
	h.Errors["http 500"] = 2
	h.Errors["timeout"] = 1
	h.Errors[results.ErrInFlightLimit] = 4
	h.NotSent = 4
	h.Failed = map[string]*results.Histogram{"http 500": results.NewHistogram(), "timeout": results.NewHistogram(), results.ErrInFlightLimit: results.NewHistogram()}
	h.Failed["http 500"].Record(3 * time.Millisecond)
	h.Failed["http 500"].Record(5 * time.Millisecond)
	h.Failed["timeout"].Record(30 * time.Second)
	for range 4 {
		h.Failed[results.ErrInFlightLimit].Record(0)
	}
	for i := range 1000 {
		h.SendLag.Record(time.Duration(i%10) * 50 * time.Microsecond)
		w.SendLag.Record(time.Duration(i%100) * time.Millisecond)
	}
	h.CheckSaturation(20 * time.Millisecond)
	w.CheckSaturation(20 * time.Millisecond)
	h.InFlightMax, h.InFlightMean = 12, 3.25
	w.InFlightMax, w.InFlightMean = 9, 2.5
	h.MaxEventGap, w.MaxEventGap, w.RedialWithin = 100*time.Millisecond, 100*time.Millisecond, 3*time.Second
	w.TimingViolations = 2
	w.TimingExamples = []string{"ws: 152ms between two events of a chat of lb_user_00004, over 100ms", "redial took 3.2s, over 3s"}
	w.ConnErrors = map[string]int64{"ws: dial: http 503": 1}
	h.BytesIn, h.BytesOut = 1_000_000, 140_000
	w.Requests, w.Success, w.Duration, w.Wait = 1000, 1000, 5*time.Second, 3*time.Millisecond
	w.Connections, w.Redials = 11, 1
	w.BytesIn, w.BytesOut = 950_000, 153_000
	return &results.Segment{
		Manifest:  results.Manifest{Kind: "attack", Targets: map[string]string{"http": "http://127.0.0.1:8080/api/agents/run", "ws": "ws://127.0.0.1:8080/api/demo/ws"}},
		Protocols: map[string]*results.Protocol{results.HTTP: h, results.WS: w},
		Isolation: results.Isolation{Checked: 6000, Violations: 2, DistinctFactoryIDs: 1, FactoryIDs: []string{"f"}, Examples: []results.Violation{
			{Protocol: "ws", UserID: "lb_user_00003", Reason: "foreign secret of lb_user_00007 in agent_thinking"},
			{Protocol: "http", UserID: "lb_user_00001", Reason: "foreign user id lb_user_00002 in agent_thinking.data"},
		}},
	}
}

func TestReportGolden(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		file string
		r    Reporter
	}{{"report.txt", TextReport(goldenSegment())}, {"report.json", JSONReport(goldenSegment())}} {
		var got bytes.Buffer
		if err := c.r(&got); err != nil {
			t.Fatal(err)
		}
		path := filepath.Join("testdata", c.file)
		if *update {
			if err := os.WriteFile(path, got.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if got.String() != string(want) {
			t.Errorf("%s differs (go test -update to accept):\n%s", c.file, got.String())
		}
	}
}
