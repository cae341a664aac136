package targets

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/loadbench/loadbench/internal/procid"
)

// startServe runs the test binary as `serve` (TestMain) through StartProcess.
func startServe(t *testing.T, ctx context.Context, impl string, args ...string) (*Process, string, error) {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	log := filepath.Join(t.TempDir(), "candidate.log")
	p, err := StartProcess(ctx, ProcessConfig{Executable: exe, Impl: impl, Args: args, Log: log, Name: "candidate"})
	if p != nil {
		t.Cleanup(p.Stop)
	}
	return p, log, err
}

func TestStartProcessServesAndStops(t *testing.T) {
	t.Parallel()
	p, log, err := startServe(t, context.Background(), ImplPerRequest, "--think", "1ms")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(p.URL, "http://127.0.0.1:") {
		t.Errorf("URL %q", p.URL)
	}
	if err := p.Alive(); err != nil {
		t.Fatalf("alive while running: %v", err)
	}
	if code, body := postRun(t, p.URL, `{"user_id":"proc-0001","thread_id":"thread-p","message":"hi"}`); code != 200 {
		t.Errorf("chat: %d %s", code, body)
	}
	// Its own process: its token is not ours, and both routes agree.
	g := forceGC(t, p.URL) // only served with --debug-gc
	if g.Process == procid.Token() || g.Process != metricsToken(t, p.URL) {
		t.Errorf("child token %q (metrics %q), ours %q", g.Process, metricsToken(t, p.URL), procid.Token())
	}
	pid := p.cmd.Process.Pid
	p.Stop()
	if err := p.Alive(); err == nil || !strings.Contains(err.Error(), "candidate target exited") {
		t.Errorf("alive after stop: %v", err)
	}
	if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("pid %d after stop: kill 0 = %v, want no such process", pid, err)
	}
	data, _ := os.ReadFile(log)
	for _, want := range []string{
		"args: serve --impl perrequest --addr 127.0.0.1:0 --debug-gc --think 1ms", // stderr
		"serving build perrequest", // stdout after the listening line
	} {
		if !strings.Contains(string(data), want) {
			t.Errorf("log lacks %q:\n%s", want, data)
		}
	}
	if strings.Contains(string(data), "listening on") {
		t.Errorf("log holds the listening line:\n%s", data)
	}
}

func TestStartProcessBadFlag(t *testing.T) {
	t.Parallel()
	_, _, err := startServe(t, context.Background(), ImplPerRequest, "--bogus")
	if !errors.Is(err, ErrProcessUsage) || !strings.HasPrefix(err.Error(), "start candidate target: ") || !strings.Contains(err.Error(), "bogus") {
		t.Errorf("err = %v, want a usage error quoting the child", err)
	}
}

func TestStartProcessExitsBeforeListening(t *testing.T) {
	t.Parallel()
	_, _, err := startServe(t, context.Background(), ImplBaseline, "--fail-before-listen")
	if err == nil || errors.Is(err, ErrProcessUsage) || !strings.Contains(err.Error(), "exited before listening (exit status 1): serve: failing before listening on purpose") {
		t.Errorf("err = %v, want exited before listening with the child's last line", err)
	}
}

func TestStartProcessDiesAfterStart(t *testing.T) {
	t.Parallel()
	p, log, err := startServe(t, context.Background(), ImplBaseline, "--die-after", "100ms")
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for p.Alive() == nil && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	err = p.Alive()
	if err == nil {
		t.Fatal("alive 10 s after the child died")
	}
	for _, want := range []string{"candidate target exited: exit status 1", "log: " + log, "serve: dying on purpose"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("alive = %v, lacks %q", err, want)
		}
	}
}

// A child that never prints its listening line is stopped when the context
// ends: no orphan is left.
func TestStartProcessContextEnds(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	_, _, err := startServe(t, ctx, ImplBaseline, "--silent")
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want the context's deadline", err)
	}
	if pids := silentChildren(t); len(pids) > 0 {
		t.Errorf("children %v still run after a failed start", pids)
	}
}

// silentChildren lists this process's children started with --silent.
func silentChildren(t *testing.T) []int {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Skip("no /proc")
	}
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err1 := os.ReadFile("/proc/" + e.Name() + "/stat")
		cmdline, err2 := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if err1 != nil || err2 != nil || !bytes.Contains(cmdline, []byte("--silent\x00")) {
			continue
		}
		// pid (comm) state ppid ...; comm may hold spaces, so cut at the last ')'.
		f := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
		if len(f) > 1 && f[1] == strconv.Itoa(os.Getpid()) {
			pids = append(pids, pid)
		}
	}
	return pids
}
