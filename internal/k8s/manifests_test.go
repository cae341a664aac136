package k8s

import (
	"bytes"
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"
	"unicode"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/yaml"

	"github.com/loadbench/loadbench/internal/usage"
)

// roundTrip writes the manifests of c as YAML and reads them back strictly.
func roundTrip(t *testing.T, c ManifestConfig) (string, []runtime.Object) {
	t.Helper()
	b, err := Manifests(c)
	if err != nil {
		t.Fatalf("Manifests: %v", err)
	}
	var buf bytes.Buffer
	if err := WriteYAML(&buf, b.Objects()...); err != nil {
		t.Fatalf("WriteYAML: %v", err)
	}
	objs, err := ReadYAML(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatalf("ReadYAML (strict): %v\n%s", err, buf.String())
	}
	return buf.String(), objs
}

// decoded splits the strictly decoded objects by type.
type decoded struct {
	sa   *corev1.ServiceAccount
	role *rbacv1.Role
	rb   *rbacv1.RoleBinding
	svc  *corev1.Service
	job  *batchv1.Job
}

func split(t *testing.T, objs []runtime.Object) decoded {
	t.Helper()
	if len(objs) != 5 {
		t.Fatalf("%d objects, want 5", len(objs))
	}
	var d decoded
	var ok [5]bool
	d.sa, ok[0] = objs[0].(*corev1.ServiceAccount)
	d.role, ok[1] = objs[1].(*rbacv1.Role)
	d.rb, ok[2] = objs[2].(*rbacv1.RoleBinding)
	d.svc, ok[3] = objs[3].(*corev1.Service)
	d.job, ok[4] = objs[4].(*batchv1.Job)
	for i, o := range ok {
		if !o {
			t.Fatalf("object %d is a %T", i, objs[i])
		}
	}
	return d
}

