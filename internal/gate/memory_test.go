package gate

import (
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/loadbench/loadbench/results"
)

// memSeg is a segment of one round of the memory simulations: chats
// answered, and the live heap (after a forced GC) before and after it.
func memSeg(build string, round int, chats int64, before, after float64) *results.Segment {
	p := results.NewProtocol(results.HTTP)
	p.Requests, p.Success = chats, chats
	return &results.Segment{
		Manifest:  results.Manifest{Kind: "segment", Build: build, Round: round},
		Protocols: map[string]*results.Protocol{results.HTTP: p},
		Memory: &results.Memory{
			Before: results.Snapshot{Forced: true, HeapLiveBytes: before},
			After:  results.Snapshot{Forced: true, HeapLiveBytes: after},
		},
	}
}

// memPath draws one build's segments over rounds: the heap at each round
// boundary is 2 MB + slope·chats answered so far + independent normal
// noise of sd noise bytes (one reading per boundary, as compare reads it:
// the reading before a round is the one after the round before).
func memPath(rng *rand.Rand, build string, rounds int, chats int64, slope, noise float64) []*results.Segment {
	heap := func(r int) float64 { return 2e6 + slope*float64(int64(r)*chats) + noise*rng.NormFloat64() }
	prev := heap(0)
	segs := make([]*results.Segment, rounds)
	for r := range segs {
		next := heap(r + 1)
		segs[r] = memSeg(build, r+1, chats, prev, next)
		prev = next
	}
	return segs
}

// memCompare runs one sequential compare of the memory rule, through
// memoryVerdicts at every look from cfg.MinRounds to cfg.MaxRounds: the
// baseline's heap grows base B/chat, the candidate's cand, both with heap
// noise sd noise. It returns the verdict and the look it was reached at.
func memCompare(rng *rand.Rand, cfg Config, chats int64, base, cand, noise float64) (results.Verdict, int) {
	bs := memPath(rng, results.Baseline, cfg.MaxRounds, chats, base, noise)
	cs := memPath(rng, results.Candidate, cfg.MaxRounds, chats, cand, noise)
	for r := cfg.MinRounds; r <= cfg.MaxRounds; r++ {
		_, cv, _, _ := memoryVerdicts(bs[:r], cs[:r], cfg)
		if cv.Verdict != results.Inconclusive {
			return cv.Verdict, r
		}
	}
	return results.Inconclusive, cfg.MaxRounds
}

// memCfg is compare's default plan: looks after rounds 3 to 12.
func memCfg() Config {
	cfg := DefaultConfig()
	cfg.MinRounds, cfg.MaxRounds = 3, 12
	return cfg
}

// Memory simulations: 1,600 chats per round and build (2 protocols × 200
// chats/s × 4 s), both builds growing 13 B/chat in the background (the
// real builds grow 12–15), heap noise sd 20 KB per reading (the real
// readings after a forced GC scatter about 13 KB around their line in
// docs/example-report).
const (
	memChats      = 1600
	memBackground = 13.0
	memNoise      = 20e3
)

