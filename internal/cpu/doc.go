// Package cpu reads how much CPU time a target has spent, from the outside,
// so that a capacity run can divide it by the chats the target answered.
// Three sources, one Reading each:
//
//   - Metrics: process_cpu_seconds_total on the target's Prometheus /metrics
//     (text format, parsed with prometheus/common/expfmt). The Go client's
//     process collector reads it on Linux from /proc/self/stat, in steps of
//     10 ms; process_start_time_seconds, when present, tells two processes
//     behind one URL apart.
//   - Cgroup: usage_usec of a cgroup v2 cpu.stat file, in microseconds: every
//     process of a container, children included. CgroupStatPath finds a
//     local process's file.
//   - Proc: utime+stime of /proc/PID/stat for a local process (all its
//     threads, not its children), in clock ticks of 1/ClockTicks s: 100 per
//     second on Linux.
//
// Each counter is cumulative; PerChat turns two readings of one counter and
// the number of chats answered between them into CPU seconds per chat, and
// refuses readings of different sources or processes. A reading's
// Resolution says how coarse it is: a difference of a few hundredths of a
// second from /proc or the Go collector is mostly rounding.
package cpu
