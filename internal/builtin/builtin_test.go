package builtin

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/loadbench/loadbench"
	"github.com/loadbench/loadbench/results"
)

// script writes an executable shell script that stands in for loadbench
// and touches started when it runs.
func script(t *testing.T, started, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "fake-loadbench")
	text := "#!/bin/sh\ntouch " + started + "\n" + body + "\n"
	if err := os.WriteFile(path, []byte(text), 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

// Bad options and bad builds are refused before any process starts.
func TestCompareChecksBeforeStarting(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		spec  func(exe string) Spec
		o     loadbench.CompareOptions
		field string
	}{
		{"round duration", func(exe string) Spec {
			return Spec{Executable: exe, Baseline: Build{Impl: "baseline"}, Candidate: Build{Impl: "perrequest"}}
		}, loadbench.CompareOptions{RoundDuration: -time.Second}, "round duration"},
		{"users", func(exe string) Spec {
			return Spec{Executable: exe, Baseline: Build{Impl: "baseline"}, Candidate: Build{Impl: "perrequest"}}
		}, loadbench.CompareOptions{Users: -1}, "users"},
		{"build", func(exe string) Spec {
			return Spec{Executable: exe, Baseline: Build{Impl: "baseline"}, Candidate: Build{Impl: "nope"}}
		}, loadbench.CompareOptions{}, "build"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			started := filepath.Join(t.TempDir(), "started")
			exe := script(t, started, "exit 1")
			o := tc.o
			o.Dir = filepath.Join(t.TempDir(), "run")
			_, err := Compare(context.Background(), tc.spec(exe), o)
			fe, ok := errors.AsType[*loadbench.FieldError](err)
			if !ok || fe.Field != tc.field || !errors.Is(err, loadbench.ErrUsage) {
				t.Fatalf("err %v, want a usage error about %q", err, tc.field)
			}
			if _, err := os.Stat(started); err == nil {
				t.Error("a process was started for a compare that cannot run")
			}
		})
	}
}

// A build that rejects its serve flags is a usage error; the run directory
// keeps a manifest that says what ran and why it stopped.
func TestCompareBadServeFlags(t *testing.T) {
	t.Parallel()
	started := filepath.Join(t.TempDir(), "started")
	exe := script(t, started, `echo "loadbench: serve: unknown flag --bogus" >&2; exit 2`)
	dir := filepath.Join(t.TempDir(), "run")
	o := loadbench.CompareOptions{Dir: dir, CommandLine: []string{"loadbench", "compare"}}
	_, err := Compare(context.Background(), Spec{
		Executable: exe, Baseline: Build{Impl: "baseline"}, Candidate: Build{Impl: "perrequest", Args: []string{"--bogus"}},
	}, o)
	if !errors.Is(err, loadbench.ErrUsage) || !strings.Contains(err.Error(), "unknown flag --bogus") {
		t.Fatalf("err %v, want a usage error quoting the child", err)
	}
	var m results.Manifest
	if err := results.ReadJSON(filepath.Join(dir, results.ManifestFile), &m); err != nil {
		t.Fatal(err)
	}
	if !m.Partial || !strings.Contains(m.Note, "did not start") || strings.Join(m.Args, " ") != "loadbench compare" {
		t.Errorf("manifest %+v, want a partial run that says the targets did not start", m)
	}
	for _, log := range []string{"baseline.log", "candidate.log"} {
		if _, err := os.Stat(filepath.Join(dir, log)); err != nil {
			t.Errorf("no %s: %v", log, err)
		}
	}
}
