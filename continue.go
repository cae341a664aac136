package loadbench

import (
	"cmp"
	"context"
	"errors"
	"net/http"
	"slices"
	"time"

	"github.com/loadbench/loadbench/internal/compare"
	"github.com/loadbench/loadbench/internal/gate"
	"github.com/loadbench/loadbench/internal/usage"
	"github.com/loadbench/loadbench/results"
)

// ContinueOptions shape the continuation of a stored compare (Continue).
// The zero value adds the rounds that fit in the stored plan's MaxDuration
// and reaches the deployments at the run's stored URLs, without headers.
type ContinueOptions struct {
	// MaxRounds is the plan's most rounds from now on, in all: more than
	// the run's complete rounds and at least its plan's MaxRounds. 0 plans
	// the rounds that fit in MaxDuration.
	MaxRounds int
	// MaxDuration bounds this continuation, start-up, warm-up and reports
	// included. 0 means the stored plan's MaxDuration or, with MaxRounds,
	// the time those rounds are planned to take.
	MaxDuration time.Duration
	// BaselineURL and CandidateURL are where the deployments are now;
	// empty means the run's stored targets (a built-in build, started
	// anew, must be given).
	BaselineURL, CandidateURL string
	// Baseline and Candidate are how each deployment is reached and
	// whether it is still up, as in CompareOptions; Build and Args are the
	// stored plan's and not read here. Header values are never stored:
	// every header the run sent (its plan's Headers) must be given again.
	Baseline, Candidate Side
	// Reports, Progress and CommandLine are as in CompareOptions; the
	// command line is recorded in the plan's continuation.
	Reports     bool
	Progress    func(CompareProgress)
	CommandLine []string
}

// Continue continues the stored compare run in dir with more rounds: the
// same plan and seed, the rounds numbered after its last complete one
// (user ids and the order of the builds go on as if the compare had never
// stopped; a round cut short is measured again), its segments added to
// dir, and the verdict recomputed over all rounds, the summary and reports
// rewritten. The plan's MaxRounds grows by what the continuation adds,
// recorded in its Continued list; the gate's sequential design spends its
// error rates over the looks, so an extended compare keeps them.
//
// Only an undecided compare that adds rounds until decided (Rounds 0) can
// be continued: a fixed design has spent its error rate at its one look,
// and a decided one is final. Those, a run without a plan or seed, bad
// options and a missing header are errors wrapping ErrUsage, and nothing
// is written. Errors of the run itself are as in Compare.
func Continue(ctx context.Context, dir string, o ContinueOptions) (*Comparison, error) {
	const op = "continue"
	run, plan, err := o.plan(dir)
	if err != nil {
		return nil, err
	}
	cfg := compare.Config{
		Plan: plan, Dir: dir, Resume: run,
		Progress: progressFunc(o.Progress), Render: renderFunc(o.Reports),
	}
	urls := run.Manifest.Targets
	err = engineSides(op, &cfg, cmp.Or(o.BaselineURL, urls[results.Baseline]), cmp.Or(o.CandidateURL, urls[results.Candidate]),
		o.Baseline, o.Candidate)
	if err != nil {
		return nil, err
	}
	res, err := compare.Run(ctx, cfg)
	if res == nil || res.Summary == nil {
		if err == nil {
			err = errors.New("continue: no complete round")
		}
		return nil, err
	}
	return newComparison(res), err
}

// Plan is the plan the continuation of the run in dir with o runs: the
// stored plan, o checked, MaxRounds extended and the continuation appended
// to Continued. Nothing is written or started.
func (o ContinueOptions) Plan(dir string) (results.Plan, error) {
	_, p, err := o.plan(dir)
	return p, err
}

