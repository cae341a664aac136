package load

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/url"
	"runtime"
	"strings"
	"time"

	"github.com/loadbench/loadbench/internal/usage"
	"github.com/loadbench/loadbench/results"
)

// Defaults of an Attacker.
const (
	DefaultHTTPPath   = "/api/agents/run"
	DefaultWSPath     = "/api/demo/ws"
	DefaultUsers      = 100
	DefaultTimeout    = 30 * time.Second
	DefaultDuration   = 10 * time.Second
	DefaultRate       = 200.0
	DefaultUserPrefix = "lb_user_"
	// DefaultWorkersPerCPU sets the default worker count of HTTP throughput
	// mode: DefaultWorkersPerCPU × GOMAXPROCS closed-loop workers. Rated mode
	// does not use workers: every scheduled chat is sent on time, in its own
	// goroutine, however many are still in flight.
	DefaultWorkersPerCPU = 8
	// DialConcurrency bounds how many WebSocket connections are dialled at
	// once.
	DialConcurrency = 64
	// ReachTimeout bounds the reachability check that opens every attack.
	ReachTimeout = 5 * time.Second
	// CancelGrace is how long Attack waits for in-flight answers after its
	// context is cancelled before it abandons them.
	CancelGrace = 2 * time.Second
	// ProgressInterval is how often the progress callback is called.
	ProgressInterval = 250 * time.Millisecond
	// MaxBody bounds the size of a response body or WebSocket message read.
	MaxBody = 4 << 20
	// DefaultMaxInFlight bounds the chats in flight at the generator, over
	// both protocols. Every HTTP chat in flight holds a connection (a file
	// descriptor and an ephemeral port); this machine allows 20,000
	// descriptors per process and 28,232 ephemeral ports (32768–60999) per
	// destination. The largest measured run holds 10,000 WebSocket
	// connections (make perf's hold test), so 8,192 chats in flight, plus
	// those connections and the process's own files, stay under the
	// descriptor limit and far under the port range. Past it a chat is not
	// sent and is counted as NotSent (results.ErrInFlightLimit): the
	// generator's limit, never the target's error.
	DefaultMaxInFlight = 8192
	// DefaultMaxSendLag is the p99 send lag (actual − intended send time)
	// above which the generator counts as saturated (Protocol.Saturated):
	// its latencies then measure the generator as much as the target. The
	// default compare's worst p99 here is 1.7 ms, a starved generator's
	// seconds (docs/accounting.md).
	DefaultMaxSendLag = 20 * time.Millisecond
	// DefaultMaxEventGap is the most time allowed between two consecutive
	// events of a chat (the real suite's 100 ms limit); a longer gap is a
	// timing violation (Protocol.TimingViolations). 0 disables the check.
	DefaultMaxEventGap = 100 * time.Millisecond
	// DefaultRedialWithin is the longest a WebSocket redial may take after
	// a dropped connection (the real suite's 3 s); a longer one is a
	// timing violation.
	DefaultRedialWithin = 3 * time.Second

	Max = -1.0 // a rate meaning "as fast as possible" (throughput mode)
)

// ErrUnreachable is wrapped by Attack's error when the target cannot be
// reached.
var ErrUnreachable = errors.New("target unreachable")

// Option configures an Attacker.
type Option func(*Attacker)

// WithHTTPRate sets the HTTP arrival rate in chats per second: 0 disables
// HTTP, Max is throughput mode.
func WithHTTPRate(perSec float64) Option { return func(a *Attacker) { a.httpRate = perSec } }

// WithWSRate sets the WebSocket arrival rate in chats per second (total over
// all users): 0 disables WebSocket, Max is throughput mode.
func WithWSRate(perSec float64) Option { return func(a *Attacker) { a.wsRate = perSec } }

// WithDuration sets how long chats are sent.
func WithDuration(d time.Duration) Option { return func(a *Attacker) { a.duration = d } }

// WithMaxRequests bounds the number of chats sent over all protocols; 0 is
// unbounded (still bounded by the duration).
func WithMaxRequests(n int64) Option { return func(a *Attacker) { a.maxRequests = n } }

// WithUsers sets the number of virtual users (shared by both protocols).
func WithUsers(n int) Option { return func(a *Attacker) { a.users = n } }

// WithUserPrefix sets the user id prefix (default "lb_user_"); ids are the
// prefix and a five-digit number. Give each load machine its own prefix
// when several attack the same target.
func WithUserPrefix(p string) Option { return func(a *Attacker) { a.prefix = p } }

// WithWorkers sets the number of HTTP workers in throughput mode.
func WithWorkers(n int) Option { return func(a *Attacker) { a.workers = n } }

// WithTimeout bounds each chat, from its intended send time.
func WithTimeout(d time.Duration) Option { return func(a *Attacker) { a.timeout = d } }