func TestManifestsDecodeStrictly(t *testing.T) {
	t.Parallel()
	c := ManifestConfig{
		Name: "lb", Namespace: "perf", Workers: 8,
		Image: "registry.example/loadbench:v1", Coordinator: "coordinator.perf.svc:7000",
		Secret: "lb-headers", WorkerCPU: "1500m", WorkerMemory: "1Gi",
		Args: []string{"--quiet"},
	}
	text, objs := roundTrip(t, c)

	// One document per object, each with apiVersion and kind.
	docs := strings.Split(text, "\n---\n")
	if len(docs) != 5 {
		t.Fatalf("%d documents, want 5:\n%s", len(docs), text)
	}
	wantKinds := []string{"v1/ServiceAccount", "rbac.authorization.k8s.io/v1/Role",
		"rbac.authorization.k8s.io/v1/RoleBinding", "v1/Service", "batch/v1/Job"}
	for i, doc := range docs {
		var tm metav1.TypeMeta
		if err := yaml.Unmarshal([]byte(doc), &tm); err != nil {
			t.Fatal(err)
		}
		if got := tm.APIVersion + "/" + tm.Kind; got != wantKinds[i] {
			t.Errorf("document %d is %s, want %s", i, got, wantKinds[i])
		}
		if strings.Contains(doc, "status:") || strings.Contains(doc, "creationTimestamp") {
			t.Errorf("document %d has an empty status or creation time:\n%s", i, doc)
		}
	}

	d := split(t, objs)
	for _, m := range []metav1.Object{d.sa, d.role, d.rb, d.svc, d.job} {
		if m.GetNamespace() != "perf" {
			t.Errorf("%s: namespace %q", m.GetName(), m.GetNamespace())
		}
	}

	// RBAC of the coordinator.
	if d.sa.Name != "lb-coordinator" || d.role.Name != "lb-coordinator" || d.rb.Name != "lb-coordinator" {
		t.Errorf("RBAC names %s, %s, %s", d.sa.Name, d.role.Name, d.rb.Name)
	}
	wantRules := []rbacv1.PolicyRule{
		{APIGroups: []string{"batch"}, Resources: []string{"jobs"}, Verbs: []string{"create", "get", "list", "watch", "delete"}},
		{APIGroups: []string{""}, Resources: []string{"pods", "pods/log"}, Verbs: []string{"get", "list", "watch"}},
	}
	if !reflect.DeepEqual(d.role.Rules, wantRules) {
		t.Errorf("role rules %+v", d.role.Rules)
	}
	if want := (rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: "lb-coordinator"}); d.rb.RoleRef != want {
		t.Errorf("roleRef %+v", d.rb.RoleRef)
	}
	if want := []rbacv1.Subject{{Kind: "ServiceAccount", Name: "lb-coordinator", Namespace: "perf"}}; !reflect.DeepEqual(d.rb.Subjects, want) {
		t.Errorf("subjects %+v", d.rb.Subjects)
	}

	// The Indexed Job.
	js := d.job.Spec
	if d.job.Name != "lb" {
		t.Errorf("job name %q", d.job.Name)
	}
	if js.CompletionMode == nil || *js.CompletionMode != batchv1.IndexedCompletion {
		t.Errorf("completionMode %v", js.CompletionMode)
	}
	if js.Completions == nil || *js.Completions != 8 || js.Parallelism == nil || *js.Parallelism != 8 {
		t.Errorf("completions %v, parallelism %v, want 8 and 8", js.Completions, js.Parallelism)
	}
	if js.BackoffLimitPerIndex == nil || *js.BackoffLimitPerIndex != 0 {
		t.Errorf("backoffLimitPerIndex %v, want 0", js.BackoffLimitPerIndex)
	}
	if js.MaxFailedIndexes == nil || *js.MaxFailedIndexes != 0 {
		t.Errorf("maxFailedIndexes %v, want 0", js.MaxFailedIndexes)
	}
	if js.BackoffLimit != nil {
		t.Errorf("backoffLimit %d set; with backoffLimitPerIndex it is left to the API server", *js.BackoffLimit)
	}
	wantPolicy := &batchv1.PodFailurePolicy{Rules: []batchv1.PodFailurePolicyRule{{
		Action: batchv1.PodFailurePolicyActionFailJob,
		OnExitCodes: &batchv1.PodFailurePolicyOnExitCodesRequirement{
			ContainerName: ptr("worker"), Operator: batchv1.PodFailurePolicyOnExitCodesOpNotIn, Values: []int32{0},
		},
	}}}
	if !reflect.DeepEqual(js.PodFailurePolicy, wantPolicy) {
		t.Errorf("podFailurePolicy %+v", js.PodFailurePolicy)
	}
	if js.TTLSecondsAfterFinished == nil || *js.TTLSecondsAfterFinished != TTLSecondsAfterFinished {
		t.Errorf("ttlSecondsAfterFinished %v", js.TTLSecondsAfterFinished)
	}
	ps := js.Template.Spec
	if ps.RestartPolicy != corev1.RestartPolicyNever {
		t.Errorf("restartPolicy %q", ps.RestartPolicy)
	}
	if ps.Subdomain != "lb" {
		t.Errorf("subdomain %q, want the Service's name", ps.Subdomain)
	}
	if ps.AutomountServiceAccountToken == nil || *ps.AutomountServiceAccountToken {
		t.Errorf("workers mount a service account token")
	}
	if len(ps.Containers) != 1 {
		t.Fatalf("%d containers", len(ps.Containers))
	}
	w := ps.Containers[0]
	if w.Name != "worker" || w.Image != c.Image {
		t.Errorf("container %q image %q", w.Name, w.Image)
	}
	if got := append(append([]string{}, w.Command...), w.Args...); !reflect.DeepEqual(got,
		[]string{"loadbench", "worker", "--coordinator", "coordinator.perf.svc:7000", "--quiet"}) {
		t.Errorf("command %q", got)
	}
	for _, e := range w.Env {
		if e.Name == "JOB_COMPLETION_INDEX" {
			t.Errorf("JOB_COMPLETION_INDEX is set by the manifest; Kubernetes sets it")
		}
	}
	if want := []corev1.EnvFromSource{{SecretRef: &corev1.SecretEnvSource{
		LocalObjectReference: corev1.LocalObjectReference{Name: "lb-headers"}}}}; !reflect.DeepEqual(w.EnvFrom, want) {
		t.Errorf("envFrom %+v", w.EnvFrom)
	}
	req := w.Resources.Requests
	if q := req[corev1.ResourceCPU]; q.Cmp(resource.MustParse("1500m")) != 0 {
		t.Errorf("cpu request %s", q.String())
	}
	if q := req[corev1.ResourceMemory]; q.Cmp(resource.MustParse("1Gi")) != 0 {
		t.Errorf("memory request %s", q.String())
	}
	if _, ok := w.Resources.Limits[corev1.ResourceCPU]; ok {
		t.Errorf("a CPU limit is set")
	}
	if q := w.Resources.Limits[corev1.ResourceMemory]; q.Cmp(resource.MustParse("1Gi")) != 0 {
		t.Errorf("memory limit %s", q.String())
	}

	// The headless Service selects exactly the worker pods.
	if d.svc.Name != "lb" || d.svc.Spec.ClusterIP != corev1.ClusterIPNone {
		t.Errorf("service %q clusterIP %q, want headless lb", d.svc.Name, d.svc.Spec.ClusterIP)
	}
	sel := d.svc.Spec.Selector
	if len(sel) == 0 {
		t.Fatal("service has no selector")
	}
	for k, v := range sel {
		if js.Template.Labels[k] != v {
			t.Errorf("selector %s=%s does not match the pod template's labels %v", k, v, js.Template.Labels)
		}
	}
	if d.sa.Labels[LabelComponent] == sel[LabelComponent] {
		t.Errorf("the service would select the coordinator too")
	}
}

