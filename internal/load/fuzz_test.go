package load

import (
	"bufio"
	"bytes"
	"encoding/json"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// pipeConn is a net.Conn whose reads come from a fixed byte string and
// whose writes are discarded.
type pipeConn struct {
	net.Conn
	r *bytes.Reader
}

func (c *pipeConn) Read(b []byte) (int, error)       { return c.r.Read(b) }
func (c *pipeConn) Write(b []byte) (int, error)      { return len(b), nil }
func (c *pipeConn) Close() error                     { return nil }
func (c *pipeConn) SetDeadline(time.Time) error      { return nil }
func (c *pipeConn) SetReadDeadline(time.Time) error  { return nil }
func (c *pipeConn) SetWriteDeadline(time.Time) error { return nil }

// FuzzReadResponse feeds the raw client's response reader any bytes: it must
// never panic, hang or return more than MaxBody+1 bytes of body, and a
// response it accepts has a final (non-1xx) status.
func FuzzReadResponse(f *testing.F) {
	f.Add([]byte("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}"))
	f.Add([]byte("HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n2\r\n{}\r\n0\r\nX: y\r\n\r\n"))
	f.Add([]byte("HTTP/1.0 200 OK\r\nConnection: keep-alive, close\r\n\r\nbody"))
	f.Add([]byte("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n"))
	f.Add([]byte("HTTP/1.1 101 Switching Protocols\r\n\r\n"))
	f.Add([]byte("HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n"))
	f.Fuzz(func(t *testing.T, resp []byte) {
		c := &rawConn{c: &pipeConn{r: bytes.NewReader(resp)}}
		c.br = bufioReader(c.c)
		var buf bytes.Buffer
		code, _, started, err := c.roundTrip([]byte("POST / HTTP/1.1\r\n\r\n"), &buf)
		if buf.Len() > MaxBody+1 {
			t.Fatalf("body of %d bytes", buf.Len())
		}
		if err == nil {
			if code < 200 || code > 999 || !started {
				t.Fatalf("accepted a response with status %d (started %v)", code, started)
			}
		}
		if len(resp) == 0 && started {
			t.Fatal("started without a byte")
		}
	})
}

// FuzzDecodeEvent checks the hand-written JSON reader: no panic on any
// input, and on a valid JSON object it agrees with encoding/json on the
// string members it reads.
func FuzzDecodeEvent(f *testing.F) {
	f.Add([]byte(`{"type":"agent_started","run_id":"run_1","user_id":"lb_user_00001","thread_id":"lb_user_00001_thread","timestamp":"2026-01-02T03:04:05.123Z","data":{"factory_id":"f1"}}`))
	f.Add([]byte(`{"type":"heartbeat"}`))
	f.Add([]byte(`{"type":"error","error":"bo\"om \u00e9"}`))
	f.Add([]byte(`{"run_id":"r","user_id":"u","thread_id":"t","events":[{"type":"a"},{"type":"b"}],"result":"ok"}`))
	f.Add([]byte(`[1,2]`))
	f.Add([]byte(`{"type":1e5,"data":[true,false,null,-0.5E+3]}`))
	p, err := newPool(DefaultUserPrefix, 3)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var ev wireEvent
		ok := decodeEvent(b, &ev)
		var r runResponse
		decodeRun(b, &r)
		p.foreign(b, 1)
		if ok {
			p.checkEvent(&ev, 0, 1, "")
			factoryOf(&ev)
		}
		var std map[string]any
		if json.Unmarshal(b, &std) != nil || std == nil {
			return
		}
		if !ok {
			t.Fatalf("valid JSON object refused: %q", b)
		}
		for key, got := range map[string][]byte{"type": ev.Type, "run_id": ev.RunID, "user_id": ev.UserID, "thread_id": ev.ThreadID, "error": ev.Error} {
			want, isStr := std[key].(string)
			if !isStr {
				continue
			}
			if !strings.ContainsRune(want, '\uFFFD') && string(got) != want {
				t.Fatalf("%s = %q, encoding/json says %q, in %q", key, got, want, b)
			}
		}
	})
}

// FuzzParseHeader: a parsed header is valid on the wire, and an error
// never shows the value (a secret).
func FuzzParseHeader(f *testing.F) {
	for _, s := range []string{"Authorization: Bearer ${TOKEN}", "Cookie: a=1; b=2", "X-Empty:", "no colon", ": v", "X: ${", "X: a\r\nInjected: 1", "X: ${TOKEN}${TOKEN}"} {
		f.Add(s)
	}
	env := func(k string) (string, bool) {
		if k == "TOKEN" {
			return "tok_secret_value", true
		}
		return "", false
	}
	f.Fuzz(func(t *testing.T, line string) {
		h := http.Header{}
		err := ParseHeader(h, line, env)
		if err != nil {
			if strings.Contains(err.Error(), "tok_secret_value") {
				t.Fatalf("error shows the secret: %v", err)
			}
			return
		}
		if len(h) != 1 {
			t.Fatalf("%q made %d headers", line, len(h))
		}
		for k, vs := range h {
			for _, v := range vs {
				if strings.ContainsAny(k+v, "\r\n") {
					t.Fatalf("%q: header %q: %q holds a line break", line, k, v)
				}
			}
		}
	})
}

func bufioReader(c net.Conn) *bufio.Reader { return bufio.NewReaderSize(c, 4096) }
