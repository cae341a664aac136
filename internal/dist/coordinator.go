package dist

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"slices"
	"sync"
	"time"

	"github.com/loadbench/loadbench/internal/load"
	"github.com/loadbench/loadbench/internal/usage"
	"github.com/loadbench/loadbench/results"
)

// ErrShard is wrapped by the error of a segment that a worker ended: it
// died, hung, reported late or failed. The error names the shard.
var ErrShard = errors.New("generator shard failed")

// Coordinator owns N workers that dialed it and runs segments on all of
// them. Make it with Listen, wait for the workers with Accept, run
// segments with Segment, and Close it.
type Coordinator struct {
	ln      net.Listener
	n       int
	version string
	access  map[string]Access

	mu      sync.Mutex
	workers []*remote // by index; nil until connected
	events  chan event
	seq     int
	broken  error // a failed segment leaves the workers unusable
	closed  bool
}

// remote is the coordinator's view of one worker.
type remote struct {
	index         int
	host          string
	c             *conn
	offset, delay time.Duration
}

type event struct {
	index int
	m     Message
	err   error
}

// Options of a coordinator. The zero value is fine: the build's own
// version, no side-specific access.
type Options struct {
	// Version is the build version workers must have; empty means
	// results.Version().
	Version string
	// Access is how the workers reach each side of a job ("" for an
	// attack, "baseline", "candidate"); a missing side is reached with
	// the defaults. Each is checked: no header value may be a secret.
	Access map[string]Access
}

// Listen listens on addr (HOST:PORT; port 0 picks one) for n workers.
func Listen(addr string, n int, o Options) (*Coordinator, error) {
	if n < 1 {
		return nil, usage.Errorf("generators: want at least one worker, got %d", n)
	}
	for _, a := range o.Access {
		if err := a.Check(); err != nil {
			return nil, err
		}
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("generators: listen: %w", err)
	}
	v := o.Version
	if v == "" {
		v = results.Version()
	}
	return &Coordinator{
		ln: ln, n: n, version: v, access: maps.Clone(o.Access),
		workers: make([]*remote, n), events: make(chan event, 4*n+64),
	}, nil
}

// Addr is the address the workers dial.
func (c *Coordinator) Addr() string { return c.ln.Addr().String() }

// Workers is the number of workers.
func (c *Coordinator) Workers() int { return c.n }

// Accept waits until all N workers have connected, passed the handshake
// and synchronized their clocks, or ctx is done. A refused worker (another
// version, a taken index) does not count; its refusal is returned when no
// other worker takes its place before ctx ends.
func (c *Coordinator) Accept(ctx context.Context) error {
	var (
		mu      sync.Mutex
		refusal error
		wg      sync.WaitGroup
	)
	joined := make(chan struct{}, c.n)
	stop := context.AfterFunc(ctx, func() { c.ln.Close() })
	defer stop()
	acceptErr := make(chan error, 1)
	go func() {
		for {
			nc, err := c.ln.Accept()
			if err != nil {
				acceptErr <- err
				return
			}
			wg.Go(func() {
				switch err := c.handshake(nc); {
				case err == nil:
					joined <- struct{}{}
				default:
					mu.Lock()
					refusal = err
					mu.Unlock()
				}
			})
		}
	}()
	for got := 0; got < c.n; {
		select {
		case <-joined:
			got++
		case <-ctx.Done():
			<-acceptErr
			wg.Wait()
			mu.Lock()
			defer mu.Unlock()
			if refusal != nil {
				return fmt.Errorf("generators: %d of %d workers joined: %w", c.connected(), c.n, refusal)
			}
			return fmt.Errorf("generators: %d of %d workers joined: %w", c.connected(), c.n, context.Cause(ctx))
		case err := <-acceptErr:
			return fmt.Errorf("generators: accept: %w", err)
		}
	}
	return nil
}

