package gate

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/loadbench/loadbench/results"
)

// disturbance is the rounds left out of the latency checks and the send
// lag that marked them.
type disturbance struct {
	rounds map[int]bool // from 1
	limit  time.Duration
}

// disturbedRounds finds the rounds whose generator was disturbed: a
// segment of either build whose send lag p99 (the worst protocol's) is over
// max(cfg.DisturbedLag, 2 × the median of every segment's). The floor
// keeps a quiet run's small lags from counting; the median keeps a
// generator that is always a little late (far from its target, or busy
// with TLS) from losing every round. A zero DisturbedLag marks none.
func disturbedRounds(base, cand []*results.Segment, cfg Config) disturbance {
	d := disturbance{rounds: map[int]bool{}}
	if cfg.DisturbedLag <= 0 {
		return d
	}
	lag := func(s *results.Segment) time.Duration {
		var m time.Duration
		for _, p := range s.Protocols {
			if p != nil {
				m = max(m, p.SendLagP99())
			}
		}
		return m
	}
	var all []time.Duration
	for _, ss := range [][]*results.Segment{base, cand} {
		for _, s := range ss {
			all = append(all, lag(s))
		}
	}
	if len(all) == 0 {
		return d
	}
	slices.Sort(all)
	d.limit = max(cfg.DisturbedLag, 2*all[len(all)/2])
	for i := range base {
		if lag(base[i]) > d.limit || lag(cand[i]) > d.limit {
			d.rounds[i+1] = true
		}
	}
	return d
}

// tooDisturbed reports whether k disturbed rounds of n are more than
// MaxDisturbedShare of them.
func tooDisturbed(k, n int) bool { return k > 0 && float64(k) > MaxDisturbedShare*float64(n) }

// text describes the left-out rounds of n.
func (d disturbance) text(n int) string {
	var rs []string
	for _, r := range slices.Sorted(maps.Keys(d.rounds)) {
		rs = append(rs, fmt.Sprint(r))
	}
	s := fmt.Sprintf("%d of %d round(s) left out (%s): the generator's send lag p99 was over %s, so the machine, not the target, delayed those chats",
		len(d.rounds), n, strings.Join(rs, ", "), d.limit)
	if tooDisturbed(len(d.rounds), n) {
		s += fmt.Sprintf("; more than %.0f%% of the rounds, so no latency check passes", 100*MaxDisturbedShare)
	}
	return s
}
