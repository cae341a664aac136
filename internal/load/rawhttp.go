package load

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"slices"
	"strconv"
	"strings"
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
	addr    string      // host:port dialled: the target's, or the proxy's
	tlsConf *tls.Config // the target's TLS; nil for http
	dialer  net.Dialer
	// Through a proxy: proxyTLS is the TLS to an https proxy (nil for an
	// http one); connect is the CONNECT request of an https target (nil for
	// http, sent in absolute form instead).
	proxyTLS *tls.Config
	connect  []byte

	mu      sync.Mutex
	idle    []*rawConn
	active  map[*rawConn]struct{}
	aborted atomic.Bool
}

type rawConn struct {
	c       net.Conn
	br      *bufio.Reader
	scratch []byte // a header line longer than br's buffer, reassembled
}

// errAborted is returned by requests cut by abort.
var errAborted = errors.New("canceled")

// MaxHeaderLine bounds one line of a response's header (status line,
// header field or chunk trailer).
const MaxHeaderLine = 64 << 10

// max1xx bounds the informational answers (103 Early Hints, 100 Continue)
// skipped before the real one.
const max1xx = 16

func hostPort(u *url.URL) string {
	if u.Port() != "" {
		return u.Host
	}
	port := "80"
	if u.Scheme == "https" {
		port = "443"
	}
	return net.JoinHostPort(u.Hostname(), port)
}

// newRawClient returns a client of the endpoint u, through proxy when not
// nil, with the transport's TLS settings.
func newRawClient(u *url.URL, t *transport, proxy *url.URL) *rawClient {
	rc := &rawClient{addr: hostPort(u), dialer: net.Dialer{Timeout: ReachTimeout, KeepAlive: 30 * time.Second}, active: map[*rawConn]struct{}{}}
	if u.Scheme == "https" {
		rc.tlsConf = t.tlsFor(u.Hostname())
		rc.tlsConf.NextProtos = []string{"http/1.1"}
	}
	if proxy != nil {
		rc.addr = hostPort(proxy)
		if proxy.Scheme == "https" {
			rc.proxyTLS = t.tlsFor(proxy.Hostname())
			rc.proxyTLS.NextProtos = []string{"http/1.1"}
		}
		if u.Scheme == "https" {
			var b bytes.Buffer
			fmt.Fprintf(&b, "CONNECT %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: loadbench\r\n", hostPort(u), hostPort(u))
			writeProxyAuth(&b, proxy)
			b.WriteString("\r\n")
			rc.connect = b.Bytes()
		}
	}
	return rc
}

// writeProxyAuth writes the Proxy-Authorization of a proxy URL with
// credentials.
func writeProxyAuth(b *bytes.Buffer, proxy *url.URL) {
	if proxy == nil || proxy.User == nil {
		return
	}
	pw, _ := proxy.User.Password()
	b.WriteString("Proxy-Authorization: Basic ")
	b.WriteString(base64.StdEncoding.EncodeToString([]byte(proxy.User.Username() + ":" + pw)))
	b.WriteString("\r\n")
}

// buildRequest returns the bytes of a POST of body to path, with the user's
// headers. Through a proxy (http targets), the request line carries the
// absolute URL.
func buildRequest(u *url.URL, path string, body []byte, header http.Header, proxy *url.URL) []byte {
	var b bytes.Buffer
	target := path
	if proxy != nil && u.Scheme == "http" {
		target = "http://" + u.Host + path
	}
	fmt.Fprintf(&b, "POST %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: loadbench\r\nContent-Type: application/json\r\nAccept: application/json\r\nContent-Length: %d\r\n",
		target, u.Host, len(body))
	for _, k := range slices.Sorted(maps.Keys(header)) {
		for _, v := range header[k] {
			b.WriteString(k)
			b.WriteString(": ")
			b.WriteString(v)
			b.WriteString("\r\n")
		}
	}
	if u.Scheme == "http" {
		writeProxyAuth(&b, proxy)
	}
	b.WriteString("\r\n")
	b.Write(body)
	return b.Bytes()
}

// get returns an idle connection (reused) or dials a new one; fresh skips
// the idle ones.
func (rc *rawClient) get(deadline time.Time, fresh bool) (*rawConn, bool, error) {
	rc.mu.Lock()
	if n := len(rc.idle); n > 0 && !fresh {
		c := rc.idle[n-1]
		rc.idle = rc.idle[:n-1]
		rc.active[c] = struct{}{}
		rc.mu.Unlock()
		return c, true, nil
	}
	rc.mu.Unlock()
	c, err := rc.dial(deadline)
	if err != nil {
		return nil, false, err
	}
	rc.mu.Lock()
	if rc.aborted.Load() {
		rc.mu.Unlock()
		c.c.Close()
		return nil, false, errAborted
	}
	rc.active[c] = struct{}{}
	rc.mu.Unlock()
	return c, false, nil
}

// dial opens a connection to the target: TCP, through the proxy when set
// (TLS to an https proxy, CONNECT for an https target), then TLS.
func (rc *rawClient) dial(deadline time.Time) (*rawConn, error) {
	d := rc.dialer
	d.Deadline = deadline
	nc, err := d.Dial("tcp", rc.addr)
	if err != nil {
		return nil, err
	}
	nc.SetDeadline(deadline)
	if rc.proxyTLS != nil {
		if nc, err = handshake(nc, rc.proxyTLS, "proxy tls"); err != nil {
			return nil, err
		}
	}
	c := &rawConn{c: nc}
	if rc.connect != nil {
		c.br = bufio.NewReaderSize(nc, 4096)
		if err := c.tunnel(rc.connect); err != nil {
			nc.Close()
			return nil, err
		}
	}
	if rc.tlsConf != nil {
		if nc, err = handshake(nc, rc.tlsConf, "tls"); err != nil {
			return nil, err
		}
		c.c = nc
	}
	c.br = bufio.NewReaderSize(c.c, 4096)
	return c, nil
}

