//go:build !linux

package builtin

import (
	"context"

	"github.com/loadbench/loadbench/results"
	"github.com/loadbench/loadbench/targets"
)

// pinning pins nothing where sched_setaffinity is not available.
func pinning() (*results.Pinning, func()) { return nil, func() {} }

func startPinned(ctx context.Context, _ *results.Pinning, c targets.ProcessConfig) (*targets.Process, error) {
	return targets.StartProcess(ctx, c)
}

func pinGenerator(*results.Pinning) error { return nil }
