package targets

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/loadbench/loadbench/internal/usage"
)

// Started is a build served on a loopback port in this process, by Start.
// Its allocations share this process's heap (its /debug/gc answer and
// loadbench_process_info carry this process's token). Stop it with Close.
type Started struct {
	// URL is the base URL, http://127.0.0.1:PORT.
	URL string
	// Impl is the build served.
	Impl string

	srv       *Server
	httpSrv   *http.Server
	done      chan struct{} // closed when Serve has returned
	serveErr  error         // Serve's error, valid after done
	closeOnce sync.Once
	closeErr  error
}

// Start serves the build named impl on 127.0.0.1 (a free port), with POST
// /debug/gc enabled, until Close. opts apply after WithDebugGC(true). An
// unknown impl is a usage error (it wraps usage.ErrUsage).
func Start(impl string, opts ...Option) (*Started, error) {
	if !ValidImpl(impl) {
		return nil, usage.Errorf("start target: unknown build %q (want %s, %s or %s)", impl, ImplBaseline, ImplPerRequest, ImplPartial)
	}
	srv, err := New(impl, append([]Option{WithDebugGC(true)}, opts...)...)
	if err != nil {
		return nil, fmt.Errorf("start target: %w", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		srv.Close()
		return nil, fmt.Errorf("start target: %w", err)
	}
	t := &Started{
		URL:     "http://" + ln.Addr().String(),
		Impl:    impl,
		srv:     srv,
		httpSrv: &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second},
		done:    make(chan struct{}),
	}
	go func() {
		defer close(t.done)
		t.serveErr = t.httpSrv.Serve(ln)
	}()
	return t, nil
}

// Alive returns nil while the target serves, and an error once it has
// stopped (after Close, or if serving failed).
func (t *Started) Alive() error {
	select {
	case <-t.done:
	default:
		return nil
	}
	if errors.Is(t.serveErr, http.ErrServerClosed) {
		return fmt.Errorf("%s target closed", t.Impl)
	}
	return fmt.Errorf("%s target stopped: %v", t.Impl, t.serveErr)
}

// Close stops the target: it refuses new connections, waits up to
// DefaultCloseTimeout for requests in flight, and closes WebSocket
// connections. Later calls return the first call's result.
func (t *Started) Close() error {
	t.closeOnce.Do(func() { t.closeErr = t.close() })
	return t.closeErr
}

func (t *Started) close() error {
	ctx, cancel := context.WithTimeout(context.Background(), DefaultCloseTimeout)
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
