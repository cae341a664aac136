package load

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"text/template"
	"time"

	"github.com/coder/websocket"
	"github.com/loadbench/loadbench/internal/usage"
	"github.com/loadbench/loadbench/results"
)

// rawServer answers every request on a keep-alive connection with the fake
// target's body, framed by frame (which writes the whole response, status
// line included). It lets a test send what Go's server never would.
func rawServer(t *testing.T, f *fakeTarget, frame func(w io.Writer, body []byte) (closeAfter bool)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	h := f.handler()
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() {
				defer c.Close()
				br := bufio.NewReader(c)
				for {
					req, err := http.ReadRequest(br)
					if err != nil {
						return
					}
					rec := httptest.NewRecorder()
					h.ServeHTTP(rec, req)
					req.Body.Close()
					bw := bufio.NewWriter(c)
					closeAfter := frame(bw, rec.Body.Bytes())
					if bw.Flush() != nil || closeAfter {
						return
					}
				}
			})
		}
	})
	return "http://" + ln.Addr().String()
}

func chunk(w io.Writer, body []byte) {
	half := len(body) / 2
	fmt.Fprintf(w, "%x\r\n%s\r\n%x\r\n%s\r\n0\r\n\r\n", half, body[:half], len(body)-half, body[half:])
}

// What ordinary servers, proxies and CDNs send must not become errors or
// violations.
func TestHTTPServerAndProxyQuirks(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		frame func(w io.Writer, body []byte) bool
	}{
		{"103 early hints and 100 continue before the answer", func(w io.Writer, body []byte) bool {
			io.WriteString(w, "HTTP/1.1 100 Continue\r\n\r\n")
			io.WriteString(w, "HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload; as=style\r\nLink: </app.js>; rel=preload\r\n\r\n")
			fmt.Fprintf(w, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
			return false
		}},
		{"comma-separated transfer-encoding", func(w io.Writer, body []byte) bool {
			io.WriteString(w, "HTTP/1.1 200 OK\r\nTransfer-Encoding: identity, chunked\r\nConnection: keep-alive, Upgrade\r\n\r\n")
			chunk(w, body)
			return false
		}},
		{"connection close among other tokens", func(w io.Writer, body []byte) bool {
			fmt.Fprintf(w, "HTTP/1.1 200 OK\r\nConnection: Keep-Alive, close\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
			return true
		}},
		{"header line of 60 KiB and chunk trailers", func(w io.Writer, body []byte) bool {
			fmt.Fprintf(w, "HTTP/1.1 200 OK\r\nSet-Cookie: session=%s\r\nTransfer-Encoding: chunked\r\nTrailer: X-Sum\r\n\r\n", strings.Repeat("a", 60<<10))
			half := len(body) / 2
			fmt.Fprintf(w, "%x\r\n%s\r\n%x\r\n%s\r\n0\r\nX-Sum: %s\r\n\r\n", half, body[:half], len(body)-half, body[half:], strings.Repeat("b", 5000))
			return false
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			u := rawServer(t, newFake(), c.frame)
			seg := runAttack(t, mustAttack(t, u, WithHTTPRate(40), WithWSRate(0), WithUsers(4), WithDuration(500*time.Millisecond)))
			p := seg.Protocols[results.HTTP]
			if p.Requests != 20 || p.Success != 20 || seg.Isolation.Violations != 0 {
				t.Errorf("requests %d success %d errors %v violations %d %v", p.Requests, p.Success, p.Errors, seg.Isolation.Violations, seg.Isolation.Examples)
			}
		})
	}
	t.Run("header line over 64 KiB is an error, not a violation", func(t *testing.T) {
		t.Parallel()
		u := rawServer(t, newFake(), func(w io.Writer, body []byte) bool {
			fmt.Fprintf(w, "HTTP/1.1 200 OK\r\nX-Big: %s\r\nContent-Length: %d\r\n\r\n%s", strings.Repeat("a", 70<<10), len(body), body)
			return false
		})
		seg := runAttack(t, mustAttack(t, u, WithHTTPRate(20), WithWSRate(0), WithUsers(2), WithDuration(250*time.Millisecond)))
		p := seg.Protocols[results.HTTP]
		if p.Errors["http: header line over 64 KiB"] != p.Requests || p.Requests == 0 || seg.Isolation.Violations != 0 {
			t.Errorf("requests %d errors %v violations %d", p.Requests, p.Errors, seg.Isolation.Violations)
		}
	})
}

// Go's own server sending 103 Early Hints through the ResponseWriter.
func TestHTTPEarlyHintsFromGoServer(t *testing.T) {
	t.Parallel()
	f := newFake()
	h := f.handler()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Add("Link", "</style.css>; rel=preload; as=style")
		w.WriteHeader(http.StatusEarlyHints)
		w.Header().Del("Link")
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	seg := runAttack(t, mustAttack(t, srv.URL, WithHTTPRate(100), WithWSRate(0), WithUsers(10), WithDuration(500*time.Millisecond)))
	p := seg.Protocols[results.HTTP]
	if p.Requests != 50 || p.Success != 50 || seg.Isolation.Violations != 0 {
		t.Errorf("requests %d success %d errors %v violations %d", p.Requests, p.Success, p.Errors, seg.Isolation.Violations)
	}
}

// Keep-alive connections the server closed while idle are redialled, never
// errors, even when every idle connection went stale at once.
func TestIdleClosedConnectionsAreNotErrors(t *testing.T) {
	t.Parallel()
	var conns atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Write([]byte("ok"))
	}))
	srv.Config.IdleTimeout = 50 * time.Millisecond
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	u, _ := url.Parse(srv.URL)
	rc := newRawClient(u, &transport{}, nil)
	req := buildRequest(u, "/", []byte("{}"), nil, nil)
	do := func() error {
		var buf bytes.Buffer
		code, err := rc.do(req, time.Now().Add(5*time.Second), &buf)
		if err == nil && (code != 200 || buf.String() != "ok") {
			err = fmt.Errorf("answer %d %q", code, buf.String())
		}
		return err
	}
	const n = 8
	for round := range 3 {
		// n concurrent requests leave up to n idle connections...
		var wg sync.WaitGroup
		errs := make(chan error, n)
		for range n {
			wg.Go(func() { errs <- do() })
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatalf("round %d: concurrent request: %v", round, err)
			}
		}
		// ...that the server closes while they are idle.
		time.Sleep(200 * time.Millisecond)
		for i := range n {
			if err := do(); err != nil {
				t.Fatalf("round %d: request %d after the idle timeout: %v", round, i, err)
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	if conns.Load() < 6 {
		t.Errorf("only %d connections: the server never closed idle ones, the test proves nothing", conns.Load())
	}
}

// An answer that had begun is never sent again, even on a reused connection.
func TestNoResendAfterAnswerBegan(t *testing.T) {
	t.Parallel()
	var posts atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		if posts.Add(1) == 2 {
			// Headers promise a body, then the connection dies.
			hj, _ := w.(http.Hijacker)
			c, bw, _ := hj.Hijack()
			bw.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial")
			bw.Flush()
			c.Close()
			return
		}
		w.Write([]byte("ok"))
	}))
	t.Cleanup(srv.Close)
	u, _ := url.Parse(srv.URL)
	rc := newRawClient(u, &transport{}, nil)
	req := buildRequest(u, "/", []byte("{}"), nil, nil)
	var buf bytes.Buffer
	if _, err := rc.do(req, time.Now().Add(5*time.Second), &buf); err != nil {
		t.Fatal(err)
	}
	buf.Reset()
	if _, err := rc.do(req, time.Now().Add(5*time.Second), &buf); err == nil {
		t.Fatal("a cut answer was not an error")
	}
	if n := posts.Load(); n != 2 {
		t.Fatalf("the server saw %d requests, want 2 (no re-send of a request whose answer began)", n)
	}
}