// TestSimulatedMemoryAgainstBaseline pins the memory rule's rates with
// the default limit (DefaultMaxRetainedBytesPerRequest, 16 B/chat over
// the baseline).
func TestSimulatedMemoryAgainstBaseline(t *testing.T) {
	t.Parallel()
	trials := 1000
	if fewTrials() {
		trials = 300
	}
	cfg := memCfg()
	limit := cfg.MaxRetainedBytesPerRequest
	for i, sc := range []struct {
		name          string
		extra         float64 // candidate's slope over the baseline's
		maxFail       float64 // -1: no bound
		minFail       float64
		minPass       float64
		wantMaxRounds float64 // median decided look at most this
	}{
		// Both builds grow alike: under the old absolute rule a slope of
		// 13 B/chat was all of it; now it cancels.
		{"A/A (both grow 13 B/chat)", 0, 0.01, 0, 0.95, 8},
		// +32 B/chat over the baseline: the goal's leak.
		{"leak +32 B/chat over the baseline", 32, -1, 0.95, 0, 8},
		// --leak 128 (measured 168–172 B/chat) and the per-user leak.
		{"leak +128 B/chat", 128, -1, 0.95, 0, 7},
	} {
		rng := rand.New(rand.NewPCG(uint64(500+i), 5))
		count := map[results.Verdict]int{}
		var looks []float64
		for range trials {
			v, r := memCompare(rng, cfg, memChats, memBackground, memBackground+sc.extra, memNoise)
			count[v]++
			looks = append(looks, float64(r))
		}
		med := medianOf(looks)
		t.Logf("%-36s seed %d, %d trials: pass %d, fail %d, inconclusive %d, median look %.0f (limit %.0f B/chat)",
			sc.name, 500+i, trials, count[results.Pass], count[results.Fail], count[results.Inconclusive], med, limit)
		checkRate(t, sc.name+" fail", count[results.Fail], trials, sc.maxFail, sc.minFail)
		checkRate(t, sc.name+" pass", count[results.Pass], trials, -1, sc.minPass)
		if med > sc.wantMaxRounds {
			t.Errorf("%s: median decided look %.0f, want at most %.0f", sc.name, med, sc.wantMaxRounds)
		}
	}
}

// checkRate checks k of n against a bound: at most maxRate (when ≥ 0) and
// at least minRate (when > 0), met when the 95% Clopper–Pearson bound
// meets it; under -short, with fewer trials, when the interval does not
// contradict it.
func checkRate(t *testing.T, name string, k, n int, maxRate, minRate float64) {
	t.Helper()
	lo, hi := ClopperPearson(k, n, 0.95)
	if maxRate >= 0 && hi > maxRate && (!fewTrials() || lo > maxRate) {
		t.Errorf("%s: %d of %d (CI %.1f–%.1f%%), goal ≤ %.1f%%", name, k, n, 100*lo, 100*hi, 100*maxRate)
	}
	if minRate > 0 && lo < minRate && (!fewTrials() || hi < minRate) {
		t.Errorf("%s: %d of %d (CI %.1f–%.1f%%), goal ≥ %.1f%%", name, k, n, 100*lo, 100*hi, 100*minRate)
	}
}

