package gate

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/loadbench/loadbench/results"
)

// errSeg is one round's segment with chats per protocol reaching the
// target, errs[proto] of them target errors.
func errSeg(build string, round int, chats int64, errs map[string]int64) *results.Segment {
	s := &results.Segment{
		Manifest:  results.Manifest{Kind: "segment", Build: build, Round: round},
		Protocols: map[string]*results.Protocol{},
	}
	for _, proto := range []string{results.HTTP, results.WS} {
		e := errs[proto]
		s.Protocols[proto] = &results.Protocol{Requests: chats, Success: chats - e, Errors: map[string]int64{"target 500": e}}
	}
	return s
}

// binomial draws the errors of n independent chats failing with p.
func binomial(rng *rand.Rand, n int64, p float64) int64 {
	var k int64
	for range n {
		if rng.Float64() < p {
			k++
		}
	}
	return k
}

// errRates are a build's error rates per protocol.
type errRates map[string]float64

// errCompare runs one sequential compare of the error rule through
// errorVerdicts at every look of cfg's plan: chats per round, protocol
// and build; each segment's rate is the build's times a log-normal round
// factor of sd cluster (0: chats fail independently). It returns the
// pooled verdict (the protocols' combined) and the pooled rule's of
// before (Newcombe over every chat as if independent).
func errCompare(rng *rand.Rand, cfg Config, chats int64, base, cand errRates, cluster float64) (verdict, old results.Verdict) {
	var bs, cs []*results.Segment
	var kb, kc, n int64
	old = results.Inconclusive
	for r := 1; r <= cfg.MaxRounds; r++ {
		draw := func(rates errRates) map[string]int64 {
			out := map[string]int64{}
			for proto, p := range rates {
				f := 1.0
				if cluster > 0 {
					f = math.Exp(cluster*rng.NormFloat64() - cluster*cluster/2) // mean 1
				}
				out[proto] = binomial(rng, chats, min(1, p*f))
			}
			return out
		}
		be, ce := draw(base), draw(cand)
		bs = append(bs, errSeg(results.Baseline, r, chats, be))
		cs = append(cs, errSeg(results.Candidate, r, chats, ce))
		for _, proto := range []string{results.HTTP, results.WS} {
			kb, kc = kb+be[proto], kc+ce[proto]
		}
		n += 2 * chats
		if r < cfg.MinRounds {
			continue
		}
		if old == results.Inconclusive {
			_, lo, hi := DiffInterval(kb, n, kc, n, cfg.criticalZ(r))
			switch {
			case lo > cfg.ErrorBudget:
				old = results.Fail
			case hi <= cfg.ErrorBudget:
				old = results.Pass
			}
		}
		if verdict == "" {
			if v, _ := errorVerdicts(bs, cs, r, cfg); v.Verdict != results.Inconclusive {
				verdict = v.Verdict
			}
		}
		if verdict != "" && old != results.Inconclusive {
			break
		}
	}
	if verdict == "" {
		verdict = results.Inconclusive
	}
	return verdict, old
}

// TestSimulatedErrorsPerProtocol pins the error rule's rates: 800 chats
// per round, protocol and build (200 chats/s × 4 s), compare's default
// plan. A WebSocket-only regression is judged on WebSocket's chats alone.
func TestSimulatedErrorsPerProtocol(t *testing.T) {
	t.Parallel()
	trials := 1000
	if fewTrials() {
		trials = 200
	}
	cfg := memCfg()
	for i, sc := range []struct {
		name             string
		base, cand       errRates
		maxFail, minFail float64
		minPass          float64
	}{
		{"A/A, no errors", errRates{}, errRates{}, 0.01, 0, 0.95},
		{"A/A, 0.2% on both", errRates{"http": 0.002, "ws": 0.002}, errRates{"http": 0.002, "ws": 0.002}, 0.01, 0, 0},
		{"+0.5 point on WebSocket only", errRates{}, errRates{"ws": 0.005}, -1, 0.95, 0},
		// Over a background of errors the interval is wider, and a round
		// that by chance varies more than binomially widens it further:
		// 96.3% (CI 94.9–97.4%) of 1,000.
		{"+0.5 point on WebSocket only, over 0.2%", errRates{"http": 0.002, "ws": 0.002}, errRates{"http": 0.002, "ws": 0.007}, -1, 0.90, 0},
		{"+0.05 point on WebSocket (within)", errRates{"ws": 0.002}, errRates{"ws": 0.0025}, 0.05, 0, 0},
	} {
		rng := rand.New(rand.NewPCG(uint64(700+i), 7))
		count, oldCount := map[results.Verdict]int{}, map[results.Verdict]int{}
		for range trials {
			v, old := errCompare(rng, cfg, 800, sc.base, sc.cand, 0)
			count[v]++
			oldCount[old]++
		}
		t.Logf("%-40s seed %d, %d trials: pass %d, fail %d, inconclusive %d (pooled rule of before: pass %d, fail %d)",
			sc.name, 700+i, trials, count[results.Pass], count[results.Fail], count[results.Inconclusive], oldCount[results.Pass], oldCount[results.Fail])
		checkRate(t, sc.name+" fail", count[results.Fail], trials, sc.maxFail, sc.minFail)
		checkRate(t, sc.name+" pass", count[results.Pass], trials, -1, sc.minPass)
	}
}

