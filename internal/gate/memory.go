package gate

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"sync"

	"github.com/loadbench/loadbench/results"
)

// MemoryReading is one build's memory over the rounds of a compare, before
// it is judged.
type MemoryReading struct {
	Rounds                  int     // rounds with a usable heap reading
	RetainedBytes           float64 // last live heap − first live heap
	RetainedBytesPerRequest float64 // RetainedBytes over the chats answered in between
	// Chats and Heap are the points of the slope: the cumulative chats
	// answered and the live heap at each round boundary, one reading each:
	// before the first usable round, then after every usable round. The
	// reading before a round that follows a usable one is left out: it is
	// a second look at the same idle heap (byte for byte, after a forced
	// GC), and counting it twice would narrow the interval as if it were
	// new data.
	Chats, Heap            []float64
	FactoriesLiveAfter     float64 // after the last round; -1 = not reported
	AgentInstancesRetained float64 // after the last round; -1 = not reported
	Forced                 bool    // every reading followed a forced GC
	// SharedHeap: some reading came from a target in the generator's own
	// process, whose heap holds the generator's too.
	SharedHeap bool
	Warnings   []error
}

// answered is the number of chats a segment's target answered.
func answered(s *results.Segment) int64 {
	var n int64
	for _, p := range s.Protocols {
		if p != nil {
			n += p.Success
		}
	}
	return n
}

// ReadMemory computes a build's memory reading from its segments, in round
// order. Rounds without memory.json or with an unreported heap (-1) are
// left out of the slope, with a warning; their chats still count.
func ReadMemory(segs []*results.Segment) MemoryReading {
	m := MemoryReading{FactoriesLiveAfter: -1, AgentInstancesRetained: -1, Forced: true}
	var cum float64
	prevUsable := false // whether the round before was read
	for i, s := range segs {
		cum += float64(answered(s))
		mem := s.Memory
		if mem == nil {
			m.Warnings = append(m.Warnings, fmt.Errorf("round %d: no memory readings", i+1))
			prevUsable = false
			continue
		}
		m.FactoriesLiveAfter = mem.After.FactoriesLive
		m.AgentInstancesRetained = mem.After.AgentInstancesRetained
		if mem.Before.HeapLiveBytes < 0 || mem.After.HeapLiveBytes < 0 {
			m.Warnings = append(m.Warnings, fmt.Errorf("round %d: heap not reported", i+1))
			prevUsable = false
			continue
		}
		m.SharedHeap = m.SharedHeap || mem.Before.SharedHeap || mem.After.SharedHeap
		if !prevUsable { // the first, or after a round without readings
			m.Chats = append(m.Chats, cum-float64(answered(s)))
			m.Heap = append(m.Heap, mem.Before.HeapLiveBytes)
			m.Forced = m.Forced && mem.Before.Forced
		}
		prevUsable = true
		m.Chats = append(m.Chats, cum)
		m.Heap = append(m.Heap, mem.After.HeapLiveBytes)
		m.Forced = m.Forced && mem.After.Forced
		m.Rounds++
	}
	if n := len(segs); n > 0 && segs[n-1].Memory == nil && m.FactoriesLiveAfter >= 0 {
		m.Warnings = append(m.Warnings, fmt.Errorf("factories live read before round %d", n))
	}
	if k := len(m.Heap); k >= 2 {
		m.RetainedBytes = m.Heap[k-1] - m.Heap[0]
		if dc := m.Chats[k-1] - m.Chats[0]; dc > 0 {
			m.RetainedBytesPerRequest = m.RetainedBytes / dc
		}
	}
	if m.Rounds == 0 {
		m.Forced = false
	}
	return m
}

