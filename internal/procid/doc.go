// Package procid names the running process with a random token, drawn once
// per process. Two parties that report the same token share one process, and
// so one heap: a target served in-process by the test that loads it reports
// the load generator's allocations as its own. The token says nothing else;
// it is not a secret and not stable across restarts.
package procid
