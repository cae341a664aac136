package capacity

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/loadbench/loadbench/internal/gate"
	"github.com/loadbench/loadbench/results"
)

// Spec is one step to measure: Build at Rate (offered chats/s over all
// protocols). Steps with the same Schedule offer the same arrivals (the
// same user ids, hence the same seeded arrival times).
type Spec struct {
	N        int
	Phase    string
	Repeat   int
	Build    string
	Rate     float64
	Schedule int
}

// Measurer runs one step. It fills in what it measured; Search judges it.
type Measurer interface {
	Measure(ctx context.Context, s Spec) (results.CapacityStep, error)
}

// MeasureFunc adapts a function to Measurer.
type MeasureFunc func(ctx context.Context, s Spec) (results.CapacityStep, error)

// Measure calls f.
func (f MeasureFunc) Measure(ctx context.Context, s Spec) (results.CapacityStep, error) {
	return f(ctx, s)
}

// Limits of the search that are not settings.
const (
	// maxDown is how many times the bracket divides the low rate by its
	// growth looking for a sustainable rate.
	maxDown = 4
	// maxMoves bounds how often a later bisection moves an end of the
	// bracket that did not hold (by the bracket's growth each time).
	maxMoves = 4
	// trendFloor is the least in-flight growth (chats) that counts as an
	// upward trend; trendShare the share of the mean in flight.
	trendFloor = 20
	trendShare = 0.5
	// maxRedo is how many times a step whose generator saturated is
	// measured again before it counts (as bound by the generator).
	maxRedo = 2
)

// searcher runs a capacity search over a Measurer.
type searcher struct {
	p      results.CapacityPlan
	m      Measurer
	slo    time.Duration
	steps  []results.CapacityStep
	sched  int
	flip   bool
	onStep func(results.CapacityStep)
	// est holds each build's bisection results, one per repeat.
	est map[string][]float64
}

// Search runs the capacity plan p against m: the SLO step (unless p.SLO is
// given), the bracket and p.Repeats bisections of each build (unless
// p.CPURates are given), then the CPU rounds, and returns the summary.
// onStep, when set, sees every step once judged. On an error it returns
// the summary of the steps so far (Partial).
func Search(ctx context.Context, p results.CapacityPlan, m Measurer, onStep func(results.CapacityStep)) (*results.CapacitySummary, error) {
	s := &searcher{p: p, m: m, slo: p.SLO.D(), onStep: onStep}
	sum := &results.CapacitySummary{Seed: p.Seed}
	err := s.search(ctx, sum)
	s.finish(sum)
	if err != nil {
		sum.Partial = true
		sum.Verdict, sum.Reason = results.Inconclusive, "cut short: "+err.Error()
	}
	return sum, err
}

func (s *searcher) search(ctx context.Context, sum *results.CapacitySummary) error {
	sum.SLORule = fmt.Sprintf("given: %s", s.slo)
	if s.slo == 0 {
		st, err := s.step(ctx, Spec{Phase: results.PhaseSLO, Build: results.Baseline, Rate: s.p.LowRate, Schedule: s.schedule()})
		if err != nil {
			return err
		}
		p99 := time.Duration(st.P99Ms * float64(time.Millisecond))
		s.slo = max(time.Duration(s.p.SLOFactor*float64(p99)), p99+s.p.SLOFloor.D())
		sum.SLORule = fmt.Sprintf("max(%g × the baseline's p99 at %g chats/s, that p99 + %s) = max(%g × %.1f ms, %.1f ms + %s)",
			s.p.SLOFactor, s.p.LowRate, s.p.SLOFloor, s.p.SLOFactor, st.P99Ms, st.P99Ms, s.p.SLOFloor)
		s.steps[len(s.steps)-1] = judge(st, s.slo, s.p)
	}
	sum.SLOMs = ms(s.slo)
	rates := slices.Clone(s.p.CPURates)
	if len(rates) == 0 {
		est, err := s.capacity(ctx, sum)
		if err != nil {
			return err
		}
		base := geomean(est[results.Baseline])
		if !(base > 0) {
			sum.Warnings = append(sum.Warnings, "no sustainable rate of the baseline: no CPU rounds")
			return nil
		}
		for _, f := range s.p.CPUFractions {
			rates = append(rates, f*base)
		}
	} else {
		sum.Capacity.Skipped = true
	}
	sum.CPU.Rates = rates
	return s.cpu(ctx, sum, rates)
}

