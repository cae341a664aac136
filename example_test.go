package loadbench_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"time"

	"github.com/loadbench/loadbench"
)

// Attack a service for half a second at 100 chats/s over each protocol and
// check that every chat was answered correctly and no user saw another
// user's data. Here the service is the project's per-request build, served
// on a loopback port.
func ExampleAttack() {
	target, err := loadbench.StartTarget(loadbench.PerRequest)
	if err != nil {
		log.Fatal(err)
	}
	defer target.Close()

	res, err := loadbench.Attack(context.Background(), target.URL, loadbench.Options{
		HTTPRate: 100,
		WSRate:   100,
		Users:    10,
		Duration: 500 * time.Millisecond,
	})
	if err != nil {
		log.Fatal(err)
	}
	for _, p := range res.Protocols {
		fmt.Printf("%s: errors %d, all answered %t, p50 <= p99 %t\n",
			p.Protocol, p.Errors, p.Answered == p.Chats && p.Chats > 0, p.P50 <= p.P99)
	}
	fmt.Println("isolation violations:", res.Isolation.Violations)
	// Output:
	// http: errors 0, all answered true, p50 <= p99 true
	// ws: errors 0, all answered true, p50 <= p99 true
	// isolation violations: 0
}

// Invalid input is an error wrapping ErrUsage; nothing is sent.
func ExampleAttack_usage() {
	_, err := loadbench.Attack(context.Background(), "ftp://127.0.0.1:8080", loadbench.Options{})
	fmt.Println(errors.Is(err, loadbench.ErrUsage))
	_, err = loadbench.Attack(context.Background(), "http://127.0.0.1:8080", loadbench.Options{HTTPRate: -5})
	fmt.Println(err)
	// Output:
	// true
	// attack: http rate must be positive, Off or Max, got -5
}

// metricPrinter prints what a benchmark would receive; in a benchmark pass
// the *testing.B itself: res.ReportMetrics(b).
type metricPrinter struct{}

func (metricPrinter) ReportMetric(v float64, unit string) {
	switch unit {
	case "ns/op", "errors":
		fmt.Println(unit, v)
	default:
		fmt.Println(unit, v > 0)
	}
}

// ReportMetrics puts a Result into a benchmark: latency percentiles in
// milliseconds and failed chats, with ns/op dropped.
func ExampleResult_ReportMetrics() {
	target, err := loadbench.StartTarget(loadbench.PerRequest)
	if err != nil {
		log.Fatal(err)
	}
	defer target.Close()

	res, err := loadbench.Attack(context.Background(), target.URL, loadbench.Options{
		HTTPRate:    200,
		WSRate:      loadbench.Off,
		MaxRequests: 50,
		Duration:    time.Second,
	})
	if err != nil {
		log.Fatal(err)
	}
	res.ReportMetrics(metricPrinter{})
	// Output:
	// ns/op 0
	// p50-ms true
	// p95-ms true
	// p99-ms true
	// errors 0
}

// Compare a candidate deployment against a baseline, both already running,
// and act on the verdict. (Not run here: it needs two deployments.)
func ExampleCompare() {
	ctx := context.Background()
	cmp, err := loadbench.Compare(ctx, "http://127.0.0.1:8081", "http://127.0.0.1:8082", loadbench.CompareOptions{
		Rounds:        6,
		RoundDuration: 5 * time.Second,
		Budget:        0.05,
	})
	if err != nil {
		log.Fatal(err)
	}
	for _, l := range cmp.Latency {
		fmt.Printf("%s p%g: %s → %s (%s)\n", l.Protocol, l.Percentile, l.Baseline, l.Candidate, l.Verdict)
	}
	fmt.Println(cmp.Verdict, cmp.Reason)
	if cmp.Verdict != loadbench.Pass {
		log.Fatalf("candidate does not pass: see %s", cmp.Dir)
	}
}
