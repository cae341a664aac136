package load

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/loadbench/loadbench/results"
)

// TestOutOfDescriptorsIsTheGenerators runs an attack in a child process
// whose descriptor limit is far below the chats it keeps in flight against
// a slow (but healthy) target: the dials that fail with EMFILE are the
// generator's ("generator: no file descriptor"), never charged to the
// target, and the chats that got a connection are answered.
func TestOutOfDescriptorsIsTheGenerators(t *testing.T) {
	if url := os.Getenv("LOADBENCH_TEST_EMFILE_URL"); url != "" {
		emfileChild(url)
		return
	}
	f := newFake()
	inner := f.handler()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(300 * time.Millisecond)
		inner.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run", "^TestOutOfDescriptorsIsTheGenerators$")
	cmd.Env = append(os.Environ(), "LOADBENCH_TEST_EMFILE_URL="+srv.URL)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	t.Logf("child:\n%s", out)
}

func emfileChild(url string) {
	fail := func(format string, args ...any) {
		fmt.Fprintf(os.Stderr, format+"\n", args...)
		os.Exit(1)
	}
	a, err := NewAttacker(url, WithHTTPRate(200), WithWSRate(0), WithDuration(300*time.Millisecond), WithUsers(5), WithTimeout(5*time.Second))
	if err != nil {
		fail("NewAttacker: %v", err)
	}
	lim := syscall.Rlimit{Cur: 32, Max: 32}
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		fail("setrlimit: %v", err)
	}
	seg, err := a.Attack(context.Background())
	if err != nil {
		fail("Attack: %v", err)
	}
	p := seg.Protocols[results.HTTP]
	fmt.Printf("requests %d success %d errors %v\n", p.Requests, p.Success, p.Errors)
	switch {
	case p.Errors[results.ErrNoFileDescriptor] == 0:
		fail("no %q class: errors %v", results.ErrNoFileDescriptor, p.Errors)
	case p.TargetErrorCount() != 0 || p.TargetErrorRate() != 0:
		fail("target charged: errors %v", p.Errors)
	case p.Success == 0 || p.Latency.Count() != p.Success:
		fail("success %d latency %d", p.Success, p.Latency.Count())
	case p.GeneratorErrorCount()+p.Success != p.Requests:
		fail("generator %d + success %d != requests %d", p.GeneratorErrorCount(), p.Success, p.Requests)
	}
	os.Exit(0)
}