func medianOf(vs []float64) float64 {
	s := append([]float64(nil), vs...)
	for i := 1; i < len(s); i++ { // insertion sort: small slices
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
	return median(s)
}

// TestMemoryAtTheLimit checks the memory rule's design: with the
// candidate's slope exactly the default limit (16 B/chat) over the
// baseline's, the compares that pass (a false pass) and that fail (a
// false fail) each stay within (1 − Confidence)/2 while stopping at the
// first decided look. (The rule sees only D − limit, so any limit gives
// the same rates.)
func TestMemoryAtTheLimit(t *testing.T) {
	t.Parallel()
	trials := 2000
	if fewTrials() {
		trials = 600
	}
	cfg := memCfg()
	a := (1 - cfg.Confidence) / 2
	rng := rand.New(rand.NewPCG(600, 6))
	count := map[results.Verdict]int{}
	for range trials {
		v, _ := memCompare(rng, cfg, memChats, memBackground, memBackground+cfg.MaxRetainedBytesPerRequest, memNoise)
		count[v]++
	}
	for _, v := range []results.Verdict{results.Pass, results.Fail} {
		k := count[v]
		lo, hi := ClopperPearson(k, trials, 0.95)
		t.Logf("on the limit: %s %d/%d = %.2f%% (CI %.2f–%.2f%%), design ≤ %.1f%%", v, k, trials, 100*float64(k)/float64(trials), 100*lo, 100*hi, 100*a)
		// Shown (the interval's upper bound within the design's) on the
		// full run; not contradicted under -short.
		if hi > a && (!fewTrials() || lo > a) {
			t.Errorf("on the limit: %s rate CI %.2f–%.2f%%, design ≤ %.1f%%", v, 100*lo, 100*hi, 100*a)
		}
	}
}

// The boundary spends the error on the slope's information, which grows
// as the cube of the rounds: its critical values fall look by look, are
// finite from the first look, end above the fixed design's, and a fixed
// design uses the fixed level.
func TestMemoryBoundary(t *testing.T) {
	t.Parallel()
	cfg := memCfg()
	a := (1 - cfg.Confidence) / 2
	zs := memoryBoundary(3, 12, 12, a)
	fixed := zQuantile(1 - a)
	for j, z := range zs {
		if math.IsInf(z, 0) || z <= fixed || (j > 0 && z > zs[j-1]) {
			t.Errorf("look after round %d: z %.3f (previous %v, fixed %.3f)", 3+j, z, zs[max(j-1, 0)], fixed)
		}
	}
	// After 6 of 12 rounds the slope has 15% of its final information; a
	// boundary on the round scale (criticalZ) would treat it as half.
	if tf := slopeInformation(6) / slopeInformation(12); math.Abs(tf-336.0/2184) > 1e-12 {
		t.Errorf("information after 6 of 12 rounds %.3f, want %.3f", tf, 336.0/2184)
	}
	// 7 readings (6 rounds) give Sen a finite interval at the look's level.
	if z := cfg.memoryZ(6, cfg.alpha()); z > 2.85 {
		t.Errorf("z after 6 rounds %.3f: Sen's interval of 7 readings is infinite above 2.85", z)
	}
	if z, cz := cfg.memoryZ(2, cfg.alpha()), cfg.memoryZ(3, cfg.alpha()); z != cz {
		t.Errorf("a look before the first takes the first's value: %v, %v", z, cz)
	}
	// A compare continued beyond its plan keeps the planned looks'
	// values and spends only the reserve after them: stricter looks.
	ext := cfg
	ext.MaxRounds = 20
	ext.PlanRounds = 12
	for k := 3; k <= 12; k++ {
		if z, pz := ext.memoryZ(k, ext.alpha()), cfg.memoryZ(k, cfg.alpha()); math.Abs(z-pz) > 1e-12 {
			t.Errorf("look %d of a continued compare: z %v, planned %v", k, z, pz)
		}
	}
	if z13, z12 := ext.memoryZ(13, ext.alpha()), ext.memoryZ(12, ext.alpha()); !(z13 > z12) {
		t.Errorf("first look beyond the plan: z %v, not above the last planned %v", z13, z12)
	}
	cfg.MaxRounds = 0
	if z := cfg.memoryZ(12, cfg.alpha()); z != fixed {
		t.Errorf("fixed design z %v, want %v", z, fixed)
	}
}

// SlopeDiff combines two slopes' intervals (the MOVER): symmetric
// intervals of half-widths 3 and 4 give one of half-width 5.
func TestSlopeDiff(t *testing.T) {
	t.Parallel()
	d, lo, hi := SlopeDiff(40, 37, 43, 13, 9, 17)
	if d != 27 || math.Abs(lo-22) > 1e-12 || math.Abs(hi-32) > 1e-12 {
		t.Errorf("SlopeDiff = %v (%v–%v), want 27 (22–32)", d, lo, hi)
	}
	if _, lo, hi := SlopeDiff(40, math.Inf(-1), 43, 13, 9, 17); !math.IsInf(lo, -1) || math.IsInf(hi, 0) {
		t.Errorf("an infinite bound of one slope: %v–%v", lo, hi)
	}
}

// Evaluate judges the candidate's slope against the baseline's, not
// against zero: both growing 40 B/chat passes under a 16 B/chat limit,
// the candidate at +40 fails, and the summary keeps both builds' figures.
func TestEvaluateMemoryAgainstBaseline(t *testing.T) {
	t.Parallel()
	run := func(base, cand float64) *results.Summary {
		rng := rand.New(rand.NewPCG(7, 7))
		r := &results.Run{Manifest: results.Manifest{Kind: "compare"}}
		bs := memPath(rng, results.Baseline, 10, memChats, base, 5e3)
		cs := memPath(rng, results.Candidate, 10, memChats, cand, 5e3)
		for i := range bs {
			r.Segments = append(r.Segments, bs[i], cs[i])
		}
		return Evaluate(r, DefaultConfig())
	}
	sum := run(40, 40)
	m := sum.MemoryComparison
	if c := sum.Memory[results.Candidate]; c.Verdict != results.Pass || m == nil || m.Verdict != results.Pass ||
		math.Abs(m.DiffBytesPerChat) > 3 || m.Limit != DefaultMaxRetainedBytesPerRequest {
		t.Errorf("both growing 40 B/chat: candidate %+v, comparison %+v", c, m)
	}
	if b := sum.Memory[results.Baseline]; b.Verdict != results.Info || math.Abs(b.SlopeBytesPerChat-40) > 3 || b.Points != 11 {
		t.Errorf("baseline figures: %+v", b)
	}
	sum = run(13, 53)
	m = sum.MemoryComparison
	if c := sum.Memory[results.Candidate]; c.Verdict != results.Fail || m.Verdict != results.Fail || m.DiffLow <= 16 || math.Abs(m.DiffBytesPerChat-40) > 3 ||
		math.Abs(m.CandidateBytesPerChat-53) > 3 || math.Abs(m.BaselineBytesPerChat-13) > 3 {
		t.Errorf("+40 B/chat: candidate %+v, comparison %+v", c, m)
	}
	if sum.Verdict != results.Fail || !strings.Contains(sum.Reason, "candidate memory: heap slope +40 B/chat over the baseline's (CI +") {
		t.Errorf("verdict %s: %q", sum.Verdict, sum.Reason)
	}
}

// Without the baseline's heap there is nothing to judge the candidate's
// against: inconclusive, with the reason.
func TestEvaluateMemoryWithoutBaselineHeap(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(8, 8))
	r := &results.Run{Manifest: results.Manifest{Kind: "compare"}}
	bs := memPath(rng, results.Baseline, 8, memChats, 13, 5e3)
	cs := memPath(rng, results.Candidate, 8, memChats, 13, 5e3)
	for i := range bs {
		bs[i].Memory.Before.HeapLiveBytes, bs[i].Memory.After.HeapLiveBytes = -1, -1
		r.Segments = append(r.Segments, bs[i], cs[i])
	}
	sum := Evaluate(r, DefaultConfig())
	if c := sum.Memory[results.Candidate]; c.Verdict != results.Inconclusive || !strings.Contains(c.Note, "the baseline's heap was not measured") {
		t.Errorf("candidate memory %+v", c)
	}
}

