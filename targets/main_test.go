package targets

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"testing"
	"time"
)

// envServe makes the test binary act as a minimal `loadbench serve` (see
// serveMain), so that StartProcess is tested on a real child process
// serving a real Server without building cmd/loadbench. TestMain sets it
// for the children the tests start.
const envServe = "LOADBENCH_TARGETS_TEST_SERVE"

func TestMain(m *testing.M) {
	if os.Getenv(envServe) == "1" {
		os.Exit(serveMain(os.Args[1:]))
	}
	os.Setenv(envServe, "1") // inherited by the children StartProcess runs
	os.Exit(m.Run())
}

// serveMain is `serve --impl IMPL --addr ADDR [--debug-gc]` as cmd/loadbench
// runs it: it logs its command line to stderr, exits 2 on a bad flag, prints
// "listening on http://ADDR" once it accepts connections and shuts down on
// SIGTERM. Test-only flags make it misbehave.
func serveMain(args []string) int {
	fmt.Fprintf(os.Stderr, "args: %s\n", strings.Join(args, " "))
	if len(args) == 0 || args[0] != "serve" {
		fmt.Fprintln(os.Stderr, "usage: serve --impl IMPL --addr ADDR")
		return 2
	}
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	impl := fs.String("impl", "", "build to serve")
	addr := fs.String("addr", "127.0.0.1:8080", "listen address")
	debugGC := fs.Bool("debug-gc", false, "enable POST /debug/gc")
	think := fs.Duration("think", 0, "simulated LLM wait")
	failEarly := fs.Bool("fail-before-listen", false, "exit 1 before listening")
	silent := fs.Bool("silent", false, "listen without printing the listening line")
	dieAfter := fs.Duration("die-after", 0, "exit 1 this long after listening")
	fs.SetOutput(io.Discard)
	if err := fs.Parse(args[1:]); err != nil {
		fmt.Fprintf(os.Stderr, "serve: %v\n", err)
		return 2
	}
	if *failEarly {
		fmt.Fprintln(os.Stderr, "serve: failing before listening on purpose")
		return 1
	}
	srv, err := New(*impl, WithThink(*think), WithTool(0), WithDebugGC(*debugGC))
	if err != nil {
		fmt.Fprintf(os.Stderr, "serve: %v\n", err)
		return 2
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintf(os.Stderr, "serve: %v\n", err)
		return 1
	}
	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 5 * time.Second}
	go hs.Serve(ln)
	if !*silent {
		fmt.Printf("listening on http://%s\n", ln.Addr())
	}
	fmt.Printf("serving build %s\n", *impl) // any other stdout goes to the log
	return awaitEnd(hs, srv, *dieAfter)
}

// awaitEnd serves until SIGTERM (exit 0 after a graceful shutdown) or, when
// dieAfter > 0, until then (exit 1).
func awaitEnd(hs *http.Server, srv *Server, dieAfter time.Duration) int {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	var die <-chan time.Time
	if dieAfter > 0 {
		die = time.After(dieAfter)
	}
	select {
	case <-die:
		fmt.Fprintln(os.Stderr, "serve: dying on purpose")
		return 1
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), DefaultCloseTimeout)
	defer cancel()
	err := hs.Shutdown(sctx)
	srv.Close()
	if err != nil && !errors.Is(err, http.ErrServerClosed) {
		fmt.Fprintf(os.Stderr, "serve: shutdown: %v\n", err)
		return 1
	}
	return 0
}
