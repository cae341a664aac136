package main

import (
	"crypto/tls"
	"net/http"
	"os"
	"time"

	"github.com/spf13/pflag"

	"github.com/loadbench/loadbench/targets"
)

// stagingFlags are the `serve` flags that make the built-in target behave
// like a staging deployment (targets.Staging): a required bearer token,
// 103 Early Hints, WebSocket heartbeats, TLS and an idle keep-alive
// timeout.
type stagingFlags struct {
	requireHeaderEnv string
	earlyHints       bool
	wsHeartbeat      time.Duration
	tlsCert, tlsKey  string
	idleTimeout      time.Duration
}

// defaultServeIdleTimeout is serve's keep-alive idle timeout.
const defaultServeIdleTimeout = 120 * time.Second

func (s *stagingFlags) register(f *pflag.FlagSet) {
	f.StringVar(&s.requireHeaderEnv, "require-header-env", "", `require "Authorization: Bearer $VAR" on every request, VAR naming an environment variable that holds the token`)
	f.BoolVar(&s.earlyHints, "early-hints", false, "send 103 Early Hints before every HTTP answer")
	f.DurationVar(&s.wsHeartbeat, "ws-heartbeat", 0, `send {"type":"heartbeat"} on every WebSocket connection this often (0: never)`)
	f.StringVar(&s.tlsCert, "tls-cert", "", "serve TLS with this certificate (PEM, with --tls-key)")
	f.StringVar(&s.tlsKey, "tls-key", "", "key of --tls-cert (PEM)")
	f.DurationVar(&s.idleTimeout, "idle-timeout", defaultServeIdleTimeout, "close keep-alive connections idle this long")
}

// apply checks the flags and sets up hs (handler, idle timeout, TLS). It
// returns the URL scheme served.
func (s *stagingFlags) apply(hs *http.Server) (string, error) {
	st := targets.Staging{EarlyHints: s.earlyHints, WSHeartbeat: s.wsHeartbeat}
	if s.requireHeaderEnv != "" {
		tok := os.Getenv(s.requireHeaderEnv)
		if tok == "" {
			return "", usageErr("serve: --require-header-env: environment variable %s is unset or empty", s.requireHeaderEnv)
		}
		st.RequireHeader, st.RequireValue = "Authorization", "Bearer "+tok
	}
	switch {
	case s.wsHeartbeat < 0:
		return "", usageErr("serve: --ws-heartbeat must not be negative, got %s", s.wsHeartbeat)
	case s.idleTimeout <= 0:
		return "", usageErr("serve: --idle-timeout must be positive, got %s", s.idleTimeout)
	case (s.tlsCert == "") != (s.tlsKey == ""):
		return "", usageErr("serve: --tls-cert and --tls-key go together")
	}
	if st != (targets.Staging{}) {
		hs.Handler = st.Wrap(hs.Handler)
	}
	hs.IdleTimeout = s.idleTimeout
	if s.tlsCert == "" {
		return "http", nil
	}
	cert, err := tls.LoadX509KeyPair(s.tlsCert, s.tlsKey)
	if err != nil {
		return "", usageErr("serve: --tls-cert: %s", firstLineOf(err.Error()))
	}
	hs.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, NextProtos: []string{"http/1.1"}, MinVersion: tls.VersionTLS12}
	return "https", nil
}

func firstLineOf(s string) string {
	for i := range len(s) {
		if s[i] == '\n' {
			return s[:i]
		}
	}
	return s
}
