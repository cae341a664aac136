package k8s

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	batchinformers "k8s.io/client-go/informers/batch/v1"
	coreinformers "k8s.io/client-go/informers/core/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
)

// DefaultStartTimeout is how long Wait gives the worker pods to be running
// when the Launcher sets none: long enough for a cluster autoscaler to add a
// node and for the node to pull the image.
const DefaultStartTimeout = 5 * time.Minute

// Errors of Run.Wait, each wrapped with the details; all are run errors,
// none a usage error.
var (
	// ErrFailed: a worker pod failed, or the Job has the Failed (or
	// FailureTarget) condition. A *FailedError names the worker.
	ErrFailed = errors.New("worker job failed")
	// ErrDeleted: the Job was deleted (or is being deleted) before it
	// completed.
	ErrDeleted = errors.New("worker job deleted")
	// ErrNotStarted: not every worker pod was running within the start
	// timeout. The message names the pods still pending.
	ErrNotStarted = errors.New("worker pods not started")
)

// FailedError is the error of Wait when a worker or the Job failed.
type FailedError struct {
	Job string
	// Index is the failed worker's completion index, -1 when the failure is
	// the Job's own condition (or the failed pod has no index).
	Index int
	// Pod is the failed pod's name, empty when the failure is the Job's
	// condition.
	Pod string
	// Reason says why: the container's exit code and reason, or the Job
	// condition's reason and message.
	Reason string
}

func (e *FailedError) Error() string {
	switch {
	case e.Index < 0 && e.Pod == "":
		return fmt.Sprintf("k8s: job %s failed: %s", e.Job, e.Reason)
	case e.Index < 0:
		return fmt.Sprintf("k8s: job %s: pod %s (no completion index) failed: %s", e.Job, e.Pod, e.Reason)
	}
	return fmt.Sprintf("k8s: job %s: worker %d (pod %s) failed: %s", e.Job, e.Index, e.Pod, e.Reason)
}

func (e *FailedError) Is(target error) bool { return target == ErrFailed }

// Launcher launches worker Jobs into one namespace.
type Launcher struct {
	Client    kubernetes.Interface
	Namespace string
	// StartTimeout is how long after Launch every worker pod must be
	// running (or finished); zero means DefaultStartTimeout.
	StartTimeout time.Duration
}

// Run is one launched Job.
type Run struct {
	client    kubernetes.Interface
	namespace string
	name      string
	uid       string
	workers   int
	launched  time.Time
	timeout   time.Duration
}

// Name is the name of the Job.
func (r *Run) Name() string { return r.name }

// Launch creates job in the Launcher's namespace (a job without a
// namespace gets it; one with another namespace is refused) and returns
// the Run that watches and deletes it. The start timeout counts from here.
func (l *Launcher) Launch(ctx context.Context, job *batchv1.Job) (*Run, error) {
	if l.Client == nil {
		return nil, errors.New("k8s launch: no client")
	}
	if job == nil {
		return nil, errors.New("k8s launch: no job")
	}
	ns := l.Namespace
	if ns == "" {
		ns = job.Namespace
	}
	if ns == "" {
		ns = DefaultNamespace
	}
	if job.Namespace != "" && job.Namespace != ns {
		return nil, fmt.Errorf("k8s launch: job %s is for namespace %s, the launcher for %s", job.Name, job.Namespace, ns)
	}
	job = job.DeepCopy()
	job.Namespace = ns
	workers := 1
	if job.Spec.Completions != nil {
		workers = int(*job.Spec.Completions)
	}
	created, err := l.Client.BatchV1().Jobs(ns).Create(ctx, job, metav1.CreateOptions{})
	if err != nil {
		return nil, fmt.Errorf("k8s launch: creating job %s in namespace %s: %w", job.Name, ns, err)
	}
	timeout := l.StartTimeout
	if timeout <= 0 {
		timeout = DefaultStartTimeout
	}
	return &Run{
		client:    l.Client,
		namespace: ns,
		name:      created.Name,
		uid:       string(created.UID),
		workers:   workers,
		launched:  time.Now(),
		timeout:   timeout,
	}, nil
}

// Delete deletes the Job with background propagation: the API server
// removes the Job at once and the garbage collector its pods. A Job already
// gone is not an error.
func (r *Run) Delete(ctx context.Context) error {
	policy := metav1.DeletePropagationBackground
	err := r.client.BatchV1().Jobs(r.namespace).Delete(ctx, r.name, metav1.DeleteOptions{PropagationPolicy: &policy})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("k8s delete: job %s: %w", r.name, err)
	}
	return nil
}

