package main

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/loadbench/loadbench/internal/dist"
	"github.com/loadbench/loadbench/internal/k8s"
	"github.com/loadbench/loadbench/results"
	"github.com/loadbench/loadbench/targets"
)

// In these tests client-go's fake clientset stands in for the API server,
// and the test (a fakeKubelet) for the Job controller and the kubelets:
// when the worker Job appears it creates its pods, marks them running and
// runs each pod's worker in this process (internal/dist's Worker, with the
// index Kubernetes would put in JOB_COMPLETION_INDEX), dialing the address
// the Job's container was given.

const k8sTestNS = "perf"

// fakeKubelet plays the Job controller and the kubelets of a fake cluster.
type fakeKubelet struct {
	t      *testing.T
	client *fake.Clientset
	// run reports whether index i gets a running pod and a worker; nil runs
	// every index.
	run func(i int) bool

	mu      sync.Mutex
	job     *batchv1.Job
	joined  int
	workers sync.WaitGroup
	errs    []error // each worker's Run result
}

func newFakeKubelet(t *testing.T, run func(int) bool) *fakeKubelet {
	return &fakeKubelet{t: t, client: fake.NewClientset(), run: run}
}

// streams are the command's streams with the fake cluster as its
// Kubernetes client (namespace from the "kubeconfig": k8sTestNS).
func (k *fakeKubelet) streams(out, errb *syncBuffer, args []string) streams {
	return streams{
		In: strings.NewReader(""), Out: out, Err: errb,
		Args: append([]string{"loadbench"}, args...), Executable: func() (string, error) { return "", errNoExecutable },
		Kube: func() (kubernetes.Interface, string, error) { return k.client, k8sTestNS, nil },
	}
}

// Write counts the workers' "joined" lines (the Worker's Log).
func (k *fakeKubelet) Write(p []byte) (int, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.joined += strings.Count(string(p), ": joined ")
	return len(p), nil
}

func (k *fakeKubelet) joinedCount() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.joined
}

// start polls for the Job and, once it exists, creates its pods and runs
// their workers. It returns when ctx ends or the pods are made.
func (k *fakeKubelet) start(ctx context.Context) {
	go func() {
		for ctx.Err() == nil {
			jobs, err := k.client.BatchV1().Jobs(k8sTestNS).List(ctx, metav1.ListOptions{})
			if err == nil && len(jobs.Items) > 0 {
				k.launch(ctx, &jobs.Items[0])
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	}()
}

func (k *fakeKubelet) launch(ctx context.Context, job *batchv1.Job) {
	k.mu.Lock()
	k.job = job
	k.mu.Unlock()
	c := job.Spec.Template.Spec.Containers[0]
	argv := append(slices.Clone(c.Command), c.Args...)
	at := slices.Index(argv, "--coordinator")
	if at < 0 || at+1 >= len(argv) || !slices.Contains(argv, "worker") {
		k.t.Errorf("worker container runs %q", argv)
		return
	}
	coordinator := argv[at+1]
	for i := range int(*job.Spec.Completions) {
		phase := corev1.PodRunning
		if k.run != nil && !k.run(i) {
			phase = corev1.PodPending
		}
		p := k8sTestPod(job.Name, i, phase)
		if _, err := k.client.CoreV1().Pods(k8sTestNS).Create(ctx, p, metav1.CreateOptions{}); err != nil {
			k.t.Errorf("create pod: %v", err)
			return
		}
		if phase != corev1.PodRunning {
			continue
		}
		w := &dist.Worker{Coordinator: coordinator, Index: i, DialTimeout: 10 * time.Second, Log: k}
		k.workers.Go(func() {
			err := w.Run(ctx)
			k.mu.Lock()
			k.errs = append(k.errs, err)
			k.mu.Unlock()
		})
	}
}

// done waits for every worker the kubelet started and returns their errors.
func (k *fakeKubelet) done(t *testing.T) []error {
	t.Helper()
	ch := make(chan struct{})
	go func() { k.workers.Wait(); close(ch) }()
	select {
	case <-ch:
	case <-time.After(15 * time.Second):
		t.Fatal("a worker outlived the command")
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	return slices.Clone(k.errs)
}

// jobs lists the Jobs left in the fake cluster.
func (k *fakeKubelet) jobs(t *testing.T) []string {
	t.Helper()
	l, err := k.client.BatchV1().Jobs(k8sTestNS).List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, j := range l.Items {
		names = append(names, j.Name)
	}
	return names
}

// k8sTestPod is pod index of job as the Job controller makes it.
func k8sTestPod(job string, index int, phase corev1.PodPhase) *corev1.Pod {
	i := strconv.Itoa(index)
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Name:        job + "-" + i + "-x7k2p",
			Namespace:   k8sTestNS,
			Labels:      map[string]string{batchv1.JobNameLabel: job, batchv1.JobCompletionIndexAnnotation: i},
			Annotations: map[string]string{batchv1.JobCompletionIndexAnnotation: i},
		},
		Spec:   corev1.PodSpec{NodeName: "node-1"},
		Status: corev1.PodStatus{Phase: phase},
	}
	if phase == corev1.PodPending {
		p.Spec.NodeName = ""
		p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionFalse,
			Reason: "Unschedulable", Message: "0/3 nodes are available: 3 Insufficient cpu."}}
	}
	return p
}

