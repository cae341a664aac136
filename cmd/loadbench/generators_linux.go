package main

import "syscall"

// workerProcAttr puts a local worker in its own process group, so that a
// Ctrl-C at the terminal reaches the coordinator only (which stops every
// worker and keeps their partial results), and makes it die with the
// command (SIGTERM when its parent ends), so that none is ever orphaned,
// even when the command is killed.
func workerProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
}