func TestManifestsDefaults(t *testing.T) {
	t.Parallel()
	_, objs := roundTrip(t, ManifestConfig{Workers: 1, Image: "loadbench", Coordinator: "10.0.0.7:7000"})
	d := split(t, objs)
	if d.job.Name != DefaultName || d.job.Namespace != DefaultNamespace || d.rb.Subjects[0].Namespace != DefaultNamespace {
		t.Errorf("job %s/%s", d.job.Namespace, d.job.Name)
	}
	w := d.job.Spec.Template.Spec.Containers[0]
	if len(w.EnvFrom) != 0 {
		t.Errorf("envFrom %+v without a secret", w.EnvFrom)
	}
	if q := w.Resources.Requests[corev1.ResourceCPU]; q.Cmp(resource.MustParse(DefaultWorkerCPU)) != 0 {
		t.Errorf("cpu %s", q.String())
	}
	if q := w.Resources.Requests[corev1.ResourceMemory]; q.Cmp(resource.MustParse(DefaultWorkerMemory)) != 0 {
		t.Errorf("memory %s", q.String())
	}
	if n := *d.job.Spec.Completions; n != 1 {
		t.Errorf("completions %d", n)
	}
}

// TestDefaultWorkerCPUArithmetic keeps DefaultWorkerCPU's comment honest:
// DefaultWorkerRate chats/s at 16.12 µs of CPU each, doubled, fits the
// request, and half of it would not.
func TestDefaultWorkerCPUArithmetic(t *testing.T) {
	t.Parallel()
	const cpuPerChat = 16.12e-6 // s, WebSocket, docs/performance.md
	need := DefaultWorkerRate * cpuPerChat * 2
	q := resource.MustParse(DefaultWorkerCPU)
	req := q.AsApproximateFloat64()
	if need > req || need < req/2 {
		t.Errorf("%d chats/s × %g s × 2 = %.3f CPU, request %g", DefaultWorkerRate, cpuPerChat, need, req)
	}
}

