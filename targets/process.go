package targets

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

// Timings of StartProcess and Process.Stop.
const (
	// DefaultStartTimeout bounds how long a child target may take to print
	// its listening line.
	DefaultStartTimeout = 30 * time.Second
	// DefaultStopTimeout is how long a child has to exit after SIGTERM
	// before it is killed.
	DefaultStopTimeout = 5 * time.Second
)

// outputDrainTimeout bounds how long, once the child has exited, its stdout
// is still copied to the log: a grandchild may hold the pipe open.
const outputDrainTimeout = time.Second

// ErrProcessUsage is wrapped when a child target rejected its flags (it
// exited with status 2 before listening): bad ProcessConfig.Args.
var ErrProcessUsage = errors.New("bad serve flags")

// ProcessConfig says which build StartProcess runs, and how.
type ProcessConfig struct {
	// Executable is the loadbench binary (or one that takes its serve
	// command line).
	Executable string
	// Impl is the build to serve (baseline, perrequest or partial).
	Impl string
	// Args are extra serve flags, appended to the command line.
	Args []string
	// Log is the path of the child's log file: its stderr and every stdout
	// line but the listening line. It is created or truncated.
	Log string
	// Name names the target in errors ("baseline", "candidate"); empty
	// takes Impl.
	Name string
}

// Process is a built-in target running as its own process, started by
// StartProcess. Stop it with Stop.
type Process struct {
	// URL is the base URL the child printed, http://127.0.0.1:PORT.
	URL string

	name string
	log  string
	cmd  *exec.Cmd
	done chan struct{} // closed when the process has exited
	err  error         // its exit error, valid after done
}

// StartProcess runs `Executable serve --impl Impl --addr 127.0.0.1:0
// --debug-gc Args...` in its own process group (a terminal's Ctrl-C reaches
// only this process, which stops the child; the child gets SIGTERM if this
// process dies first) and waits, at most DefaultStartTimeout or until ctx
// ends, for its line "listening on URL". A child that exits with status 2
// before listening rejected its flags: the error wraps ErrProcessUsage.
func StartProcess(ctx context.Context, c ProcessConfig) (*Process, error) {
	if c.Name == "" {
		c.Name = c.Impl
	}
	p, ready, err := spawn(c)
	if err != nil {
		return nil, fmt.Errorf("start %s target: %w", c.Name, err)
	}
	timer := time.NewTimer(DefaultStartTimeout)
	defer timer.Stop()
	select {
	case p.URL = <-ready:
		return p, nil
	case <-p.done:
		if p.cmd.ProcessState != nil && p.cmd.ProcessState.ExitCode() == 2 {
			return nil, fmt.Errorf("start %s target: %w: %s", c.Name, ErrProcessUsage, lastLine(c.Log))
		}
		return nil, fmt.Errorf("start %s target: exited before listening (%v): %s", c.Name, p.err, lastLine(c.Log))
	case <-timer.C:
		p.Stop()
		return nil, fmt.Errorf("start %s target: no listening line within %s (log: %s)", c.Name, DefaultStartTimeout, c.Log)
	case <-ctx.Done():
		p.Stop()
		return nil, fmt.Errorf("start %s target: %w", c.Name, ctx.Err())
	}
}

// spawn starts the child with its stderr on the log file and its stdout on
// a pipe; the returned channel receives the URL of its listening line.
func spawn(c ProcessConfig) (*Process, <-chan string, error) {
	logf, err := os.Create(c.Log)
	if err != nil {
		return nil, nil, err
	}
	pr, pw, err := os.Pipe()
	if err != nil {
		logf.Close()
		return nil, nil, err
	}
	args := append([]string{"serve", "--impl", c.Impl, "--addr", "127.0.0.1:0", "--debug-gc"}, c.Args...)
	cmd := exec.Command(c.Executable, args...)
	cmd.Stdout, cmd.Stderr = pw, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Setpgid:   true,            // a terminal's Ctrl-C reaches only us; we stop the child
		Pdeathsig: syscall.SIGTERM, // and it goes if we die without cleaning up
	}
	err = cmd.Start()
	pw.Close() // the child holds its own copy
	if err != nil {
		pr.Close()
		logf.Close()
		return nil, nil, err
	}
	p := &Process{name: c.Name, log: c.Log, cmd: cmd, done: make(chan struct{})}
	ready := make(chan string, 1)
	copied := make(chan struct{})
	go func() {
		defer close(copied)
		copyOutput(pr, logf, ready)
	}()
	go func() {
		p.err = cmd.Wait()
		// The stdout pipe is ours, not Wait's: read what the child wrote
		// before it exited, then close it (unblocking the copy when a
		// grandchild still holds the write end).
		select {
		case <-copied:
		case <-time.After(outputDrainTimeout):
		}
		pr.Close()
		<-copied
		logf.Close()
		close(p.done)
	}()
	return p, ready, nil
}

// copyOutput sends the URL of the first "listening on URL" line of out to
// ready and copies every other line to logf, until out ends.
func copyOutput(out, logf *os.File, ready chan<- string) {
	sc := bufio.NewScanner(out)
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
	_, _ = io.Copy(io.Discard, out) // past a line too long to scan: keep the child unblocked
}

// Alive returns nil while the child runs; once it has exited, an error
// naming the target, its exit status, its log file and the log's last line.
func (p *Process) Alive() error {
	select {
	case <-p.done:
		return fmt.Errorf("%s target exited: %v (log: %s: %s)", p.name, p.err, p.log, lastLine(p.log))
	default:
		return nil
	}
}

// Stop ends the child: SIGTERM, then SIGKILL after DefaultStopTimeout. It
// returns once the process has exited; stopping an exited child does
// nothing.
func (p *Process) Stop() {
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(DefaultStopTimeout):
		_ = p.cmd.Process.Kill()
		<-p.done
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
