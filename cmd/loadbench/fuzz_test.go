package main

import (
	"errors"
	"io"
	"math"
	"strconv"
	"strings"
	"testing"

	"github.com/loadbench/loadbench"
	"github.com/loadbench/loadbench/internal/usage"
)

// FuzzRateFlags: the rate parsers accept only non-negative finite rates
// (attack also "max"), and every refusal is a usage error.
func FuzzRateFlags(f *testing.F) {
	for _, s := range []string{"200", "0", "max", "MAX", "-5", "NaN", "Inf", "1e309", "0.5", " 10", "0x10"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := parseAttackRate("http-rate", s)
		if err == nil && r != loadbench.Max() && !validRate(r) {
			t.Fatalf("parseAttackRate(%q) = %v", s, r)
		}
		if err == nil && r == loadbench.Max() && !strings.EqualFold(s, "max") {
			t.Fatalf("parseAttackRate(%q) = max", s)
		}
		if err != nil && (!errors.Is(err, usage.ErrUsage) || exitCode(streams{Err: io.Discard}, err) != exitUsage) {
			t.Fatalf("parseAttackRate(%q): %v is not a usage error", s, err)
		}
		c, err := compareRate("compare: --http-rate", s)
		if err == nil && !validRate(c) {
			t.Fatalf("compareRate(%q) = %v", s, c)
		}
	})
}

// validRate reports whether r is off or a positive finite rate.
func validRate(r loadbench.Rate) bool {
	if r == loadbench.Off() {
		return true
	}
	n, ok := strings.CutSuffix(r.String(), "/s")
	v, err := strconv.ParseFloat(n, 64)
	return ok && err == nil && v > 0 && !math.IsInf(v, 0)
}

// FuzzRedactArgs: whatever the command line, the value of a header flag
// keeps at most the header's name: "Name: <redacted>" or "<redacted>".
func FuzzRedactArgs(f *testing.F) {
	f.Add("--header", "Authorization: Bearer s3cr3t-token", "--users")
	f.Add("--candidate-header=Cookie: s=s3cr3t-token", "x", "y")
	f.Add("--baseline-header", "s3cr3t-token", "--")
	f.Add("--header", "--header", "a: b")
	f.Fuzz(func(t *testing.T, a, b, c string) {
		args := []string{"loadbench", "compare", a, b, c}
		out := redactArgs(args)
		if len(out) != len(args) {
			t.Fatalf("redactArgs changed the length: %q", out)
		}
		check := func(secret, got string) {
			if got == redacted {
				return
			}
			name, _, ok := strings.Cut(secret, ":")
			if !ok || got != strings.TrimSpace(name)+": "+redacted {
				t.Fatalf("redactArgs(%q) = %q: value %q became %q", args, out, secret, got)
			}
		}
		for i := 2; i < len(args); i++ {
			arg := args[i]
			if arg == "--" {
				break
			}
			name, val, hasVal := strings.Cut(strings.TrimPrefix(arg, "--"), "=")
			if !strings.HasPrefix(arg, "--") || !isSecretFlag(name) {
				if out[i] != arg {
					t.Fatalf("redactArgs(%q) = %q: changed %q", args, out, arg)
				}
				continue
			}
			if hasVal {
				check(val, strings.TrimPrefix(out[i], "--"+name+"="))
			} else if i+1 < len(args) {
				check(args[i+1], out[i+1])
				i++
			}
		}
	})
}
