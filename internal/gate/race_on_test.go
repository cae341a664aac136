//go:build race

package gate

// raceEnabled: under the race detector the seeded simulations run their
// short trial counts (fewTrials).
const raceEnabled = true
