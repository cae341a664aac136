package cpu_test

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/loadbench/loadbench/internal/agent"
	"github.com/loadbench/loadbench/internal/cpu"
	"github.com/loadbench/loadbench/targets"
)

func readFixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// testdata/metrics.txt is the /metrics of `loadbench serve --impl
// perrequest --burn 1ms` after 20 chats.
func TestParseMetricsOfABuiltInTarget(t *testing.T) {
	t.Parallel()
	r, err := cpu.ParseMetrics(strings.NewReader(string(readFixture(t, "metrics.txt"))))
	if err != nil {
		t.Fatal(err)
	}
	want := cpu.Reading{Source: cpu.SourceMetrics, Seconds: 0.07, Start: 1.79654071679e+09}
	if r != want {
		t.Errorf("reading %+v, want %+v", r, want)
	}
}

func TestParseMetricsForms(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name, text     string
		seconds, start float64
		err            string
	}{
		{name: "untyped", text: "process_cpu_seconds_total 12.5\n", seconds: 12.5},
		{name: "gauge with start", text: "# TYPE process_cpu_seconds_total gauge\nprocess_cpu_seconds_total 3\nprocess_start_time_seconds 1.7e9\n", seconds: 3, start: 1.7e9},
		{name: "labelled", text: `process_cpu_seconds_total{pod="a"} 2` + "\n", seconds: 2},
		{name: "absent", text: "go_goroutines 7\n", err: "parse cpu metrics: no process_cpu_seconds_total"},
		{name: "empty", text: "", err: "parse cpu metrics: no process_cpu_seconds_total"},
		{name: "NaN", text: "process_cpu_seconds_total NaN\n", err: "process_cpu_seconds_total is NaN"},
		{name: "negative", text: "process_cpu_seconds_total -1\n", err: "process_cpu_seconds_total is -1"},
		{name: "bad start", text: "process_cpu_seconds_total 1\nprocess_start_time_seconds +Inf\n", err: "process_start_time_seconds is +Inf"},
		{name: "two series", text: "process_cpu_seconds_total{pod=\"a\"} 1\nprocess_cpu_seconds_total{pod=\"b\"} 2\n", err: "2 series of process_cpu_seconds_total, want one"},
		{name: "summary", text: "# TYPE process_cpu_seconds_total summary\nprocess_cpu_seconds_total_sum 1\nprocess_cpu_seconds_total_count 1\n", err: "process_cpu_seconds_total is a SUMMARY"},
		{name: "not prometheus", text: "<html>\n", err: "parse cpu metrics: "},
	} {
		r, err := cpu.ParseMetrics(strings.NewReader(c.text))
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%s: %+v, %v; want error %q", c.name, r, err, c.err)
			}
			continue
		}
		if err != nil || r.Source != cpu.SourceMetrics || r.Seconds != c.seconds || r.Start != c.start {
			t.Errorf("%s: %+v, %v; want %v s started at %v", c.name, r, err, c.seconds, c.start)
		}
	}
}

func TestParseCgroupStat(t *testing.T) {
	t.Parallel()
	// cpu.stat is this machine's root cgroup v2 file; cpu.stat.container a
	// container's, with the cpu controller's throttling lines.
	root, err := cpu.ParseCgroupStat(strings.NewReader(string(readFixture(t, "cpu.stat"))))
	if err != nil || root.Source != cpu.SourceCgroup || root.Seconds != 1910.900069 || root.Resolution != 1e-6 || root.Start != 0 {
		t.Errorf("root cpu.stat: %+v, %v", root, err)
	}
	ctr, err := cpu.ParseCgroupStat(strings.NewReader(string(readFixture(t, "cpu.stat.container"))))
	if err != nil || ctr.Seconds != 4.211873 {
		t.Errorf("container cpu.stat: %+v, %v", ctr, err)
	}
	for text, want := range map[string]string{
		"user_usec 10\nsystem_usec 2\n": "parse cpu.stat: no usage_usec",
		"":                              "parse cpu.stat: no usage_usec",
		"usage_usec -4\n":               "parse cpu.stat: usage_usec: ",
		"usage_usec 1.5\n":              "parse cpu.stat: usage_usec: ",
	} {
		if r, err := cpu.ParseCgroupStat(strings.NewReader(text)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %+v, %v; want error %q", text, r, err, want)
		}
	}
}