// schedule returns a new arrival schedule's number.
func (s *searcher) schedule() int { s.sched++; return s.sched }

// pair is the order of both builds in the next paired step: alternating,
// so that drift falls on both.
func (s *searcher) pair() []string {
	s.flip = !s.flip
	if s.flip {
		return []string{results.Baseline, results.Candidate}
	}
	return []string{results.Candidate, results.Baseline}
}

// step measures and judges one step and records it. A step whose
// generator saturated is measured again, up to maxRedo times: the
// generator, not the target, was the bound, and a shared machine's
// scheduling noise should not end a search.
func (s *searcher) step(ctx context.Context, sp Spec) (results.CapacityStep, error) {
	for range maxRedo {
		st, err := s.step1(ctx, sp)
		if err != nil || !st.GeneratorSaturated {
			return st, err
		}
		s.steps[len(s.steps)-1].Redone = true
	}
	return s.step1(ctx, sp)
}

// step1 measures and judges one step and records it.
func (s *searcher) step1(ctx context.Context, sp Spec) (results.CapacityStep, error) {
	if err := ctx.Err(); err != nil {
		return results.CapacityStep{}, err
	}
	sp.N = len(s.steps) + 1
	st, err := s.m.Measure(ctx, sp)
	if err != nil {
		return st, err
	}
	st.N, st.Phase, st.Repeat, st.Build, st.Rate = sp.N, sp.Phase, sp.Repeat, sp.Build, sp.Rate
	if s.slo > 0 {
		st = judge(st, s.slo, s.p)
	}
	s.steps = append(s.steps, st)
	if s.onStep != nil {
		s.onStep(st)
	}
	return st, nil
}

// judge sets st.Sustainable and st.Why by the rules of a sustainable rate.
func judge(st results.CapacityStep, slo time.Duration, p results.CapacityPlan) results.CapacityStep {
	var why []string
	if st.Answered == 0 {
		why = append(why, "no chat answered")
	}
	if st.Ended < p.MinEnded {
		why = append(why, fmt.Sprintf("%.2f%% of offered chats ended within the timeout, under %g%%", 100*st.Ended, 100*p.MinEnded))
	}
	if st.InFlightTrend {
		why = append(why, fmt.Sprintf("chats in flight grew by %.0f", st.InFlightGrowth))
	}
	if st.P99Ms > ms(slo) {
		why = append(why, fmt.Sprintf("p99 %.1f ms over the SLO %.1f ms", st.P99Ms, ms(slo)))
	}
	if st.GeneratorSaturated {
		why = append(why, "generator saturated")
	}
	st.Sustainable, st.Why = len(why) == 0, why
	return st
}