// memoryVerdicts applies the memory rule of the package comment: both
// builds' heap slopes (reported, the baseline's as info), their difference
// (the candidate's minus the baseline's), judged against
// MaxRetainedBytesPerRequest, and the factories left live. reason is the
// candidate's one-line cause of a fail or inconclusive, "" otherwise.
func memoryVerdicts(base, cand []*results.Segment, cfg Config) (bv, cv results.MemoryVerdict, cmp *results.MemoryComparison, reason string) {
	mb, mc := ReadMemory(base), ReadMemory(cand)
	// The candidate may keep live as many factories as the baseline keeps
	// after its last round: a legacy baseline's one process-wide factory
	// is the state the migration starts from, not a leak of the candidate.
	keep := max(mb.FactoriesLiveAfter, 0)
	looks := min(len(mb.Heap), len(mc.Heap)) - 1 // rounds read on both builds
	// The pass side at the design's level, the fail side at its share of
	// the verdict's false-fail rate (Config.FailChecks).
	z, zFail := cfg.memoryZ(looks, cfg.alpha()), cfg.memoryZ(looks, cfg.failAlpha())
	bv, sb, lb, ub := buildMemory(mb, z)
	cv, sc, lc, uc := buildMemory(mc, z)
	bv.Verdict = results.Info
	if zFail != z {
		_, lc, _ = TheilSen(mc.Chats, mc.Heap, zFail)
		_, _, ub = TheilSen(mb.Chats, mb.Heap, zFail)
	}
	d, lo, hi := SlopeDiff(sc, lc, uc, sb, lb, ub)
	cmp = &results.MemoryComparison{
		BaselineBytesPerChat: finite(sb), CandidateBytesPerChat: finite(sc),
		DiffBytesPerChat: finite(d), DiffLow: finite(lo), DiffHigh: finite(hi),
		Limit: cfg.MaxRetainedBytesPerRequest, CriticalZ: finite(z),
	}
	if cfg.MaxRounds > 0 && looks > 0 {
		cmp.Information = slopeInformation(looks) / slopeInformation(cfg.planRounds())
	}
	verdict, notes, reason := judgeMemory(mb, mc, d, lo, hi, cfg, keep)
	cmp.Verdict, cmp.Note = verdict, strings.Join(notes, "; ")
	cv.Verdict = verdict
	if cv.Note != "" {
		notes = append([]string{cv.Note}, notes...)
	}
	cv.Note = strings.Join(notes, "; ")
	return bv, cv, cmp, reason
}

// buildMemory is one build's memory figures and its Theil–Sen slope with
// Sen's interval at one-sided normal quantile z.
func buildMemory(m MemoryReading, z float64) (v results.MemoryVerdict, slope, lo, hi float64) {
	v = results.MemoryVerdict{
		RetainedBytes:           m.RetainedBytes,
		RetainedBytesPerRequest: m.RetainedBytesPerRequest,
		FactoriesLiveAfter:      m.FactoriesLiveAfter,
		AgentInstancesRetained:  m.AgentInstancesRetained,
		Points:                  len(m.Heap),
		Forced:                  m.Forced,
	}
	var notes []string
	for _, w := range m.Warnings {
		notes = append(notes, w.Error())
	}
	v.Note = strings.Join(notes, "; ")
	slope, lo, hi = TheilSen(m.Chats, m.Heap, z)
	v.SlopeBytesPerChat, v.SlopeLow, v.SlopeHigh = finite(slope), finite(lo), finite(hi)
	return v, slope, lo, hi
}

// SlopeDiff is the difference of two independent slopes, c − b, with an
// interval recovered from each slope's own interval (the MOVER of Zou and
// Donner, the construction of Newcombe's interval for two proportions):
// lo = d − √((c − cLo)² + (bHi − b)²), hi = d + √((cHi − c)² + (b − bLo)²),
// each bound one-sided at the level of the slopes' bounds. An infinite
// bound of either slope makes that bound infinite.
func SlopeDiff(c, cLo, cHi, b, bLo, bHi float64) (d, lo, hi float64) {
	d = c - b
	lo = d - math.Hypot(c-cLo, bHi-b)
	hi = d + math.Hypot(cHi-c, b-bLo)
	if math.IsNaN(d) {
		return d, math.Inf(-1), math.Inf(1)
	}
	return d, lo, hi
}

