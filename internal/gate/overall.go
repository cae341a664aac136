package gate

import (
	"fmt"
	"math"
	"strings"

	"github.com/loadbench/loadbench/results"
)

// overall is the verdict on the candidate and its one-line reason.
// satKept names the saturated segments of rounds the latency checks
// kept; memReason is the candidate memory verdict's one-line cause.
func overall(sum *results.Summary, satKept []string, memReason string, cfg Config) (verdict results.Verdict, reason string) {
	var fails []string
	iso := sum.Isolation[results.Candidate]
	if iso.Verdict == results.Fail {
		fails = append(fails, "candidate isolation: "+isolationText(iso))
	}
	// Isolation is decided whatever the generator did; the rest is not.
	if iso.Verdict != results.Fail && len(satKept) > 0 {
		return results.Inconclusive, fmt.Sprintf("load generator saturated (%s): latency and errors not measured as scheduled", strings.Join(satKept, ", "))
	}
	mem := sum.Memory[results.Candidate]
	if mem.Verdict == results.Fail {
		fails = append(fails, "candidate memory: "+memReason)
	}
	errs := errorChecks(sum)
	for _, e := range errs {
		if e.Verdict == results.Fail {
			fails = append(fails, "candidate "+errorName(e)+": "+errorText(e))
		}
	}
	worst := -1 // the failing latency check with the largest ratio, the first of those equal to the histograms' precision (0.1%)
	for i, lv := range sum.Latency {
		if lv.Verdict == results.Fail && (worst < 0 || lv.Ratio > sum.Latency[worst].Ratio*(1+1e-3)) {
			worst = i
		}
	}
	if worst >= 0 {
		lv := sum.Latency[worst]
		fails = append(fails, fmt.Sprintf("%s over the %s budget", latencyText(lv), FormatPercent(cfg.Budget)))
	}
	nFails := len(fails)
	for _, lv := range sum.Latency {
		if lv.Verdict == results.Fail {
			nFails++
		}
	}
	if worst >= 0 {
		nFails-- // counted once in fails already
	}
	if len(fails) > 0 {
		reason = fails[0]
		if nFails > 1 {
			reason += fmt.Sprintf(" (and %d more failure(s))", nFails-1)
		}
		return results.Fail, reason
	}

	if mem.Verdict == results.Inconclusive {
		return results.Inconclusive, "candidate memory: " + memReason
	}
	for _, e := range errs {
		if e.Verdict == results.Inconclusive {
			return results.Inconclusive, "candidate " + errorName(e) + ": " + errorText(e) + " cannot be told from the budget"
		}
	}
	for _, lv := range sum.Latency {
		if lv.Verdict == results.Inconclusive && strings.HasPrefix(lv.Note, tooFewPrefix) {
			return results.Inconclusive, fmt.Sprintf("%s not gated: %s (longer rounds or higher rates estimate it)", lv.Check(), lv.Note)
		}
	}
	// The inconclusive check that needs the most rounds.
	slowest := -1
	for i, lv := range sum.Latency {
		if lv.Verdict == results.Inconclusive && (slowest < 0 || lv.MoreRounds > sum.Latency[slowest].MoreRounds) {
			slowest = i
		}
	}
	if slowest >= 0 {
		lv := sum.Latency[slowest]
		reason = fmt.Sprintf("%s cannot be told from the %s budget", latencyText(lv), FormatPercent(cfg.Budget))
		if lv.MoreRounds > 0 {
			reason += fmt.Sprintf("; about %d more round(s) needed", lv.MoreRounds)
		}
		return results.Inconclusive, reason
	}
	if len(sum.Latency) == 0 {
		return results.Inconclusive, "no latency samples to compare"
	}
	memText := "memory released"
	if mem.FactoriesLiveAfter < 0 {
		memText = "memory released (factories_live not reported)"
	}
	errText := ""
	if e := sum.Errors; e != nil {
		errText = fmt.Sprintf(", errors %.2f%% vs %.2f%%", 100*e.CandidateRate, 100*e.BaselineRate)
	}
	return results.Pass, fmt.Sprintf("all %d latency checks within %s, %s%s, no isolation violations in %d checks",
		len(sum.Latency), FormatPercent(cfg.Budget), memText, errText, iso.Checked)
}

// errorChecks are the error verdicts that decide: one per protocol, or
// the pooled one of a summary without them.
func errorChecks(sum *results.Summary) []*results.ErrorVerdict {
	if len(sum.ErrorsByProtocol) == 0 {
		if sum.Errors == nil {
			return nil
		}
		return []*results.ErrorVerdict{sum.Errors}
	}
	var names []string
	for name, e := range sum.ErrorsByProtocol {
		if e != nil {
			names = append(names, name)
		}
	}
	results.SortProtocols(names)
	var out []*results.ErrorVerdict
	for _, name := range names {
		out = append(out, sum.ErrorsByProtocol[name])
	}
	return out
}

// errorName is "ws errors", or "errors" for the pooled verdict.
func errorName(e *results.ErrorVerdict) string {
	if e.Protocol == "" {
		return "errors"
	}
	return e.Protocol + " errors"
}

// errorText is "target error rate 0.62% vs baseline 0.10% (+0.52 points,
// CI +0.40–+0.65, budget 0.1)".
func errorText(e *results.ErrorVerdict) string {
	return fmt.Sprintf("target error rate %.2f%% vs baseline %.2f%% (%+.2f points, CI %+.2f–%+.2f, budget %g)",
		100*e.CandidateRate, 100*e.BaselineRate, 100*e.Diff, 100*e.DiffLow, 100*e.DiffHigh, 100*e.Budget)
}

// latencyText is "http p99 +12.3% (CI 1.08–1.17, p=0.002)"; p is that of
// the paired test against the limit.
func latencyText(lv results.LatencyVerdict) string {
	ci := "no CI"
	if lv.CILow != 0 || lv.CIHigh != 0 {
		ci = fmt.Sprintf("CI %.2f–%.2f", lv.CILow, lv.CIHigh)
	}
	return fmt.Sprintf("%s %+.1f%% (%s, %s)", lv.Check(), (lv.Ratio-1)*100, ci, FormatP(lv.PValue))
}

// FormatPercent formats 0.05 as "5%".
func FormatPercent(f float64) string {
	v := f * 100
	if v == math.Trunc(v) {
		return fmt.Sprintf("%.0f%%", v)
	}
	return fmt.Sprintf("%g%%", v)
}

// FormatP is "p=0.002", or "p<0.001" below what three decimals show.
func FormatP(p float64) string {
	if p < 0.001 {
		return "p<0.001"
	}
	return fmt.Sprintf("p=%.3f", p)
}
