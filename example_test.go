package loadbench_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/loadbench/loadbench"
	"github.com/loadbench/loadbench/targets"
)

// Attack a service for half a second at 100 chats/s over each protocol and
// check that every chat was answered correctly and no user saw another
// user's data. Here the service is the project's per-request build, served
// in this process on a loopback port by package targets.
func ExampleAttack() {
	target, err := targets.Start(targets.ImplPerRequest)
	if err != nil {
		log.Fatal(err)
	}
	defer target.Close()

	res, err := loadbench.Attack(context.Background(), target.URL, loadbench.Options{
		HTTPRate: loadbench.PerSecond(100),
		WSRate:   loadbench.PerSecond(100),
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

// Invalid input is an error wrapping ErrUsage; nothing is sent. Where one
// setting is at fault the error is a *FieldError that names it.
func ExampleAttack_usage() {
	_, err := loadbench.Attack(context.Background(), "ftp://127.0.0.1:8080", loadbench.Options{})
	fmt.Println(errors.Is(err, loadbench.ErrUsage))
	_, err = loadbench.Attack(context.Background(), "http://127.0.0.1:8080", loadbench.Options{
		HTTPRate: loadbench.PerSecond(-5),
	})
	fmt.Println(err)
	// Output:
	// true
	// attack: http rate must be a positive number of chats per second, got -5
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
	target, err := targets.Start(targets.ImplPerRequest)
	if err != nil {
		log.Fatal(err)
	}
	defer target.Close()

	res, err := loadbench.Attack(context.Background(), target.URL, loadbench.Options{
		HTTPRate:    loadbench.PerSecond(200), // WSRate left zero: HTTP only
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

// Compare a candidate deployment against a baseline and act on the
// verdict. Here both are the project's per-request build, served in this
// process; against real deployments pass their URLs, and leave the rounds
// and their length at their defaults. Without a Dir the run directory is a
// new temporary one.
func ExampleCompare() {
	baseline, err := targets.Start(targets.ImplPerRequest)
	if err != nil {
		log.Fatal(err)
	}
	defer baseline.Close()
	candidate, err := targets.Start(targets.ImplPerRequest)
	if err != nil {
		log.Fatal(err)
	}
	defer candidate.Close()

	cmp, err := loadbench.Compare(context.Background(), baseline.URL, candidate.URL, loadbench.CompareOptions{
		Rounds:        2,
		RoundDuration: 300 * time.Millisecond,
		NoWarmup:      true,
		Settle:        50 * time.Millisecond,
		HTTPRate:      loadbench.PerSecond(50),
		WSRate:        loadbench.PerSecond(50),
		Users:         5,
		Candidate:     loadbench.Side{Alive: candidate.Alive},
	})
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(cmp.Dir)

	// cmp.Verdict is Pass, Fail or Inconclusive; a gate acts on it:
	//	if cmp.Verdict != loadbench.Pass { log.Fatalf("%s: see %s", cmp.Reason, cmp.Dir) }
	fmt.Println("verdict reached:", cmp.Verdict != 0)
	fmt.Println("rounds:", cmp.Rounds)
	fmt.Println("latency checks:", len(cmp.Latency)) // 2 protocols × p50, p95, p99
	_, err = os.Stat(cmp.Dir)
	fmt.Println("run directory written:", err == nil)
	// Output:
	// verdict reached: true
	// rounds: 2
	// latency checks: 6
	// run directory written: true
}

// A setting at fault is a *FieldError: Field names it in words, a stable
// key for a program (a command maps it to its own flag's name).
func ExampleFieldError() {
	_, err := loadbench.Compare(context.Background(), "http://127.0.0.1:8081", "http://127.0.0.1:8082",
		loadbench.CompareOptions{RoundDuration: -time.Second})
	if fe, ok := errors.AsType[*loadbench.FieldError](err); ok {
		fmt.Printf("field %q: %s\n", fe.Field, fe.Problem)
	}
	fmt.Println(errors.Is(err, loadbench.ErrUsage))
	fmt.Println(err)
	// Output:
	// field "round duration": must be positive, got -1s
	// true
	// compare: round duration must be positive, got -1s
}
