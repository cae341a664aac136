package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/loadbench/loadbench"
	"github.com/loadbench/loadbench/internal/agent"
)

func TestServeBadImplIsUsage(t *testing.T) {
	t.Parallel()
	var out, errb bytes.Buffer
	code := run(context.Background(), []string{"serve", "--impl", "nope"}, streams{Out: &out, Err: &errb})
	if code != exitUsage || !strings.Contains(errb.String(), "--impl must be baseline, perrequest or partial") {
		t.Errorf("code %d, stderr %q", code, errb.String())
	}
	if code := run(context.Background(), []string{"serve", "--impl", "baseline", "--slowdown", "0"}, streams{Out: &out, Err: &errb}); code != exitUsage {
		t.Errorf("slowdown 0: code %d", code)
	}
}

func TestServeListensAndShutsDown(t *testing.T) {
	t.Parallel()
	auditLog := filepath.Join(t.TempDir(), "audit.jsonl")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	var errb bytes.Buffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--impl", "perrequest", "--addr", "127.0.0.1:0", "--debug-gc", "--think", "0s", "--audit-log", auditLog},
			streams{Out: pw, Err: &errb})
		pw.Close()
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	go io.Copy(io.Discard, pr)
	if !strings.HasPrefix(line, "listening on http://127.0.0.1:") {
		t.Fatalf("line %q", line)
	}
	base := strings.TrimSpace(strings.TrimPrefix(line, "listening on "))
	resp, err := http.Get(base + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("healthz %d", resp.StatusCode)
	}
	resp, err = http.Post(base+"/api/agents/run", "application/json", strings.NewReader(`{"user_id":"user-0001","thread_id":"thread-1"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("run %d", resp.StatusCode)
	}
	stopServe(t, cancel, done, &errb)
	b, err := os.ReadFile(auditLog)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"event":"factory_created"`) || !strings.Contains(string(b), `"event":"factory_released"`) {
		t.Errorf("audit log:\n%s", b)
	}
}

func TestServeBadFaultAndModelFlagsAreUsage(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{
		{"--profile", "staging"},
		{"--fail-rate", "1.5"},
		{"--fail-rate", "-0.1"},
		{"--fail-rate", "NaN"},
		{"--ws-fail-rate", "1.5"},
		{"--ws-fail-rate", "-0.1"},
		{"--delay", "-1s"},
		{"--burn", "-1ms"},
		{"--leak-per-user", "-1"},
		{"--factory-cache", "-1"},
		{"--configure-window", "-1ms"},
	} {
		var out, errb bytes.Buffer
		code := run(context.Background(), append([]string{"serve", "--impl", "partial", "--addr", "127.0.0.1:0"}, args...), streams{Out: &out, Err: &errb})
		if code != exitUsage || out.Len() != 0 || strings.Count(errb.String(), "\n") != 1 {
			t.Errorf("%v: code %d, stdout %q, stderr %q", args, code, out.String(), errb.String())
		}
	}
}

func TestCompareProfileAppliesLoadShape(t *testing.T) {
	t.Parallel()
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"compare", "--profile", "nope"}, streams{Out: &out, Err: &errb}); code != exitUsage {
		t.Errorf("bad profile: code %d %q", code, errb.String())
	}
	cmd := newCompareCmd(streams{Out: &out, Err: &errb})
	if err := cmd.Flags().Parse([]string{"--ws-rate", "5"}); err != nil {
		t.Fatal(err)
	}
	o := loadbench.CompareOptions{WSRate: loadbench.PerSecond(5)}
	applyProfile(cmd.Flags(), agent.ProfileProduction, &o)
	want := agent.ProfileProduction.Load()
	if o.Users != want.Users || o.HTTPRate != loadbench.PerSecond(want.HTTPRate) || o.WSRate != loadbench.PerSecond(5) ||
		o.Timeout != want.Timeout || o.RoundDuration != want.RoundDuration || o.MaxDuration != want.MaxDuration {
		t.Errorf("options %+v, want the production shape with --ws-rate 5", o)
	}
}

