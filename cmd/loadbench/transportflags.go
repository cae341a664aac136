package main

import (
	"crypto/tls"
	"errors"
	"net/http"
	"os"
	"strings"
	"text/template"
	"time"

	"github.com/spf13/pflag"

	"github.com/loadbench/loadbench"
	"github.com/loadbench/loadbench/internal/load"
)

// redacted stands in for a secret (a header value) in the manifest.
const redacted = "<redacted>"

// transportFlags are how attack and compare reach a deployment: identity
// (headers, client certificate), TLS trust, WebSocket subprotocol and
// pings, and the chat body. compare registers them three times: plain, and
// with the "baseline-" and "candidate-" prefixes for sides that differ.
type transportFlags struct {
	prefix            string // "", "baseline-" or "candidate-"
	headers           []string
	cacert, cert, key string
	insecure          bool
	wsSubprotocol     string
	wsPing            time.Duration
	body              string
}

func (t *transportFlags) register(f *pflag.FlagSet, prefix string) {
	t.prefix = prefix
	side := ""
	if prefix != "" {
		side = " for the " + strings.TrimSuffix(prefix, "-") + " only (replaces the plain flag's value)"
	}
	f.StringArrayVar(&t.headers, prefix+"header", nil, `header "Name: value" on every HTTP request and WebSocket handshake, repeatable; ${VAR} is read from the environment; values are never written`+side)
	f.StringVar(&t.cacert, prefix+"cacert", "", "PEM file of the CA that signs the target's certificate"+side)
	f.StringVar(&t.cert, prefix+"cert", "", "client certificate (PEM) for mutual TLS, with --"+prefix+"key"+side)
	f.StringVar(&t.key, prefix+"key", "", "client key (PEM) for mutual TLS, with --"+prefix+"cert"+side)
	f.BoolVar(&t.insecure, prefix+"insecure", false, "do not verify the target's TLS certificate"+side)
	f.StringVar(&t.wsSubprotocol, prefix+"ws-subprotocol", "", "WebSocket subprotocol to ask for"+side)
	f.DurationVar(&t.wsPing, prefix+"ws-ping", load.DefaultWSPing, "ping a WebSocket connection quiet for this long (0: never)"+side)
	f.StringVar(&t.body, prefix+"body", "", "text/template file of the chat message (HTTP body and WebSocket chat): .UserID .ThreadID .Secret .Message .Seq .Protocol, json; must carry the secret"+side)
}

// changed reports whether any of t's flags was given.
func (t *transportFlags) changed(f *pflag.FlagSet) bool {
	for _, n := range transportFlagNames {
		if f.Changed(t.prefix + n) {
			return true
		}
	}
	return false
}

var transportFlagNames = []string{"header", "cacert", "cert", "key", "insecure", "ws-subprotocol", "ws-ping", "body"}

// over returns t with every flag that side s gave replacing t's value.
func (t transportFlags) over(f *pflag.FlagSet, s *transportFlags) transportFlags {
	ch := func(n string) bool { return f.Changed(s.prefix + n) }
	if ch("header") {
		t.headers = s.headers
	}
	if ch("cacert") {
		t.cacert = s.cacert
	}
	if ch("cert") {
		t.cert = s.cert
	}
	if ch("key") {
		t.key = s.key
	}
	if ch("insecure") {
		t.insecure = s.insecure
	}
	if ch("ws-subprotocol") {
		t.wsSubprotocol = s.wsSubprotocol
	}
	if ch("ws-ping") {
		t.wsPing = s.wsPing
	}
	if ch("body") {
		t.body = s.body
	}
	return t
}

// transport is what transportFlags make: nil and zero fields were not
// given, except wsPing, which is always set (0: never ping).
type transport struct {
	header        http.Header
	tls           *tls.Config
	wsSubprotocol string
	wsPing        time.Duration
	body          *template.Template
}

