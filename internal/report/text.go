package report

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/loadbench/loadbench/results"
)

// Text renders a summary as the plain-text table compare prints on a
// terminal: the verdict first, then latency, memory and isolation.
func Text(sum *results.Summary) func(io.Writer) error {
	return func(w io.Writer) error {
		var b strings.Builder
		partial := ""
		if sum.Partial {
			partial = " (partial run)"
		}
		fmt.Fprintf(&b, "verdict: %s%s: %s\n", strings.ToUpper(string(sum.Verdict)), partial, sum.Reason)
		rounds := fmt.Sprintf("%d rounds", sum.Rounds)
		ciName := latencyLevel(sum) + " CI"
		if q := sum.Sequential; q != nil {
			rounds = fmt.Sprintf("%d rounds (of at most %d, until decided)", sum.Rounds, q.MaxRounds)
		}
		fmt.Fprintf(&b, "budget %.4g%%, %s, alpha %.4g\n\n", sum.Budget*100, rounds, sum.Alpha)
		tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
		// The ms figures are the geometric means over rounds: they divide
		// to the ratio.
		fmt.Fprintf(tw, "latency (geo. mean of rounds)\tbaseline\tcandidate\tratio\t%s\tp\tverdict\n", ciName)
		for _, l := range sum.Latency {
			v := string(l.Verdict)
			if l.MoreRounds > 0 {
				v += fmt.Sprintf(" (~%d more rounds)", l.MoreRounds)
			}
			ci := "n/a"
			if l.CILow != 0 || l.CIHigh != 0 {
				ci = fmt.Sprintf("%.3f–%.3f", l.CILow, l.CIHigh)
			}
			fmt.Fprintf(tw, "%s p%g\t%.3f ms\t%.3f ms\t%.3f\t%s\t%.3g\t%s\n",
				l.Protocol, l.Percentile, l.BaselineMs, l.CandidateMs, l.Ratio, ci, l.PValue, v)
		}
		fmt.Fprintln(tw)
		fmt.Fprintln(tw, "memory\theap growth\tslope per chat\tfactories live\tagent instances\tverdict")
		for _, build := range []string{results.Baseline, results.Candidate} {
			m, ok := sum.Memory[build]
			if !ok {
				continue
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", build, bytesIEC(m.RetainedBytes),
				slope(m), count(m.FactoriesLiveAfter), count(m.AgentInstancesRetained), m.Verdict)
		}
		if m := sum.MemoryComparison; m != nil {
			fmt.Fprintf(tw, "candidate − baseline\t\t%s\t\t\t%s\n", memoryDiff(m), m.Verdict)
		}
		if e := sum.Errors; e != nil && len(sum.ErrorsByProtocol) == 0 { // a summary from before the per-protocol rule
			fmt.Fprintln(tw)
			fmt.Fprintln(tw, "errors\ttarget errors\tchats\trate\tverdict")
			fmt.Fprintf(tw, "baseline\t%d\t%d\t%.3f%%\t%s\n", e.BaselineErrors, e.BaselineChats, 100*e.BaselineRate, results.Info)
			fmt.Fprintf(tw, "candidate\t%d\t%d\t%.3f%%\t%s\n", e.CandidateErrors, e.CandidateChats, 100*e.CandidateRate, e.Verdict)
		} else if e != nil {
			fmt.Fprintln(tw)
			fmt.Fprintln(tw, "errors\ttarget errors\tchats\trate\tcandidate − baseline\tverdict")
			for _, name := range protocolOrder(sum.ErrorsByProtocol) {
				pe := sum.ErrorsByProtocol[name]
				fmt.Fprintf(tw, "baseline %s\t%d\t%d\t%.3f%%\t\t%s\n", name, pe.BaselineErrors, pe.BaselineChats, 100*pe.BaselineRate, results.Info)
				fmt.Fprintf(tw, "candidate %s\t%d\t%d\t%.3f%%\t%s\t%s\n", name, pe.CandidateErrors, pe.CandidateChats, 100*pe.CandidateRate, errorDiff(pe), pe.Verdict)
			}
			fmt.Fprintf(tw, "all protocols\t%d / %d\t%d / %d\t%.3f%% / %.3f%%\t\t%s\n", e.BaselineErrors, e.CandidateErrors,
				e.BaselineChats, e.CandidateChats, 100*e.BaselineRate, 100*e.CandidateRate, e.Verdict)
		}
		fmt.Fprintln(tw)
		fmt.Fprintln(tw, "isolation\tchecked\tviolations\tdistinct factory ids\tverdict")
		for _, build := range []string{results.Baseline, results.Candidate} {
			iv, ok := sum.Isolation[build]
			if !ok {
				continue
			}
			fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%s\n", build, iv.Checked, iv.Violations, iv.DistinctFactoryIDs, iv.Verdict)
			if names := iv.ByProtocol(); len(names) > 1 {
				for _, name := range names {
					pv := iv.Protocols[name]
					fmt.Fprintf(tw, "%s %s\t%d\t%d\t\t%s\n", build, name, pv.Checked, pv.Violations, pv.Verdict)
				}
			}
		}
		if len(sum.Load) > 0 {
			fmt.Fprintln(tw)
			fmt.Fprintln(tw, "load\tsent\tanswered\ttarget errors\tgenerator errors\tnot sent\tin flight max/mean\tsend lag p99\tsaturated\ttiming")
			for _, build := range []string{results.Baseline, results.Candidate} {
				protos := make([]string, 0, len(sum.Load[build]))
				for name := range sum.Load[build] {
					protos = append(protos, name)
				}
				slices.Sort(protos)
				for _, name := range protos {
					a := sum.Load[build][name]
					fmt.Fprintf(tw, "%s %s\t%d\t%d\t%d (%.2f%%)\t%d\t%d\t%d/%.1f\t%.2f ms\t%d of %d\t%d\n", build, name,
						a.Requests, a.Success, a.TargetErrors, 100*a.TargetErrorRate, a.GeneratorErrors, a.NotSent,
						a.InFlightMax, a.InFlightMean, a.SendLagP99Ms, a.SaturatedSegments, a.Segments, a.TimingViolations)
				}
			}
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		fmt.Fprintf(&b, "\nrequests: baseline %d, candidate %d\n", sum.Requests[results.Baseline], sum.Requests[results.Candidate])
		for _, w := range sum.Warnings {
			fmt.Fprintf(&b, "warning: %s\n", w)
		}
		_, err := io.WriteString(w, b.String())
		return err
	}
}