// authServer serves the fake target only to requests (and handshakes) that
// carry Authorization: Bearer token.
func authServer(t *testing.T, f *fakeTarget, token string, tls bool) *httptest.Server {
	t.Helper()
	h := f.handler()
	wrapped := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+token || r.Header.Get("X-Tenant") != "blue" {
			http.Error(w, `{"error":"unauthorized"}`, http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(w, r)
	})
	var srv *httptest.Server
	if tls {
		srv = httptest.NewTLSServer(wrapped)
	} else {
		srv = httptest.NewServer(wrapped)
	}
	t.Cleanup(srv.Close)
	return srv
}

func TestHeadersOnHTTPAndWebSocket(t *testing.T) {
	t.Parallel()
	const token = "tok_5b1d0c7e"
	srv := authServer(t, newFake(), token, false)
	h := http.Header{"Authorization": {"Bearer " + token}, "X-Tenant": {"blue"}}
	seg := runAttack(t, mustAttack(t, srv.URL, WithHeader(h), WithHTTPRate(40), WithWSRate(40), WithUsers(4), WithDuration(500*time.Millisecond)))
	for _, name := range []string{results.HTTP, results.WS} {
		p := seg.Protocols[name]
		if p.Requests != 20 || p.Success != 20 {
			t.Errorf("%s with the header: requests %d success %d errors %v", name, p.Requests, p.Success, p.Errors)
		}
	}
	a := mustAttack(t, srv.URL, WithHTTPRate(20), WithWSRate(20), WithUsers(2), WithDuration(250*time.Millisecond))
	seg, err := a.Attack(context.Background())
	if err == nil || errors.Is(err, ErrUnreachable) || !strings.Contains(err.Error(), "handshake was refused (ws: dial: http 401)") {
		t.Errorf("without the header: err = %v, want no ws connection, the handshake refused with http 401, not ErrUnreachable (the target answered)", err)
	}
	if seg != nil && seg.Isolation.Violations != 0 {
		t.Errorf("without the header: %d violations", seg.Isolation.Violations)
	}
	seg = runAttack(t, mustAttack(t, srv.URL, WithHTTPRate(20), WithWSRate(0), WithUsers(2), WithDuration(250*time.Millisecond)))
	if p := seg.Protocols[results.HTTP]; p.Errors["http 401"] != 5 || seg.Isolation.Violations != 0 {
		t.Errorf("http without the header: errors %v violations %d", p.Errors, seg.Isolation.Violations)
	}
}

