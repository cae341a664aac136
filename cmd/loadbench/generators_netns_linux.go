//go:build linux

package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// netnsHosts are network namespaces made to look like separate hosts for
// local workers: a bridge on this machine holding the prefix's address, and
// one namespace per worker, joined to the bridge by a veth pair, with the
// next addresses of the prefix. Everything is created under a fresh name
// and removed by Close. It needs root and ip(8).
type netnsHosts struct {
	bridge string
	names  []string // one namespace per worker
	veths  []string // this machine's end of each namespace's veth pair
	addrs  []netip.Addr
}

// ipTimeout bounds each ip(8) command.
const ipTimeout = 10 * time.Second

func ipCmd(ctx context.Context, args ...string) error {
	ctx, cancel := context.WithTimeout(ctx, ipTimeout)
	defer cancel()
	out, err := exec.CommandContext(ctx, "ip", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("ip %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// newNetnsHosts creates the bridge and n namespaces.
func newNetnsHosts(ctx context.Context, p netip.Prefix, n int) (*netnsHosts, error) {
	if os.Geteuid() != 0 {
		return nil, errors.New("network namespaces for the workers need root")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		return nil, fmt.Errorf("network namespaces for the workers need ip(8): %w", err)
	}
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	id := hex.EncodeToString(b)
	h := &netnsHosts{bridge: "lbbr" + id}
	fail := func(err error) (*netnsHosts, error) {
		_ = h.Close()
		return nil, fmt.Errorf("network namespaces: %w", err)
	}
	if err := ipCmd(ctx, "link", "add", h.bridge, "type", "bridge"); err != nil {
		h.bridge = "" // not ours to delete
		return fail(err)
	}
	for _, args := range [][]string{
		{"addr", "add", p.String(), "dev", h.bridge},
		{"link", "set", h.bridge, "up"},
	} {
		if err := ipCmd(ctx, args...); err != nil {
			return fail(err)
		}
	}
	addr := p.Addr()
	for i := range n {
		addr = addr.Next()
		ns, veth := "lb-"+id+"-"+strconv.Itoa(i), "lbv"+id+strconv.Itoa(i)
		if err := ipCmd(ctx, "netns", "add", ns); err != nil {
			return fail(err)
		}
		h.names = append(h.names, ns)
		h.addrs = append(h.addrs, addr)
		if err := ipCmd(ctx, "link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", ns); err != nil {
			return fail(err)
		}
		h.veths = append(h.veths, veth)
		for _, args := range [][]string{
			{"link", "set", veth, "master", h.bridge, "up"},
			{"-n", ns, "addr", "add", netip.PrefixFrom(addr, p.Bits()).String(), "dev", "eth0"},
			{"-n", ns, "link", "set", "eth0", "up"},
			{"-n", ns, "link", "set", "lo", "up"},
		} {
			if err := ipCmd(ctx, args...); err != nil {
				return fail(err)
			}
		}
	}
	return h, nil
}

// command is argv run in worker i's namespace.
func (h *netnsHosts) command(i int, argv []string) []string {
	return append([]string{"ip", "netns", "exec", h.names[i]}, argv...)
}

// Close deletes the veth pairs, the namespaces and the bridge. (A
// namespace's own devices are removed asynchronously after it is deleted:
// the veths are deleted first, which removes both ends at once.)
func (h *netnsHosts) Close() error {
	var errs []error
	ctx := context.Background()
	for _, v := range h.veths {
		errs = append(errs, ipCmd(ctx, "link", "del", v))
	}
	h.veths = nil
	for _, ns := range h.names {
		errs = append(errs, ipCmd(ctx, "netns", "del", ns))
	}
	h.names = nil
	if h.bridge != "" {
		errs = append(errs, ipCmd(ctx, "link", "del", h.bridge))
		h.bridge = ""
	}
	return errors.Join(errs...)
}
