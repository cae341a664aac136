package capacity

import (
	"context"
	"errors"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/loadbench/loadbench/internal/cpu"
	"github.com/loadbench/loadbench/internal/load"
	"github.com/loadbench/loadbench/results"
)

func TestCPUWindowMarks(t *testing.T) {
	t.Parallel()
	tick := load.ProgressInterval
	for _, c := range []struct {
		d, from, to time.Duration
		ok          bool
	}{
		{3 * time.Second, 750 * time.Millisecond, 3*time.Second - tick, true},
		{5 * time.Second, 1250 * time.Millisecond, 5*time.Second - tick, true},
		{MinStepDuration, max(MinStepDuration/4, tick), MinStepDuration - tick, true},
		{600 * time.Millisecond, tick, 600*time.Millisecond - tick, true},
		{2 * tick, tick, tick, false},
		{tick, tick, 0, false},
	} {
		from, to, ok := CPUWindow(c.d)
		if from != c.from || to != c.to || ok != c.ok {
			t.Errorf("CPUWindow(%s) = %s, %s, %v; want %s, %s, %v", c.d, from, to, ok, c.from, c.to, c.ok)
		}
	}
}

// fakeCounter is a target whose CPU counter is a function of the load's
// elapsed time, read at the report the window is told of.
type fakeCounter struct {
	now   time.Duration
	cpu   func(time.Duration) float64
	reads int
	err   error
}

func (f *fakeCounter) read() (cpu.Reading, error) {
	f.reads++
	if f.err != nil {
		return cpu.Reading{}, f.err
	}
	return cpu.Reading{Source: cpu.SourceMetrics, Seconds: f.cpu(f.now), Start: 1}, nil
}

// drive tells w of a report every progress interval up to the end of
// sending and one more after it (the engine's last report, once the
// answers are in), with answered(t) chats answered by then.
func drive(w *window, f *fakeCounter, d time.Duration, answered func(time.Duration) int64) {
	for at := load.ProgressInterval; ; at += load.ProgressInterval {
		f.now = at
		w.observe(at, answered(at))
		if at >= d {
			return
		}
	}
}

// The window leaves out the step's fixed costs: a target that spends a
// lump of CPU at the start (the users' dials, a first scrape) and at the
// end (the connections' close), and a steady cost per chat in between,
// reads as its steady cost, where the whole step would not.
func TestWindowLeavesOutFixedCosts(t *testing.T) {
	t.Parallel()
	const (
		d      = 3 * time.Second
		rate   = 400.0                 // chats/s
		perUs  = 180.0                 // steady CPU per chat
		lumpS  = 0.3                   // CPU seconds of the start's and the end's fixed costs
		startS = 1000.0                // the counter's value before the step
		lag    = 40 * time.Millisecond // answers lag their sends
	)
	answered := func(at time.Duration) int64 {
		return int64(max(0, (at-lag).Seconds()*rate))
	}
	f := &fakeCounter{cpu: func(at time.Duration) float64 {
		v := startS + lumpS + float64(answered(at))*perUs/1e6
		if at >= d {
			v += lumpS
		}
		return v
	}}
	w := newWindow(d, f.read)
	drive(w, f, d, answered)
	per, chats, span, err := w.perChat()
	if err != nil {
		t.Fatal(err)
	}
	if f.reads != 2 {
		t.Errorf("%d readings, want 2", f.reads)
	}
	if math.Abs(per*1e6-perUs) > 1e-6 {
		t.Errorf("cpu per chat %.3f µs, want %.0f", per*1e6, perUs)
	}
	if want := answered(2750*time.Millisecond) - answered(750*time.Millisecond); chats != want || span != 2*time.Second {
		t.Errorf("window of %d chats over %s, want %d over 2s", chats, span, want)
	}
	if w.source() != cpu.SourceMetrics {
		t.Errorf("source %q", w.source())
	}
	whole := (f.cpu(d) - startS) / float64(answered(d))
	if whole*1e6 < 1.5*perUs {
		t.Errorf("the whole step reads %.1f µs: the test's fixed costs are too small to show the window's point", whole*1e6)
	}
}