// judgeMemory applies the memory rule to the builds' readings and the
// slope difference d (candidate − baseline) with its interval; keep is how
// many factories may stay live after the last round.
func judgeMemory(mb, mc MemoryReading, d, lo, hi float64, cfg Config, keep float64) (verdict results.Verdict, notes []string, reason string) {
	limit := cfg.MaxRetainedBytesPerRequest
	verdict = results.Inconclusive
	diffText := func() string {
		return fmt.Sprintf("heap slope %s B/chat over the baseline's (CI %s–%s, limit %s)", fmtSigned(d), fmtSigned(lo), fmtSigned(hi), fmtBytes(limit))
	}
	switch {
	case cfg.NoMemoryGate:
		verdict = results.Info
		notes = append(notes, "memory gate off: reported, not gated")
		return verdict, notes, ""
	case len(mc.Heap) == 0:
		reason = "not measured: no usable memory readings (the target serves no heap metric on its metrics route; expose one, or turn the memory gate off)"
		notes = append(notes, reason)
	case len(mb.Heap) == 0:
		reason = "the baseline's heap was not measured: nothing to judge the candidate's against (the baseline serves no heap metric; expose one, or turn the memory gate off)"
		notes = append(notes, reason)
	case mc.SharedHeap || mb.SharedHeap:
		// The generator's own heap grows with what it keeps of the run:
		// the slope is the process's, not the target's. Only the
		// factories are the target's own.
		verdict = results.Pass
		notes = append(notes, "a target shares the load generator's process: heap slopes reported, not gated; factories_live still checked")
	case hi <= limit:
		verdict = results.Pass
	case lo > limit:
		verdict = results.Fail
		reason = diffText()
		notes = append(notes, reason)
	case math.IsInf(hi, 0) || math.IsInf(lo, 0):
		reason = fmt.Sprintf("%d and %d heap reading(s) (baseline, candidate): too few for a slope interval at this look", len(mb.Heap), len(mc.Heap))
		notes = append(notes, reason)
	default:
		reason = diffText() + ": cannot be told from the limit"
		notes = append(notes, reason)
	}
	if len(mc.Heap) > 0 && len(mb.Heap) > 0 && (!mc.Forced || !mb.Forced) && !math.IsInf(hi, 0) && !math.IsInf(lo, 0) {
		notes = append(notes, fmt.Sprintf("no forced GC (no /debug/gc): readings include garbage; detection limit about %s B/chat (the interval's width)", fmtBytes(hi-lo)))
	}
	switch m := mc; {
	case m.FactoriesLiveAfter < 0:
		notes = append(notes, "factories_live not reported: not checked")
	case m.FactoriesLiveAfter > 0 && m.FactoriesLiveAfter <= keep:
		notes = append(notes, fmt.Sprintf("%v factories live after the last round, as the baseline keeps", m.FactoriesLiveAfter))
	case m.FactoriesLiveAfter > 0:
		r := fmt.Sprintf("%v factories live after the last round", m.FactoriesLiveAfter)
		if keep > 0 {
			r += fmt.Sprintf(" (the baseline keeps %v)", keep)
		}
		notes = append(notes, r)
		if verdict != results.Fail {
			reason = r
		}
		verdict = results.Fail
	}
	return verdict, notes, reason
}

// slopeInformation is the information on a heap slope from readings at
// the k+1 round boundaries 0..k, in units of (chats per round)²/σ²: the
// spread Σ(x − x̄)² of k+1 equally spaced points, k(k+1)(k+2)/12. It grows
// as the cube of the rounds: after 6 of 12 rounds a slope has 15% of its
// final information, not half.
func slopeInformation(k int) float64 {
	kf := float64(max(k, 0))
	return kf * (kf + 1) * (kf + 2) / 12
}

// memorySpend is the one-sided error a memory check at one-sided level a
// may have spent by information fraction t: the Lan–DeMets spending
// function of Pocock type, (1 − ρ)·a·ln(1 + (e − 1)·t), up to the plan
// (t ≤ 1), then the reserve as the latency design spends it,
// (1 − ρ)·a + ρ·a·(1 − 1/t) (ρ = ReserveShare). Pocock's type, not
// O'Brien–Fleming's: on the slope's information scale O'Brien–Fleming's
// critical value after 6 of 12 rounds is about 5.7, where Sen's interval
// of 7 readings is infinite below 2.85; Pocock's is about 2.8, so an
// ordinary compare's memory check can decide when its latency checks do.
func memorySpend(a, t float64) float64 {
	switch {
	case t <= 0:
		return 0
	case t <= 1:
		return (1 - ReserveShare) * a * math.Log(1+(math.E-1)*t)
	}
	return (1-ReserveShare)*a + ReserveShare*a*(1-1/t)
}

