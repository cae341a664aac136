package load

import (
	"bytes"
	"crypto/x509"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/loadbench/loadbench/results"
)

// The HTTP engine's own client must cope with every way a Go (or other)
// server may frame a response.
func TestHTTPFraming(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end: ~4 s of load over four framings; run without -short")
	}
	cases := []struct {
		name string
		wrap func(h http.Handler) http.Handler
		idle time.Duration // server idle timeout: keep-alive connections closed under the client
	}{
		{"content-length", func(h http.Handler) http.Handler { return h }, 0},
		{"chunked", func(h http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				h.ServeHTTP(flushFirst{w}, r)
			})
		}, 0},
		{"connection close", func(h http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Connection", "close")
				h.ServeHTTP(w, r)
			})
		}, 0},
		{"idle connections closed", func(h http.Handler) http.Handler { return h }, 30 * time.Millisecond},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFake()
			srv := httptest.NewUnstartedServer(c.wrap(f.handler()))
			srv.Config.IdleTimeout = c.idle
			srv.Start()
			t.Cleanup(srv.Close)
			seg := runAttack(t, mustAttack(t, srv.URL, WithHTTPRate(10), WithWSRate(0), WithUsers(2), WithDuration(time.Second)))
			p := seg.Protocols[results.HTTP]
			if p.Requests != 10 || p.Success != 10 {
				t.Errorf("requests %d success %d errors %v", p.Requests, p.Success, p.Errors)
			}
		})
	}
}

func TestHTTPStatusErrors(t *testing.T) {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1)%2 == 0 {
			http.Error(w, `{"error":"boom"}`, http.StatusInternalServerError)
			return
		}
		w.Write([]byte(`{"run_id": "r", "user_id": 1}`)) // not the contract
	}))
	t.Cleanup(srv.Close)
	seg := runAttack(t, mustAttack(t, srv.URL, WithHTTPRate(20), WithWSRate(0), WithUsers(2), WithDuration(500*time.Millisecond)))
	p := seg.Protocols[results.HTTP]
	if p.Errors["http 500"] != 5 || p.Errors["http: response has foreign ids"] != 5 || p.Success != 0 {
		t.Errorf("errors = %v", p.Errors)
	}
}

