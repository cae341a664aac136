package dist

import (
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/loadbench/loadbench/internal/load"
	"github.com/loadbench/loadbench/internal/usage"
)

// Spec is the load of one segment as plain values, from which a worker
// builds the engine's options. A zero field is the engine's default; rates
// are the engine's (0 off, load.Max throughput mode).
type Spec struct {
	HTTPRate    float64       `json:"http_rate"`
	WSRate      float64       `json:"ws_rate"`
	Users       int           `json:"users,omitempty"`
	Duration    time.Duration `json:"duration_ns,omitempty"`
	Timeout     time.Duration `json:"timeout_ns,omitempty"`
	MaxRequests int64         `json:"max_requests,omitempty"`
	Workers     int           `json:"workers,omitempty"`
	HTTPPath    string        `json:"http_path,omitempty"`
	WSPath      string        `json:"ws_path,omitempty"`
	UserPrefix  string        `json:"user_prefix,omitempty"`
	MaxInFlight int           `json:"max_in_flight,omitempty"`
	// MaxSendLag and MaxEventGap are the engine's values: 0 is off.
	MaxSendLag  time.Duration `json:"max_send_lag_ns"`
	MaxEventGap time.Duration `json:"max_event_gap_ns"`
	Arrivals    string        `json:"arrivals,omitempty"` // "poisson" (default) or "constant"
}

// Options are the engine's options of s (without access and shard).
func (s Spec) Options() ([]load.Option, error) {
	opts := []load.Option{
		load.WithHTTPRate(s.HTTPRate), load.WithWSRate(s.WSRate), load.WithMaxRequests(s.MaxRequests),
		load.WithMaxSendLag(s.MaxSendLag), load.WithMaxEventGap(s.MaxEventGap),
	}
	add := func(ok bool, o load.Option) {
		if ok {
			opts = append(opts, o)
		}
	}
	add(s.Users != 0, load.WithUsers(s.Users))
	add(s.Duration != 0, load.WithDuration(s.Duration))
	add(s.Timeout != 0, load.WithTimeout(s.Timeout))
	add(s.Workers != 0, load.WithWorkers(s.Workers))
	add(s.HTTPPath != "", load.WithHTTPPath(s.HTTPPath))
	add(s.WSPath != "", load.WithWSPath(s.WSPath))
	add(s.UserPrefix != "", load.WithUserPrefix(s.UserPrefix))
	add(s.MaxInFlight != 0, load.WithMaxInFlight(s.MaxInFlight))
	if s.Arrivals != "" {
		a, err := load.ParseArrivals(s.Arrivals)
		if err != nil {
			return nil, usage.Errorf("%v", err)
		}
		opts = append(opts, load.WithArrivals(a))
	}
	return opts, nil
}

// Access is how a worker reaches one side, as the command line gave it:
// header lines are templates ("Authorization: Bearer ${TOKEN}") expanded
// on the worker from its own environment; files are paths on the worker.
type Access struct {
	Header        []string      `json:"header,omitempty"`
	CACert        string        `json:"cacert,omitempty"`
	Cert          string        `json:"cert,omitempty"`
	Key           string        `json:"key,omitempty"`
	Insecure      bool          `json:"insecure,omitempty"`
	WSSubprotocol string        `json:"ws_subprotocol,omitempty"`
	WSPing        time.Duration `json:"ws_ping_ns"`     // 0: never ping
	Body          string        `json:"body,omitempty"` // the body template's text
}

// Check refuses an access whose header would carry a secret value over
// the control connection: every header value must take its secret from the
// worker's environment (${VAR}).
func (a Access) Check() error {
	for i, line := range a.Header {
		name, val, _ := strings.Cut(line, ":")
		if !strings.Contains(val, "${") {
			return usage.Errorf("generators: header #%d (%s): a value sent to the workers must be ${VAR}, read from each worker's environment: no secret crosses the control connection",
				i+1, strings.TrimSpace(name))
		}
	}
	return nil
}

// Options are the engine's options of a, built on the worker: headers
// expanded with getenv, certificates read from the worker's files.
func (a Access) Options(getenv func(string) (string, bool)) ([]load.Option, error) {
	var opts []load.Option
	if len(a.Header) > 0 {
		h := http.Header{}
		for i, line := range a.Header {
			if err := load.ParseHeader(h, line, getenv); err != nil {
				return nil, fmt.Errorf("worker: header #%d: %w", i+1, err)
			}
		}
		opts = append(opts, load.WithHeader(h))
	}
	if a.CACert != "" || a.Cert != "" || a.Key != "" || a.Insecure {
		conf, err := load.TLSConfig(a.CACert, a.Cert, a.Key, a.Insecure)
		if err != nil {
			return nil, fmt.Errorf("worker: %w", err)
		}
		opts = append(opts, load.WithTLSConfig(conf))
	}
	if a.WSSubprotocol != "" {
		opts = append(opts, load.WithWSSubprotocol(a.WSSubprotocol))
	}
	if a.Body != "" {
		t, err := load.ParseBodyTemplate("body", a.Body)
		if err != nil {
			return nil, fmt.Errorf("worker: %w", err)
		}
		opts = append(opts, load.WithBodyTemplate(t))
	}
	return append(opts, load.WithWSPing(a.WSPing)), nil
}

// Job is one segment of load: the side ("" for an attack, "baseline" or
// "candidate" in a compare, which chooses the Access), the target and the
// load.
type Job struct {
	Side string `json:"side,omitempty"`
	URL  string `json:"url"`
	Spec Spec   `json:"spec"`
	// Progress, when set, is called on the coordinator with the shards'
	// counters added up, at each beat of any worker; it is not sent.
	Progress func(load.Progress) `json:"-"`
}

// getenv is os.LookupEnv (tests replace it).
var getenv = os.LookupEnv
