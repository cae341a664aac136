package load

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"testing"
	"time"
)

// cannedServer answers every request on a connection with the same bytes,
// allocating next to nothing itself, so that allocations measured are the
// client's.
func cannedServer(b *testing.B, resp []byte) *url.URL {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				br := bufio.NewReader(c)
				for {
					req, err := http.ReadRequest(br)
					if err != nil {
						return
					}
					io.Copy(io.Discard, req.Body)
					if _, err := c.Write(resp); err != nil {
						return
					}
				}
			}()
		}
	}()
	u, _ := url.Parse("http://" + ln.Addr().String())
	return u
}

// BenchmarkHTTPRoundTrip is one chat of the raw client's hot path: the
// pre-built request written, the answer read (allocs/op is the client's
// plus the canned server's http.ReadRequest).
func BenchmarkHTTPRoundTrip(b *testing.B) {
	body := bytes.Repeat([]byte("x"), 1500)
	resp := fmt.Appendf(nil, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: keep-alive\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
	u := cannedServer(b, resp)
	rc := newRawClient(u, &transport{}, nil)
	req := buildRequest(u, "/api/agents/run", []byte(`{"user_id":"lb_user_00001"}`), nil, nil)
	var buf bytes.Buffer
	b.ReportAllocs()
	for b.Loop() {
		buf.Reset()
		if _, err := rc.do(req, time.Now().Add(5*time.Second), &buf); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkWSEvents is one WebSocket chat on the reader's side: the five
// events of a chat decoded, matched, checked and the chat recorded.
func BenchmarkWSEvents(b *testing.B) {
	a, err := NewAttacker("http://127.0.0.1:1", WithHTTPRate(0), WithUsers(1))
	if err != nil {
		b.Fatal(err)
	}
	users, err := newPool(DefaultUserPrefix, 1)
	if err != nil {
		b.Fatal(err)
	}
	live := &counters{}
	rec := newRecorder("ws", time.Now(), live, users)
	e := newWSEngine(a, users, rec, live)
	u := e.users[0]
	ts := time.Now().UTC().Format(time.RFC3339Nano)
	var evs [][]byte
	for i, typ := range eventTypes {
		evs = append(evs, fmt.Appendf(nil, `{"type":%q,"run_id":"run_1","user_id":%q,"thread_id":%q,"agent_name":"a","timestamp":%q,"data":{"step":%d,"factory_id":"f1"}}`,
			typ, users.ids[0], users.threads[0], ts, i))
	}
	b.ReportAllocs()
	for b.Loop() {
		e.inflight.Add(1)
		u.mu.Lock()
		u.out = append(u.out, wsChat{intended: time.Now(), first: -1})
		u.mu.Unlock()
		for _, ev := range evs {
			e.event(u, ev)
		}
	}
	if p, _, _ := rec.finish(); p.Success != p.Requests || p.Requests == 0 {
		b.Fatalf("errors %v", p.Errors)
	}
}