func writeCA(t *testing.T, srv *httptest.Server) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestTLSPrivateCA(t *testing.T) {
	t.Parallel()
	srv := httptest.NewTLSServer(newFake().handler())
	t.Cleanup(srv.Close)
	conf, err := TLSConfig(writeCA(t, srv), "", "", false)
	if err != nil {
		t.Fatal(err)
	}
	seg := runAttack(t, mustAttack(t, srv.URL, WithTLSConfig(conf), WithHTTPRate(40), WithWSRate(40), WithUsers(4), WithDuration(500*time.Millisecond)))
	for _, name := range []string{results.HTTP, results.WS} {
		if p := seg.Protocols[name]; p.Requests != 20 || p.Success != 20 {
			t.Errorf("%s with --cacert: requests %d success %d errors %v", name, p.Requests, p.Success, p.Errors)
		}
	}
	insecure, _ := TLSConfig("", "", "", true)
	seg = runAttack(t, mustAttack(t, srv.URL, WithTLSConfig(insecure), WithHTTPRate(20), WithWSRate(0), WithUsers(2), WithDuration(250*time.Millisecond)))
	if p := seg.Protocols[results.HTTP]; p.Success != 5 {
		t.Errorf("insecure: errors %v", p.Errors)
	}
	// Without the CA: a TLS error class, never a violation.
	seg = runAttack(t, mustAttack(t, srv.URL, WithHTTPRate(20), WithWSRate(0), WithUsers(2), WithDuration(250*time.Millisecond)))
	p := seg.Protocols[results.HTTP]
	if p.Errors["tls: certificate signed by unknown authority"] != 5 || seg.Isolation.Violations != 0 {
		t.Errorf("without the CA: errors %v violations %d", p.Errors, seg.Isolation.Violations)
	}
}

