package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/loadbench/loadbench/internal/dist"
	"github.com/loadbench/loadbench/results"
	"github.com/loadbench/loadbench/targets"
)

// localWorkers makes the test binary act as loadbench in the worker
// processes --generators local:N starts.
func localWorkers(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("starts worker processes")
	}
	t.Setenv(envAsMain, "1")
}

// workerPIDs lists this test process's children that are workers.
func workerPIDs(t *testing.T) []int {
	var pids []int
	for _, pid := range childPIDs(t) {
		b, _ := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "cmdline"))
		if strings.Contains(string(b), "worker\x00--coordinator") {
			pids = append(pids, pid)
		}
	}
	return pids
}

func segmentRequests(t *testing.T, dir string) map[string]int64 {
	t.Helper()
	s, err := results.ReadSegment(dir)
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]int64{}
	for name, p := range s.Protocols {
		m[name] = p.Requests
	}
	return m
}

// attack --generators local:N sends exactly the chats one process sends:
// the shards stripe the one schedule (the same prefix, the same seed), and
// split a request budget exactly. Each shard's raw segment is kept.
func TestAttackOnLocalGeneratorsSendsThePlan(t *testing.T) {
	localWorkers(t)
	url := targetServer(t, targets.ImplPerRequest)
	attack := func(extra ...string) (string, map[string]int64) {
		out := filepath.Join(t.TempDir(), "run")
		args := append([]string{"attack", url, "--quiet", "--out", out, "--duration", "1s", "--http-rate", "150", "--ws-rate", "150", "--users", "8"}, extra...)
		code, stdout, stderr := runCmd(context.Background(), t, args...)
		if code != exitOK {
			t.Fatalf("%v: exit %d\n%s\n%s", extra, code, stdout, stderr)
		}
		return out, segmentRequests(t, out)
	}
	_, single := attack()
	for _, n := range []string{"1", "2", "4"} {
		out, got := attack("--generators", "local:"+n)
		if got[results.HTTP] != single[results.HTTP] || got[results.WS] != single[results.WS] {
			t.Fatalf("local:%s sent %v, one process %v", n, got, single)
		}
		m, err := results.ReadSegment(out)
		if err != nil {
			t.Fatal(err)
		}
		k, _ := strconv.Atoi(n)
		if len(m.Manifest.Generators) != k {
			t.Fatalf("local:%s: %d generators in the manifest", n, len(m.Manifest.Generators))
		}
		t.Logf("local:%s: start spread %s", n, m.Manifest.StartSpread)
		if m.Manifest.StartSpread > 100*time.Millisecond {
			t.Errorf("local:%s: start spread %s", n, m.Manifest.StartSpread)
		}
		for i := range k {
			if _, err := results.ReadSegment(results.ShardDir(out, i)); err != nil {
				t.Fatalf("local:%s shard %d: %v", n, i, err)
			}
		}
		_, got = attack("--generators", "local:"+n, "--max-requests", "101", "--duration", "3s")
		if got[results.HTTP]+got[results.WS] != 101 {
			t.Fatalf("local:%s --max-requests 101 sent %v", n, got)
		}
	}
	if pids := workerPIDs(t); len(pids) != 0 {
		t.Fatalf("workers left: %v", pids)
	}
}

