package gate

import (
	"fmt"
	"math"

	"github.com/loadbench/loadbench/results"
)

// overall is the verdict on the candidate and its one-line reason.
// memReason is the candidate memory verdict's one-line cause.
func overall(sum *results.Summary, memReason string, cfg Config) (verdict, reason string) {
	var fails []string
	iso := sum.Isolation[results.Candidate]
	if iso.Verdict == results.Fail {
		fails = append(fails, fmt.Sprintf("candidate isolation: %d violation(s) in %d checks", iso.Violations, iso.Checked))
	}
	mem := sum.Memory[results.Candidate]
	if mem.Verdict == results.Fail {
		fails = append(fails, "candidate memory: "+memReason)
	}
	worst := -1 // the failing latency check with the largest ratio
	for i, lv := range sum.Latency {
		if lv.Verdict == results.Fail && (worst < 0 || lv.Ratio > sum.Latency[worst].Ratio) {
			worst = i
		}
	}
	if worst >= 0 {
		lv := sum.Latency[worst]
		fails = append(fails, fmt.Sprintf("%s over the %s budget", latencyText(lv), pct(cfg.Budget)))
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
	// The inconclusive check that needs the most rounds.
	slowest := -1
	for i, lv := range sum.Latency {
		if lv.Verdict == results.Inconclusive && (slowest < 0 || lv.MoreRounds > sum.Latency[slowest].MoreRounds) {
			slowest = i
		}
	}
	if slowest >= 0 {
		lv := sum.Latency[slowest]
		reason = fmt.Sprintf("%s cannot be told from the %s budget", latencyText(lv), pct(cfg.Budget))
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
	return results.Pass, fmt.Sprintf("all %d latency checks within %s, %s, no isolation violations in %d checks",
		len(sum.Latency), pct(cfg.Budget), memText, iso.Checked)
}

// latencyText is "http p99 +12.3% (CI 1.08–1.17, p=0.002)".
func latencyText(lv results.LatencyVerdict) string {
	ci := "no CI"
	if lv.CILow != 0 || lv.CIHigh != 0 {
		ci = fmt.Sprintf("CI %.2f–%.2f", lv.CILow, lv.CIHigh)
	}
	return fmt.Sprintf("%s %s %+.1f%% (%s, %s)", lv.Protocol, percentileName(lv.Percentile), (lv.Ratio-1)*100, ci, pText(lv.PValue))
}

// pct formats 0.05 as "5%".
func pct(f float64) string {
	v := f * 100
	if v == math.Trunc(v) {
		return fmt.Sprintf("%.0f%%", v)
	}
	return fmt.Sprintf("%g%%", v)
}

// pText is "p=0.002", or "p<0.001" below what three decimals show.
func pText(p float64) string {
	if p < 0.001 {
		return "p<0.001"
	}
	return fmt.Sprintf("p=%.3f", p)
}