// Missing lists the indexes of the workers that have not joined, in
// order.
func (c *Coordinator) Missing() []int {
	c.mu.Lock()
	defer c.mu.Unlock()
	var m []int
	for i, r := range c.workers {
		if r == nil {
			m = append(m, i)
		}
	}
	return m
}

func (c *Coordinator) connected() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, r := range c.workers {
		if r != nil {
			n++
		}
	}
	return n
}

// handshake admits one worker: hello, welcome, the clock exchanges,
// synced. It starts the worker's reader.
func (c *Coordinator) handshake(nc net.Conn) error {
	cn := newConn(nc)
	deadline := time.Now().Add(HandshakeTimeout)
	refuse := func(format string, args ...any) error {
		err := fmt.Errorf(format, args...)
		_ = cn.send(Message{Type: msgRefused, Error: err.Error()})
		cn.close()
		return err
	}
	m, err := cn.recv(deadline)
	if err != nil || m.Type != msgHello {
		cn.close()
		return fmt.Errorf("worker %s: no hello: %v", nc.RemoteAddr(), err)
	}
	if m.Proto != Proto || m.Version != c.version {
		return refuse("worker %s (index %d) refused: it is loadbench %s (protocol %d), the coordinator is %s (protocol %d): run the same build everywhere",
			m.Host, m.Index, m.Version, m.Proto, c.version, Proto)
	}
	c.mu.Lock()
	idx := m.Index
	if idx < 0 {
		idx = slices.Index(c.workers, nil)
	}
	switch {
	case c.closed:
		c.mu.Unlock()
		return refuse("coordinator closed")
	case m.Index < 0 && idx < 0:
		c.mu.Unlock()
		return refuse("worker %s: no free index: all %d workers have joined", m.Host, c.n)
	case idx < 0 || idx >= c.n:
		c.mu.Unlock()
		return refuse("worker %s: index %d out of range: the coordinator runs %d workers (0–%d)", m.Host, m.Index, c.n, c.n-1)
	case c.workers[idx] != nil:
		c.mu.Unlock()
		return refuse("worker %s: index %d is taken", m.Host, idx)
	}
	r := &remote{index: idx, host: m.Host, c: cn}
	c.workers[idx] = r // reserved; released on a failed handshake
	c.mu.Unlock()
	fail := func(err error) error {
		c.mu.Lock()
		c.workers[idx] = nil
		c.mu.Unlock()
		cn.close()
		return fmt.Errorf("worker %d (%s): handshake: %w", idx, m.Host, err)
	}
	if err := cn.send(Message{Type: msgWelcome, Index: idx, Count: c.n}); err != nil {
		return fail(err)
	}
	for {
		m, err := cn.recv(deadline)
		t1 := time.Now()
		if err != nil {
			return fail(err)
		}
		if m.Type == msgSynced {
			r.offset, r.delay = m.Offset, m.Delay
			break
		}
		if m.Type != msgClock {
			return fail(fmt.Errorf("unexpected %q", m.Type))
		}
		if err := cn.send(Message{Type: msgClock, Index: idx, T0: m.T0, T1: t1, T2: time.Now()}); err != nil {
			return fail(err)
		}
	}
	_ = nc.SetReadDeadline(time.Time{})
	go func() {
		for {
			m, err := cn.recv(time.Time{})
			c.events <- event{index: idx, m: m, err: err}
			if err != nil {
				return
			}
		}
	}()
	return nil
}

