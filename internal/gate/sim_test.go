package gate

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"testing"

	"github.com/loadbench/loadbench/results"
)

// The latency simulation resamples whole real rounds: the stored HDR
// histograms of docs/example-report (8 interleaved rounds of legacy
// against per-request, 2 protocols, about 800 chats per segment and
// protocol, this 2-core machine), or of the run directory in
// LOADBENCH_SIM_RUN (an absolute path). Each real round gives the six
// checks' values of both builds, so a simulated round carries the real
// round's joint noise across the six checks (p50/p95/p99 of one protocol
// move together, and so do the protocols of one round): per check, the
// round's log ratio less the run's mean log ratio (its residual), scaled
// by √(R/(R−1)) for resampling R rounds, and up to CalibrationRoundSD
// where the run's own spread is smaller (the example report's is the
// calibration), drawn as a smoothed bootstrap (see simRounds). A/A is the
// residual alone (the baseline's real value times e^residual); "legacy vs
// per-request" adds back the real mean difference of the run's builds.
// An effect is an added delay, as the real faults are: a fixed delay
// added to every chat adds exactly that delay to every percentile, so the
// candidate's value is shifted by it, not multiplied; realShape is the
// shape a real delay was measured to have. The memory and error checks
// cannot pass before round simFloorRounds, so no simulated compare passes
// before it; a fail may come at any look.

// Design of the simulated compares: compare's defaults (internal/compare
// tests check that its plan matches).
const (
	SimMinRounds = 3
	SimMaxRounds = 58
	SimChats     = 800 // per segment and protocol: 200 chats/s × 4 s
	// simFloorRounds is the first round at which the error and memory
	// checks can pass (issue 19, measured on real runs).
	simFloorRounds = 6
)

// realRounds is the checks' per-round values of a real run: b[k][j] and
// c[k][j] are the baseline's and candidate's value (ms) of check j in
// round k; resid[k][j] is the scaled residual log ratio, mean[j] the mean
// log ratio.
type realRounds struct {
	checks []string
	b, c   [][]float64
	resid  [][]float64
	mean   []float64
	sd     []float64   // the scaled residuals' standard deviation
	smooth float64     // the smoothed bootstrap's bandwidth, in sd units
	chol   [][]float64 // Cholesky factor of the residuals' correlation
}

// cholesky is the lower Cholesky factor of the residuals' correlation
// matrix (with a tiny ridge: 8 rounds in 6 dimensions).
func (rr *realRounds) cholesky() [][]float64 {
	m := len(rr.checks)
	corr := make([][]float64, m)
	for i := range m {
		corr[i] = make([]float64, m)
		for j := range m {
			var c float64
			for k := range rr.resid {
				c += rr.resid[k][i] * rr.resid[k][j]
			}
			corr[i][j] = c / float64(len(rr.resid)-1) / (rr.sd[i] * rr.sd[j])
		}
		corr[i][i] += 1e-9
	}
	l := make([][]float64, m)
	for i := range m {
		l[i] = make([]float64, m)
		for j := 0; j <= i; j++ {
			s := corr[i][j]
			for k := range j {
				s -= l[i][k] * l[j][k]
			}
			if i == j {
				l[i][i] = math.Sqrt(max(s, 1e-12))
			} else {
				l[i][j] = s / l[j][j]
			}
		}
	}
	return l
}

