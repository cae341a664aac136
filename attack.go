package loadbench

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"text/template"
	"time"

	"github.com/loadbench/loadbench/internal/dist"
	"github.com/loadbench/loadbench/internal/load"
	"github.com/loadbench/loadbench/internal/usage"
	"github.com/loadbench/loadbench/results"
)

// Defaults of Options: the zero value of a field means its default.
const (
	DefaultRate     = 200.0             // chats per second, per protocol
	DefaultUsers    = 100               // virtual users, shared by both protocols
	DefaultDuration = 10 * time.Second  // how long chats are sent
	DefaultTimeout  = 30 * time.Second  // per chat, from its intended send time
	DefaultHTTPPath = "/api/agents/run" // route of the HTTP chats (POST)
	DefaultWSPath   = "/api/demo/ws"    // route of the WebSocket connections
	// DefaultUserPrefix starts every virtual user id (lb_user_00042).
	DefaultUserPrefix = "lb_user_"
	// DefaultWorkersPerCPU sets the HTTP workers of throughput mode:
	// DefaultWorkersPerCPU × GOMAXPROCS closed-loop workers.
	DefaultWorkersPerCPU = 8
	// DefaultMaxInFlight bounds the chats in flight at the generator, over
	// both protocols.
	DefaultMaxInFlight = 8192
	// DefaultMaxSendLag is the p99 send lag (actual − intended send time)
	// above which the generator reports itself saturated: its latencies
	// then measure the generator as much as the target.
	DefaultMaxSendLag = 20 * time.Millisecond
	// DefaultMaxEventGap is the most time allowed between two consecutive
	// events of a chat; a longer gap is a timing violation.
	DefaultMaxEventGap = 100 * time.Millisecond
	// DefaultWSPing is how long a WebSocket connection may stay quiet
	// before it is pinged, so that idle-timeout proxies keep it open.
	DefaultWSPing = 20 * time.Second
)

// ErrUnreachable is wrapped by Attack's error when the target does not
// accept connections.
var ErrUnreachable = load.ErrUnreachable

// Options shape an attack. The zero value is the default attack, the same
// as the loadbench command's: 200 chats/s over each protocol from 100
// users for 10 s, every limit at its Default constant.
//
// One rule holds for Options and CompareOptions alike: the zero value of a
// field is its documented default. A check or a piece of work that can be
// turned off has a No... field of its own (NoSendLagLimit, NoWSPing, ...),
// and a rate is a Rate, whose zero value is the default.
type Options struct {
	// HTTPRate and WSRate are each protocol's Rate: PerSecond(n) for an
	// open model of n chats per second (WSRate in total over all users):
	// chats are sent on schedule whether or not earlier ones were
	// answered, and latency is measured from the intended send time.
	// When both are zero, both protocols run at DefaultRate; when either
	// is set, a zero one is off.
	HTTPRate, WSRate Rate
	// Users is the number of virtual users (one WebSocket connection
	// each); 0 means DefaultUsers.
	Users int
	// Duration is how long chats are sent; 0 means DefaultDuration.
	Duration time.Duration
	// Timeout bounds each chat from its intended send time; 0 means
	// DefaultTimeout.
	Timeout time.Duration
	// MaxRequests stops sending after this many chats over all protocols;
	// 0 is no limit (the duration still bounds the attack).
	MaxRequests int64
	// Workers is the number of HTTP workers in throughput mode; 0 means
	// DefaultWorkersPerCPU × GOMAXPROCS.
	Workers int
	// HTTPPath and WSPath are the routes under the base URL; empty means
	// DefaultHTTPPath and DefaultWSPath.
	HTTPPath, WSPath string
	// UserPrefix starts every user id; empty means DefaultUserPrefix. Give
	// each load machine its own when several attack one target.
	UserPrefix string
	// VegetaFile, when set, also receives the HTTP results in vegeta's
	// binary encoding (written atomically when the attack ends), for
	// `vegeta report` and `vegeta plot`. It needs HTTP load.
	VegetaFile string
	// Progress, when set, is called about four times a second from one
	// goroutine while the attack runs, and once at the end.
	Progress func(Progress)

	// Access is how the target is reached: headers, TLS, proxy, the
	// WebSocket handshake and pings, the chat body.
	Access

	// MaxInFlight bounds the chats in flight at the generator; a chat due
	// past it is not sent and counted apart, never charged to the target.
	// 0 means DefaultMaxInFlight.
	MaxInFlight int
	// MaxSendLag is the p99 send lag (actual − intended send time) above
	// which the result reports the generator saturated; 0 means
	// DefaultMaxSendLag. NoSendLagLimit never reports it.
	MaxSendLag     time.Duration
	NoSendLagLimit bool
	// MaxEventGap is the most time allowed between two consecutive events
	// of a chat before it counts as a timing violation; 0 means
	// DefaultMaxEventGap. NoEventGapLimit turns the check off.
	MaxEventGap     time.Duration
	NoEventGapLimit bool
	// Arrivals is the arrival process of rated load; the zero value is
	// Poisson.
	Arrivals Arrivals

	// Generators, when set, runs the load on several generator processes
	// instead of this one, and the Result is their merge (Result.Shards
	// holds each one's). nil, the default, runs it here. The workers reach
	// the target with the access the Generators were made with (the
	// loadbench command's transport flags), not with Access; VegetaFile
	// is refused, and Progress gets the generators' counters added up.
	Generators Generators
}

