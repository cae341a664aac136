package report

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/loadbench/loadbench/charts"
	"github.com/loadbench/loadbench/results"
)

// view is the content shared by the Markdown and HTML reports.
type view struct {
	Verdict  results.Verdict // results.Pass, ...
	Reason   string
	Intro    string
	Warnings []string
	Latency  []latencyRow
	Memory   []pairRow
	MemNotes []string
	Errors   []pairRow // nil when no chat reached a target
	ErrNote  string
	Iso      []pairRow
	Examples []string
	Load     []pairRow // the load accounting: target and generator errors, in flight, send lag
	Setup    []setupRow
	Charts   []charts.Chart
}

type latencyRow struct {
	Protocol, Percentile, Baseline, Candidate, Ratio, CI, P string
	Verdict                                                 results.Verdict
	Note                                                    string
}

// pairRow is a row of a baseline/candidate table: its cells' text, or, in
// a verdict row (see verdictRow), the builds' verdicts.
type pairRow struct {
	Label, Baseline, Candidate        string
	BaselineVerdict, CandidateVerdict results.Verdict // a verdict row's only
	IsVerdict                         bool
}

// verdictRow is the row labelled "verdict" that ends a table.
func verdictRow(baseline, candidate results.Verdict) pairRow {
	return labelledVerdictRow("verdict", baseline, candidate)
}

// labelledVerdictRow is a verdict row with its own label ("ws verdict").
func labelledVerdictRow(label string, baseline, candidate results.Verdict) pairRow {
	return pairRow{Label: label, BaselineVerdict: baseline, CandidateVerdict: candidate, IsVerdict: true}
}

type setupRow struct{ Label, Value string }

