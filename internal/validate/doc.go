// Package validate measures the gate itself: how often a compare of the
// built-in targets gives the right verdict when the truth is known.
//
// A validation runs the same compare many times in several scenarios, each
// with a known answer (the goals in parentheses):
//
//	aa             per-request against per-request: an overall "fail" is a
//	               false alarm (at most 1%)
//	legacy         legacy against per-request, as make run: an overall
//	               "pass" counts (at least 95%)
//	within         candidate --delay 100us, +2.5% or less at every check:
//	               must pass (at least 80%; a fail at most 1%)
//	slowdown       candidate --delay 725us, about +10%: a latency "fail" is
//	               a detection (at least 95%)
//	budget         candidate --delay 475us, about +5%: measured, no goal
//	errors         candidate --ws-fail-rate 0.005 (WebSocket only): an
//	               error-rate "fail" is a detection (at least 95%)
//	leak           candidate --leak 32 (B/chat): a memory "fail" is a
//	               detection (at least 95%)
//	leak-per-user  candidate --leak-per-user 2048: the same (at least 95%)
//	isolation      the legacy build as candidate: an isolation "fail" is a
//	               detection (100%)
//
// and optional "slowdown-<factor>" scenarios (SlowdownScenario, --slowdown),
// without a goal.
//
// The capacity scenarios of issue 20 run `loadbench capacity` of the
// built-in targets instead of a compare (builtin.Capacity, at capacity's
// defaults; Scenario.ClassifyCapacity reads its summary). A run takes
// minutes, so they are not among the defaults; "capacity" in --scenarios
// selects all three:
//
//	capacity-aa          per-request against per-request, full run: an
//	                     overall "fail" is a false alarm (at most α/2, 2.5%)
//	capacity-cpu         candidate --burn 50us (CPU per chat ×1.090 in 8
//	                     real runs), CPU only at 1300 and 2100 chats/s: a
//	                     cpu.verdict "fail" is a detection (at least 95%)
//	capacity-throughput  the same burn, full run: a capacity.verdict
//	                     "fail" is a detection (at least 95%)
//
// Their rows give the mean measured CPU-per-chat and throughput ratios as
// the effect, and the median steps of a run. Every rate has its 95% Clopper–Pearson interval, and a
// goal is met only when the interval's bound meets it (Goal.Met); a goal the
// interval reaches but does not show is "plausible" (Goal.Plausible): more
// runs are needed. Each row also reports the measured end-to-end effect
// (the first latency check's ratio, and the mean of every check, naming
// the one that moved most), the median rounds and the median and maximum
// wall time of a compare. The errors scenario gives run N --fail-seed N
// (Scenario.PerRun), so that its runs fail different chats and are
// independent trials.
//
// Runs interleave the scenarios (run 1 of each, then run 2 of each, ...) so
// that drift of the machine falls on all of them. Each compare (or capacity
// run) writes into OUT/<scenario>/run-NN/, and after every one the tally is
// rewritten atomically to OUT/validation.json and OUT/validation.md, so a
// validation cut short keeps its counts.
//
// The bookkeeping is pure: Tally turns outcomes into a Report, whose
// renderers (Report.Text, Report.Markdown) write the table. Run drives the
// compares. A compare that ends in a run error counts as "error", in its own
// column and outside the rates, which are taken over the completed compares.
package validate
