package procid_test

import (
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"

	"github.com/loadbench/loadbench/internal/procid"
)

// envPrint makes the test binary print its token and exit, so that a test
// can read another process's.
const envPrint = "PROCID_PRINT_TOKEN"

func TestMain(m *testing.M) {
	if os.Getenv(envPrint) == "1" {
		os.Stdout.WriteString(procid.Token() + "\n")
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func TestTokenIsStableHexPerProcess(t *testing.T) {
	t.Parallel()
	tok := procid.Token()
	if !regexp.MustCompile(`^[0-9a-f]{16}$`).MatchString(tok) {
		t.Fatalf("token %q, want 16 hex characters", tok)
	}
	if again := procid.Token(); again != tok {
		t.Errorf("second call %q, first %q", again, tok)
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), envPrint+"=1")
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	other := strings.TrimSpace(string(out))
	if !regexp.MustCompile(`^[0-9a-f]{16}$`).MatchString(other) || other == tok {
		t.Errorf("another process's token %q, this one's %q; want a different 16-hex token", other, tok)
	}
}
