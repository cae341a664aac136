package agent

import (
	"syscall"
	"time"
)

// nanosleep blocks the calling thread for d, resuming after signals.
func nanosleep(d time.Duration) {
	ts := syscall.NsecToTimespec(int64(d))
	for syscall.Nanosleep(&ts, &ts) == syscall.EINTR {
	}
}
