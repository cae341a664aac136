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

// FieldError is a usage error about one setting of a configuration: Op is
// the operation ("compare"), Field the setting's name in words ("round
// duration", "baseline ws ping"), Problem what is wrong ("must be
// positive, got -1s"). It reads "compare: round duration must be positive,
// got -1s"; a command maps Field to its own flag's name.
type FieldError struct {
	Op, Field, Problem string
}

// Fieldf returns a FieldError about field of op.
func Fieldf(op, field, format string, args ...any) error {
	return &FieldError{Op: op, Field: field, Problem: fmt.Sprintf(format, args...)}
}

func (e *FieldError) Error() string        { return e.Op + ": " + e.Field + " " + e.Problem }
func (e *FieldError) Is(target error) bool { return target == ErrUsage }
