package testtool

import (
	"os"
	"os/exec"
	"testing"
)

// RequireEnv is the variable that makes a missing program a test failure
// instead of a skip. .ci/run sets it to 1.
const RequireEnv = "LOADBENCH_REQUIRE_TOOLS"

// Required reports whether the project's CI asked for every program to be
// present.
func Required() bool { v := os.Getenv(RequireEnv); return v != "" && v != "0" }

// Need returns the path of the first of names found on PATH. When none is,
// it skips t with the Debian package that provides it (pkg), or fails t
// when Required.
func Need(t testing.TB, pkg string, names ...string) string {
	t.Helper()
	for _, name := range names {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if Required() {
		t.Fatalf("%s is not installed and %s is set (apt-get install -y --no-install-recommends %s)", names[0], RequireEnv, pkg)
	}
	t.Skipf("%s is not installed: skipped (apt-get install -y --no-install-recommends %s; set %s=1 to make this a failure)", names[0], pkg, RequireEnv)
	return ""
}
