package k8s

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

// In these tests the fake clientset stands in for the API server and the
// test for the Job controller and the kubelets: it creates the pods, moves
// them through their phases and sets the Job's conditions.

const testNS = "perf"

// launch creates the manifests' Job for workers in a fake clientset and
// returns the client, the run and a channel with Wait's result.
func launch(t *testing.T, workers int, startTimeout time.Duration, beforeWait func(*fake.Clientset, *Run)) (*fake.Clientset, *Run, <-chan error) {
	t.Helper()
	b, err := Manifests(ManifestConfig{Name: "lb", Namespace: testNS, Workers: workers, Image: "loadbench", Coordinator: "coord:7000"})
	if err != nil {
		t.Fatal(err)
	}
	client := fake.NewClientset()
	l := &Launcher{Client: client, Namespace: testNS, StartTimeout: startTimeout}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	t.Cleanup(cancel)
	run, err := l.Launch(ctx, b.Job)
	if err != nil {
		t.Fatal(err)
	}
	if run.Name() != "lb" {
		t.Fatalf("run of %q", run.Name())
	}
	if _, err := client.BatchV1().Jobs(testNS).Get(ctx, "lb", metav1.GetOptions{}); err != nil {
		t.Fatalf("job not created: %v", err)
	}
	if beforeWait != nil {
		beforeWait(client, run)
	}
	done := make(chan error, 1)
	go func() { done <- run.Wait(ctx) }()
	return client, run, done
}

// watching waits until Wait watches both the Job and its pods, so that what
// the test does next reaches it as watch events rather than in its first
// list.
func watching(t *testing.T, client *fake.Clientset) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		seen := map[string]bool{}
		for _, a := range client.Actions() {
			if a.GetVerb() == "watch" {
				seen[a.GetResource().Resource] = true
			}
		}
		if seen["jobs"] && seen["pods"] {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatal("Wait never watched the job and its pods")
}

// result waits for Wait's result.
func result(t *testing.T, done <-chan error) error {
	t.Helper()
	select {
	case err := <-done:
		return err
	case <-time.After(20 * time.Second):
		t.Fatal("Wait did not return")
		return nil
	}
}

// pod is a pod of job as the Job controller makes it, with the worker's
// index in the annotation and the label.
func pod(job string, index int, phase corev1.PodPhase) *corev1.Pod {
	i := strconv.Itoa(index)
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Name:        job + "-" + i + "-x7k2p",
			Namespace:   testNS,
			Labels:      map[string]string{batchv1.JobNameLabel: job, batchv1.JobCompletionIndexAnnotation: i},
			Annotations: map[string]string{batchv1.JobCompletionIndexAnnotation: i},
		},
		Spec:   corev1.PodSpec{NodeName: "node-1"},
		Status: corev1.PodStatus{Phase: phase},
	}
}