// TestErrorsClusteredAtTheBudget checks the clustering: the candidate's
// error rate exactly the budget over the baseline's, on WebSocket, with
// rounds whose rates vary (log-normal factor, sd 1: errors come in
// bursts). The per-round design effect keeps the false fail within
// (1 − Confidence)/2; the pooled rule of before, counting every chat as
// independent, does not.
func TestErrorsClusteredAtTheBudget(t *testing.T) {
	t.Parallel()
	trials := 1000
	if fewTrials() {
		trials = 300
	}
	cfg := memCfg()
	a := (1 - cfg.Confidence) / 2
	rng := rand.New(rand.NewPCG(800, 8))
	// The old rule pooled both protocols: give HTTP the same shift so
	// that it sees the budget's difference too.
	base := errRates{"http": 0.004, "ws": 0.004}
	cand := errRates{"http": 0.004 + cfg.ErrorBudget, "ws": 0.004 + cfg.ErrorBudget}
	fails, oldFails := 0, 0
	for range trials {
		v, old := errCompare(rng, cfg, 800, base, cand, 1)
		if v == results.Fail {
			fails++
		}
		if old == results.Fail {
			oldFails++
		}
	}
	lo, hi := ClopperPearson(fails, trials, 0.95)
	olo, ohi := ClopperPearson(oldFails, trials, 0.95)
	t.Logf("clustered, at the budget: false fail %d/%d (CI %.1f–%.1f%%); pooled rule of before %d/%d (CI %.1f–%.1f%%); design ≤ %.1f%% per check",
		fails, trials, 100*lo, 100*hi, oldFails, trials, 100*olo, 100*ohi, 100*a)
	// Two protocols can each fail: the verdict's false fail is at most
	// twice a check's.
	if lo > 2*a {
		t.Errorf("clustered errors at the budget: false fail CI %.1f–%.1f%%, over %.1f%%", 100*lo, 100*hi, 200*a)
	}
	if ohi <= 2*a {
		t.Errorf("the pooled rule of before kept its rate under clustering (CI %.1f–%.1f%%): the scenario does not show clustering", 100*olo, 100*ohi)
	}
}

func TestDesignEffect(t *testing.T) {
	t.Parallel()
	// Every round alike: no more variance than independent chats (floor 1).
	if d, r := DesignEffect([]int64{3, 3, 3, 3}, []int64{1000, 1000, 1000, 1000}); d != 1 || r != 4 {
		t.Errorf("even rounds: deff %v over %d rounds, want 1 over 4", d, r)
	}
	// All 30 errors in one of four rounds of 1,000: p = 0.0075,
	// v = 4/3·(3·7.5² + 22.5²)/4000², binomial p(1 − p)/4000.
	want := (4.0 / 3 * (3*7.5*7.5 + 22.5*22.5) / (4000 * 4000)) / (0.0075 * 0.9925 / 4000)
	if d, _ := DesignEffect([]int64{0, 0, 0, 30}, []int64{1000, 1000, 1000, 1000}); math.Abs(d-want) > 1e-9 {
		t.Errorf("one bursty round: deff %v, want %v", d, want)
	}
	// No errors, or one round: 1.
	if d, _ := DesignEffect([]int64{0, 0}, []int64{10, 10}); d != 1 {
		t.Errorf("no errors: deff %v", d)
	}
	if d, r := DesignEffect([]int64{5, 0}, []int64{100, 0}); d != 1 || r != 1 {
		t.Errorf("one round with chats: deff %v over %d", d, r)
	}
}

