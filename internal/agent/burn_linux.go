package agent

import (
	"time"

	"golang.org/x/sys/unix"
)

// threadClock reports whether the kernel serves CLOCK_THREAD_CPUTIME_ID
// (every Linux since 2.6.12); it is asked once, so readings never mix clocks.
var threadClock = func() bool {
	var ts unix.Timespec
	return unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts) == nil
}()

// threadCPU is the calling thread's CPU time (CLOCK_THREAD_CPUTIME_ID:
// user and system time, nanosecond resolution; a system call, about a
// microsecond), or the wall clock where the kernel refuses that clock. The
// caller keeps its goroutine on one thread (runtime.LockOSThread) between
// readings.
func threadCPU() time.Duration {
	if !threadClock {
		return wallClock()
	}
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts); err != nil {
		return wallClock()
	}
	return time.Duration(ts.Nano())
}
