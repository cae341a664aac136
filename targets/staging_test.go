package targets

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"net/textproto"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

func TestStaging(t *testing.T) {
	t.Parallel()
	s, err := New(ImplPerRequest)
	if err != nil {
		t.Fatal(err)
	}
	st := Staging{RequireHeader: "Authorization", RequireValue: "Bearer tok", EarlyHints: true, WSHeartbeat: 20 * time.Millisecond}
	srv := httptest.NewServer(st.Wrap(s))
	t.Cleanup(func() { srv.Close(); s.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	post := func(auth string) (int, []int) {
		var hints []int
		trace := &httptrace.ClientTrace{Got1xxResponse: func(code int, _ textproto.MIMEHeader) error {
			hints = append(hints, code)
			return nil
		}}
		req, _ := http.NewRequestWithContext(httptrace.WithClientTrace(ctx, trace), http.MethodPost, srv.URL+"/api/agents/run",
			strings.NewReader(`{"user_id":"u1","thread_id":"t1","message":"hi"}`))
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode, hints
	}
	if code, hints := post("Bearer tok"); code != 200 || len(hints) != 1 || hints[0] != 103 {
		t.Errorf("with the token: %d, 1xx %v; want 200 after one 103", code, hints)
	}
	for _, auth := range []string{"", "Bearer wrong", "bearer tok"} {
		if code, _ := post(auth); code != 401 {
			t.Errorf("Authorization %q: %d, want 401", auth, code)
		}
	}

	wsURL := "ws" + strings.TrimPrefix(srv.URL, "http") + "/api/demo/ws"
	if _, _, err := websocket.Dial(ctx, wsURL, nil); err == nil {
		t.Error("websocket without the token was accepted")
	}
	c, _, err := websocket.Dial(ctx, wsURL, &websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer tok"}}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	beats := 0
	for beats < 3 {
		_, b, err := c.Read(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if string(b) == HeartbeatMessage {
			beats++
		}
	}
}
