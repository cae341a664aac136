package capacity

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/loadbench/loadbench/internal/compare"
	"github.com/loadbench/loadbench/internal/cpu"
	"github.com/loadbench/loadbench/internal/load"
	"github.com/loadbench/loadbench/results"
)

// ErrRun is wrapped by the errors of a run that could not measure (a
// target gone, unreachable, its CPU unreadable), as opposed to bad usage.
var ErrRun = errors.New("capacity run error")

// Side is one deployment of a capacity run.
type Side struct {
	URL string
	// Load are the engine's options of every step (users, timeout, paths,
	// access); the step adds its rates, duration and user prefix.
	Load []load.Option
	// CPU reads the target's CPU seconds.
	CPU cpu.Counter
	// Alive, when set, is asked after every step whether it still serves.
	Alive func() error
}

// Config is a capacity run: the plan (every default filled in and
// checked), where to write it, and both deployments.
type Config struct {
	Plan                results.CapacityPlan
	Dir                 string
	Baseline, Candidate Side
	// Args and Flags are recorded in the manifest.
	Args  []string
	Flags map[string]string
	// Progress, when set, is told about each step as it runs.
	Progress func(Progress)
	// Render, when set, writes the reports once the summary is written.
	Render func(dir string, m *results.CapacityManifest, s *results.CapacitySummary) error
}

// Progress is where a capacity run is.
type Progress struct {
	Step  int
	Phase string
	Build string
	Rate  float64
	Load  load.Progress
}

// Run writes the manifest, warms both builds up, runs the search, and
// writes summary.json (also for a run cut short) and the reports. It
// returns the summary whenever a step completed.
func Run(ctx context.Context, cfg Config) (*results.CapacitySummary, error) {
	if err := os.MkdirAll(cfg.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("capacity: %w", err)
	}
	m := &results.CapacityManifest{Manifest: results.NewManifest(results.CapacityKind, cfg.Args), Plan: &cfg.Plan}
	if cfg.Flags != nil {
		m.Flags = cfg.Flags
	}
	m.Targets[results.Baseline], m.Targets[results.Candidate] = cfg.Baseline.URL, cfg.Candidate.URL
	if err := results.WriteJSON(filepath.Join(cfg.Dir, results.ManifestFile), m); err != nil {
		return nil, fmt.Errorf("capacity: %w", err)
	}
	r := &runner{cfg: cfg}
	var err error
	if w := cfg.Plan.Warmup.D(); w > 0 {
		for _, b := range []string{results.Baseline, results.Candidate} {
			if _, err = r.attack(ctx, Spec{Phase: "warmup", Build: b, Rate: cfg.Plan.LowRate}, w); err != nil {
				break
			}
		}
	}
	var sum *results.CapacitySummary
	if err == nil {
		sum, err = Search(ctx, cfg.Plan, r, nil)
	}
	m.End, m.Partial = time.Now().UTC(), err != nil
	if err != nil {
		m.Note = err.Error()
	}
	if werr := results.WriteJSON(filepath.Join(cfg.Dir, results.ManifestFile), m); werr != nil && err == nil {
		err = fmt.Errorf("capacity: %w", werr)
	}
	if sum == nil || len(sum.Steps) == 0 {
		return nil, err
	}
	if werr := results.WriteJSON(filepath.Join(cfg.Dir, results.SummaryFile), sum); werr != nil && err == nil {
		err = fmt.Errorf("capacity: %w", werr)
	}
	if cfg.Render != nil {
		if rerr := cfg.Render(cfg.Dir, m, sum); rerr != nil && err == nil {
			err = fmt.Errorf("capacity: reports: %w", rerr)
		}
	}
	return sum, err
}

// runner is the real Measurer: it loads one deployment per step.
type runner struct {
	cfg Config
}

func (r *runner) side(build string) Side {
	if build == results.Candidate {
		return r.cfg.Candidate
	}
	return r.cfg.Baseline
}

// sample is one reading of the chats in flight during a step.
type sample struct{ t, inFlight float64 }

// attack runs the load of step s for d and returns its segment and the
// in-flight samples.
func (r *runner) attack(ctx context.Context, s Spec, d time.Duration) (*segment, error) {
	p := r.cfg.Plan
	per := s.Rate / float64(len(p.Protocols))
	var httpRate, wsRate float64
	for _, proto := range p.Protocols {
		switch proto {
		case results.HTTP:
			httpRate = per
		case results.WS:
			wsRate = per
		}
	}
	out := &segment{}
	var mu sync.Mutex
	opts := append(slices.Clone(r.side(s.Build).Load),
		load.WithHTTPRate(httpRate), load.WithWSRate(wsRate), load.WithDuration(d),
		load.WithUserPrefix(compare.UserPrefix(p.Seed, s.Schedule)),
		load.WithProgress(func(lp load.Progress) {
			mu.Lock()
			out.samples = append(out.samples, sample{lp.Elapsed.Seconds(), float64(lp.Sent - lp.Done)})
			mu.Unlock()
			if r.cfg.Progress != nil {
				r.cfg.Progress(Progress{Step: s.N, Phase: s.Phase, Build: s.Build, Rate: s.Rate, Load: lp})
			}
		}))
	a, err := load.NewAttacker(r.side(s.Build).URL, opts...)
	if err != nil {
		return nil, err // the plan was checked: a usage error here is a bug or a bad URL
	}
	gen0, _ := cpu.Proc{}.Read(ctx)
	began := time.Now()
	seg, err := a.Attack(ctx)
	out.wall = time.Since(began)
	gen1, _ := cpu.Proc{}.Read(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("%s at %.4g chats/s: %w: %w", s.Build, s.Rate, err, ErrRun)
	}
	if alive := r.side(s.Build).Alive; alive != nil {
		if err := alive(); err != nil {
			return nil, fmt.Errorf("%w: %w", err, ErrRun)
		}
	}
	out.seg, out.genCPU = seg, gen1.Seconds-gen0.Seconds
	return out, nil
}

