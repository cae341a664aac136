package main

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io/fs"
	"math/big"
	"net"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/loadbench/loadbench/results"
	"github.com/loadbench/loadbench/targets"
)

// pki is a private CA and a server certificate it signed for 127.0.0.1 and
// localhost, as PEM files.
type pki struct{ ca, cert, key, clientCert, clientKey string }

func makePKI(t *testing.T) pki {
	t.Helper()
	dir := t.TempDir()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "loadbench test CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, _ := x509.ParseCertificate(caDER)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1"), net.IPv6loopback}, DNSNames: []string{"localhost"},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	ckey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ctmpl := &x509.Certificate{
		SerialNumber: big.NewInt(3), Subject: pkix.Name{CommonName: "loadbench client"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	cder, err := x509.CreateCertificate(rand.Reader, ctmpl, caCert, &ckey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ckeyDER, err := x509.MarshalECPrivateKey(ckey)
	if err != nil {
		t.Fatal(err)
	}
	p := pki{ca: filepath.Join(dir, "ca.pem"), cert: filepath.Join(dir, "cert.pem"), key: filepath.Join(dir, "key.pem"),
		clientCert: filepath.Join(dir, "client.pem"), clientKey: filepath.Join(dir, "client-key.pem")}
	for path, b := range map[string]*pem.Block{
		p.ca: {Type: "CERTIFICATE", Bytes: caDER}, p.cert: {Type: "CERTIFICATE", Bytes: der}, p.key: {Type: "EC PRIVATE KEY", Bytes: keyDER},
		p.clientCert: {Type: "CERTIFICATE", Bytes: cder}, p.clientKey: {Type: "EC PRIVATE KEY", Bytes: ckeyDER},
	} {
		if err := os.WriteFile(path, pem.EncodeToMemory(b), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return p
}

// serveChild starts `loadbench serve args...` (this test binary as
// loadbench) and returns its URL; it is stopped at cleanup.
func serveChild(t *testing.T, env []string, args ...string) string {
	t.Helper()
	cmd := exec.Command(os.Args[0], append([]string{"serve", "--impl", "perrequest", "--addr", "127.0.0.1:0"}, args...)...)
	cmd.Env = append(append(os.Environ(), envAsMain+"=1"), env...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	})
	line, err := bufio.NewReader(out).ReadString('\n')
	u, ok := strings.CutPrefix(strings.TrimSpace(line), "listening on ")
	if err != nil || !ok {
		t.Fatalf("serve did not start: %q %v; stderr: %s", line, err, stderr.String())
	}
	return u
}

// grepDir reports the files under dir that contain s.
func grepDir(t *testing.T, dir, s string) []string {
	t.Helper()
	var hits []string
	filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err == nil && strings.Contains(string(b), s) {
			hits = append(hits, path)
		}
		return nil
	})
	return hits
}

// The acceptance run of issue 10: a staging-like target (bearer token, TLS
// from a private CA, 103 Early Hints, WebSocket heartbeats, 1 s keep-alive
// idle timeout) attacked with the right flags gives no error and no
// violation; without the header a 401 class, without the CA a TLS class;
// the token is never written.
func TestAttackStagingTarget(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end: starts a target and attacks it for seconds")
	}
	const token = "tok-9f2c41d0e8b7a653"
	t.Setenv("LB_E2E_TOKEN", token)
	p := makePKI(t)
	url := serveChild(t, []string{"STAGING_TOKEN=" + token},
		"--require-header-env", "STAGING_TOKEN", "--early-hints", "--ws-heartbeat", "100ms",
		"--tls-cert", p.cert, "--tls-key", p.key, "--idle-timeout", "1s")
	if !strings.HasPrefix(url, "https://") {
		t.Fatalf("serve with --tls-cert listens on %s", url)
	}
	runs := t.TempDir()
	ctx := context.Background()

	// The right flags. HTTP at 0.8 chats/s, constant arrivals: every chat
	// finds its keep-alive connection closed by the 1 s idle timeout.
	out := filepath.Join(runs, "ok")
	code, stdout, stderr := attackCLI(ctx, url, "--header", "Authorization: Bearer ${LB_E2E_TOKEN}", "--header", "X-Trace: "+token,
		"--cacert", p.ca, "--http-rate", "0.8", "--ws-rate", "10", "--users", "4", "--duration", "3.5s", "--arrivals", "constant", "--quiet", "--out", out)
	if code != 0 {
		t.Fatalf("attack exit %d\n%s\n%s", code, stdout, stderr)
	}
	seg, err := results.ReadSegment(out)
	if err != nil {
		t.Fatal(err)
	}
	h, ws := seg.Protocols[results.HTTP], seg.Protocols[results.WS]
	if h.Requests < 2 || h.Success != h.Requests || ws.Requests != 35 || ws.Success != 35 || seg.Isolation.Violations != 0 {
		t.Errorf("http %d/%d %v, ws %d/%d %v, violations %d", h.Success, h.Requests, h.Errors, ws.Success, ws.Requests, ws.Errors, seg.Isolation.Violations)
	}
	if ws.OtherMessages < 4*20 || !strings.Contains(stdout, "Other messages") {
		t.Errorf("ws other messages (heartbeats) = %d, want about 4 users × 35, shown in the summary:\n%s", ws.OtherMessages, stdout)
	}
	if got := seg.Manifest.Flags["header"]; got != "[Authorization: <redacted>, X-Trace: <redacted>]" {
		t.Errorf("manifest header flag = %q", got)
	}

	// No header: a clear 401 class, no violation.
	out = filepath.Join(runs, "noauth")
	code, stdout, stderr = attackCLI(ctx, url, "--cacert", p.ca, "--http-rate", "20", "--ws-rate", "0", "--users", "2", "--duration", "500ms", "--quiet", "--out", out)
	if seg, err = results.ReadSegment(out); err != nil {
		t.Fatalf("exit %d: %v\n%s", code, err, stderr)
	}
	if code != exitFail || seg.Protocols[results.HTTP].Errors["http 401"] != 10 || seg.Isolation.Violations != 0 {
		t.Errorf("without the header: exit %d errors %v violations %d\n%s", code, seg.Protocols[results.HTTP].Errors, seg.Isolation.Violations, stderr)
	}
	code, _, stderr = attackCLI(ctx, url, "--cacert", p.ca, "--http-rate", "0", "--ws-rate", "5", "--users", "2", "--duration", "500ms", "--quiet", "--out", filepath.Join(runs, "noauth-ws"))
	if code != exitRunError || !strings.Contains(stderr, "ws: dial: http 401") {
		t.Errorf("ws without the header: exit %d, stderr %s", code, stderr)
	}

	// No CA: a TLS class, never a violation.
	out = filepath.Join(runs, "noca")
	code, _, stderr = attackCLI(ctx, url, "--header", "Authorization: Bearer "+token, "--http-rate", "20", "--ws-rate", "0", "--users", "2", "--duration", "500ms", "--quiet", "--out", out)
	if seg, err = results.ReadSegment(out); err != nil {
		t.Fatalf("exit %d: %v\n%s", code, err, stderr)
	}
	if code != exitFail || seg.Protocols[results.HTTP].Errors["tls: certificate signed by unknown authority"] != 10 || seg.Isolation.Violations != 0 {
		t.Errorf("without --cacert: exit %d errors %v violations %d", code, seg.Protocols[results.HTTP].Errors, seg.Isolation.Violations)
	}

	// --insecure is allowed, and said.
	code, stdout, _ = attackCLI(ctx, url, "--header", "Authorization: Bearer ${LB_E2E_TOKEN}", "--insecure", "--http-rate", "10", "--ws-rate", "10", "--users", "2", "--duration", "500ms", "--quiet", "--out", filepath.Join(runs, "insecure"))
	if code != 0 || !strings.Contains(stdout, "certificate verification OFF") {
		t.Errorf("--insecure: exit %d\n%s", code, stdout)
	}

	if hits := grepDir(t, runs, token); len(hits) > 0 {
		t.Errorf("the token is written in %v", hits)
	}
}

