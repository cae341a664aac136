package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/spf13/pflag"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/loadbench/loadbench/internal/dist"
	"github.com/loadbench/loadbench/internal/k8s"
	"github.com/loadbench/loadbench/internal/usage"
	"github.com/loadbench/loadbench/results"
)

// kubeClient returns a Kubernetes client and the namespace of its context.
// main injects kubeFromEnv; tests inject a fake clientset.
type kubeClient func() (kubernetes.Interface, string, error)

// kube returns the injected Kubernetes client.
func (s streams) kube() (kubernetes.Interface, string, error) {
	if s.Kube == nil {
		return nil, "", errors.New("no Kubernetes client")
	}
	return s.Kube()
}

// kubeFromEnv loads the client with client-go's standard rules: the files
// of $KUBECONFIG, else ~/.kube/config, else the in-cluster service account.
// The namespace is the current context's (in a cluster: the pod's), else
// "default".
func kubeFromEnv() (kubernetes.Interface, string, error) {
	cc := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(
		clientcmd.NewDefaultClientConfigLoadingRules(), &clientcmd.ConfigOverrides{})
	cfg, err := cc.ClientConfig()
	if err != nil {
		return nil, "", fmt.Errorf("kubeconfig: %w", err)
	}
	ns, _, err := cc.Namespace()
	if err != nil {
		return nil, "", fmt.Errorf("kubeconfig: %w", err)
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, "", fmt.Errorf("kubernetes client: %w", err)
	}
	return cs, ns, nil
}

// Defaults of the k8s:N flags.
const (
	defaultCoordinatorListen = ":7070"
	// k8sDeleteTimeout bounds the deletion of the worker Job at the end.
	k8sDeleteTimeout = 30 * time.Second
)

// k8sGenFlags are the flags of --generators k8s:N on attack and compare.
type k8sGenFlags struct {
	listen, address          string
	image, namespace, secret string
	cpu, memory              string
	startTimeout             time.Duration
}

func (k *k8sGenFlags) register(fl *pflag.FlagSet) {
	fl.StringVar(&k.listen, "coordinator-listen", defaultCoordinatorListen, "with --generators k8s:N: `HOST:PORT` the coordinator listens on for the worker pods")
	fl.StringVar(&k.address, "coordinator-address", "", "with --generators k8s:N: `HOST[:PORT]` the worker pods dial to reach the coordinator (required; PORT defaults to --coordinator-listen's)")
	fl.StringVar(&k.image, "image", "", "with --generators k8s:N: container `IMAGE` of the workers, with loadbench on its PATH (required)")
	fl.StringVar(&k.namespace, "namespace", "", "with --generators k8s:N: namespace of the worker Job (default: the kubeconfig context's)")
	fl.StringVar(&k.secret, "secret", "", "with --generators k8s:N: Secret whose keys become the workers' environment (for ${VAR} in headers)")
	fl.StringVar(&k.cpu, "worker-cpu", k8s.DefaultWorkerCPU, "with --generators k8s:N: CPU request of each worker pod (see docs/distributed.md)")
	fl.StringVar(&k.memory, "worker-memory", k8s.DefaultWorkerMemory, "with --generators k8s:N: memory request and limit of each worker pod")
	fl.DurationVar(&k.startTimeout, "start-timeout", k8s.DefaultStartTimeout, "with --generators k8s:N: how long the worker pods have to be scheduled, started and connected")
}

// k8sFlagNames are the flags of k8sGenFlags.
var k8sFlagNames = []string{"coordinator-listen", "coordinator-address", "image", "namespace", "secret", "worker-cpu", "worker-memory", "start-timeout"}

// changed reports whether any k8s:N flag was given.
func (k *k8sGenFlags) changed(fl *pflag.FlagSet) bool {
	for _, name := range k8sFlagNames {
		if fl.Changed(name) {
			return true
		}
	}
	return false
}

// check refuses the k8s:N flags without k8s:N.
func (k *k8sGenFlags) check(op string, fl *pflag.FlagSet, kind string) error {
	if kind == "k8s" {
		if k.startTimeout <= 0 {
			return usageErr("%s: --start-timeout must be positive, got %s", op, k.startTimeout)
		}
		return nil
	}
	for _, name := range k8sFlagNames {
		if fl.Changed(name) {
			return usageErr("%s: --%s applies to --generators k8s:N only", op, name)
		}
	}
	return nil
}

