package results

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Build names in a compare run.
const (
	Baseline  = "baseline"
	Candidate = "candidate"
)

// Verdict is a gate's verdict, as summary.json writes it.
type Verdict string

// Verdicts, in summary.json and wherever a gate speaks.
const (
	Pass         Verdict = "pass"
	Fail         Verdict = "fail"
	Inconclusive Verdict = "inconclusive"
	Info         Verdict = "info" // reported, not gated (the legacy build's numbers)
)

// Run is a compare run directory: its manifest, its segments by build and
// round, and its summary when the run got that far.
type Run struct {
	Dir      string
	Manifest Manifest
	Segments []*Segment // sorted by round, then build
	Summary  *Summary   // nil when summary.json is absent
}

// SegmentDir is where the segment of build in round (from 1) lives.
func SegmentDir(runDir, build string, round int) string {
	return filepath.Join(runDir, build, fmt.Sprintf("round-%02d", round))
}

// Segment returns the segment of build in round, or nil.
func (r *Run) Segment(build string, round int) *Segment {
	for _, s := range r.Segments {
		if s.Manifest.Build == build && s.Manifest.Round == round {
			return s
		}
	}
	return nil
}

// Rounds is the number of rounds for which both builds have a segment.
func (r *Run) Rounds() int {
	n := 0
	for round := 1; ; round++ {
		if r.Segment(Baseline, round) == nil || r.Segment(Candidate, round) == nil {
			return n
		}
		n++
	}
}

// ReadRun reads the compare run in dir. The manifest and at least one
// complete round are required; summary.json is read when present.
func ReadRun(dir string) (*Run, error) {
	r := &Run{Dir: dir}
	if err := ReadJSON(filepath.Join(dir, ManifestFile), &r.Manifest); err != nil {
		return nil, err
	}
	if r.Manifest.Kind != "compare" {
		return nil, fmt.Errorf("read %s: not a compare run (kind %q)", dir, r.Manifest.Kind)
	}
	for _, build := range []string{Baseline, Candidate} {
		entries, err := os.ReadDir(filepath.Join(dir, build))
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("read %s: %w", filepath.Join(dir, build), ErrMissing)
		}
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", filepath.Join(dir, build), err)
		}
		for _, e := range entries {
			if !e.IsDir() || !strings.HasPrefix(e.Name(), "round-") {
				continue
			}
			sd := filepath.Join(dir, build, e.Name())
			if !exists(filepath.Join(sd, ManifestFile)) {
				continue // a segment cut short before it was complete
			}
			s, err := ReadSegment(sd)
			if err != nil {
				return nil, err
			}
			r.Segments = append(r.Segments, s)
		}
	}
	sortSegments(r.Segments)
	if err := r.fillPlan(); err != nil {
		return nil, fmt.Errorf("read %s: %w", dir, err)
	}
	if r.Rounds() == 0 {
		return nil, fmt.Errorf("read %s: no complete round (a baseline and a candidate segment)", dir)
	}
	var sum Summary
	switch err := ReadJSON(filepath.Join(dir, SummaryFile), &sum); {
	case err == nil:
		r.Summary = &sum
	case !errors.Is(err, ErrMissing):
		return nil, err
	}
	return r, nil
}

// fillPlan gives a run written before manifest.json had a plan the plan
// its flags recorded (PlanFromFlags), and its stop reason.
func (r *Run) fillPlan() error {
	m := &r.Manifest
	if m.Stopped == "" {
		m.Stopped = m.Flags["stopped"]
	}
	if m.Plan != nil {
		return nil
	}
	p, err := PlanFromFlags(m.Flags)
	if err != nil {
		return err
	}
	m.Plan = &p
	return nil
}

// Plan is the run's plan: its manifest's, or for a run written before the
// plan existed what its flags recorded (PlanFromFlags; a flag it cannot
// read is left unknown).
func (r *Run) Plan() Plan {
	if r.Manifest.Plan == nil {
		p, _ := PlanFromFlags(r.Manifest.Flags)
		return p
	}
	return *r.Manifest.Plan
}

