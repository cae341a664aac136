package loadbench

import (
	"fmt"
	"math"
	"strconv"

	"github.com/loadbench/loadbench/internal/load"
	"github.com/loadbench/loadbench/internal/usage"
)

// Rate is how fast one protocol's chats arrive. The zero Rate is the
// default: see Options.HTTPRate. Make others with PerSecond, Max and Off.
type Rate struct {
	perSecond float64
	mode      rateMode
}

type rateMode uint8

const (
	rateDefault rateMode = iota
	rateFixed
	rateMax
	rateOff
)

// PerSecond is an open-model arrival rate of n chats per second: chats are
// sent on schedule whether or not earlier ones were answered. n must be
// positive and finite.
func PerSecond(n float64) Rate { return Rate{perSecond: n, mode: rateFixed} }

// Max is throughput mode: HTTP from a fixed number of closed-loop workers,
// WebSocket with every user sending its next chat when the previous one is
// answered. Latency then measures a saturated target; Compare refuses it.
func Max() Rate { return Rate{mode: rateMax} }

// Off sends no chats over the protocol.
func Off() Rate { return Rate{mode: rateOff} }

// IsZero reports whether r is the zero Rate (the default).
func (r Rate) IsZero() bool { return r == Rate{} }

// String is "200/s", "max", "off", or "default" for the zero Rate.
func (r Rate) String() string {
	switch r.mode {
	case rateDefault:
		return "default"
	case rateMax:
		return "max"
	case rateOff:
		return "off"
	}
	return strconv.FormatFloat(r.perSecond, 'f', -1, 64) + "/s"
}

// rates resolves the two protocols' rates by the rule of Options.HTTPRate
// into the engine's chats per second (0 off, load.Max throughput), checked.
func rates(op string, httpRate, wsRate Rate) (httpPS, wsPS float64, err error) {
	if httpRate.IsZero() && wsRate.IsZero() {
		return DefaultRate, DefaultRate, nil
	}
	if httpPS, err = httpRate.engine(op, "http rate"); err != nil {
		return 0, 0, err
	}
	if wsPS, err = wsRate.engine(op, "ws rate"); err != nil {
		return 0, 0, err
	}
	if httpPS == 0 && wsPS == 0 {
		return 0, 0, usage.Errorf("%s: both rates are off: nothing to send", op)
	}
	return httpPS, wsPS, nil
}

// engine is r in the engine's terms, with the other protocol's rate set:
// the zero Rate is then off.
func (r Rate) engine(op, field string) (float64, error) {
	switch r.mode {
	case rateDefault, rateOff:
		return 0, nil
	case rateMax:
		return load.Max, nil
	case rateFixed:
		if !(r.perSecond > 0) || math.IsInf(r.perSecond, 0) {
			return 0, usage.Fieldf(op, field, "must be a positive number of chats per second, got %v", r.perSecond)
		}
		return r.perSecond, nil
	}
	return 0, usage.Fieldf(op, field, "is not a rate (%s)", fmt.Sprint(r.mode))
}