// k8sGenerators are N `loadbench worker` pods of an Indexed Job under one
// coordinator that listens where the pods can dial it. A worker pod that
// fails, or the Job's deletion, ends the segment running with an error
// naming the shard. Close deletes the Job.
type k8sGenerators struct {
	*dist.Coordinator
	run *k8s.Run

	stopWatch context.CancelFunc
	watched   chan struct{} // closed when the watch has returned
	failed    chan struct{} // closed when the watch found a failure
	failure   error         // set before failed is closed
	closeOnce sync.Once
}

// coordinatorAddress is address (HOST or HOST:PORT) with the port of
// listen when it has none.
func coordinatorAddress(address, listen string) (string, error) {
	if address == "" {
		return "", errors.New("is required: the HOST[:PORT] the worker pods dial")
	}
	if _, _, err := net.SplitHostPort(address); err == nil {
		return address, nil
	}
	_, port, err := net.SplitHostPort(listen)
	if err != nil {
		return "", fmt.Errorf("has no port, and the listen address %q has none either", listen)
	}
	return net.JoinHostPort(address, port), nil
}

// k8sFlag names the flag of a k8s.ManifestConfig setting.
func k8sFlag(field string) string {
	switch field {
	case "coordinator":
		return "--coordinator-address"
	case "workers":
		return "k8s:N: N"
	}
	return "--" + strings.ReplaceAll(field, " ", "-")
}

// startK8sGenerators launches n worker pods as an Indexed Job and waits
// until all have joined the coordinator, or until the start timeout: then,
// or when a pod fails first, it deletes the Job and returns a run error
// naming the missing workers.
func startK8sGenerators(ctx context.Context, s streams, op string, n int, kf k8sGenFlags, access map[string]dist.Access) (*k8sGenerators, error) {
	// Usage first: nothing is created for bad flags.
	addr, err := coordinatorAddress(kf.address, kf.listen)
	if err != nil {
		return nil, usageErr("%s: --coordinator-address %v", op, err)
	}
	if _, _, err := net.SplitHostPort(kf.listen); err != nil {
		return nil, usageErr("%s: --coordinator-listen must be HOST:PORT, got %q", op, kf.listen)
	}
	cfg := k8s.ManifestConfig{Name: k8sJobName(), Namespace: kf.namespace, Workers: n, Image: kf.image, Coordinator: addr, Secret: kf.secret,
		WorkerCPU: kf.cpu, WorkerMemory: kf.memory}
	check := cfg
	if check.Namespace == "" {
		check.Namespace = k8s.DefaultNamespace
	}
	if host, port, _ := net.SplitHostPort(addr); port == "0" {
		check.Coordinator = net.JoinHostPort(host, "1") // the port is known once listening
	}
	if _, err := k8s.Manifests(check); err != nil {
		if fe, ok := errors.AsType[*usage.FieldError](err); ok {
			return nil, usageErr("%s: --generators k8s:N: %s %s", op, k8sFlag(fe.Field), fe.Problem)
		}
		return nil, usageErr("%s: --generators k8s:N: %v", op, err)
	}

	client, ns, err := s.kube()
	if err != nil {
		return nil, withCode(exitRunError, fmt.Errorf("%s: generators k8s: %w", op, err))
	}
	if cfg.Namespace == "" {
		cfg.Namespace = ns
	}
	c, err := dist.Listen(kf.listen, n, dist.Options{Access: access})
	if err != nil {
		return nil, withCode(exitRunError, fmt.Errorf("%s: %w", op, err))
	}
	if host, port, _ := net.SplitHostPort(cfg.Coordinator); port == "0" {
		_, lport, _ := net.SplitHostPort(c.Addr())
		cfg.Coordinator = net.JoinHostPort(host, lport)
	}
	b, err := k8s.Manifests(cfg)
	if err != nil {
		c.Close()
		return nil, usageErr("%s: --generators k8s:N: %v", op, err)
	}
	l := k8s.Launcher{Client: client, Namespace: cfg.Namespace, StartTimeout: kf.startTimeout}
	run, err := l.Launch(ctx, b.Job)
	if err != nil {
		c.Close()
		return nil, withCode(exitRunError, fmt.Errorf("%s: generators: %w", op, err))
	}
	fmt.Fprintf(s.Err, "%s: launched job %s of %d workers in namespace %s; they dial %s\n", op, run.Name(), n, cfg.Namespace, cfg.Coordinator)
	g := &k8sGenerators{Coordinator: c, run: run, watched: make(chan struct{}), failed: make(chan struct{})}
	wctx, stop := context.WithCancel(context.WithoutCancel(ctx))
	g.stopWatch = stop
	go func() {
		defer close(g.watched)
		if err := run.Wait(wctx); err != nil && wctx.Err() == nil {
			g.failure = shardFailure(err)
			close(g.failed)
		}
	}()

	actx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	actx, cancelTimeout := context.WithTimeoutCause(actx, kf.startTimeout, fmt.Errorf("start timeout %s", kf.startTimeout))
	defer cancelTimeout()
	go func() {
		select {
		case <-g.failed:
			cancel(g.failure)
		case <-actx.Done():
		}
	}()
	if err := c.Accept(actx); err != nil {
		missing := c.Missing()
		why := context.Cause(actx)
		if why == nil {
			why = err
		}
		if ctx.Err() == nil && !errors.Is(why, dist.ErrShard) && !errors.Is(why, k8s.ErrNotStarted) {
			// The watch times the pods out at about the same instant and
			// says why each is pending: wait a moment for it.
			select {
			case <-g.failed:
				why = g.failure
			case <-time.After(time.Second):
			}
		}
		g.Close()
		if ctx.Err() != nil {
			return nil, withCode(exitRunError, fmt.Errorf("%s: generators: interrupted while the workers joined", op))
		}
		return nil, withCode(exitRunError, fmt.Errorf("%s: generators: %s of job %s did not join within %s: %w",
			op, workerList(missing), run.Name(), kf.startTimeout, why))
	}
	return g, nil
}

