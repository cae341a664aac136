package loadbench_test

import (
	"flag"
	"math"
	"runtime"
	"runtime/metrics"
	"strings"
	"testing"
	"time"

	"github.com/loadbench/loadbench"
	"github.com/loadbench/loadbench/targets"
)

var chatRate = flag.Float64("chat.rate", 400, "BenchmarkChat: open-model arrival rate, chats per second")

// benchMemProfileRate samples one allocation every 4 KiB on average, so
// that BenchmarkChat can attribute the bytes allocated to the target's code
// rather than the generator's (see targetAllocs).
const benchMemProfileRate = 4096

func init() { runtime.MemProfileRate = benchMemProfileRate }

// BenchmarkChat drives b.N chats over one protocol through each built-in
// build, served in this process on 127.0.0.1, at a fixed open-model
// arrival rate (-chat.rate, default 400/s), and reports:
//
//   - p50-ms, p95-ms, p99-ms: latency of the answered chats, from each
//     chat's intended send time;
//   - errors: failed chats;
//   - B/chat: bytes the target allocated per chat. Generator and target
//     share this heap, so the total allocated during the load is split by
//     the heap profile: sampled allocations whose stack runs through the
//     target's code (net/http's server connection, targets, baseline,
//     perrequest, internal/agent) are the target's; the generator's
//     (internal/load) and unattributed ones are excluded;
//   - retained-B/chat: growth of the live heap per chat after the load,
//     the generator's results dropped and two forced GCs (clamped at 0).
//     The generator keeps nothing after the attack, so this is the
//     target's.
//
// ns/op is dropped: wall time per chat is the arrival schedule, not a
// latency. Sub-benchmarks are named build=NAME/proto=PROTO, so
//
//	go test -run '^$' -bench Chat -benchtime 2000x -count 6 . | benchstat -col /build -
//
// puts the builds side by side.
func BenchmarkChat(b *testing.B) {
	if *chatRate <= 0 {
		b.Fatalf("-chat.rate must be positive, got %v", *chatRate)
	}
	for _, build := range targets.Impls() {
		for _, proto := range loadbench.Protocols() {
			b.Run("build="+build+"/proto="+proto.String(), func(b *testing.B) {
				benchChat(b, build, proto, *chatRate)
			})
		}
	}
}

func benchChat(b *testing.B, build string, proto loadbench.Protocol, rate float64) {
	tg, err := targets.Start(build)
	if err != nil {
		b.Fatal(err)
	}
	defer tg.Close()
	ctx := b.Context()
	opts := func(n int) loadbench.Options {
		o := loadbench.Options{
			MaxRequests: int64(n),
			// Long enough to send n chats on schedule; MaxRequests ends it.
			Duration: time.Duration(float64(n)/rate*float64(time.Second)) + 2*time.Second,
		}
		// The protocol's rate set, the other one left zero is off.
		if proto == loadbench.HTTP {
			o.HTTPRate = loadbench.PerSecond(rate)
		} else {
			o.WSRate = loadbench.PerSecond(rate)
		}
		return o
	}
	// Warm the target up (first connections, lazy state): not measured.
	if _, err := loadbench.Attack(ctx, tg.URL, opts(min(b.N, 50))); err != nil {
		b.Fatal(err)
	}

	before := settledHeap()
	profBefore := heapProfile()
	b.ResetTimer()
	res, err := loadbench.Attack(ctx, tg.URL, opts(b.N))
	b.StopTimer()
	if err != nil {
		b.Fatal(err)
	}
	if n := res.Chats(); n != int64(b.N) {
		b.Fatalf("sent %d chats, want b.N = %d", n, b.N)
	}
	res.ReportMetrics(b)
	res = nil // the generator's results are not the target's memory
	after := settledHeap()
	target := targetAllocs(profBefore, heapProfile())
	b.ReportMetric(target/float64(b.N), "B/chat")
	b.ReportMetric(max(0, float64(after)-float64(before))/float64(b.N), "retained-B/chat")
}

// settledHeap forces two GCs, lets finalizers and cleanups run, and
// returns the live heap in bytes.
func settledHeap() uint64 {
	runtime.GC()
	time.Sleep(20 * time.Millisecond)
	runtime.GC()
	s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// heapProfile returns the heap profile's cumulative allocations (sampled
// objects and bytes) by stack. It reflects the last completed GC.
func heapProfile() map[[32]uintptr][2]int64 {
	n, _ := runtime.MemProfile(nil, true)
	var recs []runtime.MemProfileRecord
	for {
		recs = make([]runtime.MemProfileRecord, n+64)
		var ok bool
		if n, ok = runtime.MemProfile(recs, true); ok {
			recs = recs[:n]
			break
		}
	}
	m := make(map[[32]uintptr][2]int64, len(recs))
	for _, r := range recs {
		v := m[r.Stack0]
		m[r.Stack0] = [2]int64{v[0] + r.AllocObjects, v[1] + r.AllocBytes}
	}
	return m
}

// targetAllocs estimates the bytes allocated by the target's code between
// two heap profiles: the sampled allocations of stacks that run through the
// target, scaled up for sampling as pprof does.
func targetAllocs(before, after map[[32]uintptr][2]int64) float64 {
	var total float64
	for stk, a := range after {
		objs, bytes := a[0]-before[stk][0], a[1]-before[stk][1]
		if objs <= 0 || bytes <= 0 || !targetStack(stk) {
			continue
		}
		avg := float64(bytes) / float64(objs)
		total += float64(bytes) / (1 - math.Exp(-avg/benchMemProfileRate))
	}
	return total
}

// targetFrames are the function-name prefixes of the target's code.
var targetFrames = []string{
	"net/http.(*conn).",
	"net/http.(*response).",
	"net/http.(*chunkWriter).",
	"github.com/loadbench/loadbench/targets.",
	"github.com/loadbench/loadbench/baseline.",
	"github.com/loadbench/loadbench/perrequest.",
	"github.com/loadbench/loadbench/internal/agent.",
}

// targetStack reports whether an allocation's stack is the target's: it
// runs through the target's code and not through the generator's.
func targetStack(stk [32]uintptr) bool {
	n := 0
	for n < len(stk) && stk[n] != 0 {
		n++
	}
	frames := runtime.CallersFrames(stk[:n])
	target := false
	for {
		f, more := frames.Next()
		switch {
		case strings.HasPrefix(f.Function, "github.com/loadbench/loadbench/internal/load."):
			return false
		case !target:
			for _, p := range targetFrames {
				if strings.HasPrefix(f.Function, p) {
					target = true
					break
				}
			}
		}
		if !more {
			return target
		}
	}
}
