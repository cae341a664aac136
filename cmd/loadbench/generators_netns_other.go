//go:build !linux

package main

import (
	"context"
	"errors"
	"net/netip"
)

// netnsHosts: network namespaces exist on Linux only.
type netnsHosts struct{}

func newNetnsHosts(context.Context, netip.Prefix, int) (*netnsHosts, error) {
	return nil, errors.New("network namespaces for the workers need Linux")
}

func (h *netnsHosts) command(_ int, argv []string) []string { return argv }

func (h *netnsHosts) Close() error { return nil }