// Segment runs job on every worker, each its shard (load.WithShard), from
// one absolute start, and returns the merged segment and the shards' raw
// segments (by index). A shard that fails ends it with an error wrapping
// ErrShard that names the shard, and no segment: the others are stopped.
// When ctx is cancelled every worker is stopped; the merge of their
// partial segments is returned with ctx's error.
func (c *Coordinator) Segment(ctx context.Context, job Job) (*results.Segment, []*results.Segment, error) {
	c.mu.Lock()
	if c.broken != nil {
		c.mu.Unlock()
		return nil, nil, c.broken
	}
	c.seq++
	seq := c.seq
	ws := slices.Clone(c.workers)
	c.mu.Unlock()
	if slices.Contains(ws, nil) {
		return nil, nil, errors.New("generators: not every worker has joined")
	}
	acc := c.access[job.Side]
	s := &segmentRun{c: c, seq: seq, ws: ws, shards: make([]*results.Segment, c.n), skew: make([]time.Duration, c.n),
		heard: make([]time.Time, c.n), done: make([]bool, c.n), beats: make([]Message, c.n)}
	now := time.Now()
	for i, r := range ws {
		s.heard[i] = now
		if err := r.c.send(Message{Type: msgJob, Seq: seq, Index: i, Count: c.n, Job: &job, Access: &acc}); err != nil {
			return nil, nil, s.fail(i, fmt.Sprintf("send job: %v", err))
		}
	}
	return s.run(ctx, job)
}

// segmentRun is the coordinator's state of one segment.
type segmentRun struct {
	c      *Coordinator
	seq    int
	ws     []*remote
	shards []*results.Segment
	skew   []time.Duration
	heard  []time.Time
	done   []bool
	beats  []Message // each shard's last beat
}

// progress calls job.Progress with the shards' last beats added up.
func (s *segmentRun) progress(job Job, start time.Time, total time.Duration) {
	if job.Progress == nil || start.IsZero() {
		return
	}
	now := time.Now()
	p := load.Progress{Elapsed: max(now.Sub(start), 0), Total: total}
	for _, b := range s.beats {
		p.Sent += b.Sent
		p.Done += b.Done
		p.Errors += b.Errors
		p.Violations += b.Violations
	}
	if p.Elapsed > 0 {
		p.Rate = float64(p.Sent) / p.Elapsed.Seconds()
	}
	job.Progress(p)
}

