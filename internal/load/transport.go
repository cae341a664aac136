package load

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"text/template"
	"time"

	"golang.org/x/net/http/httpguts"
	"golang.org/x/net/http/httpproxy"

	"github.com/loadbench/loadbench/internal/usage"
)

// DefaultWSPing is how often a quiet WebSocket connection is pinged, so that
// a load balancer's idle timeout does not drop it.
const DefaultWSPing = 20 * time.Second

// ProxyFunc picks the proxy for a request URL (nil: connect directly), as
// http.Transport.Proxy does.
type ProxyFunc func(*url.URL) (*url.URL, error)

// transport is how an Attacker reaches the target: identity (headers, client
// certificate), TLS trust, proxy, WebSocket subprotocol and keep-alive ping,
// and the shape of the chat message.
type transport struct {
	header        http.Header
	tlsConf       *tls.Config
	proxy         ProxyFunc
	wsSubprotocol string
	wsPing        time.Duration
	body          *template.Template
	envProxy      bool // proxy is the environment's
}

func defaultTransport() transport {
	return transport{proxy: httpproxy.FromEnvironment().ProxyFunc(), envProxy: true, wsPing: DefaultWSPing}
}

// checkProxyEnv refuses a proxy variable that does not parse (net/http
// would silently connect directly instead).
func checkProxyEnv() error {
	for _, k := range []string{"HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy"} {
		v := os.Getenv(k)
		if v == "" {
			continue
		}
		u, err := url.Parse(v)
		if err != nil || u.Scheme == "" || u.Host == "" {
			u, err = url.Parse("http://" + v)
		}
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" {
			return usage.Errorf("attack: proxy url in %s does not parse: want http://host:port or https://host:port", k)
		}
	}
	return nil
}

// WithHeader sets headers sent on every HTTP request and on the WebSocket
// handshake (a bearer token, a cookie, ...). Their values are secrets: the
// engine never writes them anywhere. Framing headers (Host, Content-Length,
// Transfer-Encoding, Connection, Upgrade, Sec-WebSocket-*) are refused.
func WithHeader(h http.Header) Option {
	return func(a *Attacker) { a.transport.header = h.Clone() }
}

// WithTLSConfig sets the TLS configuration of https and wss connections
// (private CA, client certificate, InsecureSkipVerify); see TLSConfig. The
// server name is filled in from the target URL when empty.
func WithTLSConfig(c *tls.Config) Option {
	return func(a *Attacker) {
		if c != nil {
			c = c.Clone()
		}
		a.transport.tlsConf = c
	}
}

// WithProxy sets the proxy chooser of both protocols. The default reads the
// environment when the Attacker is built, as http.ProxyFromEnvironment does
// (HTTPS_PROXY, HTTP_PROXY, NO_PROXY and their lower-case forms; never for
// localhost or loopback targets); nil connects directly. Plain HTTP goes through the proxy
// in absolute form, https and WebSocket through a CONNECT tunnel.
func WithProxy(f ProxyFunc) Option {
	return func(a *Attacker) { a.transport.proxy, a.transport.envProxy = f, false }
}

// WithWSSubprotocol asks for a WebSocket subprotocol in the handshake.
func WithWSSubprotocol(p string) Option { return func(a *Attacker) { a.transport.wsSubprotocol = p } }

// WithWSPing sets how long a WebSocket connection may stay quiet before the
// client pings it (DefaultWSPing; 0 disables pings).
func WithWSPing(d time.Duration) Option { return func(a *Attacker) { a.transport.wsPing = d } }

// WithBodyTemplate sets the chat message: the template is executed with a
// Chat for every HTTP body and every WebSocket chat message. The default is
// the agents contract's message. The template's output must carry the
// user's secret (Chat.Secret or Chat.Message), or isolation could not be
// checked: NewAttacker refuses it otherwise.
func WithBodyTemplate(t *template.Template) Option { return func(a *Attacker) { a.transport.body = t } }

// TLSConfig builds a TLS configuration for WithTLSConfig: caFile (PEM, may
// be empty) is trusted in place of the system roots, certFile and keyFile (both or neither) are the client certificate, and
// insecure skips verification of the server's certificate. Every error is
// one line and wraps usage.ErrUsage.
func TLSConfig(caFile, certFile, keyFile string, insecure bool) (*tls.Config, error) {
	c := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: insecure} //nolint:gosec // insecure is the user's explicit choice
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, usage.Errorf("tls: read ca file: %v", errors.Unwrap(err))
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, usage.Errorf("tls: ca file %s holds no PEM certificate", caFile)
		}
		c.RootCAs = pool
	}
	switch {
	case certFile == "" && keyFile == "":
	case certFile == "" || keyFile == "":
		return nil, usage.Errorf("tls: a client certificate needs both a certificate and a key file")
	default:
		cert, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			return nil, usage.Errorf("tls: load client certificate %s: %s", certFile, firstLine(err.Error()))
		}
		c.Certificates = []tls.Certificate{cert}
	}
	return c, nil
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// refusedHeaders frame the request or the handshake: the engine writes them.
var refusedHeaders = []string{"Host", "Content-Length", "Transfer-Encoding", "Connection", "Upgrade", "Te", "Trailer", "Keep-Alive"}

