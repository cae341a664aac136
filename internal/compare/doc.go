// Package compare runs a before/after comparison of two deployments of the
// chat-agent service: interleaved rounds of the same load against a baseline
// and a candidate, memory read around every segment, /metrics sampled during
// it, every segment stored with the results package, and the verdict of the
// gate.
//
// With Config.Rounds RoundsAuto (the default) it looks after every round
// from MinRounds on and stops as soon as the gate's verdict is decided (pass
// or fail), at the latest after PlanRounds rounds: what fits in MaxDuration
// after start-up, warm-up and the reports. The plan is fixed before any data
// and written to the manifest (min-rounds, max-rounds), where the gate reads
// it to set the group-sequential boundary of each look; the manifest's
// "stopped" flag says why the run ended. A fixed Rounds N runs N rounds and
// looks once.
//
// Every round uses its own user ids (UserPrefix: lb_ra_, lb_rb_, ...; the
// warm-up lb_w_), so state kept per user id grows with the rounds. The
// reading after a segment waits until factories_live has stayed unchanged
// for DefaultFactorySettle. A segment whose target error rate exceeds
// MaxErrorRate ends the run as broken (ErrRun); below that, error rates are
// the gate's to compare.
//
// Without URLs it starts both built-in targets itself, each as its own child
// process (`loadbench serve`), and ends them when done, on error and on
// cancellation.
package compare
