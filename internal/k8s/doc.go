// Package k8s runs loadbench's generators on Kubernetes: it writes the
// manifests a cluster needs for N workers (an Indexed Job, a headless
// Service, the RBAC of a coordinator that runs in the cluster) and launches,
// watches and deletes that Job with client-go.
//
// What is here, and what is not yet:
//
//   - Manifests builds the objects from a ManifestConfig and checks it
//     (errors wrap usage.ErrUsage). WriteYAML prints them as one multi-document
//     YAML stream; ReadYAML reads such a stream back strictly (unknown or
//     duplicate fields are errors), into the k8s.io/api types of the version
//     in go.mod.
//   - Launcher creates the worker Job (Launch), watches it and its pods with
//     informers until it completes, fails (the failed pod's completion index is
//     named), is deleted, or its pods are not running within a start timeout
//     (Run.Wait), and deletes it with background propagation (Run.Delete).
//   - The pods run `loadbench worker --coordinator HOST:PORT`, which takes
//     its index from JOB_COMPLETION_INDEX and dials the coordinator of
//     internal/dist. `loadbench attack|compare --generators k8s:N`
//     (cmd/loadbench/k8sgen.go) ties them together: it listens, launches the
//     Job, ends the run on Wait's errors and deletes the Job at the end.
//
// Nothing in this package has been run against a live cluster: no cluster can
// be reached from the machine it was written on. The manifests are checked by
// decoding them strictly into the k8s.io/api types (which checks every field
// name and type, but not the API server's validation rules, admission or
// defaulting); the launcher is tested against client-go's fake clientset
// (k8s.io/client-go/kubernetes/fake), where the tests play the Job
// controller's part: they create the pods and set the Job's conditions.
//
// Minimum Kubernetes version: 1.29. Indexed Jobs (completionMode: Indexed,
// JOB_COMPLETION_INDEX) are GA since 1.24; podFailurePolicy is beta and on by
// default since 1.26 (GA in 1.31); backoffLimitPerIndex and maxFailedIndexes
// are beta and on by default since 1.29 (GA in 1.33). A server that does not
// know those two fields refuses them (kubectl validates fields strictly by
// default) or, with the feature gate off, drops them; a worker whose pod
// failed without a non-zero exit of its own (evicted, its node lost) would
// then be retried under the Job's default backoffLimit instead of failing the
// run.
//
// This package imports client-go. It is imported only by cmd/loadbench, so
// the library (github.com/loadbench/loadbench) does not link client-go.
package k8s
