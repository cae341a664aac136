// Package compare is the round engine behind loadbench.Compare, private to
// it: interleaved rounds of the same load against a baseline and a
// candidate deployment, memory read around every segment (after a forced
// GC where the target serves one, once factories_live is back at its
// reading before the segment or has settled for DefaultFactorySettle),
// /metrics sampled during it, every segment stored
// with the results package, and the verdict of the gate.
//
// Its Config is what the root package has already checked: the typed plan
// (results.Plan), each side's URL, engine options, metrics client and
// liveness check, and the run directory. Nothing is defaulted or validated
// here again. With a sequential plan it looks after every round from
// MinRounds on and stops as soon as the gate's verdict is decided (pass or
// fail), at the latest after MaxRounds or when the next round would not fit
// in MaxDuration; the manifest's "stopped" says why. A fixed plan runs its
// rounds and looks once. With Config.Resume it continues a stored run: its
// complete rounds kept, the next numbered after them.
//
// Every round uses its own user ids (UserPrefix: lb_<seed>_ra_, _rb_, ...;
// the warm-up lb_<seed>_w_), so state kept per user id grows with the
// rounds, and every compare its own, from the plan's seed. A
// segment whose target error rate exceeds the plan's MaxErrorRate ends the
// run as broken (ErrRun); below that, error rates are the gate's to
// compare. A reading of a target that reports this process's token
// (internal/procid) is marked as sharing the generator's heap.
package compare
