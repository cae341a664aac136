package main

import (
	"fmt"

	"github.com/loadbench/loadbench/results"
	"github.com/spf13/cobra"
)

func newVersionCmd(s streams) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version of loadbench",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := fmt.Fprintln(s.Out, "loadbench", results.Version())
			return err
		},
	}
}
