// Package usage holds loadbench's one bad-usage sentinel. Every package that
// validates a configuration wraps it, the CLI maps it to exit code 2, and the
// public API re-exports it, so errors.Is(err, ErrUsage) holds across them all.
package usage

import (
	"errors"
	"fmt"
)

// ErrUsage is wrapped by every error that reports an invalid configuration
// or input (as opposed to a failed run).
var ErrUsage = errors.New("bad usage")

// Errorf formats an error that wraps ErrUsage without repeating its text.
func Errorf(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

type usageError struct{ msg string }

func (e *usageError) Error() string        { return e.msg }
func (e *usageError) Is(target error) bool { return target == ErrUsage }
