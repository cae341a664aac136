// Command peakrss runs a command and prints its peak resident set size
// ("peak_rss_mib N") and its CPU time ("cpu_user_s U", "cpu_sys_s S") to
// stderr after it exits, with the command's exit code.
package main

import (
	"fmt"
	"os"
	"os/exec"
	"syscall"
)

func tv(t syscall.Timeval) float64 { return float64(t.Sec) + float64(t.Usec)/1e6 }

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: peakrss command [args...]")
		os.Exit(2)
	}
	cmd := exec.Command(os.Args[1], os.Args[2:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	err := cmd.Run()
	if cmd.ProcessState == nil {
		fmt.Fprintln(os.Stderr, "peakrss:", err)
		os.Exit(3)
	}
	ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	fmt.Fprintf(os.Stderr, "peak_rss_mib %.1f\n", float64(ru.Maxrss)/1024) // Linux: KiB
	fmt.Fprintf(os.Stderr, "cpu_user_s %.3f\ncpu_sys_s %.3f\n", tv(ru.Utime), tv(ru.Stime))
	os.Exit(cmd.ProcessState.ExitCode())
}
