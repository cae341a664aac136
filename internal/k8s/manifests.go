package k8s

import (
	"net"
	"strconv"
	"strings"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/loadbench/loadbench/internal/usage"
)

// op prefixes the errors of Manifests.
const op = "k8s manifest"

// Defaults of a ManifestConfig's empty fields.
const (
	DefaultName      = "loadbench"
	DefaultNamespace = "default"

	// DefaultWorkerCPU is a placeholder, to be sized again from the
	// generator's CPU per chat measured where the workers run. Here it comes
	// from docs/performance.md (2-CPU Xeon, go1.26.8, a trivial loopback
	// target): the generator spent 15.63 µs of CPU (user+sys) per HTTP chat
	// and 16.12 µs per WebSocket chat. For DefaultWorkerRate chats/s at the
	// larger of the two:
	//
	//	30,000 chats/s × 16.12 µs = 0.4836 CPU
	//	× 2 headroom             = 0.967 CPU  → request 1 CPU
	//
	// The headroom keeps a worker at about half of what it requested, so
	// that its send lag measures the target and not a generator short of
	// CPU. A real network, TLS and a real target cost more per chat than the
	// loopback run did.
	DefaultWorkerCPU = "1"
	// DefaultWorkerRate is the rate per worker DefaultWorkerCPU is sized
	// for, in chats per second.
	DefaultWorkerRate = 30000
	// DefaultWorkerMemory is a placeholder too: docs/performance.md measured
	// a peak RSS of 243.4 MiB for 10,000 WebSocket users (about 25 KiB per
	// user) holding 1,000 chats/s; 512 MiB leaves about twice that. It is
	// also the memory limit (see Manifests).
	DefaultWorkerMemory = "512Mi"

	// TTLSecondsAfterFinished keeps a finished Job and its pods for an hour
	// to read their logs, when the launcher did not delete it first.
	TTLSecondsAfterFinished = 3600

	// WorkerContainer is the name of the worker container in the Job's pod,
	// which the pod failure policy names.
	WorkerContainer = "worker"
)

// Labels every object carries; the Service selects the worker pods by the
// first three.
const (
	LabelName      = "app.kubernetes.io/name"
	LabelInstance  = "app.kubernetes.io/instance"
	LabelComponent = "app.kubernetes.io/component"
	LabelManagedBy = "app.kubernetes.io/managed-by"
)

// ManifestConfig is what the manifests for one set of workers are made
// from. Its empty fields take the defaults above.
type ManifestConfig struct {
	// Name names the Job and the headless Service (default "loadbench");
	// the coordinator's ServiceAccount, Role and RoleBinding are
	// Name-coordinator. A DNS-1123 label short enough that the pods' host
	// names, Name-INDEX, are labels too.
	Name string
	// Namespace is where all of it lives (default "default").
	Namespace string
	// Workers is the number of worker pods: the Job's completions and
	// parallelism. At least 1.
	Workers int
	// Image is the container image of the workers; it must have loadbench
	// on its PATH.
	Image string
	// Coordinator is the HOST:PORT the workers dial.
	Coordinator string
	// Secret, when set, names a Secret whose keys become the workers'
	// environment (envFrom), so headers written with ${VAR} expand on each
	// worker from its own environment. No secret value is ever in the
	// manifests.
	Secret string
	// WorkerCPU and WorkerMemory are each worker's resource requests, as
	// Kubernetes quantities ("1", "500m", "512Mi"); empty means
	// DefaultWorkerCPU and DefaultWorkerMemory.
	WorkerCPU, WorkerMemory string
	// Args are passed to `loadbench worker` after --coordinator, literally:
	// Kubernetes does not expand $(VAR) in them. Never put a secret value
	// here; name it as ${VAR} and set Secret.
	Args []string
}

// Bundle is what Manifests makes: everything a cluster needs for one set of
// workers.
type Bundle struct {
	// ServiceAccount, Role and RoleBinding are for a coordinator that runs
	// in the cluster and launches the workers itself.
	ServiceAccount *corev1.ServiceAccount
	Role           *rbacv1.Role
	RoleBinding    *rbacv1.RoleBinding
	// Service is headless and selects the worker pods, so each is reached
	// by name as Name-INDEX.Name.Namespace.svc.
	Service *corev1.Service
	// Job is the Indexed Job of the workers.
	Job *batchv1.Job
}

// Objects lists the bundle's objects in the order to apply them.
func (b *Bundle) Objects() []runtime.Object {
	return []runtime.Object{b.ServiceAccount, b.Role, b.RoleBinding, b.Service, b.Job}
}

