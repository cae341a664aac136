package targets

import (
	"context"
	"crypto/subtle"
	"net/http"
	"strings"
	"time"

	"github.com/coder/websocket"
)

// Staging makes the built-in target behave like an ordinary staging
// deployment behind a proxy or CDN, so that the load engine can be tested
// against one: every request must carry a header (a bearer token), every
// HTTP answer is preceded by 103 Early Hints, and every WebSocket
// connection receives a {"type":"heartbeat"} message outside the chat
// contract every WSHeartbeat. TLS and the keep-alive idle timeout are the
// http.Server's (see `loadbench serve --tls-cert --idle-timeout`).
type Staging struct {
	// RequireHeader and RequireValue: requests without exactly this header
	// value are answered 401 (no check when RequireHeader is empty).
	RequireHeader, RequireValue string
	// EarlyHints sends a 103 Early Hints before every HTTP answer (not on
	// WebSocket upgrades).
	EarlyHints bool
	// WSHeartbeat is the interval of the heartbeat messages on every
	// WebSocket connection; 0 sends none.
	WSHeartbeat time.Duration
}

// HeartbeatMessage is what Staging sends on WebSocket connections.
const HeartbeatMessage = `{"type":"heartbeat"}`

type heartbeatKey struct{}

// Wrap returns h behind the staging behaviour.
func (s Staging) Wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.RequireHeader != "" {
			got := r.Header.Get(s.RequireHeader)
			if subtle.ConstantTimeCompare([]byte(got), []byte(s.RequireValue)) != 1 {
				w.Header().Set("Content-Type", "application/json")
				w.Header().Set("WWW-Authenticate", `Bearer realm="loadbench"`)
				w.WriteHeader(http.StatusUnauthorized)
				w.Write([]byte(`{"error":"unauthorized"}` + "\n"))
				return
			}
		}
		upgrade := strings.EqualFold(r.Header.Get("Upgrade"), "websocket")
		if s.EarlyHints && !upgrade {
			w.Header().Add("Link", "</static/app.css>; rel=preload; as=style")
			w.WriteHeader(http.StatusEarlyHints)
			w.Header().Del("Link")
		}
		if upgrade && s.WSHeartbeat > 0 {
			r = r.WithContext(context.WithValue(r.Context(), heartbeatKey{}, s.WSHeartbeat))
		}
		h.ServeHTTP(w, r)
	})
}

// startHeartbeat sends HeartbeatMessage on conn every interval the request
// context asks for (Staging.WSHeartbeat), until ctx is done or a write
// fails.
func startHeartbeat(ctx context.Context, conn *websocket.Conn) {
	d, _ := ctx.Value(heartbeatKey{}).(time.Duration)
	if d <= 0 {
		return
	}
	go func() {
		t := time.NewTicker(d)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				wctx, cancel := context.WithTimeout(ctx, wsWriteTimeout)
				err := conn.Write(wctx, websocket.MessageText, []byte(HeartbeatMessage))
				cancel()
				if err != nil {
					return
				}
			}
		}
	}()
}
