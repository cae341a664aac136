// Command target is a trivial loopback target for `make perf`: it speaks the
// agents wire contract (POST /api/agents/run, WebSocket /api/demo/ws) with
// as little work as possible, so the generators, not the target, are what a
// throughput comparison measures.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
)

var eventTypes = [5]string{"agent_started", "agent_thinking", "tool_executing", "tool_completed", "agent_completed"}

type chat struct {
	Type     string `json:"type"`
	UserID   string `json:"user_id"`
	ThreadID string `json:"thread_id"`
	Message  string `json:"message"`
}

type server struct{ runs atomic.Int64 }

// event appends one event as JSON to b.
func event(b []byte, i int, run, user, thread, ts string) []byte {
	b = append(b, `{"type":"`...)
	b = append(b, eventTypes[i]...)
	b = append(b, `","run_id":"`...)
	b = append(b, run...)
	b = append(b, `","user_id":`...)
	b = strconv.AppendQuote(b, user)
	b = append(b, `,"thread_id":`...)
	b = strconv.AppendQuote(b, thread)
	b = append(b, `,"agent_name":"perf","timestamp":"`...)
	b = append(b, ts...)
	b = append(b, `","data":`...)
	switch i {
	case 0:
		b = append(b, `{"factory_id":"perf_factory"}`...)
	default:
		b = append(b, `{}`...)
	}
	return append(b, '}')
}

func (s *server) run(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		http.Error(w, `{"error":"method not allowed"}`, http.StatusMethodNotAllowed)
		return
	}
	var c chat
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&c); err != nil || c.UserID == "" {
		http.Error(w, `{"error":"bad request"}`, http.StatusBadRequest)
		return
	}
	run := "run_" + strconv.FormatInt(s.runs.Add(1), 10)
	ts := time.Now().UTC().Format(time.RFC3339Nano)
	b := make([]byte, 0, 1024)
	b = append(b, `{"run_id":"`...)
	b = append(b, run...)
	b = append(b, `","user_id":`...)
	b = strconv.AppendQuote(b, c.UserID)
	b = append(b, `,"thread_id":`...)
	b = strconv.AppendQuote(b, c.ThreadID)
	b = append(b, `,"factory_id":"perf_factory","events":[`...)
	for i := range eventTypes {
		if i > 0 {
			b = append(b, ',')
		}
		b = event(b, i, run, c.UserID, c.ThreadID, ts)
	}
	b = append(b, `],"result":"ok"}`...)
	w.Header().Set("Content-Type", "application/json")
	w.Write(b)
}

func (s *server) ws(w http.ResponseWriter, r *http.Request) {
	c, err := websocket.Accept(w, r, &websocket.AcceptOptions{CompressionMode: websocket.CompressionDisabled})
	if err != nil {
		return
	}
	defer c.CloseNow()
	ctx := context.Background()
	id := s.runs.Add(1)
	if c.Write(ctx, websocket.MessageText, fmt.Appendf(nil, `{"type":"connection_established","connection_id":"c%d"}`, id)) != nil {
		return
	}
	b := make([]byte, 0, 512)
	for {
		_, msg, err := c.Read(ctx)
		if err != nil {
			return
		}
		var ch chat
		if json.Unmarshal(msg, &ch) != nil || ch.Type != "chat" {
			if ch.Type == "ping" {
				c.Write(ctx, websocket.MessageText, []byte(`{"type":"pong"}`))
				continue
			}
			c.Write(ctx, websocket.MessageText, []byte(`{"type":"error","error":"bad message"}`))
			continue
		}
		run := "run_" + strconv.FormatInt(s.runs.Add(1), 10)
		ts := time.Now().UTC().Format(time.RFC3339Nano)
		for i := range eventTypes {
			b = event(b[:0], i, run, ch.UserID, ch.ThreadID, ts)
			if c.Write(ctx, websocket.MessageText, b) != nil {
				return
			}
		}
	}
}

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "listen address")
	flag.Parse()
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Fprintln(os.Stdout, ln.Addr().String())
	s := &server{}
	mux := http.NewServeMux()
	mux.HandleFunc("/api/agents/run", s.run)
	mux.HandleFunc("/api/demo/ws", s.ws)
	log.Fatal((&http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}).Serve(ln))
}