// runOnCluster runs loadbench over the fake cluster of k.
func runOnCluster(ctx context.Context, t *testing.T, k *fakeKubelet, args ...string) (int, string, string) {
	t.Helper()
	var out, errb syncBuffer
	code := run(ctx, args, k.streams(&out, &errb, args))
	return code, out.String(), errb.String()
}

// k8sAttackArgs is an attack of url on k8s:n with the coordinator on
// loopback, where the test's workers dial it.
func k8sAttackArgs(url, out string, n int, extra ...string) []string {
	return append([]string{"attack", url, "--quiet", "--out", out, "--users", "4",
		"--generators", "k8s:" + strconv.Itoa(n), "--image", "registry.example/loadbench:test",
		"--coordinator-listen", "127.0.0.1:0", "--coordinator-address", "127.0.0.1"}, extra...)
}

// attack --generators k8s:2: the Job is created with the coordinator's
// address, its two workers join and run their shards, the merged result
// has both, and the Job is deleted at the end.
func TestAttackOnK8sGenerators(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a load of 1 s")
	}
	url := targetServer(t, targets.ImplPerRequest)
	k := newFakeKubelet(t, nil)
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	k.start(ctx)
	out := filepath.Join(t.TempDir(), "run")
	code, stdout, stderr := runOnCluster(ctx, t, k, k8sAttackArgs(url, out, 2, "--duration", "1s", "--http-rate", "100", "--ws-rate", "100", "--worker-cpu", "250m")...)
	if code != exitOK {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	for _, err := range k.done(t) {
		if err != nil {
			t.Errorf("worker: %v", err)
		}
	}
	if left := k.jobs(t); len(left) != 0 {
		t.Fatalf("jobs left: %v", left)
	}
	k.mu.Lock()
	job := k.job
	k.mu.Unlock()
	if job == nil || !strings.HasPrefix(job.Name, k8s.DefaultName+"-") || job.Namespace != k8sTestNS || *job.Spec.Completions != 2 ||
		*job.Spec.CompletionMode != batchv1.IndexedCompletion {
		t.Fatalf("job %+v", job)
	}
	if cpu := job.Spec.Template.Spec.Containers[0].Resources.Requests.Cpu().String(); cpu != "250m" {
		t.Errorf("worker cpu request %s, want the flag's 250m", cpu)
	}
	if !strings.Contains(stderr, "launched job "+job.Name) {
		t.Errorf("stderr %q does not name the job", stderr)
	}
	seg, err := results.ReadSegment(out)
	if err != nil {
		t.Fatal(err)
	}
	if len(seg.Manifest.Generators) != 2 {
		t.Fatalf("%d generators in the manifest", len(seg.Manifest.Generators))
	}
	var sum int64
	for i := range 2 {
		sh, err := results.ReadSegment(results.ShardDir(out, i))
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range sh.Protocols {
			sum += p.Requests
		}
	}
	var total int64
	for _, p := range seg.Protocols {
		total += p.Requests
	}
	// A constant-free Poisson schedule of 1 s at 200 chats/s: some chats,
	// and the shards add up to the merge.
	if total == 0 || sum != total {
		t.Fatalf("merged %d chats, shards %d", total, sum)
	}
}

