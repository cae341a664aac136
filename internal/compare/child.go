package compare

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// Child-process timings.
const (
	// DefaultStartTimeout bounds how long a child target may take to print
	// its listening line.
	DefaultStartTimeout = 30 * time.Second
	// DefaultStopTimeout is how long a child has to exit after SIGTERM
	// before it is killed.
	DefaultStopTimeout = 5 * time.Second
)

// ErrChildUsage is wrapped when a child target rejected its flags (it
// exited with status 2): bad --baseline-args or --candidate-args.
var ErrChildUsage = errors.New("bad serve flags")

// child is a built-in target running as its own process.
type child struct {
	name string
	cmd  *exec.Cmd
	url  string
	log  string
	done chan struct{} // closed when the process has exited
	err  error         // its exit error, valid after done
}

// startChild runs `exe serve --impl impl --addr 127.0.0.1:0 --debug-gc
// extra...` and waits for its listening line. Its stderr and the rest of its
// stdout go to logPath.
func startChild(ctx context.Context, name, exe, impl string, extra []string, logPath string) (*child, error) {
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, fmt.Errorf("start %s target: %w", name, err)
	}
	args := append([]string{"serve", "--impl", impl, "--addr", "127.0.0.1:0", "--debug-gc"}, extra...)
	cmd := exec.Command(exe, args...)
	cmd.Stderr = logf
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Setpgid:   true,            // a terminal's Ctrl-C reaches only us; we stop the child
		Pdeathsig: syscall.SIGTERM, // and it goes if we die without cleaning up
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		logf.Close()
		return nil, fmt.Errorf("start %s target: %w", name, err)
	}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("start %s target: %w", name, err)
	}
	c := &child{name: name, cmd: cmd, log: logPath, done: make(chan struct{})}
	ready := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		sent := false
		for sc.Scan() {
			line := sc.Text()
			if u, ok := strings.CutPrefix(line, "listening on "); ok && !sent {
				ready <- strings.TrimSpace(u)
				sent = true
				continue
			}
			fmt.Fprintln(logf, line)
		}
		io.Copy(io.Discard, stdout)
	}()
	go func() {
		c.err = cmd.Wait()
		logf.Close()
		close(c.done)
	}()
	timer := time.NewTimer(DefaultStartTimeout)
	defer timer.Stop()
	select {
	case c.url = <-ready:
		return c, nil
	case <-c.done:
		if cmd.ProcessState != nil && cmd.ProcessState.ExitCode() == 2 {
			return nil, fmt.Errorf("start %s target: %w: %s", name, ErrChildUsage, lastLine(logPath))
		}
		return nil, fmt.Errorf("start %s target: exited before listening (%v): %s", name, c.err, lastLine(logPath))
	case <-timer.C:
		c.stop()
		return nil, fmt.Errorf("start %s target: no listening line within %s (log: %s)", name, DefaultStartTimeout, logPath)
	case <-ctx.Done():
		c.stop()
		return nil, fmt.Errorf("start %s target: %w", name, ctx.Err())
	}
}

// exited reports whether the child has exited, and how.
func (c *child) exited() (bool, error) {
	select {
	case <-c.done:
		return true, fmt.Errorf("%s target exited: %v (log: %s: %s)", c.name, c.err, c.log, lastLine(c.log))
	default:
		return false, nil
	}
}

// stop ends the child: SIGTERM, then SIGKILL after DefaultStopTimeout. It
// returns once the process has exited.
func (c *child) stop() {
	select {
	case <-c.done:
		return
	default:
	}
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.done:
	case <-time.After(DefaultStopTimeout):
		_ = c.cmd.Process.Kill()
		<-c.done
	}
}

// lastLine returns the last non-empty line of the file at path.
func lastLine(path string) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}
