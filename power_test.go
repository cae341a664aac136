package loadbench_test

import (
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/loadbench/loadbench"
)

// passPower is the pass power an outlook states, in percent.
func passPower(t *testing.T, o loadbench.CompareOptions) (string, float64) {
	t.Helper()
	line, err := o.Outlook()
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`passes with (\d+)% power`).FindStringSubmatch(line)
	if m == nil {
		t.Fatalf("outlook %q states no pass power", line)
	}
	p, _ := strconv.ParseFloat(m[1], 64)
	return line, p
}

// The outlook states the default plan (58 rounds in 10 minutes) and what it
// can show; a longer plan, or more chats per round, shows more.
func TestOutlook(t *testing.T) {
	t.Parallel()
	line, def := passPower(t, loadbench.CompareOptions{})
	t.Log(line)
	for _, want := range []string{"until decided, 3 to 58 rounds of 4s per build, at most 10m0s", "+2.5% slower at every check", "+10% slower fails with"} {
		if !strings.Contains(line, want) {
			t.Errorf("outlook %q lacks %q", line, want)
		}
	}
	_, short := passPower(t, loadbench.CompareOptions{MaxDuration: 150 * time.Second})
	_, busy := passPower(t, loadbench.CompareOptions{HTTPRate: loadbench.PerSecond(800), WSRate: loadbench.PerSecond(800)})
	if !(short < def && def < busy) {
		t.Errorf("pass power 150 s %v%%, default %v%%, 4× the rate %v%%: want increasing", short, def, busy)
	}
	if _, err := (loadbench.CompareOptions{Budget: -1}).Outlook(); err == nil {
		t.Error("an invalid plan gave an outlook")
	}
}
