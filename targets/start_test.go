package targets

import (
	"encoding/json"
	"errors"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/loadbench/loadbench/internal/procid"
	"github.com/loadbench/loadbench/internal/usage"
)

func TestStartServesUntilClose(t *testing.T) {
	t.Parallel()
	st, err := Start(ImplPerRequest, WithThink(0), WithTool(0))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if !strings.HasPrefix(st.URL, "http://127.0.0.1:") || st.Impl != ImplPerRequest {
		t.Errorf("URL %q impl %q", st.URL, st.Impl)
	}
	if err := st.Alive(); err != nil {
		t.Fatalf("alive while serving: %v", err)
	}
	code, body := postRun(t, st.URL, `{"user_id":"start-0001","thread_id":"thread-s","message":"hello"}`)
	var r runResp
	if code != 200 || json.Unmarshal(body, &r) != nil || len(r.Events) != 5 || r.UserID != "start-0001" {
		t.Fatalf("chat: %d %s", code, body)
	}
	if g := forceGC(t, st.URL); g.HeapLiveBytes == 0 {
		t.Errorf("debug/gc %+v", g) // enabled by Start
	}
	if err := st.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	if err := st.Alive(); err == nil || !strings.Contains(err.Error(), "perrequest target closed") {
		t.Errorf("alive after close: %v", err)
	}
	resp, err := http.Post(st.URL+RouteRun, "application/json", strings.NewReader(`{"user_id":"start-0002","thread_id":"thread-s"}`))
	if err == nil {
		resp.Body.Close()
		t.Errorf("chat after close answered %d", resp.StatusCode)
	}
	if err := st.Close(); err != nil {
		t.Errorf("second close: %v", err)
	}
}

func TestStartPassesOptions(t *testing.T) {
	t.Parallel()
	st, err := Start(ImplBaseline, WithThink(0), WithTool(0), WithFailRate(1))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if code, body := postRun(t, st.URL, `{"user_id":"opt-0001","thread_id":"thread-o"}`); code != 500 || !strings.Contains(string(body), "injected failure") {
		t.Errorf("chat under fail rate 1: %d %s", code, body)
	}
	if _, err := Start(ImplBaseline, WithLeak(-1)); err == nil || !strings.HasPrefix(err.Error(), "start target: ") {
		t.Errorf("bad option: %v", err)
	}
}

func TestStartUnknownBuild(t *testing.T) {
	t.Parallel()
	_, err := Start("x")
	if err == nil || err.Error() != `start target: unknown build "x" (want baseline, perrequest or partial)` {
		t.Fatalf("err = %v", err)
	}
	if !errors.Is(err, usage.ErrUsage) {
		t.Errorf("%v does not wrap usage.ErrUsage", err)
	}
}

var processInfoRE = regexp.MustCompile(`(?m)^` + MetricProcessInfo + `\{token="([0-9a-f]{16})"\} 1$`)

// metricsToken is the token of the target's loadbench_process_info gauge.
func metricsToken(t *testing.T, url string) string {
	t.Helper()
	body := metricsBody(t, url)
	m := processInfoRE.FindSubmatch(body)
	if m == nil {
		t.Fatalf("no %s gauge with a 16-hex token in:\n%s", MetricProcessInfo, body)
	}
	return string(m[1])
}

// A target served in this process reports this process's token, in both
// places; the existing /debug/gc fields are unchanged.
func TestProcessTokenInProcess(t *testing.T) {
	t.Parallel()
	st, err := Start(ImplBaseline, WithThink(0), WithTool(0))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	resp, err := http.Post(st.URL+RouteDebugGC, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var fields map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&fields); err != nil {
		t.Fatal(err)
	}
	if fields["process"] != procid.Token() {
		t.Errorf("debug/gc process %v, want this process's %s", fields["process"], procid.Token())
	}
	if _, ok := fields["heap_live_bytes"].(float64); !ok || fields["factories_live"] != 1.0 {
		t.Errorf("debug/gc fields %v", fields)
	}
	if got := metricsToken(t, st.URL); got != procid.Token() {
		t.Errorf("%s token %s, want %s", MetricProcessInfo, got, procid.Token())
	}
}
