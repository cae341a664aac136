package load

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/loadbench/loadbench/results"
)

// Reporter writes a rendering of a segment.
type Reporter func(io.Writer) error

// Report is the JSON form of a segment's summary (JSONReport).
type Report struct {
	Protocols map[string]ProtocolReport `json:"protocols"`
	Isolation IsolationReport           `json:"isolation"`
	Partial   bool                      `json:"partial,omitempty"`
}

// ProtocolReport summarises one protocol. Rate is chats sent per second,
// Throughput successful chats per second, Success the success ratio (0..1)
// over the chats scheduled, Errors the failed chats by class (the target's
// and the generator's, split in TargetErrors and GeneratorErrors; not-sent
// chats included), FailedMs their time to failure by class. LatencyMs
// holds answered chats only. SendLagMs is actual − intended send time;
// Saturated is true when its p99 exceeded SendLagLimitMs.
type ProtocolReport struct {
	Requests         int64                    `json:"requests"`
	Rate             float64                  `json:"rate"`
	Throughput       float64                  `json:"throughput"`
	Success          float64                  `json:"success"`
	ErrorTotal       int64                    `json:"error_total"`
	Errors           map[string]int64         `json:"errors"`
	TargetErrors     int64                    `json:"target_errors"`
	TargetErrorRate  float64                  `json:"target_error_rate"`
	GeneratorErrors  int64                    `json:"generator_errors"`
	NotSent          int64                    `json:"not_sent"`
	FailedMs         map[string]LatencyReport `json:"failed_ms,omitempty"`
	ConnErrors       map[string]int64         `json:"conn_errors,omitempty"`
	LatencyMs        LatencyReport            `json:"latency_ms"`
	SendLagMs        LatencyReport            `json:"send_lag_ms"`
	SendLagLimitMs   float64                  `json:"send_lag_limit_ms"`
	Saturated        bool                     `json:"saturated"`
	InFlightMax      int64                    `json:"in_flight_max"`
	InFlightMean     float64                  `json:"in_flight_mean"`
	TimingViolations int64                    `json:"timing_violations"`
	TimingExamples   []string                 `json:"timing_examples,omitempty"`
	// OtherMessages are WebSocket messages outside the chat contract
	// (heartbeats, notices): neither errors nor chats.
	OtherMessages int64          `json:"other_messages,omitempty"`
	ConnectMs     *LatencyReport `json:"connect_ms,omitempty"`
	FirstEventMs  *LatencyReport `json:"first_event_ms,omitempty"`
	Connections   int64          `json:"connections,omitempty"`
	Redials       int64          `json:"redials,omitempty"`
}

// LatencyReport is a latency distribution in milliseconds.
type LatencyReport struct {
	Min  float64 `json:"min"`
	Mean float64 `json:"mean"`
	P50  float64 `json:"p50"`
	P90  float64 `json:"p90"`
	P95  float64 `json:"p95"`
	P99  float64 `json:"p99"`
	P999 float64 `json:"p999"`
	Max  float64 `json:"max"`
}

// IsolationReport is the cross-user checks of a segment.
type IsolationReport struct {
	Checked            int64               `json:"checked"`
	Violations         int64               `json:"violations"`
	DistinctFactoryIDs int64               `json:"distinct_factory_ids"`
	Examples           []results.Violation `json:"examples,omitempty"`
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1e3 }

func latencyOf(h *results.Histogram) LatencyReport {
	if h == nil {
		return LatencyReport{}
	}
	return LatencyReport{
		Min: ms(h.Min()), Mean: ms(h.Mean()), P50: ms(h.Quantile(0.50)), P90: ms(h.Quantile(0.90)),
		P95: ms(h.Quantile(0.95)), P99: ms(h.Quantile(0.99)), P999: ms(h.Quantile(0.999)), Max: ms(h.Max()),
	}
}