func TestManifestsConfigErrors(t *testing.T) {
	t.Parallel()
	ok := ManifestConfig{Workers: 2, Image: "loadbench:v1", Coordinator: "coord:7000"}
	for _, tc := range []struct {
		field string
		edit  func(*ManifestConfig)
	}{
		{"workers", func(c *ManifestConfig) { c.Workers = 0 }},
		{"workers", func(c *ManifestConfig) { c.Workers = -3 }},
		{"workers", func(c *ManifestConfig) { c.Workers = maxWorkers + 1 }},
		{"image", func(c *ManifestConfig) { c.Image = "" }},
		{"image", func(c *ManifestConfig) { c.Image = "loadbench v1" }},
		{"coordinator", func(c *ManifestConfig) { c.Coordinator = "" }},
		{"coordinator", func(c *ManifestConfig) { c.Coordinator = "coord" }},
		{"coordinator", func(c *ManifestConfig) { c.Coordinator = ":7000" }},
		{"coordinator", func(c *ManifestConfig) { c.Coordinator = "coord:" }},
		{"coordinator", func(c *ManifestConfig) { c.Coordinator = "coord:0" }},
		{"coordinator", func(c *ManifestConfig) { c.Coordinator = "coord:65536" }},
		{"coordinator", func(c *ManifestConfig) { c.Coordinator = "coord:http" }},
		{"coordinator", func(c *ManifestConfig) { c.Coordinator = "coord:+80" }},
		{"coordinator", func(c *ManifestConfig) { c.Coordinator = "http://coord:7000" }},
		{"coordinator", func(c *ManifestConfig) { c.Coordinator = "co_ord:7000" }},
		{"namespace", func(c *ManifestConfig) { c.Namespace = "Perf" }},
		{"namespace", func(c *ManifestConfig) { c.Namespace = "perf.team" }},
		{"name", func(c *ManifestConfig) { c.Name = "-lb" }},
		{"name", func(c *ManifestConfig) { c.Name = strings.Repeat("a", 64) }},
		// 61 letters + "-9" is 63, the longest host name; "-10" is one more.
		{"name", func(c *ManifestConfig) { c.Name = strings.Repeat("a", 61); c.Workers = 11 }},
		{"secret", func(c *ManifestConfig) { c.Secret = "My Secret" }},
		{"worker cpu", func(c *ManifestConfig) { c.WorkerCPU = "lots" }},
		{"worker cpu", func(c *ManifestConfig) { c.WorkerCPU = "0" }},
		{"worker cpu", func(c *ManifestConfig) { c.WorkerCPU = "-1" }},
		{"worker memory", func(c *ManifestConfig) { c.WorkerMemory = "1 GB" }},
	} {
		c := ok
		tc.edit(&c)
		b, err := Manifests(c)
		if err == nil {
			t.Errorf("%+v: no error", c)
			continue
		}
		if b != nil {
			t.Errorf("%+v: objects with the error", c)
		}
		if !errors.Is(err, usage.ErrUsage) {
			t.Errorf("%v does not wrap usage.ErrUsage", err)
		}
		fe, isField := errors.AsType[*usage.FieldError](err)
		if !isField || fe.Field != tc.field || fe.Op != "k8s manifest" {
			t.Errorf("%v: want a FieldError of k8s manifest about %q", err, tc.field)
		}
		msg := err.Error()
		rest, found := strings.CutPrefix(msg, "k8s manifest: ")
		if !found || rest == "" || unicode.IsUpper(rune(rest[0])) {
			t.Errorf("%q: want a lowercase message prefixed with the operation", msg)
		}
		if strings.Contains(msg, "--") || strings.Contains(msg, "\n") {
			t.Errorf("%q: names a flag or spans lines", msg)
		}
	}
	// The limits themselves are fine.
	for _, c := range []ManifestConfig{
		{Workers: maxWorkers, Image: "i", Coordinator: "[fd00::1]:7000"},
		{Workers: 10, Name: strings.Repeat("a", 61), Image: "i", Coordinator: "coord.perf.svc.cluster.local:65535"},
	} {
		if _, err := Manifests(c); err != nil {
			t.Errorf("%+v: %v", c, err)
		}
	}
}