func (s *segmentRun) run(ctx context.Context, job Job) (*results.Segment, []*results.Segment, error) {
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	ready, got := 0, 0
	var start, resultBy time.Time
	timeout := job.Spec.Timeout
	if timeout == 0 {
		timeout = load.DefaultTimeout
	}
	duration := job.Spec.Duration
	if duration == 0 {
		duration = load.DefaultDuration
	}
	for got < len(s.ws) {
		select {
		case <-ctx.Done():
			return s.cancel(ctx)
		case ev := <-s.c.events:
			i := ev.index
			if ev.err != nil {
				return nil, nil, s.fail(i, fmt.Sprintf("connection lost: %v", ev.err))
			}
			if ev.m.Seq != s.seq {
				continue // a message of an abandoned job
			}
			s.heard[i] = time.Now()
			switch ev.m.Type {
			case msgReady:
				if ready++; ready == len(s.ws) {
					start = time.Now().Add(GoLead)
					resultBy = start.Add(duration + timeout + Late)
					for j, r := range s.ws {
						if err := r.c.send(Message{Type: msgGo, Seq: s.seq, Index: j, Start: start}); err != nil {
							return nil, nil, s.fail(j, fmt.Sprintf("send go: %v", err))
						}
					}
				}
			case msgBeat:
				s.beats[i] = ev.m
				s.progress(job, start, duration)
			case msgResult:
				if ev.m.Error != "" || ev.m.Segment == nil {
					return nil, nil, s.fail(i, cmpOr(ev.m.Error, "no segment"))
				}
				s.shards[i], s.skew[i], s.done[i] = ev.m.Segment, ev.m.Skew, true
				got++
			}
		case now := <-tick.C:
			for i := range s.ws {
				switch {
				case s.done[i]:
				case now.Sub(s.heard[i]) > Silence:
					return nil, nil, s.fail(i, fmt.Sprintf("silent for %s", Silence))
				case !resultBy.IsZero() && now.After(resultBy):
					return nil, nil, s.fail(i, fmt.Sprintf("no result %s after the segment's end and timeout", Late))
				}
			}
		}
	}
	merged, err := s.merge(duration)
	return merged, s.shards, err
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// fail stops every other worker and breaks the coordinator: its error
// names shard i.
func (s *segmentRun) fail(i int, why string) error {
	r := s.ws[i]
	err := fmt.Errorf("generators: shard %d (%s): %s: %w", i, r.host, why, ErrShard)
	s.c.mu.Lock()
	s.c.broken = err
	s.c.mu.Unlock()
	for j, o := range s.ws {
		if j != i {
			_ = o.c.send(Message{Type: msgStop, Seq: s.seq})
		}
	}
	r.c.close()
	return err
}

// cancel stops every worker and merges the partial segments they send
// within the engine's cancel grace and a second.
func (s *segmentRun) cancel(ctx context.Context) (*results.Segment, []*results.Segment, error) {
	for _, r := range s.ws {
		_ = r.c.send(Message{Type: msgStop, Seq: s.seq})
	}
	wait := time.NewTimer(load.CancelGrace + time.Second)
	defer wait.Stop()
	s.c.mu.Lock()
	s.c.broken = fmt.Errorf("generators: %w", context.Cause(ctx))
	s.c.mu.Unlock()
	for n := 0; n < len(s.ws); {
		select {
		case <-wait.C:
			return nil, nil, ctx.Err()
		case ev := <-s.c.events:
			if ev.err != nil || (ev.m.Type == msgResult && ev.m.Segment == nil) {
				return nil, nil, ctx.Err()
			}
			if ev.m.Seq == s.seq && ev.m.Type == msgResult {
				s.shards[ev.index], s.done[ev.index] = ev.m.Segment, true
				n++
			}
		}
	}
	merged, _ := s.merge(0)
	merged.Manifest.Partial = true
	return merged, s.shards, ctx.Err()
}

// merge adds up the shards into one segment (results.Segment.Merge) and
// records each shard's clock and start in its manifest.
func (s *segmentRun) merge(duration time.Duration) (*results.Segment, error) {
	first := s.shards[0]
	// The merge is this machine's (the coordinator's) segment of the
	// shards' targets, from the first start to the last end.
	m := &results.Segment{Manifest: results.NewManifest(first.Manifest.Kind, nil), Protocols: map[string]*results.Protocol{}, Timeline: results.Timeline{}}
	maps.Copy(m.Manifest.Targets, first.Manifest.Targets)
	m.Manifest.Start, m.Manifest.End = first.Manifest.Start, first.Manifest.End
	lo, hi := s.skew[0], s.skew[0]
	for i, sh := range s.shards {
		if sh == nil {
			return nil, fmt.Errorf("generators: shard %d: no segment", i)
		}
		m.Merge(sh)
		var n int64
		for _, p := range sh.Protocols {
			n += p.Requests
		}
		lo, hi = min(lo, s.skew[i]), max(hi, s.skew[i])
		m.Manifest.Generators = append(m.Manifest.Generators, results.Generator{
			Index: i, Host: s.ws[i].host, ClockOffset: s.ws[i].offset, ClockDelay: s.ws[i].delay,
			StartSkew: s.skew[i], Requests: n,
		})
	}
	m.Manifest.StartSpread = hi - lo
	if duration > 0 && float64(m.Manifest.StartSpread) > MaxSkewShare*float64(duration) {
		m.Manifest.SkewInvalid = true
		note := fmt.Sprintf("start skew between generators %s, over %.0f%% of the %s segment: not one load", m.Manifest.StartSpread, 100*MaxSkewShare, duration)
		if m.Manifest.Note != "" {
			note = m.Manifest.Note + "; " + note
		}
		m.Manifest.Note = note
	}
	return m, nil
}

// Close ends the session of every worker (bye) and stops listening.
func (c *Coordinator) Close() error {
	c.mu.Lock()
	c.closed = true
	ws := slices.Clone(c.workers)
	c.mu.Unlock()
	for _, r := range ws {
		if r != nil {
			_ = r.c.send(Message{Type: msgBye})
			r.c.close()
		}
	}
	return c.ln.Close()
}
