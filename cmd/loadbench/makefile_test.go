package main

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/loadbench/loadbench/internal/testtool"
)

// TestMakeRunNamesTheVerdict runs the Makefile's run and gate targets over a
// stand-in for bin/loadbench that exits with each of loadbench's codes, and
// checks the line they end with and whether make succeeds: run succeeds on
// any verdict, gate only on a pass; both fail on a run error or bad usage.
// An inconclusive gate continues its run once, and the continuation's code
// is the gate's, unless the continuation was refused (bad usage).
func TestMakeRunNamesTheVerdict(t *testing.T) {
	t.Parallel()
	mk := testtool.Need(t, "make", "make")
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	const exitNone = -1 // not called
	lines := map[int]string{
		exitOK: "verdict PASS", exitFail: "verdict FAIL", exitInconclusive: "verdict INCONCLUSIVE",
		exitRunError: "no verdict: run error", exitUsage: "no verdict: bad usage",
	}
	for _, tc := range []struct {
		code, next    int // the first compare's exit, and the continuation's
		runOK, gateOK bool
	}{
		{exitOK, exitNone, true, true},
		{exitFail, exitNone, true, false},
		{exitInconclusive, exitInconclusive, true, false},
		{exitInconclusive, exitOK, true, true},
		{exitInconclusive, exitFail, true, false},
		{exitInconclusive, exitUsage, true, false},
		{exitRunError, exitNone, false, false},
		{exitUsage, exitNone, false, false},
	} {
		name := "exit " + strconv.Itoa(tc.code)
		if tc.next != exitNone {
			name += " then " + strconv.Itoa(tc.next)
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			tmp := t.TempDir()
			stub, calls := filepath.Join(tmp, "loadbench"), filepath.Join(tmp, "calls")
			// The first call exits with code, later ones with next.
			script := "#!/bin/sh\necho \"verdict: from the stand-in: $*\"\necho \"$*\" >> " + calls + "\n" +
				"if [ $(wc -l < " + calls + ") -gt 1 ]; then exit " + strconv.Itoa(tc.next) + "; fi\nexit " + strconv.Itoa(tc.code) + "\n"
			if err := os.WriteFile(stub, []byte(script), 0o755); err != nil {
				t.Fatal(err)
			}
			out := filepath.Join(tmp, "gate-run")
			for _, target := range []string{"run", "gate"} {
				os.Remove(calls)
				// -o build: use the stand-in instead of building loadbench.
				cmd := exec.Command(mk, "-s", "--no-print-directory", "-C", root, "-o", "build", target, "BIN="+stub, "COMPARE_FLAGS=--rounds 4", "GATE_OUT="+out)
				cmd.Env = outsideMake(os.Environ()) // also under `make test`
				stdout, err := cmd.Output()
				var ee *exec.ExitError
				if err != nil && !errors.As(err, &ee) {
					t.Fatalf("make %s: %v", target, err)
				}
				code := tc.code
				wantCalls := []string{"compare --rounds 4"}
				if target == "gate" {
					wantCalls = []string{"compare --out " + out + " --rounds 4"}
					if tc.code == exitInconclusive {
						wantCalls = append(wantCalls, "compare --continue "+out)
						if tc.next != exitUsage {
							code = tc.next
						}
					}
				}
				printed := strings.Split(strings.TrimSpace(string(stdout)), "\n")
				want := "make " + target + ": " + lines[code] + " (loadbench exit " + strconv.Itoa(code) + ": 0 pass, 1 fail, 4 inconclusive, 3 run error, 2 bad usage)"
				if printed[0] != "verdict: from the stand-in: "+wantCalls[0] || printed[len(printed)-1] != want {
					t.Errorf("make %s printed\n%s\nwant the compare's output, then %q", target, stdout, want)
				}
				got, _ := os.ReadFile(calls)
				if g := strings.Split(strings.TrimSpace(string(got)), "\n"); !slices.Equal(g, wantCalls) {
					t.Errorf("make %s ran loadbench %q, want %q", target, g, wantCalls)
				}
				if ok := target == "run" && tc.runOK || target == "gate" && tc.gateOK; ok != (err == nil) {
					t.Errorf("make %s after loadbench exit %d then %d: err %v, want success %v", target, tc.code, tc.next, err, ok)
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
