package loadbench

import (
	"fmt"
	"math"
	"strings"

	"github.com/loadbench/loadbench/internal/gate"
	"github.com/loadbench/loadbench/results"
)

// calibrationChats is the chats per protocol and round that
// gate.CalibrationRoundSD was measured at: 200 chats/s for 4 s.
const calibrationChats = 200 * 4

// Outlook says, before any load, what a compare with these options can
// show: its most rounds and wall time, and, from the per-round noise
// measured on a 2-core machine at the default load (gate's calibration,
// scaled by the chats per round), the chance that a candidate slower by
// 60% of the budget at every check passes and one slower by twice the
// budget fails, with the rounds that a pass at 80% power would need. The
// noise of another machine or deployment differs: the summary's power
// line recomputes it from the compare's own rounds.
func (o CompareOptions) Outlook() (string, error) {
	plan, err := o.Plan()
	if err != nil {
		return "", err
	}
	return outlook(plan), nil
}

func outlook(plan results.Plan) string {
	cfg := gate.PlanConfig(plan)
	rounds := plan.Rounds
	head := fmt.Sprintf("plan: %d rounds of %s per build", rounds, plan.RoundDuration.D())
	if plan.Sequential() {
		rounds = plan.MaxRounds
		head = fmt.Sprintf("plan: until decided, %d to %d rounds of %s per build, at most %s", plan.MinRounds, rounds, plan.RoundDuration.D(), plan.MaxDuration.D())
	}
	sd := map[string]float64{}
	cal := gate.CalibrationRoundSD()
	for proto, rate := range map[string]float64{results.HTTP: plan.HTTPRate, results.WS: plan.WSRate} {
		if rate <= 0 || math.IsInf(rate, 0) {
			continue // off, or load.Max: a closed loop's chats per round are not known ahead
		}
		scale := math.Sqrt(calibrationChats / (rate * plan.RoundDuration.D().Seconds()))
		for _, pct := range plan.Percentiles {
			name := results.LatencyVerdict{Protocol: proto, Percentile: pct}.Check()
			if s, ok := cal[name]; ok {
				sd[name] = s * scale
			}
		}
	}
	if len(sd) == 0 || rounds < 2 || plan.Budget <= 0 {
		return head
	}
	within, over := gate.PowerEffect*plan.Budget, 2*plan.Budget
	var b strings.Builder
	b.WriteString(head)
	fmt.Fprintf(&b, "; on a 2-core machine's calibrated noise, a candidate %+.3g%% slower at every check passes with %.0f%% power",
		100*within, 100*gate.PowerAt(cfg, sd, within, rounds))
	if p, err := gate.PowerPlan(cfg, sd, within, 0.8); err == nil && p.Rounds > 0 {
		fmt.Fprintf(&b, " (80%% needs about %d rounds)", p.Rounds)
	}
	fmt.Fprintf(&b, ", one %+.3g%% slower fails with %.0f%%", 100*over, 100*gate.PowerAt(cfg, sd, over, rounds))
	return b.String()
}