// Bad serve flags get one line that says what is wrong.
func TestServeUsageErrorsSayWhatIsWrong(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--burn", "-2ms"}, "loadbench: serve: --burn must not be negative, got -2ms\n"},
		{[]string{"--pprof", "0.0.0.0:6060"}, "loadbench: serve: --pprof must be a loopback address (127.0.0.1:PORT or [::1]:PORT), got \"0.0.0.0:6060\"\n"},
		{[]string{"--pprof", "6060"}, "loadbench: serve: --pprof must be a loopback address (127.0.0.1:PORT or [::1]:PORT), got \"6060\"\n"},
	} {
		var out, errb bytes.Buffer
		code := run(context.Background(), append([]string{"serve", "--impl", "baseline"}, c.args...), streams{Out: &out, Err: &errb})
		if code != exitUsage || errb.String() != c.want {
			t.Errorf("%v: code %d, stderr %q", c.args, code, errb.String())
		}
	}
}

// serve --burn reaches the chat's tool step: with no waits configured, the
// tool_completed event of a chat takes at least the burn (wall time is at
// least the CPU time burned).
func TestServeBurnReachesTheChat(t *testing.T) {
	t.Parallel()
	const burn = 30 * time.Millisecond
	base, _, stop := startServe(t, "--impl", "baseline", "--think", "0s", "--tool", "0s", "--burn", burn.String())
	resp, err := http.Post(base+"/api/agents/run", "application/json", strings.NewReader(`{"user_id":"user-0001","thread_id":"thread-1"}`))
	if err != nil {
		t.Fatal(err)
	}
	var body struct {
		Events []struct {
			Type string `json:"type"`
			Data struct {
				ExecutionTimeMS float64 `json:"execution_time_ms"`
			} `json:"data"`
		} `json:"events"`
	}
	err = json.NewDecoder(resp.Body).Decode(&body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("run: %d, %v", resp.StatusCode, err)
	}
	tool := -1.0
	for _, ev := range body.Events {
		if ev.Type == agent.EventToolCompleted {
			tool = ev.Data.ExecutionTimeMS
		}
	}
	if tool < float64(burn.Milliseconds()) {
		t.Errorf("tool step took %v ms under --burn %s", tool, burn)
	}
	stop()
}

// startServe runs `serve --addr 127.0.0.1:0` with args in a goroutine,
// waits for its listening line, and returns its base URL, its stderr and
// the function that stops it and requires a clean exit.
func startServe(t *testing.T, args ...string) (base string, errb *syncBuffer, stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	errb = &syncBuffer{}
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, append([]string{"serve", "--addr", "127.0.0.1:0"}, args...), streams{Out: pw, Err: errb})
		pw.Close()
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		cancel()
		t.Fatalf("serve %v: %v: %s", args, err, errb.String())
	}
	go io.Copy(io.Discard, pr)
	return strings.TrimSpace(strings.TrimPrefix(line, "listening on ")), errb, func() { stopServe(t, cancel, done, errb) }
}

// stopServe cancels a `serve` started in a goroutine that sends its exit
// code on done, and requires a clean exit within 15 s.
func stopServe(t *testing.T, cancel func(), done <-chan int, errb fmt.Stringer) {
	t.Helper()
	cancel()
	select {
	case code := <-done:
		if code != exitOK {
			t.Errorf("exit %d: %s", code, errb.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatal("serve did not stop")
	}
}

// serve --pprof serves the profiles on their own listener, with mutex
// profiling on, while the chat listener does not serve them.
func TestServePprofServesProfilesApart(t *testing.T) {
	t.Parallel()
	base, errb, stop := startServe(t, "--impl", "perrequest", "--pprof", "127.0.0.1:0")
	_, at, ok := strings.Cut(errb.String(), "pprof on ")
	if !ok {
		t.Fatalf("no pprof address on stderr: %q", errb.String())
	}
	at = strings.TrimSpace(at)
	get := func(url string) (int, string) {
		resp, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := get(at + "mutex?debug=1"); code != http.StatusOK || !strings.Contains(body, "sampling period=10") {
		t.Errorf("mutex profile: %d %.200q", code, body)
	}
	if code, _ := get(base + "/debug/pprof/"); code == http.StatusOK {
		t.Errorf("the chat listener serves pprof")
	}
	stop()
}