// Generators runs segments of load on several generator processes (`loadbench
// worker`), each an exact share of the load from one absolute start, and
// merges their segments losslessly. The loadbench command makes one from
// --generators (package internal/dist has the protocol).
type Generators interface {
	Segment(ctx context.Context, job dist.Job) (merged *results.Segment, shards []*results.Segment, err error)
}

// Access is how one deployment is reached. Header values are secrets:
// nothing loadbench writes holds them.
type Access struct {
	// Header is sent on every HTTP request and on the WebSocket handshake
	// (a bearer token, a cookie).
	Header http.Header
	// TLS configures https:// and wss:// targets (a private CA, a client
	// certificate, InsecureSkipVerify); nil means the system roots.
	TLS *tls.Config
	// Proxy chooses the proxy of a request; nil means the environment
	// (HTTPS_PROXY, HTTP_PROXY, NO_PROXY), as net/http does.
	Proxy func(*url.URL) (*url.URL, error)
	// WSSubprotocol, when set, is asked for in the WebSocket handshake.
	WSSubprotocol string
	// WSPing is how long a WebSocket connection may stay quiet before it
	// is pinged; 0 means DefaultWSPing. NoWSPing never pings.
	WSPing   time.Duration
	NoWSPing bool
	// Body is the template of the chat message, the HTTP request body and
	// the WebSocket chat alike, for a service whose messages differ from
	// the built-in contract's; nil sends the built-in message. Make it with
	// ParseBody, which adds the json function and checks that the message
	// carries the user's secret (the isolation check needs it).
	Body *template.Template
}

// options is a as the engine's options, checked; op and side ("" or
// "baseline ") prefix the errors.
func (a Access) options(op, side string) ([]load.Option, error) {
	var opts []load.Option
	if a.Header != nil {
		opts = append(opts, load.WithHeader(a.Header))
	}
	if a.TLS != nil {
		opts = append(opts, load.WithTLSConfig(a.TLS))
	}
	if a.Proxy != nil {
		opts = append(opts, load.WithProxy(a.Proxy))
	}
	if a.WSSubprotocol != "" {
		opts = append(opts, load.WithWSSubprotocol(a.WSSubprotocol))
	}
	if a.Body != nil {
		opts = append(opts, load.WithBodyTemplate(a.Body))
	}
	ping, err := limit(op, side+"ws ping", a.WSPing, a.NoWSPing, DefaultWSPing)
	if err != nil {
		return nil, err
	}
	return append(opts, load.WithWSPing(ping)), nil
}

// ParseBody parses text as the template of Options.Body. It is executed
// once per chat with a value whose fields are Protocol ("http" or "ws"),
// UserID, ThreadID, Secret, Message (the built-in message text, which
// carries Secret) and Seq (the user's chat number, from 0); the function
// json quotes a string as a JSON string. ParseBody tries the template on
// both protocols and refuses it (with an error wrapping ErrUsage) when it
// fails or its output lacks the secret. name names the template in errors.
func ParseBody(name, text string) (*template.Template, error) {
	return load.ParseBodyTemplate(name, text)
}