func newView(run *results.Run, sum *results.Summary, cs []charts.Chart) view {
	v := view{Verdict: sum.Verdict, Reason: sum.Reason, Warnings: sum.Warnings, Charts: cs}
	if v.Verdict == "" {
		v.Verdict = results.Inconclusive
	}
	v.Intro = fmt.Sprintf("Candidate (per-request factory) against baseline (singleton) over %d round%s; latency budget +%s at %s.",
		sum.Rounds, plural(sum.Rounds), pct(sum.Budget), percentileList(sum))
	if q := sum.Sequential; q != nil {
		v.Intro += fmt.Sprintf(" Rounds until decided (%d to %d planned); latency intervals at this look's %s confidence (their true two-sided level: the pass side at the look's boundary, the fail side shared by every check that can fail), so that stopping early keeps the %s overall.",
			q.MinRounds, q.MaxRounds, latencyLevel(sum), pct(q.Confidence))
	}
	if sum.Partial {
		v.Intro += " The run was cut short: these are partial results."
	}
	for _, l := range sum.Latency {
		r := latencyRow{
			Protocol:   l.Protocol,
			Percentile: results.PercentileName(l.Percentile),
			Baseline:   millis(l.BaselineMs),
			Candidate:  millis(l.CandidateMs),
			Ratio:      ratio(l.Ratio),
			CI:         "–",
			P:          pValue(l.PValue),
			Verdict:    l.Verdict,
			Note:       l.Note,
		}
		if l.CILow > 0 || l.CIHigh > 0 {
			r.CI = fmt.Sprintf("%.3f–%.3f", l.CILow, l.CIHigh)
		}
		if l.MoreRounds > 0 {
			r.Note = strings.TrimSpace(r.Note + fmt.Sprintf(" about %d more rounds would decide", l.MoreRounds))
		}
		v.Latency = append(v.Latency, r)
	}
	b, c := sum.Memory[results.Baseline], sum.Memory[results.Candidate]
	v.Memory = []pairRow{
		{Label: "heap growth over the rounds", Baseline: bytesIEC(b.RetainedBytes), Candidate: bytesIEC(c.RetainedBytes)},
		{Label: "heap slope per chat answered", Baseline: slope(b), Candidate: slope(c)},
	}
	if m := sum.MemoryComparison; m != nil {
		v.Memory = append(v.Memory, pairRow{Label: "slope over the baseline's (gated)", Baseline: "–", Candidate: memoryDiff(m)})
	}
	v.Memory = append(v.Memory,
		pairRow{Label: "live factories after", Baseline: count(b.FactoriesLiveAfter), Candidate: count(c.FactoriesLiveAfter)},
		pairRow{Label: "retained agent instances", Baseline: count(b.AgentInstancesRetained), Candidate: count(c.AgentInstancesRetained)},
		verdictRow(b.Verdict, c.Verdict),
	)
	for _, build := range []string{results.Baseline, results.Candidate} {
		if n := sum.Memory[build].Note; n != "" {
			v.MemNotes = append(v.MemNotes, build+": "+n)
		}
	}
	if e := sum.Errors; e != nil && len(sum.ErrorsByProtocol) == 0 { // a summary from before the per-protocol rule
		v.Errors = []pairRow{
			{Label: "target errors", Baseline: fmt.Sprintf("%d of %d", e.BaselineErrors, e.BaselineChats), Candidate: fmt.Sprintf("%d of %d", e.CandidateErrors, e.CandidateChats)},
			{Label: "target error rate", Baseline: fmt.Sprintf("%.3f%%", 100*e.BaselineRate), Candidate: fmt.Sprintf("%.3f%%", 100*e.CandidateRate)},
			verdictRow(results.Info, e.Verdict),
		}
		v.ErrNote = fmt.Sprintf("Difference %+.3f points (CI %+.3f to %+.3f), budget %s points; generator errors never count.",
			100*e.Diff, 100*e.DiffLow, 100*e.DiffHigh, strconv.FormatFloat(100*e.Budget, 'f', -1, 64))
		if e.Note != "" {
			v.ErrNote += " " + e.Note + "."
		}
	} else if e != nil {
		v.Errors, v.ErrNote = errorRows(e, sum.ErrorsByProtocol)
	}
	bi, ci := sum.Isolation[results.Baseline], sum.Isolation[results.Candidate]
	v.Iso = []pairRow{
		{Label: "responses checked", Baseline: strconv.FormatInt(bi.Checked, 10), Candidate: strconv.FormatInt(ci.Checked, 10)},
		{Label: "with another user's data", Baseline: strconv.FormatInt(bi.Violations, 10), Candidate: strconv.FormatInt(ci.Violations, 10)},
		{Label: "distinct factory ids", Baseline: strconv.FormatInt(bi.DistinctFactoryIDs, 10), Candidate: strconv.FormatInt(ci.DistinctFactoryIDs, 10)},
	}
	if len(bi.Protocols) > 1 || len(ci.Protocols) > 1 {
		v.Iso = append(v.Iso, pairRow{Label: "by protocol", Baseline: bi.ProtocolText(), Candidate: ci.ProtocolText()})
	}
	v.Iso = append(v.Iso, verdictRow(bi.Verdict, ci.Verdict))
	const maxExamples = 5
	for _, s := range run.Segments {
		for _, e := range s.Isolation.Examples {
			if len(v.Examples) < maxExamples {
				v.Examples = append(v.Examples, fmt.Sprintf("%s round %d, %s, %s: %s", s.Manifest.Build, s.Manifest.Round, e.Protocol, e.UserID, e.Reason))
			}
		}
	}
	v.Load = loadRows(run)
	v.Setup = setup(run, sum)
	return v
}

// loadRows are the load accounting of both builds, per protocol: what the
// target answered and failed, and what the generator failed or did not
// send itself (never charged to the target), with how hard it was pushed.
func loadRows(run *results.Run) []pairRow {
	acc := results.Account(run)
	b, c := acc[results.Baseline], acc[results.Candidate]
	var protos []string
	for _, m := range []map[string]results.Accounting{b, c} {
		for name := range m {
			if !slices.Contains(protos, name) {
				protos = append(protos, name)
			}
		}
	}
	sort.Strings(protos)
	var rows []pairRow
	for _, name := range protos {
		pb, pc := b[name], c[name]
		label := strings.ToUpper(name) + " "
		row := func(l string, f func(a results.Accounting) string) {
			rows = append(rows, pairRow{Label: label + l, Baseline: f(pb), Candidate: f(pc)})
		}
		row("chats sent / answered", func(a results.Accounting) string { return fmt.Sprintf("%d / %d", a.Requests, a.Success) })
		row("target errors", func(a results.Accounting) string {
			s := fmt.Sprintf("%d (%s)", a.TargetErrors, pct(a.TargetErrorRate))
			if a.TopTargetError != "" {
				s += ", most " + a.TopTargetError
			}
			return s
		})
		row("generator errors (not sent)", func(a results.Accounting) string {
			return fmt.Sprintf("%d (%d)", a.GeneratorErrors, a.NotSent)
		})
		row("in flight at the generator, max / mean", func(a results.Accounting) string {
			return fmt.Sprintf("%d / %.1f", a.InFlightMax, a.InFlightMean)
		})
		row("send lag p99, worst round", func(a results.Accounting) string {
			s := millis(a.SendLagP99Ms)
			if a.SendLagLimitMs > 0 {
				s += " (limit " + millis(a.SendLagLimitMs) + ")"
			}
			return s
		})
		row("rounds with the generator saturated", func(a results.Accounting) string {
			return fmt.Sprintf("%d of %d", a.SaturatedSegments, a.Segments)
		})
		row("timing violations", func(a results.Accounting) string { return strconv.FormatInt(a.TimingViolations, 10) })
	}
	return rows
}

