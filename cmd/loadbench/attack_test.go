package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/loadbench/loadbench/results"
	"github.com/loadbench/loadbench/targets"
)

// attackCLI runs `loadbench attack args...` and returns the exit code,
// stdout and stderr.
func attackCLI(ctx context.Context, args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := run(ctx, append([]string{"attack"}, args...), streams{In: strings.NewReader(""), Out: &out, Err: &errb})
	return code, out.String(), errb.String()
}

func targetServer(t *testing.T, impl string, opts ...targets.Option) string {
	t.Helper()
	s, err := targets.New(impl, opts...)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s)
	t.Cleanup(func() { srv.Close(); s.Close() })
	return srv.URL
}

func TestAttackBadInput(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"no url", nil, "attack: want one BASE_URL argument, got 0"},
		{"two urls", []string{"http://127.0.0.1:1", "http://127.0.0.1:2"}, "got 2"},
		{"malformed url", []string{"http//127.0.0.1:8080"}, "attack: malformed target url"},
		{"ws url", []string{"ws://127.0.0.1:8080"}, "attack: malformed target url"},
		{"zero duration", []string{"http://127.0.0.1:1", "--duration", "0s"}, "attack: --duration must be positive"},
		{"negative duration", []string{"http://127.0.0.1:1", "--duration=-1s"}, "attack: --duration must be positive"},
		{"negative rate", []string{"http://127.0.0.1:1", "--http-rate=-5"}, "attack: --http-rate must be a non-negative number or max"},
		{"bad rate", []string{"http://127.0.0.1:1", "--ws-rate", "fast"}, "attack: --ws-rate must be"},
		{"unknown flag", []string{"http://127.0.0.1:1", "--bogus"}, "unknown flag: --bogus"},
		{"bad error rate", []string{"http://127.0.0.1:1", "--max-error-rate", "2"}, "attack: --max-error-rate"},
		{"zero users", []string{"http://127.0.0.1:1", "--users", "0"}, "attack: users must be"},
		{"empty http path", []string{"http://127.0.0.1:1", "--http-path", ""}, `attack: http path must start with / and hold no spaces, ? or #, got ""`},
		{"empty ws path", []string{"http://127.0.0.1:1", "--ws-path="}, `attack: ws path must start with / and hold no spaces, ? or #, got ""`},
		{"empty prefix", []string{"http://127.0.0.1:1", "--user-prefix", ""}, `attack: user prefix "" must be non-empty`},
		{"negative ws ping", []string{"http://127.0.0.1:1", "--ws-ping=-1s"}, "attack: --ws-ping must not be negative, got -1s"},
		{"zero workers", []string{"http://127.0.0.1:1", "--workers", "0"}, "attack: --workers must be positive"},
		{"zero in flight", []string{"http://127.0.0.1:1", "--max-in-flight", "0"}, "attack: --max-in-flight must be positive, got 0"},
		{"negative send lag", []string{"http://127.0.0.1:1", "--max-send-lag=-1ms"}, "attack: --max-send-lag must not be negative"},
		{"negative event gap", []string{"http://127.0.0.1:1", "--max-event-gap=-5ms"}, "attack: --max-event-gap must not be negative"},
		{"unknown arrivals", []string{"http://127.0.0.1:1", "--arrivals", "uniform"}, "attack: --arrivals must be poisson or constant, got \"uniform\""},
		{"workers over in flight", []string{"http://127.0.0.1:1", "--http-rate", "max", "--workers", "8", "--max-in-flight", "4"}, "attack: 8 workers exceed the in-flight limit of 4"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "run")
			code, stdout, stderr := attackCLI(context.Background(), append(c.args, "--out", out)...)
			if code != exitUsage {
				t.Errorf("exit %d, want 2", code)
			}
			if !strings.Contains(stderr, c.want) || strings.Count(stderr, "\n") != 1 || !strings.HasPrefix(stderr, "loadbench: ") {
				t.Errorf("stderr = %q, want one line with %q", stderr, c.want)
			}
			if stdout != "" {
				t.Errorf("stdout = %q", stdout)
			}
			if _, err := os.Stat(out); !os.IsNotExist(err) {
				t.Errorf("bad usage wrote %s", out)
			}
		})
	}
}

