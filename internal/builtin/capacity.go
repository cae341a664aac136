package builtin

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/loadbench/loadbench"
	"github.com/loadbench/loadbench/internal/usage"
	"github.com/loadbench/loadbench/results"
	"github.com/loadbench/loadbench/targets"
)

// Capacity starts spec's builds, pinned apart from the generator where
// the machine has at least 2 CPUs (the targets on the upper half of this
// process's CPUs, the generator on the lower half, GOMAXPROCS at least 2 on each side,
// recorded in the plan), runs loadbench.Capacity with o (o.Dir is
// required: each build's log goes there), stops them and restores this
// process's CPUs. Bad serve flags are usage errors; a build that does not
// start is a run error.
func Capacity(ctx context.Context, spec Spec, o loadbench.CapacityOptions) (*loadbench.CapacityResult, error) {
	o.Local = true
	for i, b := range []Build{spec.Baseline, spec.Candidate} {
		side := []*loadbench.Side{&o.Baseline, &o.Candidate}[i]
		side.Build, side.Args = b.Impl, b.Args
	}
	if err := spec.prepare("capacity", o.Dir, func() error { _, err := o.CapacityPlan(); return err }); err != nil {
		return nil, err
	}
	pin, restore := pinning()
	defer restore()
	procs := make([]*targets.Process, 2)
	defer stop(procs)
	for i, b := range []Build{spec.Baseline, spec.Candidate} {
		name := []string{results.Baseline, results.Candidate}[i]
		var err error
		procs[i], err = startPinned(ctx, pin, targets.ProcessConfig{
			Executable: spec.Executable, Impl: b.Impl, Args: b.Args, Name: name,
			Log: filepath.Join(o.Dir, name+".log"),
		})
		if err != nil {
			m := results.NewManifest(results.CapacityKind, o.CommandLine)
			m.End, m.Partial = time.Now().UTC(), true
			m.Note = "the built-in targets did not start: " + strings.ReplaceAll(err.Error(), "\n", "; ")
			_ = results.WriteJSON(filepath.Join(o.Dir, results.ManifestFile), m) // the error is returned anyway
			if errors.Is(err, targets.ErrProcessUsage) {
				return nil, fmt.Errorf("capacity: %w: %w", err, usage.ErrUsage)
			}
			return nil, fmt.Errorf("capacity: %w", err)
		}
	}
	o.Baseline.Alive, o.Candidate.Alive = procs[0].Alive, procs[1].Alive
	if pin != nil && pinGenerator(pin) != nil {
		pin = nil // record no pinning rather than a wrong one
	}
	o.Pinning = pin
	return loadbench.Capacity(ctx, procs[0].URL, procs[1].URL, o)
}