// handshake runs a TLS client handshake over nc. Its errors (other than
// timeouts) are one short line starting with what ("tls: ..."), the error
// class of the chat.
func handshake(nc net.Conn, conf *tls.Config, what string) (net.Conn, error) {
	tc := tls.Client(nc, conf)
	if err := tc.Handshake(); err != nil {
		nc.Close()
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() || retryable(err) {
			return nil, err
		}
		msg := err.Error()
		var cv *tls.CertificateVerificationError
		if errors.As(err, &cv) {
			msg = cv.Err.Error()
		}
		msg = strings.TrimPrefix(strings.TrimPrefix(msg, "tls: "), "x509: ")
		return nil, errors.New(what + ": " + msg)
	}
	return tc, nil
}

// tunnel asks the proxy for a CONNECT tunnel and reads its answer.
func (c *rawConn) tunnel(req []byte) error {
	if _, err := c.c.Write(req); err != nil {
		return err
	}
	for range max1xx {
		line, err := c.readLine()
		if err != nil {
			return err
		}
		if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) || line[8] != ' ' {
			return errors.New("proxy: malformed connect response")
		}
		code, err := strconv.Atoi(string(line[9:12]))
		if err != nil {
			return errors.New("proxy: malformed connect response")
		}
		for {
			h, err := c.readLine()
			if err != nil {
				return err
			}
			if len(bytes.TrimRight(h, "\r\n")) == 0 {
				break
			}
		}
		switch {
		case code >= 100 && code < 200:
			continue
		case code < 300:
			if c.br.Buffered() > 0 {
				return errors.New("proxy: data after the connect response")
			}
			return nil
		default:
			return errors.New("proxy: connect: http " + strconv.Itoa(code))
		}
	}
	return errors.New("proxy: too many informational answers")
}

// readLine reads one line ending in \n, of at most MaxHeaderLine bytes. The
// line is valid until the next read.
func (c *rawConn) readLine() ([]byte, error) {
	line, err := c.br.ReadSlice('\n')
	if err != bufio.ErrBufferFull {
		return line, err
	}
	acc := append(c.scratch[:0], line...)
	for err == bufio.ErrBufferFull {
		line, err = c.br.ReadSlice('\n')
		acc = append(acc, line...)
		if len(acc) > MaxHeaderLine {
			return nil, errors.New("http: header line over 64 KiB")
		}
	}
	if cap(acc) <= MaxHeaderLine+4096 {
		c.scratch = acc
	}
	return acc, err
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
// the server had closed while it was idle (the write or the read failed
// before any byte of an answer arrived) is retried once, on a newly dialled
// connection; a request whose answer had begun is never sent again.
func (rc *rawClient) do(req []byte, deadline time.Time, buf *bytes.Buffer) (int, error) {
	for attempt := 0; ; attempt++ {
		if rc.aborted.Load() {
			return 0, errAborted
		}
		// A retry dials: the other idle connections may be as stale.
		c, reused, err := rc.get(deadline, attempt > 0)
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

// roundTrip writes req and reads one response, skipping informational
// (1xx) answers. started reports whether any byte of a response arrived.
func (c *rawConn) roundTrip(req []byte, buf *bytes.Buffer) (code int, keep, started bool, err error) {
	if _, err = c.c.Write(req); err != nil {
		return 0, false, false, err
	}
	var (
		length  int64
		chunked bool
	)
	for n := 0; ; n++ {
		line, err := c.readLine()
		if err != nil {
			return 0, false, started || len(line) > 0, err
		}
		started = true
		// HTTP/1.1 200 OK
		if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) || line[8] != ' ' {
			return 0, false, true, errors.New("malformed http response")
		}
		code, err = strconv.Atoi(string(line[9:12]))
		if err != nil || code < 100 {
			return 0, false, true, errors.New("malformed http response")
		}
		keep = line[7] == '1'
		length, chunked = -1, false
		for {
			h, err := c.readLine()
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
				// The last coding decides: "gzip, chunked" is chunked.
				last := v
				if i := bytes.LastIndexByte(v, ','); i >= 0 {
					last = bytes.TrimSpace(v[i+1:])
				}
				chunked = asciiEqualFold(last, "chunked")
				if !chunked {
					length = -2 // close-delimited, whatever Content-Length says
				}
			case asciiEqualFold(k, "connection"):
				for tok := range bytes.SplitSeq(v, []byte(",")) {
					tok = bytes.TrimSpace(tok)
					if asciiEqualFold(tok, "close") {
						keep = false
						break
					}
					if asciiEqualFold(tok, "keep-alive") {
						keep = true
					}
				}
			}
		}
		if code >= 200 || code == 101 {
			break
		}
		// 100 Continue, 103 Early Hints, ...: the real answer follows.
		if n >= max1xx {
			return code, false, true, errors.New("http: too many informational answers")
		}
	}
	switch {
	case code == 101:
		return code, false, true, errors.New("http: unexpected 101 switching protocols")
	case code == 204 || code == 304:
		return code, keep, true, nil
	case chunked:
		_, err = buf.ReadFrom(io.LimitReader(httputil.NewChunkedReader(c.br), MaxBody+1))
		if err == nil && buf.Len() <= MaxBody {
			// Trailers, then the blank line that ends the message.
			for {
				t, terr := c.readLine()
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
