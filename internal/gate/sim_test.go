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

// The simulations below are calibrated on real per-round data: the stored
// HDR histograms of docs/example-report (8 rounds × 2 builds × 2 protocols,
// about 800 chats per segment and protocol, this 2-core machine), or of the
// run directory in LOADBENCH_SIM_RUN (an absolute path; a real A/A compare,
// for example). A simulated round picks a real round and build; both
// simulated segments resample SimChats chats
// from that segment's distribution (so the round's conditions are shared,
// as interleaving shares them), each segment gets a log-normal scale
// jitter of the size the real rounds show beyond resampling noise, and the
// candidate's chats are multiplied by the effect. Compares run the
// sequential design of compare's defaults (SimMinRounds..SimMaxRounds).

// Design of the simulated compares: compare's defaults (internal/compare
// tests check that its plan matches).
const (
	SimMinRounds = 3
	SimMaxRounds = 12
	SimChats     = 800 // per segment and protocol: 200 chats/s × 4 s
	simGrid      = 2000
)

// realRounds is the quantile grid (ms at (j+½)/simGrid) of each real
// segment, by protocol, build and round.
type realRounds map[string][2][][]float64

func loadReal(t testing.TB) realRounds {
	t.Helper()
	dir := "../../docs/example-report"
	if d := os.Getenv("LOADBENCH_SIM_RUN"); d != "" {
		dir = d // a real A/A run to calibrate on instead
	}
	run, err := results.ReadRun(dir)
	if err != nil {
		t.Fatalf("read example report: %v", err)
	}
	out := realRounds{}
	for _, proto := range []string{results.HTTP, results.WS} {
		var bs [2][][]float64
		for bi, b := range []string{results.Baseline, results.Candidate} {
			for r := 1; r <= run.Rounds(); r++ {
				h := run.Segment(b, r).Protocols[proto].Latency
				g := make([]float64, simGrid)
				for j := range g {
					g[j] = float64(h.Quantile((float64(j)+0.5)/simGrid).Microseconds()) / 1e3
				}
				bs[bi] = append(bs[bi], g)
			}
		}
		out[proto] = bs
	}
	return out
}

// segmentPcts resamples n chats from grid, scaled, and returns their
// percentiles (rank ⌈p·n⌉, as HDR's ValueAtQuantile).
func segmentPcts(rng *rand.Rand, grid []float64, n int, scale float64, pcts []float64, buf []float64) []float64 {
	buf = buf[:0]
	for range n {
		buf = append(buf, grid[rng.IntN(len(grid))])
	}
	slices.Sort(buf)
	out := make([]float64, len(pcts))
	for i, p := range pcts {
		out[i] = buf[max(0, int(math.Ceil(p/100*float64(n)))-1)] * scale
	}
	return out
}

// calibrateJitter is the per-segment log-scale jitter beyond resampling
// noise: from the real per-round p50 log ratios' variance, less the
// variance resampling alone gives, over 2 (two segments per ratio). It
// resamples 1,200 chats per segment, more than the ~800 the calibration
// run's segments hold, so it takes less of the real spread for resampling
// noise and errs towards more jitter (a noisier, harder simulation).
func calibrateJitter(t testing.TB, real realRounds) float64 {
	rng := rand.New(rand.NewPCG(11, 12))
	var jit []float64
	for _, proto := range []string{results.HTTP, results.WS} {
		var realD, simD []float64
		for r := range real[proto][0] {
			b, c := real[proto][0][r], real[proto][1][r]
			realD = append(realD, math.Log(c[simGrid/2]/b[simGrid/2]))
		}
		buf := make([]float64, 0, 1200)
		for range 400 {
			r := rng.IntN(len(real[proto][0]))
			g := real[proto][rng.IntN(2)][r]
			b := segmentPcts(rng, g, 1200, 1, []float64{50}, buf)[0]
			c := segmentPcts(rng, g, 1200, 1, []float64{50}, buf)[0]
			simD = append(simD, math.Log(c/b))
		}
		_, sr := meanSD(realD)
		_, ss := meanSD(simD)
		j := math.Sqrt(max(0, sr*sr-ss*ss) / 2)
		t.Logf("%s p50 log ratio sd: real %.4f, resampling alone %.4f → jitter %.4f", proto, sr, ss, j)
		jit = append(jit, j)
	}
	return max(0.002, slices.Max(jit))
}

// simOutcome is the result of one simulated compare.
type simOutcome struct {
	verdict results.Verdict
	rounds  int
}