// A report is read at most once per mark, late reports move the reading
// (the marks are "at or after"), and nothing is read at or after the end
// of sending.
func TestWindowMarksAreFirstReportsAtOrAfter(t *testing.T) {
	t.Parallel()
	const d = 3 * time.Second
	f := &fakeCounter{cpu: func(at time.Duration) float64 { return at.Seconds() / 2 }}
	w := newWindow(d, f.read)
	for _, at := range []time.Duration{100, 700, 900, 1000, 2700, 2800, 2900, 3000, 3100} {
		at *= time.Millisecond
		f.now = at
		w.observe(at, int64(at/time.Millisecond))
	}
	if f.reads != 2 || w.marks[0].at != 900*time.Millisecond || w.marks[1].at != 2800*time.Millisecond {
		t.Fatalf("%d reads at %+v, want 2 at 900ms and 2.8s", f.reads, w.marks)
	}
	per, chats, span, err := w.perChat()
	if err != nil || chats != 1900 || span != 1900*time.Millisecond || math.Abs(per-0.5e-3) > 1e-12 {
		t.Errorf("per %v, chats %d, span %s, err %v", per, chats, span, err)
	}

	// A load whose reports skip the end mark (a slow progress goroutine)
	// has no window: no reading at or after the end of sending.
	f = &fakeCounter{cpu: func(at time.Duration) float64 { return at.Seconds() }}
	w = newWindow(d, f.read)
	for _, at := range []time.Duration{1000, 3000, 3250} {
		at *= time.Millisecond
		f.now = at
		w.observe(at, int64(at/time.Millisecond))
	}
	if _, _, _, err := w.perChat(); !errors.Is(err, errNoWindow) || f.reads != 1 {
		t.Errorf("half a window: %v after %d reads", err, f.reads)
	}
}

func TestWindowErrors(t *testing.T) {
	t.Parallel()
	const d = 2 * time.Second
	steady := func(at time.Duration) int64 { return int64(at / time.Millisecond) }

	// No window: a step too short, or no CPU counter (nil window).
	if w := newWindow(400*time.Millisecond, nil); w != nil {
		t.Errorf("window of a 400ms step: %+v", w)
	}
	var none *window
	none.observe(time.Second, 1)
	if _, _, _, err := none.perChat(); !errors.Is(err, errNoWindow) || none.source() != "" {
		t.Errorf("nil window: %v", err)
	}

	// A failed reading ends the window: no second reading, and its error.
	bad := errors.New("read cpu http://target/metrics: connection refused")
	f := &fakeCounter{cpu: func(time.Duration) float64 { return 1 }, err: bad}
	w := newWindow(d, f.read)
	drive(w, f, d, steady)
	if _, _, _, err := w.perChat(); !errors.Is(err, bad) || f.reads != 1 {
		t.Errorf("failed reading: %v after %d reads", err, f.reads)
	}

	// No chat answered within the window, and a counter that restarted
	// (went back): cpu.PerChat's errors.
	f = &fakeCounter{cpu: func(at time.Duration) float64 { return at.Seconds() }}
	w = newWindow(d, f.read)
	drive(w, f, d, func(time.Duration) int64 { return 7 })
	if _, chats, _, err := w.perChat(); err == nil || chats != 0 {
		t.Errorf("no chats in the window: %d, %v", chats, err)
	}
	f = &fakeCounter{cpu: func(at time.Duration) float64 { return 10 - at.Seconds() }}
	w = newWindow(d, f.read)
	drive(w, f, d, steady)
	if _, _, _, err := w.perChat(); err == nil {
		t.Error("a counter that went back gave a figure")
	}
}

// noCPU is the model with no CPU figure at the steps numbered in missing
// (a window not read in full).
type noCPU struct {
	*model
	n       int
	missing map[int]bool
}

func (m *noCPU) Measure(ctx context.Context, s Spec) (results.CapacityStep, error) {
	m.n++
	st, err := m.model.Measure(ctx, s)
	if m.missing[m.n] {
		st.CPUUs, st.CPUSource = 0, ""
	}
	return st, err
}

// A pair with a step without a CPU figure is left out of the CPU answer,
// with a warning; its target errors still count.
func TestSearchLeavesOutPairsWithoutCPU(t *testing.T) {
	t.Parallel()
	p := plan()
	p.CPURates = []float64{300}
	p.SLO = results.Duration(50 * time.Millisecond)
	m := &noCPU{model: newModel(1000, 1000, 200, 200, 0), missing: map[int]bool{3: true}}
	sum, err := Search(context.Background(), p, m, nil)
	if err != nil {
		t.Fatal(err)
	}
	if sum.CPU.Pairs != p.CPURounds-1 || sum.CPU.Ratio != 1 || sum.CPU.Verdict != results.Pass {
		t.Errorf("%d pairs, ratio %v, %s; want %d pairs at 1, pass", sum.CPU.Pairs, sum.CPU.Ratio, sum.CPU.Verdict, p.CPURounds-1)
	}
	if !slices.ContainsFunc(sum.Warnings, func(w string) bool { return strings.Contains(w, "1 CPU pair(s) left out") }) {
		t.Errorf("warnings %q", sum.Warnings)
	}
}