// WithHTTPPath sets the path of the HTTP endpoint.
func WithHTTPPath(p string) Option { return func(a *Attacker) { a.httpPath = p } }

// WithWSPath sets the path of the WebSocket endpoint.
func WithWSPath(p string) Option { return func(a *Attacker) { a.wsPath = p } }

// WithVegetaFile also writes the HTTP results, in vegeta's binary encoding,
// to path (atomically, when the attack ends).
func WithVegetaFile(path string) Option { return func(a *Attacker) { a.vegetaFile = path } }

// WithMaxInFlight bounds the chats in flight at the generator over both
// protocols (DefaultMaxInFlight); a chat due while n are in flight is not
// sent and counts as NotSent. n must be positive.
func WithMaxInFlight(n int) Option { return func(a *Attacker) { a.maxInFlight = n } }

// WithMaxSendLag sets the p99 send lag above which the generator counts as
// saturated (DefaultMaxSendLag); 0 never flags it.
func WithMaxSendLag(d time.Duration) Option { return func(a *Attacker) { a.maxSendLag = d } }

// WithMaxEventGap sets the longest time allowed between two consecutive
// events of a chat (DefaultMaxEventGap); 0 disables the check.
func WithMaxEventGap(d time.Duration) Option { return func(a *Attacker) { a.maxEventGap = d } }

// WithRedialWithin sets the longest a WebSocket redial may take
// (DefaultRedialWithin); 0 disables the check.
func WithRedialWithin(d time.Duration) Option { return func(a *Attacker) { a.redialWithin = d } }

// WithProgress sets a callback called about four times a second from one
// goroutine while the attack runs, and once at the end.
func WithProgress(f func(Progress)) Option { return func(a *Attacker) { a.progress = f } }

// Progress is a snapshot of a running attack.
type Progress struct {
	Elapsed, Total                 time.Duration
	Sent, Done, Errors, Violations int64
	Rate                           float64 // chats sent per second, recently
}

// Attacker runs one attack. Build it with NewAttacker.
type Attacker struct {
	base              *url.URL
	httpURL, wsURL    string
	httpRate, wsRate  float64
	duration, timeout time.Duration
	maxRequests       int64
	users, workers    int
	prefix            string
	httpPath, wsPath  string
	vegetaFile        string
	progress          func(Progress)
	maxInFlight       int
	maxSendLag        time.Duration
	maxEventGap       time.Duration
	redialWithin      time.Duration
	arrivals          Arrivals
	// beforeSend, when set (tests only), is called by the schedule before
	// each chat is dispatched: a slow one throttles the dispatch.
	beforeSend func()
	transport  transport // transport.go
	httpProxy  *url.URL  // the proxy of HTTP chats; nil: direct
	// Sharding (shard.go): this generator's index among shards, its first
	// user number, and the start gate and how late the start was.
	shard, shards int
	userBase      int
	startGate     func(context.Context) time.Time
	skew          time.Duration
}

// NewAttacker validates baseURL (http:// or https://) and the options. Every
// error wraps usage.ErrUsage.
func NewAttacker(baseURL string, opts ...Option) (*Attacker, error) {
	a := newAttacker(opts)
	if err := a.check(); err != nil {
		return nil, err
	}
	if err := a.checkShard(); err != nil {
		return nil, err
	}
	a.applyShard()
	return a.target(baseURL)
}

// CheckOptions reports the first invalid option as NewAttacker would,
// without a target: for a caller that checks its settings before the
// target exists (a compare that starts its targets).
func CheckOptions(opts ...Option) error { return newAttacker(opts).check() }

// newAttacker is an attacker with the defaults and opts applied.
func newAttacker(opts []Option) *Attacker {
	a := &Attacker{
		httpRate: DefaultRate,
		wsRate:   DefaultRate,
		duration: DefaultDuration,
		timeout:  DefaultTimeout,
		users:    DefaultUsers,
		workers:  DefaultWorkersPerCPU * runtime.GOMAXPROCS(0),
		prefix:   DefaultUserPrefix,
		httpPath: DefaultHTTPPath,
		wsPath:   DefaultWSPath,

		maxInFlight:  DefaultMaxInFlight,
		maxSendLag:   DefaultMaxSendLag,
		maxEventGap:  DefaultMaxEventGap,
		redialWithin: DefaultRedialWithin,
		transport:    defaultTransport(),
	}
	for _, o := range opts {
		o(a)
	}
	return a
}