func sortSegments(ss []*Segment) {
	slices.SortFunc(ss, func(a, b *Segment) int {
		if a.Manifest.Round != b.Manifest.Round {
			return a.Manifest.Round - b.Manifest.Round
		}
		return strings.Compare(a.Manifest.Build, b.Manifest.Build)
	})
}

// MergeRuns merges runs of the same setup, made side by side (for example
// from several load machines against the same targets), segment by segment.
// The result has no Summary: the gate recomputes it from the merged data.
func MergeRuns(runs ...*Run) (*Run, error) {
	if len(runs) == 0 {
		return nil, errors.New("merge runs: no runs")
	}
	first := runs[0]
	out := &Run{Dir: first.Dir, Manifest: first.Manifest}
	out.Manifest.Flags = cloneMap(first.Manifest.Flags)
	if p := first.Manifest.Plan; p != nil {
		c := *p
		out.Manifest.Plan = &c
	}
	for _, r := range runs[1:] {
		if r.Rounds() != first.Rounds() {
			return nil, fmt.Errorf("merge runs: %s has %d rounds, %s has %d", r.Dir, r.Rounds(), first.Dir, first.Rounds())
		}
		if err := samePlan(first.Plan(), r.Plan()); err != nil {
			return nil, fmt.Errorf("merge runs: %s and %s differ in %w", first.Dir, r.Dir, err)
		}
	}
	for _, s := range first.Segments {
		c := *s
		c.Protocols = map[string]*Protocol{}
		c.Timeline = Timeline{}
		c.Isolation = Isolation{}
		c.Merge(s)
		for _, r := range runs[1:] {
			o := r.Segment(s.Manifest.Build, s.Manifest.Round)
			if o == nil {
				return nil, fmt.Errorf("merge runs: %s lacks %s round %d", r.Dir, s.Manifest.Build, s.Manifest.Round)
			}
			c.Merge(o)
		}
		out.Segments = append(out.Segments, &c)
	}
	for _, r := range runs[1:] {
		if r.Manifest.Start.Before(out.Manifest.Start) {
			out.Manifest.Start = r.Manifest.Start
		}
		if r.Manifest.End.After(out.Manifest.End) {
			out.Manifest.End = r.Manifest.End
		}
		out.Manifest.Partial = out.Manifest.Partial || r.Manifest.Partial
	}
	out.Manifest.Note = strings.TrimSpace(out.Manifest.Note + fmt.Sprintf(" merged from %d runs", len(runs)))
	return out, nil
}

// samePlan reports the first setting of a run's plan that makes its data
// unfit to merge with another's.
func samePlan(a, b Plan) error {
	switch {
	case a.Budget != b.Budget:
		return fmt.Errorf("plan.budget (%v vs %v)", a.Budget, b.Budget)
	case !slices.Equal(a.Percentiles, b.Percentiles):
		return fmt.Errorf("plan.percentiles (%v vs %v)", a.Percentiles, b.Percentiles)
	case a.Rounds != b.Rounds:
		return fmt.Errorf("plan.rounds (%d vs %d)", a.Rounds, b.Rounds)
	case a.RoundDuration != b.RoundDuration:
		return fmt.Errorf("plan.round_duration (%s vs %s)", a.RoundDuration, b.RoundDuration)
	case a.HTTPRate != b.HTTPRate:
		return fmt.Errorf("plan.http_rate (%v vs %v)", a.HTTPRate, b.HTTPRate)
	case a.WSRate != b.WSRate:
		return fmt.Errorf("plan.ws_rate (%v vs %v)", a.WSRate, b.WSRate)
	case a.Users != b.Users:
		return fmt.Errorf("plan.users (%d vs %d)", a.Users, b.Users)
	}
	return nil
}

func cloneMap(m map[string]string) map[string]string {
	c := make(map[string]string, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}