// A worker pod that fails mid-run, the Job's Failed condition, or the Job
// deleted by someone else ends the attack with exit 3 naming the shard (or
// the failed index), long before the run's end; the Job is deleted and no
// worker is left.
func TestK8sFailedPodEndsTheRun(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a load")
	}
	url := targetServer(t, targets.ImplPerRequest)
	for _, c := range []struct {
		name string
		fail func(ctx context.Context, client *fake.Clientset, job string) error
		want []string
	}{
		{"pod failed", func(ctx context.Context, client *fake.Clientset, job string) error {
			p := k8sTestPod(job, 1, corev1.PodFailed)
			p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: k8s.WorkerContainer,
				State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 137, Reason: "OOMKilled"}}}}
			_, err := client.CoreV1().Pods(k8sTestNS).UpdateStatus(ctx, p, metav1.UpdateOptions{})
			return err
		}, []string{"shard 1 (pod ", "OOMKilled"}},
		{"job failed", func(ctx context.Context, client *fake.Clientset, job string) error {
			j, err := client.BatchV1().Jobs(k8sTestNS).Get(ctx, job, metav1.GetOptions{})
			if err != nil {
				return err
			}
			idx := "1"
			j.Status.FailedIndexes = &idx
			j.Status.Conditions = append(j.Status.Conditions, batchv1.JobCondition{Type: batchv1.JobFailed, Status: corev1.ConditionTrue,
				Reason: "PodFailurePolicy", Message: "Container worker for pod perf/x failed with exit code 3"})
			_, err = client.BatchV1().Jobs(k8sTestNS).UpdateStatus(ctx, j, metav1.UpdateOptions{})
			return err
		}, []string{"PodFailurePolicy", "failed indexes 1"}},
		{"job deleted", func(ctx context.Context, client *fake.Clientset, job string) error {
			return client.BatchV1().Jobs(k8sTestNS).Delete(ctx, job, metav1.DeleteOptions{})
		}, []string{"worker job deleted"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			k := newFakeKubelet(t, nil)
			ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
			defer cancel()
			k.start(ctx)
			failed := make(chan time.Time, 1)
			go func() {
				for ctx.Err() == nil && k.joinedCount() < 2 {
					time.Sleep(10 * time.Millisecond)
				}
				time.Sleep(time.Second) // into the segment
				k.mu.Lock()
				name := k.job.Name
				k.mu.Unlock()
				failed <- time.Now()
				if err := c.fail(ctx, k.client, name); err != nil {
					t.Errorf("fail: %v", err)
				}
			}()
			out := filepath.Join(t.TempDir(), "run")
			code, stdout, stderr := runOnCluster(ctx, t, k, k8sAttackArgs(url, out, 2, "--duration", "20s", "--http-rate", "50", "--ws-rate", "50")...)
			ended := time.Now()
			t.Log(strings.TrimSpace(stderr))
			if code != exitRunError {
				t.Fatalf("exit %d, want 3\n%s\n%s", code, stdout, stderr)
			}
			for _, w := range c.want {
				if !strings.Contains(stderr, w) {
					t.Fatalf("stderr %q does not say %q", stderr, w)
				}
			}
			select {
			case at := <-failed:
				if ended.Sub(at) > 10*time.Second {
					t.Fatalf("ended %s after the failure", ended.Sub(at))
				}
			default:
				t.Fatal("the run ended before the failure")
			}
			k.done(t)
			if left := k.jobs(t); len(left) != 0 {
				t.Fatalf("jobs left: %v", left)
			}
		})
	}
}

