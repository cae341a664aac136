package gate

import (
	"fmt"
	"maps"
	"math"
	"slices"

	"github.com/loadbench/loadbench/results"
)

// MaxPowerRounds is the largest plan PowerPlan considers.
const MaxPowerRounds = 400

// CalibrationRoundSD is the standard deviation of the per-round log
// ratio ln(candidate/baseline) of each latency check, measured on this
// 2-core machine at the default load (200 chats/s per protocol, rounds of
// 4 s): pooled over the 287 rounds the rule keeps (Harrell–Davis
// percentiles, disturbed rounds left out) of 14 real compares (the
// validate runs of docs/validation-runs/validate-i19.json and an A/A over
// two generators), each run's own spread around its own mean. p99 is the
// noisiest by far: about 800 chats a segment put 8 above it, and the
// target's and the machine's stalls come on top. PowerPlan uses it for
// the checks the rounds so far cannot estimate yet.
func CalibrationRoundSD() map[string]float64 {
	return map[string]float64{
		"http p50": 0.0096, "ws p50": 0.0094,
		"http p95": 0.0270, "ws p95": 0.0270,
		"http p99": 0.0705, "ws p99": 0.0792,
	}
}

// RoundSD is the standard deviation of each latency check's per-round log
// ratio in a run so far (the "http p99" of results.LatencyVerdict.Check
// as key), for the checks with at least 3 complete rounds and enough
// chats to estimate their percentile.
func RoundSD(run *results.Run, cfg Config) map[string]float64 {
	var base, cand []*results.Segment
	for r := 1; r <= run.Rounds(); r++ {
		base, cand = append(base, run.Segment(results.Baseline, r)), append(cand, run.Segment(results.Candidate, r))
	}
	return roundSD(latencyChecks(base, cand, disturbedRounds(base, cand, cfg), cfg))
}

func roundSD(checks []*latencyCheck) map[string]float64 {
	out := map[string]float64{}
	for _, k := range checks {
		var d []float64
		for i := range k.bv {
			if k.bv[i] > 0 && k.cv[i] > 0 {
				d = append(d, math.Log(k.cv[i]/k.bv[i]))
			}
		}
		if k.short != "" || len(d) < 3 {
			continue
		}
		_, sd := meanSD(d)
		out[k.name()] = sd
	}
	return out
}

// name is the check's name: "http p99".
func (k *latencyCheck) name() string {
	return results.LatencyVerdict{Protocol: k.proto, Percentile: k.pct}.Check()
}

// PowerEffect is the slowdown, as a share of the budget, that the
// summary's power note is about: 0.5 × 5% = +2.5% by default, the
// within-budget change a gate must pass (issue 19's goal: pass ≥ 80%),
// and the effect the default plan is sized for.
const PowerEffect = 0.5

// powerNote is the summary's Power line for the checks of a run: the
// rounds a plan needs to pass a candidate slower by PowerEffect·Budget at
// every check with 80% power, from the rounds' own noise (RoundSD; the
// calibration's for a check with fewer than 3 rounds), and what this
// plan's rounds give; "" without latency checks.
func powerNote(checks []*latencyCheck, n int, cfg Config) string {
	if len(checks) == 0 || cfg.Budget <= 0 {
		return ""
	}
	own, cal := roundSD(checks), CalibrationRoundSD()
	sd := map[string]float64{}
	from := "the rounds' own noise"
	for _, k := range checks {
		name := k.name()
		switch v, ok := own[name]; {
		case ok:
			sd[name] = v
		case cal[name] > 0:
			sd[name] = cal[name]
			from = "the calibration's noise where there are fewer than 3 rounds"
		}
	}
	if len(sd) == 0 {
		return ""
	}
	effect := PowerEffect * cfg.Budget
	p, err := PowerPlan(cfg, sd, effect, 0.8)
	if err != nil {
		return ""
	}
	rounds := cfg.MaxRounds
	if rounds <= 0 {
		rounds = max(n, cfg.Rounds)
	}
	return fmt.Sprintf("%s; this plan's %d rounds: %.0f%% (from %s)", p.Note, rounds, 100*PowerAt(cfg, sd, effect, rounds), from)
}

