package targets

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
)

// wsOutcomes sends n chats over one WebSocket connection, one at a time,
// with chat sequence numbers 0..n−1 over four users, and reports which
// failed with an injected error.
func wsOutcomes(t *testing.T, url string, n int) []bool {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c := wsDial(t, ctx, url)
	defer c.CloseNow()
	var failed []bool
	for i := range n {
		seq := uint64(i)
		b, _ := json.Marshal(WSMessage{Type: WSChat, UserID: fmt.Sprintf("wsfail-%04d", i%4), ThreadID: "thread-w", Message: "hi", ChatSeq: &seq})
		wsSendText(t, ctx, c, string(b))
		var e wsEvent
		readJSON(t, ctx, c, &e)
		if e.Type == WSError {
			if !strings.Contains(e.Error, "injected failure") {
				t.Errorf("chat %d: error %q", i, e.Error)
			}
			failed = append(failed, true)
			continue
		}
		for range 4 { // the rest of the chat's five events
			readJSON(t, ctx, c, &e)
		}
		failed = append(failed, false)
	}
	return failed
}

// WithWSFailRate fails a share of WebSocket chats and no HTTP chat; the
// same chats on two servers, others under another fail seed.
func TestWSFailRate(t *testing.T) {
	outcome := func(opts ...Option) (http []int, ws []bool) {
		_, ts := newTestServer(t, ImplPerRequest, append([]Option{WithWSFailRate(0.5)}, opts...)...)
		for i := range 20 {
			code, body := postRun(t, ts.URL, fmt.Sprintf(`{"user_id":"wsfail-%04d","thread_id":"thread-h","chat_seq":%d}`, i%4, i))
			if code != 200 {
				t.Errorf("HTTP chat %d: %d %s", i, code, body)
			}
			http = append(http, code)
		}
		return http, wsOutcomes(t, ts.URL, 40)
	}
	_, a := outcome()
	_, b := outcome()
	_, c := outcome(WithFailSeed(7))
	fails, seeded, differ := 0, 0, 0
	for i := range a {
		if a[i] != b[i] {
			t.Errorf("WebSocket chat %d: failed %v, then %v", i, a[i], b[i])
		}
		if a[i] {
			fails++
		}
		if c[i] {
			seeded++
		}
		if a[i] != c[i] {
			differ++
		}
	}
	if fails < 10 || fails > 30 || seeded < 10 || seeded > 30 {
		t.Errorf("%d and, with seed 7, %d of 40 WebSocket chats failed at rate 0.5", fails, seeded)
	}
	if differ < 8 {
		t.Errorf("seed 7 failed the same WebSocket chats as the default but %d", differ)
	}
	// --fail-rate alone draws differently from --ws-fail-rate: a
	// WebSocket-only fault is its own draw, not --fail-rate's chats.
	_, all := newTestServer(t, ImplPerRequest, WithFailRate(0.5))
	d := wsOutcomes(t, all.URL, 40)
	same := 0
	for i := range a {
		if a[i] == d[i] {
			same++
		}
	}
	if same == len(a) {
		t.Error("--ws-fail-rate failed exactly --fail-rate's chats")
	}
	for _, f := range []float64{-0.1, 1.5} {
		if _, err := New(ImplPerRequest, WithWSFailRate(f)); err == nil || !strings.Contains(err.Error(), "WebSocket fail rate") {
			t.Errorf("WebSocket fail rate %v: %v", f, err)
		}
	}
}