// The memory fail side is tested at its share of the verdict's false-fail
// rate (Config.FailChecks): a lower bound further down, the upper bound
// unchanged.
func TestMemoryFailSideShare(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(9, 9))
	bs := memPath(rng, results.Baseline, 10, memChats, 13, 20e3)
	cs := memPath(rng, results.Candidate, 10, memChats, 30, 20e3)
	cfg := memCfg()
	_, _, one, _ := memoryVerdicts(bs, cs, cfg)
	cfg.FailChecks = 4
	_, _, four, _ := memoryVerdicts(bs, cs, cfg)
	if !(four.DiffLow < one.DiffLow) || four.DiffHigh != one.DiffHigh || four.DiffBytesPerChat != one.DiffBytesPerChat {
		t.Errorf("FailChecks 4: %v–%v, FailChecks 1: %v–%v", four.DiffLow, four.DiffHigh, one.DiffLow, one.DiffHigh)
	}
}

// kthLargest agrees with a sort, ties and duplicates included.
func TestKthLargest(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(1, 2))
	for trial := range 200 {
		n := 1 + rng.IntN(300)
		v := make([]float64, n)
		for i := range v {
			v[i] = float64(rng.IntN(1 + trial%20)) // many ties in some trials
		}
		sorted := slices.Clone(v)
		slices.Sort(sorted)
		k := 1 + rng.IntN(n)
		if got, want := kthLargest(slices.Clone(v), k), sorted[n-k]; got != want {
			t.Fatalf("trial %d: %d-th largest of %v = %v, want %v", trial, k, v, got, want)
		}
	}
}
