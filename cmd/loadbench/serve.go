package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"net/netip"
	"os"
	"runtime"
	"time"

	"github.com/spf13/cobra"

	"github.com/loadbench/loadbench/internal/agent"
	"github.com/loadbench/loadbench/targets"
)

// serveShutdownTimeout bounds the graceful shutdown of serve.
const serveShutdownTimeout = 5 * time.Second

func newServeCmd(s streams) *cobra.Command {
	var (
		impl, addr, auditLog, profile string
		pprofAddr                     string
		think, tool, window, delay    time.Duration
		burn                          time.Duration
		debugGC                       bool
		slowdown, failRate            float64
		wsFailRate                    float64
		leak, leakPerUser, cache      int
		failSeed                      uint64
		staging                       stagingFlags // servestaging.go
	)
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve one build of the chat-agent service over HTTP and WebSocket",
		Long: `Serve one build of the chat-agent service (baseline: the legacy singleton
factory; perrequest: a factory per request; partial: HTTP on per-request
factories while the WebSocket route still configures the singleton) on --addr. Prints exactly one line,
"listening on http://HOST:PORT" (https with --tls-cert), once it accepts connections, and shuts down
gracefully on SIGINT or SIGTERM.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if _, err := staging.apply(&http.Server{}); err != nil {
				return err // checked before anything is opened or written
			}
			if !targets.ValidImpl(impl) {
				return usageErr("serve: --impl must be baseline, perrequest or partial, got %q", impl)
			}
			prof, err := agent.ParseProfile(profile)
			if err != nil {
				return usageErr("serve: --profile must be ci or production, got %q", profile)
			}
			if !cmd.Flags().Changed("configure-window") {
				window = prof.Load().ConfigureWindow
			}
			if window < 0 || delay < 0 {
				return usageErr("serve: --configure-window and --delay must not be negative")
			}
			if cache < 0 || leakPerUser < 0 {
				return usageErr("serve: --factory-cache and --leak-per-user must not be negative")
			}
			if !(failRate >= 0 && failRate <= 1) {
				return usageErr("serve: --fail-rate must be between 0 and 1, got %v", failRate)
			}
			if !(wsFailRate >= 0 && wsFailRate <= 1) {
				return usageErr("serve: --ws-fail-rate must be between 0 and 1, got %v", wsFailRate)
			}
			if burn < 0 {
				return usageErr("serve: --burn must not be negative, got %s", burn)
			}
			if slowdown <= 0 {
				return usageErr("serve: --slowdown must be positive, got %v", slowdown)
			}
			if leak < 0 {
				return usageErr("serve: --leak must not be negative, got %d", leak)
			}
			if think < 0 || tool < 0 {
				return usageErr("serve: --think and --tool must not be negative")
			}
			if pprofAddr != "" && !loopbackAddr(pprofAddr) {
				return usageErr("serve: --pprof must be a loopback address (127.0.0.1:PORT or [::1]:PORT), got %q", pprofAddr)
			}
			opts := []targets.Option{
				targets.WithThink(think), targets.WithTool(tool), targets.WithSlowdown(slowdown),
				targets.WithDebugGC(debugGC), targets.WithLeak(leak),
				targets.WithProfile(prof), targets.WithConfigureWindow(window), targets.WithFactoryCache(cache),
				targets.WithDelay(delay), targets.WithBurn(burn), targets.WithFailRate(failRate), targets.WithWSFailRate(wsFailRate), targets.WithFailSeed(failSeed), targets.WithLeakPerUser(leakPerUser),
			}
			if auditLog != "" {
				f, err := os.OpenFile(auditLog, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
				if err != nil {
					return usageErr("serve: open audit log: %v", err)
				}
				defer f.Close()
				opts = append(opts, targets.WithAuditLogger(slog.New(slog.NewJSONHandler(f, nil))))
			}
			srv, err := targets.New(impl, opts...)
			if err != nil {
				return usageErr("serve: %v", err)
			}
			hs := &http.Server{
				Handler:           srv,
				ReadHeaderTimeout: 5 * time.Second,
				ReadTimeout:       30 * time.Second,
			}
			scheme, err := staging.apply(hs)
			if err != nil {
				srv.Close()
				return err
			}
			ln, err := net.Listen("tcp", addr)
			if err != nil {
				return withCode(exitRunError, fmt.Errorf("serve: listen: %w", err))
			}
			if hs.TLSConfig != nil {
				ln = tls.NewListener(ln, hs.TLSConfig)
			}
			if pprofAddr != "" {
				stop, err := servePprof(pprofAddr, s.Err)
				if err != nil {
					ln.Close()
					srv.Close()
					return withCode(exitRunError, err)
				}
				defer stop()
			}
			serveErr := make(chan error, 1)
			go func() { serveErr <- hs.Serve(ln) }()
			if _, err := fmt.Fprintf(s.Out, "listening on %s://%s\n", scheme, ln.Addr()); err != nil {
				_ = hs.Close()
				return withCode(exitRunError, fmt.Errorf("serve: %w", err))
			}
			select {
			case err := <-serveErr:
				srv.Close()
				return withCode(exitRunError, fmt.Errorf("serve: %w", err))
			case <-cmd.Context().Done():
			}
			ctx, cancel := contextWithTimeout(serveShutdownTimeout)
			defer cancel()
			err = hs.Shutdown(ctx)
			srv.Close()
			if err := <-serveErr; err != nil && !errors.Is(err, http.ErrServerClosed) {
				return withCode(exitRunError, fmt.Errorf("serve: %w", err))
			}
			if err != nil {
				_ = hs.Close()
				fmt.Fprintf(s.Err, "loadbench: serve: shutdown: %v\n", err)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&impl, "impl", "", "build to serve: baseline, perrequest or partial (required)")
	f.StringVar(&profile, "profile", agent.DefaultProfile.String(), "workload profile: ci (fixed --think/--tool waits) or production (log-normal LLM waits, median 1.5 s, p99 6 s)")
	f.DurationVar(&window, "configure-window", agent.DefaultConfigureWindow, "mean added wait between configuring the factory and creating the agent, drawn per chat (uniform up to twice it, the same for both builds); the legacy build misroutes chats that overlap the window, which without it is the code between the two")
	f.IntVar(&cache, "factory-cache", agent.DefaultFactoryCache, "per-request build: agent-class cache pinning up to this many factories (the real lru_cache: 128)")
	f.DurationVar(&delay, "delay", 0, "add this latency to every chat (fault injection)")
	f.DurationVar(&burn, "burn", 0, "spend this much CPU time per chat on the request path, real work and not a sleep, in either build (fault injection: costs capacity, not just latency)")
	f.Float64Var(&failRate, "fail-rate", 0, "answer this share of chats with an error, chosen per chat key (fault injection)")
	f.Float64Var(&wsFailRate, "ws-fail-rate", 0, "answer this share of WebSocket chats with an error and no HTTP chat, chosen per chat key (fault injection: a WebSocket-only regression)")
	f.Uint64Var(&failSeed, "fail-seed", 0, "which chats --fail-rate and --ws-fail-rate fail: each seed is an independent draw over the same chats (0: the default draw)")
	f.IntVar(&leakPerUser, "leak-per-user", 0, "retain this many bytes once per distinct user id (fault injection)")
	f.StringVar(&addr, "addr", "127.0.0.1:8080", "listen address (port 0 picks a free port)")
	f.DurationVar(&think, "think", agent.DefaultThink, "simulated LLM wait per run")
	f.DurationVar(&tool, "tool", agent.DefaultTool, "simulated tool wait per run")
	f.BoolVar(&debugGC, "debug-gc", false, "enable POST /debug/gc")
	f.Float64Var(&slowdown, "slowdown", agent.DefaultSlowdown, "multiply the simulated work (fault injection)")
	f.IntVar(&leak, "leak", 0, "retain this many bytes per request forever (fault injection)")
	f.StringVar(&auditLog, "audit-log", "", "append the factory log (configure, creation, agent creation, release) as JSON lines to this file instead of an in-memory sink")
	f.StringVar(&pprofAddr, "pprof", "", "serve net/http/pprof on this loopback address, apart from the chats, with mutex and block profiling on (1 in "+fmt.Sprint(pprofMutexFraction)+" contention events, blocking events of "+pprofBlockRate.String()+" or more); the address is printed to stderr")
	staging.register(f)
	return cmd
}

// The sampling rates --pprof switches on: a mutex profile of 1 in
// pprofMutexFraction contention events, and a block profile of every
// blocking event of pprofBlockRate or more (sampled below it). Both are off
// without --pprof, so a build's figures are never measured with them.
const (
	pprofMutexFraction = 10
	pprofBlockRate     = 10 * time.Microsecond
)

// servePprof serves net/http/pprof on addr (a loopback address, checked by
// the caller) with mutex and block profiling on, prints where to stderr,
// and returns the function that stops it.
func servePprof(addr string, errw io.Writer) (stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("serve: pprof: listen: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	prevMutex := runtime.SetMutexProfileFraction(pprofMutexFraction)
	runtime.SetBlockProfileRate(int(pprofBlockRate))
	go func() { _ = hs.Serve(ln) }()
	fmt.Fprintf(errw, "loadbench: serve: pprof on http://%s/debug/pprof/\n", ln.Addr())
	return func() {
		_ = hs.Close()
		runtime.SetMutexProfileFraction(prevMutex)
		runtime.SetBlockProfileRate(0)
	}, nil
}

// loopbackAddr reports whether addr is HOST:PORT with a loopback IP host
// (or "localhost").
func loopbackAddr(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}

// contextWithTimeout is a fresh context bounded by d (for shutdown, after the
// command's context is cancelled).
func contextWithTimeout(d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), d)
}