// Wait watches the Job and its pods until the Job completes (nil), a
// worker pod or the Job fails (a *FailedError, which is ErrFailed and names
// the failed worker's index), the Job is deleted (ErrDeleted), not every
// worker pod is running by the start timeout (ErrNotStarted, naming the
// pending pods), or ctx ends (its error). It does not delete the Job.
func (r *Run) Wait(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	jobs := batchinformers.NewFilteredJobInformer(r.client, r.namespace, 0, nil, func(o *metav1.ListOptions) {
		o.FieldSelector = fields.OneTermEqualSelector("metadata.name", r.name).String()
	})
	pods := coreinformers.NewFilteredPodInformer(r.client, r.namespace, 0, nil, func(o *metav1.ListOptions) {
		o.LabelSelector = labels.Set{batchv1.JobNameLabel: r.name}.String()
	})
	poke := make(chan struct{}, 1)
	notify := func() {
		select {
		case poke <- struct{}{}:
		default:
		}
	}
	var mu sync.Mutex
	deleted := false
	_, err := jobs.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { notify() },
		UpdateFunc: func(any, any) { notify() },
		DeleteFunc: func(obj any) {
			if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = d.Obj
			}
			if j, ok := obj.(*batchv1.Job); ok && r.isJob(j) {
				mu.Lock()
				deleted = true
				mu.Unlock()
			}
			notify()
		},
	})
	if err != nil {
		return fmt.Errorf("k8s wait: %w", err)
	}
	if _, err := pods.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { notify() },
		UpdateFunc: func(any, any) { notify() },
		DeleteFunc: func(any) { notify() },
	}); err != nil {
		return fmt.Errorf("k8s wait: %w", err)
	}
	var wg sync.WaitGroup
	defer wg.Wait() // after cancel: the informers stop before Wait returns
	defer cancel()
	for _, inf := range []cache.SharedIndexInformer{jobs, pods} {
		wg.Go(func() { inf.RunWithContext(ctx) })
	}
	if !cache.WaitForCacheSync(ctx.Done(), jobs.HasSynced, pods.HasSynced) {
		return fmt.Errorf("k8s wait: job %s: %w", r.name, context.Cause(ctx))
	}

	startBy := time.NewTimer(time.Until(r.launched.Add(r.timeout)))
	defer startBy.Stop()
	started, timedOut := false, false
	for {
		mu.Lock()
		gone := deleted
		mu.Unlock()
		job := r.findJob(jobs.GetStore().List())
		if gone || job == nil || job.DeletionTimestamp != nil {
			return fmt.Errorf("k8s: job %s: %w", r.name, ErrDeleted)
		}
		st := r.state(job, pods.GetStore().List())
		if st.failed != nil {
			return st.failed
		}
		if st.complete {
			return nil
		}
		if !started && len(st.pending) == 0 {
			started = true // every worker has run: the timeout no longer applies
		}
		if !started && timedOut {
			return fmt.Errorf("k8s: job %s: %w within %s: %s", r.name, ErrNotStarted, r.timeout, strings.Join(st.pending, "; "))
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("k8s wait: job %s: %w", r.name, context.Cause(ctx))
		case <-poke:
		case <-startBy.C:
			timedOut = true
		}
	}
}

// isJob reports whether j is this run's Job (the fake clientset's watches
// ignore field selectors, and a Job of the same name may be a new one).
func (r *Run) isJob(j *batchv1.Job) bool {
	return j.Name == r.name && j.Namespace == r.namespace && (r.uid == "" || string(j.UID) == r.uid)
}

func (r *Run) findJob(objs []any) *batchv1.Job {
	for _, o := range objs {
		if j, ok := o.(*batchv1.Job); ok && r.isJob(j) {
			return j
		}
	}
	return nil
}

// isPod reports whether p is a pod of this run's Job.
func (r *Run) isPod(p *corev1.Pod) bool {
	if p.Namespace != r.namespace || p.Labels[batchv1.JobNameLabel] != r.name {
		return false
	}
	uid, ok := p.Labels[batchv1.ControllerUidLabel]
	return r.uid == "" || !ok || uid == r.uid
}

// state is what the Job and its pods say now.
type state struct {
	complete bool
	failed   *FailedError
	// pending describes each index with no pod running or finished yet.
	pending []string
}

