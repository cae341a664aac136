// Package audit runs the eight user-isolation checks of the real service's
// suite against a build, through the same interface the targets serve it
// with. Each check reports whether it found a violation and what it found.
package audit