// Power is what a compare can show: the plan (rounds) that passes a
// candidate slower by Effect at every latency check with probability
// Power, or, for an Effect over the budget, fails it.
type Power struct {
	Effect float64 `json:"effect"` // relative slowdown at every check: 0.03 for +3%
	Power  float64 `json:"power"`  // the probability asked for
	// Rounds is the planned maximum rounds (N_plan) that reach Power; 0
	// when even MaxPowerRounds do not.
	Rounds int `json:"rounds"`
	// Achieved is the probability at Rounds (at MaxPowerRounds when
	// Rounds is 0).
	Achieved float64 `json:"achieved"`
	// Check is the check that needs the most rounds to pass (the
	// noisiest), or, over the budget, the one likeliest to fail.
	Check string `json:"check"`
	// Note says it in one line: "to pass a candidate up to +3% at 80%
	// power: about 16 rounds (the noisiest check: http p99)".
	Note string `json:"note"`
}

// PowerPlan says how many rounds a compare with cfg's thresholds and
// sequential design needs so that a candidate slower by effect at every
// latency check (0.03 for +3%) passes with probability power (when effect
// is within the budget) or fails with it (when over), given each check's
// per-round standard deviation sd (RoundSD of the rounds so far, or
// CalibrationRoundSD). The plan is a design with its last look at N_plan
// = Rounds (cfg.MinRounds first, the same spending function): the
// per-check probability is the noncentral t's at that last look (by the
// normal approximation of Jennison and Turnbull, 1 + c²/2ν in the
// variance), ignoring the earlier looks' chances, and a pass needs every
// check (their product: a lower bound when checks are positively
// correlated, as p50/p95/p99 are), a fail one (the likeliest check's,
// tested at the fail side's Holm level: also a lower bound). So Rounds
// errs on the long side; sim_test.go checks it against simulated
// compares.
func PowerPlan(cfg Config, sd map[string]float64, effect, power float64) (Power, error) {
	p := Power{Effect: effect, Power: power}
	switch {
	case len(sd) == 0:
		return p, fmt.Errorf("power plan: no check's noise")
	case !(power > 0 && power < 1):
		return p, fmt.Errorf("power plan: power %v outside (0, 1)", power)
	case !(effect > -1) || math.Abs(math.Log1p(effect)-math.Log(cfg.limit())) < 1e-12:
		return p, fmt.Errorf("power plan: effect %v: a candidate exactly at the limit is decided either way at the design's rate only", effect)
	}
	for name, s := range sd {
		if !(s >= 0) || math.IsInf(s, 0) {
			return p, fmt.Errorf("power plan: %s: standard deviation %v", name, s)
		}
	}
	pass := math.Log1p(effect) < math.Log(cfg.limit())
	at := func(n int) (float64, string) { return powerAt(cfg, sd, effect, pass, n) }
	first := max(2, cfg.MinRounds)
	lo, hi := 0, first
	for {
		got, _ := at(hi)
		if got >= power {
			break
		}
		if hi >= MaxPowerRounds {
			p.Achieved, p.Check = at(MaxPowerRounds)
			p.Note = fmt.Sprintf("%s: more than %d rounds (at %d rounds, %.0f%%; %s)",
				p.goal(pass), MaxPowerRounds, MaxPowerRounds, 100*p.Achieved, p.checkText(pass))
			return p, nil
		}
		lo, hi = hi, min(MaxPowerRounds, max(hi+1, hi*5/4))
	}
	for hi-lo > 1 {
		mid := (lo + hi) / 2
		if got, _ := at(mid); got >= power {
			hi = mid
		} else {
			lo = mid
		}
	}
	p.Rounds = hi
	p.Achieved, p.Check = at(hi)
	p.Note = fmt.Sprintf("%s: about %d rounds (%s)", p.goal(pass), p.Rounds, p.checkText(pass))
	return p, nil
}

