// Package testtool finds the external programs that some tests drive
// (Chromium, nginx). Outside the project's CI a missing program skips the
// test with the command that installs it; in the project's CI, which sets
// RequireEnv (.ci/run does, after installing them), it fails the test.
// The generic CI variable is deliberately not read: a CI system that runs
// the README's test command without installing these still passes.
package testtool
