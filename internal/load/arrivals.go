package load

import (
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"time"
)

// Arrivals is how a rated schedule spaces its chats in time.
type Arrivals uint8

const (
	// ArrivalsPoisson (the default) sends chats as independent arrivals at
	// the rate: exponential gaps, as requests from many users reach a real
	// service. Some chats land close together, so work that a target
	// serializes or shares (the legacy build's configure-then-create
	// window, a lock, a shared factory) overlaps as it does in production.
	// The gaps come from a sequence seeded by the user prefix and the
	// protocol: an attack with the same prefix gets the same arrival
	// times, so the two sides of a compare round get the same load.
	ArrivalsPoisson Arrivals = iota
	// ArrivalsConstant sends chats exactly 1/rate apart (vegeta's
	// ConstantPacer). Requests that overlap only when two arrive within a
	// short window never do: a metronome hides that class of defect.
	ArrivalsConstant
)

// DefaultArrivals is the arrival process of an Attacker.
const DefaultArrivals = ArrivalsPoisson

// String returns "poisson" or "constant".
func (a Arrivals) String() string {
	switch a {
	case ArrivalsPoisson:
		return "poisson"
	case ArrivalsConstant:
		return "constant"
	}
	return fmt.Sprintf("Arrivals(%d)", uint8(a))
}

// ParseArrivals parses "poisson" or "constant".
func ParseArrivals(s string) (Arrivals, error) {
	switch s {
	case "poisson":
		return ArrivalsPoisson, nil
	case "constant":
		return ArrivalsConstant, nil
	}
	return 0, fmt.Errorf("arrivals: unknown process %q (want poisson or constant)", s)
}

// WithArrivals sets the arrival process of rated schedules
// (DefaultArrivals). Throughput mode (rate Max) has none.
func WithArrivals(a Arrivals) Option { return func(at *Attacker) { at.arrivals = a } }

// arrivalSeed is the seed of a protocol's arrival sequence: the same user
// prefix and protocol give the same arrival times.
func arrivalSeed(prefix, protocol string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(prefix))
	h.Write([]byte{0})
	h.Write([]byte(protocol))
	return h.Sum64()
}

// offsets returns the intended send offsets (from the schedule's start) of
// chats 0, 1, 2, ... at rate chats per second, to be called in that order.
func offsets(a Arrivals, rate float64, seed uint64) func() time.Duration {
	if a == ArrivalsConstant {
		p := pacer(rate)
		interval := p.Per / time.Duration(p.Freq)
		var n time.Duration
		return func() time.Duration { n++; return n * interval }
	}
	rng := rand.New(rand.NewPCG(seed, 0x6c62272e07bb0142))
	mean := float64(time.Second) / rate
	var t float64
	return func() time.Duration {
		t += rng.ExpFloat64() * mean
		return time.Duration(t)
	}
}
