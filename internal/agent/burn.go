package agent

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// Steps of Burn between readings of the thread's CPU clock. Each step runs
// the iterations that the calibrated cost says fill three quarters of what
// is left (at most burnMaxStep; all of it under burnMinStep), so a burn of d
// reads the clock about log4(d/burnMinStep) times plus once per
// burnMaxStep, and ends at most a fraction of burnMinStep late.
const (
	burnMinStep = 2 * time.Microsecond
	burnMaxStep = 100 * time.Microsecond
)

// burnCalibration is how much thread CPU time the calibration spends
// measuring one iteration's cost.
const burnCalibration = 2 * time.Millisecond

// burnSink receives every burn's last digest, so the compiler cannot drop
// the work: each iteration hashes the previous one's digest.
var burnSink atomic.Uint64

// burnCosts are the thread CPU times Burn plans with.
type burnCosts struct {
	iteration float64       // one iteration, in nanoseconds (at least 1)
	overhead  time.Duration // what a burn costs beyond its target: clock readings, the last step
}

// burnCost is measured once per process: at the first Burn, or when a
// workflow with a burn is built (NewWorkflowFromConfig).
var burnCost = sync.OnceValue(calibrateBurn)

// Burn spends d of the calling goroutine's CPU time on real work, not a
// sleep: iterated SHA-256 over a 64-byte block that carries the previous
// digest. It runs on one locked OS thread and stops when that thread's CPU
// clock (CLOCK_THREAD_CPUTIME_ID where the system has it, the wall clock
// elsewhere) has advanced by d, so time spent descheduled (other goroutines,
// other processes on the core) does not count: a busy machine makes a burn
// take longer, not cost less. The costs of one iteration and of the clock
// readings are measured once per process, so that the clock is read every
// few microseconds of work rather than every iteration, and a burn of d
// costs d on average (about 2 µs at least: the readings). It returns ctx's
// error if ctx ends first (checked between steps) and nil once d is spent.
func Burn(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	c := burnCost()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	sum, err := burnFor(ctx, d-c.overhead, c.iteration)
	burnSink.Add(binary.LittleEndian.Uint64(sum[:8]))
	return err
}

// burnFor burns until the thread's CPU clock has advanced by d (at least
// one iteration), planning each step with the cost of an iteration in
// nanoseconds. The caller has locked the goroutine to its thread.
func burnFor(ctx context.Context, d time.Duration, iteration float64) ([sha256.Size]byte, error) {
	sum := sha256.Sum256([]byte("loadbench burn"))
	start := threadCPU()
	for left := d; ; {
		if err := ctx.Err(); err != nil {
			return sum, err
		}
		step := left
		if step > burnMinStep {
			step = min(step*3/4, burnMaxStep)
		}
		sum = burnIterations(sum, max(1, int(float64(step)/iteration)))
		if left = d - (threadCPU() - start); left <= 0 {
			return sum, nil
		}
	}
}

// burnIterations hashes n times, each time the previous digest followed by
// a fixed tail: 64 bytes, one SHA-256 block and its padding block.
func burnIterations(sum [sha256.Size]byte, n int) [sha256.Size]byte {
	var block [64]byte
	for i := range block[sha256.Size:] {
		block[sha256.Size+i] = byte(i)
	}
	for range n {
		copy(block[:], sum[:])
		sum = sha256.Sum256(block[:])
	}
	return sum
}

// calibrateBurn measures, on one locked thread, the thread CPU time of one
// burn iteration (doubling the iterations until a run takes
// burnCalibration), then what 200 burns of 10 µs cost beyond 10 µs: the
// overhead Burn subtracts from its target.
func calibrateBurn() burnCosts {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var c burnCosts
	var sum [sha256.Size]byte
	for n := 64; ; n *= 2 {
		start := threadCPU()
		sum = burnIterations(sum, n)
		if el := threadCPU() - start; el >= burnCalibration || n >= 1<<30 {
			c.iteration = max(1, float64(el)/float64(n))
			break
		}
	}
	const runs, target = 200, 10 * time.Microsecond
	start := threadCPU()
	for range runs {
		s, _ := burnFor(context.Background(), target, c.iteration)
		sum[0] ^= s[0]
	}
	// The readings around the loop cost one reading, about 1/runs of one
	// burn's overhead: negligible.
	c.overhead = max(0, (threadCPU()-start)/runs-target)
	burnSink.Add(binary.LittleEndian.Uint64(sum[:8]))
	return c
}

// wallStart is the origin of wallClock.
var wallStart = time.Now()

// wallClock is threadCPU's stand-in where the system has no thread CPU
// clock: the monotonic time since the package was initialized.
func wallClock() time.Duration { return time.Since(wallStart) }