// Manifests checks c and returns the objects for its workers. Its errors
// wrap usage.ErrUsage; most are *usage.FieldError naming the setting.
func Manifests(c ManifestConfig) (*Bundle, error) {
	c, cpu, mem, err := c.check()
	if err != nil {
		return nil, err
	}
	coordinator := c.Name + "-coordinator"
	b := &Bundle{
		ServiceAccount: &corev1.ServiceAccount{
			TypeMeta:   typeMeta("v1", "ServiceAccount"),
			ObjectMeta: c.meta(coordinator, "coordinator"),
		},
		Role: &rbacv1.Role{
			TypeMeta:   typeMeta("rbac.authorization.k8s.io/v1", "Role"),
			ObjectMeta: c.meta(coordinator, "coordinator"),
			Rules: []rbacv1.PolicyRule{
				{
					APIGroups: []string{"batch"},
					Resources: []string{"jobs"},
					Verbs:     []string{"create", "get", "list", "watch", "delete"},
				},
				{
					APIGroups: []string{""},
					Resources: []string{"pods", "pods/log"},
					Verbs:     []string{"get", "list", "watch"},
				},
			},
		},
		RoleBinding: &rbacv1.RoleBinding{
			TypeMeta:   typeMeta("rbac.authorization.k8s.io/v1", "RoleBinding"),
			ObjectMeta: c.meta(coordinator, "coordinator"),
			Subjects: []rbacv1.Subject{{
				Kind:      rbacv1.ServiceAccountKind,
				Name:      coordinator,
				Namespace: c.Namespace,
			}},
			RoleRef: rbacv1.RoleRef{
				APIGroup: rbacv1.GroupName,
				Kind:     "Role",
				Name:     coordinator,
			},
		},
		Service: &corev1.Service{
			TypeMeta:   typeMeta("v1", "Service"),
			ObjectMeta: c.meta(c.Name, "worker"),
			Spec: corev1.ServiceSpec{
				ClusterIP: corev1.ClusterIPNone,
				Selector:  c.labels("worker"),
				// A worker's name resolves as soon as its pod has an
				// address; the workers have no readiness probe.
				PublishNotReadyAddresses: true,
			},
		},
		Job: c.job(cpu, mem),
	}
	return b, nil
}

func (c ManifestConfig) job(cpu, mem resource.Quantity) *batchv1.Job {
	n := int32(c.Workers)
	args := []string{"worker", "--coordinator", c.Coordinator}
	for _, a := range c.Args {
		args = append(args, escapeExpansion(a))
	}
	var envFrom []corev1.EnvFromSource
	if c.Secret != "" {
		envFrom = []corev1.EnvFromSource{{
			SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: c.Secret}},
		}}
	}
	container := corev1.Container{
		Name:    WorkerContainer,
		Image:   c.Image,
		Command: []string{"loadbench"},
		Args:    args,
		// JOB_COMPLETION_INDEX, the worker's index, is set by Kubernetes
		// for every pod of an Indexed Job.
		EnvFrom: envFrom,
		Resources: corev1.ResourceRequirements{
			Requests: corev1.ResourceList{corev1.ResourceCPU: cpu, corev1.ResourceMemory: mem},
			// No CPU limit: CFS throttling would show up as the
			// generator's send lag and be charged to the target. Memory
			// is limited to the request, so a worker that outgrows it is
			// killed (and fails the run) rather than a neighbour.
			Limits: corev1.ResourceList{corev1.ResourceMemory: mem},
		},
		SecurityContext: &corev1.SecurityContext{
			AllowPrivilegeEscalation: ptr(false),
			Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
			SeccompProfile:           &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
		},
	}
	indexed := batchv1.IndexedCompletion
	return &batchv1.Job{
		TypeMeta:   typeMeta("batch/v1", "Job"),
		ObjectMeta: c.meta(c.Name, "worker"),
		Spec: batchv1.JobSpec{
			CompletionMode: &indexed,
			Completions:    &n,
			Parallelism:    &n,
			// One pod per index, never retried: a worker that fails has
			// lost its shard of the round, and the gate never decides
			// from N−1 shards. maxFailedIndexes 0 fails the whole Job on
			// the first failed index, also one failed without an exit
			// code (evicted, node lost).
			BackoffLimitPerIndex: ptr(int32(0)),
			MaxFailedIndexes:     ptr(int32(0)),
			PodFailurePolicy: &batchv1.PodFailurePolicy{Rules: []batchv1.PodFailurePolicyRule{{
				Action: batchv1.PodFailurePolicyActionFailJob,
				OnExitCodes: &batchv1.PodFailurePolicyOnExitCodesRequirement{
					ContainerName: ptr(WorkerContainer),
					Operator:      batchv1.PodFailurePolicyOnExitCodesOpNotIn,
					Values:        []int32{0},
				},
			}}},
			TTLSecondsAfterFinished: ptr(int32(TTLSecondsAfterFinished)),
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: c.labels("worker")},
				Spec: corev1.PodSpec{
					RestartPolicy: corev1.RestartPolicyNever,
					// With the headless Service of the same name, pod
					// INDEX is Name-INDEX.Name.Namespace.svc.
					Subdomain:                    c.Name,
					AutomountServiceAccountToken: ptr(false),
					Containers:                   []corev1.Container{container},
				},
			},
		},
	}
}