// simLatency runs one sequential compare of the latency checks (2
// protocols × the default percentiles) with the candidate multiplied by
// effect. With ownBuild, each simulated build resamples its own real
// segment of the picked round (the legacy baseline from the legacy's, the
// candidate from the per-request build's): the calibration run's own
// comparison, the real difference between its builds included; without
// it, both resample one picked segment (A/A plus effect).
func simLatency(rng *rand.Rand, real realRounds, cfg Config, effect, jitter float64, ownBuild bool) simOutcome {
	protos := []string{results.HTTP, results.WS}
	pcts := cfg.Percentiles
	type series struct{ b, c []float64 }
	vals := make([]series, len(protos)*len(pcts))
	buf := make([]float64, 0, SimChats)
	for r := 1; r <= cfg.MaxRounds; r++ {
		k, x := rng.IntN(len(real[protos[0]][0])), rng.IntN(2)
		for pi, proto := range protos {
			gb, gc := real[proto][x][k], real[proto][x][k]
			if ownBuild {
				gb, gc = real[proto][0][k], real[proto][1][k]
			}
			bp := segmentPcts(rng, gb, SimChats, math.Exp(jitter*rng.NormFloat64()), pcts, buf)
			cp := segmentPcts(rng, gc, SimChats, effect*math.Exp(jitter*rng.NormFloat64()), pcts, buf)
			for i := range pcts {
				s := &vals[pi*len(pcts)+i]
				s.b, s.c = append(s.b, bp[i]), append(s.c, cp[i])
			}
		}
		if r < cfg.MinRounds {
			continue
		}
		all := true
		for _, s := range vals {
			c, _ := ComparePaired(s.b, s.c, cfg)
			if c.Verdict == results.Fail {
				return simOutcome{results.Fail, r}
			}
			all = all && c.Verdict == results.Pass
		}
		if all {
			return simOutcome{results.Pass, r}
		}
	}
	return simOutcome{results.Inconclusive, cfg.MaxRounds}
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

// simMemory runs one sequential compare of the memory slope: the heap at
// each round boundary (before round 1, after every round; one reading
// each, as ReadMemory keeps) = slope·chats + normal noise of sd noise bytes.
func simMemory(rng *rand.Rand, cfg Config, chats int, slope, noise float64) simOutcome {
	x := []float64{0}
	y := []float64{1e6 + noise*rng.NormFloat64()}
	for r := 1; r <= cfg.MaxRounds; r++ {
		x = append(x, float64(r*chats))
		y = append(y, 1e6+slope*float64(r*chats)+noise*rng.NormFloat64())
		if r < cfg.MinRounds {
			continue
		}
		_, lo, hi := TheilSen(x, y, cfg.criticalZ(r))
		switch {
		case lo > cfg.MaxRetainedBytesPerRequest:
			return simOutcome{results.Fail, r}
		case hi <= cfg.MaxRetainedBytesPerRequest:
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
	case testing.Short() && plausible:
		t.Logf("%s: %s rate %s %.1f%% not shown with %d trials (CI %.1f–%.1f%%)", name, g.verdict, op, 100*g.rate, r.n, 100*lo, 100*hi)
	default:
		t.Errorf("%s: %s rate CI %.1f–%.1f%%, goal %s %.1f%%", name, g.verdict, 100*lo, 100*hi, op, 100*g.rate)
	}
}

// TestSimulatedLatency pins the latency rule's error rates under the
// sequential design, on resampled real rounds.
func TestSimulatedLatency(t *testing.T) {
	t.Parallel()
	trials := 2000
	if testing.Short() {
		trials = 150
	}
	real := loadReal(t)
	jitter := calibrateJitter(t, real)
	cfg := simConfig()
	for i, sc := range []struct {
		name     string
		effect   float64
		ownBuild bool
		goals    []goal
	}{
		{"A/A", 1, false, []goal{{results.Fail, true, 0.01}, {results.Pass, false, 0.95}}},
		{"within budget +2.5%", 1.025, false, []goal{{results.Fail, true, 0.05}}},
		{"at the budget +5%", 1.05, false, []goal{{results.Fail, true, 0.5}}}, // report only; fail ≤ 50% by symmetry
		{"+10%", 1.10, false, []goal{{results.Fail, false, 0.95}, {results.Pass, true, 0.01}}},
		{"legacy vs per-request", 1, true, []goal{{results.Fail, true, 0.01}, {results.Pass, false, 0.95}}},
	} {
		rng := rand.New(rand.NewPCG(uint64(100+i), 1))
		out := make([]simOutcome, trials)
		for k := range out {
			out[k] = simLatency(rng, real, cfg, sc.effect, jitter, sc.ownBuild)
		}
		r := tally(out)
		t.Logf("%-20s seed %d, %d trials: %s", sc.name, 100+i, trials, r)
		for _, g := range sc.goals {
			checkGoal(t, sc.name, r, g)
		}
	}
}

// TestSimulatedErrors pins the error rule's rates: 2 protocols × SimChats
// chats per round and build.
func TestSimulatedErrors(t *testing.T) {
	t.Parallel()
	trials := 2000
	if testing.Short() {
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

// TestSimulatedMemory pins the memory rule's rates. The heap noise is the
// real candidate's: after a forced GC its live heap varied by about 10 KB
// between segments (docs/example-report); 20 KB is used.
func TestSimulatedMemory(t *testing.T) {
	t.Parallel()
	trials := 2000
	if testing.Short() {
		trials = 300
	}
	cfg := simConfig()
	for i, sc := range []struct {
		name  string
		slope float64
		goals []goal
	}{
		{"no leak", 0, []goal{{results.Fail, true, 0.01}, {results.Pass, false, 0.95}}},
		{"leak 32 B/chat", 32, []goal{{results.Fail, true, 0.05}}},
		{"leak 128 B/chat", 128, []goal{{results.Fail, false, 0.95}}},
		// --leak-per-user 2048 with 100 fresh users per round: 2048·100 B
		// per 1,600 chats = 128 B/chat.
		{"per-user leak 2048 B", 2048 * 100 / float64(2*SimChats), []goal{{results.Fail, false, 0.95}}},
	} {
		rng := rand.New(rand.NewPCG(uint64(300+i), 3))
		out := make([]simOutcome, trials)
		for k := range out {
			out[k] = simMemory(rng, cfg, 2*SimChats, sc.slope, 20e3)
		}
		r := tally(out)
		t.Logf("%-20s seed %d, %d trials: %s", sc.name, 300+i, trials, r)
		for _, g := range sc.goals {
			checkGoal(t, sc.name, r, g)
		}
	}
}

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
	if testing.Short() {
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
