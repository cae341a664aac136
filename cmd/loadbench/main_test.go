package main

import (
	"bytes"
	"context"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/loadbench/loadbench/internal/report"
)

// envAsMain makes the test binary behave as the loadbench command itself, so
// that commands which start loadbench as a child process (compare starts
// `loadbench serve` from its own executable) work under `go test`.
const envAsMain = "LOADBENCH_AS_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(envAsMain) == "1" {
		main() // exits
	}
	// A CI job's step summary is for its own report, not for the reports of
	// the compares these tests run.
	os.Unsetenv(report.StepSummaryEnv)
	os.Exit(m.Run())
}

// syncBuffer is a bytes.Buffer safe for a command writing while a test reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// runCmd runs loadbench with args and returns its exit code, stdout and stderr.
// The test binary is the executable compare starts as the built-in targets
// (it acts as loadbench when envAsMain is set, see builtinTargets).
func runCmd(ctx context.Context, t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	return runWith(ctx, t, os.Executable, args...)
}

// runWith is runCmd with the executable injected by exe.
func runWith(ctx context.Context, t *testing.T, exe func() (string, error), args ...string) (int, string, string) {
	t.Helper()
	var out, errb syncBuffer
	s := streams{
		In: strings.NewReader(""), Out: &out, Err: &errb,
		Args: append([]string{"loadbench"}, args...), Executable: exe,
	}
	code := run(ctx, args, s)
	return code, out.String(), errb.String()
}

// childPIDs lists the processes whose parent is this test process.
func childPIDs(t *testing.T) []int {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Skip("no /proc")
	}
	me := os.Getpid()
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		data, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...; comm may hold spaces, so cut at the last ')'.
		rest := string(data[bytes.LastIndexByte(data, ')')+1:])
		f := strings.Fields(rest)
		if len(f) > 1 {
			if ppid, _ := strconv.Atoi(f[1]); ppid == me {
				pids = append(pids, pid)
			}
		}
	}
	return pids
}
