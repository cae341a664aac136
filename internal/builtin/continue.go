package builtin

import (
	"context"
	"fmt"

	"github.com/loadbench/loadbench"
	"github.com/loadbench/loadbench/internal/usage"
)

// Continue continues the stored compare of built-in builds in dir
// (loadbench.Continue): it checks the continuation, starts the builds its
// plan records again with the same serve flags, from executable, each
// logging to <dir>/<build>.continued-<n>.log, continues the run against
// them, and stops them.
func Continue(ctx context.Context, executable, dir string, o loadbench.ContinueOptions) (*loadbench.Comparison, error) {
	// Checked before any process starts, with stand-in URLs: the builds'
	// are known only once they listen.
	check := o
	check.BaselineURL, check.CandidateURL = "http://baseline.invalid", "http://candidate.invalid"
	plan, err := check.Plan(dir)
	if err != nil {
		return nil, err
	}
	if plan.Baseline.Build == "" || plan.Candidate.Build == "" {
		return nil, usage.Errorf("continue: %s: compared deployments by url, not built-in builds: give their urls", dir)
	}
	if executable == "" {
		return nil, usage.Errorf("continue: no loadbench executable to start the built-in targets")
	}
	spec := Spec{
		Executable: executable,
		Baseline:   Build{Impl: plan.Baseline.Build, Args: plan.Baseline.Args},
		Candidate:  Build{Impl: plan.Candidate.Build, Args: plan.Candidate.Args},
	}
	procs, err := start(ctx, spec, dir, fmt.Sprintf(".continued-%d", len(plan.Continued)))
	defer stop(procs)
	if err != nil {
		return nil, startErr(err)
	}
	o.BaselineURL, o.CandidateURL = procs[0].URL, procs[1].URL
	o.Baseline.Alive, o.Candidate.Alive = procs[0].Alive, procs[1].Alive
	return loadbench.Continue(ctx, dir, o)
}