// errorRows are the errors table of a summary with per-protocol verdicts:
// each protocol's errors, rate and verdict, then all protocols pooled and
// the combined verdict; the note has each protocol's difference.
func errorRows(pooled *results.ErrorVerdict, byProto map[string]*results.ErrorVerdict) ([]pairRow, string) {
	var rows []pairRow
	var diffs []string
	for _, name := range protocolOrder(byProto) {
		e := byProto[name]
		label := strings.ToUpper(name)
		rows = append(rows,
			pairRow{Label: label + " target errors", Baseline: errorCount(e.BaselineErrors, e.BaselineChats, e.BaselineRate), Candidate: errorCount(e.CandidateErrors, e.CandidateChats, e.CandidateRate)},
			labelledVerdictRow(label+" verdict", results.Info, e.Verdict))
		d := fmt.Sprintf("%s %s", label, errorDiff(e))
		if e.Note != "" {
			d += " (" + e.Note + ")"
		}
		diffs = append(diffs, d)
	}
	rows = append(rows,
		pairRow{Label: "all protocols", Baseline: errorCount(pooled.BaselineErrors, pooled.BaselineChats, pooled.BaselineRate), Candidate: errorCount(pooled.CandidateErrors, pooled.CandidateChats, pooled.CandidateRate)},
		verdictRow(results.Info, pooled.Verdict))
	note := fmt.Sprintf("Candidate minus baseline, per protocol: %s; budget %s points on each. Each round's chats are a cluster: the interval divides each build's chats by its design effect over the rounds (Rao–Scott), so errors bunched in a few rounds widen it. The verdict fails if any protocol fails and passes if all pass; generator errors never count.",
		strings.Join(diffs, "; "), strconv.FormatFloat(100*pooled.Budget, 'f', -1, 64))
	return rows, note
}

// protocolOrder is the protocols of m in report order.
func protocolOrder(m map[string]*results.ErrorVerdict) []string {
	names := make([]string, 0, len(m))
	for name, e := range m {
		if e != nil {
			names = append(names, name)
		}
	}
	results.SortProtocols(names)
	return names
}

// errorCount is "2 of 1400 (0.143%)".
func errorCount(errs, chats int64, rate float64) string {
	return fmt.Sprintf("%d of %d (%.3f%%)", errs, chats, 100*rate)
}

// errorDiff is "+0.071 points (CI -0.200 to +0.300), design effect 1.0 / 1.3"
// (baseline / candidate, shown when either is over 1).
func errorDiff(e *results.ErrorVerdict) string {
	s := fmt.Sprintf("%+.3f points (CI %+.3f to %+.3f)", 100*e.Diff, 100*e.DiffLow, 100*e.DiffHigh)
	if e.BaselineDesignEffect > 1 || e.CandidateDesignEffect > 1 {
		s += fmt.Sprintf(", design effect %.1f / %.1f", max(1, e.BaselineDesignEffect), max(1, e.CandidateDesignEffect))
	}
	return s
}

