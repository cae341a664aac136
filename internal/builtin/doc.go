// Package builtin runs a compare of the project's built-in builds, as
// `loadbench compare` without URLs and `loadbench validate` do: it starts
// each build as its own `loadbench serve` process (targets.StartProcess),
// hands their URLs to loadbench.Compare (or, to continue a stored run,
// loadbench.Continue) with a liveness check, records which builds they
// were, and ends the processes when the compare ends, fails or is
// cancelled. The library itself only ever compares URLs.
package builtin