func TestParseProcStat(t *testing.T) {
	t.Parallel()
	// A real /proc/PID/stat with its command renamed "lb (serve) x" and
	// utime 1234, stime 56, starttime 262586 ticks.
	r, err := cpu.ParseProcStat(readFixture(t, "proc-stat"))
	want := cpu.Reading{Source: cpu.SourceProc, Seconds: 12.9, Resolution: 0.01, Start: 2625.86}
	if err != nil || r != want {
		t.Errorf("reading %+v, %v; want %+v", r, err, want)
	}
	for text, wantErr := range map[string]string{
		"":                          "parse proc stat: no command name",
		"1 (init) S 0 1 1 0 -1 2 3": "parse proc stat: 10 fields, want at least 22",
		"1 (a) S " + strings.Repeat("0 ", 10) + "x 0 0 0 0 0 0 0 0 0 0": "parse proc stat: field 14: ",
	} {
		if r, err := cpu.ParseProcStat([]byte(text)); err == nil || !strings.Contains(err.Error(), wantErr) {
			t.Errorf("%q: %+v, %v; want error %q", text, r, err, wantErr)
		}
	}
}

func TestPerChat(t *testing.T) {
	t.Parallel()
	at := func(s float64) cpu.Reading { return cpu.Reading{Source: cpu.SourceMetrics, Seconds: s, Start: 100} }
	if got, err := cpu.PerChat(at(1.5), at(2.5), 400); err != nil || got != 0.0025 {
		t.Errorf("1 s over 400 chats: %v, %v", got, err)
	}
	if got, err := cpu.PerChat(at(2), at(2), 10); err != nil || got != 0 {
		t.Errorf("no CPU: %v, %v", got, err)
	}
	unknown := at(3)
	unknown.Start = 0
	if got, err := cpu.PerChat(at(1), unknown, 2); err != nil || got != 1 {
		t.Errorf("start unknown after: %v, %v", got, err)
	}
	restarted := at(3)
	restarted.Start = 200
	cgroup := cpu.Reading{Source: cpu.SourceCgroup, Seconds: 9}
	for _, c := range []struct {
		before, after cpu.Reading
		chats         int64
		err           string
	}{
		{at(1), cgroup, 10, "cpu per chat: readings of metrics and of cgroup"},
		{at(1), restarted, 10, "cpu per chat: metrics readings of two processes (started at 100 and at 200)"},
		{at(2), at(1), 10, "cpu per chat: metrics counter went back from 2 s to 1 s"},
		{at(1), at(2), 0, "cpu per chat: 0 answered chats"},
	} {
		if got, err := cpu.PerChat(c.before, c.after, c.chats); err == nil || err.Error() != c.err {
			t.Errorf("%+v → %+v over %d: %v, %v; want %q", c.before, c.after, c.chats, got, err, c.err)
		}
	}
}

// burn spends d of this process's CPU time.
func burn(t *testing.T, d time.Duration) {
	t.Helper()
	if err := agent.Burn(context.Background(), d); err != nil {
		t.Fatal(err)
	}
}

// uptime is the system's uptime in seconds, from /proc/uptime.
func uptime(t *testing.T) float64 {
	t.Helper()
	b, err := os.ReadFile("/proc/uptime")
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(string(b))
	up, err := strconv.ParseFloat(f[0], 64)
	if err != nil {
		t.Fatal(err)
	}
	return up
}

// The real /proc/self/stat and /proc/PID/stat: the counter grows by at
// least the CPU this test burns, by no more than the cores could spend, and
// the start lies in the past.
func TestProcReadsThisProcess(t *testing.T) {
	t.Parallel()
	if runtime.GOOS != "linux" {
		t.Skip("/proc/PID/stat is Linux's")
	}
	ctx := context.Background()
	self, pid := cpu.Proc{}, cpu.Proc{PID: os.Getpid()}
	before, err := self.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	const spent = 60 * time.Millisecond
	burn(t, spent)
	after, err := pid.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	grew := after.Seconds - before.Seconds
	most := after.At.Sub(before.At).Seconds()*float64(runtime.NumCPU()) + 2*after.Resolution
	if grew < spent.Seconds()-2*after.Resolution || grew > most {
		t.Errorf("grew %.3f s over a burn of %s in %s (at most %.3f s)", grew, spent, after.At.Sub(before.At), most)
	}
	if before.Source != cpu.SourceProc || before.Start <= 0 || before.Start != after.Start || before.Start > uptime(t) {
		t.Errorf("readings %+v then %+v: want the same start, after boot and before now (uptime %.2f s)", before, after, uptime(t))
	}
	if _, err := (cpu.Proc{PID: math.MaxInt32}).Read(ctx); err == nil || !strings.HasPrefix(err.Error(), "read cpu /proc/2147483647/stat: ") {
		t.Errorf("no such process: %v", err)
	}
}

