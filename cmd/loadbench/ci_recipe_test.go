package main

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/loadbench/loadbench/internal/testtool"
)

const ciRecipe = "../../docs/ci/github-actions.yml"

// pendingFlags are flags the recipe uses that the CLI does not have yet:
// their check is skipped with a note, and once one exists the test fails
// until its entry is deleted here, so that no skip outlives its reason.
var pendingFlags = map[string]string{}

// TestCIRecipe reads docs/ci/github-actions.yml and checks that every
// `loadbench` command it runs exists in this CLI with every flag it passes,
// that it runs the README's test command, and that the run directory it
// compares into is the one it uploads and summarizes.
func TestCIRecipe(t *testing.T) {
	t.Parallel()
	scripts := runScripts(t, ciRecipe)
	if len(scripts) == 0 {
		t.Fatal("no run: steps found")
	}
	var cmds [][]string
	for _, s := range scripts {
		cmds = append(cmds, shellCommands(s)...)
	}

	// What the recipe must run; the parse must find exactly these.
	want := map[string][]string{
		"compare": {"baseline", "candidate", "continue", "header", "max-duration", "out", "quiet"},
	}
	got := map[string][]string{}
	var makeTargets []string
	root := newRootCmd(streams{In: strings.NewReader(""), Out: &strings.Builder{}, Err: &strings.Builder{}})
	for _, words := range cmds {
		switch {
		case len(words) > 1 && words[0] == "make":
			makeTargets = append(makeTargets, words[1:]...)
		case len(words) > 0 && (words[0] == "loadbench" || strings.HasSuffix(words[0], "/loadbench")):
			if len(words) < 2 {
				t.Errorf("loadbench without a command: %q", words)
				continue
			}
			sub, _, err := root.Find(words[1:2])
			if err != nil || sub == root || sub.Name() != words[1] {
				t.Errorf("the recipe runs `loadbench %s`, which the CLI does not have", words[1])
				continue
			}
			for _, w := range words[2:] {
				if !strings.HasPrefix(w, "--") {
					continue
				}
				name, _, _ := strings.Cut(strings.TrimPrefix(w, "--"), "=")
				got[words[1]] = append(got[words[1]], name)
				exists := sub.Flag(name) != nil
				if why, pending := pendingFlags[words[1]+" --"+name]; pending {
					if exists {
						t.Errorf("`loadbench %s --%s` exists now: delete its pendingFlags entry", words[1], name)
					} else {
						t.Logf("skipped: `loadbench %s --%s` is not on this branch yet (%s)", words[1], name, why)
					}
					continue
				}
				if !exists {
					t.Errorf("the recipe passes `loadbench %s --%s`, which the CLI does not have", words[1], name)
				}
			}
		}
	}
	for sub, flags := range got {
		slices.Sort(flags)
		got[sub] = slices.Compact(flags)
	}
	for sub, flags := range want {
		if !slices.Equal(got[sub], flags) {
			t.Errorf("loadbench %s flags in the recipe: %v, want %v", sub, got[sub], flags)
		}
	}
	if len(got) != len(want) {
		t.Errorf("loadbench commands in the recipe: %v, want %v", got, want)
	}

	// The README's test command, and make targets that exist.
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(readme), "make test") || !slices.Contains(makeTargets, "test") {
		t.Errorf("the recipe runs make %v; want the README's `make test`", makeTargets)
	}
	makefile, err := os.ReadFile("../../Makefile")
	if err != nil {
		t.Fatal(err)
	}
	for _, target := range makeTargets {
		if !regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(target) + `:`).Match(makefile) {
			t.Errorf("the recipe runs `make %s`; the Makefile has no such target", target)
		}
	}

	// One run directory, compared into, summarized and uploaded; the
	// token only by reference.
	text, err := os.ReadFile(ciRecipe)
	if err != nil {
		t.Fatal(err)
	}
	for _, must := range []string{
		"--out runs/ci", "--continue runs/ci", "runs/ci/report.md", `>> "$GITHUB_STEP_SUMMARY"`, "path: runs/ci",
		"actions/upload-artifact@", "workflow_dispatch:", "secrets.LOADBENCH_TOKEN",
		`--header 'Authorization: Bearer ${TOKEN}'`,
	} {
		if !strings.Contains(string(text), must) {
			t.Errorf("the recipe lacks %q", must)
		}
	}
}