func TestTLSConfigBadInput(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	notPEM := filepath.Join(dir, "ca.pem")
	os.WriteFile(notPEM, []byte("not a certificate"), 0o600)
	for _, c := range []struct {
		ca, cert, key string
		want          string
	}{
		{filepath.Join(dir, "missing.pem"), "", "", "tls: read ca file: no such file or directory"},
		{notPEM, "", "", "holds no PEM certificate"},
		{"", notPEM, "", "needs both"},
		{"", notPEM, notPEM, "tls: load client certificate"},
	} {
		_, err := TLSConfig(c.ca, c.cert, c.key, false)
		if err == nil || !errors.Is(err, usage.ErrUsage) || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("TLSConfig(%q, %q, %q) = %v, want one usage line with %q", c.ca, c.cert, c.key, err, c.want)
		}
	}
}

// forwardProxy is an HTTP forward proxy: CONNECT tunnels and absolute-form
// requests. It counts both.
type forwardProxy struct {
	connects, forwarded atomic.Int64
	rp                  *httputil.ReverseProxy
}

func newForwardProxy(t *testing.T) (*forwardProxy, *url.URL) {
	fp := &forwardProxy{rp: &httputil.ReverseProxy{Rewrite: func(pr *httputil.ProxyRequest) {}}}
	srv := httptest.NewServer(fp)
	t.Cleanup(srv.Close)
	u, _ := url.Parse(srv.URL)
	return fp, u
}

func (fp *forwardProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodConnect {
		if !r.URL.IsAbs() {
			http.Error(w, "not a proxy request", http.StatusBadRequest)
			return
		}
		fp.forwarded.Add(1)
		fp.rp.ServeHTTP(w, r)
		return
	}
	fp.connects.Add(1)
	up, err := net.Dial("tcp", r.Host)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	c, bw, err := w.(http.Hijacker).Hijack()
	if err != nil {
		up.Close()
		return
	}
	bw.WriteString("HTTP/1.1 200 Connection established\r\n\r\n")
	bw.Flush()
	go func() { io.Copy(up, c); up.Close() }()
	io.Copy(c, up)
	c.Close()
}

func TestProxyBothProtocols(t *testing.T) {
	t.Parallel()
	fp, pu := newForwardProxy(t)
	via := WithProxy(func(*url.URL) (*url.URL, error) { return pu, nil })
	srv := startFake(t, newFake())
	seg := runAttack(t, mustAttack(t, srv.URL, via, WithHTTPRate(40), WithWSRate(40), WithUsers(4), WithDuration(500*time.Millisecond)))
	for _, name := range []string{results.HTTP, results.WS} {
		if p := seg.Protocols[name]; p.Requests != 20 || p.Success != 20 {
			t.Errorf("http target, %s: requests %d success %d errors %v", name, p.Requests, p.Success, p.Errors)
		}
	}
	if fp.forwarded.Load() != 20 || fp.connects.Load() != 4 {
		t.Errorf("proxy saw %d absolute-form requests (want 20) and %d tunnels (want 4, one per WebSocket user)", fp.forwarded.Load(), fp.connects.Load())
	}
	tsrv := httptest.NewTLSServer(newFake().handler())
	t.Cleanup(tsrv.Close)
	conf, _ := TLSConfig(writeCA(t, tsrv), "", "", false)
	before := fp.connects.Load()
	seg = runAttack(t, mustAttack(t, tsrv.URL, via, WithTLSConfig(conf), WithHTTPRate(40), WithWSRate(40), WithUsers(4), WithDuration(500*time.Millisecond)))
	for _, name := range []string{results.HTTP, results.WS} {
		if p := seg.Protocols[name]; p.Requests != 20 || p.Success != 20 {
			t.Errorf("https target, %s: requests %d success %d errors %v", name, p.Requests, p.Success, p.Errors)
		}
	}
	if fp.connects.Load()-before < 5 {
		t.Errorf("https through the proxy made %d tunnels, want one per connection", fp.connects.Load()-before)
	}
	// The environment: HTTP_PROXY is honoured by default (not for loopback,
	// as net/http; so the target is named by a non-loopback name that only
	// the proxy resolves).
}

