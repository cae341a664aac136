// Package perf holds the programs of `make perf` (run.sh): a trivial
// loopback target speaking the agents wire contract (target), a bare
// coder/websocket closed-loop client to compare against (wsbare), and a
// peak-RSS wrapper (peakrss). None of them is part of loadbench itself.
package perf
