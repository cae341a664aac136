// Package audit runs the eight user-isolation checks of the real service's
// suite against a build, through the same interface the targets serve it
// with. Each check reports whether it found a violation and what it found.
//
// The checks exercise the legacy defect as it happens: requests that
// overlap (sessions acquired, so the shared factory configured, before
// others create their agents), connections opened before another request
// runs, and what a build still holds once requests have finished. On the
// legacy build all eight fire through configure-per-request; on the partial
// build only the WebSocket check (requests with a bridge) fires.
package audit
