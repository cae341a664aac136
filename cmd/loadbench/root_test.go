package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/loadbench/loadbench/internal/usage"
	"github.com/loadbench/loadbench/results"
)

func TestExitCode(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		err     error
		code    int
		message string // the stderr line, "" for none
	}{
		{"nil", nil, exitOK, ""},
		{"silent fail", withCode(exitFail, nil), exitFail, ""},
		{"silent inconclusive", withCode(exitInconclusive, nil), exitInconclusive, ""},
		{"run error", withCode(exitRunError, errors.New("compare: target crashed\nsecond line")), exitRunError, "compare: target crashed"},
		{"usage error", usage.Errorf("attack: users must be positive"), exitUsage, "attack: users must be positive"},
		{"usage error under a run-error code", withCode(exitRunError, fmt.Errorf("compare: %w", usage.Errorf("rounds must be at least 2"))), exitUsage, "compare: rounds must be at least 2"},
		{"cobra's own error", errors.New(`unknown command "nope" for "loadbench"`), exitUsage, `unknown command "nope" for "loadbench"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var errb strings.Builder
			code := exitCode(streams{Err: &errb}, tc.err)
			if code != tc.code {
				t.Errorf("exit code %d, want %d", code, tc.code)
			}
			want := ""
			if tc.message != "" {
				want = "loadbench: " + tc.message + "\n"
			}
			if errb.String() != want {
				t.Errorf("stderr %q, want %q", errb.String(), want)
			}
		})
	}
}

func TestWithCodeNilErrorIsSilent(t *testing.T) {
	t.Parallel()
	err := withCode(exitFail, nil)
	if got := err.Error(); got != "" { // panicked before: the comment promised a silent exit
		t.Errorf("Error() = %q, want empty", got)
	}
	if errors.Unwrap(err) != nil || errors.Is(err, usage.ErrUsage) {
		t.Errorf("withCode(1, nil) unwraps to %v", errors.Unwrap(err))
	}
}

func TestFlagErrorsAreUsage(t *testing.T) {
	t.Parallel()
	code, out, errOut := runCmd(context.Background(), t, "benchcmp", "--no-such-flag")
	if code != exitUsage || out != "" || !strings.HasPrefix(errOut, "loadbench: benchcmp: unknown flag: --no-such-flag") {
		t.Errorf("exit %d, stdout %q, stderr %q; want 2 and one line naming the command and flag", code, out, errOut)
	}
}

// compare and validate start the built-in targets from the injected
// executable, never from os.Executable.
func TestBuiltinTargetsUseInjectedExecutable(t *testing.T) {
	t.Parallel()
	for _, cmd := range []string{"compare", "validate"} {
		t.Run(cmd+" executable unknown", func(t *testing.T) {
			t.Parallel()
			dir := filepath.Join(t.TempDir(), "run")
			broken := func() (string, error) { return "", errors.New("no /proc/self/exe here") }
			code, out, errOut := runWith(context.Background(), t, broken, cmd, "--quiet", "--out", dir)
			if code != exitRunError || out != "" {
				t.Fatalf("exit %d, stdout %q, stderr %q; want 3", code, out, errOut)
			}
			if want := "loadbench: " + cmd + ": find own executable: no /proc/self/exe here\n"; errOut != want {
				t.Errorf("stderr %q, want %q", errOut, want)
			}
			if _, err := os.Stat(dir); err == nil {
				t.Errorf("wrote %s", dir)
			}
		})
	}
	t.Run("compare starts the injected path", func(t *testing.T) {
		t.Parallel()
		dir := filepath.Join(t.TempDir(), "run")
		exe := filepath.Join(t.TempDir(), "not-loadbench")
		code, _, errOut := runWith(context.Background(), t, func() (string, error) { return exe, nil },
			"compare", "--quiet", "--out", dir, "--rounds", "2", "--round-duration", "100ms")
		if code != exitRunError || !strings.Contains(errOut, exe) {
			t.Errorf("exit %d, stderr %q; want 3 naming %s", code, errOut, exe)
		}
	})
}

// The command line recorded in a run's manifest is the injected one.
func TestManifestRecordsInjectedArgs(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "run")
	args := []string{"compare", "--quiet", "--out", dir, "--rounds", "2", "--round-duration", "100ms"}
	exe := filepath.Join(t.TempDir(), "not-loadbench")
	runWith(context.Background(), t, func() (string, error) { return exe, nil }, args...)
	var m results.Manifest
	if err := results.ReadJSON(filepath.Join(dir, results.ManifestFile), &m); err != nil {
		t.Fatalf("compare kept no manifest of its failed run: %v", err)
	}
	if want := append([]string{"loadbench"}, args...); strings.Join(m.Args, " ") != strings.Join(want, " ") {
		t.Errorf("manifest args %q, want %q", m.Args, want)
	}
}
