// Command loadbench measures the latency, memory release and user isolation of
// the legacy singleton AgentInstanceFactory against the per-request one.
//
// Exit codes, shared by every command:
//
//	0  done; the gate passed
//	1  the gate failed (latency over budget, memory not released, isolation
//	   violated; for attack: isolation violations or errors over --max-error-rate)
//	2  bad usage (flags, arguments, unreadable input)
//	3  run error (target unreachable or crashed, interrupted; for compare also
//	   an error rate over --max-error-rate, as the numbers are then no measurement)
//	4  inconclusive (the data cannot tell pass from fail)
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], streams{
		In: os.Stdin, Out: os.Stdout, Err: os.Stderr,
		Args: os.Args, Executable: os.Executable, Kube: kubeFromEnv,
	})
	stop()
	os.Exit(code)
}