// target validates baseURL and the transport for it and sets a's URLs.
func (a *Attacker) target(baseURL string) (*Attacker, error) {
	u, err := url.Parse(baseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Hostname() == "" {
		return nil, usage.Errorf("attack: malformed target url %q: want http://host[:port] or https://host[:port]", baseURL)
	}
	if u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return nil, usage.Errorf("attack: malformed target url %q: no query, fragment or credentials allowed", baseURL)
	}
	if p := u.Port(); p != "" {
		if n, perr := parsePort(p); perr != nil || n == 0 {
			return nil, usage.Errorf("attack: malformed target url %q: bad port %q", baseURL, p)
		}
	}
	a.base = u
	root := strings.TrimRight(u.Path, "/")
	hu := *u
	hu.Path = root + a.httpPath
	a.httpURL = hu.String()
	wu := *u
	wu.Scheme = "ws"
	if u.Scheme == "https" {
		wu.Scheme = "wss"
	}
	wu.Path = root + a.wsPath
	a.wsURL = wu.String()
	if err := a.transport.validate(&hu); err != nil {
		return nil, err
	}
	if a.httpProxy, err = a.transport.proxyFor(&hu); err != nil {
		return nil, usage.Errorf("%v", err)
	}
	return a, nil
}

// check reports the first invalid option.
func (a *Attacker) check() error {
	for _, r := range []struct {
		name string
		v    float64
	}{{"http rate", a.httpRate}, {"ws rate", a.wsRate}} {
		if math.IsNaN(r.v) || math.IsInf(r.v, 0) || (r.v < 0 && r.v != Max) {
			return usage.Fieldf("attack", r.name, "must be a non-negative number or max, got %v", r.v)
		}
	}
	switch {
	case a.httpRate == 0 && a.wsRate == 0:
		return usage.Errorf("attack: both rates are 0: nothing to send")
	case a.duration <= 0:
		return usage.Fieldf("attack", "duration", "must be positive, got %s", a.duration)
	case a.timeout <= 0:
		return usage.Fieldf("attack", "timeout", "must be positive, got %s", a.timeout)
	case a.maxRequests < 0:
		return usage.Fieldf("attack", "max requests", "must not be negative, got %d", a.maxRequests)
	case a.users < 1 || a.users > 1_000_000:
		return usage.Fieldf("attack", "users", "must be between 1 and 1000000, got %d", a.users)
	case a.workers < 1:
		return usage.Fieldf("attack", "workers", "must be positive, got %d", a.workers)
	case a.maxInFlight < 1:
		return usage.Fieldf("attack", "max in flight", "must be positive, got %d", a.maxInFlight)
	case a.httpRate == Max && a.workers > a.maxInFlight:
		return usage.Errorf("attack: %d workers exceed the in-flight limit of %d", a.workers, a.maxInFlight)
	case a.wsRate == Max && a.users > a.maxInFlight:
		return usage.Errorf("attack: %d users in throughput mode exceed the in-flight limit of %d", a.users, a.maxInFlight)
	case a.maxSendLag < 0:
		return usage.Fieldf("attack", "max send lag", "must not be negative, got %s", a.maxSendLag)
	case a.maxEventGap < 0:
		return usage.Fieldf("attack", "max event gap", "must not be negative, got %s", a.maxEventGap)
	case a.arrivals != ArrivalsPoisson && a.arrivals != ArrivalsConstant:
		return usage.Errorf("attack: unknown arrival process %s", a.arrivals)
	case a.redialWithin < 0:
		return usage.Fieldf("attack", "redial limit", "must not be negative, got %s", a.redialWithin)
	case a.prefix == "" || strings.ContainsAny(a.prefix, " \t\r\n\"\\0123456789"):
		return usage.Fieldf("attack", "user prefix", "%q must be non-empty, without digits, spaces or quotes", a.prefix)
	}
	for _, p := range []struct{ name, v string }{{"http path", a.httpPath}, {"ws path", a.wsPath}} {
		if !strings.HasPrefix(p.v, "/") || strings.ContainsAny(p.v, " ?#") {
			return usage.Fieldf("attack", p.name, "must start with / and hold no spaces, ? or #, got %q", p.v)
		}
	}
	return nil
}

func parsePort(p string) (int, error) {
	n := 0
	for _, c := range p {
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("bad port")
		}
		n = n*10 + int(c-'0')
		if n > 65535 {
			return 0, fmt.Errorf("bad port")
		}
	}
	return n, nil
}

// HTTPURL and WSURL are the endpoints the attacker targets.
func (a *Attacker) HTTPURL() string { return a.httpURL }

// WSURL is the WebSocket endpoint (ws:// or wss://).
func (a *Attacker) WSURL() string { return a.wsURL }

// Protocols lists the enabled protocols (results.HTTP, results.WS).
func (a *Attacker) Protocols() []string {
	var ps []string
	if a.httpRate != 0 {
		ps = append(ps, results.HTTP)
	}
	if a.wsRate != 0 {
		ps = append(ps, results.WS)
	}
	return ps
}
