package main

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/loadbench/loadbench/internal/k8s"
)

func runK8s(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), args, streams{In: strings.NewReader(""), Out: &out, Err: &errb})
	return code, out.String(), errb.String()
}

// TestK8sManifestDecodesStrictly runs the issue's own command line and
// decodes what it prints strictly into the k8s.io/api types of go.mod.
func TestK8sManifestDecodesStrictly(t *testing.T) {
	t.Parallel()
	const name, value = "LOADBENCH_K8S_CMD_TEST_TOKEN", "cmd-s3cr3t-0a1b2c"
	// Not t.Setenv, which a parallel test may not use; no other test reads
	// this variable. The command must never read it either.
	os.Setenv(name, value)
	t.Cleanup(func() { os.Unsetenv(name) })

	code, out, errOut := runK8s(t, "k8s", "manifest", "--generators", "k8s:8", "--image", "registry.example/loadbench:v1",
		"--coordinator", "coordinator.perf.svc:7000", "--namespace", "perf", "--secret", "lb-headers")
	if code != exitOK || errOut != "" {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	if strings.Contains(out, value) {
		t.Fatal("a secret value from the environment is in the manifests")
	}
	objs, err := k8s.ReadYAML(strings.NewReader(out))
	if err != nil {
		t.Fatalf("strict decoding: %v\n%s", err, out)
	}
	if len(objs) != 5 {
		t.Fatalf("%d objects, want 5", len(objs))
	}
	job, ok := objs[4].(*batchv1.Job)
	if !ok {
		t.Fatalf("last object is a %T", objs[4])
	}
	s := job.Spec
	if job.Namespace != "perf" || *s.Completions != 8 || *s.Parallelism != 8 || *s.CompletionMode != batchv1.IndexedCompletion ||
		*s.BackoffLimitPerIndex != 0 || s.PodFailurePolicy == nil || s.Template.Spec.RestartPolicy != corev1.RestartPolicyNever {
		t.Errorf("job spec %+v", s)
	}
	c := s.Template.Spec.Containers[0]
	if c.Image != "registry.example/loadbench:v1" || strings.Join(c.Args, " ") != "worker --coordinator coordinator.perf.svc:7000" {
		t.Errorf("container %s %q", c.Image, c.Args)
	}
	if len(c.EnvFrom) != 1 || c.EnvFrom[0].SecretRef == nil || c.EnvFrom[0].SecretRef.Name != "lb-headers" {
		t.Errorf("envFrom %+v", c.EnvFrom)
	}
	if svc, ok := objs[3].(*corev1.Service); !ok || svc.Spec.ClusterIP != corev1.ClusterIPNone {
		t.Errorf("object 3 is not a headless Service: %#v", objs[3])
	}
}

func TestK8sManifestBadUsage(t *testing.T) {
	t.Parallel()
	ok := []string{"--image", "loadbench", "--coordinator", "coord:7000"}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{append([]string{"--generators", "local:2"}, ok...), `k8s manifest: --generators must be k8s:N with N ≥ 1, got "local:2"`},
		{append([]string{"--generators", "k8s:0"}, ok...), "--generators must be k8s:N with N ≥ 1"},
		{append([]string{"--generators", "k8s:-1"}, ok...), "--generators must be k8s:N with N ≥ 1"},
		{append([]string{"--generators", "k8s:two"}, ok...), "--generators must be k8s:N with N ≥ 1"},
		{append([]string{"--generators", "k8s:+2"}, ok...), "--generators must be k8s:N with N ≥ 1"},
		{ok, `--generators must be k8s:N with N ≥ 1, got ""`},
		{append([]string{"--generators", "k8s:100001"}, ok...), "k8s manifest: --generators k8s:N: N must be at most 100000"},
		{[]string{"--generators", "k8s:2", "--coordinator", "coord:7000"}, "k8s manifest: --image must not be empty"},
		{[]string{"--generators", "k8s:2", "--image", "loadbench"}, "k8s manifest: --coordinator must not be empty"},
		{[]string{"--generators", "k8s:2", "--image", "loadbench", "--coordinator", "coord"}, `k8s manifest: --coordinator must be HOST:PORT, got "coord"`},
		{append([]string{"--generators", "k8s:2", "--namespace", "Perf"}, ok...), "k8s manifest: --namespace must be a DNS-1123 label"},
		{append([]string{"--generators", "k8s:2", "--secret", "a b"}, ok...), "k8s manifest: --secret must be"},
		{append([]string{"--generators", "k8s:2", "--worker-cpu", "lots"}, ok...), "k8s manifest: --worker-cpu must be a Kubernetes quantity"},
		{append([]string{"--generators", "k8s:2", "--worker-memory", "0"}, ok...), "k8s manifest: --worker-memory must be positive"},
		{append([]string{"--generators", "k8s:2", "--bogus"}, ok...), "unknown flag: --bogus"},
		{append([]string{"--generators", "k8s:2", "extra"}, ok...), "extra"},
	} {
		code, out, errOut := runK8s(t, append([]string{"k8s", "manifest"}, tc.args...)...)
		if code != exitUsage {
			t.Errorf("%q: exit %d, want %d", tc.args, code, exitUsage)
		}
		if out != "" {
			t.Errorf("%q: printed %q", tc.args, out)
		}
		if strings.Count(errOut, "\n") != 1 || !strings.HasPrefix(errOut, "loadbench: ") || !strings.Contains(errOut, tc.want) {
			t.Errorf("%q: stderr %q, want one line with %q", tc.args, errOut, tc.want)
		}
	}
	for _, args := range [][]string{{"k8s"}, {"k8s", "apply"}} {
		if code, _, errOut := runK8s(t, args...); code != exitUsage || !strings.Contains(errOut, "manifest") {
			t.Errorf("%q: exit %d, stderr %q", args, code, errOut)
		}
	}
}