// memoryZ is the one-sided normal critical value at one-sided level a of
// the memory interval at the look after k rounds read on both builds. A
// fixed design uses z at 1 − a. A sequential one spends a on the slope's
// information scale, I(k)/I(PlanRounds) (slopeInformation, memorySpend):
// memoryBoundary. A look before MinRounds takes the first look's value.
func (c Config) memoryZ(k int, a float64) float64 {
	if c.MaxRounds <= 0 {
		return zQuantile(1 - a)
	}
	first := max(2, c.MinRounds)
	plan := max(first, c.planRounds())
	k = min(max(k, first), first+maxLooks)
	zs := memoryBoundary(first, plan, max(k, plan), a)
	return zs[k-first]
}

type memoryKey struct {
	first, plan int
	a           float64
}

var memoryBoundaries sync.Map // memoryKey → []float64

// memoryBoundary is the critical values of the memory looks after rounds
// first..last, by simulation: a statistic on the slope difference at a
// look with information fraction t_k = I(k)/I(plan) (slopeInformation)
// is, under the null on the limit, W(t_k)/√t_k with W a Brownian motion
// (the canonical joint distribution of a group-sequential design). Each
// look's critical value is set so that the paths that cross it first
// there are a share memorySpend(a, t_k) − memorySpend(a, t_{k−1}) of all
// paths. The seed is fixed, so the values are constants of the key.
//
// The paths of look j do not depend on how many looks follow, so the
// values are cached per (first, plan, a) for the looks up to the plan's
// end at least, and computed again only for a run continued beyond them.
func memoryBoundary(first, plan, last int, a float64) []float64 {
	key := memoryKey{first, plan, a}
	if v, ok := memoryBoundaries.Load(key); ok && len(v.([]float64)) >= last-first+1 {
		return v.([]float64)[:last-first+1]
	}
	last = max(last, plan)
	looks := last - first + 1
	full := slopeInformation(plan)
	rng := rand.New(rand.NewPCG(0x3e3, uint64(plan)<<8|uint64(first)))
	w := make([]float64, boundaryPaths)
	crossed := make([]bool, boundaryPaths)
	zs := make([]float64, looks)
	var buf []float64
	prevT, spent := 0.0, 0.0
	for j := range looks {
		t := slopeInformation(first+j) / full
		step := math.Sqrt(t - prevT)
		buf = buf[:0]
		for i := range w {
			w[i] += step * rng.NormFloat64()
			if !crossed[i] {
				buf = append(buf, w[i]/math.Sqrt(t))
			}
		}
		prevT = t
		m := int(math.Round((memorySpend(a, t) - spent) * boundaryPaths))
		if m <= 0 || len(buf) == 0 {
			zs[j] = math.Inf(1)
			continue
		}
		m = min(m, len(buf))
		zs[j] = kthLargest(buf, m)
		for i := range w {
			if !crossed[i] && w[i]/math.Sqrt(t) >= zs[j] {
				crossed[i] = true
			}
		}
		spent += float64(m) / boundaryPaths
	}
	memoryBoundaries.Store(key, zs)
	return zs
}

// kthLargest is the k-th largest value of v (1 ≤ k ≤ len(v)), found by
// quickselect (v is reordered): a full sort of the 200,000 paths at every
// look was most of Evaluate's time.
func kthLargest(v []float64, k int) float64 {
	want := len(v) - k // index in ascending order
	lo, hi := 0, len(v)-1
	for lo < hi {
		p := v[lo+(hi-lo)/2]
		i, j := lo, hi
		for i <= j {
			for v[i] < p {
				i++
			}
			for v[j] > p {
				j--
			}
			if i <= j {
				v[i], v[j] = v[j], v[i]
				i++
				j--
			}
		}
		switch {
		case want <= j:
			hi = j
		case want >= i:
			lo = i
		default:
			return v[want]
		}
	}
	return v[want]
}

// fmtSigned is "+12" or "-3", "∞" for an unbounded value.
func fmtSigned(v float64) string {
	if math.IsInf(v, 0) || math.IsNaN(v) {
		return "∞"
	}
	return fmt.Sprintf("%+.0f", math.Round(v)+0)
}

func fmtBytes(v float64) string {
	if math.IsInf(v, 0) || math.IsNaN(v) {
		return "∞"
	}
	return fmt.Sprintf("%.0f", v)
}
