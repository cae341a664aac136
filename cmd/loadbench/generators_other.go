//go:build !linux

package main

import "syscall"

// workerProcAttr: elsewhere a worker ends when its connection to the
// coordinator closes.
func workerProcAttr() *syscall.SysProcAttr { return nil }