// Workers that are not all running and joined within --start-timeout end
// the run with exit 3 naming the missing index; the Job is deleted and the
// worker that had joined is let go.
func TestK8sStartTimeout(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for a start timeout")
	}
	k := newFakeKubelet(t, func(i int) bool { return i != 1 })
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	k.start(ctx)
	out := filepath.Join(t.TempDir(), "run")
	start := time.Now()
	code, stdout, stderr := runOnCluster(ctx, t, k, k8sAttackArgs("http://127.0.0.1:9", out, 3, "--start-timeout", "2s")...)
	t.Log(strings.TrimSpace(stderr))
	if code != exitRunError || !strings.Contains(stderr, "worker 1 of job ") || !strings.Contains(stderr, "did not join within 2s") ||
		!strings.Contains(stderr, "Unschedulable") {
		t.Fatalf("exit %d, want 3 naming worker 1 unscheduled\n%s\n%s", code, stdout, stderr)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("took %s", d)
	}
	for _, err := range k.done(t) {
		if err != nil && !errors.Is(err, context.Canceled) && !strings.Contains(err.Error(), "lost") {
			t.Errorf("worker: %v", err)
		}
	}
	if left := k.jobs(t); len(left) != 0 {
		t.Fatalf("jobs left: %v", left)
	}
}

// Ctrl-C (the command's context cancelled) mid-run deletes the Job too.
func TestK8sInterruptDeletesTheJob(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a load")
	}
	url := targetServer(t, targets.ImplPerRequest)
	k := newFakeKubelet(t, nil)
	kctx, kcancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer kcancel()
	k.start(kctx)
	ctx, cancel := context.WithCancel(kctx)
	go func() {
		for ctx.Err() == nil && k.joinedCount() < 2 {
			time.Sleep(10 * time.Millisecond)
		}
		time.Sleep(time.Second)
		cancel()
	}()
	out := filepath.Join(t.TempDir(), "run")
	code, stdout, stderr := runOnCluster(ctx, t, k, k8sAttackArgs(url, out, 2, "--duration", "20s", "--http-rate", "50", "--ws-rate", "50")...)
	if code != exitRunError || !strings.Contains(stderr, "interrupted") {
		t.Fatalf("exit %d, want 3 interrupted\n%s\n%s", code, stdout, stderr)
	}
	k.done(t)
	if left := k.jobs(t); len(left) != 0 {
		t.Fatalf("jobs left: %v", left)
	}
}

// Bad k8s:N usage exits 2 before any Job is created (the streams have no
// Kubernetes client: reaching it would exit 3).
func TestK8sGeneratorsUsage(t *testing.T) {
	t.Parallel()
	const u = "http://127.0.0.1:9"
	base := []string{"--generators", "k8s:2", "--image", "lb:1", "--coordinator-address", "10.0.0.5:7070"}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"attack", u, "--generators", "k8s:2", "--image", "lb:1"}, "--coordinator-address is required"},
		{[]string{"attack", u, "--generators", "k8s:2", "--coordinator-address", "10.0.0.5:7070"}, "--image must not be empty"},
		{[]string{"attack", u, "--generators", "k8s:0"}, "at least 1"},
		{append([]string{"attack", u, "--namespace", "Bad_NS"}, base...), "--namespace must be a DNS-1123 label"},
		{append([]string{"attack", u, "--coordinator-address", "http://x:1"}, base[:4]...), "--coordinator-address must be HOST:PORT"},
		{append([]string{"attack", u, "--start-timeout", "0s"}, base...), "--start-timeout must be positive"},
		{append([]string{"attack", u, "--worker-cpu", "lots"}, base...), "--worker-cpu "},
		{append([]string{"attack", u, "--coordinator-listen", "7070"}, base...), "--coordinator-listen must be HOST:PORT"},
		{[]string{"attack", u, "--image", "lb:1"}, "--image applies to --generators k8s:N only"},
		{[]string{"attack", u, "--generators", "local:2", "--namespace", "x"}, "--namespace applies to --generators k8s:N only"},
		{append([]string{"compare"}, base...), "needs --baseline and --candidate URLs"},
		{[]string{"compare", "--namespace", "x", "--baseline", u, "--candidate", u}, "--namespace applies to --generators k8s:N only"},
	} {
		code, _, stderr := runCmd(context.Background(), t, c.args...)
		if code != exitUsage || !strings.Contains(stderr, c.want) {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", c.args, code, stderr, c.want)
		}
	}
}

