package targets

import (
	"context"
	"encoding/json"
	"net/http"
	"sync"
	"time"

	"github.com/coder/websocket"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/loadbench/loadbench/internal/agent"
)

// WebSocket message types.
const (
	WSConnectionEstablished = "connection_established"
	WSChat                  = "chat"
	WSPing                  = "ping"
	WSPong                  = "pong"
	WSError                 = "error"
)

// wsWriteTimeout bounds one WebSocket write.
const wsWriteTimeout = 10 * time.Second

// WSMessage is a client message: {"type":"chat","user_id","thread_id","message"}
// or {"type":"ping"}.
type WSMessage struct {
	Type     string  `json:"type"`
	UserID   string  `json:"user_id,omitempty"`
	ThreadID string  `json:"thread_id,omitempty"`
	Message  string  `json:"message,omitempty"`
	ChatSeq  *uint64 `json:"chat_seq,omitempty"` // as RunRequest.ChatSeq
}

// WSControl is a server message that is not an agent event:
// connection_established (with ConnectionID), pong, or error (with Error).
type WSControl struct {
	Type         string `json:"type"`
	ConnectionID string `json:"connection_id,omitempty"`
	Error        string `json:"error,omitempty"`
}

// connBridge is the WebSocket bridge of one connection. Events for users
// that never chatted on it are misrouted: the legacy bridge swap.
type connBridge struct {
	misroute prometheus.Counter
	mu       sync.Mutex
	users    map[string]bool
}

func (b *connBridge) add(user string) {
	b.mu.Lock()
	b.users[user] = true
	b.mu.Unlock()
}

func (b *connBridge) Notify(ev agent.Event) {
	b.mu.Lock()
	ok := b.users[ev.UserID]
	b.mu.Unlock()
	if !ok {
		b.misroute.Inc()
	}
}

func (s *Server) handleWS(w http.ResponseWriter, r *http.Request) {
	s.connMu.Lock()
	if s.closing {
		s.connMu.Unlock()
		s.writeJSON(w, RouteWS, http.StatusServiceUnavailable, errorBody{"ws: server shutting down"})
		return
	}
	s.connWG.Add(1)
	s.connMu.Unlock()
	defer s.connWG.Done()

	conn, err := websocket.Accept(w, r, nil)
	if err != nil {
		// Accept has written the error response.
		s.requests.WithLabelValues(RouteWS, "400").Inc()
		return
	}
	s.requests.WithLabelValues(RouteWS, "101").Inc()
	defer conn.CloseNow()
	s.connMu.Lock()
	s.conns[conn] = struct{}{}
	s.connMu.Unlock()
	defer func() {
		s.connMu.Lock()
		delete(s.conns, conn)
		s.connMu.Unlock()
	}()
	conn.SetReadLimit(MaxBodyBytes)

	ctx := r.Context()
	startHeartbeat(ctx, conn) // staging.go; a no-op unless Staging asks for it
	connID := agent.NewID("conn")
	bridge := &connBridge{misroute: s.misroute, users: make(map[string]bool)}
	if err := s.wsSend(ctx, conn, WSControl{Type: WSConnectionEstablished, ConnectionID: connID}); err != nil {
		return
	}
	for {
		_, data, err := conn.Read(ctx)
		if err != nil {
			return // closed by the peer, by Close, or over the read limit (1009)
		}
		if err := s.wsHandle(ctx, conn, connID, bridge, data); err != nil {
			return
		}
	}
}

// wsHandle answers one client message; an error means the connection is
// unusable.
func (s *Server) wsHandle(ctx context.Context, conn *websocket.Conn, connID string, bridge *connBridge, data []byte) error {
	var msg WSMessage
	if err := json.Unmarshal(data, &msg); err != nil {
		return s.wsSend(ctx, conn, WSControl{Type: WSError, Error: "ws: invalid JSON: " + err.Error()})
	}
	switch msg.Type {
	case WSPing:
		return s.wsSend(ctx, conn, WSControl{Type: WSPong})
	case WSChat:
	default:
		return s.wsSend(ctx, conn, WSControl{Type: WSError, Error: "ws: unknown message type " + quote(msg.Type)})
	}
	uctx, err := agent.NewUserExecutionContext(msg.UserID, msg.ThreadID, agent.NewID("run"),
		agent.WithWebSocketClientID(connID),
		agent.WithAuditMetadata(map[string]any{"route": RouteWS}))
	if err != nil {
		return s.wsSend(ctx, conn, WSControl{Type: WSError, Error: "ws: " + err.Error()})
	}
	s.inFlight.Add(1)
	defer s.inFlight.Add(-1)
	seq := s.chatSeq(RouteWS, uctx, msg.ChatSeq)
	if err := s.beforeChat(ctx, RouteWS, uctx, seq); err != nil {
		if ctx.Err() != nil {
			return err
		}
		return s.wsSend(ctx, conn, WSControl{Type: WSError, Error: "ws: " + err.Error()})
	}
	bridge.add(uctx.UserID())
	sess, err := s.build.Acquire(uctx, bridge)
	if err != nil {
		return s.wsSend(ctx, conn, WSControl{Type: WSError, Error: "ws: " + err.Error()})
	}
	defer sess.Release()
	s.retain()
	sink := newChatSink(uctx, s.foreign)
	sink.write = func(raw []byte) error { return s.wsWrite(ctx, conn, raw) }
	defer sink.close()
	runCtx := agent.WithChatSeq(ctx, seq)
	_, err = sess.Run(runCtx, msg.Message, sink.emit)
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if err != nil {
		return s.wsSend(ctx, conn, WSControl{Type: WSError, Error: "ws: " + err.Error()})
	}
	if err := s.awaitOwn(ctx, sink); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return s.wsSend(ctx, conn, WSControl{Type: WSError, Error: "ws: " + err.Error()})
	}
	return nil
}

func (s *Server) wsSend(ctx context.Context, conn *websocket.Conn, v WSControl) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return s.wsWrite(ctx, conn, raw)
}

func (s *Server) wsWrite(ctx context.Context, conn *websocket.Conn, raw []byte) error {
	ctx, cancel := context.WithTimeout(ctx, wsWriteTimeout)
	defer cancel()
	return conn.Write(ctx, websocket.MessageText, raw)
}

func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
