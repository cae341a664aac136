package main

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/loadbench/loadbench/internal/testtool"
)

// TestMakeRunNamesTheVerdict runs the Makefile's run and gate targets over a
// stand-in for bin/loadbench that exits with each of loadbench's codes, and
// checks the line they end with and whether make succeeds: run succeeds on
// any verdict, gate only on a pass; both fail on a run error or bad usage.
func TestMakeRunNamesTheVerdict(t *testing.T) {
	t.Parallel()
	mk := testtool.Need(t, "make", "make")
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		code          int
		line          string
		runOK, gateOK bool
	}{
		{exitOK, "verdict PASS", true, true},
		{exitFail, "verdict FAIL", true, false},
		{exitInconclusive, "verdict INCONCLUSIVE", true, false},
		{exitRunError, "no verdict: run error", false, false},
		{exitUsage, "no verdict: bad usage", false, false},
	} {
		t.Run(strconv.Itoa(tc.code), func(t *testing.T) {
			t.Parallel()
			stub := filepath.Join(t.TempDir(), "loadbench")
			script := "#!/bin/sh\necho \"verdict: from the stand-in: $*\"\nexit " + strconv.Itoa(tc.code) + "\n"
			if err := os.WriteFile(stub, []byte(script), 0o755); err != nil {
				t.Fatal(err)
			}
			for _, target := range []string{"run", "gate"} {
				// -o build: use the stand-in instead of building loadbench.
				cmd := exec.Command(mk, "-s", "--no-print-directory", "-C", root, "-o", "build", target, "BIN="+stub, "COMPARE_FLAGS=--rounds 4")
				cmd.Env = outsideMake(os.Environ()) // also under `make test`
				out, err := cmd.Output()
				var ee *exec.ExitError
				if err != nil && !errors.As(err, &ee) {
					t.Fatalf("make %s: %v", target, err)
				}
				lines := strings.Split(strings.TrimSpace(string(out)), "\n")
				want := "make " + target + ": " + tc.line + " (loadbench exit " + strconv.Itoa(tc.code) + ": 0 pass, 1 fail, 4 inconclusive, 3 run error, 2 bad usage)"
				if lines[0] != "verdict: from the stand-in: compare --rounds 4" || lines[len(lines)-1] != want {
					t.Errorf("make %s printed\n%s\nwant the compare's output, then %q", target, out, want)
				}
				if ok := target == "run" && tc.runOK || target == "gate" && tc.gateOK; ok != (err == nil) {
					t.Errorf("make %s after loadbench exit %d: err %v, want success %v", target, tc.code, err, ok)
				}
			}
		})
	}
}

// outsideMake drops the variables a parent make passes to its children.
func outsideMake(env []string) []string {
	var kept []string
	for _, kv := range env {
		switch name, _, _ := strings.Cut(kv, "="); name {
		case "MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES":
		default:
			kept = append(kept, kv)
		}
	}
	return kept
}

// TestRepositoryTracksNoBuildOutput keeps compiled programs and large files
// out of the repository: every clone downloads them.
func TestRepositoryTracksNoBuildOutput(t *testing.T) {
	t.Parallel()
	git := testtool.Need(t, "git", "git")
	root := filepath.Join("..", "..")
	out, err := exec.Command(git, "-C", root, "ls-files", "-z").Output()
	if err != nil {
		t.Skipf("not a git checkout: %v", err)
	}
	const maxSize = 1 << 20
	for _, name := range strings.Split(strings.TrimRight(string(out), "\x00"), "\x00") {
		f, err := os.Open(filepath.Join(root, name))
		if err != nil {
			continue // deleted in the worktree, not yet committed
		}
		head := make([]byte, 4)
		n, _ := f.Read(head)
		fi, statErr := f.Stat()
		f.Close()
		if statErr != nil {
			t.Fatal(statErr)
		}
		head = head[:n]
		switch {
		case strings.HasPrefix(string(head), "\x7fELF"), strings.HasPrefix(string(head), "MZ"),
			string(head) == "\xcf\xfa\xed\xfe", string(head) == "\xce\xfa\xed\xfe":
			t.Errorf("%s is a compiled program (build output belongs in bin/, ignored)", name)
		case fi.Size() > maxSize && !strings.HasPrefix(name, "docs/") && !strings.Contains("/"+name, "/testdata/"):
			t.Errorf("%s is %d bytes: over 1 MiB outside docs/ and testdata/", name, fi.Size())
		}
	}
}
