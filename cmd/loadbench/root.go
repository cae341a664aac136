package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
)

// Exit codes; see the package comment.
const (
	exitOK           = 0
	exitFail         = 1
	exitUsage        = 2
	exitRunError     = 3
	exitInconclusive = 4
)

// streams are the I/O a command may use; injected so tests can capture them.
type streams struct {
	In  io.Reader
	Out io.Writer
	Err io.Writer
}

// isTerminal reports whether w is a character device (a terminal).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// exitError carries an exit code with the error that caused it.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// withCode wraps err so that run exits with code. A nil err with a non-zero
// code (a failed gate that already printed its report) exits silently.
func withCode(code int, err error) error { return &exitError{code: code, err: err} }

// usageErr formats a bad-usage error (exit 2).
func usageErr(format string, args ...any) error {
	return withCode(exitUsage, fmt.Errorf(format, args...))
}

// silent is the error of a command that printed its own outcome and only
// needs a non-zero exit code.
var errSilent = errors.New("")

func newRootCmd(s streams) *cobra.Command {
	root := &cobra.Command{
		Use:           "loadbench",
		Short:         "Load and performance gate: legacy singleton vs per-request AgentInstanceFactory",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetIn(s.In)
	root.SetOut(s.Out)
	root.SetErr(s.Err)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error {
		return withCode(exitUsage, err)
	})
	for _, c := range subcommands(s) {
		root.AddCommand(c)
	}
	return root
}

// run executes the command line args and returns the process exit code.
func run(ctx context.Context, args []string, s streams) int {
	root := newRootCmd(s)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return exitOK
	}
	code := exitUsage // cobra's own errors (unknown command, bad args) are usage errors
	var ee *exitError
	if errors.As(err, &ee) {
		code = ee.code
	}
	if msg := strings.TrimSpace(err.Error()); msg != "" {
		fmt.Fprintf(s.Err, "loadbench: %s\n", firstLine(msg))
	}
	return code
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
