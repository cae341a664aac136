package targets

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/loadbench/loadbench/internal/agent"
)

func newTestServer(t *testing.T, impl string, opts ...Option) (*Server, *httptest.Server) {
	t.Helper()
	opts = append([]Option{WithThink(0), WithTool(0), WithDebugGC(true)}, opts...)
	s, err := New(impl, opts...)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s)
	t.Cleanup(func() { s.Close(); ts.Close() })
	return s, ts
}

func postRun(t *testing.T, url string, body string) (int, []byte) {
	t.Helper()
	resp, err := http.Post(url+RouteRun, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, b
}

type runResp struct {
	RunID     string `json:"run_id"`
	UserID    string `json:"user_id"`
	ThreadID  string `json:"thread_id"`
	FactoryID string `json:"factory_id"`
	Events    []struct {
		Type      string          `json:"type"`
		RunID     string          `json:"run_id"`
		UserID    string          `json:"user_id"`
		ThreadID  string          `json:"thread_id"`
		AgentName string          `json:"agent_name"`
		Timestamp string          `json:"timestamp"`
		Data      json.RawMessage `json:"data"`
	} `json:"events"`
	Result agent.Result `json:"result"`
}

var statusOf = map[string]string{
	agent.EventAgentStarted: "started", agent.EventAgentThinking: "thinking",
	agent.EventToolExecuting: "executing", agent.EventToolCompleted: "completed",
	agent.EventAgentCompleted: "completed",
}

// dataKeys are the keys each event's data must carry.
var dataKeys = map[string][]string{
	agent.EventAgentStarted:   {"status", "message", "factory_id"},
	agent.EventAgentThinking:  {"status", "reasoning", "step_number", "progress_percentage", "context"},
	agent.EventToolExecuting:  {"status", "tool_name", "parameters"},
	agent.EventToolCompleted:  {"status", "tool_name", "result", "execution_time_ms"},
	agent.EventAgentCompleted: {"status", "result", "execution_time_ms"},
}

func checkEvent(t *testing.T, i int, typ, runID, userID, threadID string, ts string, data json.RawMessage) {
	t.Helper()
	want := agent.EventTypes()[i]
	if typ != want {
		t.Errorf("event %d type %q, want %q", i, typ, want)
	}
	if userID == "" || threadID == "" || runID == "" {
		t.Errorf("event %d missing ids", i)
	}
	if _, err := time.Parse(time.RFC3339, ts); err != nil {
		t.Errorf("event %d timestamp %q: %v", i, ts, err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatalf("event %d data: %v", i, err)
	}
	for _, k := range dataKeys[want] {
		if _, ok := m[k]; !ok {
			t.Errorf("event %s data lacks %q: %s", want, k, data)
		}
	}
	if m["status"] != statusOf[want] {
		t.Errorf("event %s status %v", want, m["status"])
	}
}

func TestHTTPContract(t *testing.T) {
	for _, impl := range Impls() {
		t.Run(impl, func(t *testing.T) {
			_, ts := newTestServer(t, impl)
			code, body := postRun(t, ts.URL, `{"user_id":"alice-0001","thread_id":"thread-a","message":"hello there"}`)
			if code != 200 {
				t.Fatalf("code %d: %s", code, body)
			}
			var r runResp
			if err := json.Unmarshal(body, &r); err != nil {
				t.Fatal(err)
			}
			if r.UserID != "alice-0001" || r.ThreadID != "thread-a" || r.RunID == "" || r.FactoryID == "" {
				t.Errorf("bad response ids: %+v", r)
			}
			if len(r.Events) != 5 {
				t.Fatalf("%d events", len(r.Events))
			}
			for i, e := range r.Events {
				checkEvent(t, i, e.Type, e.RunID, e.UserID, e.ThreadID, e.Timestamp, e.Data)
				if e.RunID != r.RunID || e.UserID != r.UserID {
					t.Errorf("event %d ids %s/%s", i, e.RunID, e.UserID)
				}
			}
			if r.Result.Status != "completed" || r.Result.WordCount != 2 {
				t.Errorf("result %+v", r.Result)
			}

			bad := []struct {
				name, body string
				code       int
			}{
				{"bad json", `{"user_id":`, 400},
				{"missing user", `{"thread_id":"t-1","message":"x"}`, 400},
				{"missing thread", `{"user_id":"u-1","message":"x"}`, 400},
				{"placeholder user", `{"user_id":"placeholder","thread_id":"t-1"}`, 400},
				{"placeholder prefix", `{"user_id":"temp_abc","thread_id":"t-1"}`, 400},
				{"id 1", `{"user_id":"u-1","thread_id":"1"}`, 400},
				{"too big", `{"user_id":"u-1","thread_id":"t-1","message":"` + strings.Repeat("a", MaxBodyBytes) + `"}`, 413},
			}
			for _, c := range bad {
				code, body := postRun(t, ts.URL, c.body)
				if code != c.code {
					t.Errorf("%s: code %d, want %d (%s)", c.name, code, c.code, body)
				}
				var e struct{ Error string }
				if json.Unmarshal(body, &e) != nil || e.Error == "" {
					t.Errorf("%s: no error body: %s", c.name, body)
				}
			}
			resp, err := http.Get(ts.URL + RouteRun)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != 405 {
				t.Errorf("GET run: %d", resp.StatusCode)
			}
			// Still serving afterwards.
			if code, body := postRun(t, ts.URL, `{"user_id":"bob-0002","thread_id":"thread-b","message":"again"}`); code != 200 {
				t.Errorf("after bad inputs: %d %s", code, body)
			}
			resp, err = http.Get(ts.URL + RouteHealth)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != 200 {
				t.Errorf("healthz %d", resp.StatusCode)
			}
		})
	}
}

func wsDial(t *testing.T, ctx context.Context, url string) *websocket.Conn {
	t.Helper()
	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(url, "http")+RouteWS, nil)
	if err != nil {
		t.Fatal(err)
	}
	c.SetReadLimit(4 << 20)
	var m map[string]any
	readJSON(t, ctx, c, &m)
	if m["type"] != WSConnectionEstablished || m["connection_id"] == "" || m["connection_id"] == nil {
		t.Fatalf("first message %v", m)
	}
	return c
}

func readJSON(t *testing.T, ctx context.Context, c *websocket.Conn, v any) []byte {
	t.Helper()
	_, data, err := c.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		t.Fatalf("%v: %s", err, data)
	}
	return data
}

