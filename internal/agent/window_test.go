package agent

import (
	"context"
	"testing"
	"time"
)

// TestWindowSleepIsPrecise: a sub-millisecond window (Pause) lasts about
// what it asks, not the runtime's ~1 ms poll. The bound is loose (the
// fastest of 20 under 1 ms, ten times the wait) so a loaded machine does
// not fail it; a timer sleep of 100 µs takes about 1.1 ms here, nanosleep
// about 185 µs.
func TestWindowSleepIsPrecise(t *testing.T) {
	w := Window{Mean: 100 * time.Microsecond, Fixed: true}
	uctx, err := NewUserExecutionContext("lb_user_00001", "lb_thread_00001", NewID("run"))
	if err != nil {
		t.Fatal(err)
	}
	best := time.Hour
	for range 20 {
		start := time.Now()
		if err := w.Sleep(context.Background(), uctx, 0); err != nil {
			t.Fatal(err)
		}
		best = min(best, time.Since(start))
	}
	if best < 100*time.Microsecond || best > time.Millisecond {
		t.Fatalf("fastest of 20 windows of 100µs took %s", best)
	}
}

func TestWindowSleepCancelled(t *testing.T) {
	t.Parallel()
	w := Window{Mean: time.Millisecond, Fixed: true}
	uctx, err := NewUserExecutionContext("lb_user_00001", "lb_thread_00001", NewID("run"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := w.Sleep(ctx, uctx, 0); err != context.Canceled {
		t.Fatalf("cancelled window: %v, want context.Canceled", err)
	}
}