func (p Power) checkText(pass bool) string {
	if pass {
		return "the noisiest check: " + p.Check
	}
	return "the likeliest to fail: " + p.Check
}

func (p Power) goal(pass bool) string {
	verb := "pass a candidate up to"
	if !pass {
		verb = "fail a candidate at"
	}
	return fmt.Sprintf("to %s %+.3g%% at %.0f%% power", verb, 100*p.Effect, 100*p.Power)
}

// PowerAt is the probability (PowerPlan's approximation) that a compare
// planned for rounds rounds passes a candidate slower by effect at every
// check (within the budget), or fails it (over the budget).
func PowerAt(cfg Config, sd map[string]float64, effect float64, rounds int) float64 {
	got, _ := powerAt(cfg, sd, effect, math.Log1p(effect) < math.Log(cfg.limit()), rounds)
	return got
}

// powerAt is the probability at a plan of n rounds, and the check with the
// lowest probability (pass) or the highest (fail).
func powerAt(cfg Config, sd map[string]float64, effect float64, pass bool, n int) (float64, string) {
	n = max(n, 2)
	c := cfg
	if cfg.MaxRounds > 0 {
		c.MinRounds = min(max(2, cfg.MinRounds), n)
		c.MaxRounds, c.PlanRounds = n, n
	}
	a := c.alpha()
	c.FailChecks = len(sd)
	if !pass {
		a = c.failAlpha()
	}
	crit := tQuantile(1-c.lastLevel(n, a), n-1)
	dist := math.Abs(math.Log(c.limit()) - math.Log1p(effect))
	names := slices.Sorted(maps.Keys(sd))
	prod, best, worst := 1.0, 0.0, 1.0
	var bestName, worstName string
	for _, name := range names {
		pw := 1.0
		if s := sd[name]; s > 0 {
			ncp := dist * math.Sqrt(float64(n)) / s
			pw = normalCDF((ncp - crit) / math.Sqrt(1+crit*crit/(2*float64(n-1))))
		}
		prod *= pw
		if pw > best || bestName == "" {
			best, bestName = pw, name
		}
		if pw < worst || worstName == "" {
			worst, worstName = pw, name
		}
	}
	if pass {
		return prod, worstName
	}
	return best, bestName
}

// exactPowerPlan is the largest plan whose last look's level powerAt
// computes from the design itself; beyond it the level is extrapolated
// (lastLevel). A design's boundary costs O(looks × grid²): about 0.1 s
// for 64 rounds, 4.6 s for 400, too slow for a power search at every
// look.
const exactPowerPlan = 64

// lastLevel is the nominal one-sided level of the last look of a plan of
// n rounds at level a, as powerAt uses it. Up to exactPowerPlan rounds it
// is the design's own (lookLevel). Beyond, the level keeps shrinking
// slowly as looks are added (0.0138 at 43 rounds, 0.0129 at 100, 0.0120
// at 400, for a = 2.5% and MinRounds 3): it is extrapolated in log n at
// the rate of the last doubling before exactPowerPlan, which shrinks it
// faster than the design does, so the rounds PowerPlan finds still err on
// the long side.
func (c Config) lastLevel(n int, a float64) float64 {
	if c.MaxRounds <= 0 || n <= exactPowerPlan {
		return c.lookLevel(n, a)
	}
	at := func(m int) float64 {
		d := c
		d.MaxRounds, d.PlanRounds = m, m
		return d.lookLevel(m, a)
	}
	hi, lo := at(exactPowerPlan), at(exactPowerPlan/2)
	perDoubling := min(1, hi/lo)
	return hi * math.Pow(perDoubling, math.Log2(float64(n)/exactPowerPlan))
}
