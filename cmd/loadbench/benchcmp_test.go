package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

func TestBenchcmpExitCodes(t *testing.T) {
	t.Parallel()
	const td = "../../internal/benchcmp/testdata/"
	for _, tc := range []struct {
		name   string
		args   []string
		code   int
		out    string // in stdout
		errOut string // in stderr
	}{
		{"pass", []string{"benchcmp", td + "old.txt", td + "new_pass.txt"}, exitOK, "verdict: pass: all 6 comparisons within the 5% budget", ""},
		{"fail", []string{"benchcmp", td + "old.txt", td + "new_fail.txt"}, exitFail, "verdict: fail: Run-8 sec/op +20.1%", ""},
		{"budget 25% passes the +20%", []string{"benchcmp", "--budget", "25%", td + "old.txt", td + "new_fail.txt"}, exitOK, "within the 25% budget", ""},
		{"budget as fraction", []string{"benchcmp", "--budget", "0.25", td + "old.txt", td + "new_fail.txt"}, exitOK, "within the 25% budget", ""},
		{"missing file", []string{"benchcmp", td + "old.txt", td + "nope.txt"}, exitUsage, "", "nope.txt"},
		{"one argument", []string{"benchcmp", td + "old.txt"}, exitUsage, "", "want OLD and NEW"},
		{"negative budget", []string{"benchcmp", "--budget", "-5%", td + "old.txt", td + "new_pass.txt"}, exitUsage, "", "negative"},
		{"budget 100%", []string{"benchcmp", "--budget", "100%", td + "old.txt", td + "new_pass.txt"}, exitUsage, "", "not below 100%"},
		{"bad alpha", []string{"benchcmp", "--alpha", "2", td + "old.txt", td + "new_pass.txt"}, exitUsage, "", "--alpha"},
		{"columns", []string{"benchcmp", "--col", "build=baseline,perrequest", td + "chat.txt"}, exitFail, "verdict: fail: Chat/proto=", ""},
		{"columns reversed", []string{"benchcmp", "--col", "build=perrequest,baseline", td + "chat.txt"}, exitFail, "retained-B/chat +99.9%", ""},
		{"columns three builds", []string{"benchcmp", "--col", "build", td + "chat.txt"}, exitUsage, "", "3 values"},
		{"columns bad spec", []string{"benchcmp", "--col", "build=baseline", td + "chat.txt"}, exitUsage, "", "KEY=OLD,NEW"},
		{"columns two files", []string{"benchcmp", "--col", "build", td + "chat.txt", td + "chat.txt"}, exitUsage, "", "one FILE"},
		{"no common benchmark", []string{"benchcmp", td + "old.txt", td + "chat.txt"}, exitUsage, "", "no benchmark in both files"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			code := run(context.Background(), tc.args, streams{In: strings.NewReader(""), Out: &out, Err: &errb})
			if code != tc.code {
				t.Errorf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tc.code, out.String(), errb.String())
			}
			if !strings.Contains(out.String(), tc.out) {
				t.Errorf("stdout lacks %q:\n%s", tc.out, out.String())
			}
			if !strings.Contains(errb.String(), tc.errOut) {
				t.Errorf("stderr lacks %q:\n%s", tc.errOut, errb.String())
			}
			if tc.code == exitUsage && strings.Count(strings.TrimSpace(errb.String()), "\n") != 0 {
				t.Errorf("usage error is not one line:\n%s", errb.String())
			}
		})
	}
}
