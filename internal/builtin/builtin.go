package builtin

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/loadbench/loadbench"
	"github.com/loadbench/loadbench/internal/usage"
	"github.com/loadbench/loadbench/results"
	"github.com/loadbench/loadbench/targets"
)

// Build is one built-in build to start: its name (targets.Impls) and
// extra serve flags.
type Build struct {
	Impl string
	Args []string
}

// Spec says which builds a compare starts, from which executable.
type Spec struct {
	// Executable is the loadbench binary that serves them.
	Executable          string
	Baseline, Candidate Build
}

// Compare starts spec's builds, compares them with o (o.Dir is required:
// each build's log goes there as baseline.log and candidate.log), and
// stops them. Bad serve flags are usage errors; a build that does not start
// is a run error.
func Compare(ctx context.Context, spec Spec, o loadbench.CompareOptions) (*loadbench.Comparison, error) {
	if err := spec.prepare("compare", o.Dir, func() error { _, err := o.Plan(); return err }); err != nil {
		return nil, err
	}
	procs, err := start(ctx, spec, o.Dir, "")
	defer stop(procs)
	if err != nil {
		keepRecord(o, err)
		return nil, startErr(err)
	}
	for i, b := range []Build{spec.Baseline, spec.Candidate} {
		side := []*loadbench.Side{&o.Baseline, &o.Candidate}[i]
		side.Build, side.Args, side.Alive = b.Impl, b.Args, procs[i].Alive
	}
	return loadbench.Compare(ctx, procs[0].URL, procs[1].URL, o)
}

// prepare checks, before any process starts, what starting spec's builds
// for op needs: known builds, the plan (checkPlan), a run directory for
// their logs (created) and the executable.
func (spec Spec) prepare(op, dir string, checkPlan func() error) error {
	for _, b := range []Build{spec.Baseline, spec.Candidate} {
		if !targets.ValidImpl(b.Impl) {
			return usage.Fieldf(op, "build", "must be %s, %s or %s, got %q", targets.ImplBaseline, targets.ImplPerRequest, targets.ImplPartial, b.Impl)
		}
	}
	if err := checkPlan(); err != nil {
		return err
	}
	switch {
	case dir == "":
		return usage.Errorf("%s: no run directory for the built-in targets' logs", op)
	case spec.Executable == "":
		return usage.Errorf("%s: no loadbench executable to start the built-in targets", op)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("%s: %w: %w", op, err, usage.ErrUsage)
	}
	return nil
}

// start starts spec's builds side by side, each logging to
// <dir>/<build><logSuffix>.log. The processes started are returned also
// with an error (of both builds, joined), to be stopped.
func start(ctx context.Context, spec Spec, dir, logSuffix string) ([]*targets.Process, error) {
	procs := make([]*targets.Process, 2)
	var errs [2]error
	var wg sync.WaitGroup
	for i, b := range []Build{spec.Baseline, spec.Candidate} {
		name := []string{results.Baseline, results.Candidate}[i]
		wg.Go(func() {
			procs[i], errs[i] = targets.StartProcess(ctx, targets.ProcessConfig{
				Executable: spec.Executable, Impl: b.Impl, Args: b.Args, Name: name,
				Log: filepath.Join(dir, name+logSuffix+".log"),
			})
		})
	}
	wg.Wait()
	return procs, errors.Join(errs[:]...)
}

// startErr is the error of builds that did not start: bad serve flags are
// a usage error, anything else a run error.
func startErr(err error) error {
	if errors.Is(err, targets.ErrProcessUsage) {
		return fmt.Errorf("compare: %w: %w", err, usage.ErrUsage)
	}
	return fmt.Errorf("compare: %w", err)
}

// keepRecord writes the manifest of a compare whose targets did not start:
// what was run, and why it stopped, beside the targets' logs.
func keepRecord(o loadbench.CompareOptions, err error) {
	m := results.NewManifest("compare", o.CommandLine)
	if o.Flags != nil {
		m.Flags = o.Flags
	}
	m.End, m.Partial = time.Now().UTC(), true
	m.Note = "the built-in targets did not start: " + strings.ReplaceAll(err.Error(), "\n", "; ")
	_ = results.WriteJSON(filepath.Join(o.Dir, results.ManifestFile), m) // the error is returned anyway
}

// stop ends the started processes side by side.
func stop(procs []*targets.Process) {
	var wg sync.WaitGroup
	for _, p := range procs {
		if p != nil {
			wg.Go(p.Stop)
		}
	}
	wg.Wait()
}