func (r *Run) state(job *batchv1.Job, objs []any) state {
	var st state
	byIndex := map[int]*corev1.Pod{}
	var failed []*corev1.Pod
	for _, o := range objs {
		p, ok := o.(*corev1.Pod)
		if !ok || !r.isPod(p) {
			continue
		}
		if p.Status.Phase == corev1.PodFailed {
			failed = append(failed, p)
		}
		i := podIndex(p)
		if i < 0 {
			continue
		}
		// Of several pods of one index, the one that got furthest.
		if q := byIndex[i]; q == nil || phaseRank(p.Status.Phase) > phaseRank(q.Status.Phase) {
			byIndex[i] = p
		}
	}
	if len(failed) > 0 {
		// A pod that failed on its own before one the Job controller
		// killed after it (those have a deletion time), then the lowest
		// index, so that the error is the same however the events arrived.
		slices.SortFunc(failed, func(a, b *corev1.Pod) int {
			if da, db := a.DeletionTimestamp != nil, b.DeletionTimestamp != nil; da != db {
				if da {
					return 1
				}
				return -1
			}
			return podIndex(a) - podIndex(b)
		})
		p := failed[0]
		st.failed = &FailedError{Job: r.name, Index: podIndex(p), Pod: p.Name, Reason: podFailure(p)}
		return st
	}
	for _, c := range job.Status.Conditions {
		if c.Status != corev1.ConditionTrue {
			continue
		}
		switch c.Type {
		case batchv1.JobFailed, batchv1.JobFailureTarget:
			st.failed = &FailedError{Job: r.name, Index: -1, Reason: conditionReason(c)}
			if idx := failedIndexes(job); idx != "" {
				st.failed.Reason += " (failed indexes " + idx + ")"
			}
			return st
		case batchv1.JobComplete:
			st.complete = true
		}
	}
	if st.complete {
		return st
	}
	for i := range r.workers {
		p := byIndex[i]
		if p == nil {
			st.pending = append(st.pending, fmt.Sprintf("worker %d: no pod yet", i))
			continue
		}
		if p.Status.Phase == corev1.PodPending || p.Status.Phase == "" {
			st.pending = append(st.pending, fmt.Sprintf("worker %d: pod %s %s", i, p.Name, pendingReason(p)))
		}
	}
	return st
}

// podIndex is the completion index of p, from its annotation or (since
// Kubernetes 1.28) its label; -1 when it has neither.
func podIndex(p *corev1.Pod) int {
	v, ok := p.Annotations[batchv1.JobCompletionIndexAnnotation]
	if !ok {
		v, ok = p.Labels[batchv1.JobCompletionIndexAnnotation]
	}
	if !ok {
		return -1
	}
	i, err := strconv.Atoi(v)
	if err != nil || i < 0 {
		return -1
	}
	return i
}

func phaseRank(p corev1.PodPhase) int {
	switch p {
	case corev1.PodRunning:
		return 2
	case corev1.PodSucceeded, corev1.PodFailed:
		return 3
	case corev1.PodPending:
		return 1
	}
	return 0
}

// podFailure says why p failed: the worker container's exit, else the
// pod's own reason (Evicted, DeadlineExceeded, ...).
func podFailure(p *corev1.Pod) string {
	for _, cs := range p.Status.ContainerStatuses {
		if t := cs.State.Terminated; t != nil && cs.Name == WorkerContainer {
			s := fmt.Sprintf("container %s exited with code %d", cs.Name, t.ExitCode)
			if t.Reason != "" {
				s += " (" + t.Reason + ")"
			}
			if m := firstLine(t.Message); m != "" {
				s += ": " + m
			}
			return s
		}
	}
	for _, cs := range p.Status.ContainerStatuses {
		if t := cs.State.Terminated; t != nil && t.ExitCode != 0 {
			return fmt.Sprintf("container %s exited with code %d", cs.Name, t.ExitCode)
		}
	}
	s := "pod failed"
	if p.Status.Reason != "" {
		s += ": " + p.Status.Reason
	}
	if m := firstLine(p.Status.Message); m != "" {
		s += ": " + m
	}
	return s
}

// pendingReason says why a pending pod is not running: unscheduled (with
// the scheduler's message), or a container waiting (ImagePullBackOff, ...).
func pendingReason(p *corev1.Pod) string {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse {
			s := "unscheduled"
			if c.Reason != "" {
				s += " (" + c.Reason + ")"
			}
			if m := firstLine(c.Message); m != "" {
				s += ": " + m
			}
			return s
		}
	}
	if p.Spec.NodeName == "" {
		return "unscheduled"
	}
	for _, cs := range p.Status.ContainerStatuses {
		if w := cs.State.Waiting; w != nil && w.Reason != "" {
			return "on node " + p.Spec.NodeName + ", container " + cs.Name + " waiting: " + w.Reason
		}
	}
	return "pending on node " + p.Spec.NodeName
}

func conditionReason(c batchv1.JobCondition) string {
	s := string(c.Type)
	if c.Reason != "" {
		s += ": " + c.Reason
	}
	if m := firstLine(c.Message); m != "" {
		s += ": " + m
	}
	return s
}

func failedIndexes(job *batchv1.Job) string {
	if job.Status.FailedIndexes == nil {
		return ""
	}
	return *job.Status.FailedIndexes
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return strings.TrimSpace(s[:i])
	}
	return s
}
