package main

import (
	"context"
	"crypto/rand"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/loadbench/loadbench/targets"
)

// netnsAllowed skips unless this machine lets the test make network
// namespaces (root and ip(8)).
func netnsAllowed(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("network namespaces need root")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("no ip(8)")
	}
	if err := exec.Command("ip", "netns", "list").Run(); err != nil {
		t.Skipf("ip netns: %v", err)
	}
}

// ipLinks lists this machine's interfaces and network namespaces.
func ipLinks(t *testing.T) string {
	t.Helper()
	links, _ := exec.Command("ip", "-o", "link", "show").Output()
	ns, _ := exec.Command("ip", "netns", "list").Output()
	return string(links) + string(ns)
}

// attack --generators local:2,netns=ADDR/24 runs each worker in its own
// network namespace, as if on two hosts: the target sees each worker's
// chats from its own address, the plan is sent as from one process, and
// the namespaces and the bridge are gone afterwards.
func TestAttackOnLocalGeneratorsInNetns(t *testing.T) {
	localWorkers(t)
	netnsAllowed(t)
	// 198.18.0.0/15 is reserved for benchmarking (RFC 2544); the /24 is on
	// a bridge this test's command creates and removes.
	b := make([]byte, 1)
	_, _ = rand.Read(b)
	host := netip.AddrFrom4([4]byte{198, 19, b[0], 1})
	// The bridge does not exist yet: IP_FREEBIND lets the target bind its
	// address in advance.
	lc := net.ListenConfig{Control: func(_, _ string, c syscall.RawConn) error {
		var serr error
		if err := c.Control(func(fd uintptr) {
			serr = syscall.SetsockoptInt(int(fd), syscall.SOL_IP, syscall.IP_FREEBIND, 1)
		}); err != nil {
			return err
		}
		return serr
	}}
	ln, err := lc.Listen(context.Background(), "tcp", netip.AddrPortFrom(host, 0).String())
	if err != nil {
		t.Skipf("cannot bind %s: %v", host, err)
	}
	tgt, err := targets.New(targets.ImplPerRequest)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	peers := map[string]int{}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ip, _, _ := net.SplitHostPort(r.RemoteAddr)
		mu.Lock()
		peers[ip]++
		mu.Unlock()
		tgt.ServeHTTP(w, r)
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close(); tgt.Close() })
	url := "http://" + ln.Addr().String()

	before := ipLinks(t)
	out := filepath.Join(t.TempDir(), "run")
	spec := "local:2,netns=" + netip.PrefixFrom(host, 24).String()
	code, stdout, stderr := runCmd(context.Background(), t, "attack", url, "--quiet", "--out", out,
		"--duration", "1s", "--http-rate", "100", "--ws-rate", "100", "--users", "4", "--generators", spec)
	if code != exitOK {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	mu.Lock()
	got := slices.Sorted(func(yield func(string) bool) {
		for ip := range peers {
			if !yield(ip) {
				return
			}
		}
	})
	mu.Unlock()
	want := []string{host.Next().String(), host.Next().Next().String()}
	if !slices.Equal(got, want) {
		t.Fatalf("the target saw chats from %v, want one address per worker %v", got, want)
	}
	sent := segmentRequests(t, out)
	var n int64
	for _, v := range sent {
		n += v
	}
	if n == 0 {
		t.Fatalf("sent %v", sent)
	}
	if after := ipLinks(t); after != before {
		t.Fatalf("interfaces or namespaces left:\nbefore\n%s\nafter\n%s", before, after)
	}
	if pids := workerPIDs(t); len(pids) != 0 {
		t.Fatalf("workers left: %v", pids)
	}
}

func TestNetnsOption(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		spec string
		ok   bool
	}{
		{"local:2", true},
		{"local:2,netns=198.18.0.1/24", true},
		{"local:64,netns=198.18.0.1/25", true},
		{"local:2,netns=198.18.0.1/31", false}, // no room
		{"local:2,netns=198.18.0.253/24", false},
		{"local:2,netns=127.0.0.1/8", false},
		{"local:2,netns=fd00::1/64", false},
		{"local:2,netns=198.18.0.1", false},
		{"local:2,bridge=x", false},
		{"k8s:2,netns=198.18.0.1/24", false},
	} {
		_, _, err := parseGenerators("attack", c.spec)
		if (err == nil) != c.ok {
			t.Errorf("%s: %v", c.spec, err)
		}
		if err != nil && !strings.HasPrefix(err.Error(), "attack: --generators ") {
			t.Errorf("%s: %v", c.spec, err)
		}
	}
	code, _, stderr := runCmd(context.Background(), t, "compare", "--generators", "local:2,netns=198.18.0.1/24")
	if code != exitUsage || !strings.Contains(stderr, "needs --baseline and --candidate") {
		t.Errorf("compare on builtins with netns: exit %d, %q", code, stderr)
	}
	p, err := netnsOption("local:3,netns=198.18.4.1/24", 3)
	if err != nil || p.String() != "198.18.4.1/24" {
		t.Fatalf("%v %v", p, err)
	}
}
