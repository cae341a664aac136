package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/loadbench/loadbench/internal/dist"
)

// jobIndexEnv is set by Kubernetes in the pods of an Indexed Job.
const jobIndexEnv = "JOB_COMPLETION_INDEX"

func newWorkerCmd(s streams) *cobra.Command {
	var (
		coordinator string
		index       int
	)
	cmd := &cobra.Command{
		Use:   "worker --coordinator HOST:PORT [--index N]",
		Short: "A load generator that takes its orders from a coordinator (attack/compare --generators)",
		Long: `Worker dials the coordinator at --coordinator (an attack or compare run with
--generators), proves it is the same build, synchronizes its clock, and runs
its share of every segment the coordinator orders: its stripe of the arrival
schedule and its own block of users, from the same absolute start as the
other workers. It sends each segment's results back and exits when the
coordinator says bye (0) or its connection is lost (3).

The index is --index, else $JOB_COMPLETION_INDEX (a Kubernetes Indexed Job),
else any free one. Header values reach the worker as templates: ${VAR} is read
from the worker's own environment; no secret crosses the connection.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) != 0 {
				return usageErr("worker: no arguments expected, got %d", len(args))
			}
			if coordinator == "" {
				return usageErr("worker: --coordinator HOST:PORT is required")
			}
			idx := index
			if !cmd.Flags().Changed("index") {
				idx = -1
				if v, ok := os.LookupEnv(jobIndexEnv); ok {
					n, err := strconv.Atoi(v)
					if err != nil || n < 0 {
						return usageErr("worker: $%s must be a non-negative integer, got %q", jobIndexEnv, v)
					}
					idx = n
				}
			} else if idx < 0 {
				return usageErr("worker: --index must not be negative, got %d", idx)
			}
			return runWorker(cmd.Context(), s, coordinator, idx)
		},
	}
	cmd.Flags().StringVar(&coordinator, "coordinator", "", "HOST:PORT of the coordinator to dial (required)")
	cmd.Flags().IntVar(&index, "index", 0, "this worker's index, from 0 (default $"+jobIndexEnv+", else any free one)")
	return cmd
}

func runWorker(ctx context.Context, s streams, coordinator string, index int) error {
	w := &dist.Worker{Coordinator: coordinator, Index: index, Log: s.Err}
	err := w.Run(ctx)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, dist.ErrRefused):
		return withCode(exitUsage, err)
	case errors.Is(err, context.Canceled):
		return withCode(exitRunError, fmt.Errorf("worker: interrupted"))
	}
	return withCode(exitRunError, err)
}
