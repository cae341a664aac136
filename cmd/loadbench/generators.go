package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/loadbench/loadbench/internal/dist"
	"github.com/loadbench/loadbench/results"
)

// Bounds of --generators local:N.
const (
	maxLocalGenerators = 64
	// generatorJoinTimeout bounds how long the local workers take to start
	// and join the coordinator.
	generatorJoinTimeout = 30 * time.Second
	// generatorStopGrace is how long a worker has to exit after bye before
	// it is killed.
	generatorStopGrace = 5 * time.Second
)

// parseGenerators parses --generators: "local:N" starts N worker processes
// on this machine ("local:N,netns=ADDR/BITS" each in its own network
// namespace, see netnsOption), "k8s:N" N worker pods of an Indexed Job. It
// returns the kind ("local" or "k8s") and N.
func parseGenerators(op, spec string) (string, int, error) {
	base, _, hasOpt := strings.Cut(spec, ",")
	kind, num, ok := strings.Cut(base, ":")
	n, err := strconv.Atoi(num)
	switch {
	case !ok || err != nil || (kind != "local" && kind != "k8s"):
		return "", 0, usageErr("%s: --generators must be local:N or k8s:N, got %q", op, spec)
	case kind == "local" && (n < 1 || n > maxLocalGenerators):
		return "", 0, usageErr("%s: --generators local:N: N must be between 1 and %d, got %d", op, maxLocalGenerators, n)
	case kind == "k8s" && n < 1:
		return "", 0, usageErr("%s: --generators k8s:N: N must be at least 1, got %d", op, n)
	case hasOpt && kind != "local":
		return "", 0, usageErr("%s: --generators %s: options apply to local:N only", op, spec)
	}
	if _, err := netnsOption(spec, n); err != nil {
		return "", 0, usageErr("%s: --generators %s: %v", op, spec, err)
	}
	return kind, n, nil
}

// netnsOption parses the netns=ADDR/BITS option of local:N: the address of
// this machine's side of a bridge that the test creates, and its prefix;
// worker i gets the i+1-th address after ADDR. The zero Prefix means no
// option.
func netnsOption(spec string, n int) (netip.Prefix, error) {
	_, opt, ok := strings.Cut(spec, ",")
	if !ok {
		return netip.Prefix{}, nil
	}
	v, ok := strings.CutPrefix(opt, "netns=")
	if !ok {
		return netip.Prefix{}, fmt.Errorf("unknown option %q (want netns=ADDR/BITS)", opt)
	}
	p, err := netip.ParsePrefix(v)
	if err != nil || !p.Addr().Is4() || p.Addr().IsLoopback() || p.Addr().IsUnspecified() {
		return netip.Prefix{}, fmt.Errorf("netns= wants this machine's IPv4 address on the bridge and its prefix, e.g. 198.18.0.1/24, got %q", v)
	}
	last := p.Addr()
	for range n {
		last = last.Next()
	}
	if !p.Contains(last) || !p.Contains(last.Next()) { // the broadcast address stays free
		return netip.Prefix{}, fmt.Errorf("netns=%s: the prefix has no room for %d workers after %s", v, n, p.Addr())
	}
	return p, nil
}

// generators are the workers of --generators under their coordinator:
// local processes or Kubernetes pods.
type generators interface {
	Segment(ctx context.Context, job dist.Job) (*results.Segment, []*results.Segment, error)
	Close() error
}

// startGenerators starts the n workers of kind and waits until all have
// joined; its errors carry their exit code.
func startGenerators(ctx context.Context, s streams, op, spec string, kf k8sGenFlags, access map[string]dist.Access) (generators, error) {
	kind, n, err := parseGenerators(op, spec)
	if err != nil {
		return nil, err
	}
	if kind == "k8s" {
		return startK8sGenerators(ctx, s, op, n, kf, access)
	}
	netns, _ := netnsOption(spec, n) // checked by parseGenerators
	g, err := startLocalGenerators(ctx, s, op, n, netns, access)
	if err != nil {
		return nil, withCode(exitRunError, err)
	}
	return g, nil
}

// shareable refuses users or a request budget (0: none) that n
// generators cannot share: each needs at least one of either.
func shareable(op string, n, users int, maxRequests int64) error {
	switch {
	case users < n:
		return usageErr("%s: --users %d cannot be shared by %d generators: want at least one user each", op, users, n)
	case maxRequests > 0 && maxRequests < int64(n):
		return usageErr("%s: --max-requests %d cannot be shared by %d generators: want at least one each", op, maxRequests, n)
	}
	return nil
}

// distAccess is t as the workers' access: header templates (each must
// read its secret from the worker's environment, ${VAR}), file paths, the
// body template's text.
func distAccess(op string, t transportFlags) (dist.Access, error) {
	a := dist.Access{
		Header: t.headers, CACert: t.cacert, Cert: t.cert, Key: t.key, Insecure: t.insecure,
		WSSubprotocol: t.wsSubprotocol, WSPing: t.wsPing,
	}
	if t.body != "" {
		b, err := os.ReadFile(t.body)
		if err != nil {
			return a, usageErr("%s: --%sbody: %v", op, t.prefix, err)
		}
		a.Body = string(b)
	}
	if err := a.Check(); err != nil {
		return a, usageErr("%s: --%sheader: %v", op, t.prefix, strings.TrimPrefix(err.Error(), "generators: "))
	}
	return a, nil
}