func TestTransportFlagsBadInput(t *testing.T) {
	t.Setenv("LB_EMPTY", "")
	dir := t.TempDir()
	noSecret := filepath.Join(dir, "nosecret.tmpl")
	os.WriteFile(noSecret, []byte(`{"user_id":{{json .UserID}}}`), 0o600)
	badTmpl := filepath.Join(dir, "bad.tmpl")
	os.WriteFile(badTmpl, []byte(`{{if}}`), 0o600)
	notPEM := filepath.Join(dir, "ca.pem")
	os.WriteFile(notPEM, []byte("nope"), 0o600)
	cases := []struct {
		name string
		args []string
		env  string
		want string
	}{
		{"header without colon", []string{"--header", "Authorization Bearer s3cr3t"}, "", `--header #1: header: want "Name: value"`},
		{"header from an empty variable", []string{"--header", "Authorization: Bearer ${LB_EMPTY}"}, "", "LB_EMPTY is unset or empty"},
		{"framing header", []string{"--header", "Content-Length: 5"}, "", "header Content-Length is set by the engine"},
		{"unreadable ca", []string{"--cacert", filepath.Join(dir, "missing.pem")}, "", "tls: read ca file"},
		{"ca not pem", []string{"--cacert", notPEM}, "", "holds no PEM certificate"},
		{"cert without key", []string{"--cert", notPEM}, "", "--cert and --key go together"},
		{"bad key pair", []string{"--cert", notPEM, "--key", notPEM}, "", "tls: load client certificate"},
		{"template without secret", []string{"--body", noSecret}, "", "does not carry the user's secret"},
		{"template does not parse", []string{"--body", badTmpl}, "", "--body: body: parse"},
		{"unreadable template", []string{"--body", filepath.Join(dir, "none.tmpl")}, "", "--body: read"},
		{"negative ping", []string{"--ws-ping=-1s"}, "", "--ws-ping must not be negative"},
		{"unparsable proxy", []string{}, "HTTPS_PROXY=%zz", "proxy"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.env != "" {
				k, v, _ := strings.Cut(c.env, "=")
				t.Setenv(k, v)
			}
			out := filepath.Join(t.TempDir(), "run")
			code, stdout, stderr := attackCLI(context.Background(), append([]string{"https://example.invalid", "--out", out}, c.args...)...)
			if code != exitUsage || !strings.Contains(stderr, c.want) || strings.Count(strings.TrimSpace(stderr), "\n") != 0 || strings.Contains(stderr, "s3cr3t") {
				t.Errorf("exit %d, stderr %q, want exit 2 and one line with %q", code, stderr, c.want)
			}
			if stdout != "" {
				t.Errorf("stdout %q", stdout)
			}
			if _, err := os.Stat(out); !os.IsNotExist(err) {
				t.Errorf("%s written on bad input", out)
			}
		})
	}
}