// k8sJobName is a fresh Job name: loadbench-XXXXX, so that a run never
// takes over the Job of another (or a leftover one).
func k8sJobName() string {
	const letters = "bcdfghjklmnpqrstvwxz2456789"
	b := make([]byte, 5)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = letters[int(b[i])%len(letters)]
	}
	return k8s.DefaultName + "-" + string(b)
}

// workerList names the workers of indexes: "worker 1", "workers 0, 2".
func workerList(indexes []int) string {
	if len(indexes) == 0 {
		return "no worker"
	}
	s := make([]string, len(indexes))
	for i, x := range indexes {
		s[i] = strconv.Itoa(x)
	}
	if len(s) == 1 {
		return "worker " + s[0]
	}
	return "workers " + strings.Join(s, ", ")
}

// shardFailure is the watch's error as a shard failure (dist.ErrShard),
// naming the shard when a pod failed.
func shardFailure(err error) error {
	if errors.Is(err, k8s.ErrNotStarted) {
		return err // before any segment: no shard failed
	}
	if fe, ok := errors.AsType[*k8s.FailedError](err); ok && fe.Index >= 0 {
		return fmt.Errorf("generators: shard %d (pod %s) failed: %s: %w", fe.Index, fe.Pod, fe.Reason, dist.ErrShard)
	}
	return fmt.Errorf("generators: %w: %w", err, dist.ErrShard)
}

// Segment runs one segment on the workers; a failure the Job's watch
// reports (a failed pod, the Job deleted) ends it with an error naming the
// shard, and no segment.
func (g *k8sGenerators) Segment(ctx context.Context, job dist.Job) (*results.Segment, []*results.Segment, error) {
	select {
	case <-g.failed:
		return nil, nil, g.failure
	default:
	}
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-g.failed:
			cancel()
		case <-sctx.Done():
		}
	}()
	seg, shards, err := g.Coordinator.Segment(sctx, job)
	if ctx.Err() == nil {
		select {
		case <-g.failed:
			if err != nil && errors.Is(err, dist.ErrShard) {
				return nil, nil, fmt.Errorf("%w; %v", err, g.failure)
			}
			return nil, nil, g.failure
		default:
		}
	}
	return seg, shards, err
}

// Close says bye to the workers, stops watching the Job and deletes it
// (with a fresh deadline: also after Ctrl-C).
func (g *k8sGenerators) Close() error {
	var err error
	g.closeOnce.Do(func() {
		err = g.Coordinator.Close()
		g.stopWatch()
		<-g.watched
		ctx, cancel := context.WithTimeout(context.Background(), k8sDeleteTimeout)
		defer cancel()
		if derr := g.run.Delete(ctx); derr != nil {
			err = errors.Join(err, derr)
		}
	})
	return err
}