// limit resolves a duration that can be turned off: off → 0 (the
// engine's "off"), 0 → def, negative → an error.
func limit(op, field string, d time.Duration, off bool, def time.Duration) (time.Duration, error) {
	switch {
	case off:
		return 0, nil
	case d == 0:
		return def, nil
	case d < 0:
		return 0, usage.Fieldf(op, field, "must not be negative, got %s", d)
	}
	return d, nil
}

// Progress is a snapshot of a running attack.
type Progress struct {
	// Elapsed is the time since sending began; Total is the planned
	// duration.
	Elapsed, Total time.Duration
	// Sent chats, Done (answered or failed), Errors (failed) and isolation
	// Violations so far.
	Sent, Done, Errors, Violations int64
	// Rate is the recent sending rate, chats per second.
	Rate float64
}

// engineOptions maps o to the engine's options, checked; op prefixes the
// errors.
func (o Options) engineOptions(op string) ([]load.Option, error) {
	httpRate, wsRate, err := rates(op, o.HTTPRate, o.WSRate)
	if err != nil {
		return nil, err
	}
	switch {
	case o.VegetaFile != "" && httpRate == 0:
		return nil, usage.Fieldf(op, "vegeta file", "needs HTTP load (vegeta's format holds HTTP results only)")
	case !o.Arrivals.valid():
		return nil, usage.Fieldf(op, "arrivals", "must be Poisson or Constant, got %s", o.Arrivals)
	}
	access, err := o.Access.options(op, "")
	if err != nil {
		return nil, err
	}
	sendLag, err := limit(op, "max send lag", o.MaxSendLag, o.NoSendLagLimit, DefaultMaxSendLag)
	if err != nil {
		return nil, err
	}
	eventGap, err := limit(op, "max event gap", o.MaxEventGap, o.NoEventGapLimit, DefaultMaxEventGap)
	if err != nil {
		return nil, err
	}
	opts := []load.Option{load.WithHTTPRate(httpRate), load.WithWSRate(wsRate), load.WithMaxRequests(o.MaxRequests)}
	if o.Users != 0 {
		opts = append(opts, load.WithUsers(o.Users))
	}
	if o.Duration != 0 {
		opts = append(opts, load.WithDuration(o.Duration))
	}
	if o.Timeout != 0 {
		opts = append(opts, load.WithTimeout(o.Timeout))
	}
	if o.Workers != 0 {
		opts = append(opts, load.WithWorkers(o.Workers))
	}
	if o.HTTPPath != "" {
		opts = append(opts, load.WithHTTPPath(o.HTTPPath))
	}
	if o.WSPath != "" {
		opts = append(opts, load.WithWSPath(o.WSPath))
	}
	if o.UserPrefix != "" {
		opts = append(opts, load.WithUserPrefix(o.UserPrefix))
	}
	if o.VegetaFile != "" {
		opts = append(opts, load.WithVegetaFile(o.VegetaFile))
	}
	if f := o.Progress; f != nil {
		opts = append(opts, load.WithProgress(func(p load.Progress) {
			f(Progress{Elapsed: p.Elapsed, Total: p.Total, Sent: p.Sent, Done: p.Done,
				Errors: p.Errors, Violations: p.Violations, Rate: p.Rate})
		}))
	}
	if o.MaxInFlight != 0 {
		opts = append(opts, load.WithMaxInFlight(o.MaxInFlight))
	}
	opts = append(opts, access...)
	return append(opts,
		load.WithMaxSendLag(sendLag),
		load.WithMaxEventGap(eventGap),
		load.WithArrivals(o.Arrivals.engine())), nil
}

// Attack sends chats to the service at baseURL (http:// or https://; the
// WebSocket URL is derived from it) as o describes, checks every response
// and event, and returns what it measured.
//
// It first checks that the target accepts connections (the error then
// wraps ErrUnreachable). When ctx is cancelled it stops sending, waits
// briefly for the answers in flight, and returns the partial Result
// (Partial set) with ctx's error. Invalid input returns an error wrapping
// ErrUsage and no Result.
func Attack(ctx context.Context, baseURL string, o Options) (*Result, error) {
	a, err := o.attacker(baseURL)
	if err != nil {
		return nil, err
	}
	if o.Generators != nil {
		return o.attackOnGenerators(ctx, baseURL)
	}
	seg, err := a.Attack(ctx)
	if seg == nil {
		return nil, err
	}
	return newResult(seg), err
}

