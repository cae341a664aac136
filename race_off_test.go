//go:build !race

package loadbench_test

const raceEnabled = false
