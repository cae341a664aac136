package capacity

import (
	"errors"
	"fmt"
	"time"

	"github.com/loadbench/loadbench/internal/cpu"
	"github.com/loadbench/loadbench/internal/load"
)

// MinStepDuration is the shortest step: its CPU window (CPUWindow) must
// hold at least half a second of load.
const MinStepDuration = time.Second

// CPUWindow is where, in a step whose load lasts d, the target's CPU is
// read for the step's CPU per chat: at the engine's first progress report
// at or after from, and at its first report at or after to. CPU per chat
// is the CPU between the two readings over the chats answered between
// them.
//
//   - from is a quarter of d (at least one progress interval). The
//     WebSocket users are dialled before the load's clock starts; the
//     first quarter is the lead-in to a steady state (the users' first
//     chats, the HTTP connections opened as the load ramps up).
//   - to is one progress interval (load.ProgressInterval, 250 ms) before
//     d, so the reading falls while chats are still being sent: before the
//     last answers straggle in and the connections close.
//
// A step of 3 s is read from 0.75 s to 2.75 s, one of 1 s from 0.25 s to
// 0.75 s. ok is false when to is not after from (d ≤ 0.5 s).
func CPUWindow(d time.Duration) (from, to time.Duration, ok bool) {
	tick := load.ProgressInterval
	from, to = max(d/4, tick), d-tick
	return from, to, to > from
}

// windowReadTimeout bounds one reading of the window: it runs on the
// engine's progress goroutine, and a target that does not answer its
// scrape must not hold the step.
const windowReadTimeout = 2 * time.Second

// errNoWindow is a step whose CPU window was not read in full.
var errNoWindow = errors.New("cpu window: not read")

// window reads the target's CPU twice during one step's load, told of
// the load's progress reports in order (observe, from the engine's one
// progress goroutine). The answered chats at a report are the engine's
// live count at that report: chats ended (Done) minus failed (Errors). It
// also counts the chats the generator did not send (its in-flight limit),
// which are none below the knee; a step with such chats is saturated and
// measured again.
type window struct {
	from, to, end time.Duration
	read          func() (cpu.Reading, error)
	marks         []mark
	err           error
}

// mark is one reading of the window and the answered chats at it.
type mark struct {
	at       time.Duration
	answered int64
	r        cpu.Reading
}

// newWindow is the window of a step of load d that reads with read; nil
// when d has no window (CPUWindow).
func newWindow(d time.Duration, read func() (cpu.Reading, error)) *window {
	from, to, ok := CPUWindow(d)
	if !ok {
		return nil
	}
	return &window{from: from, to: to, end: d, read: read}
}

// observe is told of one progress report: the load's elapsed time and the
// chats answered so far. It reads the CPU at the first report at or after
// each mark; a report at or after the end of sending reads nothing.
func (w *window) observe(elapsed time.Duration, answered int64) {
	if w == nil || w.err != nil || len(w.marks) == 2 || elapsed >= w.end {
		return
	}
	if at := [2]time.Duration{w.from, w.to}[len(w.marks)]; elapsed < at {
		return
	}
	r, err := w.read()
	if err != nil {
		w.err = err
		return
	}
	w.marks = append(w.marks, mark{at: elapsed, answered: answered, r: r})
}

// perChat is the CPU seconds per chat answered within the window, the
// chats counted and the window's span on the load's clock.
func (w *window) perChat() (per float64, chats int64, span time.Duration, err error) {
	switch {
	case w == nil:
		return 0, 0, 0, errNoWindow
	case w.err != nil:
		return 0, 0, 0, fmt.Errorf("cpu window: %w", w.err)
	case len(w.marks) < 2:
		return 0, 0, 0, fmt.Errorf("%w (%d of 2 readings before the end of sending)", errNoWindow, len(w.marks))
	}
	a, b := w.marks[0], w.marks[1]
	chats = b.answered - a.answered
	per, err = cpu.PerChat(a.r, b.r, chats)
	if err != nil {
		return 0, chats, b.at - a.at, fmt.Errorf("cpu window: %w", err)
	}
	return per, chats, b.at - a.at, nil
}

// source is where the window's readings came from.
func (w *window) source() cpu.Source {
	if w == nil || len(w.marks) == 0 {
		return ""
	}
	return w.marks[0].r.Source
}
