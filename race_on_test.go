//go:build race

package loadbench_test

// raceEnabled: the race detector slows the in-process targets and the
// generator several-fold, so tests that need a decided compare skip.
const raceEnabled = true