func TestRedactArgs(t *testing.T) {
	t.Parallel()
	got := redactArgs([]string{"loadbench", "compare", "--header", "Authorization: Bearer x1", "--candidate-header=Cookie: s=2", "--users", "5", "--baseline-header", "nocolon"})
	want := "loadbench compare --header Authorization: <redacted> --candidate-header=Cookie: <redacted> --users 5 --baseline-header <redacted>"
	if strings.Join(got, " ") != want {
		t.Errorf("redactArgs = %q", strings.Join(got, " "))
	}
}

// Mutual TLS: a target that requires a client certificate signed by the
// test's CA.
func TestAttackMutualTLS(t *testing.T) {
	t.Parallel()
	p := makePKI(t)
	s, err := targets.New(targets.ImplPerRequest)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(s)
	pool := x509.NewCertPool()
	caPEM, _ := os.ReadFile(p.ca)
	pool.AppendCertsFromPEM(caPEM)
	cert, err := tls.LoadX509KeyPair(p.cert, p.key)
	if err != nil {
		t.Fatal(err)
	}
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}, ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: pool}
	srv.StartTLS()
	t.Cleanup(func() { srv.Close(); s.Close() })
	url := strings.Replace(srv.URL, "https://127.0.0.1", "https://localhost", 1)

	out := filepath.Join(t.TempDir(), "ok")
	code, stdout, stderr := attackCLI(context.Background(), url, "--cacert", p.ca, "--cert", p.clientCert, "--key", p.clientKey,
		"--http-rate", "20", "--ws-rate", "20", "--users", "2", "--duration", "500ms", "--quiet", "--out", out)
	if code != 0 {
		t.Fatalf("with the client certificate: exit %d\n%s\n%s", code, stdout, stderr)
	}
	out = filepath.Join(t.TempDir(), "nocert")
	code, _, stderr = attackCLI(context.Background(), url, "--cacert", p.ca,
		"--http-rate", "20", "--ws-rate", "0", "--users", "2", "--duration", "500ms", "--quiet", "--out", out)
	seg, err := results.ReadSegment(out)
	if err != nil {
		t.Fatalf("exit %d: %v\n%s", code, err, stderr)
	}
	h := seg.Protocols[results.HTTP]
	if code != exitFail || h.Success != 0 || seg.Isolation.Violations != 0 {
		t.Errorf("without the client certificate: exit %d errors %v violations %d", code, h.Errors, seg.Isolation.Violations)
	}
	for class := range h.Errors {
		if !strings.HasPrefix(class, "tls: ") && class != "connection reset" && class != "connection closed" {
			t.Errorf("error class %q is not a TLS/connection failure", class)
		}
	}
}