// access is tr as the library's Access.
func (tr transport) access() loadbench.Access {
	return loadbench.Access{
		Header: tr.header, TLS: tr.tls, WSSubprotocol: tr.wsSubprotocol,
		WSPing: tr.wsPing, NoWSPing: tr.wsPing == 0, Body: tr.body,
	}
}

// parse checks the flags and returns what they make. op prefixes the
// errors; no error carries a header value.
func (t *transportFlags) parse(op string) (transport, error) {
	var tr transport
	if len(t.headers) > 0 {
		h := http.Header{}
		for i, line := range t.headers {
			if err := load.ParseHeader(h, line, os.LookupEnv); err != nil {
				return tr, usageErr("%s: --%sheader #%d: %v", op, t.prefix, i+1, err)
			}
		}
		tr.header = h
	}
	if t.cacert != "" || t.cert != "" || t.key != "" || t.insecure {
		if (t.cert == "") != (t.key == "") {
			return tr, usageErr("%s: --%scert and --%skey go together", op, t.prefix, t.prefix)
		}
		conf, err := load.TLSConfig(t.cacert, t.cert, t.key, t.insecure)
		if err != nil {
			return tr, usageErr("%s: %v", op, err)
		}
		tr.tls = conf
	}
	tr.wsSubprotocol = t.wsSubprotocol
	if t.wsPing < 0 {
		return tr, usageErr("%s: --%sws-ping must not be negative, got %s", op, t.prefix, t.wsPing)
	}
	tr.wsPing = t.wsPing
	if t.body != "" {
		text, err := os.ReadFile(t.body)
		if err != nil {
			var pe *os.PathError
			if errors.As(err, &pe) {
				err = pe.Err
			}
			return tr, usageErr("%s: --%sbody: read %s: %v", op, t.prefix, t.body, err)
		}
		if tr.body, err = load.ParseBodyTemplate(t.body, string(text)); err != nil {
			return tr, usageErr("%s: --%sbody: %v", op, t.prefix, err)
		}
	}
	return tr, nil
}

// record returns the manifest entries of the flags: header values
// redacted, the rest as given.
func (t *transportFlags) record(f *pflag.FlagSet) map[string]string {
	m := map[string]string{}
	for _, n := range transportFlagNames {
		fl := f.Lookup(t.prefix + n)
		if fl == nil || !fl.Changed {
			continue
		}
		m[fl.Name] = fl.Value.String()
		if n == "header" {
			m[fl.Name] = redactedHeaders(t.headers)
		}
	}
	return m
}

// redactedHeaders lists the header names only: [Authorization: <redacted>].
func redactedHeaders(lines []string) string {
	names := make([]string, len(lines))
	for i, l := range lines {
		name, _, _ := strings.Cut(l, ":")
		names[i] = strings.TrimSpace(name) + ": " + redacted
	}
	return "[" + strings.Join(names, ", ") + "]"
}

// isSecretFlag reports whether the flag name carries secrets.
func isSecretFlag(name string) bool {
	return name == "header" || strings.HasSuffix(name, "-header")
}

// redactArgs returns args with the value of every secret flag replaced:
// "--header V" and "--header=V" keep the header's name only.
func redactArgs(args []string) []string {
	out := make([]string, len(args))
	copy(out, args)
	for i := 0; i < len(out); i++ {
		a := out[i]
		if a == "--" {
			break
		}
		if !strings.HasPrefix(a, "--") {
			continue
		}
		name, val, hasVal := strings.Cut(a[2:], "=")
		if !isSecretFlag(name) {
			continue
		}
		if hasVal {
			out[i] = "--" + name + "=" + redactValue(val)
		} else if i+1 < len(out) {
			out[i+1] = redactValue(out[i+1])
			i++
		}
	}
	return out
}

func redactValue(v string) string {
	name, _, ok := strings.Cut(v, ":")
	if !ok {
		return redacted
	}
	return strings.TrimSpace(name) + ": " + redacted
}

// insecureNote is printed in a summary when TLS verification is off.
func insecureNote(on bool) string {
	if !on {
		return ""
	}
	return "TLS: certificate verification OFF (--insecure)\n"
}