func wsSendText(t *testing.T, ctx context.Context, c *websocket.Conn, s string) {
	t.Helper()
	if err := c.Write(ctx, websocket.MessageText, []byte(s)); err != nil {
		t.Fatal(err)
	}
}

type wsEvent struct {
	Type, RunID, UserID, ThreadID, Timestamp string
	Error                                    string
	Data                                     json.RawMessage
}

func (e *wsEvent) UnmarshalJSON(b []byte) error {
	var raw struct {
		Type      string          `json:"type"`
		RunID     string          `json:"run_id"`
		UserID    string          `json:"user_id"`
		ThreadID  string          `json:"thread_id"`
		Timestamp string          `json:"timestamp"`
		Error     string          `json:"error"`
		Data      json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	*e = wsEvent{raw.Type, raw.RunID, raw.UserID, raw.ThreadID, raw.Timestamp, raw.Error, raw.Data}
	return nil
}

// wsChat sends a chat and returns its five events' raw bytes and factory id.
func wsChat(t *testing.T, ctx context.Context, c *websocket.Conn, user, thread, msg string) ([][]byte, string) {
	t.Helper()
	b, _ := json.Marshal(WSMessage{Type: WSChat, UserID: user, ThreadID: thread, Message: msg})
	wsSendText(t, ctx, c, string(b))
	var raws [][]byte
	var fid string
	for i := range 5 {
		var e wsEvent
		raw := readJSON(t, ctx, c, &e)
		checkEvent(t, i, e.Type, e.RunID, e.UserID, e.ThreadID, e.Timestamp, e.Data)
		if e.UserID != user || e.ThreadID != thread {
			t.Errorf("event for %s/%s, want %s/%s", e.UserID, e.ThreadID, user, thread)
		}
		if i == 0 {
			var d agent.StartedData
			_ = json.Unmarshal(e.Data, &d)
			fid = d.FactoryID
		}
		raws = append(raws, raw)
	}
	return raws, fid
}

func TestWebSocketContract(t *testing.T) {
	for _, impl := range Impls() {
		t.Run(impl, func(t *testing.T) {
			_, ts := newTestServer(t, impl)
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			c := wsDial(t, ctx, ts.URL)
			defer c.CloseNow()

			wsSendText(t, ctx, c, `{"type":"ping"}`)
			var m WSControl
			readJSON(t, ctx, c, &m)
			if m.Type != WSPong {
				t.Errorf("ping answered %+v", m)
			}
			for range 3 {
				if _, fid := wsChat(t, ctx, c, "carol-0003", "thread-c", "hi"); fid == "" {
					t.Error("agent_started.data.factory_id empty")
				}
			}
			for _, bad := range []string{
				`{"type":`,
				`{"type":"dance"}`,
				`{"type":"chat","thread_id":"t-1","message":"x"}`,
				`{"type":"chat","user_id":"null","thread_id":"t-1"}`,
				`{"type":"chat","user_id":"u-1","thread_id":"mock_x"}`,
			} {
				wsSendText(t, ctx, c, bad)
				var e WSControl
				readJSON(t, ctx, c, &e)
				if e.Type != WSError || e.Error == "" {
					t.Errorf("%s answered %+v", bad, e)
				}
			}
			wsChat(t, ctx, c, "carol-0003", "thread-c", "still usable")
			c.Close(websocket.StatusNormalClosure, "")

			// Over 1 MiB closes with 1009; the server keeps serving.
			c2 := wsDial(t, ctx, ts.URL)
			defer c2.CloseNow()
			_ = c2.Write(ctx, websocket.MessageText, bytes.Repeat([]byte("a"), MaxBodyBytes+1))
			_, _, err := c2.Read(ctx)
			if got := websocket.CloseStatus(err); got != websocket.StatusMessageTooBig {
				t.Errorf("oversized message: close status %v (%v)", got, err)
			}
			c3 := wsDial(t, ctx, ts.URL)
			defer c3.CloseNow()
			wsChat(t, ctx, c3, "dave-0004", "thread-d", "after oversize")
			if code, _ := postRun(t, ts.URL, `{"user_id":"dave-0004","thread_id":"thread-d"}`); code != 200 {
				t.Errorf("HTTP after WS: %d", code)
			}
		})
	}
}

var secretRE = regexp.MustCompile(`SECRET-[0-9]{4}-[a-z]+`)

// loadResult is what loadSecrets saw.
type loadResult struct {
	leaks      int            // answers that carried another user's secret
	orphans    int            // chats answered with an error: their events went elsewhere
	factoryIDs map[string]int // factory ids of the chats answered
}

// Each of users concurrent users carries a secret and chats twice over HTTP
// and twice over WebSocket.
func loadSecrets(t *testing.T, url string, users int) loadResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var mu sync.Mutex
	res := loadResult{factoryIDs: map[string]int{}}
	record := func(own string, raw []byte, fid string) {
		mu.Lock()
		defer mu.Unlock()
		if fid != "" {
			res.factoryIDs[fid]++
		}
		for _, s := range secretRE.FindAllString(string(raw), -1) {
			if s != own {
				res.leaks++
				return
			}
		}
	}
	orphan := func() {
		mu.Lock()
		res.orphans++
		mu.Unlock()
	}
	var wg sync.WaitGroup
	for i := range users {
		user := fmt.Sprintf("user-%04d", i)
		secret := fmt.Sprintf("SECRET-%04d-%s", i, strings.Repeat("x", 1+i%7))
		msg := "my secret is " + secret
		wg.Go(func() { // HTTP
			for range 2 {
				b, _ := json.Marshal(RunRequest{UserID: user, ThreadID: "thread-http", Message: msg})
				req, _ := http.NewRequestWithContext(ctx, http.MethodPost, url+RouteRun, bytes.NewReader(b))
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Error(err)
					return
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode == http.StatusGatewayTimeout && strings.Contains(string(body), "never arrived") {
					orphan()
					continue
				}
				var r runResp
				if resp.StatusCode != 200 || json.Unmarshal(body, &r) != nil {
					t.Errorf("status %d: %s", resp.StatusCode, body)
					return
				}
				record(secret, body, r.FactoryID)
			}
		})
		wg.Go(func() { // WebSocket
			c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(url, "http")+RouteWS, nil)
			if err != nil {
				t.Error(err)
				return
			}
			defer c.CloseNow()
			if _, _, err := c.Read(ctx); err != nil { // connection_established
				t.Error(err)
				return
			}
			for range 2 {
				b, _ := json.Marshal(WSMessage{Type: WSChat, UserID: user, ThreadID: "thread-ws", Message: msg})
				if err := c.Write(ctx, websocket.MessageText, b); err != nil {
					t.Error(err)
					return
				}
				// Read until this user's agent_completed or an error; other
				// users' events may arrive in between.
				var all []byte
				var fid string
				for {
					_, raw, err := c.Read(ctx)
					if err != nil {
						t.Error(err)
						return
					}
					var e wsEvent
					_ = json.Unmarshal(raw, &e)
					if e.Type == WSError {
						orphan()
						break
					}
					all = append(all, raw...)
					if e.UserID != user {
						continue
					}
					if e.Type == agent.EventAgentStarted {
						var d agent.StartedData
						_ = json.Unmarshal(e.Data, &d)
						fid = d.FactoryID
					}
					if e.Type == agent.EventAgentCompleted {
						break
					}
				}
				record(secret, all, fid)
			}
			c.Close(websocket.StatusNormalClosure, "")
		})
	}
	wg.Wait()
	return res
}