func createPod(t *testing.T, client *fake.Clientset, p *corev1.Pod) {
	t.Helper()
	if _, err := client.CoreV1().Pods(p.Namespace).Create(t.Context(), p, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

func updatePod(t *testing.T, client *fake.Clientset, p *corev1.Pod) {
	t.Helper()
	if _, err := client.CoreV1().Pods(p.Namespace).UpdateStatus(t.Context(), p, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// setCondition sets a condition on the Job through the status subresource,
// as the Job controller does.
func setCondition(t *testing.T, client *fake.Clientset, c batchv1.JobCondition) {
	t.Helper()
	job, err := client.BatchV1().Jobs(testNS).Get(t.Context(), "lb", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	c.Status = corev1.ConditionTrue
	job.Status.Conditions = append(job.Status.Conditions, c)
	if _, err := client.BatchV1().Jobs(testNS).UpdateStatus(t.Context(), job, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
}

func TestLaunchWaitSucceeds(t *testing.T) {
	t.Parallel()
	client, run, done := launch(t, 3, time.Minute, nil)
	watching(t, client)
	for i := range 3 {
		createPod(t, client, pod("lb", i, corev1.PodPending))
	}
	// A failed pod of another Job in the namespace is not this run's.
	createPod(t, client, pod("other", 0, corev1.PodFailed))
	for i := range 3 {
		updatePod(t, client, pod("lb", i, corev1.PodRunning))
	}
	for i := range 3 {
		updatePod(t, client, pod("lb", i, corev1.PodSucceeded))
	}
	setCondition(t, client, batchv1.JobCondition{Type: batchv1.JobSuccessCriteriaMet})
	select {
	case err := <-done:
		t.Fatalf("Wait returned %v before the Job was complete", err)
	case <-time.After(50 * time.Millisecond):
	}
	setCondition(t, client, batchv1.JobCondition{Type: batchv1.JobComplete})
	if err := result(t, done); err != nil {
		t.Fatalf("Wait: %v", err)
	}
	if err := run.Delete(t.Context()); err != nil {
		t.Fatal(err)
	}
}

func TestLaunchWaitFailedPod(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		edit  func(*corev1.Pod)
		index int
		want  []string
	}{
		{"worker exits 1", func(p *corev1.Pod) {
			p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: WorkerContainer, State: corev1.ContainerState{
				Terminated: &corev1.ContainerStateTerminated{ExitCode: 1, Reason: "Error", Message: "coordinator unreachable\nmore"}}}}
		}, 2, []string{"worker 2 (pod lb-2-x7k2p)", "exited with code 1 (Error): coordinator unreachable"}},
		{"evicted, index only in the label", func(p *corev1.Pod) {
			delete(p.Annotations, batchv1.JobCompletionIndexAnnotation)
			p.Status.Reason, p.Status.Message = "Evicted", "The node was low on resource: memory."
		}, 2, []string{"worker 2 ", "pod failed: Evicted: The node was low on resource: memory."}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			client, _, done := launch(t, 3, time.Minute, nil)
			watching(t, client)
			for i := range 3 {
				createPod(t, client, pod("lb", i, corev1.PodRunning))
			}
			p := pod("lb", 2, corev1.PodFailed)
			tc.edit(p)
			updatePod(t, client, p)
			err := result(t, done)
			if !errors.Is(err, ErrFailed) {
				t.Fatalf("Wait: %v, want ErrFailed", err)
			}
			fe, ok := errors.AsType[*FailedError](err)
			if !ok || fe.Index != tc.index || fe.Job != "lb" {
				t.Fatalf("Wait: %#v, want the failure of worker %d", err, tc.index)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("%q lacks %q", err, w)
				}
			}
		})
	}
}

// TestLaunchWaitNamesTheFirstFailure: of a worker that failed on its own
// and one the Job controller killed after it (a lower index, being
// deleted), Wait names the first.
func TestLaunchWaitNamesTheFirstFailure(t *testing.T) {
	t.Parallel()
	_, _, done := launch(t, 3, time.Minute, func(client *fake.Clientset, _ *Run) {
		killed := pod("lb", 0, corev1.PodFailed)
		killed.DeletionTimestamp = &metav1.Time{Time: time.Now()}
		killed.Finalizers = []string{batchv1.JobTrackingFinalizer}
		killed.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: WorkerContainer, State: corev1.ContainerState{
			Terminated: &corev1.ContainerStateTerminated{ExitCode: 143, Reason: "Error"}}}}
		createPod(t, client, killed)
		createPod(t, client, pod("lb", 1, corev1.PodRunning))
		first := pod("lb", 2, corev1.PodFailed)
		first.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: WorkerContainer, State: corev1.ContainerState{
			Terminated: &corev1.ContainerStateTerminated{ExitCode: 1, Reason: "Error"}}}}
		createPod(t, client, first)
	})
	err := result(t, done)
	if fe, ok := errors.AsType[*FailedError](err); !ok || fe.Index != 2 {
		t.Fatalf("Wait: %v, want worker 2 named", err)
	}
}