type segment struct {
	seg     *results.Segment
	samples []sample
	wall    time.Duration
	genCPU  float64 // the generator's CPU seconds over the step
}

// Measure runs step s: CPU readings around the load, then the step's
// figures from the segment, which it stores under steps/.
func (r *runner) Measure(ctx context.Context, s Spec) (results.CapacityStep, error) {
	side := r.side(s.Build)
	var before cpu.Reading
	var cpuErr error
	if side.CPU != nil {
		before, cpuErr = side.CPU.Read(ctx)
	}
	d := r.cfg.Plan.StepDuration.D()
	sg, err := r.attack(ctx, s, d)
	if err != nil {
		return results.CapacityStep{}, err
	}
	st := figures(sg, r.cfg.Plan)
	if side.CPU != nil && cpuErr == nil {
		after, err := side.CPU.Read(ctx)
		if err == nil && st.Answered > 0 {
			if per, err := cpu.PerChat(before, after, st.Answered); err == nil {
				st.CPUUs, st.CPUSource = per*1e6, string(after.Source)
			}
		}
	}
	st.Segment = results.StepDir(s.N, s.Build)
	sg.seg.Manifest.Build = s.Build
	sg.seg.Manifest.Note = fmt.Sprintf("capacity step %d: %s at %.4g chats/s", s.N, s.Phase, s.Rate)
	if err := results.WriteSegment(filepath.Join(r.cfg.Dir, st.Segment), sg.seg); err != nil {
		return st, fmt.Errorf("capacity: %w", err)
	}
	return st, nil
}

// figures are a step's measurements from its segment.
func figures(sg *segment, p results.CapacityPlan) results.CapacityStep {
	var st results.CapacityStep
	lat := results.NewHistogram()
	var sent int64
	var dur time.Duration
	for _, proto := range sg.seg.Protocols {
		st.Offered += proto.Requests + proto.NotSent
		sent += proto.Requests
		st.Answered += proto.Success
		st.TargetErrors += proto.TargetErrorCount()
		st.Timeouts += proto.Errors["timeout"]
		st.NotSent += proto.NotSent
		if proto.Latency != nil {
			lat.Merge(proto.Latency)
		}
		st.SendLagP99Ms = max(st.SendLagP99Ms, ms(proto.SendLagP99()))
		st.GeneratorSaturated = st.GeneratorSaturated || proto.Saturated
		dur = max(dur, proto.Duration+proto.Wait)
	}
	if st.Offered > 0 {
		st.Ended = float64(st.Answered+st.TargetErrors-st.Timeouts) / float64(st.Offered)
	}
	if n := st.Answered + st.TargetErrors; n > 0 {
		st.ErrorRate = float64(st.TargetErrors) / float64(n)
	}
	if dur > 0 {
		st.Throughput = float64(st.Answered) / dur.Seconds()
	}
	st.P50Ms, st.P99Ms, st.P999Ms = ms(lat.Quantile(0.50)), ms(lat.Quantile(0.99)), ms(lat.Quantile(0.999))
	ts, in := make([]float64, len(sg.samples)), make([]float64, len(sg.samples))
	for i, s := range sg.samples {
		ts[i], in[i] = s.t, s.inFlight
	}
	st.InFlightGrowth, st.InFlightMean, st.InFlightTrend = InFlightGrowth(ts, in, p.StepDuration.D())
	if sent > 0 {
		st.GeneratorCPUUs = sg.genCPU / float64(sent) * 1e6
	}
	if sg.wall > 0 {
		st.GeneratorCPUShare = sg.genCPU / (sg.wall.Seconds() * float64(generatorCPUs(p)))
	}
	if p.MaxGeneratorCPU > 0 && st.GeneratorCPUShare > p.MaxGeneratorCPU {
		st.GeneratorSaturated = true
	}
	return st
}

// generatorCPUs is how many CPUs the generator can use at once: its
// GOMAXPROCS, but no more than the CPUs it was pinned to (a pinned
// generator runs more Ps than CPUs) or the machine has.
func generatorCPUs(p results.CapacityPlan) int {
	n := min(runtime.GOMAXPROCS(0), runtime.NumCPU())
	if p.Pinning != nil && len(p.Pinning.GeneratorCPUs) > 0 {
		n = min(n, len(p.Pinning.GeneratorCPUs))
	}
	return max(n, 1)
}
