// Package compare runs a before/after comparison of two deployments of the
// chat-agent service: interleaved rounds of the same load against a baseline
// and a candidate, memory read around every segment, /metrics sampled during
// it, every segment stored with the results package, and the verdict of the
// gate.
//
// Without URLs it starts both built-in targets itself, each as its own child
// process (`loadbench serve`), and ends them when done, on error and on
// cancellation.
package compare
