package gate

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/loadbench/loadbench/results"
)

// disturbance is the rounds left out of the latency checks, the send lag
// that marked them, and how many of each build's segments were over it.
type disturbance struct {
	rounds     map[int]bool // from 1
	limit      time.Duration
	base, cand int // segments over the limit, per build
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
		b, c := lag(base[i]) > d.limit, lag(cand[i]) > d.limit
		if b {
			d.base++
		}
		if c {
			d.cand++
		}
		if b || c {
			d.rounds[i+1] = true
		}
	}
	return d
}

// blocksPass is why the disturbed rounds keep every latency check from
// passing, "" when they do not: more than MaxDisturbedShare of the n
// rounds are disturbed (too few quiet rounds to trust), or the
// candidate's segments were disturbed more often than the baseline's
// beyond chance (the one-sided sign test at DisturbedBalanceLevel: a
// machine's disturbances fall on either build of an interleaved round
// alike, so an excess on the candidate's side says the candidate itself
// held up the generator it shares the machine with, and a pass on the
// rounds left would hide it).
func (d disturbance) blocksPass(n int) string {
	if len(d.rounds) > 0 && float64(len(d.rounds)) > MaxDisturbedShare*float64(n) {
		return fmt.Sprintf("more than %.0f%% of the rounds were disturbed, so no latency check passes", 100*MaxDisturbedShare)
	}
	if p := signTest(d.cand, d.base+d.cand); p < DisturbedBalanceLevel {
		return fmt.Sprintf("the candidate's segments were disturbed %d times, the baseline's %d (sign test p = %.3f): the candidate may hold up the generator, so no latency check passes",
			d.cand, d.base, p)
	}
	return ""
}

// signTest is the one-sided p value of k or more successes in n fair
// coin tosses; 1 when n is 0.
func signTest(k, n int) float64 {
	if n <= 0 || k <= 0 {
		return 1
	}
	var p float64
	lc, _ := math.Lgamma(float64(n + 1))
	for j := k; j <= n; j++ {
		la, _ := math.Lgamma(float64(j + 1))
		lb, _ := math.Lgamma(float64(n - j + 1))
		p += math.Exp(lc - la - lb - float64(n)*math.Ln2)
	}
	return min(1, p)
}

// text describes the left-out rounds of n.
func (d disturbance) text(n int) string {
	var rs []string
	for _, r := range slices.Sorted(maps.Keys(d.rounds)) {
		rs = append(rs, fmt.Sprint(r))
	}
	s := fmt.Sprintf("%d of %d round(s) left out (%s): the generator's send lag p99 was over %s (baseline's segments %d, candidate's %d), so the machine, not the target, delayed those chats",
		len(d.rounds), n, strings.Join(rs, ", "), d.limit, d.base, d.cand)
	if why := d.blocksPass(n); why != "" {
		s += "; " + why
	}
	return s
}