// TestManifestsHoldNoSecretValue puts a secret value in this process's
// environment, names it as ${VAR} in the workers' arguments, and checks that
// the value appears nowhere in the manifests while the reference and the
// Secret's name do.
func TestManifestsHoldNoSecretValue(t *testing.T) {
	t.Parallel()
	const name, value = "LOADBENCH_K8S_TEST_TOKEN", "s3cr3t-9f8e7d6c5b4a"
	// Not t.Setenv, which a parallel test may not use; no other test
	// reads this variable.
	os.Setenv(name, value)
	t.Cleanup(func() { os.Unsetenv(name) })

	arg := "Authorization: Bearer ${" + name + "}"
	text, objs := roundTrip(t, ManifestConfig{
		Workers: 4, Image: "loadbench", Coordinator: "coord:7000", Secret: "lb-headers",
		Args: []string{"--header", arg},
	})
	if strings.Contains(text, value) {
		t.Fatalf("the secret value is in the manifests:\n%s", text)
	}
	d := split(t, objs)
	w := d.job.Spec.Template.Spec.Containers[0]
	if w.EnvFrom[0].SecretRef.Name != "lb-headers" {
		t.Errorf("envFrom %+v", w.EnvFrom)
	}
	for _, e := range w.Env {
		if e.Value != "" {
			t.Errorf("env %s has a value", e.Name)
		}
	}
	got := w.Args[len(w.Args)-1]
	if got != "Authorization: Bearer $${"+name+"}" {
		t.Errorf("arg %q", got)
	}
	if exp := kubeletExpand(got, func(string) (string, bool) { return value, true }); exp != arg {
		t.Errorf("the worker would get %q, want %q", exp, arg)
	}
}

// TestEscapeExpansion checks that what Kubernetes makes of an escaped
// argument is the argument.
func TestEscapeExpansion(t *testing.T) {
	t.Parallel()
	lookup := func(v string) (string, bool) { return "EXPANDED(" + v + ")", true }
	for _, s := range []string{"", "plain", "${X}", "$(HOME)", "$$(HOME)", "a$", "$", "$$", "x$(y", "${A}$(B)$$C"} {
		if got := kubeletExpand(escapeExpansion(s), lookup); got != s {
			t.Errorf("%q: escaped %q, expanded %q", s, escapeExpansion(s), got)
		}
	}
	// Unescaped, $(HOME) would have been expanded.
	if got := kubeletExpand("$(HOME)", lookup); got != "EXPANDED(HOME)" {
		t.Errorf("model of the kubelet: %q", got)
	}
}

// kubeletExpand transcribes how the kubelet expands a container's command
// and args (k8s.io/kubernetes third_party/forked/golang/expansion.Expand):
// $(VAR) is the variable's value when it is defined, $$ is $, and any other
// $ stays as it is.
func kubeletExpand(s string, lookup func(string) (string, bool)) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '$' || i+1 >= len(s) {
			b.WriteByte(s[i])
			continue
		}
		switch next := s[i+1]; next {
		case '$':
			b.WriteByte('$')
			i++
		case '(':
			end := strings.IndexByte(s[i+2:], ')')
			if end < 0 {
				b.WriteString("$(")
				i++
				continue
			}
			name := s[i+2 : i+2+end]
			if v, ok := lookup(name); ok {
				b.WriteString(v)
			} else {
				b.WriteString("$(" + name + ")")
			}
			i += 2 + end
		default:
			b.WriteByte('$')
			b.WriteByte(next)
			i++
		}
	}
	return b.String()
}
