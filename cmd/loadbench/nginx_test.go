package main

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/loadbench/loadbench/internal/testtool"
	"github.com/loadbench/loadbench/results"
)

// nginxConf is a TLS reverse proxy in front of one upstream, with WebSocket
// upgrade, a 1 s keep-alive idle timeout, a 1 s upstream read timeout (a
// WebSocket connection quiet that long is closed) and no response
// buffering: what a staging deployment commonly sits behind.
const nginxConf = `daemon off;
worker_processes 1;
%[1]s
pid %[2]s/nginx.pid;
error_log %[2]s/error.log warn;
events { worker_connections 4096; }
http {
	access_log off;
	client_body_temp_path %[2]s/client_body;
	proxy_temp_path %[2]s/proxy;
	fastcgi_temp_path %[2]s/fastcgi;
	uwsgi_temp_path %[2]s/uwsgi;
	scgi_temp_path %[2]s/scgi;
	map $http_upgrade $connection_upgrade { default upgrade; '' ''; }
	upstream target { server %[3]s; keepalive 64; }
	server {
		listen 127.0.0.1:%[4]d ssl;
		ssl_certificate %[5]s;
		ssl_certificate_key %[6]s;
		keepalive_timeout 1s;
		location / {
			proxy_pass http://target;
			proxy_http_version 1.1;
			proxy_set_header Host $host;
			proxy_set_header Upgrade $http_upgrade;
			proxy_set_header Connection $connection_upgrade;
			proxy_buffering off;
			proxy_read_timeout 1s;
		}
	}
}
`

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// startNginx runs Debian's nginx in front of upstream (host:port), serving
// TLS with p's certificate, and returns its https URL.
func startNginx(t *testing.T, upstream string, p pki) string {
	t.Helper()
	bin := testtool.Need(t, "nginx", "nginx")
	dir := t.TempDir()
	user := ""
	if os.Geteuid() == 0 {
		user = "user root;" // workers must read the test's private temp dir
	}
	port := freePort(t)
	conf := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(conf, fmt.Appendf(nil, nginxConf, user, dir, upstream, port, p.cert, p.key), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-p", dir, "-c", conf, "-e", filepath.Join(dir, "error.log"))
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt) // nginx: fast shutdown
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	})
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	for deadline := time.Now().Add(10 * time.Second); ; {
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			break
		}
		select {
		case <-done:
			log, _ := os.ReadFile(filepath.Join(dir, "error.log"))
			t.Fatalf("nginx exited: %s", log)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("nginx did not listen within 10 s")
		}
		time.Sleep(50 * time.Millisecond)
	}
	return "https://" + addr
}

// nginxInFront starts a built-in per-request target and a real nginx in
// front of it (TLS from a CA of the test's own) and returns nginx's URL and
// the PKI.
func nginxInFront(t *testing.T) (string, pki) {
	t.Helper()
	p := makePKI(t)
	target, err := url.Parse(targetServer(t, "perrequest"))
	if err != nil {
		t.Fatal(err)
	}
	return startNginx(t, target.Host, p), p
}

// An attack through a real nginx (TLS, WebSocket upgrade, 1 s keep-alive
// idle timeout, no buffering) has no errors and no violations.
func TestAttackThroughNginx(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end: runs nginx and attacks through it for seconds")
	}
	front, p := nginxInFront(t)
	out := filepath.Join(t.TempDir(), "run")
	code, stdout, stderr := attackCLI(context.Background(), front, "--cacert", p.ca,
		"--http-rate", "150", "--ws-rate", "150", "--users", "50", "--duration", "3s", "--arrivals", "constant", "--quiet", "--out", out)
	if code != 0 {
		t.Fatalf("attack through nginx: exit %d\n%s\n%s", code, stdout, stderr)
	}
	seg, err := results.ReadSegment(out)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{results.HTTP, results.WS} {
		pr := seg.Protocols[name]
		if pr.Requests != 450 || pr.Success != pr.Requests || len(pr.Errors) != 0 {
			t.Errorf("%s through nginx: %d of %d answered, errors %v", name, pr.Success, pr.Requests, pr.Errors)
		}
	}
	if seg.Isolation.Violations != 0 {
		t.Errorf("%d violations through nginx: %v", seg.Isolation.Violations, seg.Isolation.Examples)
	}
	if !strings.HasPrefix(seg.Manifest.Targets[results.WS], "wss://") {
		t.Errorf("ws target %q", seg.Manifest.Targets[results.WS])
	}
}

// Quiet WebSocket connections through nginx (closed after 1 s without
// traffic) are kept open by --ws-ping; without pings they are dropped and
// redialled.
func TestWSPingKeepsConnectionsThroughNginx(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end: runs nginx and attacks through it for seconds")
	}
	front, p := nginxInFront(t)
	redials := func(ping string) *results.Protocol {
		out := filepath.Join(t.TempDir(), "run")
		// 4 users, one chat every 2 s each: quiet for longer than nginx allows.
		code, stdout, stderr := attackCLI(context.Background(), front, "--cacert", p.ca, "--ws-ping", ping,
			"--http-rate", "0", "--ws-rate", "2", "--users", "4", "--duration", "4s", "--quiet", "--out", out)
		// Without pings a chat may meet a connection nginx is closing: an
		// error (exit 1) is then the honest outcome.
		if code != 0 && (ping != "0" || code != exitFail) {
			t.Fatalf("--ws-ping %s: exit %d\n%s\n%s", ping, code, stdout, stderr)
		}
		seg, err := results.ReadSegment(out)
		if err != nil {
			t.Fatal(err)
		}
		return seg.Protocols[results.WS]
	}
	if ws := redials("300ms"); ws.Redials != 0 || ws.Success != ws.Requests {
		t.Errorf("with pings: %d redials, %d of %d answered %v", ws.Redials, ws.Success, ws.Requests, ws.Errors)
	}
	if ws := redials("0"); ws.Redials == 0 && ws.ErrorCount() == 0 {
		t.Errorf("without pings: no redial and no error, so nginx never closed a quiet connection and the test proves nothing")
	}
}
