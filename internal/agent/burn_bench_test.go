//go:build linux

package agent

import (
	"context"
	"runtime"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// processCPU is the CPU time of every thread of this process.
func processCPU(b *testing.B) time.Duration {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_PROCESS_CPUTIME_ID, &ts); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ts.Nano())
}

// contextSwitches are this process's voluntary and involuntary context
// switches so far.
func contextSwitches(b *testing.B) int64 {
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return ru.Nvcsw + ru.Nivcsw
}

// BenchmarkBurn reports what a burn costs the whole process, all threads
// (cpu-us/op, from CLOCK_PROCESS_CPUTIME_ID), and the context switches per
// burn (switches/op): a burn that handed its P to another thread and back
// would show in both. "serial" burns in a loop. "gomaxprocs1" is a target's
// situation (pinned, GOMAXPROCS=1): 64 goroutines each sleep 1 ms, as a chat
// waits for its tool, then burn; its "burn=0" case is the same without the
// burn, so the burn's own cost is the difference of the two cpu-us/op.
// Measured here (2 CPUs, shared): serial 20 µs → 20.2–21 cpu-us/op;
// gomaxprocs1 20 µs minus burn=0 → 21 µs; under 0.03 switches/op in both
// (no hand-offs: the burn's clock is a raw system call, see threadCPU).
//
//	go test -run '^$' -bench Burn -benchtime 2000x ./internal/agent/
func BenchmarkBurn(b *testing.B) {
	burnCost()
	report := func(b *testing.B, cpu0 time.Duration, sw0 int64) {
		b.StopTimer()
		b.ReportMetric(float64(processCPU(b)-cpu0)/float64(b.N)/1e3, "cpu-us/op")
		b.ReportMetric(float64(contextSwitches(b)-sw0)/float64(b.N), "switches/op")
	}
	for _, d := range []time.Duration{20 * time.Microsecond, 200 * time.Microsecond} {
		b.Run("serial/burn="+d.String(), func(b *testing.B) {
			cpu0, sw0 := processCPU(b), contextSwitches(b)
			for b.Loop() {
				if err := Burn(context.Background(), d); err != nil {
					b.Fatal(err)
				}
			}
			report(b, cpu0, sw0)
		})
	}
	for _, d := range []time.Duration{0, 20 * time.Microsecond} {
		b.Run("gomaxprocs1/burn="+d.String(), func(b *testing.B) {
			defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
			b.SetParallelism(64)
			cpu0, sw0 := processCPU(b), contextSwitches(b)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					time.Sleep(time.Millisecond)
					if err := Burn(context.Background(), d); err != nil {
						b.Error(err)
						return
					}
				}
			})
			report(b, cpu0, sw0)
		})
	}
}
