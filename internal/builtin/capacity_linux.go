//go:build linux

package builtin

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strconv"

	"golang.org/x/sys/unix"

	"github.com/loadbench/loadbench/results"
	"github.com/loadbench/loadbench/targets"
)

// pinning plans the CPUs: with at least 2 CPUs allowed to this process,
// the generator gets the lower half and the targets the upper half (they
// are loaded one at a time), each with GOMAXPROCS at least minProcs. It
// returns nil with fewer, and a function that gives this process its CPUs
// and GOMAXPROCS back.
func pinning() (*results.Pinning, func()) {
	var set unix.CPUSet
	procs := runtime.GOMAXPROCS(0)
	if err := unix.SchedGetaffinity(0, &set); err != nil {
		return nil, func() {}
	}
	var cpus []int
	for c := range 1024 {
		if set.IsSet(c) {
			cpus = append(cpus, c)
		}
	}
	restore := func() {
		_ = pinSelf(cpus)
		runtime.GOMAXPROCS(procs)
	}
	if len(cpus) < 2 {
		return nil, restore
	}
	half := len(cpus) / 2
	return &results.Pinning{
		GeneratorCPUs: cpus[:half], TargetCPUs: cpus[half:],
		GeneratorGOMAXPROCS: max(minProcs, half), TargetGOMAXPROCS: max(minProcs, len(cpus)-half),
		Method: "sched_setaffinity",
	}, restore
}

// minProcs is the least GOMAXPROCS of a pinned process, even on one CPU.
// A Go process with a single P stalls under this load: measured on the
// 2-CPU development VM, a per-request target at 500 + 500 chats/s with
// GOMAXPROCS=1 stalled in 19 of 115 3-second attacks pinned to one CPU and
// in 7 of 25 unpinned (p50 21–637 ms instead of 8 ms, requests unread in
// its sockets while it was mostly idle and no thread waited in epoll), and
// in none of 25 with GOMAXPROCS=2 on the same one CPU, nor of 25 unpinned
// (docs/capacity.md, "One P stalls"). Such a
// stall is the Go runtime's, not the build's, and would be charged to
// whichever build was loaded; the generator, also pinned, gets the same.
const minProcs = 2

// startPinned starts a target whose process inherits the targets' CPUs
// and GOMAXPROCS: it is forked from a thread set to those CPUs for the
// start, and given all of this process's CPUs back afterwards. The thread
// must outlive the start: the child's death signal follows the thread that
// forked it.
func startPinned(ctx context.Context, pin *results.Pinning, c targets.ProcessConfig) (*targets.Process, error) {
	if pin == nil {
		return targets.StartProcess(ctx, c)
	}
	type started struct {
		p   *targets.Process
		err error
	}
	ch := make(chan started, 1)
	go func() {
		runtime.LockOSThread()
		var set, all unix.CPUSet
		for _, cpu := range pin.TargetCPUs {
			set.Set(cpu)
			all.Set(cpu)
		}
		for _, cpu := range pin.GeneratorCPUs {
			all.Set(cpu)
		}
		if err := unix.SchedSetaffinity(0, &set); err != nil {
			runtime.UnlockOSThread()
			ch <- started{err: fmt.Errorf("pin %s target: %w", c.Name, err)}
			return
		}
		prev, had := os.LookupEnv("GOMAXPROCS")
		os.Setenv("GOMAXPROCS", strconv.Itoa(pin.TargetGOMAXPROCS))
		p, err := targets.StartProcess(ctx, c)
		if had {
			os.Setenv("GOMAXPROCS", prev)
		} else {
			os.Unsetenv("GOMAXPROCS")
		}
		if unix.SchedSetaffinity(0, &all) == nil {
			runtime.UnlockOSThread()
		} // else the thread stays locked to this goroutine, which ends: the runtime ends it
		ch <- started{p, err}
	}()
	s := <-ch
	return s.p, s.err
}

// pinSelf sets the CPUs of every thread of this process (threads made
// later inherit them from the thread that makes them).
func pinSelf(cpus []int) error {
	var set unix.CPUSet
	for _, c := range cpus {
		set.Set(c)
	}
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		return err
	}
	var errs []error
	for _, t := range tasks {
		tid, err := strconv.Atoi(t.Name())
		if err != nil {
			continue
		}
		if err := unix.SchedSetaffinity(tid, &set); err != nil && !errors.Is(err, unix.ESRCH) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// pinGenerator pins this process to the generator's CPUs, GOMAXPROCS as
// the plan says (at least minProcs).
func pinGenerator(pin *results.Pinning) error {
	if err := pinSelf(pin.GeneratorCPUs); err != nil {
		return err
	}
	runtime.GOMAXPROCS(pin.GeneratorGOMAXPROCS)
	return nil
}
