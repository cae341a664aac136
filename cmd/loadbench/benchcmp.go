package main

import (
	"strconv"

	"github.com/loadbench/loadbench/internal/gate"
	"github.com/spf13/cobra"
)

func newBenchcmpCmd(s streams) *cobra.Command {
	var budget string
	var alpha float64
	cmd := &cobra.Command{
		Use:   "benchcmp OLD NEW",
		Short: "Gate two `go test -bench` outputs with the latency rule (budget per benchmark and unit)",
		Long: `benchcmp compares two files of 'go test -bench' output (for example the
baseline's and the per-request build's) benchmark by benchmark and unit by
unit (sec/op, B/op, allocs/op), with the same rule as compare: pass when the
ratio's confidence interval is within the budget, fail when the ratio is over
it and the difference is significant, inconclusive otherwise.

Exit codes: 0 pass, 1 fail, 2 unreadable input or no common benchmark,
4 inconclusive.`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) != 2 {
				return usageErr("benchcmp: want OLD and NEW files, got %d argument(s)", len(args))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg := gate.DefaultConfig()
			b, err := gate.ParseBudget(budget)
			if err != nil {
				return usageErr("benchcmp: --budget: %v", err)
			}
			cfg.Budget = b
			if !(alpha > 0 && alpha < 1) {
				return usageErr("benchcmp: --alpha %v outside (0, 1)", alpha)
			}
			cfg.Alpha = alpha
			res, err := gate.BenchCompareFiles(args[0], args[1], cfg)
			if err != nil {
				return withCode(exitUsage, err)
			}
			if err := res.Report()(s.Out); err != nil {
				return withCode(exitRunError, err)
			}
			return verdictExit(res.Verdict)
		},
	}
	cmd.Flags().StringVar(&budget, "budget", strconv.FormatFloat(gate.DefaultBudget*100, 'f', -1, 64)+"%", "allowed slowdown per benchmark and unit (5% or 0.05)")
	cmd.Flags().Float64Var(&alpha, "alpha", gate.DefaultAlpha, "significance level of the Mann–Whitney U test")
	return cmd
}
