package main

import "github.com/spf13/cobra"

// subcommands lists every command of loadbench. Each lives in its own file.
func subcommands(s streams) []*cobra.Command {
	return []*cobra.Command{
		newVersionCmd(s),
		newCompareCmd(s),
		newCapacityCmd(s),
		newAttackCmd(s),
		newBenchcmpCmd(s),
		newServeCmd(s),
		newAuditCmd(s),
		newReportCmd(s),
		newValidateCmd(s),
		newK8sCmd(s),
		newWorkerCmd(s),
	}
}