// check fills in the defaults of c and checks it.
func (c ManifestConfig) check() (ManifestConfig, resource.Quantity, resource.Quantity, error) {
	var zero resource.Quantity
	if c.Name == "" {
		c.Name = DefaultName
	}
	if c.Namespace == "" {
		c.Namespace = DefaultNamespace
	}
	if c.WorkerCPU == "" {
		c.WorkerCPU = DefaultWorkerCPU
	}
	if c.WorkerMemory == "" {
		c.WorkerMemory = DefaultWorkerMemory
	}
	if c.Workers < 1 {
		return c, zero, zero, usage.Fieldf(op, "workers", "must be at least 1, got %d", c.Workers)
	}
	if c.Workers > maxWorkers {
		return c, zero, zero, usage.Fieldf(op, "workers", "must be at most %d, got %d", maxWorkers, c.Workers)
	}
	if err := dnsLabel("name", c.Name); err != nil {
		return c, zero, zero, err
	}
	// Pod INDEX's host name is Name-INDEX, itself a DNS-1123 label.
	if host := c.Name + "-" + strconv.Itoa(c.Workers-1); len(host) > validation.DNS1123LabelMaxLength {
		return c, zero, zero, usage.Fieldf(op, "name", "%q is too long for %d workers: host name %q is over %d characters",
			c.Name, c.Workers, host, validation.DNS1123LabelMaxLength)
	}
	if err := dnsLabel("namespace", c.Namespace); err != nil {
		return c, zero, zero, err
	}
	if strings.TrimSpace(c.Image) == "" {
		return c, zero, zero, usage.Fieldf(op, "image", "must not be empty")
	}
	if strings.ContainsAny(c.Image, " \t\r\n") {
		return c, zero, zero, usage.Fieldf(op, "image", "must not contain white space, got %q", c.Image)
	}
	if err := checkHostPort(c.Coordinator); err != nil {
		return c, zero, zero, err
	}
	if c.Secret != "" {
		if errs := validation.IsDNS1123Subdomain(c.Secret); len(errs) > 0 {
			return c, zero, zero, usage.Fieldf(op, "secret", "must be a Secret's name (a DNS-1123 subdomain), got %q: %s", c.Secret, errs[0])
		}
	}
	cpu, err := quantity("worker cpu", c.WorkerCPU)
	if err != nil {
		return c, zero, zero, err
	}
	mem, err := quantity("worker memory", c.WorkerMemory)
	if err != nil {
		return c, zero, zero, err
	}
	return c, cpu, mem, nil
}

// maxWorkers is the API server's limit on the parallelism of an Indexed Job
// (10^5), and Workers is the parallelism.
const maxWorkers = 100000

func dnsLabel(field, v string) error {
	if errs := validation.IsDNS1123Label(v); len(errs) > 0 {
		return usage.Fieldf(op, field, "must be a DNS-1123 label, got %q: %s", v, errs[0])
	}
	return nil
}

// checkHostPort checks that v is HOST:PORT with a host name or IP address
// and a port number.
func checkHostPort(v string) error {
	bad := func(why string) error {
		return usage.Fieldf(op, "coordinator", "must be HOST:PORT, got %q: %s", v, why)
	}
	if v == "" {
		return usage.Fieldf(op, "coordinator", "must not be empty")
	}
	host, port, err := net.SplitHostPort(v)
	if err != nil {
		return bad("no port")
	}
	if host == "" {
		return bad("no host")
	}
	if net.ParseIP(host) == nil {
		if errs := validation.IsDNS1123Subdomain(host); len(errs) > 0 {
			return bad("host is neither an IP address nor a DNS name")
		}
	}
	p, err := strconv.Atoi(port)
	if err != nil || p < 1 || p > 65535 || strconv.Itoa(p) != port {
		return bad("port must be a number from 1 to 65535")
	}
	return nil
}

func quantity(field, v string) (resource.Quantity, error) {
	q, err := resource.ParseQuantity(v)
	if err != nil {
		return q, usage.Fieldf(op, field, "must be a Kubernetes quantity such as 500m or 1Gi, got %q", v)
	}
	if q.Sign() <= 0 {
		return q, usage.Fieldf(op, field, "must be positive, got %q", v)
	}
	return q, nil
}

// escapeExpansion doubles every $ of s, so that Kubernetes, which expands
// $(VAR) in a container's command and args and turns $$ into $, passes s to
// the worker as it is: ${VAR} stays ${VAR}, for the worker to expand from
// its own environment.
func escapeExpansion(s string) string { return strings.ReplaceAll(s, "$", "$$") }

func (c ManifestConfig) labels(component string) map[string]string {
	return map[string]string{
		LabelName:      "loadbench",
		LabelInstance:  c.Name,
		LabelComponent: component,
	}
}

func (c ManifestConfig) meta(name, component string) metav1.ObjectMeta {
	l := c.labels(component)
	l[LabelManagedBy] = "loadbench"
	return metav1.ObjectMeta{Name: name, Namespace: c.Namespace, Labels: l}
}

func typeMeta(apiVersion, kind string) metav1.TypeMeta {
	return metav1.TypeMeta{APIVersion: apiVersion, Kind: kind}
}

func ptr[T any](v T) *T { return &v }