func loadReal(t testing.TB, pcts []float64) *realRounds {
	t.Helper()
	dir := "../../docs/example-report"
	if d := os.Getenv("LOADBENCH_SIM_RUN"); d != "" {
		dir = d // a real run to calibrate on instead
	}
	run, err := results.ReadRun(dir)
	if err != nil {
		t.Fatalf("read example report: %v", err)
	}
	rr := &realRounds{}
	cal := CalibrationRoundSD()
	var base, cand []*results.Segment
	for r := 1; r <= run.Rounds(); r++ {
		base, cand = append(base, run.Segment(results.Baseline, r)), append(cand, run.Segment(results.Candidate, r))
	}
	cfg := DefaultConfig()
	cfg.Percentiles = pcts
	checks := latencyChecks(base, cand, disturbedRounds(base, cand, cfg), cfg)
	R := run.Rounds()
	rr.b, rr.c, rr.resid = make([][]float64, R), make([][]float64, R), make([][]float64, R)
	for _, k := range checks {
		name := results.LatencyVerdict{Protocol: k.proto, Percentile: k.pct}.Check()
		rr.checks = append(rr.checks, name)
		d := make([]float64, R)
		for i := range R {
			d[i] = math.Log(k.cv[i] / k.bv[i])
		}
		m, sd := meanSD(d)
		scale := math.Sqrt(float64(R) / float64(R-1))
		if c := cal[name]; sd > 0 && c > sd {
			scale *= c / sd
		}
		t.Logf("%s: real per-round log ratio mean %+.4f sd %.4f, calibration sd %.4f, scale %.2f", name, m, sd, cal[name], scale)
		rr.mean = append(rr.mean, m)
		rr.sd = append(rr.sd, sd*scale)
		for i := range R {
			rr.b[i] = append(rr.b[i], k.bv[i])
			rr.c[i] = append(rr.c[i], k.cv[i])
			rr.resid[i] = append(rr.resid[i], (d[i]-m)*scale)
		}
	}
	rr.smooth = 1.06 * math.Pow(float64(R), -0.2)
	rr.chol = rr.cholesky()
	return rr
}

// geoMean is the geometric mean of the baseline's values of check j.
func (rr *realRounds) geoMean(j int) float64 {
	var s float64
	for k := range rr.b {
		s += math.Log(rr.b[k][j])
	}
	return math.Exp(s / float64(len(rr.b)))
}

// delayFor is the delay (ms) that slows the checks by at most effect
// (every check at most, the fastest check exactly: within budget) or by
// at least effect (every check at least, the slowest exactly: over it).
func (rr *realRounds) delayFor(effect float64, atLeast bool) float64 {
	v := rr.geoMean(0)
	for j := range rr.checks {
		if g := rr.geoMean(j); (atLeast && g > v) || (!atLeast && g < v) {
			v = g
		}
	}
	return effect * v
}

// realShape is the shape of a real added delay, measured: the mean
// effect per check of the 20 "budget" runs of docs/validation-runs/
// validate-c.json (an added delay in the candidate's handler), in percent.
// A delay adds more at the tails than a pure shift of every chat would
// (+6.5–7.0% at p95/p99 for +5.3–5.5% at p50): the chats queue behind
// slower ones on 2 cores.
var realShape = map[string]float64{
	"http p50": 5.34, "http p95": 6.54, "http p99": 6.64,
	"ws p50": 5.46, "ws p95": 6.41, "ws p99": 7.04,
}

// shapeShift is the per-check shift (ms) of the real delay's shape scaled
// so that its largest check is +effect.
func (rr *realRounds) shapeShift(effect float64) []float64 {
	top := 0.0
	for _, v := range realShape {
		top = max(top, v)
	}
	out := make([]float64, len(rr.checks))
	for j, name := range rr.checks {
		out[j] = effect * realShape[name] / top * rr.geoMean(j)
	}
	return out
}

// legacyEffect is per-request's measured cost over the legacy build, per
// check: the mean per-round log ratio over the rounds the rule keeps of
// the three real legacy-vs-per-request compares of
// docs/validation-runs/validate-i19.json (60 rounds, weighted by rounds).
var legacyEffect = map[string]float64{
	"http p50": 0.0060, "http p95": 0.0110, "http p99": 0.0120,
	"ws p50": 0.0068, "ws p95": 0.0110, "ws p99": 0.0180,
}

// measuredShift is the delay per check (ms) that makes each check's
// candidate slower by the log ratio effect[check].
func (rr *realRounds) measuredShift(effect map[string]float64) []float64 {
	out := make([]float64, len(rr.checks))
	for j, name := range rr.checks {
		out[j] = math.Expm1(effect[name]) * rr.geoMean(j)
	}
	return out
}

// simCase is one simulated scenario.
type simCase struct {
	delay   float64   // ms added to the candidate's every value
	shift   []float64 // ms added to each check's candidate value (a delay's real shape)
	own     bool      // keep the real difference between the run's builds
	onLimit []bool    // checks whose true ratio is exactly the limit
	floor   int       // no pass before this round (0: none)
	// normal draws each round's residuals from the multivariate normal
	// with the real residuals' standard deviations and correlation
	// instead of resampling real rounds: the rule's own model, with the
	// real rounds' joint structure across the checks.
	normal bool
}

// simOutcome is the result of one simulated compare.
type simOutcome struct {
	verdict results.Verdict
	rounds  int
}