func TestProxyRefusal(t *testing.T) {
	t.Parallel()
	srv := startFake(t, newFake())
	// A proxy that refuses tunnels: an error class naming the proxy.
	refuse := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "auth", http.StatusProxyAuthRequired)
	}))
	t.Cleanup(refuse.Close)
	ru, _ := url.Parse(refuse.URL)
	a := mustAttack(t, srv.URL, WithProxy(func(*url.URL) (*url.URL, error) { return ru, nil }), WithHTTPRate(0), WithWSRate(10), WithUsers(1), WithDuration(100*time.Millisecond))
	if _, err := a.Attack(context.Background()); err == nil || !strings.Contains(err.Error(), "proxy: connect: http 407") {
		t.Errorf("refused tunnel: err = %v", err)
	}
	if _, err := NewAttacker(srv.URL, WithProxy(func(*url.URL) (*url.URL, error) { return &url.URL{Scheme: "socks5", Host: "x:1"}, nil })); !errors.Is(err, usage.ErrUsage) {
		t.Errorf("socks5 proxy: err = %v, want usage", err)
	}
}

func TestProxyFromEnvironment(t *testing.T) {
	// Not parallel: it sets the environment.
	fp, pu := newForwardProxy(t)
	srv := startFake(t, newFake())
	t.Setenv("HTTP_PROXY", pu.String())
	t.Setenv("NO_PROXY", "")
	// Loopback targets never go through the environment's proxy, so name the
	// target by a host only the proxy can reach: the proxy forwards to srv.
	target, _ := url.Parse(srv.URL)
	fp.rp.Rewrite = func(pr *httputil.ProxyRequest) { pr.Out.URL.Host = target.Host }
	a := mustAttack(t, "http://target.invalid", WithHTTPRate(20), WithWSRate(0), WithUsers(2), WithDuration(250*time.Millisecond))
	seg := runAttack(t, a)
	if p := seg.Protocols[results.HTTP]; p.Success != 5 || fp.forwarded.Load() != 5 {
		t.Errorf("through HTTP_PROXY: errors %v, proxy forwarded %d", p.Errors, fp.forwarded.Load())
	}
	t.Setenv("NO_PROXY", "target.invalid")
	a = mustAttack(t, "http://target.invalid", WithHTTPRate(20), WithWSRate(0), WithUsers(2), WithDuration(250*time.Millisecond))
	if a.httpProxy != nil {
		t.Errorf("NO_PROXY ignored: proxy %v", a.httpProxy)
	}
}

