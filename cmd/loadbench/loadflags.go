package main

import (
	"math"
	"strconv"
	"time"

	"github.com/loadbench/loadbench"
	"github.com/loadbench/loadbench/internal/load"
	"github.com/loadbench/loadbench/results"
	"github.com/spf13/pflag"
)

// loadFlags are the flags compare and validate share for the shape of each
// compare's load; the gate's and the rounds' are gateFlags (gateflags.go).
type loadFlags struct {
	users                         int
	roundDuration, warmup, settle time.Duration
	httpRate, wsRate              string
}

func (l *loadFlags) register(f *pflag.FlagSet) {
	f.DurationVar(&l.roundDuration, "round-duration", loadbench.DefaultRoundDuration, "load time of each build in each round")
	f.DurationVar(&l.warmup, "warmup", loadbench.DefaultWarmup, "unrecorded load on each build before the first round (0: none)")
	f.DurationVar(&l.settle, "settle", loadbench.DefaultSettle, "pause after each segment before memory is read")
	f.StringVar(&l.httpRate, "http-rate", "200", "HTTP chats per second (0 disables)")
	f.StringVar(&l.wsRate, "ws-rate", "200", "WebSocket chats per second (0 disables)")
	f.IntVar(&l.users, "users", loadbench.DefaultUsers, "virtual users")
}

// apply sets the flags on o; the library checks the values. op prefixes
// the errors of what only the command parses.
func (l *loadFlags) apply(op string, o *loadbench.CompareOptions) error {
	var err error
	if o.HTTPRate, err = compareRate(op+": --http-rate", l.httpRate); err != nil {
		return err
	}
	if o.WSRate, err = compareRate(op+": --ws-rate", l.wsRate); err != nil {
		return err
	}
	if l.users == 0 {
		return usageErr("%s: --users must be positive, got 0", op)
	}
	o.RoundDuration, o.Settle, o.Users = l.roundDuration, l.settle, l.users
	if l.roundDuration == 0 {
		return usageErr("%s: --round-duration must be positive, got 0s", op)
	}
	o.Warmup, o.NoWarmup = l.warmup, l.warmup == 0
	o.NoSettle = l.settle == 0
	return nil
}

// compareRate reads a non-negative chats-per-second rate (0: off); compare
// measures at fixed rates only, so "max" is not accepted.
func compareRate(what, v string) (loadbench.Rate, error) {
	r, err := strconv.ParseFloat(v, 64)
	if err != nil || r < 0 || math.IsNaN(r) || math.IsInf(r, 0) {
		return loadbench.Rate{}, usageErr("%s must be a non-negative number, got %q", what, v)
	}
	return flagRate(r), nil
}

// flagRate is a parsed rate flag as a Rate: 0 is off, load.Max throughput.
func flagRate(r float64) loadbench.Rate {
	switch r {
	case 0:
		return loadbench.Off()
	case load.Max:
		return loadbench.Max()
	}
	return loadbench.PerSecond(r)
}

// verdictExit maps a gate verdict to the command's exit: pass 0, fail 1,
// inconclusive 4. The outcome has been printed already.
func verdictExit(verdict results.Verdict) error {
	switch verdict {
	case results.Pass:
		return nil
	case results.Fail:
		return withCode(exitFail, nil)
	default:
		return withCode(exitInconclusive, nil)
	}
}

// engineFlags are the load engine's own limits, shared by attack and
// compare: how many chats may be in flight at the generator, the send lag
// past which it counts as saturated, and the contract's event-gap limit.
type engineFlags struct {
	maxInFlight             int
	maxSendLag, maxEventGap time.Duration
	arrivals                string
}

func (e *engineFlags) register(f *pflag.FlagSet) {
	f.IntVar(&e.maxInFlight, "max-in-flight", load.DefaultMaxInFlight,
		"chats in flight at the generator, both protocols; a chat due past it is not sent and counted as the generator's")
	f.DurationVar(&e.maxSendLag, "max-send-lag", load.DefaultMaxSendLag,
		"p99 send lag (actual − intended send) above which the generator is reported saturated (0: never)")
	f.DurationVar(&e.maxEventGap, "max-event-gap", load.DefaultMaxEventGap,
		"most time between two consecutive events of a chat; longer is a timing violation (0: no check)")
	f.StringVar(&e.arrivals, "arrivals", load.DefaultArrivals.String(),
		"arrival process of rated load: poisson (independent arrivals, seeded by the user prefix) or constant (exactly 1/rate apart)")
}

// engine is the flags in the library's terms: 0 turns a limit off.
type engine struct {
	maxInFlight                     int
	maxSendLag, maxEventGap         time.Duration
	noSendLagLimit, noEventGapLimit bool
	arrivals                        loadbench.Arrivals
}

// parse reads the flags; op prefixes the errors. The library checks the
// values.
func (e *engineFlags) parse(op string) (engine, error) {
	if e.maxInFlight == 0 {
		return engine{}, usageErr("%s: --max-in-flight must be positive, got 0", op)
	}
	out := engine{
		maxInFlight: e.maxInFlight, maxSendLag: e.maxSendLag, maxEventGap: e.maxEventGap,
		noSendLagLimit: e.maxSendLag == 0, noEventGapLimit: e.maxEventGap == 0,
	}
	switch e.arrivals {
	case loadbench.Poisson.String():
		out.arrivals = loadbench.Poisson
	case loadbench.Constant.String():
		out.arrivals = loadbench.Constant
	default:
		return out, usageErr("%s: --arrivals must be poisson or constant, got %q", op, e.arrivals)
	}
	return out, nil
}

// compare sets the limits on a compare's options.
func (e engine) compare(o *loadbench.CompareOptions) {
	o.MaxInFlight, o.Arrivals = e.maxInFlight, e.arrivals
	o.MaxSendLag, o.NoSendLagLimit = e.maxSendLag, e.noSendLagLimit
	o.MaxEventGap, o.NoEventGapLimit = e.maxEventGap, e.noEventGapLimit
}

// attack sets the limits on an attack's options.
func (e engine) attack(o *loadbench.Options) {
	o.MaxInFlight, o.Arrivals = e.maxInFlight, e.arrivals
	o.MaxSendLag, o.NoSendLagLimit = e.maxSendLag, e.noSendLagLimit
	o.MaxEventGap, o.NoEventGapLimit = e.maxEventGap, e.noEventGapLimit
}
