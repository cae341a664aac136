package results

import (
	"fmt"
	"slices"
	"time"
)

// Accounting is one build's load accounting for one protocol over a run's
// segments: what reached the target, what the generator itself failed or
// did not send, and how hard the generator was pushed.
type Accounting struct {
	Segments        int     `json:"segments"`
	Requests        int64   `json:"requests"` // chats sent
	Success         int64   `json:"success"`
	TargetErrors    int64   `json:"target_errors"`
	TargetErrorRate float64 `json:"target_error_rate"` // 0–1, over the chats that reached the target
	TopTargetError  string  `json:"top_target_error,omitempty"`
	GeneratorErrors int64   `json:"generator_errors"` // not-sent chats included
	NotSent         int64   `json:"not_sent"`
	ConnErrors      int64   `json:"conn_errors,omitempty"`
	// InFlightMax is the largest of the segments' maxima; InFlightMean the
	// mean of their means.
	InFlightMax  int64   `json:"in_flight_max"`
	InFlightMean float64 `json:"in_flight_mean"`
	// SendLagP99Ms is the worst segment's p99 send lag; SaturatedSegments
	// counts the segments whose generator was saturated.
	SendLagP99Ms      float64 `json:"send_lag_p99_ms"`
	SendLagLimitMs    float64 `json:"send_lag_limit_ms"`
	SaturatedSegments int     `json:"saturated_segments"`
	TimingViolations  int64   `json:"timing_violations"`
}

// Account computes the accounting of every build and protocol of run:
// build → protocol → Accounting.
func Account(run *Run) map[string]map[string]Accounting {
	out := map[string]map[string]Accounting{}
	tops := map[string]map[string]map[string]int64{}
	for _, s := range run.Segments {
		b := s.Manifest.Build
		if out[b] == nil {
			out[b] = map[string]Accounting{}
			tops[b] = map[string]map[string]int64{}
		}
		for name, p := range s.Protocols {
			if p == nil {
				continue
			}
			a := out[b][name]
			a.Segments++
			a.Requests += p.Requests
			a.Success += p.Success
			a.TargetErrors += p.TargetErrorCount()
			a.GeneratorErrors += p.GeneratorErrorCount()
			a.NotSent += p.NotSent
			for _, n := range p.ConnErrors {
				a.ConnErrors += n
			}
			a.InFlightMax = max(a.InFlightMax, p.InFlightMax)
			a.InFlightMean += p.InFlightMean // divided below
			a.SendLagP99Ms = max(a.SendLagP99Ms, ms(p.SendLagP99()))
			a.SendLagLimitMs = max(a.SendLagLimitMs, ms(p.SendLagLimit))
			if p.Saturated {
				a.SaturatedSegments++
			}
			a.TimingViolations += p.TimingViolations
			if tops[b][name] == nil {
				tops[b][name] = map[string]int64{}
			}
			for c, n := range p.Errors {
				if !IsGeneratorError(c) {
					tops[b][name][c] += n
				}
			}
			out[b][name] = a
		}
	}
	for b, protos := range out {
		for name, a := range protos {
			if a.Segments > 0 {
				a.InFlightMean /= float64(a.Segments)
			}
			if n := a.Success + a.TargetErrors; n > 0 {
				a.TargetErrorRate = float64(a.TargetErrors) / float64(n)
			}
			best, bn := "", int64(0)
			for c, n := range tops[b][name] {
				if n > bn || (n == bn && c < best) {
					best, bn = c, n
				}
			}
			a.TopTargetError = best
			protos[name] = a
		}
	}
	return out
}

// GeneratorWarnings flags, one line each, the segments whose numbers the
// generator itself spoiled: saturated (send lag over its limit), chats not
// sent (in-flight limit) or failed by the generator (no port, no
// descriptor). Such chats are never charged to the target.
func GeneratorWarnings(run *Run) []string {
	var out []string
	for _, s := range run.Segments {
		if s.Manifest.SkewInvalid {
			out = append(out, fmt.Sprintf("%s round %d: the generators' starts spread over %s, more than 1%% of the segment: not one load, the round is invalid",
				s.Manifest.Build, s.Manifest.Round, s.Manifest.StartSpread))
		}
		names := make([]string, 0, len(s.Protocols))
		for name := range s.Protocols {
			names = append(names, name)
		}
		slices.Sort(names)
		for _, name := range names {
			p := s.Protocols[name]
			if p == nil {
				continue
			}
			where := fmt.Sprintf("%s round %d %s", s.Manifest.Build, s.Manifest.Round, name)
			if p.Saturated {
				out = append(out, fmt.Sprintf("%s: the generator was saturated (p99 send lag %s over %s): its latencies measure the generator too",
					where, p.SendLagP99(), p.SendLagLimit))
			}
			if g := p.GeneratorErrorCount(); g > 0 {
				out = append(out, fmt.Sprintf("%s: %d chats failed or not sent because of the generator (%d not sent: in-flight limit); not charged to the target",
					where, g, p.NotSent))
			}
		}
	}
	return out
}

// AddAccounting sets sum.Load from run and appends GeneratorWarnings to
// sum.Warnings.
func AddAccounting(run *Run, sum *Summary) {
	if run == nil || sum == nil {
		return
	}
	sum.Load = Account(run)
	for _, w := range GeneratorWarnings(run) {
		if !slices.Contains(sum.Warnings, w) {
			sum.Warnings = append(sum.Warnings, w)
		}
	}
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1e3 }
