package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/loadbench/loadbench/internal/usage"
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

// streams are what a command may take from its process: its I/O, its
// command line and its executable. main fills them from os; tests inject
// their own, so no command reads os.Args, os.Executable or the standard
// streams directly.
type streams struct {
	In  io.Reader
	Out io.Writer
	Err io.Writer
	// Args is the whole command line, program name first; run records it in
	// the manifests of what it writes.
	Args []string
	// Executable returns the path of the loadbench executable, which compare
	// and validate start as the built-in targets. Nil means unknown.
	Executable func() (string, error)
	// Kube returns the Kubernetes client of --generators k8s:N and its
	// namespace (k8sgen.go). Nil means none.
	Kube kubeClient
}

// errNoExecutable is returned by streams.executable when none was injected.
var errNoExecutable = errors.New("executable unknown")

// executable returns the path of the loadbench executable.
func (s streams) executable() (string, error) {
	if s.Executable == nil {
		return "", errNoExecutable
	}
	return s.Executable()
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

// Error is the message run prints: none for a silent exit (nil err).
func (e *exitError) Error() string {
	if e.err == nil {
		return ""
	}
	return e.err.Error()
}

func (e *exitError) Unwrap() error { return e.err }

// withCode wraps err so that run exits with code. A nil err with a non-zero
// code (a failed gate that already printed its report) exits silently.
func withCode(code int, err error) error { return &exitError{code: code, err: err} }

// usageErr formats a bad-usage error (exit 2).
func usageErr(format string, args ...any) error {
	return usage.Errorf(format, args...)
}

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
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return usage.Errorf("%s: %v", c.Name(), err)
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
	return exitCode(s, root.ExecuteContext(ctx))
}

// exitCode maps the error of a command to the process exit code and prints
// its first line on s.Err, or nothing for a silent exit (withCode(code, nil)).
func exitCode(s streams, err error) int {
	if err == nil {
		return exitOK
	}
	code := exitUsage // cobra's own errors (unknown command, bad args) are usage errors
	var ee *exitError
	switch {
	case errors.Is(err, usage.ErrUsage): // from any package, whatever code it was wrapped with
		code = exitUsage
	case errors.As(err, &ee):
		code = ee.code
	}
	msg := strings.TrimSpace(err.Error())
	if fe, ok := errors.AsType[*usage.FieldError](err); ok {
		msg = strings.Replace(msg, fe.Error(), fe.Op+": "+flagName(fe.Field)+" "+fe.Problem, 1)
	}
	if msg != "" {
		fmt.Fprintf(s.Err, "loadbench: %s\n", firstLine(msg))
	}
	return code
}

// flagName is the flag that sets the library's setting named field: its
// words joined by dashes ("round duration" is --round-duration, "baseline
// ws ping" --baseline-ws-ping), except where the command names it
// otherwise.
func flagName(field string) string {
	if f, ok := flagNames[field]; ok {
		return f
	}
	return "--" + strings.ReplaceAll(field, " ", "-")
}

// flagNames are the settings whose flag is not their words joined by
// dashes.
var flagNames = map[string]string{
	"build":       "--baseline-impl or --candidate-impl",
	"vegeta file": "--out",
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