// attacker validates o and baseURL and builds the engine's attacker.
func (o Options) attacker(baseURL string) (*load.Attacker, error) {
	opts, err := o.engineOptions("attack")
	if err != nil {
		return nil, err
	}
	a, err := load.NewAttacker(baseURL, opts...)
	if err != nil {
		return nil, err // the engine's usage errors already wrap ErrUsage
	}
	return a, nil
}

// Result is what an attack measured.
type Result struct {
	// Protocols holds the enabled protocols, in report order.
	Protocols []ProtocolResult
	Isolation Isolation
	// Elapsed is the attack's wall time, dial to last answer.
	Elapsed time.Duration
	// Partial is set when the attack was cut short.
	Partial bool
	// Segment is the raw result: every histogram and counter, as the
	// loadbench command writes it to a run directory (package results
	// reads and writes it).
	Segment *results.Segment
	// Shards are the raw segments of each generator when the attack ran
	// on Options.Generators (Segment is their merge); nil otherwise.
	Shards []*results.Segment
}

// attackOnGenerators runs the checked attack o on o.Generators.
func (o Options) attackOnGenerators(ctx context.Context, baseURL string) (*Result, error) {
	const op = "attack"
	if o.VegetaFile != "" {
		return nil, usage.Fieldf(op, "vegeta file", "is written by one process only: not with generators")
	}
	spec, err := o.spec(op)
	if err != nil {
		return nil, err
	}
	job := dist.Job{URL: baseURL, Spec: spec}
	if f := o.Progress; f != nil {
		job.Progress = func(p load.Progress) {
			f(Progress{Elapsed: p.Elapsed, Total: p.Total, Sent: p.Sent, Done: p.Done,
				Errors: p.Errors, Violations: p.Violations, Rate: p.Rate})
		}
	}
	seg, shards, err := o.Generators.Segment(ctx, job)
	if err != nil && ctx.Err() == nil {
		err = fmt.Errorf("%s: %w", op, err)
	}
	if seg == nil {
		return nil, err
	}
	r := newResult(seg)
	r.Shards = shards
	return r, err
}

// spec is o's load as the plain values a generator worker takes.
func (o Options) spec(op string) (dist.Spec, error) {
	httpRate, wsRate, err := rates(op, o.HTTPRate, o.WSRate)
	if err != nil {
		return dist.Spec{}, err
	}
	sendLag, err := limit(op, "max send lag", o.MaxSendLag, o.NoSendLagLimit, DefaultMaxSendLag)
	if err != nil {
		return dist.Spec{}, err
	}
	eventGap, err := limit(op, "max event gap", o.MaxEventGap, o.NoEventGapLimit, DefaultMaxEventGap)
	if err != nil {
		return dist.Spec{}, err
	}
	return dist.Spec{
		HTTPRate: httpRate, WSRate: wsRate, Users: o.Users, Duration: o.Duration, Timeout: o.Timeout,
		MaxRequests: o.MaxRequests, Workers: o.Workers, HTTPPath: o.HTTPPath, WSPath: o.WSPath,
		UserPrefix: o.UserPrefix, MaxInFlight: o.MaxInFlight, MaxSendLag: sendLag, MaxEventGap: eventGap,
		Arrivals: o.Arrivals.engine().String(),
	}, nil
}

// ProtocolResult is one protocol's share of a Result. Latencies are those
// of the answered chats only, from the intended send time.
type ProtocolResult struct {
	Protocol Protocol
	// Chats were sent; Answered were fully and correctly answered.
	Chats, Answered int64
	// Errors counts the failed chats; TargetErrors those charged to the
	// target (not to the generator itself).
	Errors, TargetErrors int64
	// ErrorClasses counts failed chats by reason ("http 503", "timeout").
	ErrorClasses map[string]int64
	// P50, P95, P99 and Max are latency percentiles of the answered chats.
	P50, P95, P99, Max time.Duration

	latency *results.Histogram
}

// Latency returns the latency at percentile pct (0–100) of the answered
// chats; zero when none was answered.
func (p ProtocolResult) Latency(pct float64) time.Duration { return p.latency.Quantile(pct / 100) }

