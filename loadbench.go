package loadbench

import (
	"fmt"

	"github.com/loadbench/loadbench/internal/load"
	"github.com/loadbench/loadbench/internal/usage"
	"github.com/loadbench/loadbench/results"
)

// ErrUsage is wrapped by every error that reports invalid input (a bad URL,
// a negative rate, ...) as opposed to a failed run: errors.Is(err, ErrUsage).
var ErrUsage = usage.ErrUsage

// FieldError is the usage error about one setting of Options or
// CompareOptions: Field names it in words as the error prints it ("round
// duration", "users", "candidate ws ping"), a stable key; errors.As(err,
// &fe) finds it.
type FieldError = usage.FieldError

// Protocol is a protocol loadbench drives.
type Protocol int

// The protocols, in report order.
const (
	HTTP      Protocol = iota + 1 // POST {base}/api/agents/run
	WebSocket                     // GET {base}/api/demo/ws
)

// Protocols lists every protocol, in report order.
func Protocols() []Protocol { return []Protocol{HTTP, WebSocket} }

// String is "http" or "ws", the names used in run directories and reports.
func (p Protocol) String() string {
	switch p {
	case HTTP:
		return results.HTTP
	case WebSocket:
		return results.WS
	}
	return fmt.Sprintf("Protocol(%d)", int(p))
}

func protocolOf(name string) (Protocol, bool) {
	switch name {
	case results.HTTP:
		return HTTP, true
	case results.WS:
		return WebSocket, true
	}
	return 0, false
}

// Verdict is the outcome of a gate.
type Verdict int

// The verdicts. The zero value is not a verdict.
const (
	Pass         Verdict = iota + 1 // within the budget
	Fail                            // over the budget, significantly; or a memory or isolation failure
	Inconclusive                    // the data cannot tell; more rounds may
)

// String is "pass", "fail" or "inconclusive".
func (v Verdict) String() string {
	switch v {
	case Pass:
		return string(results.Pass)
	case Fail:
		return string(results.Fail)
	case Inconclusive:
		return string(results.Inconclusive)
	}
	return fmt.Sprintf("Verdict(%d)", int(v))
}

func verdictOf(v results.Verdict) Verdict {
	switch v {
	case results.Pass:
		return Pass
	case results.Fail:
		return Fail
	case results.Inconclusive:
		return Inconclusive
	}
	return 0
}

// Arrivals is how rated load spaces its chats in time.
type Arrivals int

// The arrival processes. The zero value is the default, Poisson.
const (
	// Poisson sends chats as independent arrivals at the rate (exponential
	// gaps, seeded by the user prefix and protocol, so the same attack gets
	// the same arrival times): some chats land close together, as in
	// production, and work a target shares between requests overlaps.
	Poisson Arrivals = iota
	// Constant sends chats exactly 1/rate apart (vegeta's ConstantPacer).
	Constant
)

// String is "poisson" or "constant"; "Arrivals(N)" for a value that is
// neither.
func (a Arrivals) String() string {
	if !a.valid() {
		return fmt.Sprintf("Arrivals(%d)", int(a))
	}
	return a.engine().String()
}

func (a Arrivals) valid() bool { return a == Poisson || a == Constant }

// engine is a valid a as the engine's value.
func (a Arrivals) engine() load.Arrivals {
	if a == Constant {
		return load.ArrivalsConstant
	}
	return load.ArrivalsPoisson
}
