package cpu

import (
	"context"
	"fmt"
	"time"
)

// Source is where a reading comes from.
type Source string

// Sources of a reading.
const (
	// SourceMetrics is process_cpu_seconds_total on a target's /metrics.
	SourceMetrics Source = "metrics"
	// SourceCgroup is usage_usec of a cgroup v2 cpu.stat.
	SourceCgroup Source = "cgroup"
	// SourceProc is utime+stime of /proc/PID/stat.
	SourceProc Source = "proc"
)

// Reading is one reading of a cumulative CPU-time counter: user and system
// time of every thread counted.
type Reading struct {
	Source Source
	// Seconds is the CPU time counted since the process started (metrics,
	// proc) or since the cgroup was created (cgroup).
	Seconds float64
	// Resolution is the counter's step in seconds: 1/ClockTicks for proc,
	// 1e-6 for cgroup, 0 when the source does not say (metrics; the Go
	// collector's is 1/ClockTicks on Linux).
	Resolution float64
	// Start identifies the process counted by its start time as the source
	// gives it: process_start_time_seconds (Unix seconds) for metrics,
	// seconds after boot for proc; 0 when unknown (cgroup, or a /metrics
	// without it). Two readings whose non-zero Starts differ count different
	// processes: the target restarted, or a load balancer chose another one.
	Start float64
	// At is when the counter was read, on this process's clock; zero from
	// the Parse functions.
	At time.Time
}

// Counter reads a cumulative CPU-time counter: Metrics, Cgroup or Proc.
type Counter interface {
	Read(ctx context.Context) (Reading, error)
}

var (
	_ Counter = Metrics{}
	_ Counter = Cgroup{}
	_ Counter = Proc{}
)

// PerChat is the CPU seconds per answered chat between two readings of one
// counter: (after − before) / chats. Readings of different sources or of
// different processes, a counter that went back, and no chats are errors.
func PerChat(before, after Reading, chats int64) (float64, error) {
	switch {
	case before.Source != after.Source:
		return 0, fmt.Errorf("cpu per chat: readings of %s and of %s", before.Source, after.Source)
	case before.Start != 0 && after.Start != 0 && before.Start != after.Start:
		return 0, fmt.Errorf("cpu per chat: %s readings of two processes (started at %v and at %v)", before.Source, before.Start, after.Start)
	case after.Seconds < before.Seconds:
		return 0, fmt.Errorf("cpu per chat: %s counter went back from %v s to %v s", before.Source, before.Seconds, after.Seconds)
	case chats <= 0:
		return 0, fmt.Errorf("cpu per chat: %d answered chats", chats)
	}
	return (after.Seconds - before.Seconds) / float64(chats), nil
}