// compare against two staging-like deployments that want different tokens:
// --baseline-header and --candidate-header reach each side (the chats and
// the /metrics scrapes), and no token is written.
func TestCompareStagingSides(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end: starts two targets and compares them for seconds")
	}
	const bTok, cTok = "tok-base-2b8e6f10", "tok-cand-77a0c3d4"
	t.Setenv("LB_BASE_TOKEN", bTok)
	t.Setenv("LB_CAND_TOKEN", cTok)
	p := makePKI(t)
	common := []string{"--early-hints", "--ws-heartbeat", "200ms", "--tls-cert", p.cert, "--tls-key", p.key, "--idle-timeout", "1s", "--debug-gc"}
	base := serveChild(t, []string{"TOK=" + bTok}, append([]string{"--require-header-env", "TOK"}, common...)...)
	cand := serveChild(t, []string{"TOK=" + cTok}, append([]string{"--require-header-env", "TOK"}, common...)...)
	dir := filepath.Join(t.TempDir(), "run")
	code, stdout, stderr := runCmd(context.Background(), t, shortCompare(dir, "--baseline", base, "--candidate", cand, "--cacert", p.ca,
		"--baseline-header", "Authorization: Bearer ${LB_BASE_TOKEN}", "--candidate-header", "Authorization: Bearer ${LB_CAND_TOKEN}")...)
	if code != exitOK && code != exitInconclusive {
		t.Fatalf("exit %d, want pass or inconclusive\n%s\n%s", code, stdout, stderr)
	}
	sum := readSummary(t, dir)
	if mv := sum.Memory[results.Candidate]; mv.Verdict == results.Inconclusive || mv.Verdict == "" {
		t.Errorf("candidate memory not measured (the /metrics and /debug/gc probes need the side's header and CA): %+v", mv)
	}
	for _, build := range []string{results.Baseline, results.Candidate} {
		if sum.Isolation[build].Violations != 0 {
			t.Errorf("%s: %d violations", build, sum.Isolation[build].Violations)
		}
	}
	var m results.Manifest
	if err := results.ReadJSON(filepath.Join(dir, results.ManifestFile), &m); err != nil {
		t.Fatal(err)
	}
	if m.Flags["baseline-header"] != "[Authorization: <redacted>]" || m.Flags["candidate-header"] != "[Authorization: <redacted>]" {
		t.Errorf("manifest flags %v", m.Flags)
	}
	for _, tok := range []string{bTok, cTok} {
		if hits := grepDir(t, dir, tok); len(hits) > 0 {
			t.Errorf("token written in %v", hits)
		}
	}
}

func TestServeStagingBadInput(t *testing.T) {
	dir := t.TempDir()
	audit := filepath.Join(dir, "audit.log")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--require-header-env", "LB_SURELY_UNSET_VAR"}, "LB_SURELY_UNSET_VAR is unset or empty"},
		{[]string{"--tls-cert", filepath.Join(dir, "cert.pem")}, "--tls-cert and --tls-key go together"},
		{[]string{"--tls-cert", filepath.Join(dir, "none.pem"), "--tls-key", filepath.Join(dir, "none.pem")}, "serve: --tls-cert:"},
		{[]string{"--idle-timeout", "0s"}, "--idle-timeout must be positive"},
		{[]string{"--ws-heartbeat=-1s"}, "--ws-heartbeat must not be negative"},
	} {
		code, _, stderr := runCmd(context.Background(), t, append([]string{"serve", "--impl", "perrequest", "--addr", "127.0.0.1:0", "--audit-log", audit}, c.args...)...)
		if code != exitUsage || !strings.Contains(stderr, c.want) || strings.Count(strings.TrimSpace(stderr), "\n") != 0 {
			t.Errorf("serve %v: exit %d, stderr %q; want 2 and one line with %q", c.args, code, stderr, c.want)
		}
		if _, err := os.Stat(audit); !os.IsNotExist(err) {
			t.Errorf("serve %v: audit log created on bad input", c.args)
		}
	}
}
