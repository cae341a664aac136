package dist

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync/atomic"
	"time"

	"github.com/loadbench/loadbench/internal/load"
	"github.com/loadbench/loadbench/results"
)

// Worker is a generator that takes its orders from a coordinator.
type Worker struct {
	// Coordinator is the HOST:PORT to dial.
	Coordinator string
	// Index is the worker's index (JOB_COMPLETION_INDEX on Kubernetes); -1
	// takes any free one.
	Index int
	// Version is the build version told to the coordinator; empty means
	// results.Version().
	Version string
	// DialTimeout bounds the dialing (retried: the coordinator may start
	// after its workers); 0 means 30 s.
	DialTimeout time.Duration
	// Getenv expands header templates; nil means os.LookupEnv.
	Getenv func(string) (string, bool)
	// Log receives one line per job; nil discards.
	Log io.Writer
}

// ErrRefused is wrapped by Run's error when the coordinator refused the
// worker (another version, an index out of range or taken).
var ErrRefused = errors.New("refused by the coordinator")

// Run dials the coordinator and runs its jobs until it says bye (nil), the
// connection is lost or ctx is done (an error; a running job is stopped).
func (w *Worker) Run(ctx context.Context) error {
	nc, err := w.dial(ctx)
	if err != nil {
		return err
	}
	cn := newConn(nc)
	defer cn.close()
	stop := context.AfterFunc(ctx, func() { cn.close() })
	defer stop()
	host, _ := os.Hostname()
	version := w.Version
	if version == "" {
		version = results.Version()
	}
	if err := cn.send(Message{Type: msgHello, Proto: Proto, Version: version, Index: w.Index, Host: host}); err != nil {
		return w.lost(ctx, err)
	}
	deadline := time.Now().Add(HandshakeTimeout)
	m, err := cn.recv(deadline)
	switch {
	case err != nil:
		return w.lost(ctx, err)
	case m.Type == msgRefused:
		return fmt.Errorf("worker: %w: %s", ErrRefused, m.Error)
	case m.Type != msgWelcome:
		return fmt.Errorf("worker: unexpected %q from the coordinator", m.Type)
	}
	index := m.Index
	ex := make([][4]time.Time, 0, ClockExchanges)
	for range ClockExchanges {
		t0 := time.Now()
		if err := cn.send(Message{Type: msgClock, Index: index, T0: t0}); err != nil {
			return w.lost(ctx, err)
		}
		r, err := cn.recv(deadline)
		if err != nil {
			return w.lost(ctx, err)
		}
		ex = append(ex, [4]time.Time{t0, r.T1, r.T2, time.Now()})
	}
	offset, delay := bestClock(ex)
	if err := cn.send(Message{Type: msgSynced, Index: index, Offset: offset, Delay: delay}); err != nil {
		return w.lost(ctx, err)
	}
	w.logf("worker %d: joined %s (clock offset %s ± %s)", index, w.Coordinator, offset, delay/2)
	return w.serve(ctx, cn, index, offset)
}

func (w *Worker) logf(format string, args ...any) {
	if w.Log != nil {
		fmt.Fprintf(w.Log, format+"\n", args...)
	}
}

func (w *Worker) lost(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return fmt.Errorf("worker: connection to the coordinator %s lost: %w", w.Coordinator, err)
}

