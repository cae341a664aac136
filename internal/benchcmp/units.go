package benchcmp

import "strings"

// UnitBetter tells which way a benchmark unit improves: -1 when lower is
// better, 1 when higher is, 0 when the unit is unknown. Besides the testing
// package's own units (sec/op, ns/op, B/op, allocs/op lower; B/s, MB/s
// higher) it knows loadbench's:
//
//   - latencies, "*-ms", "*-us", "*-ns" and "*-sec" (p99-ms, p50-ns): lower;
//   - bytes, "B/*" and "*-B/*" (B/chat, retained-B/chat): lower;
//   - failures, "errors" and "*-errors": lower;
//   - rates, "*/s" (chats/s): higher.
//
// A `Unit NAME better=higher|lower` line in the benchmark output overrides
// it (Compare and Columns read those first).
func UnitBetter(unit string) int {
	switch unit {
	case "sec/op", "ns/op", "B/op", "allocs/op", "errors":
		return -1
	case "B/s", "MB/s":
		return 1
	}
	for _, suffix := range []string{"-ms", "-us", "-µs", "-ns", "-sec", "-errors"} {
		if strings.HasSuffix(unit, suffix) {
			return -1
		}
	}
	switch {
	case strings.HasPrefix(unit, "B/") || strings.Contains(unit, "-B/"):
		return -1
	case strings.HasSuffix(unit, "/s"):
		return 1
	}
	return 0
}