// Isolation is what the isolation check found.
type Isolation struct {
	// Checked responses and events; Violations carried another user's data.
	Checked, Violations int64
	// Examples describe the first violations, one line each:
	// "protocol: user id: what was seen".
	Examples []string
}

func newResult(seg *results.Segment) *Result {
	r := &Result{
		Elapsed: seg.Manifest.End.Sub(seg.Manifest.Start),
		Partial: seg.Manifest.Partial,
		Segment: seg,
		Isolation: Isolation{
			Checked:    seg.Isolation.Checked,
			Violations: seg.Isolation.Violations,
		},
	}
	for _, v := range seg.Isolation.Examples {
		r.Isolation.Examples = append(r.Isolation.Examples, v.Protocol+": "+v.UserID+": "+v.Reason)
	}
	for _, proto := range Protocols() {
		p := seg.Protocols[proto.String()]
		if p == nil {
			continue
		}
		h := p.Latency
		if h == nil {
			h = results.NewHistogram()
		}
		r.Protocols = append(r.Protocols, ProtocolResult{
			Protocol: proto, Chats: p.Requests, Answered: p.Success,
			Errors: p.ErrorCount(), TargetErrors: p.TargetErrorCount(),
			ErrorClasses: maps.Clone(p.Errors),
			P50:          h.Quantile(0.50), P95: h.Quantile(0.95), P99: h.Quantile(0.99), Max: h.Max(),
			latency: h,
		})
	}
	return r
}

// Protocol returns the result of protocol p, and whether it was attacked.
func (r *Result) Protocol(p Protocol) (ProtocolResult, bool) {
	for _, pr := range r.Protocols {
		if pr.Protocol == p {
			return pr, true
		}
	}
	return ProtocolResult{}, false
}

// Chats is the number of chats sent over all protocols.
func (r *Result) Chats() int64 {
	var n int64
	for _, p := range r.Protocols {
		n += p.Chats
	}
	return n
}

// Errors is the number of failed chats over all protocols.
func (r *Result) Errors() int64 {
	var n int64
	for _, p := range r.Protocols {
		n += p.Errors
	}
	return n
}

// Latency returns the latency at percentile pct (0–100) of the chats
// answered over all protocols.
func (r *Result) Latency(pct float64) time.Duration {
	h := results.NewHistogram()
	for _, p := range r.Protocols {
		h.Merge(p.latency)
	}
	return h.Quantile(pct / 100)
}

// WriteText writes r's summary as text in the manner of `vegeta report`:
// per protocol the chats, rates, success ratio, latency percentiles, send
// lag and errors by class, then the isolation findings.
func (r *Result) WriteText(w io.Writer) error { return load.TextReport(r.Segment)(w) }

// WriteJSON writes r's summary as one indented JSON object: per protocol
// ("http", "ws") the counts, rates, latency percentiles in milliseconds and
// errors by class, then the isolation findings. Its field names are stable.
func (r *Result) WriteJSON(w io.Writer) error { return load.JSONReport(r.Segment)(w) }

// MetricReporter receives benchmark metrics; *testing.B is one.
type MetricReporter interface {
	ReportMetric(n float64, unit string)
}

// Units reported by ReportMetrics. Lower is better for every one of them
// (`loadbench benchcmp` knows).
const (
	UnitP50    = "p50-ms"
	UnitP95    = "p95-ms"
	UnitP99    = "p99-ms"
	UnitErrors = "errors"
)

// ReportMetrics reports r into a benchmark: the latency percentiles of the
// chats answered over all protocols in milliseconds (p50-ms, p95-ms,
// p99-ms) and the failed chats (errors). It sets ns/op to 0, which drops it
// from the output: the benchmark's wall time per iteration is the pacing of
// the arrival rate, not a latency, and must not be read as one.
func (r *Result) ReportMetrics(b MetricReporter) {
	// ns/op would be Elapsed/b.N: the schedule, not the target's speed.
	b.ReportMetric(0, "ns/op")
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	b.ReportMetric(ms(r.Latency(50)), UnitP50)
	b.ReportMetric(ms(r.Latency(95)), UnitP95)
	b.ReportMetric(ms(r.Latency(99)), UnitP99)
	b.ReportMetric(float64(r.Errors()), UnitErrors)
}
