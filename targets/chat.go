package targets

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/loadbench/loadbench/internal/agent"
)

// seqLimit bounds the per-(user, thread) chat counters; the map is cleared
// when it reaches it.
const seqLimit = 1 << 16

// errInjected marks a failure injected by WithFailRate or WithWSFailRate.
var errInjected = errors.New("injected failure")

// chatSeq is the chat's sequence number: the client's, or the next of the
// server's count for (route, user, thread). Counting per route keeps a
// user's HTTP and WebSocket chats, which share a thread, from interleaving
// differently in two runs; a client that numbers its chats makes the keys
// exact.
func (s *Server) chatSeq(route string, uctx agent.UserExecutionContext, given *uint64) uint64 {
	if given != nil {
		return *given
	}
	key := route + "\x00" + uctx.UserID() + "\x00" + uctx.ThreadID()
	s.seqMu.Lock()
	defer s.seqMu.Unlock()
	if len(s.seqs) >= seqLimit {
		clear(s.seqs)
	}
	n := s.seqs[key]
	s.seqs[key] = n + 1
	return n
}

// beforeChat applies the chat-level faults to a chat on route: the
// per-user leak, the added delay and the injected failures (WithFailRate
// on every route, WithWSFailRate on the WebSocket route only, each its own
// draw).
func (s *Server) beforeChat(ctx context.Context, route string, uctx agent.UserExecutionContext, seq uint64) error {
	s.retainUser(uctx.UserID())
	if err := agent.Pause(ctx, s.cfg.delay); err != nil {
		return err
	}
	if f := s.cfg.failRate; f > 0 && agent.ChatKey(s.failSalt, uctx.UserID(), uctx.ThreadID(), seq) < f {
		return errInjected
	}
	if f := s.cfg.wsFailRate; f > 0 && route == RouteWS && agent.ChatKey("ws-"+s.failSalt, uctx.UserID(), uctx.ThreadID(), seq) < f {
		return errInjected
	}
	return nil
}

// awaitOwn waits for the chat's own agent_completed. The agent has
// finished, so when its events went to another chat they will never come:
// the owner waits for them (as the real client does) until ctx ends or the
// orphan timeout passes, and the chat ends with an error.
func (s *Server) awaitOwn(ctx context.Context, sink *chatSink) error {
	select {
	case <-sink.done:
		return nil
	default:
	}
	t := time.NewTimer(s.cfg.orphanTimeout)
	defer t.Stop()
	select {
	case <-sink.done:
		return nil
	case <-ctx.Done():
	case <-t.C:
	}
	s.orphaned.Inc()
	return fmt.Errorf("events of run %s never arrived", sink.runID)
}

// chatSink receives the events delivered to one chat: its own, and under
// the legacy build other users' too, from other goroutines and possibly
// after the chat ended (then they are dropped). It is safe for concurrent
// use.
type chatSink struct {
	userID, runID string
	foreign       prometheus.Counter
	write         func([]byte) error // nil: collect for an HTTP response
	done          chan struct{}

	mu       sync.Mutex
	events   []json.RawMessage
	finished bool
	closed   bool
}

func newChatSink(uctx agent.UserExecutionContext, foreign prometheus.Counter) *chatSink {
	return &chatSink{userID: uctx.UserID(), runID: uctx.RunID(), foreign: foreign, done: make(chan struct{})}
}

func (c *chatSink) emit(ev agent.Event, raw []byte) error {
	own := ev.RunID == c.runID
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	if ev.UserID != c.userID {
		c.foreign.Inc()
	}
	if c.write == nil {
		c.events = append(c.events, append(json.RawMessage(nil), raw...))
	}
	c.mu.Unlock()
	if c.write != nil {
		if err := c.write(raw); err != nil && own {
			return err // this chat's own connection failed
		}
	}
	if own && ev.Type == agent.EventAgentCompleted {
		c.mu.Lock()
		if !c.finished {
			c.finished = true
			close(c.done)
		}
		c.mu.Unlock()
	}
	return nil
}

func (c *chatSink) snapshot() []json.RawMessage {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]json.RawMessage(nil), c.events...)
}

func (c *chatSink) close() {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
}

// retainUser is the --leak-per-user fault: n bytes kept once per distinct
// user id.
func (s *Server) retainUser(userID string) {
	n := s.cfg.leakPerUser
	if n <= 0 {
		return
	}
	s.leakMu.Lock()
	defer s.leakMu.Unlock()
	if _, ok := s.userLeaked[userID]; ok {
		return
	}
	b := make([]byte, n)
	for i := 0; i < len(b); i += 4096 {
		b[i] = 1
	}
	s.userLeaked[userID] = b
}

// retain is the --leak fault: n bytes per request kept forever, touched so
// they are resident.
func (s *Server) retain() {
	if s.leak <= 0 {
		return
	}
	b := make([]byte, s.leak)
	for i := 0; i < len(b); i += 4096 {
		b[i] = 1
	}
	s.leakMu.Lock()
	s.leaked = append(s.leaked, b)
	s.leakMu.Unlock()
}