// The real cpu.stat of this process's cgroup v2 (skipped where there is
// none): it counts this process, so it grows by at least what we burn.
func TestCgroupReadsTheGroupOfThisProcess(t *testing.T) {
	t.Parallel()
	path, err := cpu.CgroupStatPath(0)
	if err != nil {
		t.Skipf("no cgroup v2 here: %v", err)
	}
	if p, err := cpu.CgroupStatPath(os.Getpid()); err != nil || p != path {
		t.Errorf("by pid: %q, %v; by self %q", p, err, path)
	}
	ctx := context.Background()
	before, err := cpu.Cgroup{Path: path}.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	const spent = 60 * time.Millisecond
	burn(t, spent)
	after, err := cpu.Cgroup{Path: path}.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if grew := after.Seconds - before.Seconds; before.Seconds <= 0 || grew < 0.9*spent.Seconds() {
		t.Errorf("%s: %.6f s then %.6f s across a burn of %s", path, before.Seconds, after.Seconds, spent)
	}
	if _, err := (cpu.Cgroup{Path: filepath.Join(t.TempDir(), "cpu.stat")}).Read(ctx); err == nil || !strings.HasPrefix(err.Error(), "read cpu ") {
		t.Errorf("missing file: %v", err)
	}
}

// A built-in target's /metrics: process_cpu_seconds_total grows while it
// answers chats. The target runs in this process, so /proc/self/stat (which
// the process collector reads too) agrees with it.
func TestMetricsOfABuiltInTargetGrowUnderLoad(t *testing.T) {
	t.Parallel()
	const (
		chats = 40
		burnt = time.Millisecond
	)
	st, err := targets.Start(targets.ImplPerRequest, targets.WithThink(0), targets.WithTool(0), targets.WithBurn(burnt))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	m := cpu.Metrics{URL: st.URL + targets.RouteMetrics, Client: &http.Client{Timeout: 10 * time.Second}}
	before, err := m.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for i := range chats {
		resp, err := m.Client.Post(st.URL+targets.RouteRun, "application/json",
			strings.NewReader(fmt.Sprintf(`{"user_id":"cpu-%04d","thread_id":"thread-c"}`, i)))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("chat %d: status %d", i, resp.StatusCode)
		}
	}
	procBefore, err := cpu.Proc{}.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	after, err := m.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	procAfter, err := cpu.Proc{}.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	perChat, err := cpu.PerChat(before, after, chats)
	if err != nil {
		t.Fatal(err)
	}
	// Each chat burns 1 ms; the collector counts in 10 ms steps.
	if after.Seconds-before.Seconds < chats*burnt.Seconds()-0.02 || perChat > 0.1 {
		t.Errorf("process_cpu_seconds_total %v then %v over %d chats burning %s each: %.2f ms per chat",
			before.Seconds, after.Seconds, chats, burnt, perChat*1e3)
	}
	if before.Start == 0 || before.Start != after.Start {
		t.Errorf("process_start_time_seconds %v then %v", before.Start, after.Start)
	}
	// The same counter in the same unit: /metrics lies between the two
	// readings of /proc around it (other tests of this process run meanwhile).
	if after.Seconds < procBefore.Seconds-1e-9 || after.Seconds > procAfter.Seconds+1e-9 {
		t.Errorf("/metrics said %v s between /proc/self/stat readings of %v s and %v s", after.Seconds, procBefore.Seconds, procAfter.Seconds)
	}
}

func TestMetricsReadErrors(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/metrics":
			if !strings.HasPrefix(r.Header.Get("Accept"), "text/plain") {
				t.Errorf("accept %q", r.Header.Get("Accept"))
			}
			fmt.Fprintln(w, "process_cpu_seconds_total 4.25")
		case "/other":
			fmt.Fprintln(w, "go_goroutines 3")
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	ctx := context.Background()
	r, err := cpu.Metrics{URL: srv.URL + "/metrics"}.Read(ctx)
	if err != nil || r.Seconds != 4.25 || r.At.IsZero() {
		t.Errorf("reading %+v, %v", r, err)
	}
	for path, want := range map[string]string{
		"/missing": "read cpu " + srv.URL + "/missing: status 404",
		"/other":   "read cpu " + srv.URL + "/other: parse cpu metrics: no process_cpu_seconds_total",
	} {
		if _, err := (cpu.Metrics{URL: srv.URL + path}).Read(ctx); err == nil || err.Error() != want {
			t.Errorf("%s: %v, want %q", path, err, want)
		}
	}
	if _, err := (cpu.Metrics{URL: "http://127.0.0.1:1/metrics"}).Read(ctx); err == nil || !strings.HasPrefix(err.Error(), "read cpu http://127.0.0.1:1/metrics: ") {
		t.Errorf("refused: %v", err)
	}
}
