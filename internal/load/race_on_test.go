//go:build race

package load

// raceEnabled: the race detector slows the in-process target and generator
// several-fold, so load-shape tests use lower rates.
const raceEnabled = true