// Evaluate judges each protocol apart: +1 point on WebSocket fails the
// WebSocket check and the compare, HTTP passes, and the pooled Errors
// carries the protocols' verdict with both builds' pooled counts.
func TestEvaluateErrorsPerProtocol(t *testing.T) {
	t.Parallel()
	good := build{factor: steady(1, tight...), forced: true}
	run := synthRun(good, good)
	for _, s := range run.Segments {
		if s.Manifest.Build == results.Candidate {
			p := s.Protocols[results.WS]
			p.Errors["ws error"] = 10 // 1% of 1000
			p.Success -= 10
		}
	}
	sum := Evaluate(run, DefaultConfig())
	h, w := sum.ErrorsByProtocol[results.HTTP], sum.ErrorsByProtocol[results.WS]
	if h == nil || w == nil || h.Verdict != results.Pass || w.Verdict != results.Fail || w.Protocol != results.WS ||
		w.CandidateErrors != 60 || w.CandidateChats != 6000 || w.Rounds != 6 || w.CandidateDesignEffect != 1 {
		t.Fatalf("per protocol: http %+v, ws %+v", h, w)
	}
	if e := sum.Errors; e == nil || e.Verdict != results.Fail || e.CandidateErrors != 60 || e.CandidateChats != 12000 || !strings.Contains(e.Note, "fails on ws") {
		t.Errorf("pooled: %+v", sum.Errors)
	}
	if sum.Verdict != results.Fail || !strings.HasPrefix(sum.Reason, "candidate ws errors: target error rate 1.00% vs baseline 0.00%") {
		t.Errorf("verdict %s: %q", sum.Verdict, sum.Reason)
	}
	// 18 errors (0.3%) fail when spread over the rounds; all in one round
	// the design effect widens the interval, which then no longer shows
	// the rate over the budget.
	wsErrors := func(perRound func(round int) int64) *results.ErrorVerdict {
		run := synthRun(good, good)
		for _, s := range run.Segments {
			if s.Manifest.Build == results.Candidate {
				p := s.Protocols[results.WS]
				p.Errors["ws error"] = perRound(s.Manifest.Round)
				p.Success -= p.Errors["ws error"]
			}
		}
		return Evaluate(run, DefaultConfig()).ErrorsByProtocol[results.WS]
	}
	spread := wsErrors(func(int) int64 { return 3 })
	burst := wsErrors(func(r int) int64 {
		if r == 3 {
			return 18
		}
		return 0
	})
	if spread.Verdict != results.Fail || spread.CandidateDesignEffect != 1 {
		t.Errorf("3 errors in every round: %+v", spread)
	}
	if burst.Verdict == results.Fail || burst.CandidateDesignEffect < 5 || burst.CandidateErrors != 18 || burst.DiffLow >= spread.DiffLow {
		t.Errorf("18 errors in one round: %+v", burst)
	}
}

// The fail side is tested at its share of the verdict's false-fail rate
// (Config.FailChecks): a lower bound further down, the pass side's upper
// bound unchanged.
func TestErrorsFailSideShare(t *testing.T) {
	t.Parallel()
	base := roundCounts{errs: []int64{1, 0, 2, 1, 0, 1}, chats: []int64{800, 800, 800, 800, 800, 800}}
	cand := roundCounts{errs: []int64{4, 3, 5, 2, 4, 3}, chats: []int64{800, 800, 800, 800, 800, 800}}
	cfg := DefaultConfig()
	one, _ := errorVerdictsFrom(base, cand, cfg)
	cfg.FailChecks = 4
	four, _ := errorVerdictsFrom(base, cand, cfg)
	if !(four.DiffLow < one.DiffLow) || four.DiffHigh != one.DiffHigh || four.Diff != one.Diff {
		t.Errorf("FailChecks 4: %v–%v, FailChecks 1: %v–%v", four.DiffLow, four.DiffHigh, one.DiffLow, one.DiffHigh)
	}
}

// errorVerdictsFrom runs errorVerdicts over rounds of one protocol (ws)
// with the given counts.
func errorVerdictsFrom(base, cand roundCounts, cfg Config) (*results.ErrorVerdict, map[string]*results.ErrorVerdict) {
	var bs, cs []*results.Segment
	for i := range base.errs {
		bs = append(bs, errSeg(results.Baseline, i+1, base.chats[i], map[string]int64{results.WS: base.errs[i]}))
		cs = append(cs, errSeg(results.Candidate, i+1, cand.chats[i], map[string]int64{results.WS: cand.errs[i]}))
	}
	_, by := errorVerdicts(bs, cs, len(bs), cfg)
	return by[results.WS], by
}