// Without a Kubernetes client (kubeconfig unreadable), k8s:N is a run
// error, after the usage checks.
func TestK8sGeneratorsNoClient(t *testing.T) {
	t.Parallel()
	code, _, stderr := runCmd(context.Background(), t, "attack", "http://127.0.0.1:9", "--generators", "k8s:2", "--image", "lb:1",
		"--coordinator-address", "10.0.0.5:7070", "--coordinator-listen", "127.0.0.1:0")
	if code != exitRunError || !strings.Contains(stderr, "no Kubernetes client") {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
}

func TestCoordinatorAddress(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ address, listen, want string }{
		{"10.0.0.5:9000", ":7070", "10.0.0.5:9000"},
		{"coord.perf.svc", ":7070", "coord.perf.svc:7070"},
		{"10.0.0.5", "127.0.0.1:0", "10.0.0.5:0"},
		{"::1", "[::]:7070", "[::1]:7070"},
	} {
		got, err := coordinatorAddress(c.address, c.listen)
		if err != nil || got != c.want {
			t.Errorf("coordinatorAddress(%q, %q) = %q, %v; want %q", c.address, c.listen, got, err, c.want)
		}
	}
	if _, err := coordinatorAddress("", ":7070"); err == nil {
		t.Error("an empty address was accepted")
	}
	if _, err := coordinatorAddress("host", "nope"); err == nil {
		t.Error("an address without a port and a listen address without one were accepted")
	}
}

// compare --generators k8s:2 on two target URLs: every round of both sides
// is run by the Job's two workers and merged; the Job is deleted at the end.
func TestCompareOnK8sGenerators(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a short compare")
	}
	base, cand := targetServer(t, targets.ImplPerRequest), targetServer(t, targets.ImplPerRequest)
	k := newFakeKubelet(t, nil)
	ctx, cancel := context.WithTimeout(t.Context(), 120*time.Second)
	defer cancel()
	k.start(ctx)
	dir := filepath.Join(t.TempDir(), "run")
	code, stdout, stderr := runOnCluster(ctx, t, k, shortCompare(dir, "--baseline", base, "--candidate", cand,
		"--generators", "k8s:2", "--image", "registry.example/loadbench:test",
		"--coordinator-listen", "127.0.0.1:0", "--coordinator-address", "127.0.0.1")...)
	if code != exitOK && code != exitInconclusive {
		t.Fatalf("exit %d, want pass (0) or inconclusive (4)\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	sum := readSummary(t, dir)
	if sum.Rounds != 5 || sum.Verdict == results.Fail {
		t.Fatalf("rounds %d, verdict %s", sum.Rounds, sum.Verdict)
	}
	for _, build := range []string{results.Baseline, results.Candidate} {
		for round := 1; round <= 5; round++ {
			m, err := results.ReadSegment(results.SegmentDir(dir, build, round))
			if err != nil {
				t.Fatal(err)
			}
			if len(m.Manifest.Generators) != 2 {
				t.Fatalf("%s round %d: generators %v", build, round, m.Manifest.Generators)
			}
		}
	}
	for _, err := range k.done(t) {
		if err != nil {
			t.Errorf("worker: %v", err)
		}
	}
	if left := k.jobs(t); len(left) != 0 {
		t.Fatalf("jobs left: %v", left)
	}
}
