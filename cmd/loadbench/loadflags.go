package main

import (
	"math"
	"strconv"
	"time"

	"github.com/loadbench/loadbench"
	"github.com/loadbench/loadbench/internal/compare"
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
	f.DurationVar(&l.roundDuration, "round-duration", compare.DefaultRoundDuration, "load time of each build in each round")
	f.DurationVar(&l.warmup, "warmup", compare.DefaultWarmup, "unrecorded load on each build before the first round (0: none)")
	f.DurationVar(&l.settle, "settle", compare.DefaultSettle, "pause after each segment before memory is read")
	f.StringVar(&l.httpRate, "http-rate", "200", "HTTP chats per second (0 disables)")
	f.StringVar(&l.wsRate, "ws-rate", "200", "WebSocket chats per second (0 disables)")
	f.IntVar(&l.users, "users", compare.DefaultUsers, "virtual users")
}

// apply checks the flags and sets them on c; op prefixes the errors.
func (l *loadFlags) apply(op string, c *compare.Config) error {
	var err error
	if c.HTTPRate, err = compareRate(op+": --http-rate", l.httpRate); err != nil {
		return err
	}
	if c.WSRate, err = compareRate(op+": --ws-rate", l.wsRate); err != nil {
		return err
	}
	// The engine checks these too, in terms of its configuration; the
	// flags' own checks name the flags. Zero durations and users are the
	// engine's defaults.
	switch {
	case c.HTTPRate == 0 && c.WSRate == 0:
		return usageErr("%s: --http-rate and --ws-rate are both 0: nothing to measure", op)
	case l.roundDuration < 0:
		return usageErr("%s: --round-duration must be positive, got %s", op, l.roundDuration)
	case l.settle < 0:
		return usageErr("%s: --settle must not be negative, got %s", op, l.settle)
	case l.users < 0:
		return usageErr("%s: --users must be positive, got %d", op, l.users)
	}
	c.RoundDuration, c.Settle, c.Users = l.roundDuration, l.settle, l.users
	c.Warmup = l.warmup
	if c.Warmup == 0 {
		c.Warmup = -1 // an explicit --warmup 0: none
	}
	return nil
}

// compareRate reads a non-negative chats-per-second rate; compare measures
// at fixed rates only, so "max" is not accepted.
func compareRate(what, v string) (float64, error) {
	r, err := strconv.ParseFloat(v, 64)
	if err != nil || r < 0 || math.IsNaN(r) || math.IsInf(r, 0) {
		return 0, usageErr("%s must be a non-negative number, got %q", what, v)
	}
	return r, nil
}

// verdictExit maps a gate verdict to the command's exit: pass 0, fail 1,
// inconclusive 4. The outcome has been printed already.
func verdictExit(verdict string) error {
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

// options checks the flags and returns them as load options; op prefixes
// the errors.
func (e *engineFlags) options(op string) ([]load.Option, error) {
	if err := e.check(op); err != nil {
		return nil, err
	}
	arr, _ := load.ParseArrivals(e.arrivals)
	return []load.Option{load.WithMaxInFlight(e.maxInFlight), load.WithMaxSendLag(e.maxSendLag), load.WithMaxEventGap(e.maxEventGap), load.WithArrivals(arr)}, nil
}

// check checks the flags; op prefixes the errors.
func (e *engineFlags) check(op string) error {
	switch {
	case e.maxInFlight < 1:
		return usageErr("%s: --max-in-flight must be positive, got %d", op, e.maxInFlight)
	case e.maxSendLag < 0:
		return usageErr("%s: --max-send-lag must not be negative, got %s", op, e.maxSendLag)
	case e.maxEventGap < 0:
		return usageErr("%s: --max-event-gap must not be negative, got %s", op, e.maxEventGap)
	}
	if _, err := load.ParseArrivals(e.arrivals); err != nil {
		return usageErr("%s: --arrivals must be poisson or constant, got %q", op, e.arrivals)
	}
	return nil
}

// publicArrivals is the checked --arrivals as the public API's value.
func (e *engineFlags) publicArrivals() loadbench.Arrivals {
	if e.arrivals == load.ArrivalsConstant.String() {
		return loadbench.Constant
	}
	return loadbench.Poisson
}
