package loadbench

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"time"

	"github.com/loadbench/loadbench/internal/usage"
	"github.com/loadbench/loadbench/targets"
)

// Build names one of the project's built-in builds of the chat-agent
// service (package targets).
type Build string

// The built-in builds compared by default.
const (
	Baseline   Build = "baseline"   // the legacy singleton factory
	PerRequest Build = "perrequest" // a factory per request
)

// Builds lists every build the project serves, baseline first.
func Builds() []Build {
	var bs []Build
	for _, name := range targets.Impls() {
		bs = append(bs, Build(name))
	}
	return bs
}

// String is the build's name.
func (b Build) String() string { return string(b) }

// Target is a built-in build served on a loopback port in this process.
// Stop it with Close.
type Target struct {
	// URL is the base URL, http://127.0.0.1:PORT.
	URL string
	// Build is the build served.
	Build Build

	srv     *targets.Server
	httpSrv *http.Server
	done    chan struct{}
}

// StartTarget serves build b on 127.0.0.1 (a free port), with POST
// /debug/gc enabled, until Close. Its allocations share this process's
// heap: measure its memory with that in mind.
func StartTarget(b Build) (*Target, error) {
	if !slices.Contains(Builds(), b) {
		return nil, usage.Errorf("start target: unknown build %q (want one of %v)", string(b), Builds())
	}
	srv, err := targets.New(string(b), targets.WithDebugGC(true))
	if err != nil {
		return nil, fmt.Errorf("start target: %w", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		srv.Close()
		return nil, fmt.Errorf("start target: %w", err)
	}
	t := &Target{
		URL:     "http://" + ln.Addr().String(),
		Build:   b,
		srv:     srv,
		httpSrv: &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second},
		done:    make(chan struct{}),
	}
	go func() {
		defer close(t.done)
		_ = t.httpSrv.Serve(ln)
	}()
	return t, nil
}

// Close stops the target: it refuses new connections, waits up to a few
// seconds for requests in flight, and closes WebSocket connections.
func (t *Target) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), targets.DefaultCloseTimeout)
	defer cancel()
	err := t.httpSrv.Shutdown(ctx)
	t.srv.Close()
	if errors.Is(err, context.DeadlineExceeded) {
		err = t.httpSrv.Close()
	}
	<-t.done
	if err != nil {
		return fmt.Errorf("close target: %w", err)
	}
	return nil
}
