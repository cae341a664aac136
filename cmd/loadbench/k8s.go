package main

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/loadbench/loadbench/internal/k8s"
	"github.com/loadbench/loadbench/internal/usage"
)

// k8sManifestFlags are the flags of `loadbench k8s manifest`.
type k8sManifestFlags struct {
	generators, image, coordinator string
	namespace, secret, name        string
	cpu, memory                    string
}

func newK8sCmd(s streams) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "k8s",
		Short: "Run generators on Kubernetes (manifests for now; see docs/distributed.md)",
		RunE: func(_ *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usageErr("k8s: unknown subcommand %q (want manifest)", args[0])
			}
			return usageErr("k8s: a subcommand is required: manifest")
		},
	}
	cmd.AddCommand(newK8sManifestCmd(s))
	return cmd
}

func newK8sManifestCmd(s streams) *cobra.Command {
	var f k8sManifestFlags
	cmd := &cobra.Command{
		Use:   "manifest --generators k8s:N --image IMAGE --coordinator HOST:PORT",
		Short: "Print the Kubernetes manifests for N generator workers",
		Long: `Manifest prints, as one YAML stream for kubectl apply -f -, what a cluster needs
to run N loadbench workers that dial the coordinator at --coordinator:
the ServiceAccount, Role and RoleBinding of a coordinator running in the
cluster, a headless Service for the workers' names, and an Indexed Job of N
pods running "loadbench worker --coordinator HOST:PORT" (each takes its index
from JOB_COMPLETION_INDEX). A worker that fails fails the Job.

--secret NAME gives every worker the keys of that Secret as its environment,
so headers written with ${VAR} expand on the worker; no secret value is ever
in the manifests. --worker-cpu and --worker-memory are each worker's requests
(the defaults are placeholders: see docs/distributed.md). Kubernetes 1.29 or
later. To launch, watch and delete the Job from a run, use attack or compare
with --generators k8s:N instead.

Exit codes: 0 printed; 2 bad usage.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runK8sManifest(s, f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.generators, "generators", "", "k8s:N, N worker pods (required)")
	fl.StringVar(&f.image, "image", "", "container image with loadbench on its PATH (required)")
	fl.StringVar(&f.coordinator, "coordinator", "", "HOST:PORT of the coordinator the workers dial (required)")
	fl.StringVar(&f.namespace, "namespace", k8s.DefaultNamespace, "namespace of every object")
	fl.StringVar(&f.secret, "secret", "", "Secret whose keys become the workers' environment (envFrom)")
	fl.StringVar(&f.name, "name", k8s.DefaultName, "name of the Job and Service (RBAC objects: NAME-coordinator)")
	fl.StringVar(&f.cpu, "worker-cpu", k8s.DefaultWorkerCPU,
		fmt.Sprintf("CPU request per worker (a placeholder sized for %d chats/s)", k8s.DefaultWorkerRate))
	fl.StringVar(&f.memory, "worker-memory", k8s.DefaultWorkerMemory, "memory request and limit per worker")
	return cmd
}

func runK8sManifest(s streams, f k8sManifestFlags) error {
	const op = "k8s manifest"
	n, err := parseK8sGenerators(f.generators)
	if err != nil {
		return usageErr("%s: --generators %v", op, err)
	}
	b, err := k8s.Manifests(k8s.ManifestConfig{
		Name:         f.name,
		Namespace:    f.namespace,
		Workers:      n,
		Image:        f.image,
		Coordinator:  f.coordinator,
		Secret:       f.secret,
		WorkerCPU:    f.cpu,
		WorkerMemory: f.memory,
	})
	if fe, ok := errors.AsType[*usage.FieldError](err); ok && fe.Field == "workers" {
		// The library's "workers" is N of --generators k8s:N, not a flag.
		return usageErr("%s: --generators k8s:N: N %s", op, fe.Problem)
	}
	if err != nil {
		return err // a FieldError: exitCode names its flag
	}
	if err := k8s.WriteYAML(s.Out, b.Objects()...); err != nil {
		return withCode(exitRunError, fmt.Errorf("%s: %w", op, err))
	}
	return nil
}

// parseK8sGenerators parses the k8s:N of --generators: N workers, N ≥ 1.
func parseK8sGenerators(spec string) (int, error) {
	rest, ok := strings.CutPrefix(spec, "k8s:")
	bad := fmt.Errorf("must be k8s:N with N ≥ 1, got %q", spec)
	if !ok || rest == "" || strings.TrimLeft(rest, "0123456789") != "" {
		return 0, bad
	}
	n, err := strconv.Atoi(rest)
	if err != nil || n < 1 {
		return 0, bad
	}
	return n, nil
}
