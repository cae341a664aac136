package load

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http/httputil"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// rawClient is a minimal HTTP/1.1 keep-alive client for one endpoint: each
// request is one pre-built byte slice written with one syscall, and the
// response is parsed from a per-connection bufio.Reader by the calling
// goroutine. net/http's client hands every request to two more goroutines
// (read and write loops) through channels; on a loopback target that
// overhead, not the target, limits a generator. It supports Content-Length,
// chunked and close-delimited bodies, keep-alive and Connection: close,
// TLS (https), per-request deadlines and an abort that unblocks every
// request in flight.
type rawClient struct {
	addr    string // host:port
	tlsConf *tls.Config
	dialer  net.Dialer

	mu      sync.Mutex
	idle    []*rawConn
	active  map[*rawConn]struct{}
	aborted atomic.Bool
}

type rawConn struct {
	c  net.Conn
	br *bufio.Reader
}

// errAborted is returned by requests cut by abort.
var errAborted = errors.New("canceled")

func newRawClient(u *url.URL) *rawClient {
	addr := u.Host
	if u.Port() == "" {
		port := "80"
		if u.Scheme == "https" {
			port = "443"
		}
		addr = net.JoinHostPort(u.Hostname(), port)
	}
	rc := &rawClient{addr: addr, dialer: net.Dialer{Timeout: ReachTimeout, KeepAlive: 30 * time.Second}, active: map[*rawConn]struct{}{}}
	if u.Scheme == "https" {
		rc.tlsConf = &tls.Config{ServerName: u.Hostname(), NextProtos: []string{"http/1.1"}}
	}
	return rc
}

// buildRequest returns the bytes of a POST of body to path.
func buildRequest(u *url.URL, path string, body []byte) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "POST %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: loadbench\r\nContent-Type: application/json\r\nAccept: application/json\r\nContent-Length: %d\r\n\r\n",
		path, u.Host, len(body))
	b.Write(body)
	return b.Bytes()
}

func (rc *rawClient) get(deadline time.Time) (*rawConn, bool, error) {
	rc.mu.Lock()
	if n := len(rc.idle); n > 0 {
		c := rc.idle[n-1]
		rc.idle = rc.idle[:n-1]
		rc.active[c] = struct{}{}
		rc.mu.Unlock()
		return c, true, nil
	}
	rc.mu.Unlock()
	d := rc.dialer
	d.Deadline = deadline
	nc, err := d.Dial("tcp", rc.addr)
	if err != nil {
		return nil, false, err
	}
	if rc.tlsConf != nil {
		tc := tls.Client(nc, rc.tlsConf)
		tc.SetDeadline(deadline)
		if err := tc.Handshake(); err != nil {
			nc.Close()
			return nil, false, err
		}
		nc = tc
	}
	c := &rawConn{c: nc, br: bufio.NewReaderSize(nc, 4096)}
	rc.mu.Lock()
	if rc.aborted.Load() {
		rc.mu.Unlock()
		nc.Close()
		return nil, false, errAborted
	}
	rc.active[c] = struct{}{}
	rc.mu.Unlock()
	return c, false, nil
}

// release returns c to the idle list (keep) or closes it.
func (rc *rawClient) release(c *rawConn, keep bool) {
	rc.mu.Lock()
	delete(rc.active, c)
	if keep && !rc.aborted.Load() {
		rc.idle = append(rc.idle, c)
		rc.mu.Unlock()
		return
	}
	rc.mu.Unlock()
	c.c.Close()
}

// abort fails every request in flight and every later one.
func (rc *rawClient) abort() {
	rc.mu.Lock()
	rc.aborted.Store(true)
	for c := range rc.active {
		c.c.SetDeadline(time.Unix(1, 0))
	}
	for _, c := range rc.idle {
		c.c.Close()
	}
	rc.idle = nil
	rc.mu.Unlock()
}

// closeIdle closes the idle connections.
func (rc *rawClient) closeIdle() {
	rc.mu.Lock()
	idle := rc.idle
	rc.idle = nil
	rc.mu.Unlock()
	for _, c := range idle {
		c.c.Close()
	}
}

// do sends req and reads the response body into buf (at most MaxBody+1
// bytes). It returns the status code. A request on a reused connection that
// the server had closed is retried once on a new one.
func (rc *rawClient) do(req []byte, deadline time.Time, buf *bytes.Buffer) (int, error) {
	for attempt := 0; ; attempt++ {
		if rc.aborted.Load() {
			return 0, errAborted
		}
		c, reused, err := rc.get(deadline)
		if err != nil {
			return 0, err
		}
		c.c.SetDeadline(deadline)
		code, keep, started, err := c.roundTrip(req, buf)
		rc.release(c, err == nil && keep)
		if err != nil && rc.aborted.Load() {
			return 0, errAborted
		}
		if err != nil && reused && !started && attempt == 0 && retryable(err) {
			buf.Reset()
			continue
		}
		return code, err
	}
}

func retryable(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

// roundTrip writes req and reads one response. started reports whether any
// byte of a response arrived.
func (c *rawConn) roundTrip(req []byte, buf *bytes.Buffer) (code int, keep, started bool, err error) {
	if _, err = c.c.Write(req); err != nil {
		return 0, false, false, err
	}
	line, err := c.br.ReadSlice('\n')
	if err != nil {
		return 0, false, len(line) > 0, err
	}
	started = true
	// HTTP/1.1 200 OK
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) || line[8] != ' ' {
		return 0, false, true, errors.New("malformed http response")
	}
	code, err = strconv.Atoi(string(line[9:12]))
	if err != nil {
		return 0, false, true, errors.New("malformed http response")
	}
	keep = line[7] == '1'
	length, chunked := int64(-1), false
	for {
		h, err := c.br.ReadSlice('\n')
		if err != nil {
			return code, false, true, err
		}
		h = bytes.TrimRight(h, "\r\n")
		if len(h) == 0 {
			break
		}
		k, v, ok := bytes.Cut(h, []byte(":"))
		if !ok {
			continue
		}
		v = bytes.TrimSpace(v)
		switch {
		case asciiEqualFold(k, "content-length"):
			n, perr := strconv.ParseInt(string(v), 10, 64)
			if perr != nil || n < 0 {
				return code, false, true, errors.New("malformed http response")
			}
			length = n
		case asciiEqualFold(k, "transfer-encoding"):
			chunked = asciiEqualFold(v, "chunked")
		case asciiEqualFold(k, "connection"):
			if asciiEqualFold(v, "close") {
				keep = false
			} else if asciiEqualFold(v, "keep-alive") {
				keep = true
			}
		}
	}
	switch {
	case code == 204 || code == 304 || (code >= 100 && code < 200):
		return code, keep, true, nil
	case chunked:
		_, err = buf.ReadFrom(io.LimitReader(httputil.NewChunkedReader(c.br), MaxBody+1))
		if err == nil && buf.Len() <= MaxBody {
			// Trailers, then the blank line that ends the message.
			for {
				t, terr := c.br.ReadSlice('\n')
				if terr != nil {
					return code, false, true, terr
				}
				if len(bytes.TrimRight(t, "\r\n")) == 0 {
					break
				}
			}
		} else {
			keep = false
		}
	case length >= 0:
		if length > MaxBody {
			keep = false
			length = MaxBody + 1
		}
		buf.Grow(int(length))
		_, err = io.CopyN(buf, c.br, length)
	default:
		keep = false
		_, err = buf.ReadFrom(io.LimitReader(c.br, MaxBody+1))
	}
	return code, keep, true, err
}

func asciiEqualFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range len(s) {
		c := b[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != s[i] {
			return false
		}
	}
	return true
}
