// Package gate turns stored loadbench results into verdicts.
//
// Evaluate reads a compare run (results.Run: interleaved rounds, one load
// segment per build and round) and returns its results.Summary: a latency
// verdict per protocol and percentile, an error-rate verdict, a memory and
// an isolation verdict per build, an overall verdict on the candidate, and
// a one-line power note (Summary.Power). It is a pure function of the
// stored data and the run's plan (manifest.json's "plan", through
// PlanConfig), so a summary can be recomputed from a run directory at any
// time, also from a run cut short (only complete rounds count) or
// continued (compare --continue).
//
// CompareUnpaired applies the same decision rule to independent samples;
// internal/benchcmp uses it to gate `go test -bench` outputs (the
// `loadbench benchcmp` command). WriteBench writes a compare run in the Go
// benchmark format for benchstat.
//
// Every check is a test against its limit, never against "no change":
// pass when the data show the candidate within the limit, fail when they
// show it over, inconclusive otherwise. The error rates are the verdict's,
// not only each check's: with every true ratio within its limit, the
// compare fails (a false fail) at most (1 − Confidence)/2 = 2.5% by
// default, however many latency checks there are and however early the
// compare stops; with a check over its limit, it passes (a false pass) at
// most 2.5%. See "Verdict-level error control".
//
// # Latency rule
//
// For each protocol and percentile, the per-round values are that
// segment's latency percentile (answered chats only), estimated by
// Harrell and Davis: a weighted mean of all the order statistics, the
// weights from the Beta((n+1)q, (n+1)(1−q)) law over the ranks, not the
// one order statistic at rank ⌈qn⌉. A segment has about 800 chats per
// protocol, so its p99 is the 8th largest, and sampling alone gives a
// p99 log ratio a per-round sd of 3.6–6.2% (a bootstrap of the stored
// segments of 13 real compares); Harrell–Davis lowers that by about a
// tenth at p99 on the same segments (2–17% by run), with no model of
// the tail.
//
// Rounds run interleaved (A B, B A, ...), so the two builds' values in
// one round are paired. ComparePaired, the one entry point for "latency rule over paired
// per-round values", works on the per-round log ratios
// d_i = ln(candidate_i / baseline_i): Ratio = exp(mean d), and the interval
// is [exp(mean d − t_f·s/√n), exp(mean d + t_p·s/√n)], a paired t interval
// whose upper bound is at the pass side's level of the look (t_p) and
// whose lower bound is at the fail side's (t_f, the Holm level below).
// With L = 1 + Budget:
//
//   - pass: the upper bound ≤ L (the candidate is shown within the budget);
//   - fail: the lower bound > L (shown over the budget);
//   - inconclusive: otherwise, with MoreRounds = (t·s/|mean d − ln L|)² − n
//     (t of the side facing the limit), the rounds after which today's
//     spread would separate the ratio from the limit (a mean's interval
//     does shrink as 1/√n).
//
// Each verdict carries its interval's true two-sided level at this look,
// results.LatencyVerdict.Confidence = 1 − (pass side's nominal level) −
// (fail side's): for six latency checks, two error checks and the memory
// check in a fixed design 1 − 2.5% − 2.5%/9 = 97.22%; in a sequential one
// higher, as the looks require. The shown
// level is the level of the interval as computed, not a rounded design
// figure (the "98.96% CI" of before was about 99.15%).
//
// A percentile is gated only where every segment of both builds has at
// least MinTailChats (5) answered chats above it: p99 needs 500 chats per
// round, p95 100, p50 10. Below that the per-round value is an extreme of a
// handful of chats, not the percentile, and the check is inconclusive with
// the reason stated (the note starts "too few chats per round"), whatever
// its interval says. The summary's BaselineMs and CandidateMs are the
// geometric means of the per-round values, so they divide to Ratio; the
// reports show these (internal/report), not medians over the rounds.
//
// P is the one-sided paired t test of mean d against ln L, in the direction
// of the estimate, as a fixed-sample (nominal) p value: it is not adjusted
// for the looks or the checks, and it is shown, never used: the interval
// decides, and the interval carries the design. There is no unpaired
// test: rounds differ in machine conditions, which the pairing cancels.
//
// Why a t interval on per-round log ratios, and not order statistics or a
// bootstrap: the old rule's distribution-free interval of a median of 6
// ratios was [min, max], so a tail percentile passed only if all six
// per-round ratios were within the limit; its width does not shrink as
// 1/√n either. A percentile of ~1,000 chats is asymptotically normal, so
// the per-round log ratios suit a t interval. A paired round bootstrap of
// pooled histograms estimates the same ratio from the same chats, but a
// percentile bootstrap is known to undercover with 3–12 resampling units,
// and it costs thousands of histogram merges per look.
//
// # Disturbed rounds
//
// Latency is measured from the intended send time, so a generator that
// the machine held up adds its own delay to the chats it sent late. A
// round is disturbed when a segment of either build has a send lag p99
// (the worst protocol's) over max(Config.DisturbedLag, 2 × the median
// segment's); DisturbedLag is a tenth of the plan's saturation limit
// (--max-send-lag, 20 ms: 2 ms), the median keeps a generator that is
// always a little late (far from a staging target) from losing every
// round. Disturbed rounds are left out of the latency checks, both
// builds' values of the round together (Summary.DisturbedRounds, with a
// warning naming them); the error and memory checks keep every round. On
// the stored real rounds the rule is sharp: of the 21 p99 log ratios
// whose round had a send lag p99 of 2 ms or more, 18 were beyond ±15%,
// against 9 of the 297 with under 1.5 ms. Dropping rounds must not hide
// a candidate that itself holds up the generator it shares the machine
// with, so no latency check passes (a fail on the quiet rounds still
// stands) when more than MaxDisturbedShare (half) of the rounds are
// disturbed, or when the candidate's segments were disturbed more often
// than the baseline's beyond chance: a one-sided sign test at
// DisturbedBalanceLevel (1%), since a machine's disturbances fall on
// either build of an interleaved round alike. (A first version blocked a
// pass at a quarter of the rounds; a real default compare then had 15 of
// 58 disturbed and could not pass.)
//
// # Sequential design (--rounds auto)
//
// compare adds rounds until every check is decided (or one fails), looking
// after every round from MinRounds (3) on. Stopping at the first decided
// look would inflate the error rates if each look used the fixed level
// (8.7% false passes and 9.0% false fails instead of 2.5% each for one
// check on its limit, TestBoundaryAtTheLimit), so the looks use an error-spending design
// (Lan and DeMets) over the information fraction t = n/N_plan, N_plan
// being the planned maximum (Config.PlanRounds; the plan's max_rounds,
// what fits in --max-duration). Each side (pass, fail) of a check at
// one-sided level a may have spent, by fraction t,
//
//	a(t) = (1 − ρ)·2·(1 − Φ(z_{1−a/2}/√t))   for t ≤ 1 (O'Brien–Fleming type)
//	a(t) = (1 − ρ)·a + ρ·a·(1 − 1/t)          for t > 1
//
// with ρ = ReserveShare = 10%: the planned rounds spend 90% of a; the rest
// is kept for rounds beyond the plan and is never exhausted, so a compare
// extended any number of rounds (compare --continue; PlanConfig keeps the
// N_plan the run was started with, so the looks already taken keep their
// boundaries) spends at most a in all. O'Brien–Fleming's shape, not
// Pocock's: it spends almost nothing early (a look after round 3 of 12
// needs z 4.36, t 295 with 2 degrees of freedom; after round 6 z 3.03,
// t 5.8) and keeps the last look close to the fixed design's (z 2.14, t
// 2.53 after 12 of 12 rounds, against 1.96 and 2.20), which is where the
// within-budget candidates, the ones that need power, are decided;
// Pocock's flat boundary would decide gross effects a round or two sooner
// and cost power at the end.
//
// The boundary is computed from the looks actually taken, every round from
// MinRounds to the current one, by recursive numerical integration
// (Armitage, McPherson and Rowe; design.next): the density of the
// cumulative sum S_n of standard normal rounds over the paths that have
// not crossed, on a grid of at least 201 points and steps of at most 0.2
// of a round's sd; each look's critical value is the one that crosses
// with the probability a(t_n) − a(t_{n−1}). It is cached and extended a
// look at a time (a few ms a look; TestDesignIsFast), and it matches a
// simulation of 200,000 paths (TestDesignMatchesSimulation: 2.30% crossed
// by round 12 of a plan 3–12 against 2.25% spent). A look before MinRounds
// (a run cut short) is taken as a first look spending a(n/N_plan).
//
// The latency statistic is a t statistic (the variance is estimated anew
// at every look), so each look's nominal normal level is converted to a t
// quantile with n − 1 degrees of freedom (the significance-level approach,
// Jennison and Turnbull ch. 11). Alone, that crosses about 10% too often
// (2.49% instead of 2.25% by round 12 of 3–12), since successive t
// statistics are less correlated than normal ones; every nominal level is
// therefore divided by tKappa (1.15 for 3–12 at 2.5%, 1.11 for 3–28), set
// by a seeded simulation of 60,000 paths per (MinRounds, N_plan, level).
// The error-rate intervals use the normal boundary itself (criticalZ), and
// Summary.Sequential records the design at the look: the spending
// function's name (Spending), N_plan, the information fraction and the
// error each side may have spent by now. A fixed --rounds N has one look
// at the fixed level (MaxRounds 0).
//
// # Verdict-level error control
//
// A compare fails if any of its checks fails: the latency checks
// (protocols × percentiles, up to 6), the error check of each protocol
// and the memory check (up to 9 in all), so a false fail of the verdict is
// the union of the checks' false fails. The checks' fail sides share it:
// Evaluate sets FailChecks = m for the error and memory checks, and the
// latency checks use Holm's step-down (decideHolm) counting the others
// too: the m checks that can fail (latency checks with enough chats and at
// least two rounds, plus the others) are each tested at a/m (the same
// spending design at that level); when r fail, the rest are tested again
// at a/(m − r), until no more fail. The first step is Bonferroni's, so the
// verdict's false fail is at most a whatever the checks' correlation; the
// later steps only tell which other checks fail as well. (A joint max-t
// critical value exploiting the correlation of p50/p95/p99 would be a
// little less strict; Holm needs no model of that correlation.) The pass
// side needs no adjustment: the compare passes only if every check passes,
// an intersection–union test, so a false pass needs the check that is
// over its limit to pass, at most a. Memory and errors are separate
// checks with their own rules below.
//
// # Power plan
//
// PowerPlan says what a compare can show: the planned rounds N_plan that
// pass a candidate slower by a given effect at every latency check with
// a given power (or, over the budget, fail it), from each check's
// per-round sd of the log ratio: RoundSD of the rounds so far, or
// CalibrationRoundSD (pooled over the 287 rounds the rule keeps of 14
// real compares on this machine: p50 0.96/0.94%, p95 2.70/2.70%, p99
// 7.05/7.92% for HTTP/WebSocket). Each check's probability is the
// noncentral t's at the plan's last look, and a pass needs all of them
// (their product, a lower bound for positively correlated checks), so it
// errs long. p99's noise is the limit: +2.5% at every check at 80% needs
// about 122 rounds (20 minutes of 4 s rounds), +3% about 190. The
// default plan, looks 3–58 in 10 minutes, is sized for what a gate can
// afford instead: it decides an A/A compare (99% in the simulation below)
// and the measured per-request cost over legacy (about 3 times in 4),
// and fails +10% within 2 minutes; a candidate at +2.5% passes it about
// half the time. Evaluate puts the +2.5% (PowerEffect × Budget) line in
// Summary.Power, from the run's own rounds where there are at least 3.
//
// # Seeds
//
// Evaluate draws nothing: the boundaries are numerical integrals and the
// t correction a fixed-seed simulation, constants of the plan. The
// compare's own seed (results.Plan.Seed, drawn at random per compare and
// recorded; it derives the rounds' user ids, arrival schedules and fault
// draws and which build goes first) is copied to Summary.Seed. Every
// simulation below uses fixed seeds, so its rates are reproducible.
//
// # Error rule
//
// Target errors (every class but the generator's, results.IsGeneratorError)
// and chats reaching the target (answered + target errors) are counted per
// protocol, build and round. Each protocol is its own check
// (Summary.ErrorsByProtocol): a regression on WebSocket alone is judged on
// WebSocket's chats, not diluted by HTTP's. Diff = candidate rate −
// baseline rate, with Newcombe's hybrid score interval (Wilson bounds,
// valid near 0) over each build's counts divided by its Rao–Scott design
// effect: the variance of the build's rate over the rounds (each round's
// chats a cluster, R/(R − 1)·Σ(E_r − p·N_r)²/N²) relative to that of
// independent chats, at least 1. Errors that bunch in a few rounds (a
// hiccup, a restart) thus count as fewer independent chats and widen the
// interval. When a build's design effect is over 1 its variance is
// estimated from its R rounds, so its Wilson bounds use Student's t with
// R − 1 degrees of freedom at the look's level instead of z. The builds'
// segments of a round run one after the other: their rates are taken as
// independent, which any positive correlation within a round would only
// make conservative. The level is the look's (criticalZ): error counts
// grow linearly with the rounds, so the rounds are the information scale.
// The upper bound (the pass side) is at the design's level a, the lower
// bound (the fail side) at a/FailChecks, the check's share of the
// verdict's false-fail rate (1 unless Evaluate counts the error checks
// into the fail side's family).
// Pass when the upper bound ≤ ErrorBudget (default 0.1 point); fail when
// the lower bound > ErrorBudget; inconclusive otherwise. Summary.Errors
// keeps the counts, rates and interval pooled over protocols, with the
// protocols' combined verdict (fail if any fails, pass if all pass); a
// summary written before the per-protocol rule holds the pooled rule's
// verdict there. compare's old error-rate limit stays as a sanity check
// for a broken run (exit 3), on the target error rate only.
//
// errors_test.go pins the rule (800 chats per round, protocol and build,
// looks after rounds 3–12): +0.5 point on WebSocket only fails 1,000 of
// 1,000 compares (96.3% over a 0.2% background on both builds; the pooled
// rule of before 70.1%); A/A without errors passes 1,000 of 1,000; with
// the candidate exactly 0.1 point over the baseline on both protocols and
// rounds whose rates vary (log-normal factor, sd 1) the compare falsely
// fails 4.3% (CI 3.1–5.7%: two checks, at most 2.5% each), the pooled
// rule of before 26.9%, and the same rule with z in place of Student's t
// 10.1%: the design effect of 6–12 rounds is itself an estimate. With
// 0.2% errors on both builds the error checks rarely all pass within 12
// rounds (2.1% of compares; 9,600 chats per build and protocol measure a
// difference to about ±0.14 point): builds with background errors need
// more chats per round or a wider budget.
//
// # Memory rule
//
// Per build, the points are the live heap (after a forced GC when the
// target offers /debug/gc) at each round boundary against the cumulative
// chats answered by then: one reading before the first round, then one
// after every round. The reading before a round that follows a read one
// is a second look at the same idle heap (byte for byte after a forced
// GC) and is not counted: two copies of a point narrowed Sen's interval
// 1.8–3.9 times as if they were new data. Each build's slope is the
// Theil–Sen estimator (the median of pairwise slopes; robust to a GC
// outlier) with Sen's interval from Kendall's tau; both are reported
// (results.MemoryVerdict, the baseline's as info).
//
// The rule judges the candidate against the baseline of the same compare:
// D = candidate slope − baseline slope (results.MemoryComparison). Both
// builds grow 12–15 B/chat in the background (caches, the metrics
// registry), which an absolute limit charged to the candidate: under the
// old 64 B/chat absolute limit a candidate could add about 50 B/chat and
// pass. D's interval combines the two slopes' intervals by the MOVER of
// Zou and Donner (the construction of Newcombe's interval above):
// lo = D − √((c − c_lo)² + (b_hi − b)²), hi = D + √((c_hi − c)² + (b − b_lo)²),
// each slope's bound one-sided at the look's level (SlopeDiff; the lower
// bound, the fail side, at a/FailChecks as for errors). The
// candidate passes when hi ≤ MaxRetainedBytesPerRequest (default 16 B per
// chat answered: half the +32 B/chat leak a compare must catch, so that
// leak sits 16 B/chat over the limit, several times the interval's
// half-width) and no more factories are live after the last round than
// the baseline keeps (a legacy baseline keeps its one process-wide
// factory; a half-migrated candidate keeps the same one, which is the
// state it starts from, not its leak); fails when lo is over the limit or
// more factories are live; inconclusive otherwise, also when the
// baseline's heap was not read (nothing to judge against).
//
// The boundary is on the slope's information scale. A slope's information
// grows with the spread of its points, Σ(x − x̄)² ∝ k(k + 1)(k + 2) for
// readings after 0..k rounds: after 6 of 12 rounds it has 15% of its final
// information, not half, so a boundary indexed by rounds would misstate
// how correlated the early and late looks are. The memory looks spend the
// one-sided error a on the information fraction t = I(k)/I(plan) with the
// Lan–DeMets function of Pocock type, (1 − ρ)·a·ln(1 + (e − 1)·t), and
// the latency design's reserve beyond the plan (ρ = ReserveShare); the
// critical values come from simulating the canonical process W(t)/√t
// (memoryBoundary, 200,000 seeded paths). Pocock's type, because on this
// scale O'Brien–Fleming's value after 6 of 12 rounds is about 5.7, where
// Sen's interval of 7 readings is infinite beyond 2.85 by the normal
// approximation; with Pocock's it is 2.80 (3.03 after round 3, 2.37 after
// round 12). For up to 40 untied readings Sen's ranks come from the exact
// law of Kendall's S (kendallCritical), not its normal approximation,
// which is too strict in the tail for a few points: 6 readings give a
// finite bound up to 1 − 1/720 by the exact law, none beyond 99.4% by the
// normal one.
//
// memory_test.go pins the rule on simulated compares through the code
// path of Evaluate (1,600 chats per round and build, both builds growing
// 13 B/chat, heap noise sd 20 KB per reading; the real readings scatter
// about 13 KB; looks after rounds 3–12): A/A passes 1,000 of 1,000
// (median decided look 7); a leak 32 B/chat over the baseline fails 1,000
// of 1,000 (look 7); 128 B/chat fails 1,000 of 1,000 (look 5). With the
// candidate exactly on the limit (16 B/chat over the baseline) 0.25%
// (0.08–0.58%) of 2,000 compares pass and 0.75% (0.42–1.23%) fail, each
// shown within the design's 2.5%:
// Sen's ranks and the MOVER are conservative at these sizes. At 20 KB of
// noise the check is rarely decided before round 8, since 7 readings give
// Sen's interval only its extreme pairwise slopes; on the real rounds of
// docs/example-report (legacy against per-request, 14 and 12 B/chat) it
// passes after round 6 (D −1.7 B/chat, CI −15 to +14).
//
// compare reads factories_live after each segment only once it has stayed
// unchanged for 300 ms (polled every 100 ms, at most 5 s). Every round
// uses fresh user ids (compare.UserPrefix), so a leak per user id grows
// with the rounds like a leak per chat: 2,048 B per user, 100 users and
// ~1,600 chats per segment is 128 B/chat. Without /debug/gc (staging) the
// heap is read from /metrics after the settle time and includes garbage:
// the same rule applies, its interval is wider, and the note states the
// detection limit (the interval's width). A target in the load generator's
// process (either build's) shares its heap: the slopes are reported, not
// gated, and factories_live is still checked.
//
// # Isolation rule
//
// A build's checks are summed over its segments; it passes iff no response
// carried another user's data. Only the candidate is gated. Each protocol
// also gets its own verdict (results.IsolationVerdict.Protocols), and a
// failure's reason names them: a half-migrated service leaks on the route
// still on the singleton and not on the other.
//
// # Overall verdict
//
// Fail if the candidate's isolation, memory, errors or any latency check
// fails; a saturated load generator (Protocol.Saturated in a segment of
// either build) makes everything but an isolation fail inconclusive, with
// that reason, unless its round was left out as disturbed (a saturated
// segment's send lag is over the disturbed limit as a rule, so a long
// compare survives a few saturated moments of a busy machine, under the
// disturbed rounds' guards); else inconclusive if any check is; else
// pass. The reason
// names the first failing thing: isolation, memory, errors, then latency
// (the worst latency check).
//
// # Simulated error rates
//
// sim_test.go resamples whole real rounds: the stored histograms of
// docs/example-report (8 interleaved rounds, legacy against per-request,
// 800 chats per segment and protocol; LOADBENCH_SIM_RUN names another
// run). A real round gives all six checks' values of both builds, so a
// simulated round carries the real round's joint noise across the
// checks. Per check, the round's log ratio less the run's mean (its
// residual) is scaled by √(8/7) for resampling 8 rounds, and up to
// CalibrationRoundSD (the spread of 287 real rounds, 2–4 times the
// example run's own), and resampled as a smoothed bootstrap (a normal
// kernel of Silverman's bandwidth, variance kept: drawing 3–6 of 8
// rounds otherwise repeats rounds exactly, which real rounds never do).
// A/A is the residual alone; "legacy vs per-request" adds the example
// run's mean difference of the builds back, and "measured shift" adds
// instead per-request's cost measured over the 60 kept rounds of three
// real legacy compares (legacyEffect: +0.6/+0.7% at p50, +1.1% at p95,
// +1.2/+1.8% at p99). An effect is an added delay, as the real faults
// are: a fixed delay shifts every percentile by itself, so the
// candidate's values are shifted, not multiplied ("within budget": +189
// µs, +2.5% at the fastest check and less at the others; "+10%": +895
// µs, at least +10% everywhere). A real added delay is not a pure shift,
// though: the 20 "budget" runs of docs/validation-runs/validate-c.json
// measured +5.3–5.5% at p50 and +6.4–7.0% at p95/p99 (chats queue
// behind slow ones on 2 cores), so the "real shape" rows shift each
// check by that measured shape, scaled to +2.5% at its largest check.
// Disturbed rounds are not simulated: the rule leaves them out, so they
// cost wall time only. The error and memory checks cannot pass before
// round 6 (simFloorRounds), so no compare passes before it; a fail may
// come at any look. 2,000 compares per scenario (seeds 100–110; -short
// 200), 95% Clopper–Pearson intervals:
//
//	latency, looks 3–58 (default plan)   fail           pass                 median rounds
//	A/A                                  0% (0–0.2%)    99.3% (98.8–99.6%)   33
//	legacy vs per-request                0% (0–0.2%)    97.8% (97.1–98.4%)   33
//	  measured shift                     0% (0–0.2%)    75.3% (73.4–77.2%)   48
//	within budget, +189 µs               0% (0–0.2%)    52.5% (50.3–54.7%)   57
//	within budget, real shape ≤ +2.5%    0% (0–0.2%)    36.1% (34.0–38.3%)   58
//	+10%, +895 µs                        100%           0%                   12
//	latency, looks 3–122 (PowerPlan for +2.5% at 80%)
//	A/A                                  0% (0–0.2%)    100% (99.8–100%)     48
//	legacy vs per-request                0% (0–0.2%)    100% (99.8–100%)     48
//	within budget, +189 µs               0% (0–0.2%)    94.2% (93.0–95.1%)   82
//	within budget, real shape ≤ +2.5%    0% (0–0.2%)    83.2% (81.4–84.8%)   92
//	+10%, +895 µs                        100%           0%                   17
//
// The within-budget goal (pass ≥ 80%) needs the 122-round plan, 20
// minutes of 4 s rounds (10 s a round with the settle and the memory
// reads): more than a gate can wait. The default --max-duration, 10
// minutes (58 rounds), decides A/A and the +10% candidate and passes
// per-request's measured cost about 3 times in 4. These rates are the
// simulation's; docs/validation.md sets the real runs beside them.
//
// Verdict-level rates on the limit (TestVerdictAtTheLimit, 4,000 compares,
// looks 3–58, no floor; rounds drawn normal with the real rounds' sds and
// correlation across the six checks):
//
//	one check (ws p99) on its limit      pass 2.3% (1.8–2.8%)   fail 0.3%
//	all six on their limits              pass 0%                fail 2.4% (1.9–2.9%)
//	design, each                         ≤ 2.5%
//
// On the resampled real rounds themselves the same cases give pass 2.2%
// and fail 0.4% (one check), fail 2.4% (2.0–3.0%) (all six): logged, not
// pinned. One check on its limit with normal rounds and the t rule alone
// (TestBoundaryAtTheLimit, looks 3–58): pass 2.3% (1.9–2.8%), fail 2.8%
// (2.3–3.3%); the fixed level at every look instead: 15.5% and 16.3%.
//
// The error rule's rates (TestSimulatedErrors, pooled, 1,600 chats per
// round and build; the per-protocol rule's are in errors_test.go): A/A
// without errors passes 100%; A/A at 0.2% on both passes 54.6% and never
// fails; +0.05 point over 0.2% fails 0.2%; +0.5 point fails 100%.
package gate