// plan reads the run in dir, checks that it can be continued with o, and
// returns it and its extended plan.
func (o ContinueOptions) plan(dir string) (*results.Run, results.Plan, error) {
	const op = "continue"
	run, err := results.ReadRun(dir)
	if err != nil {
		return nil, results.Plan{}, usage.Errorf("%s: %v", op, err)
	}
	p := run.Plan()
	done := run.Rounds()
	bad := func(format string, args ...any) (*results.Run, results.Plan, error) {
		return nil, p, usage.Errorf(op+": "+dir+": "+format, args...)
	}
	field := func(name, format string, args ...any) (*results.Run, results.Plan, error) {
		return nil, p, usage.Fieldf(op, name, format, args...)
	}
	switch {
	case len(p.Unknown) > 0:
		return bad("written before runs recorded their plan: cannot be continued")
	case p.Seed == 0:
		return bad("written before compares had a seed: its rounds cannot be continued")
	case !p.Sequential():
		return bad("ran a fixed %d rounds, whose one look has spent the error rates: only a compare that adds rounds until decided can be continued", p.Rounds)
	case o.MaxRounds < 0:
		return field("max rounds", "must not be negative, got %d", o.MaxRounds)
	case o.MaxDuration < 0:
		return field("max duration", "must be positive, got %s", o.MaxDuration)
	}
	complete := &results.Run{Dir: run.Dir, Manifest: run.Manifest}
	for _, s := range run.Segments {
		if s.Manifest.Round <= done {
			complete.Segments = append(complete.Segments, s)
		}
	}
	if v := gate.Evaluate(complete, gate.PlanConfig(p)).Verdict; v == results.Pass || v == results.Fail {
		return bad("decided (%s after %d rounds): a decided compare is final", v, done)
	}
	for _, s := range []struct {
		name string
		url  string
		plan results.PlanSide
		side Side
	}{
		{results.Baseline, o.BaselineURL, p.Baseline, o.Baseline},
		{results.Candidate, o.CandidateURL, p.Candidate, o.Candidate},
	} {
		if s.plan.Build != "" && s.url == "" {
			return bad("the %s was the built-in build %q, no longer running: start it again and give its url", s.name, s.plan.Build)
		}
		for _, h := range s.plan.Headers {
			if len(s.side.Header.Values(h)) == 0 {
				return bad("the %s was sent the header %s, whose value is never stored: give it again", s.name, h)
			}
		}
	}

	budget, most := o.MaxDuration, o.MaxRounds
	if most > 0 {
		if most <= done || most < p.MaxRounds {
			return field("max rounds", "must be more than the %d complete rounds and at least the plan's %d, got %d", done, p.MaxRounds, most)
		}
		if budget == 0 {
			budget = planDuration(p, most-done)
		}
	} else {
		budget = cmp.Or(budget, p.MaxDuration.D())
		q := p
		q.MaxDuration = results.Duration(budget)
		if most = max(p.MaxRounds, done+maxRounds(q)); most <= done {
			return field("max duration", "of %s leaves room for no round of %s", budget, p.RoundDuration)
		}
	}
	p.Continued = append(slices.Clone(p.Continued), results.Continuation{
		At: time.Now().UTC(), AfterRound: done, AddedRounds: most - p.MaxRounds, MaxRounds: most,
		MaxDuration: results.Duration(budget), Args: slices.Clone(o.CommandLine),
	})
	p.MaxRounds = most
	return run, p, nil
}

// planDuration is the time an automatic compare plans for n rounds of p,
// all included: the inverse of maxRounds.
func planDuration(p results.Plan, n int) time.Duration {
	round := 2 * (p.RoundDuration.D() + p.Settle.D() + segmentReserve)
	return startReserve + 2*p.Warmup.D() + compare.ReportReserve + time.Duration(n)*round
}

// planSide is what the plan records of s: the build, its arguments and the
// names of the headers sent to it, never their values.
func (s Side) planSide() results.PlanSide {
	ps := results.PlanSide{Build: s.Build, Args: slices.Clone(s.Args)}
	for name := range s.Header {
		ps.Headers = append(ps.Headers, http.CanonicalHeaderKey(name))
	}
	slices.Sort(ps.Headers)
	return ps
}