func TestRawClientTLSAndAbort(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Content-Length") == "" || r.Host == "" {
			http.Error(w, "bad request framing", http.StatusBadRequest)
			return
		}
		if strings.HasSuffix(r.URL.Path, "/stall") {
			<-release
		}
		w.Write([]byte("hello"))
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) })
	u, _ := url.Parse(srv.URL)
	rc := newRawClient(u, &transport{}, nil)
	pool := x509.NewCertPool()
	pool.AddCert(srv.Certificate())
	rc.tlsConf.RootCAs = pool
	var buf bytes.Buffer
	code, err := rc.do(buildRequest(u, "/ok", []byte("{}"), nil, nil), time.Now().Add(5*time.Second), &buf)
	if err != nil || code != 200 || buf.String() != "hello" {
		t.Fatalf("do = %d %q %v", code, buf.String(), err)
	}
	done := make(chan error, 1)
	go func() {
		var b bytes.Buffer
		_, err := rc.do(buildRequest(u, "/stall", []byte("{}"), nil, nil), time.Now().Add(time.Minute), &b)
		done <- err
	}()
	time.Sleep(100 * time.Millisecond)
	rc.abort()
	select {
	case err := <-done:
		if !errors.Is(err, errAborted) || classify(err) != "canceled" {
			t.Errorf("aborted request err = %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("abort did not unblock the request")
	}
	// A deadline in the past is a timeout.
	rc2 := newRawClient(u, &transport{}, nil)
	rc2.tlsConf.RootCAs = pool
	if _, err := rc2.do(buildRequest(u, "/stall", nil, nil, nil), time.Now().Add(200*time.Millisecond), &buf); classify(err) != "timeout" {
		t.Errorf("deadline err = %v (%s)", err, classify(err))
	}
}

func TestDecoders(t *testing.T) {
	t.Parallel()
	body := []byte(`{ "run_id":"r1","user_id":"u\"1","thread_id":"t1","factory_id":"f",
		"events":[{"type":"agent_started","run_id":"r1","user_id":"u\"1","thread_id":"t1","timestamp":"2026-01-02T03:04:05.123Z","data":{"factory_id":"f","n":[1,2,{"x":"]}"}]}},
		{"type":"agent_thinking","data":{"context":["a","b"]},"timestamp":"2026-01-02T03:04:05+01:00","extra":null}],
		"result":{"ok":true,"n":-1.5e3}}`)
	var r runResponse
	if !decodeRun(body, &r) {
		t.Fatal("decodeRun failed on valid JSON")
	}
	if string(r.RunID) != "r1" || string(r.UserID) != `u"1` || string(r.FactoryID) != "f" || r.N != 2 {
		t.Errorf("decoded %q %q %q %d", r.RunID, r.UserID, r.FactoryID, r.N)
	}
	if string(r.Events[1].Type) != "agent_thinking" || !validTimestamp(r.Events[0].Timestamp) || !validTimestamp(r.Events[1].Timestamp) {
		t.Errorf("events: %q %q %q", r.Events[1].Type, r.Events[0].Timestamp, r.Events[1].Timestamp)
	}
	if factoryOf(&r.Events[0]) != "f" {
		t.Errorf("factoryOf = %q", factoryOf(&r.Events[0]))
	}
	for _, bad := range []string{``, `{`, `[]`, `{"a":}`, `{"a":1,}`, `{"a" 1}`, `{"a":"x}`, `{"events":{}}`, `{"a":1} x`, `{"events":[1,]}`} {
		var r runResponse
		if decodeRun([]byte(bad), &r) {
			t.Errorf("decodeRun(%q) accepted malformed JSON", bad)
		}
	}
	for _, ts := range []string{"2026-01-02", "2026-01-02T03:04:05", "2026-01-02T03:04:05.Z", "yesterday", "2026-01-02T03:04:05+0100"} {
		if validTimestamp([]byte(ts)) {
			t.Errorf("validTimestamp(%q) = true", ts)
		}
	}
}

func TestForeignScan(t *testing.T) {
	t.Parallel()
	p, err := newPool("lb_user_", 3)
	if err != nil {
		t.Fatal(err)
	}
	own := []byte(`{"user_id":"lb_user_00001","thread_id":"lb_user_00001_thread","message":"lbsecret_` + p.secrets[1] + `"}`)
	if f := p.foreign(own, 1); f != "" {
		t.Errorf("own data flagged: %s", f)
	}
	if f := p.foreign([]byte(`"lbsecret_`+p.secrets[2]+`"`), 1); f != "foreign secret of lb_user_00002" {
		t.Errorf("foreign secret: %q", f)
	}
	if f := p.foreign([]byte(`"lbsecret_0123456789abcdef"`), 1); f != "foreign secret of an unknown user" {
		t.Errorf("unknown secret: %q", f)
	}
	if f := p.foreign([]byte(`{"user_id":"lb_user_00001","x":"lb_user_00000_thread"}`), 1); f != "foreign user id lb_user_00000" {
		t.Errorf("foreign id: %q", f)
	}
	if f := p.foreign([]byte(`lb_user_ lbsecret_xyz`), 1); f != "" {
		t.Errorf("bare prefixes flagged: %q", f)
	}
}

// flushFirst sends the headers before the first body write, so the body
// goes out chunked.
type flushFirst struct{ http.ResponseWriter }

func (f flushFirst) Write(b []byte) (int, error) {
	f.ResponseWriter.(http.Flusher).Flush()
	return f.ResponseWriter.Write(b)
}