func TestAttackUnreachableExits3(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	out := filepath.Join(t.TempDir(), "run")
	start := time.Now()
	code, _, stderr := attackCLI(context.Background(), "http://"+addr, "--out", out)
	if code != exitRunError || !strings.Contains(stderr, addr) || !strings.Contains(stderr, "unreachable") {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
	if d := time.Since(start); d > 6*time.Second {
		t.Errorf("took %s", d)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("unreachable target: %s written", out)
	}
}

func TestAttackCleanTargetExits0AndWritesResults(t *testing.T) {
	t.Parallel()
	url := targetServer(t, targets.ImplPerRequest)
	out := filepath.Join(t.TempDir(), "run")
	code, stdout, stderr := attackCLI(context.Background(), url, "--http-rate", "30", "--ws-rate", "30", "--users", "5", "--duration", "1s", "--arrivals", "constant", "--out", out)
	if code != exitOK {
		t.Fatalf("exit %d, stderr %q\n%s", code, stderr, stdout)
	}
	for _, want := range []string{"HTTP", "WS", "Latencies", "Success", "100.00%", "Isolation", "Results in " + out} {
		if !strings.Contains(stdout, want) {
			t.Errorf("summary lacks %q:\n%s", want, stdout)
		}
	}
	if strings.Contains(stdout, "\r") {
		t.Errorf("progress line written to a non-terminal")
	}
	seg, err := results.ReadSegment(out)
	if err != nil {
		t.Fatal(err)
	}
	if seg.Manifest.Kind != "attack" || seg.Manifest.Flags["http-rate"] != "30" || seg.Manifest.Flags["duration"] != "1s" {
		t.Errorf("manifest = %+v", seg.Manifest)
	}
	if seg.Protocols[results.HTTP].Requests != 30 || seg.Protocols[results.WS].Requests != 30 {
		t.Errorf("requests http %d ws %d", seg.Protocols[results.HTTP].Requests, seg.Protocols[results.WS].Requests)
	}
	if fi, err := os.Stat(filepath.Join(out, results.VegetaFile)); err != nil || fi.Size() == 0 {
		t.Errorf("vegeta file: %v", err)
	}
}

func TestAttackJSON(t *testing.T) {
	t.Parallel()
	url := targetServer(t, targets.ImplPerRequest)
	code, stdout, stderr := attackCLI(context.Background(), url, "--http-rate", "20", "--ws-rate", "0", "--users", "2",
		"--duration", "500ms", "--json", "--out", filepath.Join(t.TempDir(), "run"))
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var r struct {
		Protocols map[string]struct {
			Requests  int64              `json:"requests"`
			Success   float64            `json:"success"`
			LatencyMs map[string]float64 `json:"latency_ms"`
		} `json:"protocols"`
		Isolation map[string]int64 `json:"isolation"`
	}
	if err := json.Unmarshal([]byte(stdout), &r); err != nil {
		t.Fatalf("stdout is not one JSON object: %v\n%s", err, stdout)
	}
	h, ok := r.Protocols["http"]
	if !ok || h.Requests != 10 || h.Success != 1 || h.LatencyMs["p99"] <= 0 || len(r.Protocols) != 1 {
		t.Errorf("json = %s", stdout)
	}
	if _, ok := r.Isolation["distinct_factory_ids"]; !ok {
		t.Errorf("json isolation = %v", r.Isolation)
	}
}

func TestAttackLegacyBuildExits1OnViolations(t *testing.T) {
	t.Parallel()
	// A configure window longer than the gap between chats (12.5 ms at 80
	// chats/s over both protocols) makes every chat overlap another's.
	url := targetServer(t, targets.ImplBaseline, targets.WithFixedConfigureWindow(30*time.Millisecond))
	code, stdout, stderr := attackCLI(context.Background(), url, "--http-rate", "40", "--ws-rate", "40", "--users", "8",
		"--duration", "1s", "--out", filepath.Join(t.TempDir(), "run"))
	// The legacy build's misrouted chats are both errors (owners whose events
	// went elsewhere) and isolation violations (foreign events delivered).
	if code != exitFail || !strings.Contains(stdout, "foreign") && !strings.Contains(stdout, "http 504") {
		t.Errorf("exit %d, stderr %q\n%s", code, stderr, stdout)
	}
}

func TestAttackErrorRate(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, `{"error":"down"}`, http.StatusServiceUnavailable)
	}))
	t.Cleanup(srv.Close)
	args := []string{srv.URL, "--http-rate", "20", "--ws-rate", "0", "--duration", "500ms"}
	code, stdout, stderr := attackCLI(context.Background(), append(args, "--out", filepath.Join(t.TempDir(), "a"))...)
	if code != exitFail || !strings.Contains(stderr, "error rate 100.00%") || !strings.Contains(stdout, "http 503") {
		t.Errorf("exit %d, stderr %q\n%s", code, stderr, stdout)
	}
	code, _, stderr = attackCLI(context.Background(), append(args, "--max-error-rate", "1", "--out", filepath.Join(t.TempDir(), "b"))...)
	if code != exitOK {
		t.Errorf("with --max-error-rate 1: exit %d, stderr %q", code, stderr)
	}
}

func TestAttackInterruptedWritesPartialResults(t *testing.T) {
	t.Parallel()
	url := targetServer(t, targets.ImplPerRequest)
	out := filepath.Join(t.TempDir(), "run")
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(time.Second, cancel)
	start := time.Now()
	code, stdout, stderr := attackCLI(ctx, url, "--http-rate", "20", "--ws-rate", "20", "--users", "4", "--duration", "1m", "--out", out)
	if code != exitRunError || !strings.Contains(stderr, "interrupted") || !strings.Contains(stdout, "PARTIAL") {
		t.Errorf("exit %d, stderr %q\n%s", code, stderr, stdout)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("took %s after a cancel at 1s", d)
	}
	seg, err := results.ReadSegment(out)
	if err != nil || !seg.Manifest.Partial || seg.Protocols[results.HTTP].Requests == 0 {
		t.Errorf("partial results: %v %+v", err, seg)
	}
}
