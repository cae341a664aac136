package main

import (
	"strconv"
	"strings"

	"github.com/loadbench/loadbench/internal/benchcmp"
	"github.com/loadbench/loadbench/internal/flagval"
	"github.com/loadbench/loadbench/internal/gate"
	"github.com/spf13/cobra"
)

func newBenchcmpCmd(s streams) *cobra.Command {
	var budget, col string
	var alpha float64
	cmd := &cobra.Command{
		Use:   "benchcmp OLD NEW | benchcmp --col KEY[=OLD,NEW] FILE",
		Short: "Gate two `go test -bench` outputs with the latency rule (budget per benchmark and unit)",
		Long: `benchcmp compares two files of 'go test -bench' output (for example the
baseline's and the per-request build's) benchmark by benchmark and unit by
unit (sec/op, B/op, allocs/op), with the same rule as compare: pass when the
ratio's confidence interval is within the budget, fail when the ratio is over
it and the difference is significant, inconclusive otherwise.

With --col it compares two columns of one file, as 'benchstat -col /KEY'
shows them: the results named /KEY=OLD against those named /KEY=NEW, matched
by the rest of the name. --col build=baseline,perrequest compares the builds
of BenchmarkChat; --col build alone needs exactly two builds in the file.

Lower is better for time (sec/op, *-ms, *-ns), bytes (B/op, B/chat,
retained-B/chat), allocs/op and errors; higher for B/s and */s; a
'Unit NAME better=higher' line in the input overrides.

Exit codes: 0 pass, 1 fail, 2 unreadable input or no common benchmark,
4 inconclusive.`,
		Args: func(cmd *cobra.Command, args []string) error {
			if cmd.Flags().Changed("col") {
				if len(args) != 1 {
					return usageErr("benchcmp: --col wants one FILE, got %d argument(s)", len(args))
				}
				return nil
			}
			if len(args) != 2 {
				return usageErr("benchcmp: want OLD and NEW files, got %d argument(s)", len(args))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg := gate.DefaultConfig()
			b, err := flagval.ParseBudget(budget)
			if err != nil {
				return usageErr("benchcmp: --budget: %v", err)
			}
			cfg.Budget = b
			if !(alpha > 0 && alpha < 1) {
				return usageErr("benchcmp: --alpha %v outside (0, 1)", alpha)
			}
			cfg.Alpha = alpha
			var res *benchcmp.Result
			if cmd.Flags().Changed("col") {
				key, vals, hasVals := strings.Cut(col, "=")
				oldVal, newVal, ok := strings.Cut(vals, ",")
				if key == "" || (hasVals && (!ok || oldVal == "" || newVal == "" || oldVal == newVal || strings.Contains(newVal, ","))) {
					return usageErr("benchcmp: --col wants KEY or KEY=OLD,NEW, got %q", col)
				}
				res, err = benchcmp.ColumnsFile(args[0], key, oldVal, newVal, cfg)
			} else {
				res, err = benchcmp.CompareFiles(args[0], args[1], cfg)
			}
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
	cmd.Flags().StringVar(&col, "col", "", "compare two values of a name key in one file (build=baseline,perrequest)")
	cmd.Flags().Float64Var(&alpha, "alpha", gate.DefaultAlpha, "each build's median interval has confidence 1 − alpha; the ratio's interval combines the two (conservative) and decides pass or fail against the budget")
	return cmd
}