// One worker killed mid-round ends the attack with exit 3 within 10 s,
// naming its shard, and leaves no worker behind.
func TestKilledWorkerEndsTheRun(t *testing.T) {
	localWorkers(t)
	url := targetServer(t, targets.ImplPerRequest)
	killed := make(chan time.Time, 1)
	go func() {
		deadline := time.Now().Add(20 * time.Second)
		for time.Now().Before(deadline) {
			if pids := workerPIDs(t); len(pids) == 2 {
				time.Sleep(1500 * time.Millisecond) // into the segment
				syscall.Kill(pids[1], syscall.SIGKILL)
				killed <- time.Now()
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
		close(killed)
	}()
	code, _, stderr := runCmd(context.Background(), t, "attack", url, "--quiet", "--out", filepath.Join(t.TempDir(), "run"),
		"--duration", "20s", "--http-rate", "50", "--ws-rate", "50", "--users", "4", "--generators", "local:2")
	end := time.Now()
	at, ok := <-killed
	if !ok {
		t.Fatal("no worker to kill")
	}
	if code != exitRunError || !strings.Contains(stderr, "shard ") {
		t.Fatalf("exit %d, want 3 naming the shard:\n%s", code, stderr)
	}
	t.Logf("ended %s after the kill: %s", end.Sub(at), strings.TrimSpace(stderr))
	if d := end.Sub(at); d > 10*time.Second {
		t.Fatalf("ended %s after the kill", d)
	}
	if pids := workerPIDs(t); len(pids) != 0 {
		t.Fatalf("workers left: %v", pids)
	}
}

// compare --generators local:2, A/A: the same verdict fields as a single
// process, each round's merged segment with its shards beside it.
func TestCompareOnLocalGenerators(t *testing.T) {
	localWorkers(t)
	dir := filepath.Join(t.TempDir(), "run")
	code, out, errOut := runCmd(context.Background(), t, shortCompare(dir, "--baseline-impl", "perrequest", "--generators", "local:2")...)
	if code != exitOK && code != exitInconclusive {
		t.Fatalf("exit %d, want pass (0) or inconclusive (4)\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	sum := readSummary(t, dir)
	if sum.Rounds != 5 || len(sum.Latency) != 6 || sum.Verdict == results.Fail {
		t.Fatalf("rounds %d, %d latency verdicts, verdict %s", sum.Rounds, len(sum.Latency), sum.Verdict)
	}
	for _, build := range []string{results.Baseline, results.Candidate} {
		for round := 1; round <= 5; round++ {
			seg := results.SegmentDir(dir, build, round)
			m, err := results.ReadSegment(seg)
			if err != nil {
				t.Fatal(err)
			}
			if len(m.Manifest.Generators) != 2 || m.Memory == nil {
				t.Fatalf("%s round %d: generators %v, memory %v", build, round, m.Manifest.Generators, m.Memory)
			}
			for _, g := range m.Manifest.Generators { // the skew of each shard, measured every round
				if g.StartSkew <= 0 || g.ClockDelay <= 0 {
					t.Fatalf("%s round %d: shard %d start skew %s, clock delay %s", build, round, g.Index, g.StartSkew, g.ClockDelay)
				}
			}
			var n int64
			for i := range 2 {
				s, err := results.ReadSegment(results.ShardDir(seg, i))
				if err != nil {
					t.Fatal(err)
				}
				if s.Manifest.Build != build || s.Manifest.Round != round {
					t.Fatalf("shard %d of %s round %d placed as %s %d", i, build, round, s.Manifest.Build, s.Manifest.Round)
				}
				n += s.Protocols[results.HTTP].Requests
			}
			if n != m.Protocols[results.HTTP].Requests {
				t.Fatalf("%s round %d: shards sent %d, merged %d", build, round, n, m.Protocols[results.HTTP].Requests)
			}
		}
	}
	if pids := workerPIDs(t); len(pids) != 0 {
		t.Fatalf("workers left: %v", pids)
	}
}

// --generators errors are usage errors; a header value that would carry a
// secret to the workers is refused without showing it.
func TestGeneratorsUsage(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"attack", "http://127.0.0.1:9", "--generators", "k8s:2", "--image", "lb"}, "--coordinator-address"},
		{[]string{"attack", "http://127.0.0.1:9", "--generators", "local:0"}, "between 1 and"},
		{[]string{"attack", "http://127.0.0.1:9", "--generators", "remote:2"}, "local:N or k8s:N"},
		{[]string{"attack", "http://127.0.0.1:9", "--generators", "local:2", "--header", "Authorization: Bearer s3cr3t"}, "${VAR}"},
		{[]string{"compare", "--generators", "k8s:2"}, "--baseline and --candidate"},
		{[]string{"attack", "http://127.0.0.1:9", "--generators", "local:3", "--users", "2"}, "at least one user each"},
		{[]string{"attack", "http://127.0.0.1:9", "--generators", "local:3", "--max-requests", "2"}, "at least one each"},
		{[]string{"compare", "--generators", "local:3", "--users", "2"}, "at least one user each"},
		{[]string{"compare", "--generators", "local:2", "--continue", "x"}, "--continue"},
		{[]string{"worker"}, "--coordinator"},
	} {
		code, _, stderr := runCmd(context.Background(), t, c.args...)
		if code != exitUsage || !strings.Contains(stderr, c.want) || strings.Contains(stderr, "s3cr3t") {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", c.args, code, stderr, c.want)
		}
	}
}

// loadbench worker of another build is refused by the coordinator (exit 2,
// both versions named).
func TestWorkerOfAnotherBuildRefused(t *testing.T) {
	t.Parallel()
	c, err := dist.Listen("127.0.0.1:0", 1, dist.Options{Version: "v0.0.1-other"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	go c.Accept(ctx)
	code, _, stderr := runCmd(ctx, t, "worker", "--coordinator", c.Addr(), "--index", "0")
	if code != exitUsage || !strings.Contains(stderr, "refused") || !strings.Contains(stderr, "v0.0.1-other") {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
}

// childrenOf lists the processes whose parent is pid.
func childrenOf(pid int) []int {
	entries, _ := os.ReadDir("/proc")
	var out []int
	for _, e := range entries {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		data, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		f := strings.Fields(string(data[strings.LastIndexByte(string(data), ')')+1:]))
		if len(f) > 1 && f[1] == strconv.Itoa(pid) {
			out = append(out, p)
		}
	}
	return out
}

// alive reports whether pid is a live process (not gone, not a zombie).
func alive(pid int) bool {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	f := strings.Fields(string(data[strings.LastIndexByte(string(data), ')')+1:]))
	return len(f) > 0 && f[0] != "Z"
}

// A coordinator killed outright (SIGKILL: no chance to clean up) leaves no
// worker behind: each dies with its parent.
func TestKilledCoordinatorLeavesNoWorker(t *testing.T) {
	localWorkers(t)
	url := targetServer(t, targets.ImplPerRequest)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "attack", url, "--quiet", "--out", filepath.Join(t.TempDir(), "run"),
		"--duration", "30s", "--http-rate", "20", "--ws-rate", "20", "--users", "4", "--generators", "local:2")
	cmd.Env = append(os.Environ(), envAsMain+"=1")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var workers []int
	for deadline := time.Now().Add(20 * time.Second); len(workers) < 2 && time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		workers = childrenOf(cmd.Process.Pid)
	}
	if len(workers) < 2 {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("workers %v", workers)
	}
	time.Sleep(time.Second) // the segment is running
	cmd.Process.Kill()
	cmd.Wait()
	deadline := time.Now().Add(10 * time.Second)
	for _, pid := range workers {
		for alive(pid) && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
		}
		if alive(pid) {
			syscall.Kill(pid, syscall.SIGKILL)
			t.Errorf("worker %d outlived its killed coordinator", pid)
		}
	}
}
