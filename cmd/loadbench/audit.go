package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/loadbench/loadbench/internal/audit"
	"github.com/loadbench/loadbench/targets"
)

func newAuditCmd(s streams) *cobra.Command {
	var (
		impl    string
		users   int
		jsonOut bool
	)
	cmd := &cobra.Command{
		Use:   "audit",
		Short: "Run the eight user-isolation checks against one build",
		Long: `Run the eight user-isolation checks of the real service's suite against one
build, in process, with --users simulated users. Exits 1 when any check finds
a violation, 0 when the build is isolated.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !targets.ValidImpl(impl) {
				return usageErr("audit: --impl must be baseline, perrequest or partial, got %q", impl)
			}
			if users < audit.MinUsers {
				return usageErr("audit: --users must be at least %d, got %d", audit.MinUsers, users)
			}
			b, err := targets.NewBuild(impl)
			if err != nil {
				return usageErr("audit: %v", err)
			}
			rep, err := audit.Run(cmd.Context(), b, audit.WithUsers(users))
			if err != nil {
				return withCode(exitRunError, err)
			}
			if jsonOut {
				err = rep.WriteJSON(s.Out)
			} else {
				err = rep.WriteTable(s.Out)
			}
			if err != nil {
				return withCode(exitRunError, fmt.Errorf("audit: %w", err))
			}
			if !rep.Isolated() {
				return withCode(exitFail, nil)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&impl, "impl", "", "build to audit: baseline, perrequest or partial (required)")
	f.IntVar(&users, "users", audit.DefaultUsers, "simulated users")
	f.BoolVar(&jsonOut, "json", false, "print the report as JSON")
	return cmd
}
