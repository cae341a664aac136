package main

import (
	"errors"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/loadbench/loadbench/internal/load"
)

// FuzzRateFlags: the rate parsers accept only non-negative finite rates
// (attack also "max"), and every refusal is a usage error.
func FuzzRateFlags(f *testing.F) {
	for _, s := range []string{"200", "0", "max", "MAX", "-5", "NaN", "Inf", "1e309", "0.5", " 10", "0x10"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := parseAttackRate("http-rate", s)
		if err == nil && r != load.Max && (r < 0 || math.IsNaN(r) || math.IsInf(r, 0)) {
			t.Fatalf("parseAttackRate(%q) = %v", s, r)
		}
		if err == nil && r == load.Max && !strings.EqualFold(s, "max") {
			t.Fatalf("parseAttackRate(%q) = max", s)
		}
		var ee *exitError
		if err != nil && (!errors.As(err, &ee) || ee.code != exitUsage) {
			t.Fatalf("parseAttackRate(%q): %v is not a usage error", s, err)
		}
		c, err := compareRate("compare: --http-rate", s)
		if err == nil && (c < 0 || math.IsNaN(c) || math.IsInf(c, 0)) {
			t.Fatalf("compareRate(%q) = %v", s, c)
		}
	})
}

// FuzzRedactArgs: whatever the command line, no value of a header flag
// survives redaction.
func FuzzRedactArgs(f *testing.F) {
	f.Add("--header", "Authorization: Bearer s3cr3t-token", "--users")
	f.Add("--candidate-header=Cookie: s=s3cr3t-token", "x", "y")
	f.Add("--baseline-header", "s3cr3t-token", "--")
	f.Fuzz(func(t *testing.T, a, b, c string) {
		args := []string{"loadbench", "compare", a, b, c}
		out := redactArgs(args)
		if len(out) != len(args) {
			t.Fatalf("redactArgs changed the length: %q", out)
		}
		for i, arg := range args {
			name, val, hasVal := strings.Cut(strings.TrimPrefix(arg, "--"), "=")
			if !strings.HasPrefix(arg, "--") || !isSecretFlag(name) || slices.Contains(args[:i], "--") {
				continue
			}
			secret := ""
			if hasVal {
				secret = val
			} else if i+1 < len(args) {
				secret = args[i+1]
			}
			_, tail, ok := strings.Cut(secret, ":")
			if !ok {
				tail = secret
			}
			if tail = strings.TrimSpace(tail); len(tail) >= 4 && strings.Contains(strings.Join(out, " "), tail) && !strings.Contains(redacted, tail) && !strings.Contains("loadbench compare", tail) {
				t.Fatalf("redactArgs(%q) = %q keeps %q", args, out, tail)
			}
		}
	})
}
