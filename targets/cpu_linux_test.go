package targets

import (
	"crypto/sha256"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// processCPU is this process's CPU time, every thread, user and system
// (CLOCK_PROCESS_CPUTIME_ID, nanoseconds).
func processCPU(t *testing.T) time.Duration {
	t.Helper()
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_PROCESS_CPUTIME_ID, &ts); err != nil {
		t.Fatal(err)
	}
	return time.Duration(ts.Nano())
}

// chatBatch sends n HTTP chats to base one after another and returns the
// process CPU time they cost: the target's, in this process, and the
// client's.
func chatBatch(t *testing.T, client *http.Client, base string, n int) time.Duration {
	t.Helper()
	start := processCPU(t)
	for i := range n {
		resp, err := client.Post(base+RouteRun, "application/json",
			strings.NewReader(fmt.Sprintf(`{"user_id":"burn-%04d","thread_id":"thread-b"}`, i%8)))
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("chat %d: status %d", i, resp.StatusCode)
		}
	}
	return processCPU(t) - start
}

// A chat of a target started with WithBurn(D) costs D more of the process's
// CPU time than one without, in both builds: real work on the request path.
// Batches of chats to a burning and a plain target alternate, so that what
// the rest of the process spends meanwhile (the client, the collector)
// falls on both; the extra CPU per chat over 50 chats must lie within
// 0.8·D–1.5·D. Not parallel: other tests' CPU would count.
func TestBurnCostsCPUPerChat(t *testing.T) {
	const (
		d       = 2 * time.Millisecond
		batches = 5
		batch   = 10
	)
	client := &http.Client{Timeout: 10 * time.Second}
	for _, impl := range []string{ImplBaseline, ImplPerRequest} {
		plain, err := Start(impl, WithThink(0), WithTool(0))
		if err != nil {
			t.Fatal(err)
		}
		burning, err := Start(impl, WithThink(0), WithTool(0), WithBurn(d))
		if err != nil {
			t.Fatal(err)
		}
		chatBatch(t, client, plain.URL, batch) // warm both: connections, first-use allocations
		chatBatch(t, client, burning.URL, batch)
		var cpuPlain, cpuBurning time.Duration
		for range batches {
			cpuPlain += chatBatch(t, client, plain.URL, batch)
			cpuBurning += chatBatch(t, client, burning.URL, batch)
		}
		plain.Close()
		burning.Close()
		n := time.Duration(batches * batch)
		extra := (cpuBurning - cpuPlain) / n
		t.Logf("%s: --burn %s costs %s more CPU per chat (%s against %s, %d chats each)", impl, d, extra, cpuBurning/n, cpuPlain/n, n)
		if extra < d*8/10 || extra > 2*d { // loose above: contention inflates the work, never shrinks it
			t.Errorf("%s: a chat with a burn of %s cost %s more CPU than one without (%s against %s per chat over %d)",
				impl, d, extra, cpuBurning/n, cpuPlain/n, n)
		}
	}
}

// spin hashes in this goroutine until the process has spent d of CPU time,
// and returns what it spent: plain work, the reference of a burn.
func spin(t *testing.T, d time.Duration) time.Duration {
	t.Helper()
	start := processCPU(t)
	sum := sha256.Sum256(nil)
	for processCPU(t)-start < d {
		for range 100 {
			sum = sha256.Sum256(sum[:])
		}
	}
	spinSink += sum[0]
	return processCPU(t) - start
}

// spinSink keeps spin's work from being optimized away.
var spinSink byte

// A burning chat does not sleep: its wall time exceeds the process CPU time
// it costs by no more than that of plain work in this goroutine (spin),
// which is stretched as much by other processes on the cores. The best of
// three pairs, so that a burst of contention does not fail it; a chat that
// slept as long as it burned would exceed it by about d.
func TestBurnDoesNotSleepOnTheRequestPath(t *testing.T) {
	const d = 20 * time.Millisecond
	st, err := Start(ImplPerRequest, WithThink(0), WithTool(0), WithBurn(d))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	client := &http.Client{Timeout: 10 * time.Second}
	chatBatch(t, client, st.URL, 1)
	measure := func(f func() time.Duration) (wall, cpu time.Duration) {
		start := time.Now()
		cpu = f()
		return time.Since(start), cpu
	}
	best := time.Hour
	for range 3 {
		wall, cpu := measure(func() time.Duration { return chatBatch(t, client, st.URL, 1) })
		if cpu < d*9/10 {
			t.Fatalf("a chat burning %s cost %s of CPU in %s", d, cpu, wall)
		}
		refWall, refCPU := measure(func() time.Duration { return spin(t, d) })
		best = min(best, (wall-cpu)-(refWall-refCPU))
	}
	if best > d/4 {
		t.Errorf("a chat burning %s exceeded its CPU time by %s more than plain work, at best", d, best)
	}
}

// The built-in targets expose their process's CPU time, which a capacity
// run divides by the chats answered (internal/cpu reads it).
func TestMetricsExposeProcessCPU(t *testing.T) {
	t.Parallel()
	_, ts := newTestServer(t, ImplBaseline)
	body := metricsBody(t, ts.URL)
	for _, want := range []string{"# TYPE process_cpu_seconds_total counter\nprocess_cpu_seconds_total ", "\nprocess_start_time_seconds "} {
		if !strings.Contains(string(body), want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}
