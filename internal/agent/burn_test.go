package agent

import (
	"context"
	"errors"
	"runtime"
	"testing"
	"time"
)

// threadCPUOf is the thread CPU time f spends, on a locked thread.
func threadCPUOf(f func()) time.Duration {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	start := threadCPU()
	f()
	return threadCPU() - start
}

// A burn costs what it asks on the thread's CPU clock: never less than
// 90% of it on average, and not a multiple of it. The bound above is loose
// on purpose: the cost of an iteration is calibrated once, and on a busy
// machine (the race detector, other processes evicting the caches) the
// same iterations take more CPU time, which a tight bound would charge to
// the burn (seen: 29 µs for 20 µs under -race with the whole suite
// running). The measured accuracy (within a few percent on an idle
// machine) is stated in Burn's doc, not asserted here.
func TestBurnSpendsThreadCPUTime(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		d    time.Duration
		runs int
	}{{20 * time.Microsecond, 500}, {2 * time.Millisecond, 20}} {
		var total time.Duration
		for range c.runs {
			total += threadCPUOf(func() {
				if err := Burn(context.Background(), c.d); err != nil {
					t.Fatal(err)
				}
			})
		}
		mean := total / time.Duration(c.runs)
		if lo, hi := c.d*9/10, 2*c.d+10*time.Microsecond; mean < lo || mean > hi {
			t.Errorf("burn %s: %s of thread CPU on average over %d, want %s–%s (calibration %+v)", c.d, mean, c.runs, lo, hi, burnCost())
		}
	}
	if got := threadCPUOf(func() { _ = Burn(context.Background(), 0) }); got > 100*time.Microsecond {
		t.Errorf("burn 0 spent %s", got)
	}
}

// A burn is work, not a sleep: its wall time exceeds its CPU time by no
// more than that of the same work done without Burn's clock (the calibrated
// iterations), which is stretched as much by other processes on the cores.
// The best of five pairs, so that a burst of contention does not fail it; a
// burn that slept as long as it worked would exceed it by about d.
func TestBurnDoesNotSleep(t *testing.T) {
	const d = 20 * time.Millisecond
	iterations := int(float64(d) / burnCost().iteration)
	idle := func(f func()) (wall, cpu time.Duration) {
		start := time.Now()
		cpu = threadCPUOf(f)
		return time.Since(start), cpu
	}
	best := time.Hour
	for range 5 {
		wall, cpu := idle(func() {
			if err := Burn(context.Background(), d); err != nil {
				t.Fatal(err)
			}
		})
		if cpu < d*9/10 {
			t.Fatalf("burn %s spent %s of CPU in %s", d, cpu, wall)
		}
		refWall, refCPU := idle(func() { burnIterations([32]byte{}, iterations) })
		best = min(best, (wall-cpu)-(refWall-refCPU))
	}
	if best > d/4 {
		t.Errorf("burn %s: its wall time exceeded its CPU time by %s more than plain work's, at best", d, best)
	}
}

func TestBurnStopsWhenContextEnds(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := Burn(ctx, time.Second); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled burn: %v", err)
	}
	ctx, cancel = context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	start := time.Now()
	if err := Burn(ctx, time.Minute); !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 10*time.Second {
		t.Errorf("burn of a minute under a 20 ms deadline: %v after %s", err, time.Since(start))
	}
}

// WithBurn makes every run of the workflow spend that much more CPU, in its
// own goroutine; a negative burn is none and Slowdown does not scale it.
func TestWorkflowBurns(t *testing.T) {
	t.Parallel()
	uctx, err := NewUserExecutionContext("lb_user_00001", "lb_thread_00001", NewID("run"))
	if err != nil {
		t.Fatal(err)
	}
	cost := func(w *Workflow) time.Duration {
		const runs = 10
		emit := func(Event, []byte) error { return nil }
		return threadCPUOf(func() {
			for range runs {
				if _, err := w.Run(context.Background(), Input{Context: uctx, Message: "hello"}, emit); err != nil {
					t.Fatal(err)
				}
			}
		}) / runs
	}
	const d = 3 * time.Millisecond
	plain := cost(NewWorkflow(WithThink(0), WithTool(0)))
	burning := cost(NewWorkflow(WithThink(0), WithTool(0), WithBurn(d), WithSlowdown(2)))
	if extra := burning - plain; extra < d*9/10 || extra > d*12/10 {
		t.Errorf("a run with a burn of %s cost %s more than without (%s)", d, extra, plain)
	}
	if c := NewConfig(WithBurn(-time.Second)); c.Burn != 0 {
		t.Errorf("negative burn kept: %s", c.Burn)
	}
	if c := NewConfig(); c.Burn != DefaultBurn {
		t.Errorf("default burn %s", c.Burn)
	}
}