// Summarize computes the report of s.
func Summarize(s *results.Segment) Report {
	r := Report{Protocols: map[string]ProtocolReport{}, Partial: s.Manifest.Partial}
	for name, p := range s.Protocols {
		pr := ProtocolReport{
			Requests: p.Requests, Rate: round2(p.Rate()), Throughput: round2(p.Throughput()),
			Success: round4(p.SuccessRatio()), ErrorTotal: p.ErrorCount(), Errors: p.Errors,
			LatencyMs: latencyOf(p.Latency), Connections: p.Connections, Redials: p.Redials,
			TargetErrors: p.TargetErrorCount(), TargetErrorRate: round4(p.TargetErrorRate()),
			GeneratorErrors: p.GeneratorErrorCount(), NotSent: p.NotSent, ConnErrors: p.ConnErrors,
			SendLagMs: latencyOf(p.SendLag), SendLagLimitMs: ms(p.SendLagLimit), Saturated: p.Saturated,
			InFlightMax: p.InFlightMax, InFlightMean: round2(p.InFlightMean),
			TimingViolations: p.TimingViolations, TimingExamples: p.TimingExamples, OtherMessages: p.OtherMessages,
		}
		if pr.Errors == nil {
			pr.Errors = map[string]int64{}
		}
		for class, h := range p.Failed {
			if h.Count() == 0 {
				continue
			}
			if pr.FailedMs == nil {
				pr.FailedMs = map[string]LatencyReport{}
			}
			pr.FailedMs[class] = latencyOf(h)
		}
		if name == results.WS {
			c, f := latencyOf(p.Connect), latencyOf(p.FirstEvent)
			pr.ConnectMs, pr.FirstEventMs = &c, &f
		}
		r.Protocols[name] = pr
	}
	r.Isolation = IsolationReport{
		Checked: s.Isolation.Checked, Violations: s.Isolation.Violations,
		DistinctFactoryIDs: s.Isolation.DistinctFactoryIDs, Examples: s.Isolation.Examples,
	}
	return r
}

func round2(f float64) float64 { return float64(int64(f*100+0.5)) / 100 }
func round4(f float64) float64 { return float64(int64(f*10000+0.5)) / 10000 }

// JSONReport renders s as one JSON object (Report).
func JSONReport(s *results.Segment) Reporter {
	return func(w io.Writer) error {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(Summarize(s))
	}
}

