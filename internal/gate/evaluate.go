package gate

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"

	"github.com/loadbench/loadbench/results"
)

// Evaluate computes the verdicts of a compare run from its stored segments,
// with cfg (PlanConfig of the run's plan, for a stored run). It uses
// complete rounds only (rounds 1..run.Rounds(), where both builds have a
// segment) and sets Partial when the run was cut short: its manifest says
// so, a later round is incomplete, or fewer rounds than a fixed design
// planned (cfg.Rounds) are complete. See the package comment for
// the rules. Values that JSON cannot hold (an infinite interval with too few
// rounds) are stored as 0 with a note.
func Evaluate(run *results.Run, cfg Config) *results.Summary {
	n := run.Rounds()
	sum := &results.Summary{
		Budget:    cfg.Budget,
		Alpha:     cfg.Alpha,
		Rounds:    n,
		Seed:      run.Plan().Seed,
		Partial:   run.Manifest.Partial,
		Latency:   []results.LatencyVerdict{},
		Memory:    map[string]results.MemoryVerdict{},
		Isolation: map[string]results.IsolationVerdict{},
		Requests:  map[string]int64{},
	}
	var warns []error
	if err := cfg.Validate(); err != nil {
		warns = append(warns, err)
	}
	for _, s := range run.Segments {
		if s.Manifest.Round > n {
			sum.Partial = true
		}
	}
	if cfg.Rounds > n && cfg.MaxRounds == 0 {
		sum.Partial = true
	}
	if cfg.MaxRounds > 0 {
		sum.Sequential = &results.Sequential{
			MinRounds: cfg.MinRounds, MaxRounds: cfg.MaxRounds, Confidence: cfg.Confidence,
			LookConfidence: cfg.LookConfidence(n), CriticalZ: cfg.criticalZ(n),
		}
	}
	if sum.Partial {
		warns = append(warns, fmt.Errorf("partial run: %d complete round(s) used", n))
	}

	segs := map[string][]*results.Segment{}
	for _, b := range []string{results.Baseline, results.Candidate} {
		for r := 1; r <= n; r++ {
			segs[b] = append(segs[b], run.Segment(b, r))
		}
		for _, s := range segs[b] {
			for _, p := range s.Protocols {
				sum.Requests[b] += p.Requests
			}
		}
		sum.Isolation[b] = isolationVerdict(b, segs[b])
	}

	for _, proto := range protocols(segs) {
		lv, w := latencyVerdicts(proto, segs[results.Baseline], segs[results.Candidate], cfg)
		sum.Latency = append(sum.Latency, lv...)
		warns = append(warns, w...)
	}
	sum.Errors = errorVerdict(segs[results.Baseline], segs[results.Candidate], n, cfg)
	sum.Saturated = saturated(segs)
	var memReason string
	// The candidate may keep live as many factories as the baseline keeps
	// after its last round: a legacy baseline's one process-wide factory
	// is the state the migration starts from, not a leak of the candidate.
	keep := max(ReadMemory(segs[results.Baseline]).FactoriesLiveAfter, 0)
	for _, b := range []string{results.Baseline, results.Candidate} {
		v, reason := memoryVerdict(b, segs[b], cfg, keep)
		sum.Memory[b] = v
		if b == results.Candidate {
			memReason = reason
		}
	}
	if sum.Isolation[results.Candidate].Checked == 0 {
		warns = append(warns, fmt.Errorf("candidate isolation: nothing was checked"))
	}
	sum.Verdict, sum.Reason = overall(sum, memReason, cfg)
	for _, w := range AppendUnique(nil, warns...) {
		sum.Warnings = append(sum.Warnings, w.Error())
	}
	return sum
}

// protocols lists the protocols with latency samples in any segment: HTTP,
// WS, then others by name.
func protocols(segs map[string][]*results.Segment) []string {
	seen := map[string]bool{}
	for _, ss := range segs {
		for _, s := range ss {
			for name, p := range s.Protocols {
				if p != nil && p.Latency.Count() > 0 {
					seen[name] = true
				}
			}
		}
	}
	var out []string
	for _, p := range []string{results.HTTP, results.WS} {
		if seen[p] {
			out = append(out, p)
			delete(seen, p)
		}
	}
	var rest []string
	for p := range seen {
		rest = append(rest, p)
	}
	slices.Sort(rest)
	return append(out, rest...)
}