// wsQuirkServer speaks the WebSocket contract (the fake's events) and also
// sends a heartbeat every beat, and extra at connect.
func wsQuirkServer(t *testing.T, f *fakeTarget, beat time.Duration, extra string, opts *websocket.AcceptOptions, pings *atomic.Int64) *httptest.Server {
	t.Helper()
	if opts == nil {
		opts = &websocket.AcceptOptions{}
	}
	opts.CompressionMode = websocket.CompressionDisabled
	opts.OnPingReceived = func(context.Context, []byte) bool {
		if pings != nil {
			pings.Add(1)
		}
		return true
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, opts)
		if err != nil {
			return
		}
		defer c.CloseNow()
		if len(opts.Subprotocols) > 0 && c.Subprotocol() != opts.Subprotocols[0] {
			c.Close(websocket.StatusPolicyViolation, "subprotocol required")
			return
		}
		ctx := r.Context()
		if extra != "" {
			c.Write(ctx, websocket.MessageText, []byte(extra))
		}
		go func() {
			t := time.NewTicker(beat)
			defer t.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-t.C:
					if c.Write(ctx, websocket.MessageText, []byte(`{"type":"heartbeat","ts":1}`)) != nil {
						return
					}
				}
			}
		}()
		for {
			_, b, err := c.Read(ctx)
			if err != nil {
				return
			}
			var req chatReq
			json.Unmarshal(b, &req)
			_, _, evs := f.events(req, true)
			for _, ev := range evs {
				b, _ := json.Marshal(ev)
				if c.Write(ctx, websocket.MessageText, b) != nil {
					return
				}
			}
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestWSMessagesOutsideTheContract(t *testing.T) {
	t.Parallel()
	srv := wsQuirkServer(t, newFake(), 10*time.Millisecond, `{"type":"notice","text":"maintenance at noon"}`, nil, nil)
	seg := runAttack(t, mustAttack(t, srv.URL, WithHTTPRate(0), WithWSRate(40), WithUsers(4), WithDuration(time.Second)))
	p := seg.Protocols[results.WS]
	if p.Requests != 40 || p.Success != 40 || seg.Isolation.Violations != 0 {
		t.Errorf("requests %d success %d errors %v violations %d %v", p.Requests, p.Success, p.Errors, seg.Isolation.Violations, seg.Isolation.Examples)
	}
	if p.OtherMessages < 4+40 {
		t.Errorf("other messages = %d, want the notices and heartbeats counted", p.OtherMessages)
	}
	// Another user's secret stays a violation, whatever the message's type.
	srv = wsQuirkServer(t, newFake(), time.Hour, `{"type":"notice","data":{"last":"my secret is lbsecret_0123456789abcdef"}}`, nil, nil)
	seg = runAttack(t, mustAttack(t, srv.URL, WithHTTPRate(0), WithWSRate(20), WithUsers(2), WithDuration(250*time.Millisecond)))
	if seg.Isolation.Violations != 2 || len(seg.Isolation.Examples) == 0 || !strings.Contains(seg.Isolation.Examples[0].Reason, "foreign secret") {
		t.Errorf("foreign secret in a notice: violations %d %v", seg.Isolation.Violations, seg.Isolation.Examples)
	}
}

func TestWSSubprotocolAndPing(t *testing.T) {
	t.Parallel()
	var pings atomic.Int64
	srv := wsQuirkServer(t, newFake(), time.Hour, "", &websocket.AcceptOptions{Subprotocols: []string{"chat.v2"}}, &pings)
	seg := runAttack(t, mustAttack(t, srv.URL, WithWSSubprotocol("chat.v2"), WithWSPing(50*time.Millisecond),
		WithHTTPRate(0), WithWSRate(4), WithUsers(2), WithDuration(time.Second)))
	if p := seg.Protocols[results.WS]; p.Success != 4 {
		t.Errorf("with the subprotocol: errors %v", p.Errors)
	}
	if pings.Load() < 4 {
		t.Errorf("%d pings in 1 s on 2 quiet connections with a 50 ms ping interval", pings.Load())
	}
	// Without it the server closes every connection.
	a := mustAttack(t, srv.URL, WithWSPing(0), WithHTTPRate(0), WithWSRate(4), WithUsers(2), WithDuration(250*time.Millisecond))
	if seg, err := a.Attack(context.Background()); err == nil && seg.Protocols[results.WS].Success != 0 {
		t.Errorf("without the subprotocol: %d successes", seg.Protocols[results.WS].Success)
	}
}

func TestBodyTemplate(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	seqs := map[string][]int{}
	f := newFake()
	h := f.handler()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			b, _ := io.ReadAll(r.Body)
			var req struct {
				User string `json:"user_id"`
				Seq  int    `json:"seq"`
				Via  string `json:"via"`
			}
			if json.Unmarshal(b, &req) != nil || req.Via != "http" {
				http.Error(w, "bad body", 400)
				return
			}
			mu.Lock()
			seqs[req.User] = append(seqs[req.User], req.Seq)
			mu.Unlock()
			r.Body = io.NopCloser(bytes.NewReader(b))
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	tmpl, err := ParseBodyTemplate("body.tmpl", `{"type":"chat","user_id":{{json .UserID}},"thread_id":{{json .ThreadID}},"message":{{json (printf "%s (chat %d)" .Message .Seq)}},"seq":{{.Seq}},"via":{{json .Protocol}}}`)
	if err != nil {
		t.Fatal(err)
	}
	seg := runAttack(t, mustAttack(t, srv.URL, WithBodyTemplate(tmpl), WithHTTPRate(40), WithWSRate(40), WithUsers(2), WithDuration(500*time.Millisecond)))
	for _, name := range []string{results.HTTP, results.WS} {
		if p := seg.Protocols[name]; p.Success != 20 {
			t.Errorf("%s: errors %v", name, p.Errors)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(seqs) != 2 || len(seqs["lb_user_00000"]) != 10 {
		t.Fatalf("seqs = %v", seqs)
	}
	seen := map[int]bool{}
	for _, s := range seqs["lb_user_00000"] {
		seen[s] = true
	}
	if len(seen) != 10 || !seen[0] || !seen[9] {
		t.Errorf("user 0 sent seqs %v, want 0..9", seqs["lb_user_00000"])
	}
	for _, bad := range []string{`{"user_id":{{json .UserID}}}`, `{{.Nope}}`, `{{if}}`, `{{if eq .Protocol "ws"}}{{.Secret}}{{end}}`} {
		_, err := ParseBodyTemplate("t", bad)
		if err == nil || !errors.Is(err, usage.ErrUsage) || strings.Contains(err.Error(), "\n") {
			t.Errorf("template %q: err = %v, want one usage line", bad, err)
		}
	}
	raw := template.Must(template.New("raw").Parse(`{"user_id":"{{.UserID}}"}`))
	if _, err := NewAttacker(srv.URL, WithBodyTemplate(raw)); err == nil || !errors.Is(err, usage.ErrUsage) {
		t.Errorf("NewAttacker with a secret-less template: err = %v", err)
	}
}

func TestHeaderParsingAndValidation(t *testing.T) {
	t.Parallel()
	env := func(k string) (string, bool) {
		v, ok := map[string]string{"TOKEN": "s3cr3t", "EMPTY": ""}[k]
		return v, ok
	}
	h := http.Header{}
	for _, line := range []string{"Authorization: Bearer ${TOKEN}", "cookie:a=1; b=$2", "X-Empty:"} {
		if err := ParseHeader(h, line, env); err != nil {
			t.Fatalf("ParseHeader(%q): %v", line, err)
		}
	}
	if h.Get("Authorization") != "Bearer s3cr3t" || h.Get("Cookie") != "a=1; b=$2" || len(h["X-Empty"]) != 1 {
		t.Errorf("parsed %v", h)
	}
	for _, line := range []string{"no colon", ": v", "Bad Name: v", "X: ${MISSING}", "X: ${EMPTY}", "X: ${TOKEN", "X: a\x01b"} {
		err := ParseHeader(http.Header{}, line, env)
		if err == nil || !errors.Is(err, usage.ErrUsage) || strings.Contains(err.Error(), "s3cr3t") {
			t.Errorf("ParseHeader(%q) = %v, want a usage error without the value", line, err)
		}
	}
	for _, bad := range []http.Header{{"Content-Length": {"1"}}, {"Host": {"x"}}, {"Sec-WebSocket-Key": {"x"}}, {"X": {"a\nb"}}, {"Bad Name": {"v"}}} {
		if _, err := NewAttacker("http://127.0.0.1:1", WithHeader(bad)); !errors.Is(err, usage.ErrUsage) {
			t.Errorf("WithHeader(%v): err = %v", bad, err)
		}
	}
	if _, err := NewAttacker("http://127.0.0.1:1", WithWSPing(-time.Second)); !errors.Is(err, usage.ErrUsage) {
		t.Errorf("negative ping: %v", err)
	}
}