// TestCIRecipeContinuesOnce runs the recipe's compare step over a stand-in
// for bin/loadbench: an inconclusive compare (exit 4) is continued once,
// with the URLs and the header given again, and the step's exit output is
// the last verdict's; any other outcome is not continued.
func TestCIRecipeContinuesOnce(t *testing.T) {
	t.Parallel()
	bash := testtool.Need(t, "bash", "bash")
	var step string
	for _, s := range runScripts(t, ciRecipe) {
		if strings.Contains(s, "loadbench compare") {
			step = s
		}
	}
	if step == "" {
		t.Fatal("no compare step in the recipe")
	}
	for _, tc := range []struct {
		codes []int // of the stand-in's calls, in order
		calls int
		exit  int
	}{
		{[]int{exitOK}, 1, exitOK},
		{[]int{exitFail}, 1, exitFail},
		{[]int{exitRunError}, 1, exitRunError},
		{[]int{exitInconclusive, exitOK}, 2, exitOK},
		{[]int{exitInconclusive, exitFail}, 2, exitFail},
		{[]int{exitInconclusive, exitInconclusive}, 2, exitInconclusive},
	} {
		t.Run(fmt.Sprint(tc.codes), func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			calls := filepath.Join(dir, "calls")
			script := "#!/bin/sh\nprintf '%s\\n' \"$*\" >> " + calls + "\nn=$(wc -l < " + calls + ")\n"
			for i, c := range tc.codes {
				script += fmt.Sprintf("[ $n -eq %d ] && exit %d\n", i+1, c)
			}
			script += "exit 99\n"
			if err := os.MkdirAll(filepath.Join(dir, "bin"), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, "bin", "loadbench"), []byte(script), 0o755); err != nil {
				t.Fatal(err)
			}
			output := filepath.Join(dir, "github-output")
			cmd := exec.Command(bash, "-e", "-c", step) // GitHub's default shell for run:
			cmd.Dir = dir
			cmd.Env = append(os.Environ(), "GITHUB_OUTPUT="+output, "TOKEN=secret",
				"BASELINE=https://base.test", "CANDIDATE=https://cand.test", "MAX_DURATION=4m")
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("the compare step failed: %v\n%s", err, out)
			}
			got, _ := os.ReadFile(calls)
			lines := strings.Split(strings.TrimSpace(string(got)), "\n")
			if len(lines) != tc.calls {
				t.Fatalf("loadbench ran %d times: %q; want %d", len(lines), lines, tc.calls)
			}
			first := "compare --baseline https://base.test --candidate https://cand.test --header Authorization: Bearer ${TOKEN} --max-duration 4m --out runs/ci --quiet"
			if lines[0] != first {
				t.Errorf("first run: %q, want %q", lines[0], first)
			}
			if tc.calls == 2 {
				want := "compare --continue runs/ci --baseline https://base.test --candidate https://cand.test --header Authorization: Bearer ${TOKEN} --max-duration 4m --quiet"
				if lines[1] != want {
					t.Errorf("continuation: %q, want %q", lines[1], want)
				}
			}
			if out, _ := os.ReadFile(output); strings.TrimSpace(string(out)) != fmt.Sprintf("exit=%d", tc.exit) {
				t.Errorf("step output %q, want exit=%d", out, tc.exit)
			}
		})
	}
}

// runScripts returns the shell text of every `run:` step of a workflow: a
// one-line `run: cmd` or a `run: |` block (the lines indented deeper).
func runScripts(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var (
		scripts []string
		block   []string
		indent  = -1 // indent of the open block's `run:` key; -1 none
	)
	flush := func() {
		if indent >= 0 {
			scripts = append(scripts, strings.Join(block, "\n"))
		}
		block, indent = nil, -1
	}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		trimmed := strings.TrimLeft(line, " ")
		depth := len(line) - len(trimmed)
		if indent >= 0 {
			if trimmed == "" || depth > indent {
				block = append(block, trimmed)
				continue
			}
			flush()
		}
		key := strings.TrimPrefix(trimmed, "- ")
		if !strings.HasPrefix(key, "run:") {
			continue
		}
		val := strings.TrimSpace(strings.TrimPrefix(key, "run:"))
		if val == "|" || val == "|-" || val == ">" {
			indent = depth
			continue
		}
		scripts = append(scripts, val)
	}
	flush()
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return scripts
}

// shellCommands splits a script into simple commands (at newlines not
// escaped, ;, &&, || and |) of shell words, with quotes removed, comments
// dropped and leading VAR=value assignments skipped.
func shellCommands(script string) [][]string {
	var (
		cmds  [][]string
		words []string
		word  strings.Builder
		inW   bool
		quote rune
	)
	endWord := func() {
		if inW {
			words = append(words, word.String())
		}
		word.Reset()
		inW = false
	}
	endCmd := func() {
		endWord()
		for len(words) > 0 && regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*=`).MatchString(words[0]) {
			words = words[1:]
		}
		if len(words) > 0 {
			cmds = append(cmds, words)
		}
		words = nil
	}
	rs := []rune(script)
	for i := 0; i < len(rs); i++ {
		c := rs[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			} else {
				word.WriteRune(c)
			}
		case c == '\'' || c == '"':
			quote, inW = c, true
		case c == '\\' && i+1 < len(rs) && rs[i+1] == '\n':
			i++
			endWord()
		case c == '#' && !inW:
			for i < len(rs) && rs[i] != '\n' {
				i++
			}
			endCmd()
		case c == '\n' || c == ';' || c == '|' || c == '&':
			endCmd()
		case c == ' ' || c == '\t':
			endWord()
		default:
			word.WriteRune(c)
			inW = true
		}
	}
	endCmd()
	return cmds
}

func TestShellCommands(t *testing.T) {
	t.Parallel()
	got := shellCommands("set +e\nA= B=1 ./bin/loadbench compare \\\n  --x 'a b' --y=\"c\" # note\necho ok && make test | tee x")
	want := [][]string{{"set", "+e"}, {"./bin/loadbench", "compare", "--x", "a b", "--y=c"}, {"echo", "ok"}, {"make", "test"}, {"tee", "x"}}
	if !slices.EqualFunc(got, want, slices.Equal) {
		t.Errorf("shellCommands = %q, want %q", got, want)
	}
}