// validate checks the transport options against the target u.
func (t *transport) validate(u *url.URL) error {
	for name, vs := range t.header {
		if !httpguts.ValidHeaderFieldName(name) {
			return usage.Errorf("attack: header name %q is not a valid HTTP token", name)
		}
		canon := http.CanonicalHeaderKey(name)
		for _, r := range refusedHeaders {
			if canon == r {
				return usage.Errorf("attack: header %s is set by the engine and cannot be given", canon)
			}
		}
		if strings.HasPrefix(canon, "Sec-Websocket-") {
			return usage.Errorf("attack: header %s is set by the engine and cannot be given", canon)
		}
		for _, v := range vs {
			if !httpguts.ValidHeaderFieldValue(v) {
				// Never echo the value: it is likely a secret.
				return usage.Errorf("attack: header %s has a value with control characters", canon)
			}
		}
	}
	if canon := http.CanonicalHeaderKey(t.wsSubprotocol); t.wsSubprotocol != "" && !httpguts.ValidHeaderFieldName(canon) {
		return usage.Errorf("attack: ws subprotocol %q is not a valid token", t.wsSubprotocol)
	}
	if t.wsPing < 0 {
		return usage.Errorf("attack: ws ping interval must not be negative, got %s", t.wsPing)
	}
	if t.envProxy {
		if err := checkProxyEnv(); err != nil {
			return err
		}
	}
	if t.proxy != nil {
		if _, err := t.proxyFor(u); err != nil {
			return usage.Errorf("%v", err)
		}
	}
	if t.body != nil {
		if err := checkBodyTemplate(t.body); err != nil {
			return usage.Errorf("attack: %v", err)
		}
	}
	return nil
}

// proxyFor returns the proxy of requests to u, nil for none.
func (t *transport) proxyFor(u *url.URL) (*url.URL, error) {
	if t.proxy == nil {
		return nil, nil
	}
	p, err := t.proxy(u)
	if err != nil {
		return nil, fmt.Errorf("attack: proxy for %s: %s", u.Redacted(), firstLine(err.Error()))
	}
	if p == nil {
		return nil, nil
	}
	if (p.Scheme != "http" && p.Scheme != "https") || p.Hostname() == "" {
		return nil, fmt.Errorf("attack: proxy url %s: want http://host:port or https://host:port", p.Redacted())
	}
	return p, nil
}

// tlsFor returns the TLS configuration of connections to host.
func (t *transport) tlsFor(host string) *tls.Config {
	c := &tls.Config{}
	if t.tlsConf != nil {
		c = t.tlsConf.Clone()
	}
	if c.ServerName == "" {
		c.ServerName = host
	}
	return c
}

// ExpandHeader expands ${NAME} in a header value from the environment
// (getenv), so that a token never has to stand in argv. Only the braced form
// is expanded; a "$" not followed by "{" is kept. An unset or empty variable
// is an error naming the variable (never the value).
func ExpandHeader(v string, getenv func(string) (string, bool)) (string, error) {
	if !strings.Contains(v, "${") {
		return v, nil
	}
	var b strings.Builder
	for {
		i := strings.Index(v, "${")
		if i < 0 {
			b.WriteString(v)
			return b.String(), nil
		}
		b.WriteString(v[:i])
		j := strings.IndexByte(v[i:], '}')
		if j < 0 {
			return "", usage.Errorf("header: unterminated ${ in a value")
		}
		name := v[i+2 : i+j]
		if name == "" || strings.ContainsAny(name, " \t$") {
			return "", usage.Errorf("header: bad variable name %q", name)
		}
		val, ok := getenv(name)
		if !ok || val == "" {
			return "", usage.Errorf("header: environment variable %s is unset or empty", name)
		}
		b.WriteString(val)
		v = v[i+j+1:]
	}
}

// ParseHeader parses one "Name: value" header (${VAR} expanded with
// getenv) and adds it to h. Errors never carry the value.
func ParseHeader(h http.Header, line string, getenv func(string) (string, bool)) error {
	name, val, ok := strings.Cut(line, ":")
	name = strings.TrimSpace(name)
	if !ok || name == "" {
		return usage.Errorf(`header: want "Name: value", got no colon or no name`)
	}
	if !httpguts.ValidHeaderFieldName(name) {
		return usage.Errorf("header: name %q is not a valid HTTP token", name)
	}
	v, err := ExpandHeader(strings.TrimSpace(val), getenv)
	if err != nil {
		return err
	}
	if !httpguts.ValidHeaderFieldValue(v) {
		return usage.Errorf("header: %s has a value with control characters", http.CanonicalHeaderKey(name))
	}
	h.Add(name, v)
	return nil
}

// HTTPClient returns a net/http client that reaches the attacker's target as
// the attack does: same headers, TLS settings and proxy. It is for the
// side requests of a run (metrics scrapes, forced GC), not for the load.
func (a *Attacker) HTTPClient(timeout time.Duration) *http.Client {
	tr := wsHTTPClient(a).Transport.(*http.Transport).Clone()
	if p := a.transport.proxy; p != nil {
		tr.DialContext = (&net.Dialer{Timeout: ReachTimeout, KeepAlive: 30 * time.Second}).DialContext
		tr.Proxy = func(r *http.Request) (*url.URL, error) { return p(r.URL) }
	}
	return &http.Client{Timeout: timeout, Transport: headerTransport{h: a.transport.header, rt: tr}}
}

// headerTransport adds the user's headers to every request.
type headerTransport struct {
	h  http.Header
	rt http.RoundTripper
}

func (t headerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if len(t.h) > 0 {
		r = r.Clone(r.Context())
		for k, vs := range t.h {
			r.Header[k] = append([]string(nil), vs...)
		}
	}
	return t.rt.RoundTrip(r)
}