// localGenerators are N `loadbench worker` processes of this executable
// under one coordinator on 127.0.0.1. Close stops them all: no worker
// outlives the command (and each dies with it, see workerProcAttr).
type localGenerators struct {
	*dist.Coordinator
	hosts *netnsHosts // nil unless each worker has its own network namespace
	procs []*exec.Cmd
	logs  []*tailBuffer
	exits []chan error // each closed when its worker exited, after its error
	wg    sync.WaitGroup
}

// startLocalGenerators starts n workers and waits until all have joined.
// With a netns prefix, each worker runs in a network namespace of its own,
// bridged to this machine at the prefix's address, where the coordinator
// listens (netns_linux.go).
func startLocalGenerators(ctx context.Context, s streams, op string, n int, netns netip.Prefix, access map[string]dist.Access) (*localGenerators, error) {
	exe, err := s.executable()
	if err != nil {
		return nil, fmt.Errorf("%s: generators: %w", op, err)
	}
	listen := "127.0.0.1:0"
	var hosts *netnsHosts
	if netns.IsValid() {
		if hosts, err = newNetnsHosts(ctx, netns, n); err != nil {
			return nil, fmt.Errorf("%s: generators: %w", op, err)
		}
		listen = netip.AddrPortFrom(netns.Addr(), 0).String()
	}
	c, err := dist.Listen(listen, n, dist.Options{Access: access})
	if err != nil {
		if hosts != nil {
			hosts.Close()
		}
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	g := &localGenerators{Coordinator: c, hosts: hosts}
	jctx, cancel := context.WithTimeoutCause(ctx, generatorJoinTimeout, fmt.Errorf("not all joined within %s", generatorJoinTimeout))
	defer cancel()
	exited := make(chan error, n+1)
	for i := range n {
		argv := []string{exe, "worker", "--coordinator", c.Addr(), "--index", strconv.Itoa(i)}
		if hosts != nil {
			argv = hosts.command(i, argv)
		}
		cmd := exec.Command(argv[0], argv[1:]...)
		cmd.Env = os.Environ() // ${VAR} of the headers is read by the worker
		log := &tailBuffer{}
		cmd.Stdout, cmd.Stderr = log, log
		cmd.SysProcAttr = workerProcAttr()
		if err := cmd.Start(); err != nil {
			g.Close()
			return nil, fmt.Errorf("%s: generators: start worker %d: %w", op, i, err)
		}
		exit := make(chan error, 1)
		g.procs, g.logs, g.exits = append(g.procs, cmd), append(g.logs, log), append(g.exits, exit)
		g.wg.Go(func() {
			err := cmd.Wait()
			exit <- err
			close(exit)
			exited <- fmt.Errorf("worker %d exited (%v): %s", i, err, log.last())
		})
	}
	go func() {
		select {
		case err := <-exited:
			exited <- err // for the others; one is enough here
			cancel()
			_ = err
		case <-jctx.Done():
		}
	}()
	if err := c.Accept(jctx); err != nil {
		var why error
		select {
		case why = <-exited:
		default:
		}
		g.Close()
		if why != nil {
			return nil, fmt.Errorf("%s: generators: %w", op, why)
		}
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	return g, nil
}

// Segment runs one segment; an error names the failed shard and, when its
// worker process ended, how.
func (g *localGenerators) Segment(ctx context.Context, job dist.Job) (*results.Segment, []*results.Segment, error) {
	seg, shards, err := g.Coordinator.Segment(ctx, job)
	if err != nil && errors.Is(err, dist.ErrShard) {
		for i, exit := range g.exits {
			if !strings.Contains(err.Error(), fmt.Sprintf("shard %d ", i)) {
				continue
			}
			select {
			case perr := <-exit:
				err = fmt.Errorf("%w (worker process %d ended: %v)", err, g.procs[i].Process.Pid, cmpOr(perr, "exit 0"))
			case <-time.After(time.Second):
			}
		}
	}
	return seg, shards, err
}

// cmpOr is err's text, or s when err is nil.
func cmpOr(err error, s string) string {
	if err != nil {
		return err.Error()
	}
	return s
}

// Close says bye to every worker, waits up to generatorStopGrace for them
// to exit and kills the rest.
func (g *localGenerators) Close() error {
	err := g.Coordinator.Close()
	done := make(chan struct{})
	go func() { g.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(generatorStopGrace):
		for _, p := range g.procs {
			_ = p.Process.Kill()
		}
		<-done
	}
	if g.hosts != nil {
		err = errors.Join(err, g.hosts.Close())
	}
	return err
}

// writeShards stores each shard's raw segment beside the merged one in dir
// (dir/shard-00, ...).
func writeShards(dir string, shards []*results.Segment) error {
	for i, s := range shards {
		if s == nil {
			continue
		}
		if err := results.WriteSegment(results.ShardDir(dir, i), s); err != nil {
			return err
		}
	}
	return nil
}

// tailBuffer keeps the last few KiB a worker printed.
type tailBuffer struct {
	mu sync.Mutex
	b  []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if len(t.b) > 4096 {
		t.b = t.b[len(t.b)-4096:]
	}
	return len(p), nil
}

// last is the last non-empty line.
func (t *tailBuffer) last() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	lines := bytes.Split(bytes.TrimSpace(t.b), []byte("\n"))
	return string(lines[len(lines)-1])
}