// saturated names the segments whose generator was saturated.
func saturated(segs map[string][]*results.Segment) []string {
	var out []string
	for _, b := range []string{results.Baseline, results.Candidate} {
		for i, s := range segs[b] {
			for _, name := range slices.Sorted(maps.Keys(s.Protocols)) {
				if p := s.Protocols[name]; p != nil && p.Saturated {
					out = append(out, fmt.Sprintf("%s round %d %s", b, i+1, name))
				}
			}
		}
	}
	return out
}

// errorVerdict applies the error rule of the package comment to the target
// errors pooled over protocols and rounds; nil when no chat reached either
// target.
func errorVerdict(base, cand []*results.Segment, n int, cfg Config) *results.ErrorVerdict {
	count := func(segs []*results.Segment) (errs, chats int64) {
		for _, s := range segs {
			for _, p := range s.Protocols {
				if p != nil {
					e := p.TargetErrorCount()
					errs += e
					chats += p.Success + e
				}
			}
		}
		return errs, chats
	}
	be, bn := count(base)
	ce, cn := count(cand)
	if bn == 0 && cn == 0 {
		return nil
	}
	diff, lo, hi := DiffInterval(be, bn, ce, cn, cfg.criticalZ(n))
	v := &results.ErrorVerdict{
		BaselineErrors: be, BaselineChats: bn, CandidateErrors: ce, CandidateChats: cn,
		BaselineRate: frac(be, bn), CandidateRate: frac(ce, cn),
		Diff: diff, DiffLow: lo, DiffHigh: hi, Budget: cfg.ErrorBudget,
		Verdict: results.Inconclusive,
	}
	switch {
	case bn == 0 || cn == 0:
		v.Note = "no chat reached one of the targets"
	case hi <= cfg.ErrorBudget:
		v.Verdict = results.Pass
	case lo > cfg.ErrorBudget:
		v.Verdict = results.Fail
	default:
		v.Note = "more chats needed to tell the difference from the budget"
	}
	return v
}

// latencyVerdicts compares proto at every percentile over the rounds where
// both builds have latency samples for it.
func latencyVerdicts(proto string, base, cand []*results.Segment, cfg Config) ([]results.LatencyVerdict, []error) {
	var warns []error
	var bh, ch []*results.Histogram
	for i := range base {
		b, c := latency(base[i], proto), latency(cand[i], proto)
		if b.Count() == 0 || c.Count() == 0 {
			warns = append(warns, fmt.Errorf("%s round %d: no latency samples for one build, round left out", proto, i+1))
			continue
		}
		bh, ch = append(bh, b), append(ch, c)
	}
	var out []results.LatencyVerdict
	for _, pct := range cfg.Percentiles {
		bv, cv := quantilesMs(bh, pct), quantilesMs(ch, pct)
		c, err := ComparePaired(bv, cv, cfg)
		if err != nil { // equal lengths by construction
			panic(err)
		}
		lv := results.LatencyVerdict{
			Protocol:    proto,
			Percentile:  pct,
			BaselineMs:  finite(geoMean(bv)),
			CandidateMs: finite(geoMean(cv)),
			Ratio:       finite(c.Ratio),
			CILow:       finite(c.Lo),
			CIHigh:      finite(c.Hi),
			PValue:      finiteOr(c.P, 1),
			Verdict:     c.Verdict,
			MoreRounds:  c.MoreRounds,
		}
		var notes []string
		if short := tooFew(bh, ch, pct); short != "" {
			// A percentile estimated from a handful of chats is their
			// maximum, not the percentile: never gated.
			lv.Verdict, lv.MoreRounds = results.Inconclusive, 0
			notes = append(notes, short)
			warns = append(warns, fmt.Errorf("%s %s: %s", proto, results.PercentileName(pct), short))
		}
		if lv.CILow != c.Lo || lv.CIHigh != c.Hi {
			notes = append(notes, "no confidence interval (stored as 0)")
		}
		for _, w := range c.Warnings {
			notes = append(notes, w.Error())
			warns = append(warns, fmt.Errorf("%s %s: %w", proto, results.PercentileName(pct), w))
		}
		lv.Note = strings.Join(notes, "; ")
		out = append(out, lv)
	}
	return out, warns
}