func TestLaunchWaitJobFailedCondition(t *testing.T) {
	t.Parallel()
	client, _, done := launch(t, 2, time.Minute, nil)
	watching(t, client)
	job, err := client.BatchV1().Jobs(testNS).Get(t.Context(), "lb", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	job.Status.FailedIndexes = ptr("1")
	job.Status.Conditions = []batchv1.JobCondition{{Type: batchv1.JobFailed, Status: corev1.ConditionTrue,
		Reason: batchv1.JobReasonMaxFailedIndexesExceeded, Message: "Job has exceeded the specified maximal number of failed indexes"}}
	if _, err := client.BatchV1().Jobs(testNS).UpdateStatus(t.Context(), job, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	err = result(t, done)
	fe, ok := errors.AsType[*FailedError](err)
	if !ok || fe.Index != -1 || !errors.Is(err, ErrFailed) {
		t.Fatalf("Wait: %v", err)
	}
	if !strings.Contains(err.Error(), "MaxFailedIndexesExceeded") || !strings.Contains(err.Error(), "failed indexes 1") {
		t.Errorf("%q", err)
	}
}

func TestLaunchWaitJobDeleted(t *testing.T) {
	t.Parallel()
	client, run, done := launch(t, 2, time.Minute, nil)
	watching(t, client)
	createPod(t, client, pod("lb", 0, corev1.PodRunning))
	if err := run.Delete(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := result(t, done); !errors.Is(err, ErrDeleted) || !strings.Contains(err.Error(), "job lb") {
		t.Fatalf("Wait: %v, want ErrDeleted", err)
	}
	// Delete asked for background propagation, and the Job is gone.
	var deletes int
	for _, a := range client.Actions() {
		d, ok := a.(k8stesting.DeleteAction)
		if !ok || d.GetResource().Resource != "jobs" {
			continue
		}
		deletes++
		if p := d.GetDeleteOptions().PropagationPolicy; p == nil || *p != metav1.DeletePropagationBackground {
			t.Errorf("propagation policy %v", p)
		}
	}
	if deletes != 1 {
		t.Errorf("%d deletes", deletes)
	}
	if _, err := client.BatchV1().Jobs(testNS).Get(t.Context(), "lb", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("job still there: %v", err)
	}
	// Deleting again is not an error.
	if err := run.Delete(t.Context()); err != nil {
		t.Errorf("second Delete: %v", err)
	}
}

func TestLaunchWaitJobDeletedBeforeWait(t *testing.T) {
	t.Parallel()
	_, _, done := launch(t, 1, time.Minute, func(_ *fake.Clientset, r *Run) {
		if err := r.Delete(t.Context()); err != nil {
			t.Fatal(err)
		}
	})
	if err := result(t, done); !errors.Is(err, ErrDeleted) {
		t.Fatalf("Wait: %v, want ErrDeleted", err)
	}
}

func TestLaunchWaitUnscheduledPastStartTimeout(t *testing.T) {
	t.Parallel()
	start := time.Now()
	const timeout = 200 * time.Millisecond
	_, _, done := launch(t, 3, timeout, func(client *fake.Clientset, _ *Run) {
		createPod(t, client, pod("lb", 0, corev1.PodRunning))
		unscheduled := pod("lb", 1, corev1.PodPending)
		unscheduled.Spec.NodeName = ""
		unscheduled.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionFalse,
			Reason: corev1.PodReasonUnschedulable, Message: "0/3 nodes are available: 3 Insufficient cpu."}}
		createPod(t, client, unscheduled)
		// Worker 2 has no pod at all (a quota refused it, say).
	})
	err := result(t, done)
	if !errors.Is(err, ErrNotStarted) {
		t.Fatalf("Wait: %v, want ErrNotStarted", err)
	}
	if took := time.Since(start); took < timeout {
		t.Errorf("gave up after %s, before the start timeout %s", took, timeout)
	}
	msg := err.Error()
	for _, w := range []string{"worker 1: pod lb-1-x7k2p unscheduled (Unschedulable): 0/3 nodes are available: 3 Insufficient cpu.", "worker 2: no pod yet", "200ms"} {
		if !strings.Contains(msg, w) {
			t.Errorf("%q lacks %q", msg, w)
		}
	}
	if strings.Contains(msg, "worker 0") {
		t.Errorf("%q names the running worker", msg)
	}
}

func TestLaunchWaitImagePullPastStartTimeout(t *testing.T) {
	t.Parallel()
	_, _, done := launch(t, 1, 50*time.Millisecond, func(client *fake.Clientset, _ *Run) {
		p := pod("lb", 0, corev1.PodPending)
		p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: WorkerContainer,
			State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ImagePullBackOff"}}}}
		createPod(t, client, p)
	})
	err := result(t, done)
	if !errors.Is(err, ErrNotStarted) || !strings.Contains(err.Error(), "worker 0: pod lb-0-x7k2p on node node-1, container worker waiting: ImagePullBackOff") {
		t.Fatalf("Wait: %v", err)
	}
}

// TestLaunchWaitStartedWorkersOutliveStartTimeout: once every worker has
// run, the start timeout no longer applies.
func TestLaunchWaitStartedWorkersOutliveStartTimeout(t *testing.T) {
	t.Parallel()
	const timeout = 100 * time.Millisecond
	client, _, done := launch(t, 2, timeout, func(client *fake.Clientset, _ *Run) {
		createPod(t, client, pod("lb", 0, corev1.PodRunning))
		createPod(t, client, pod("lb", 1, corev1.PodSucceeded))
	})
	watching(t, client)
	select {
	case err := <-done:
		t.Fatalf("Wait returned %v with every worker started", err)
	case <-time.After(3 * timeout):
	}
	setCondition(t, client, batchv1.JobCondition{Type: batchv1.JobComplete})
	if err := result(t, done); err != nil {
		t.Fatalf("Wait: %v", err)
	}
}

func TestLaunchWaitContextEnds(t *testing.T) {
	t.Parallel()
	b, err := Manifests(ManifestConfig{Name: "lb", Namespace: testNS, Workers: 1, Image: "loadbench", Coordinator: "coord:7000"})
	if err != nil {
		t.Fatal(err)
	}
	client := fake.NewClientset()
	run, err := (&Launcher{Client: client}).Launch(t.Context(), b.Job)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- run.Wait(ctx) }()
	watching(t, client)
	cancel()
	if err := result(t, done); !errors.Is(err, context.Canceled) {
		t.Fatalf("Wait: %v, want context.Canceled", err)
	}
}

func TestLaunchErrors(t *testing.T) {
	t.Parallel()
	b, err := Manifests(ManifestConfig{Name: "lb", Namespace: testNS, Workers: 1, Image: "loadbench", Coordinator: "coord:7000"})
	if err != nil {
		t.Fatal(err)
	}
	client := fake.NewClientset()
	if _, err := (&Launcher{Client: client, Namespace: "elsewhere"}).Launch(t.Context(), b.Job); err == nil ||
		!strings.Contains(err.Error(), "namespace") {
		t.Errorf("job of another namespace: %v", err)
	}
	l := &Launcher{Client: client, Namespace: testNS}
	if _, err := l.Launch(t.Context(), b.Job); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Launch(t.Context(), b.Job); !apierrors.IsAlreadyExists(err) {
		t.Errorf("second launch: %v, want AlreadyExists", err)
	}
	if _, err := l.Launch(t.Context(), nil); err == nil {
		t.Error("nil job launched")
	}
	if _, err := (&Launcher{}).Launch(t.Context(), b.Job); err == nil {
		t.Error("launched without a client")
	}
}