// dial connects to the coordinator, retrying until DialTimeout.
func (w *Worker) dial(ctx context.Context) (net.Conn, error) {
	limit := w.DialTimeout
	if limit == 0 {
		limit = 30 * time.Second
	}
	dctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	var d net.Dialer
	for {
		nc, err := d.DialContext(dctx, "tcp", w.Coordinator)
		if err == nil {
			return nc, nil
		}
		select {
		case <-dctx.Done():
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			return nil, fmt.Errorf("worker: dial coordinator %s: %w", w.Coordinator, err)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// serve runs jobs; the reader routes go and stop to the running job.
func (w *Worker) serve(ctx context.Context, cn *conn, index int, offset time.Duration) error {
	msgs := make(chan Message, 16)
	readErr := make(chan error, 1)
	go func() {
		for {
			m, err := cn.recv(time.Time{})
			if err != nil {
				readErr <- err
				close(msgs)
				return
			}
			msgs <- m
		}
	}()
	var (
		cur      *running
		finished = make(chan *running, 2)
	)
	defer func() {
		if cur != nil {
			cur.cancel()
			<-cur.done
		}
	}()
	for {
		select {
		case r := <-finished:
			if r == cur { // not a job the current one replaced
				cur = nil
			}
		case m, ok := <-msgs:
			if !ok {
				if cur != nil {
					cur.cancel()
				}
				return w.lost(ctx, <-readErr)
			}
			switch m.Type {
			case msgBye:
				return nil
			case msgJob:
				if cur != nil { // a new job abandons the old one
					cur.cancel()
					<-cur.done
				}
				cur = w.start(ctx, cn, m, offset, finished)
			case msgGo:
				if cur != nil && cur.seq == m.Seq {
					select {
					case cur.start <- m.Start.Add(-offset):
					default:
					}
				}
			case msgStop:
				if cur != nil && cur.seq == m.Seq {
					cur.cancel()
				}
			}
		}
	}
}

// running is the job a worker runs.
type running struct {
	seq    int
	cancel context.CancelFunc
	start  chan time.Time // the absolute start, the worker's clock
	done   chan struct{}
}

// start runs the job of m in the background: build, connect, ready, wait
// for go, load, result; beats all along.
func (w *Worker) start(ctx context.Context, cn *conn, m Message, offset time.Duration, finished chan<- *running) *running {
	jctx, cancel := context.WithCancel(ctx)
	r := &running{seq: m.Seq, cancel: cancel, start: make(chan time.Time, 1), done: make(chan struct{})}
	var live liveCounters
	go func() {
		defer close(r.done)
		defer func() {
			select {
			case finished <- r:
			default: // a finished job left as current is harmless: its done is closed
			}
		}()
		defer cancel()
		beatDone := make(chan struct{})
		go func() {
			t := time.NewTicker(Heartbeat)
			defer t.Stop()
			for {
				select {
				case <-beatDone:
					return
				case <-t.C:
					_ = cn.send(Message{Type: msgBeat, Seq: m.Seq, Index: m.Index, Sent: live.sent.Load(),
						Done: live.done.Load(), Errors: live.errors.Load(), Violations: live.violations.Load()})
				}
			}
		}()
		seg, skew, err := w.job(jctx, cn, m, r.start, &live)
		close(beatDone)
		res := Message{Type: msgResult, Seq: m.Seq, Index: m.Index, Segment: seg, Skew: skew}
		if err != nil && !(errors.Is(err, context.Canceled) && ctx.Err() == nil && seg != nil) {
			res.Error = err.Error()
		}
		w.logf("worker %d: job %d done: %d chats, start skew %s, error %v", m.Index, m.Seq, live.sent.Load(), skew, err)
		_ = cn.send(res)
	}()
	return r
}

// job builds the shard's attacker and runs it.
func (w *Worker) job(ctx context.Context, cn *conn, m Message, start <-chan time.Time, live *liveCounters) (*results.Segment, time.Duration, error) {
	if m.Job == nil {
		return nil, 0, errors.New("worker: job without a load")
	}
	opts, err := m.Job.Spec.Options()
	if err != nil {
		return nil, 0, err
	}
	getenv := w.Getenv
	if getenv == nil {
		getenv = getenvDefault
	}
	if m.Access != nil {
		acc, err := m.Access.Options(getenv)
		if err != nil {
			return nil, 0, err
		}
		opts = append(opts, acc...)
	}
	opts = append(opts,
		load.WithShard(m.Index, m.Count),
		load.WithProgress(func(p load.Progress) {
			live.sent.Store(p.Sent)
			live.done.Store(p.Done)
			live.errors.Store(p.Errors)
			live.violations.Store(p.Violations)
		}),
		load.WithStartGate(func(ctx context.Context) time.Time {
			if err := cn.send(Message{Type: msgReady, Seq: m.Seq, Index: m.Index}); err != nil {
				return time.Time{}
			}
			select {
			case t := <-start:
				return t
			case <-ctx.Done():
				return time.Time{}
			}
		}))
	a, err := load.NewAttacker(m.Job.URL, opts...)
	if err != nil {
		return nil, 0, err
	}
	seg, err := a.Attack(ctx)
	return seg, a.StartSkew(), err
}

// liveCounters are a running job's counters, sent with every beat.
type liveCounters struct{ sent, done, errors, violations atomic.Int64 }

func getenvDefault(k string) (string, bool) { return getenv(k) }