// simRounds runs one sequential compare of the six latency checks on
// resampled real rounds with the verdict rule of Evaluate (Holm's fail
// side across the checks, pass when all pass).
func simRounds(rng *rand.Rand, rr *realRounds, cfg Config, sc simCase) simOutcome {
	checks := make([]*latencyCheck, len(rr.checks))
	for j := range checks {
		checks[j] = &latencyCheck{proto: rr.checks[j], pct: cfg.Percentiles[j%len(cfg.Percentiles)]}
	}
	for r := 1; r <= cfg.MaxRounds; r++ {
		k := rng.IntN(len(rr.b))
		var z []float64
		if sc.normal {
			eps := make([]float64, len(checks))
			for j := range eps {
				eps[j] = rng.NormFloat64()
			}
			z = make([]float64, len(checks))
			for i := range z {
				for j := 0; j <= i; j++ {
					z[i] += rr.chol[i][j] * eps[j]
				}
			}
		}
		for j, ck := range checks {
			// The smoothed bootstrap: a resampled round plus a normal
			// kernel of Silverman's bandwidth, shrunk to keep the
			// variance. Without it, compares of 3–6 rounds drawn from 8
			// often repeat a round exactly, which real rounds never do,
			// and their t statistics are too large.
			lr := (rr.resid[k][j] + rr.smooth*rr.sd[j]*rng.NormFloat64()) / math.Sqrt(1+rr.smooth*rr.smooth)
			if sc.normal {
				lr = rr.sd[j] * z[j]
			}
			if sc.own {
				lr += rr.mean[j]
			}
			if sc.onLimit != nil && sc.onLimit[j] {
				lr += math.Log(cfg.limit())
			}
			b := rr.b[k][j]
			ck.bv = append(ck.bv, b)
			c := b*math.Exp(lr) + sc.delay
			if sc.shift != nil {
				c += sc.shift[j]
			}
			ck.cv = append(ck.cv, c)
		}
		if r < max(2, cfg.MinRounds) {
			continue
		}
		decideHolm(checks, cfg)
		all := true
		for _, ck := range checks {
			if ck.cmp.Verdict == results.Fail {
				return simOutcome{results.Fail, r}
			}
			all = all && ck.cmp.Verdict == results.Pass
		}
		if all && r >= sc.floor {
			return simOutcome{results.Pass, r}
		}
	}
	return simOutcome{results.Inconclusive, cfg.MaxRounds}
}

func runSim(rr *realRounds, cfg Config, sc simCase, trials int, seed uint64) rates {
	rng := rand.New(rand.NewPCG(seed, 19))
	out := make([]simOutcome, trials)
	for k := range out {
		out[k] = simRounds(rng, rr, cfg, sc)
	}
	return tally(out)
}

// simErrors runs one sequential compare of the error check: chats per
// round and build, target error rates pb and pc.
func simErrors(rng *rand.Rand, cfg Config, chats int, pb, pc float64) simOutcome {
	var kb, kc, n int64
	binom := func(p float64) int64 {
		var k int64
		for range chats {
			if rng.Float64() < p {
				k++
			}
		}
		return k
	}
	for r := 1; r <= cfg.MaxRounds; r++ {
		kb, kc, n = kb+binom(pb), kc+binom(pc), n+int64(chats)
		if r < cfg.MinRounds {
			continue
		}
		_, lo, hi := DiffInterval(kb, n, kc, n, cfg.criticalZ(r))
		switch {
		case lo > cfg.ErrorBudget:
			return simOutcome{results.Fail, r}
		case hi <= cfg.ErrorBudget:
			return simOutcome{results.Pass, r}
		}
	}
	return simOutcome{results.Inconclusive, cfg.MaxRounds}
}

// rates tallies outcomes: the share of each verdict and the median rounds.
type rates struct {
	n            int
	count        map[results.Verdict]int
	medianRounds float64
}

func tally(out []simOutcome) rates {
	r := rates{n: len(out), count: map[results.Verdict]int{}}
	var rounds []float64
	for _, o := range out {
		r.count[o.verdict]++
		rounds = append(rounds, float64(o.rounds))
	}
	slices.Sort(rounds)
	r.medianRounds = median(rounds)
	return r
}