// MinTailChats is how many answered chats a segment must have above a
// gated percentile for that percentile to be estimated: p99 needs 500
// chats per round, p50 10. Fewer leave the check inconclusive.
const MinTailChats = 5

// tooFewPrefix starts the note of a check left inconclusive for too few
// chats per round.
const tooFewPrefix = "too few chats per round"

// tooFew is the reason percentile pct cannot be gated from the rounds'
// histograms, or "" when every round has MinTailChats above it.
func tooFew(base, cand []*results.Histogram, pct float64) string {
	least := int64(-1)
	for _, h := range append(slices.Clone(base), cand...) {
		if n := h.Count(); least < 0 || n < least {
			least = n
		}
	}
	if least < 0 || float64(least)*(1-pct/100) >= MinTailChats-1e-9 {
		return ""
	}
	if pct >= 100 {
		return fmt.Sprintf("%s: the maximum is not gated", tooFewPrefix)
	}
	need := int64(math.Ceil(MinTailChats / (1 - pct/100)))
	return fmt.Sprintf("%s: %d in the smallest segment, fewer than the %d that put %d above %s",
		tooFewPrefix, least, need, MinTailChats, results.PercentileName(pct))
}

func latency(s *results.Segment, proto string) *results.Histogram {
	if p := s.Protocols[proto]; p != nil {
		return p.Latency
	}
	return nil
}

// quantilesMs is each histogram's percentile pct, in milliseconds.
func quantilesMs(hs []*results.Histogram, pct float64) []float64 {
	out := make([]float64, len(hs))
	for i, h := range hs {
		out[i] = float64(h.Quantile(pct/100).Microseconds()) / 1e3
	}
	return out
}

// geoMean is the geometric mean of the positive values of vs: the figures
// whose ratio is the paired ratio (the mean log ratio), so the baseline and
// candidate a report shows divide to the ratio it shows.
func geoMean(vs []float64) float64 {
	var sum float64
	n := 0
	for _, v := range vs {
		if v > 0 && !math.IsInf(v, 0) {
			sum += math.Log(v)
			n++
		}
	}
	if n == 0 {
		return math.NaN()
	}
	return math.Exp(sum / float64(n))
}

func finiteOr(v, or float64) float64 {
	if math.IsInf(v, 0) || math.IsNaN(v) {
		return or
	}
	return v
}

// finite maps ±Inf and NaN, which JSON cannot hold, to 0.
func finite(v float64) float64 {
	if math.IsInf(v, 0) || math.IsNaN(v) {
		return 0
	}
	return v
}

// isolationVerdict merges the segments' checks. Both builds get pass or
// fail; only the candidate's is gated.
func isolationVerdict(build string, segs []*results.Segment) results.IsolationVerdict {
	var iso results.Isolation
	for _, s := range segs {
		iso.Merge(s.Isolation)
	}
	v := results.IsolationVerdict{
		Checked:            iso.Checked,
		Violations:         iso.Violations,
		DistinctFactoryIDs: iso.DistinctFactoryIDs,
		Verdict:            results.Pass,
	}
	if iso.Violations > 0 {
		v.Verdict = results.Fail
	}
	for name, c := range iso.Protocols {
		if v.Protocols == nil {
			v.Protocols = map[string]results.ProtocolIsolation{}
		}
		pv := results.ProtocolIsolation{Checked: c.Checked, Violations: c.Violations, Verdict: results.Pass}
		if c.Violations > 0 {
			pv.Verdict = results.Fail
		}
		v.Protocols[name] = pv
	}
	return v
}

// isolationText is the one-line reason of a failed isolation verdict, with
// each protocol's share: "3 violation(s) in 900 checks (http pass: 0 of
// 450; ws fail: 3 of 450)".
func isolationText(iso results.IsolationVerdict) string {
	s := fmt.Sprintf("%d violation(s) in %d checks", iso.Violations, iso.Checked)
	if len(iso.Protocols) > 1 {
		s += " (" + iso.ProtocolText() + ")"
	}
	return s
}