// capacity brackets both builds, then bisects each p.Repeats times, and
// returns each build's results.
func (s *searcher) capacity(ctx context.Context, sum *results.CapacitySummary) (map[string][]float64, error) {
	lo, hi := map[string]float64{}, map[string]float64{}
	done := map[string]bool{}
	r := s.p.LowRate
	for !done[results.Baseline] || !done[results.Candidate] {
		if r > s.p.MaxRate {
			sum.Warnings = append(sum.Warnings, fmt.Sprintf("a build sustained every rate up to the most, %g chats/s", s.p.MaxRate))
			break
		}
		sched := s.schedule()
		for _, b := range s.pair() {
			if done[b] {
				continue
			}
			st, err := s.step(ctx, Spec{Phase: results.PhaseBracket, Build: b, Rate: r, Schedule: sched})
			if err != nil {
				return nil, err
			}
			if st.Sustainable {
				lo[b] = r
			} else {
				hi[b], done[b] = r, true
			}
		}
		r *= s.p.Growth
	}
	// A build that failed the low rate: go down.
	for _, b := range []string{results.Baseline, results.Candidate} {
		for k, r := 0, s.p.LowRate/s.p.Growth; lo[b] == 0 && hi[b] > 0 && k < maxDown; k, r = k+1, r/s.p.Growth {
			st, err := s.step(ctx, Spec{Phase: results.PhaseBracket, Build: b, Rate: r, Schedule: s.schedule()})
			if err != nil {
				return nil, err
			}
			if st.Sustainable {
				lo[b] = r
			} else {
				hi[b] = r
			}
		}
	}
	est := map[string][]float64{}
	s.est = est
	// Every bisection starts from the build's bracket, not from an earlier
	// bisection's result, so that the repeats are independent estimates
	// and their spread is the knee's: a start centred on the previous
	// result puts its first midpoint there and pulls the next result back
	// to it. Each bisection measures an end of the bracket again only if
	// it finishes next to it, the first one too: the bracket measured each
	// end once, and one lucky step there would otherwise be the first
	// result (a real A/A run's first bisection kept 3200 chats/s from a
	// bracket step when its later ones found 2202–2402).
	type state struct {
		lo, hi      float64
		loOK, hiOK  bool // lo measured sustainable, hi not, in this bisection
		moves       int
		fin, broken bool
	}
	st := map[string]*state{}
	for _, b := range []string{results.Baseline, results.Candidate} {
		switch {
		case lo[b] == 0:
			sum.Warnings = append(sum.Warnings, fmt.Sprintf("%s: no sustainable rate down to %.3g chats/s", b, hi[b]))
			st[b] = &state{broken: true}
		case hi[b] == 0:
			st[b] = &state{broken: true}
			est[b] = []float64{lo[b]}
		}
	}
	for rep := 1; rep <= s.p.Repeats; rep++ {
		for _, b := range []string{results.Baseline, results.Candidate} {
			if x := st[b]; x == nil || !x.broken {
				st[b] = &state{lo: lo[b], hi: hi[b]}
			}
		}
		for {
			active := false
			for _, b := range s.pair() {
				x := st[b]
				if x.broken || x.fin {
					continue
				}
				active = true
				sp := Spec{Phase: results.PhaseBisect, Repeat: rep, Build: b, Schedule: s.schedule()}
				checkLo, checkHi := false, false // this step measures an end again
				switch {
				case x.hi/x.lo > 1+s.p.Width:
					sp.Rate = math.Sqrt(x.lo * x.hi)
				case !x.loOK:
					sp.Rate, checkLo = x.lo, true
				case !x.hiOK:
					sp.Rate, checkHi = x.hi, true
				default:
					x.fin = true
					est[b] = append(est[b], x.lo)
					continue
				}
				res, err := s.step(ctx, sp)
				if err != nil {
					return est, err
				}
				switch {
				case checkLo && res.Sustainable:
					x.loOK = true
				case checkLo: // the knee is below the bracket now
					x.hi, x.hiOK, x.lo = x.lo, true, x.lo/s.p.Growth
					x.moves++
				case checkHi && !res.Sustainable:
					x.hiOK = true
				case checkHi: // above it
					x.lo, x.loOK, x.hi = x.hi, true, x.hi*s.p.Growth
					x.moves++
				case res.Sustainable:
					x.lo, x.loOK = sp.Rate, true
				default:
					x.hi, x.hiOK = sp.Rate, true
				}
				if x.moves > maxMoves {
					x.fin = true
					est[b] = append(est[b], x.lo)
					sum.Warnings = append(sum.Warnings, fmt.Sprintf("%s: bisection %d moved too far from the bracket, kept %.4g chats/s", b, rep, x.lo))
				}
			}
			if !active {
				break
			}
		}
	}
	return est, nil
}

