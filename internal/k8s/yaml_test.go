package k8s

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

func manifestsYAML(t *testing.T) string {
	t.Helper()
	b, err := Manifests(ManifestConfig{Workers: 2, Image: "loadbench", Coordinator: "coord:7000"})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := WriteYAML(&buf, b.Objects()...); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

// TestReadYAMLIsStrict shows that the decoding the manifest tests rely on
// refuses what a lenient decoder would let through.
func TestReadYAMLIsStrict(t *testing.T) {
	t.Parallel()
	good := manifestsYAML(t)
	if _, err := ReadYAML(strings.NewReader(good)); err != nil {
		t.Fatalf("the manifests themselves: %v", err)
	}
	jobSpec := "kind: Job\n"
	if !strings.Contains(good, jobSpec) || !strings.Contains(good, "\nspec:\n  backoffLimitPerIndex: 0\n") {
		t.Fatalf("unexpected layout:\n%s", good)
	}
	for _, tc := range []struct{ name, yaml, want string }{
		{"unknown field in the Job's spec",
			strings.Replace(good, "\nspec:\n  backoffLimitPerIndex: 0\n", "\nspec:\n  backoffLimitPerIndx: 0\n", 1),
			"unknown field"},
		{"misplaced field (restartPolicy in the Job's spec)",
			strings.Replace(good, "\nspec:\n  backoffLimitPerIndex: 0\n", "\nspec:\n  restartPolicy: Never\n  backoffLimitPerIndex: 0\n", 1),
			"unknown field"},
		{"duplicate field",
			strings.Replace(good, "\nspec:\n  backoffLimitPerIndex: 0\n", "\nspec:\n  backoffLimitPerIndex: 0\n  backoffLimitPerIndex: 1\n", 1),
			"already set"},
		{"wrong type",
			strings.Replace(good, "  completions: 2\n", "  completions: two\n", 1),
			""},
		{"no kind", strings.Replace(good, "kind: Job\n", "", 1), "'Kind' is missing"},
		{"kind unknown to the manifests", "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: x\n", "no kind"},
	} {
		if tc.yaml == good {
			t.Fatalf("%s: the edit did not apply", tc.name)
		}
		_, err := ReadYAML(strings.NewReader(tc.yaml))
		if err == nil {
			t.Errorf("%s: decoded", tc.name)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %q lacks %q", tc.name, err, tc.want)
		}
	}
}

func TestWriteYAMLSetsTypeMeta(t *testing.T) {
	t.Parallel()
	// An object built without apiVersion and kind gets them from the scheme.
	var buf bytes.Buffer
	sa := &corev1.ServiceAccount{}
	sa.Name = "x"
	if err := WriteYAML(&buf, sa, sa); err != nil {
		t.Fatal(err)
	}
	if want := "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: x\n---\napiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: x\n"; buf.String() != want {
		t.Errorf("got\n%s\nwant\n%s", buf.String(), want)
	}
	if sa.Kind != "" {
		t.Errorf("WriteYAML changed its argument")
	}
	objs, err := ReadYAML(&buf)
	if err != nil || len(objs) != 2 {
		t.Fatalf("%d objects, %v", len(objs), err)
	}
	if err := WriteYAML(&buf, nil); err == nil {
		t.Error("a nil object was written")
	}
	var unknown runtime.Object = &runtime.Unknown{}
	if err := WriteYAML(&buf, unknown); err == nil {
		t.Error("an object of no known kind was written")
	}
	if err := WriteYAML(failWriter{}, sa); !errors.Is(err, errWrite) {
		t.Errorf("write error %v", err)
	}
}

var errWrite = errors.New("disk full")

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errWrite }
