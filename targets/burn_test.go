package targets

import (
	"testing"
	"time"
)

func TestBurnOptionRejectsNegative(t *testing.T) {
	t.Parallel()
	if _, err := New(ImplPerRequest, WithBurn(-time.Millisecond)); err == nil || err.Error() != "targets: negative burn -1ms" {
		t.Errorf("negative burn: %v", err)
	}
	if _, err := Start(ImplBaseline, WithBurn(-time.Millisecond)); err == nil || err.Error() != "start target: targets: negative burn -1ms" {
		t.Errorf("negative burn: %v", err)
	}
}