// metricsBody is the target's /metrics text.
func metricsBody(t *testing.T, url string) []byte {
	t.Helper()
	resp, err := http.Get(url + RouteMetrics)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return body
}

func metricValue(t *testing.T, url, name string) float64 {
	t.Helper()
	body := metricsBody(t, url)
	for _, line := range strings.Split(string(body), "\n") {
		var v float64
		if strings.HasPrefix(line, name+" ") {
			if _, err := fmt.Sscanf(line[len(name)+1:], "%g", &v); err == nil {
				return v
			}
		}
	}
	t.Fatalf("metric %s not found in:\n%s", name, body)
	return 0
}

func forceGC(t *testing.T, url string) GCResponse {
	t.Helper()
	resp, err := http.Post(url+RouteDebugGC, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var g GCResponse
	if resp.StatusCode != 200 || json.NewDecoder(resp.Body).Decode(&g) != nil {
		t.Fatalf("debug/gc: %d", resp.StatusCode)
	}
	return g
}

const loadUsers = 100

func TestPerRequestIsolatedUnderLoadAndReleasesFactories(t *testing.T) {
	_, ts := newTestServer(t, ImplPerRequest, WithConfigureWindow(time.Millisecond))
	res := loadSecrets(t, ts.URL, loadUsers)
	if res.leaks != 0 || res.orphans != 0 {
		t.Errorf("%d answers carried another user's secret, %d chats lost their events", res.leaks, res.orphans)
	}
	total := 0
	for id, n := range res.factoryIDs {
		total += n
		if n != 1 || id == "" {
			t.Errorf("factory %q served %d requests", id, n)
		}
	}
	if total != 4*loadUsers {
		t.Errorf("%d responses recorded, want %d", total, 4*loadUsers)
	}
	if got := metricValue(t, ts.URL, "loadbench_factories_created_total"); got != 4*loadUsers {
		t.Errorf("factories created %v", got)
	}
	if got := metricValue(t, ts.URL, "loadbench_agent_instances_retained"); got != 0 {
		t.Errorf("instances retained %v after load", got)
	}
	for _, m := range []string{"loadbench_agents_misrouted_total", "loadbench_foreign_events_total", "loadbench_chats_orphaned_total", "loadbench_chats_in_flight"} {
		if got := metricValue(t, ts.URL, m); got != 0 {
			t.Errorf("%s = %v", m, got)
		}
	}
	var g GCResponse
	for range 20 { // cleanups run asynchronously after the cycle
		if g = forceGC(t, ts.URL); g.FactoriesLive == 0 {
			break
		}
	}
	if g.FactoriesLive != 0 || g.HeapLiveBytes == 0 {
		t.Errorf("after GC: %+v", g)
	}
	if got := metricValue(t, ts.URL, "loadbench_factories_live"); got != 0 {
		t.Errorf("loadbench_factories_live %v", got)
	}
}

// Under 100 overlapping users the legacy build misroutes: answers carry
// other users' secrets, owners lose their events, and it still ends every
// chat (within the orphan timeout).
func TestBaselineMisroutesUnderLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end load with orphan waits; skipped under -short")
	}
	_, ts := newTestServer(t, ImplBaseline, WithFixedConfigureWindow(2*time.Millisecond), WithOrphanTimeout(300*time.Millisecond))
	res := loadSecrets(t, ts.URL, loadUsers)
	if res.leaks == 0 || res.orphans == 0 {
		t.Errorf("baseline: %d answers with foreign secrets, %d orphaned chats; want both > 0", res.leaks, res.orphans)
	}
	if len(res.factoryIDs) != 1 {
		t.Errorf("baseline served from %d factory ids, want 1", len(res.factoryIDs))
	}
	for _, m := range []string{"loadbench_agents_misrouted_total", "loadbench_foreign_events_total", "loadbench_chats_orphaned_total", "loadbench_bridge_misrouted_events_total"} {
		if got := metricValue(t, ts.URL, m); got == 0 {
			t.Errorf("%s = 0", m)
		}
	}
	// Cleanup per user context: nothing of the agents stays.
	if got := metricValue(t, ts.URL, "loadbench_agent_instances_retained"); got != 0 {
		t.Errorf("instances retained %v after load", got)
	}
	if got := metricValue(t, ts.URL, "loadbench_factories_live"); got != 1 {
		t.Errorf("factories live %v", got)
	}
	if got := metricValue(t, ts.URL, "loadbench_chats_in_flight"); got != 0 {
		t.Errorf("chats in flight %v after load", got)
	}
}