// ci is the 95% Clopper–Pearson interval of the verdict's rate.
func (r rates) ci(verdict results.Verdict) (lo, hi float64) {
	return ClopperPearson(r.count[verdict], r.n, 0.95)
}

func (r rates) String() string {
	s := ""
	for _, v := range []results.Verdict{results.Pass, results.Fail, results.Inconclusive} {
		lo, hi := r.ci(v)
		s += fmt.Sprintf("%s %d/%d (%.1f%%, CI %.1f–%.1f%%)  ", v, r.count[v], r.n, 100*float64(r.count[v])/float64(r.n), 100*lo, 100*hi)
	}
	return s + fmt.Sprintf("median rounds %.1f", r.medianRounds)
}

func simConfig() Config {
	cfg := DefaultConfig()
	cfg.MinRounds, cfg.MaxRounds = SimMinRounds, SimMaxRounds
	return cfg
}

// goal is a bound on a verdict's rate, met when the 95% Clopper–Pearson
// bound meets it (the full run) or, under -short with fewer trials, when
// the interval does not contradict it.
type goal struct {
	verdict results.Verdict
	atMost  bool // the rate must be ≤ rate; else ≥ rate
	rate    float64
}

func checkGoal(t *testing.T, name string, r rates, g goal) {
	t.Helper()
	lo, hi := r.ci(g.verdict)
	met := (g.atMost && hi <= g.rate) || (!g.atMost && lo >= g.rate)
	plausible := (g.atMost && lo <= g.rate) || (!g.atMost && hi >= g.rate)
	op := "≥"
	if g.atMost {
		op = "≤"
	}
	switch {
	case met:
	case fewTrials() && plausible:
		t.Logf("%s: %s rate %s %.1f%% not shown with %d trials (CI %.1f–%.1f%%)", name, g.verdict, op, 100*g.rate, r.n, 100*lo, 100*hi)
	default:
		t.Errorf("%s: %s rate CI %.1f–%.1f%%, goal %s %.1f%%", name, g.verdict, 100*lo, 100*hi, op, 100*g.rate)
	}
}

// TestSimulatedLatency pins the latency rule's rates on resampled real
// rounds (see realRounds), with the verdict's floor of simFloorRounds: at
// compare's default plan (looks after rounds 3–58) and at the plan
// PowerPlan sizes for passing +2.5% at 80% power.
func TestSimulatedLatency(t *testing.T) {
	t.Parallel()
	trials := 2000
	if fewTrials() {
		trials = 200
	}
	cfg := simConfig()
	rr := loadReal(t, cfg.Percentiles)
	within, over := rr.delayFor(0.025, false), rr.delayFor(0.10, true)
	plan, err := PowerPlan(cfg, CalibrationRoundSD(), 0.025, 0.8)
	if err != nil || plan.Rounds == 0 {
		t.Fatalf("power plan: %+v, %v", plan, err)
	}
	powered := cfg
	powered.MaxRounds = plan.Rounds
	t.Logf("within budget: +%.0f µs; +10%%: +%.0f µs; %s", 1000*within, 1000*over, plan.Note)
	decided := func(rate float64) goal { return goal{results.Inconclusive, true, 1 - rate} }
	for i, sc := range []struct {
		name  string
		cfg   Config
		sc    simCase
		goals []goal
	}{
		{"A/A", cfg, simCase{floor: simFloorRounds}, []goal{{results.Fail, true, 0.01}, decided(0.95)}},
		{"legacy vs per-request", cfg, simCase{own: true, floor: simFloorRounds}, []goal{{results.Fail, true, 0.01}, {results.Pass, false, 0.95}}},
		// Per-request's measured cost (legacyEffect) is close enough to
		// the limit at p99 that the default plan passes it about 3 times
		// in 4: pinned at what it gives.
		{"legacy vs per-request (measured shift)", cfg, simCase{shift: rr.measuredShift(legacyEffect), floor: simFloorRounds}, []goal{{results.Fail, true, 0.01}, {results.Pass, false, 0.70}, {results.Pass, true, 0.80}}},
		// The default plan is too short for the within-budget goal (pass
		// ≥ 80%, which needs about 122 rounds): pinned at what it gives,
		// 52% and 36%.
		{"within budget (delay, ≤ +2.5%)", cfg, simCase{delay: within, floor: simFloorRounds}, []goal{{results.Fail, true, 0.01}, {results.Pass, false, 0.48}, {results.Pass, true, 0.57}}},
		{"within budget (real shape, ≤ +2.5%)", cfg, simCase{shift: rr.shapeShift(0.025), floor: simFloorRounds}, []goal{{results.Fail, true, 0.01}, {results.Pass, false, 0.32}, {results.Pass, true, 0.41}}},
		{"+10% (delay, ≥ +10%)", cfg, simCase{delay: over, floor: simFloorRounds}, []goal{{results.Fail, false, 0.95}, {results.Pass, true, 0.01}}},
		{"A/A, powered plan", powered, simCase{floor: simFloorRounds}, []goal{{results.Fail, true, 0.01}, decided(0.95)}},
		{"legacy vs per-request, powered plan", powered, simCase{own: true, floor: simFloorRounds}, []goal{{results.Fail, true, 0.01}, {results.Pass, false, 0.95}}},
		{"within budget, powered plan", powered, simCase{delay: within, floor: simFloorRounds}, []goal{{results.Fail, true, 0.01}, {results.Pass, false, 0.80}}},
		{"within budget (real shape), powered plan", powered, simCase{shift: rr.shapeShift(0.025), floor: simFloorRounds}, []goal{{results.Fail, true, 0.01}, {results.Pass, false, 0.80}}},
		{"+10%, powered plan", powered, simCase{delay: over, floor: simFloorRounds}, []goal{{results.Fail, false, 0.95}}},
	} {
		r := runSim(rr, sc.cfg, sc.sc, trials, uint64(100+i))
		t.Logf("%-36s seed %d, plan %d–%d: %s", sc.name, 100+i, sc.cfg.MinRounds, sc.cfg.MaxRounds, r)
		for _, g := range sc.goals {
			checkGoal(t, sc.name, r, g)
		}
	}
}

