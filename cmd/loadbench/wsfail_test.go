package main

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/loadbench/loadbench/targets"
)

// serve --ws-fail-rate 1 fails every WebSocket chat and no HTTP chat.
func TestServeWSFailRate(t *testing.T) {
	t.Parallel()
	base, _, stop := startServe(t, "--impl", "perrequest", "--think", "0s", "--tool", "0s", "--ws-fail-rate", "1")
	resp, err := http.Post(base+targets.RouteRun, "application/json", strings.NewReader(`{"user_id":"user-0001","thread_id":"thread-1"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("HTTP chat: %d, want 200", resp.StatusCode)
	}
	wctx, wcancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer wcancel()
	c, _, err := websocket.Dial(wctx, "ws"+strings.TrimPrefix(base, "http")+targets.RouteWS, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	msg, _ := json.Marshal(targets.WSMessage{Type: targets.WSChat, UserID: "user-0001", ThreadID: "thread-1", Message: "hi"})
	if err := c.Write(wctx, websocket.MessageText, msg); err != nil {
		t.Fatal(err)
	}
	for { // connection_established, then the chat's answer
		_, data, err := c.Read(wctx)
		if err != nil {
			t.Fatal(err)
		}
		var m targets.WSControl
		if err := json.Unmarshal(data, &m); err != nil {
			t.Fatal(err)
		}
		if m.Type == targets.WSConnectionEstablished {
			continue
		}
		if m.Type != targets.WSError || !strings.Contains(m.Error, "injected failure") {
			t.Errorf("WebSocket chat answered %s, want the injected failure", data)
		}
		break
	}
	c.Close(websocket.StatusNormalClosure, "") // else shutdown waits for it
	stop()
}
