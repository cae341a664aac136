package k8s

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/runtime"
	kjson "k8s.io/apimachinery/pkg/runtime/serializer/json"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

// scheme knows the API groups of the manifests, and nothing else.
var scheme = func() *runtime.Scheme {
	s := runtime.NewScheme()
	utilruntime.Must(corev1.AddToScheme(s))
	utilruntime.Must(batchv1.AddToScheme(s))
	utilruntime.Must(rbacv1.AddToScheme(s))
	return s
}()

// WriteYAML writes objs to w as one YAML stream, a document each, separated
// by "---" lines, in the order given. Every document has its apiVersion and
// kind (taken from the scheme where an object lacks them); empty status
// fields are left out.
func WriteYAML(w io.Writer, objs ...runtime.Object) error {
	var buf bytes.Buffer
	for i, obj := range objs {
		doc, err := marshalYAML(obj)
		if err != nil {
			return fmt.Errorf("k8s: writing manifest %d: %w", i+1, err)
		}
		if i > 0 {
			buf.WriteString("---\n")
		}
		buf.Write(doc)
	}
	_, err := w.Write(buf.Bytes())
	return err
}

func marshalYAML(obj runtime.Object) ([]byte, error) {
	if obj == nil {
		return nil, errors.New("nil object")
	}
	obj = obj.DeepCopyObject()
	if gvk := obj.GetObjectKind().GroupVersionKind(); gvk.Version == "" || gvk.Kind == "" {
		gvks, _, err := scheme.ObjectKinds(obj)
		if err != nil {
			return nil, err
		}
		obj.GetObjectKind().SetGroupVersionKind(gvks[0])
	}
	j, err := json.Marshal(obj)
	if err != nil {
		return nil, err
	}
	// Objects being created have no status; the API types write an empty
	// one ("status: {}", a Service's "status: {loadBalancer: {}}") that
	// says nothing.
	var m map[string]any
	if err := json.Unmarshal(j, &m); err != nil {
		return nil, err
	}
	if st, ok := m["status"]; ok && empty(st) {
		delete(m, "status")
	}
	return yaml.Marshal(m)
}

// empty reports whether v is a map of nothing but empty maps.
func empty(v any) bool {
	m, ok := v.(map[string]any)
	if !ok {
		return false
	}
	for _, e := range m {
		if !empty(e) {
			return false
		}
	}
	return true
}

// ReadYAML reads a YAML stream such as WriteYAML writes and decodes each
// document strictly into its k8s.io/api type, by apiVersion and kind: an
// unknown or duplicate field, a value of the wrong type, a missing
// apiVersion or kind, or a kind other than those of the manifests is an
// error. It checks the shape of the objects only, not the rules the API
// server validates.
func ReadYAML(r io.Reader) ([]runtime.Object, error) {
	dec := kjson.NewSerializerWithOptions(kjson.DefaultMetaFactory, scheme, scheme,
		kjson.SerializerOptions{Yaml: true, Strict: true})
	yr := utilyaml.NewYAMLReader(bufio.NewReader(r))
	var objs []runtime.Object
	for n := 1; ; n++ {
		doc, err := yr.Read()
		if errors.Is(err, io.EOF) {
			return objs, nil
		}
		if err != nil {
			return nil, fmt.Errorf("k8s: reading manifest %d: %w", n, err)
		}
		if len(bytes.TrimSpace(doc)) == 0 {
			continue
		}
		// A strict decoding error comes with the object decoded
		// leniently; it is an error all the same.
		obj, _, err := dec.Decode(doc, nil, nil)
		if err != nil {
			return nil, fmt.Errorf("k8s: manifest %d: %w", n, err)
		}
		objs = append(objs, obj)
	}
}
