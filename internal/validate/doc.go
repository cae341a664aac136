// Package validate measures the gate itself: how often a compare of the
// built-in targets gives the right verdict when the truth is known.
//
// A validation runs the same compare many times in several scenarios, each
// with a known answer:
//
//	aa          per-request against per-request, nothing changed: every
//	            overall "fail" is a false alarm (goal: at most 5%)
//	slowdown    a candidate started with --slowdown 1.10: a latency "fail"
//	            is a detection, a "pass" a miss (goal: at least 90%)
//	leak        a candidate started with --leak 1024: a candidate memory
//	            "fail" is a detection (goal: at least 95%)
//	isolation   the legacy build as candidate: a candidate isolation "fail"
//	            is a detection (goal: 100%)
//
// and optional "slowdown-<factor>" scenarios (SlowdownScenario), without a
// goal, to find the smallest slowdown the gate detects.
//
// Runs interleave the scenarios (run 1 of each, then run 2 of each, ...) so
// that drift of the machine falls on all of them. Each compare writes into
// OUT/<scenario>/run-NN/, and after every compare the tally is rewritten
// atomically to OUT/validation.json and OUT/validation.md, so a validation
// cut short keeps its counts.
//
// The bookkeeping is pure: Tally turns outcomes into a Report, whose
// renderers (Report.Text, Report.Markdown) write the table. Run drives the
// compares. A compare that ends in a run error counts as "error", in its own
// column and outside the rates, which are taken over the completed compares.
package validate
