//go:build !linux

package agent

import "time"

// nanosleep sleeps d on a runtime timer where nanosleep(2) is not at hand.
func nanosleep(d time.Duration) { time.Sleep(d) }