// TextReport renders s as a text summary in the manner of `vegeta report`.
func TextReport(s *results.Segment) Reporter {
	return func(w io.Writer) error {
		tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', tabwriter.StripEscape)
		names := make([]string, 0, len(s.Protocols))
		for name := range s.Protocols {
			names = append(names, name)
		}
		slices.Sort(names)
		if s.Manifest.Partial {
			fmt.Fprintln(tw, "PARTIAL: the attack was cut short")
		}
		for i, name := range names {
			p := s.Protocols[name]
			if i > 0 {
				fmt.Fprintln(tw)
			}
			target := s.Manifest.Targets[name]
			fmt.Fprintf(tw, "%s\t%s\n", strings.ToUpper(name), target)
			fmt.Fprintf(tw, "Requests\t[total, rate, throughput]\t%d, %.2f, %.2f\n", p.Requests, p.Rate(), p.Throughput())
			fmt.Fprintf(tw, "Duration\t[total, attack, wait]\t%s, %s, %s\n", round(p.Duration+p.Wait), round(p.Duration), round(p.Wait))
			writeLatency(tw, "Latencies", p.Latency)
			writeLatency(tw, "Send lag", p.SendLag)
			fmt.Fprintf(tw, "In flight\t[max, mean]\t%d, %.2f\n", p.InFlightMax, p.InFlightMean)
			if name == results.WS {
				writeLatency(tw, "First event", p.FirstEvent)
				writeLatency(tw, "Connect", p.Connect)
				fmt.Fprintf(tw, "Connections\t[total, redials]\t%d, %d\n", p.Connections, p.Redials)
				if p.OtherMessages > 0 {
					fmt.Fprintf(tw, "Other messages\t[outside the chat contract]\t%d\n", p.OtherMessages)
				}
			}
			fmt.Fprintf(tw, "Bytes In\t[total, mean]\t%d, %.2f\n", p.BytesIn, mean(p.BytesIn, p.Requests))
			fmt.Fprintf(tw, "Bytes Out\t[total, mean]\t%d, %.2f\n", p.BytesOut, mean(p.BytesOut, p.Requests))
			fmt.Fprintf(tw, "Success\t[ratio]\t%.2f%%\n", 100*p.SuccessRatio())
			fmt.Fprintf(tw, "Errors\t[total, target, generator]\t%d, %d, %d\n", p.ErrorCount(), p.TargetErrorCount(), p.GeneratorErrorCount())
			fmt.Fprintf(tw, "Target error rate\t[ratio]\t%.2f%%\n", 100*p.TargetErrorRate())
			for _, e := range sortedErrors(p.Errors) {
				if h := p.Failed[e.reason]; h.Count() > 0 && !strings.HasPrefix(e.reason, results.ErrInFlightLimit) {
					fmt.Fprintf(tw, "  %s: %d (failed after p50 %s, max %s)\n", e.reason, e.n, round(h.Quantile(0.5)), round(h.Max()))
				} else {
					fmt.Fprintf(tw, "  %s: %d\n", e.reason, e.n)
				}
			}
			if p.NotSent > 0 {
				fmt.Fprintf(tw, "Not sent\t[%s]\t%d\n", results.ErrInFlightLimit, p.NotSent)
			}
			if len(p.ConnErrors) > 0 {
				var n int64
				for _, v := range p.ConnErrors {
					n += v
				}
				fmt.Fprintf(tw, "Connection errors\t[total]\t%d\n", n)
				for _, e := range sortedErrors(p.ConnErrors) {
					fmt.Fprintf(tw, "  %s: %d\n", e.reason, e.n)
				}
			}
			if p.OtherMessages > 0 {
				fmt.Fprintf(tw, "Other messages\t[total]\t%d\n", p.OtherMessages)
			}
			fmt.Fprintf(tw, "Timing\t[violations, max event gap, redial within]\t%d, %s, %s\n", p.TimingViolations, limit(p.MaxEventGap), limit(p.RedialWithin))
			for _, e := range p.TimingExamples {
				fmt.Fprintf(tw, "  %s\n", e)
			}
			if p.Saturated {
				fmt.Fprintf(tw, "SATURATED: the generator sent late (p99 send lag %s over %s): its latencies measure the generator, not only the target\n",
					round(p.SendLagP99()), p.SendLagLimit)
			}
		}
		fmt.Fprintln(tw)
		iso := s.Isolation
		fmt.Fprintf(tw, "Isolation\t[checked, violations, distinct factory ids]\t%d, %d, %d\n", iso.Checked, iso.Violations, iso.DistinctFactoryIDs)
		for _, v := range iso.Examples {
			fmt.Fprintf(tw, "  %s %s: %s\n", v.Protocol, v.UserID, v.Reason)
		}
		return tw.Flush()
	}
}

func writeLatency(w io.Writer, label string, h *results.Histogram) {
	fmt.Fprintf(w, "%s\t[min, mean, 50, 90, 95, 99, 99.9, max]\t%s, %s, %s, %s, %s, %s, %s, %s\n", label,
		round(h.Min()), round(h.Mean()), round(h.Quantile(0.5)), round(h.Quantile(0.9)),
		round(h.Quantile(0.95)), round(h.Quantile(0.99)), round(h.Quantile(0.999)), round(h.Max()))
}

// round shortens a duration for display: microseconds below 10 ms.
func round(d time.Duration) time.Duration {
	switch {
	case d >= 10*time.Second:
		return d.Round(10 * time.Millisecond)
	case d >= 10*time.Millisecond:
		return d.Round(10 * time.Microsecond)
	default:
		return d.Round(time.Microsecond)
	}
}

// limit shows a limit, "off" when 0.
func limit(d time.Duration) string {
	if d <= 0 {
		return "off"
	}
	return d.String()
}

func mean(total, n int64) float64 {
	if n == 0 {
		return 0
	}
	return float64(total) / float64(n)
}

type reasonCount struct {
	reason string
	n      int64
}

func sortedErrors(m map[string]int64) []reasonCount {
	out := make([]reasonCount, 0, len(m))
	for k, v := range m {
		out = append(out, reasonCount{k, v})
	}
	slices.SortFunc(out, func(a, b reasonCount) int {
		return cmp.Or(cmp.Compare(b.n, a.n), strings.Compare(a.reason, b.reason))
	})
	return out
}