// Two HTTP chats whose configure windows overlap: the first configures, the
// second configures, the first creates its agent with the second's route.
// The second receives both runs' events; the first waits for its own events
// until the orphan timeout and answers 504. Without overlap both behave.
func TestBaselineOverlapMisroutesHTTP(t *testing.T) {
	_, ts := newTestServer(t, ImplBaseline, WithFixedConfigureWindow(400*time.Millisecond), WithOrphanTimeout(200*time.Millisecond))
	type answer struct {
		code int
		body []byte
	}
	run := func(user string) answer {
		code, body := postRun(t, ts.URL, fmt.Sprintf(`{"user_id":%q,"thread_id":"thread-o","message":"secret of %s"}`, user, user))
		return answer{code, body}
	}
	// Sequential: no overlap, no misrouting.
	for _, u := range []string{"solo-0001", "solo-0002"} {
		if a := run(u); a.code != 200 || strings.Count(string(a.body), `"user_id":"solo-`) != 6 {
			t.Errorf("%s without overlap: %d %s", u, a.code, a.body)
		}
	}
	first := make(chan answer, 1)
	go func() { first <- run("alice-0001") }()
	time.Sleep(150 * time.Millisecond) // well inside alice's 400 ms window
	second := run("bob-0002")
	a := <-first
	if a.code != http.StatusGatewayTimeout || !strings.Contains(string(a.body), "never arrived") {
		t.Errorf("alice: %d %s; want 504, her events went to bob", a.code, a.body)
	}
	if second.code != 200 || !strings.Contains(string(second.body), `"user_id":"alice-0001"`) || !strings.Contains(string(second.body), "secret of alice") {
		t.Errorf("bob: %d %s; want alice's events in his answer", second.code, second.body)
	}
	if got := metricValue(t, ts.URL, "loadbench_chats_orphaned_total"); got != 1 {
		t.Errorf("orphaned %v, want 1", got)
	}
}