// cpu runs p.CPURounds paired rounds at each rate.
func (s *searcher) cpu(ctx context.Context, sum *results.CapacitySummary, rates []float64) error {
	for round := 1; round <= s.p.CPURounds; round++ {
		for _, r := range rates {
			sched := s.schedule()
			for _, b := range s.pair() {
				if _, err := s.step(ctx, Spec{Phase: results.PhaseCPU, Repeat: round, Build: b, Rate: r, Schedule: sched}); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// finish fills sum from the steps: the answers, their verdicts, the
// overall verdict and the plain-language lines.
func (s *searcher) finish(sum *results.CapacitySummary) {
	p := s.p
	sum.Steps = s.steps
	sum.SLOMs = ms(s.slo)
	for _, st := range s.steps {
		if st.GeneratorSaturated && !st.Redone {
			sum.GeneratorBound = append(sum.GeneratorBound, st.N)
		}
	}
	cfg := gate.DefaultConfig()
	cfg.Alpha, cfg.Confidence = p.Alpha, 1-p.Alpha

	// CPU per chat: the paired CPU steps.
	sum.CPU.Budget, sum.CPU.Verdict = p.CPUBudget, results.Inconclusive
	var bcpu, ccpu []float64
	var berr, cerr [2]int64 // target errors, reached
	byKey := map[[2]int]results.CapacityStep{}
	for _, st := range s.steps {
		if st.Phase != results.PhaseCPU || st.Redone {
			continue
		}
		key := [2]int{st.Repeat, int(math.Round(st.Rate * 1000))}
		o, ok := byKey[key]
		if !ok {
			byKey[key] = st
			continue
		}
		b, c := o, st
		if b.Build == results.Candidate {
			b, c = c, b
		}
		bcpu, ccpu = append(bcpu, b.CPUUs), append(ccpu, c.CPUUs)
		berr[0], berr[1] = berr[0]+b.TargetErrors, berr[1]+b.Answered+b.TargetErrors
		cerr[0], cerr[1] = cerr[0]+c.TargetErrors, cerr[1]+c.Answered+c.TargetErrors
		if sum.CPU.Source == "" {
			sum.CPU.Source = b.CPUSource
		}
	}
	sum.CPU.Pairs = len(bcpu)
	if len(bcpu) > 0 {
		cfg.Budget = p.CPUBudget
		c, _ := gate.ComparePaired(bcpu, ccpu, cfg) // same lengths
		sum.CPU.Ratio, sum.CPU.CILow, sum.CPU.CIHigh = results.Finite(c.Ratio), results.Finite(c.Lo), results.Finite(c.Hi)
		sum.CPU.Verdict, sum.CPU.Sizing = c.Verdict, sizing(c, bcpu, ccpu, cfg)
		sum.CPU.BaselineUs, sum.CPU.CandidateUs = mean(bcpu), mean(ccpu)
	}

	// Errors at the same steps.
	sum.Errors = results.CapacityErrors{Budget: p.ErrorBudget, Verdict: results.Inconclusive}
	if berr[1] > 0 && cerr[1] > 0 {
		sum.Errors.Baseline = float64(berr[0]) / float64(berr[1])
		sum.Errors.Candidate = float64(cerr[0]) / float64(cerr[1])
		sum.Errors.Verdict = results.Pass
		if sum.Errors.Candidate > sum.Errors.Baseline+p.ErrorBudget {
			sum.Errors.Verdict = results.Fail
		}
	}

	// Sustainable throughput: each repeat's result, paired by repeat.
	sum.Capacity.Budget, sum.Capacity.Verdict = p.CapacityBudget, results.Inconclusive
	if !sum.Capacity.Skipped {
		est := s.est
		sum.Capacity.Baseline = results.CapacityBuild{MaxRate: geomean(est[results.Baseline]), Repeats: est[results.Baseline]}
		sum.Capacity.Candidate = results.CapacityBuild{MaxRate: geomean(est[results.Candidate]), Repeats: est[results.Candidate]}
		n := min(len(est[results.Baseline]), len(est[results.Candidate]))
		if n > 0 {
			bc, cc := make([]float64, n), make([]float64, n)
			for i := range n { // cost: 1 / sustainable rate
				bc[i], cc[i] = 1/est[results.Baseline][i], 1/est[results.Candidate][i]
			}
			cfg.Budget = p.CapacityBudget
			c, _ := gate.ComparePaired(bc, cc, cfg)
			sum.Capacity.Ratio = results.Finite(1 / c.Ratio)
			sum.Capacity.CILow, sum.Capacity.CIHigh = results.Finite(1/c.Hi), results.Finite(1/c.Lo)
			sum.Capacity.Verdict, sum.Capacity.Sizing = c.Verdict, sizing(c, bc, cc, cfg)
		}
	}
	sum.USL = map[string]results.CapacityUSL{}
	for _, b := range []string{results.Baseline, results.Candidate} {
		sum.USL[b] = FitUSL(s.steps, b)
	}
	s.overall(sum)
}

// sizing is what an answer's comparison c of the paired costs base and
// cand (judged with cfg) can show: its interval's level and, when it is
// inconclusive, the pairs a run would need beyond these to decide in 4
// runs of 5 if the ratio and the scatter held.
func sizing(c gate.Comparison, base, cand []float64, cfg gate.Config) results.Sizing {
	z := results.Sizing{Confidence: c.Confidence}
	if c.Verdict == results.Inconclusive {
		z.MorePairs = gate.PairsToDecide(base, cand, morePower, cfg)
	}
	return z
}

// morePower is the power of the run size an inconclusive answer names.
const morePower = 0.8

// overall sets the verdict, its reason and the plain-language lines.
func (s *searcher) overall(sum *results.CapacitySummary) {
	base, cand := name(s.p.Baseline, results.Baseline), name(s.p.Candidate, results.Candidate)
	var fails, open []string
	if sum.CPU.Pairs > 0 {
		sum.Lines = append(sum.Lines, CPULine(cand, base, sum.CPU.Ratio, sum.CPU.CILow, sum.CPU.CIHigh))
	}
	switch sum.CPU.Verdict {
	case results.Fail:
		fails = append(fails, fmt.Sprintf("CPU per chat: %s, over the %s budget", changeText(sum.CPU.Ratio, sum.CPU.CILow, sum.CPU.CIHigh, "more", "less"), pct(s.p.CPUBudget)))
	case results.Inconclusive:
		open = append(open, fmt.Sprintf("CPU per chat: %d pair(s), interval %.3f–%.3f straddles the limit %.3f%s", sum.CPU.Pairs, sum.CPU.CILow, sum.CPU.CIHigh, 1+s.p.CPUBudget, moreText(sum.CPU.Pairs, sum.CPU.MorePairs, "CPU pairs")))
	}
	if !sum.Capacity.Skipped {
		if sum.Capacity.Ratio > 0 {
			sum.Lines = append(sum.Lines, CapacityLine(cand, base, sum.Capacity))
		}
		switch sum.Capacity.Verdict {
		case results.Fail:
			fails = append(fails, fmt.Sprintf("sustainable throughput: %s sustains %.3g× (%.3g–%.3g) the baseline's rate, under the %s budget",
				cand, sum.Capacity.Ratio, sum.Capacity.CILow, sum.Capacity.CIHigh, pct(s.p.CapacityBudget)))
		case results.Inconclusive:
			n := min(len(sum.Capacity.Baseline.Repeats), len(sum.Capacity.Candidate.Repeats))
			open = append(open, fmt.Sprintf("sustainable throughput: %d bisection pair(s), interval %.3g–%.3g%s", n, sum.Capacity.CILow, sum.Capacity.CIHigh, moreText(n, sum.Capacity.MorePairs, "bisection pairs")))
		}
	}
	switch sum.Errors.Verdict {
	case results.Fail:
		fails = append(fails, fmt.Sprintf("target errors: %.2f%% against the baseline's %.2f%% at the same steps, over the %s-point budget",
			100*sum.Errors.Candidate, 100*sum.Errors.Baseline, pct(s.p.ErrorBudget)))
	case results.Inconclusive:
		open = append(open, "target errors: no paired steps")
	}
	if len(sum.GeneratorBound) > 0 {
		open = append(open, fmt.Sprintf("the generator, not the target, bounded %d step(s) (%s)", len(sum.GeneratorBound), ints(sum.GeneratorBound)))
	}
	switch {
	case len(fails) > 0:
		sum.Verdict, sum.Reason = results.Fail, strings.Join(fails, "; ")
	case len(open) > 0:
		sum.Verdict, sum.Reason = results.Inconclusive, strings.Join(open, "; ")
	default:
		sum.Verdict, sum.Reason = results.Pass, "CPU per chat, sustainable throughput and target errors within their budgets"
		if sum.Capacity.Skipped {
			sum.Reason = "CPU per chat and target errors within their budgets (sustainable throughput not searched)"
		}
	}
}

// moreText says what would decide an inconclusive answer of n pairs that
// needs `more` more (gate.PairsToDecide): "; a run of about 17 bisection pairs
// would decide it in 4 runs of 5 if the ratio held"; "" with no estimate.
// It names a new run of that size, not more runs merged with this one: a
// merge judged after each added run is a sequential test that the fixed
// interval does not correct for
// (TestMergingUntilDecidedRaisesTheErrorRates).
func moreText(n, more int, unit string) string {
	switch {
	case more <= 0:
		return ""
	case more >= gate.DefaultMaxMoreRounds:
		return fmt.Sprintf("; a run of over %d %s would be needed to decide it at this ratio", n+more, unit)
	}
	return fmt.Sprintf("; a run of about %d %s would decide it in 4 runs of 5 if the ratio held", n+more, unit)
}

// CPULine is the plain-language CPU answer: "perrequest needs 6.0%
// (4.0%–8.0%) more CPU per chat than baseline: 1.06 (1.04–1.08) pods per
// baseline pod at equal load". At equal load and CPU-bound pods, the pods
// needed scale as the CPU per chat: the ratio itself.
func CPULine(cand, base string, ratio, lo, hi float64) string {
	rel := "than"
	if lo < 1 && hi > 1 {
		rel = "relative to" // "+1.0% (−2.0% to +4.0%)": no direction is shown
	}
	return fmt.Sprintf("%s needs %s CPU per chat %s %s: %.2f (%.2f–%.2f) pods per %s pod at equal load",
		cand, changeText(ratio, lo, hi, "more", "less"), rel, base, ratio, lo, hi, base)
}

// CapacityLine is the plain-language throughput answer: the candidate's
// sustainable rate as a share of the baseline's, and the pods it needs per
// baseline pod to carry the baseline's peak, 1/ratio.
func CapacityLine(cand, base string, c results.CapacityThroughput) string {
	pods := func(x float64) float64 {
		if x <= 0 {
			return math.Inf(1)
		}
		return 1 / x
	}
	return fmt.Sprintf("%s sustains %.0f chats/s, %s %.0f: %s throughput; %.2f (%.2f–%.2f) pods per %s pod at equal load",
		cand, c.Candidate.MaxRate, base, c.Baseline.MaxRate, changeText(c.Ratio, c.CILow, c.CIHigh, "more", "less"),
		pods(c.Ratio), pods(c.CIHigh), pods(c.CILow), base)
}

// changeText says how far ratio (interval lo–hi) is from 1 in words:
// "6.0% (4.0%–8.0%) more", "3.0% (1.0%–5.0%) less", or "+1.0% (−2.0% to
// +4.0%)" when the interval holds 1.
func changeText(ratio, lo, hi float64, up, down string) string {
	p := func(x float64) string { return fmt.Sprintf("%.1f%%", 100*math.Abs(x)) }
	switch {
	case lo > 0 && lo >= 1:
		return fmt.Sprintf("%s (%s–%s) %s", p(ratio-1), p(lo-1), p(hi-1), up)
	case hi > 0 && hi <= 1:
		return fmt.Sprintf("%s (%s–%s) %s", p(1-ratio), p(1-hi), p(1-lo), down)
	case lo > 0 && hi > 0:
		return fmt.Sprintf("%+.1f%% (%+.1f%% to %+.1f%%)", 100*(ratio-1), 100*(lo-1), 100*(hi-1))
	}
	return fmt.Sprintf("%+.1f%% (no interval)", 100*(ratio-1))
}

func name(s results.PlanSide, def string) string {
	if s.Build != "" {
		return s.Build
	}
	return def
}

func pct(x float64) string { return fmt.Sprintf("%g%%", 100*x) }

// ints lists step numbers: "steps 3, 7", the first 8 then "…".
func ints(v []int) string {
	if len(v) > 8 {
		return "steps " + joinInts(v[:8]) + ", …"
	}
	return "steps " + joinInts(v)
}

func joinInts(v []int) string {
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = fmt.Sprint(x)
	}
	return strings.Join(s, ", ")
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func mean(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	var s float64
	for _, x := range v {
		s += x
	}
	return s / float64(len(v))
}

// geomean is the geometric mean of the positive values of v; 0 when none.
func geomean(v []float64) float64 {
	var s float64
	n := 0
	for _, x := range v {
		if x > 0 {
			s += math.Log(x)
			n++
		}
	}
	if n == 0 {
		return 0
	}
	return math.Exp(s / float64(n))
}

// InFlightGrowth fits a line to in-flight samples (seconds, chats) taken
// after the first quarter of a step of duration d and returns the growth
// it predicts over that part, and whether it is an upward trend: more
// than trendFloor chats and than trendShare of the mean in flight.
func InFlightGrowth(ts, inFlight []float64, d time.Duration) (growth, meanIn float64, trend bool) {
	from := d.Seconds() / 4
	var x, y []float64
	for i, t := range ts {
		if t >= from && t <= d.Seconds() {
			x, y = append(x, t), append(y, inFlight[i])
		}
	}
	if len(x) < 3 {
		return 0, mean(inFlight), false
	}
	mx, my := mean(x), mean(y)
	var sxy, sxx float64
	for i := range x {
		sxy += (x[i] - mx) * (y[i] - my)
		sxx += (x[i] - mx) * (x[i] - mx)
	}
	if sxx == 0 {
		return 0, my, false
	}
	growth = sxy / sxx * (x[len(x)-1] - x[0])
	return growth, my, growth > max(trendFloor, trendShare*my)
}
