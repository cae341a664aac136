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
// Throughput successful chats per second, Success the success ratio (0..1),
// Errors the failed chats by reason.
type ProtocolReport struct {
	Requests     int64            `json:"requests"`
	Rate         float64          `json:"rate"`
	Throughput   float64          `json:"throughput"`
	Success      float64          `json:"success"`
	ErrorTotal   int64            `json:"error_total"`
	Errors       map[string]int64 `json:"errors"`
	LatencyMs    LatencyReport    `json:"latency_ms"`
	ConnectMs    *LatencyReport   `json:"connect_ms,omitempty"`
	FirstEventMs *LatencyReport   `json:"first_event_ms,omitempty"`
	Connections  int64            `json:"connections,omitempty"`
	Redials      int64            `json:"redials,omitempty"`
	// OtherMessages are WebSocket messages outside the chat contract
	// (heartbeats, notices): neither errors nor chats.
	OtherMessages int64 `json:"other_messages,omitempty"`
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
			OtherMessages: p.OtherMessages,
		}
		if pr.Errors == nil {
			pr.Errors = map[string]int64{}
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
			fmt.Fprintf(tw, "Errors\t[total]\t%d\n", p.ErrorCount())
			for _, e := range sortedErrors(p.Errors) {
				fmt.Fprintf(tw, "  %s: %d\n", e.reason, e.n)
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