// TestVerdictAtTheLimit pins the verdict-level error rates: with one
// latency check exactly on its limit (the others A/A), and with all six
// on it, the compare passes (a false pass: a check is not within) at most
// (1 − Confidence)/2 and fails (a false fail: none is over) at most
// (1 − Confidence)/2, stopping at its first decided look. Holm's fail
// side is what keeps the six-check false fail there; the pass side needs
// no adjustment (all six must pass). The rounds are the rule's model,
// normal per-round log ratios, with the real rounds' spreads and their
// correlation across the six checks (simCase.normal). The same on the
// resampled real rounds themselves is logged, not pinned: 8 real rounds
// have sample skews up to ±0.8 per check, and the t rule's one-sided
// error at the Holm level a/6 is sensitive to skew (see the package
// comment).
func TestVerdictAtTheLimit(t *testing.T) {
	t.Parallel()
	trials := 4000
	if fewTrials() {
		trials = 600
	}
	cfg := simConfig()
	rr := loadReal(t, cfg.Percentiles)
	a := cfg.alpha()
	one := make([]bool, len(rr.checks))
	one[len(one)-1] = true // ws p99, a noisy one
	all := make([]bool, len(rr.checks))
	for j := range all {
		all[j] = true
	}
	for i, sc := range []struct {
		name    string
		onLimit []bool
	}{{"one check on the limit", one}, {"all six on the limit", all}} {
		r := runSim(rr, cfg, simCase{onLimit: sc.onLimit, normal: true}, trials, uint64(500+i))
		t.Logf("%-24s seed %d, normal rounds: %s", sc.name, 500+i, r)
		for _, v := range []results.Verdict{results.Pass, results.Fail} {
			rate := float64(r.count[v]) / float64(r.n)
			lo, hi := r.ci(v)
			if lo > a || (!fewTrials() && rate > a) {
				t.Errorf("%s: %s rate %.2f%% (CI %.2f–%.2f%%), over the design's %.1f%%", sc.name, v, 100*rate, 100*lo, 100*hi, 100*a)
			}
		}
		r = runSim(rr, cfg, simCase{onLimit: sc.onLimit}, trials, uint64(510+i))
		t.Logf("%-24s seed %d, resampled real rounds (not pinned): %s", sc.name, 510+i, r)
	}
}

