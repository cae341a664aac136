package main

import (
	"fmt"
	"path/filepath"

	"github.com/loadbench/loadbench"
	"github.com/loadbench/loadbench/internal/builtin"
	"github.com/loadbench/loadbench/results"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// continueFlags are compare's flags that continue a stored run.
type continueFlags struct {
	dir       string
	maxRounds int
}

func (c *continueFlags) register(f *pflag.FlagSet) {
	f.StringVar(&c.dir, "continue", "", "continue the stored, inconclusive compare in run directory `DIR`: the same plan and seed, more rounds numbered after its last complete one, the verdict recomputed over all (built-in builds are started again; URLs, headers and TLS flags are given again)")
	f.IntVar(&c.maxRounds, "max-rounds", 0, "with --continue: the plan's most rounds from now on, `N` in all (default: what fits in --max-duration, or the stored plan's max duration)")
}

// continueAllowed are the flags --continue takes besides its own: the
// extension, the output, and how the deployments are reached (never
// stored). The rest would change the stored plan.
func continueAllowed(name string) bool {
	switch name {
	case "continue", "max-rounds", "max-duration", "json", "quiet", "baseline", "candidate":
		return true
	}
	return isTransportFlag(name) || isSecretFlag(name)
}

// runContinue continues the stored compare in --continue's directory:
// loadbench.Continue, with the built-in builds started again when the run
// compared them.
func runContinue(cmd *cobra.Command, s streams, cf *compareFlags) error {
	f := cmd.Flags()
	var conflict string
	f.Visit(func(fl *pflag.Flag) {
		if conflict == "" && !continueAllowed(fl.Name) {
			conflict = fl.Name
		}
	})
	dir := cf.cont.dir
	switch {
	case dir == "":
		return usageErr("compare: --max-rounds applies to --continue DIR only")
	case conflict != "":
		return usageErr("compare: --%s conflicts with --continue: a continued run keeps its stored plan and builds (only --max-duration, --max-rounds, the URLs and the transport flags may be given)", conflict)
	case (cf.baseline == "") != (cf.candidate == ""):
		return usageErr("compare: give both --baseline and --candidate, or neither")
	case f.Changed("max-rounds") && cf.cont.maxRounds <= 0:
		return usageErr("compare: --max-rounds must be positive, got %d", cf.cont.maxRounds)
	case f.Changed("max-duration") && cf.gate.maxDuration <= 0:
		return usageErr("compare: --max-duration must be positive, got %s", cf.gate.maxDuration)
	}
	o := loadbench.ContinueOptions{
		MaxRounds: cf.cont.maxRounds, BaselineURL: cf.baseline, CandidateURL: cf.candidate,
		CommandLine: redactArgs(s.Args), Reports: true,
	}
	if f.Changed("max-duration") {
		o.MaxDuration = cf.gate.maxDuration
	}
	var access loadbench.CompareOptions
	if err := applyTransport(f, &access, cf); err != nil {
		return err
	}
	o.Baseline.Access, o.Candidate.Access = access.Baseline.Access, access.Candidate.Access
	var prog *progressLine
	if !cf.quiet && isTerminal(s.Err) {
		prog = &progressLine{w: s.Err}
		o.Progress = prog.compare
	}
	var cmp *loadbench.Comparison
	var err error
	if o.BaselineURL == "" && builtIn(dir) {
		exe, exeErr := s.executable()
		if exeErr != nil {
			return withCode(exitRunError, fmt.Errorf("compare: find own executable: %w", exeErr))
		}
		cmp, err = builtin.Continue(cmd.Context(), exe, dir, o)
	} else {
		cmp, err = loadbench.Continue(cmd.Context(), dir, o)
	}
	prog.clear()
	return compareOutcome(s, dir, cmp, err, cf.jsonOut, cf.quiet)
}

// builtIn reports whether the run in dir compared built-in builds, as its
// plan records; a run it cannot read is left to loadbench.Continue to
// refuse.
func builtIn(dir string) bool {
	var m results.Manifest
	if err := results.ReadJSON(filepath.Join(dir, results.ManifestFile), &m); err != nil || m.Plan == nil {
		return false
	}
	return m.Plan.Baseline.Build != "" && m.Plan.Candidate.Build != ""
}