// memoryDiff is "+3 B (CI -2 to +8), limit 16 B".
func memoryDiff(m *results.MemoryComparison) string {
	r := func(v float64) float64 { return math.Round(v) + 0 } // no "-0"
	s := fmt.Sprintf("%+.0f B", r(m.DiffBytesPerChat))
	if m.DiffLow != 0 || m.DiffHigh != 0 {
		s += fmt.Sprintf(" (CI %+.0f to %+.0f)", r(m.DiffLow), r(m.DiffHigh))
	}
	return s + fmt.Sprintf(", limit %s B", strconv.FormatFloat(m.Limit, 'f', -1, 64))
}

// slope is "12 B (CI −3–30)" for a memory verdict's heap slope.
func slope(m results.MemoryVerdict) string {
	if m.Points == 0 {
		return "–"
	}
	r := func(v float64) float64 { return math.Round(v) + 0 } // no "-0"
	s := fmt.Sprintf("%.0f B", r(m.SlopeBytesPerChat))
	if m.SlopeLow != 0 || m.SlopeHigh != 0 {
		s += fmt.Sprintf(" (CI %.0f–%.0f)", r(m.SlopeLow), r(m.SlopeHigh))
	}
	return s
}

func setup(run *results.Run, sum *results.Summary) []setupRow {
	m, p := run.Manifest, run.Plan()
	var rows []setupRow
	add := func(label, value string) {
		if strings.TrimSpace(value) != "" {
			rows = append(rows, setupRow{label, value})
		}
	}
	num := func(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
	var load []string
	if p.Known("http_rate") {
		load = append(load, "HTTP "+num(p.HTTPRate)+" chats/s")
	}
	if p.Known("ws_rate") {
		load = append(load, "WebSocket "+num(p.WSRate)+" chats/s")
	}
	add("load", strings.Join(load, ", "))
	if p.Known("users") {
		add("users", strconv.Itoa(p.Users))
	}
	var rounds string
	switch {
	case sum.Sequential != nil:
		rounds = fmt.Sprintf("%d of at most %d", sum.Rounds, sum.Sequential.MaxRounds)
	case p.Known("rounds") && p.Rounds > 0:
		rounds = strconv.Itoa(p.Rounds)
	case p.Known("rounds"):
		rounds = "auto"
	}
	if p.Known("round_duration") {
		rounds += " × " + p.RoundDuration.String()
	}
	if sum.Sequential != nil && m.Stopped != "" {
		rounds += ", " + m.Stopped
	}
	var extra []string
	if p.Known("warmup") {
		extra = append(extra, "warmup "+p.Warmup.String())
	}
	if p.Known("settle") {
		extra = append(extra, "settle "+p.Settle.String())
	}
	if len(extra) > 0 {
		rounds += " (" + strings.Join(extra, ", ") + ")"
	}
	add("rounds", rounds)
	if p.Seed != 0 {
		add("seed", strconv.FormatUint(p.Seed, 10)+" (--seed replays the compare's user ids, arrivals and build order)")
	}
	add("gate", fmt.Sprintf("budget +%s at %s, alpha %s", pct(sum.Budget), percentileList(sum), strconv.FormatFloat(sum.Alpha, 'f', -1, 64)))
	if e := sum.Errors; e != nil {
		add("errors", fmt.Sprintf("budget +%s points over the baseline's target error rate", strconv.FormatFloat(100*e.Budget, 'f', -1, 64)))
	}
	if len(sum.Requests) > 0 {
		add("requests", fmt.Sprintf("baseline %d, candidate %d", sum.Requests[results.Baseline], sum.Requests[results.Candidate]))
	}
	for _, side := range []struct {
		build string
		plan  results.PlanSide
	}{{results.Baseline, p.Baseline}, {results.Candidate, p.Candidate}} {
		add(side.build, strings.TrimSpace(side.plan.Build+" "+m.Targets[side.build]))
	}
	machine := m.Hostname
	if machine == "" {
		machine = "(unnamed)"
	}
	machine += fmt.Sprintf(": %s/%s, %d CPUs", m.OS, m.Arch, m.CPUs)
	if m.CPUModel != "" {
		machine += ", " + m.CPUModel
	}
	var insecure []string
	for _, k := range []string{"insecure", "baseline-insecure", "candidate-insecure"} {
		if m.Flags[k] == "true" { // the command line, as people gave it
			insecure = append(insecure, "--"+k)
		}
	}
	if len(insecure) > 0 {
		add("tls", "certificate verification OFF ("+strings.Join(insecure, ", ")+")")
	}
	add("machine", machine)
	add("versions", strings.TrimSpace(fmt.Sprintf("loadbench %s, %s", m.Version, m.GoVersion)))
	if !m.Start.IsZero() {
		when := m.Start.UTC().Format("2006-01-02 15:04:05 MST")
		if !m.End.IsZero() && m.End.After(m.Start) {
			when += fmt.Sprintf(" for %s", m.End.Sub(m.Start).Round(time.Second))
		}
		add("run", when)
	}
	if m.Partial {
		add("partial", "yes: the run was cut short")
	}
	add("note", m.Note)
	var other []string
	known := map[string]bool{"http-rate": true, "ws-rate": true, "users": true, "rounds": true, "round-duration": true,
		"warmup": true, "settle": true, "budget": true, "percentiles": true, "alpha": true, "baseline-impl": true, "candidate-impl": true}
	for k, val := range m.Flags {
		if !known[k] && val != "" {
			other = append(other, "--"+k+"="+val)
		}
	}
	sort.Strings(other)
	add("other flags", strings.Join(other, " "))
	return rows
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// pct formats 0.05 as "5%".
func pct(f float64) string { return strconv.FormatFloat(math.Round(f*1e4)/1e2, 'f', -1, 64) + "%" }

// latencyLevel is the true level of the summary's latency intervals: one
// figure, or a range when Holm's later steps tested some checks at
// another level. Summaries written before the level was stored give the
// look's (or the fixed design's) nominal one.
func latencyLevel(sum *results.Summary) string {
	lo, hi := 0.0, 0.0
	for _, l := range sum.Latency {
		if l.Confidence <= 0 {
			continue
		}
		if lo == 0 || l.Confidence < lo {
			lo = l.Confidence
		}
		hi = max(hi, l.Confidence)
	}
	switch {
	case lo == 0 && sum.Sequential != nil:
		return pct(sum.Sequential.LookConfidence)
	case lo == 0:
		return "95%"
	case pct(lo) == pct(hi):
		return pct(lo)
	}
	return pct(lo) + "–" + pct(hi)
}

func percentileList(sum *results.Summary) string {
	var ps []string
	seen := map[float64]bool{}
	for _, l := range sum.Latency {
		if !seen[l.Percentile] {
			seen[l.Percentile] = true
			ps = append(ps, results.PercentileName(l.Percentile))
		}
	}
	if len(ps) == 0 {
		return "no percentiles"
	}
	return strings.Join(ps, "/")
}

func millis(ms float64) string { return fmt.Sprintf("%.2f ms", ms) }

// ratio formats a candidate/baseline ratio with its change: "1.020 (+2.0%)".
func ratio(r float64) string {
	if r <= 0 || math.IsNaN(r) || math.IsInf(r, 0) {
		return "–"
	}
	return fmt.Sprintf("%.3f (%+.1f%%)", r, (r-1)*100)
}

func pValue(p float64) string {
	switch {
	case math.IsNaN(p) || p < 0:
		return "–"
	case p < 0.001:
		return "<0.001"
	}
	return fmt.Sprintf("%.3f", p)
}

// bytesIEC formats a byte count with binary units; negative counts keep
// their sign, -1 style "not reported" values are shown as such.
func bytesIEC(b float64) string {
	if math.IsNaN(b) {
		return "–"
	}
	a := math.Abs(b)
	switch {
	case a >= 1<<30:
		return fmt.Sprintf("%.1f GiB", b/(1<<30))
	case a >= 1<<20:
		return fmt.Sprintf("%.1f MiB", b/(1<<20))
	case a >= 1<<10:
		return fmt.Sprintf("%.1f KiB", b/(1<<10))
	}
	return fmt.Sprintf("%.0f B", b)
}

func count(f float64) string {
	if f < 0 {
		return "not reported"
	}
	return strconv.FormatFloat(f, 'f', -1, 64)
}

// mark is a verdict with its sign, for Markdown.
func mark(verdict results.Verdict) string {
	switch verdict {
	case results.Pass:
		return "✅ pass"
	case results.Fail:
		return "❌ fail"
	case results.Inconclusive:
		return "⚠️ inconclusive"
	case results.Info:
		return "ℹ️ info"
	case "":
		return "–"
	}
	return string(verdict)
}
