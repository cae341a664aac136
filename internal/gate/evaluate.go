package gate

import (
	"errors"
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
		sum.Sequential = cfg.sequentialSummary(n)
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

	// Every check that can fail the compare shares the verdict's false-fail
	// rate: the latency checks (Holm's step-down among them), one error
	// check per protocol and the memory check. A check that fails at its
	// first-step share, (1 − Confidence)/2 over all of them, fails the
	// verdict, so the verdict's false fail is at most (1 − Confidence)/2.
	others := len(errorProtocols(segs[results.Baseline], segs[results.Candidate]))
	if !cfg.NoMemoryGate {
		others++
	}
	latCfg := cfg
	latCfg.holmOthers = others
	// The checks are built once (per protocol, then percentile: the
	// summary's order) and serve the count, the verdicts and the power
	// note.
	dist := disturbedRounds(segs[results.Baseline], segs[results.Candidate], cfg)
	checks := latencyChecks(segs[results.Baseline], segs[results.Candidate], dist, cfg)
	cfg.FailChecks = others + len(gatedLatency(checks))
	decideHolm(checks, latCfg)
	for _, k := range checks {
		sum.Latency = append(sum.Latency, k.verdict())
		warns = append(warns, k.warns...)
	}
	if len(dist.rounds) > 0 {
		sum.DisturbedRounds = slices.Sorted(maps.Keys(dist.rounds))
		sum.DisturbedLagMs = float64(dist.limit.Microseconds()) / 1e3
		warns = append(warns, errors.New("latency: "+dist.text(n)))
	}
	sum.Power = powerNote(checks, n, cfg)
	sum.Errors, sum.ErrorsByProtocol = errorVerdicts(segs[results.Baseline], segs[results.Candidate], n, cfg)
	sum.Saturated = saturated(segs, nil)
	// A saturated segment's send lag is over the disturbed rounds' limit
	// too, so its round is left out of the latency checks like any
	// disturbed round; only one left in makes the compare inconclusive.
	satKept := saturated(segs, dist.rounds)
	bm, cm, memCmp, memReason := memoryVerdicts(segs[results.Baseline], segs[results.Candidate], cfg)
	sum.Memory[results.Baseline], sum.Memory[results.Candidate], sum.MemoryComparison = bm, cm, memCmp
	if sum.Isolation[results.Candidate].Checked == 0 {
		warns = append(warns, fmt.Errorf("candidate isolation: nothing was checked"))
	}
	sum.Verdict, sum.Reason = overall(sum, satKept, memReason, cfg)
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

// saturated names the segments whose generator was saturated, but for
// those of the rounds in skip (from 1).
func saturated(segs map[string][]*results.Segment, skip map[int]bool) []string {
	var out []string
	for _, b := range []string{results.Baseline, results.Candidate} {
		for i, s := range segs[b] {
			if skip[i+1] {
				continue
			}
			for _, name := range slices.Sorted(maps.Keys(s.Protocols)) {
				if p := s.Protocols[name]; p != nil && p.Saturated {
					out = append(out, fmt.Sprintf("%s round %d %s", b, i+1, name))
				}
			}
		}
	}
	return out
}

// errorVerdicts applies the error rule of the package comment to each
// protocol's target errors (clustered by round), and pools them for the
// summary's Errors: its counts, rates and interval are over every
// protocol, its verdict the protocols' combined (fail if any fails, pass
// if all pass). Both are empty when no chat reached either target.
func errorVerdicts(base, cand []*results.Segment, n int, cfg Config) (*results.ErrorVerdict, map[string]*results.ErrorVerdict) {
	protos := errorProtocols(base, cand)
	if len(protos) == 0 {
		return nil, nil
	}
	// The pass side at the design's level, the fail side at its share of
	// the verdict's false-fail rate (Config.FailChecks).
	z, zFail := cfg.criticalZ(n), zQuantile(1-cfg.lookLevel(n, cfg.failAlpha()))
	byProto := map[string]*results.ErrorVerdict{}
	var failed, undecided []string
	for _, proto := range protos {
		v := clusteredDiff(countErrors(base, proto), countErrors(cand, proto), z, zFail)
		v.Protocol = proto
		judgeErrors(v, cfg)
		byProto[proto] = v
		switch v.Verdict {
		case results.Fail:
			failed = append(failed, proto)
		case results.Inconclusive:
			undecided = append(undecided, proto)
		}
	}
	pooled := clusteredDiff(countErrors(base, ""), countErrors(cand, ""), z, zFail)
	pooled.Budget = cfg.ErrorBudget
	switch {
	case len(failed) > 0:
		pooled.Verdict = results.Fail
		pooled.Note = "fails on " + strings.Join(failed, ", ") + " (judged per protocol)"
	case len(undecided) > 0:
		pooled.Verdict = results.Inconclusive
		pooled.Note = "undecided on " + strings.Join(undecided, ", ") + " (judged per protocol)"
	default:
		pooled.Verdict = results.Pass
		if len(protos) > 1 {
			pooled.Note = "passes on every protocol (judged per protocol)"
		}
	}
	return pooled, byProto
}

// judgeErrors sets v's budget, verdict and note: pass when the interval's
// upper bound is within the budget, fail when its lower bound is over.
func judgeErrors(v *results.ErrorVerdict, cfg Config) {
	v.Budget, v.Verdict = cfg.ErrorBudget, results.Inconclusive
	switch {
	case v.BaselineChats == 0 || v.CandidateChats == 0:
		v.Note = "no chat reached one of the targets"
	case v.DiffHigh <= cfg.ErrorBudget:
		v.Verdict = results.Pass
	case v.DiffLow > cfg.ErrorBudget:
		v.Verdict = results.Fail
	default:
		v.Note = "more chats needed to tell the difference from the budget"
	}
}

// latencyCheck is one protocol and percentile: its per-round values and
// its comparison.
type latencyCheck struct {
	proto  string
	pct    float64
	bv, cv []float64 // per-round values, ms
	short  string    // tooFew's reason, "" when the check can be gated
	// disturbed says why the check cannot pass: more than
	// MaxDisturbedShare of the rounds were disturbed; "" otherwise.
	disturbed string
	cmp       Comparison
	warns     []error
}

// latencyChecks is every protocol in the segments × every percentile, with
// its per-round values over the rounds dist (disturbedRounds of the same
// segments) does not leave out, not yet compared.
func latencyChecks(base, cand []*results.Segment, dist disturbance, cfg Config) []*latencyCheck {
	var checks []*latencyCheck
	segs := map[string][]*results.Segment{results.Baseline: base, results.Candidate: cand}
	var distNote string
	if dist.blocksPass(len(base)) != "" {
		distNote = dist.text(len(base))
	}
	for _, proto := range protocols(segs) {
		var warns []error
		var bh, ch []*results.Histogram
		for i := range base {
			if dist.rounds[i+1] {
				continue
			}
			b, c := latency(base[i], proto), latency(cand[i], proto)
			if b.Count() == 0 || c.Count() == 0 {
				warns = append(warns, fmt.Errorf("%s round %d: no latency samples for one build, round left out", proto, i+1))
				continue
			}
			bh, ch = append(bh, b), append(ch, c)
		}
		for i, pct := range cfg.Percentiles {
			k := &latencyCheck{proto: proto, pct: pct, bv: quantilesMs(bh, pct), cv: quantilesMs(ch, pct), short: tooFew(bh, ch, pct), disturbed: distNote}
			if i == 0 {
				k.warns = warns
			}
			checks = append(checks, k)
		}
	}
	return checks
}

// decideHolm compares every check (every protocol in the segments × every
// percentile), with Holm's step-down on the fail side: the m checks that
// can fail (enough chats, at least 2 rounds; plus cfg.holmOthers) are
// first tested at (1 − Confidence)/2 / m each; when r of them fail, the
// rest are tested again at (1 − Confidence)/2 / (m − r), until no more
// fail. The first step alone is Bonferroni's, so the compare's false fail
// (any check failing while every true ratio is within its limit) is at
// most (1 − Confidence)/2; the steps after it only tell which other checks
// fail. The pass side needs no adjustment: the compare passes only if
// every check passes (an intersection–union test), so a false pass needs
// the one check over its limit to pass, at most (1 − Confidence)/2.
func decideHolm(checks []*latencyCheck, cfg Config) {
	gated := gatedLatency(checks)
	compare := func(k *latencyCheck, failChecks int) {
		c := cfg
		c.FailChecks = max(1, failChecks)
		cmp, err := ComparePaired(k.bv, k.cv, c)
		if err != nil { // equal lengths by construction
			panic(err)
		}
		k.cmp = cmp
	}
	failed := map[*latencyCheck]bool{}
	for r := 0; r < len(gated); {
		m := len(gated) - r + cfg.holmOthers
		more := 0
		for _, k := range gated {
			if failed[k] {
				continue
			}
			compare(k, m)
			if k.cmp.Verdict == results.Fail {
				failed[k] = true
				more++
			}
		}
		if more == 0 {
			break
		}
		r += more
	}
	for _, k := range checks {
		if k.short != "" || len(k.bv) < 2 {
			compare(k, len(gated)+cfg.holmOthers)
		}
	}
}

// gatedLatency is the checks that can fail: enough chats above the
// percentile and at least 2 rounds.
func gatedLatency(checks []*latencyCheck) []*latencyCheck {
	var gated []*latencyCheck
	for _, k := range checks {
		if k.short == "" && len(k.bv) >= 2 {
			gated = append(gated, k)
		}
	}
	return gated
}

// verdict is the check's results.LatencyVerdict, with its notes.
func (k *latencyCheck) verdict() results.LatencyVerdict {
	c := k.cmp
	lv := results.LatencyVerdict{
		Protocol:    k.proto,
		Percentile:  k.pct,
		BaselineMs:  finite(geoMean(k.bv)),
		CandidateMs: finite(geoMean(k.cv)),
		Ratio:       finite(c.Ratio),
		CILow:       finite(c.Lo),
		CIHigh:      finite(c.Hi),
		Confidence:  finite(c.Confidence),
		FailChecks:  c.FailChecks,
		PValue:      finiteOr(c.P, 1),
		Verdict:     c.Verdict,
		MoreRounds:  c.MoreRounds,
	}
	var notes []string
	name := results.PercentileName(k.pct)
	if k.short != "" {
		// A percentile estimated from a handful of chats is their
		// maximum, not the percentile: never gated.
		lv.Verdict, lv.MoreRounds = results.Inconclusive, 0
		notes = append(notes, k.short)
		k.warns = append(k.warns, fmt.Errorf("%s %s: %s", k.proto, name, k.short))
	}
	if k.disturbed != "" && lv.Verdict == results.Pass {
		// Passing on the quiet rounds alone would trust a machine, or a
		// candidate, that disturbed the generator in too many of them.
		lv.Verdict = results.Inconclusive
		notes = append(notes, k.disturbed)
	}
	if lv.CILow != c.Lo || lv.CIHigh != c.Hi {
		notes = append(notes, "no confidence interval (stored as 0)")
	}
	for _, w := range c.Warnings {
		notes = append(notes, w.Error())
		k.warns = append(k.warns, fmt.Errorf("%s %s: %w", k.proto, name, w))
	}
	lv.Note = strings.Join(notes, "; ")
	return lv
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

// quantilesMs is each histogram's percentile pct, in milliseconds: its
// Harrell–Davis estimate (hdQuantile).
func quantilesMs(hs []*results.Histogram, pct float64) []float64 {
	out := make([]float64, len(hs))
	for i, h := range hs {
		out[i] = hdQuantile(h, pct/100)
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
