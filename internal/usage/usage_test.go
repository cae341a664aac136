package usage_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/loadbench/loadbench/internal/usage"
)

func TestErrorfWrapsErrUsage(t *testing.T) {
	t.Parallel()
	err := usage.Errorf("attack: users must be positive, got %d", 0)
	if !errors.Is(err, usage.ErrUsage) {
		t.Fatalf("%v does not wrap ErrUsage", err)
	}
	if got, want := err.Error(), "attack: users must be positive, got 0"; got != want {
		t.Fatalf("Error() = %q, want %q", got, want)
	}
	if wrapped := fmt.Errorf("compare: %w", err); !errors.Is(wrapped, usage.ErrUsage) {
		t.Fatalf("%v lost ErrUsage when wrapped", wrapped)
	}
	if errors.Is(errors.New("bad usage"), usage.ErrUsage) {
		t.Fatal("an unrelated error with the same text matched ErrUsage")
	}
}
