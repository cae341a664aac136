//go:build !linux

package agent

import "time"

// threadCPU is the wall clock where the thread CPU clock is not at hand: a
// burn then spends d of wall time busy, which is d of CPU on an idle core.
func threadCPU() time.Duration { return wallClock() }