// TestSimulatedErrors pins the error rule's rates: 2 protocols × SimChats
// chats per round and build.
func TestSimulatedErrors(t *testing.T) {
	t.Parallel()
	trials := 2000
	if fewTrials() {
		trials = 300
	}
	cfg := simConfig()
	for i, sc := range []struct {
		name   string
		pb, pc float64
		goals  []goal
	}{
		{"A/A no errors", 0, 0, []goal{{results.Fail, true, 0.01}, {results.Pass, false, 0.95}}},
		{"A/A 0.2%", 0.002, 0.002, []goal{{results.Fail, true, 0.01}}},
		{"+0.05 point (within)", 0.002, 0.0025, []goal{{results.Fail, true, 0.05}}},
		{"+0.5 point", 0, 0.005, []goal{{results.Fail, false, 0.95}}},
		{"+0.5 point over 0.2%", 0.002, 0.007, []goal{{results.Fail, false, 0.95}}},
	} {
		rng := rand.New(rand.NewPCG(uint64(200+i), 2))
		out := make([]simOutcome, trials)
		for k := range out {
			out[k] = simErrors(rng, cfg, 2*SimChats, sc.pb, sc.pc)
		}
		r := tally(out)
		t.Logf("%-22s seed %d, %d trials: %s", sc.name, 200+i, trials, r)
		for _, g := range sc.goals {
			checkGoal(t, sc.name, r, g)
		}
	}
}

// The memory rule's rates (the candidate's slope against the baseline's)
// are pinned by TestSimulatedMemoryAgainstBaseline in memory_test.go.

// onTheLimit runs compares whose true ratio is exactly the limit (per-round
// log ratios normal, sd 3%), looking after every round of cfg's plan with
// the looks' rule lookCfg, and counts passes and fails.
func onTheLimit(cfg, lookCfg Config, trials int, seed uint64) (pass, fail int) {
	rng := rand.New(rand.NewPCG(seed, 4))
	for range trials {
		var b, c []float64
		for r := 1; r <= cfg.MaxRounds; r++ {
			b = append(b, 10)
			c = append(c, 10*cfg.limit()*math.Exp(0.03*rng.NormFloat64()))
			if r < cfg.MinRounds {
				continue
			}
			cmp, _ := ComparePaired(b, c, lookCfg)
			if cmp.Verdict == results.Pass {
				pass++
				break
			}
			if cmp.Verdict == results.Fail {
				fail++
				break
			}
		}
	}
	return pass, fail
}

// TestBoundaryAtTheLimit checks the sequential design itself: with the
// true ratio exactly on the limit, the share of compares that pass (a false
// pass) and that fail (a false fail) each stay within (1 − Confidence)/2
// while stopping at the first decided look, and looking as often at the
// fixed design's level does not.
func TestBoundaryAtTheLimit(t *testing.T) {
	t.Parallel()
	trials := 4000
	if fewTrials() {
		trials = 1000
	}
	cfg := simConfig()
	a := (1 - cfg.Confidence) / 2
	pass, fail := onTheLimit(cfg, cfg, trials, 400)
	for name, k := range map[string]int{"pass": pass, "fail": fail} {
		lo, hi := ClopperPearson(k, trials, 0.95)
		t.Logf("on the limit, sequential boundary: %s %d/%d (CI %.2f–%.2f%%), design %.1f%%", name, k, trials, 100*lo, 100*hi, 100*a)
		if lo > a {
			t.Errorf("on the limit: %s rate CI %.2f–%.2f%% above the design's %.1f%%", name, 100*lo, 100*hi, 100*a)
		}
	}
	fixed := cfg
	fixed.MaxRounds = 0 // every look at the fixed design's level
	pass, fail = onTheLimit(cfg, fixed, trials, 400)
	for name, k := range map[string]int{"pass": pass, "fail": fail} {
		lo, hi := ClopperPearson(k, trials, 0.95)
		t.Logf("on the limit, fixed level at every look: %s %d/%d (CI %.2f–%.2f%%)", name, k, trials, 100*lo, 100*hi)
		if hi <= a {
			t.Errorf("fixed level at every look: %s rate CI %.2f–%.2f%%, expected inflated above %.1f%%", name, 100*lo, 100*hi, 100*a)
		}
	}
}

// fewTrials reports whether the seeded simulations run their short trial
// counts, where a goal is checked as "not contradicted" rather than
// shown: under -short, and under the race detector, which slows them
// about tenfold (ten minutes of CI) without telling anything about their
// rates. The full counts pin the rates in `make test`'s run without the
// race detector (go test -run 'Simulated|AtTheLimit' ./internal/gate).
func fewTrials() bool { return testing.Short() || raceEnabled }