func TestMetricsAndDebugGCGate(t *testing.T) {
	s, err := New(ImplPerRequest, WithThink(0), WithTool(0))
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s)
	defer ts.Close()
	defer s.Close()
	postRun(t, ts.URL, `{"user_id":"erin-0005","thread_id":"thread-e"}`)
	postRun(t, ts.URL, `{"user_id":"","thread_id":"thread-e"}`)
	resp, err := http.Post(ts.URL+RouteDebugGC, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 404 {
		t.Errorf("debug/gc without --debug-gc: %d", resp.StatusCode)
	}
	resp, err = http.Get(ts.URL + RouteMetrics)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{
		`loadbench_requests_total{code="200",route="/api/agents/run"} 1`,
		`loadbench_requests_total{code="400",route="/api/agents/run"} 1`,
		"go_goroutines", "process_resident_memory_bytes", "loadbench_factories_live",
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	if _, err := New("nope"); err == nil {
		t.Error("unknown impl accepted")
	}
}

func TestLeakAndSlowdownOptions(t *testing.T) {
	s, ts := newTestServer(t, ImplPerRequest, WithLeak(64<<10))
	for range 3 {
		postRun(t, ts.URL, `{"user_id":"fran-0006","thread_id":"thread-f"}`)
	}
	s.leakMu.Lock()
	n := len(s.leaked)
	s.leakMu.Unlock()
	if n != 3 {
		t.Errorf("leaked %d buffers, want 3", n)
	}
	if _, err := New(ImplPerRequest, WithLeak(-1)); err == nil {
		t.Error("negative leak accepted")
	}
}

func TestCloseEndsWebSockets(t *testing.T) {
	s, ts := newTestServer(t, ImplPerRequest)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c := wsDial(t, ctx, ts.URL)
	defer c.CloseNow()
	done := make(chan struct{})
	go func() { s.Close(); close(done) }()
	_, _, err := c.Read(ctx)
	if got := websocket.CloseStatus(err); got != websocket.StatusGoingAway {
		t.Errorf("close status %v (%v)", got, err)
	}
	<-done
}

func TestFaultInjection(t *testing.T) {
	// --fail-rate: the same chats fail on two servers (keyed by the chat),
	// and another --fail-seed fails others.
	outcome := func(opts ...Option) []int {
		_, ts := newTestServer(t, ImplPerRequest, append([]Option{WithFailRate(0.5)}, opts...)...)
		var codes []int
		for i := range 40 {
			code, body := postRun(t, ts.URL, fmt.Sprintf(`{"user_id":"fail-%04d","thread_id":"thread-f","chat_seq":%d}`, i%4, i))
			if code == 500 && !strings.Contains(string(body), "injected failure") {
				t.Errorf("500 body %s", body)
			}
			codes = append(codes, code)
		}
		return codes
	}
	a, b, c := outcome(), outcome(), outcome(WithFailSeed(7))
	fails, seeded, differ := 0, 0, 0
	for i := range a {
		if a[i] != b[i] {
			t.Errorf("chat %d: %d then %d", i, a[i], b[i])
		}
		if a[i] == 500 {
			fails++
		}
		if c[i] == 500 {
			seeded++
		}
		if a[i] != c[i] {
			differ++
		}
	}
	if fails < 10 || fails > 30 || seeded < 10 || seeded > 30 {
		t.Errorf("%d and, with seed 7, %d of 40 chats failed at rate 0.5", fails, seeded)
	}
	// Independent draws at 0.5 differ on about half the chats.
	if differ < 8 {
		t.Errorf("seed 7 failed the same chats as the default but %d", differ)
	}
	// --delay adds latency to every chat.
	_, ts := newTestServer(t, ImplPerRequest, WithDelay(150*time.Millisecond))
	start := time.Now()
	if code, _ := postRun(t, ts.URL, `{"user_id":"slow-0001","thread_id":"thread-s"}`); code != 200 {
		t.Errorf("delayed chat %d", code)
	}
	if el := time.Since(start); el < 150*time.Millisecond {
		t.Errorf("delayed chat took %s", el)
	}
	// --leak-per-user keeps bytes once per distinct user.
	s, ts2 := newTestServer(t, ImplPerRequest, WithLeakPerUser(4096))
	for i := range 6 {
		postRun(t, ts2.URL, fmt.Sprintf(`{"user_id":"leak-%04d","thread_id":"thread-l"}`, i%3))
	}
	s.leakMu.Lock()
	n := len(s.userLeaked)
	s.leakMu.Unlock()
	if n != 3 {
		t.Errorf("per-user leak kept %d buffers, want 3", n)
	}
	for _, o := range []Option{WithFailRate(-0.1), WithFailRate(1.5), WithDelay(-time.Second), WithLeakPerUser(-1)} {
		if _, err := New(ImplPerRequest, o); err == nil {
			t.Error("bad fault option accepted")
		}
	}
}

func TestChatsInFlightGauge(t *testing.T) {
	s, ts := newTestServer(t, ImplPerRequest, WithDelay(300*time.Millisecond))
	var wg sync.WaitGroup
	for i := range 5 {
		wg.Go(func() { postRun(t, ts.URL, fmt.Sprintf(`{"user_id":"fly-%04d","thread_id":"thread-i"}`, i)) })
	}
	deadline := time.Now().Add(5 * time.Second)
	for s.InFlight() < 5 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if got := metricValue(t, ts.URL, "loadbench_chats_in_flight"); got != 5 {
		t.Errorf("in flight %v, want 5", got)
	}
	wg.Wait()
	if got := metricValue(t, ts.URL, "loadbench_chats_in_flight"); got != 0 {
		t.Errorf("in flight %v after the chats", got)
	}
}

// The partial build: HTTP on per-request factories (isolated even when
// requests overlap), the WebSocket route on the legacy singleton.
func TestPartialBuild(t *testing.T) {
	s, ts := newTestServer(t, ImplPartial, WithFixedConfigureWindow(300*time.Millisecond), WithOrphanTimeout(200*time.Millisecond))
	if s.Build().Name() != ImplPartial {
		t.Fatalf("name %q", s.Build().Name())
	}
	// Overlapping HTTP chats: no misrouting.
	var wg sync.WaitGroup
	ids := make([]string, 2)
	for i := range 2 {
		wg.Go(func() {
			code, body := postRun(t, ts.URL, fmt.Sprintf(`{"user_id":"part-%04d","thread_id":"thread-p"}`, i))
			var r runResp
			if code != 200 || json.Unmarshal(body, &r) != nil || len(r.Events) != 5 {
				t.Errorf("HTTP chat %d: %d %s", i, code, body)
			}
			ids[i] = r.FactoryID
		})
		time.Sleep(100 * time.Millisecond)
	}
	wg.Wait()
	if ids[0] == ids[1] {
		t.Errorf("HTTP chats shared factory %s", ids[0])
	}
	// Overlapping WebSocket chats: the first one's events go to the second.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c1, c2 := wsDial(t, ctx, ts.URL), wsDial(t, ctx, ts.URL)
	defer c1.CloseNow()
	defer c2.CloseNow()
	send := func(c *websocket.Conn, user string) {
		b, _ := json.Marshal(WSMessage{Type: WSChat, UserID: user, ThreadID: "thread-w", Message: "hi"})
		if err := c.Write(ctx, websocket.MessageText, b); err != nil {
			t.Fatal(err)
		}
	}
	send(c1, "wsa-0001")
	time.Sleep(100 * time.Millisecond)
	send(c2, "wsb-0002")
	users := map[string]int{}
	for {
		_, raw, err := c2.Read(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var e wsEvent
		_ = json.Unmarshal(raw, &e)
		users[e.UserID]++
		if e.UserID == "wsb-0002" && e.Type == agent.EventAgentCompleted {
			break
		}
	}
	if users["wsa-0001"] != 5 {
		t.Errorf("second socket got %v; want the first user's 5 events", users)
	}
	_, raw, err := c1.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var e wsEvent
	_ = json.Unmarshal(raw, &e)
	if e.Type != WSError || !strings.Contains(e.Error, "never arrived") {
		t.Errorf("first socket got %s; want the orphan error", raw)
	}
}

// Under the production profile both builds draw the same waits for the same
// chat, and a chat's waits differ from another's.
func TestProductionProfileWaitsAreCommon(t *testing.T) {
	t.Parallel()
	for _, impl := range []string{ImplBaseline, ImplPerRequest} {
		if _, err := New(impl, WithProfile(agent.ProfileProduction)); err != nil {
			t.Fatal(err)
		}
	}
	w1 := agent.NewWorkflow(agent.WithProfile(agent.ProfileProduction))
	w2 := agent.NewWorkflow(agent.WithProfile(agent.ProfileProduction))
	c, _ := agent.NewUserExecutionContext("lb_user_00042", "lb_user_00042_thread", agent.NewID("run"))
	a1, b1 := w1.Waits(c, 7)
	a2, b2 := w2.Waits(c, 7)
	if a1 != a2 || b1 != b2 {
		t.Errorf("waits differ: %s/%s vs %s/%s", a1, b1, a2, b2)
	}
	if a3, _ := w1.Waits(c, 8); a3 == a1 {
		t.Errorf("chats 7 and 8 drew the same LLM wait %s", a1)
	}
}

// The production profile end to end (waits scaled down by the slowdown):
// both builds answer, and the in-flight gauge returns to zero.
func TestProductionProfileServes(t *testing.T) {
	for _, impl := range []string{ImplPerRequest, ImplBaseline} {
		s, ts := newTestServer(t, impl, WithProfile(agent.ProfileProduction), WithSlowdown(0.002), WithConfigureWindow(0))
		if s.cfg.orphanTimeout != agent.ProfileProduction.Load().Timeout/DefaultOrphanDivisor {
			t.Errorf("%s: orphan timeout %s", impl, s.cfg.orphanTimeout)
		}
		if code, body := postRun(t, ts.URL, `{"user_id":"prod-0001","thread_id":"thread-p","chat_seq":3}`); code != 200 {
			t.Errorf("%s: %d %s", impl, code, body)
		}
		if s.InFlight() != 0 {
			t.Errorf("%s: in flight %d", impl, s.InFlight())
		}
	}
}
