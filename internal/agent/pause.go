package agent

import (
	"context"
	"time"
)

// PreciseBelow is the wait under which Pause blocks its thread in the
// kernel instead of sleeping on a runtime timer.
const PreciseBelow = 2 * time.Millisecond

// Pause waits d, or until ctx is done (its error). A runtime timer ends a
// short wait at the runtime's next poll: about 1.1 ms on this machine
// whatever the wait asked (time.Sleep of 50 µs to 1 ms, measured on
// 2026-11-27), so a 200 µs delay added 1.1 ms. Waits under PreciseBelow
// therefore block the goroutine's thread in nanosleep(2) (where the system
// has it), which takes the wait plus about 85 µs here (200 µs → 290 µs,
// 800 µs → 900 µs, the mean of 300 sleeps on an idle machine) and costs no
// CPU; the runtime gives the thread's processor to other goroutines
// meanwhile. Such a wait is not interrupted by ctx; ctx is checked after.
func Pause(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	if d < PreciseBelow {
		if err := ctx.Err(); err != nil {
			return err
		}
		nanosleep(d)
		return ctx.Err()
	}
	return sleep(ctx, d)
}
