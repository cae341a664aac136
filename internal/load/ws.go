package load

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
	"github.com/loadbench/loadbench/results"
)

// wsEngine holds one WebSocket connection per user. Chats of a user are
// written in order by a short-lived drain goroutine; one reader goroutine
// per connection matches events to chats by order (the first agent_started
// after chat k is chat k's) and then by run_id.
type wsEngine struct {
	a     *Attacker
	pool  *pool
	rec   *recorder
	live  *counters
	hc    *http.Client
	users []*wsUser
	// dialOpts are the handshake's options (headers, subprotocol); shared,
	// read-only.
	dialOpts *websocket.DialOptions

	connCtx  context.Context // connections live until it is cancelled
	closeAll context.CancelFunc
	closing  atomic.Bool  // no more redials; lost chats are "canceled"
	sending  atomic.Bool  // throughput mode: users keep chatting
	inflight atomic.Int64 // chats scheduled and not yet recorded
	readers  sync.WaitGroup
	// spent is closed when throughput mode has used up the request budget.
	spent     chan struct{}
	spentOnce sync.Once
}

type wsUser struct {
	i       int
	seq     atomic.Uint64 // chats written (the body template's Seq)
	seen    atomic.Int64  // unix ns of the last chat written or ping (pings quiet connections)
	mu      sync.Mutex
	conn    *websocket.Conn
	hadConn bool
	writing bool
	unsent  []pending // chats dispatched and not yet written, in order
	out     []wsChat  // written chats awaiting their events, in order
}

// pending is a chat dispatched to a user and not yet written.
type pending struct {
	intended time.Time
	lag      time.Duration // dispatch − intended
}

// wsChat is a chat in flight.
type wsChat struct {
	intended   time.Time
	first      time.Duration // intended → first event; <0 before it
	lag        time.Duration // send lag: dispatch − intended
	last       time.Time     // arrival of the latest event
	gap        time.Duration // longest time between two consecutive events
	idx        int           // events received
	runID      string
	reason     string
	bytesIn    int64
	checked    int64
	violations int64
	violation  string
	factoryID  string
}

func newWSEngine(a *Attacker, users *pool, rec *recorder, live *counters) *wsEngine {
	ctx, cancel := context.WithCancel(context.Background())
	e := &wsEngine{a: a, pool: users, rec: rec, live: live, hc: wsHTTPClient(a), connCtx: ctx, closeAll: cancel, spent: make(chan struct{})}
	e.dialOpts = &websocket.DialOptions{HTTPClient: e.hc, CompressionMode: websocket.CompressionDisabled, HTTPHeader: a.transport.header}
	if a.transport.wsSubprotocol != "" {
		e.dialOpts.Subprotocols = []string{a.transport.wsSubprotocol}
	}
	e.users = make([]*wsUser, len(users.ids))
	for i := range e.users {
		e.users[i] = &wsUser{i: i}
	}
	return e
}

// connect dials every user's connection, DialConcurrency at a time. It fails
// only when no connection at all could be made.
func (e *wsEngine) connect(ctx context.Context) error {
	sem := make(chan struct{}, DialConcurrency)
	var wg sync.WaitGroup
	var ok atomic.Int64
	var firstErr atomic.Value
	for _, u := range e.users {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			wg.Wait()
			return ctx.Err()
		}
		wg.Go(func() {
			defer func() { <-sem }()
			if err := e.dial(ctx, u); err != nil {
				firstErr.CompareAndSwap(nil, err)
				return
			}
			ok.Add(1)
		})
	}
	wg.Wait()
	go e.pinger()
	if ok.Load() == 0 {
		err, _ := firstErr.Load().(error)
		if _, refused := errors.AsType[*refusedError](err); refused {
			// The target answered: it is reachable, its route is wrong.
			return fmt.Errorf("attack: ws: no connection to %s: the handshake was refused (%v)", e.a.wsURL, err)
		}
		return fmt.Errorf("attack: ws: no connection to %s: %w: %v", e.a.wsURL, ErrUnreachable, err)
	}
	return nil
}

// refusedError is a WebSocket handshake the target answered with another
// HTTP status than 101.
type refusedError struct{ reason string }

func (e *refusedError) Error() string { return e.reason }

// dial connects u and starts its reader.
func (e *wsEngine) dial(ctx context.Context, u *wsUser) error {
	dctx, cancel := context.WithTimeout(ctx, e.a.timeout)
	defer cancel()
	t0 := time.Now()
	c, resp, err := websocket.Dial(dctx, e.a.wsURL, e.dialOpts)
	if err != nil {
		reason := "ws: dial: " + classify(err)
		if c := classify(err); results.IsGeneratorError(c) {
			reason = c // the generator's own (no port, no descriptor): never the target's
		}
		if resp != nil && resp.StatusCode != http.StatusSwitchingProtocols {
			reason = fmt.Sprintf("ws: dial: http %d", resp.StatusCode)
			e.rec.dialFailed(reason)
			return &refusedError{reason: reason} // reached, but no WebSocket there
		}
		e.rec.dialFailed(reason)
		return errors.New(reason)
	}
	c.SetReadLimit(MaxBody)
	u.mu.Lock()
	if e.closing.Load() {
		u.mu.Unlock()
		c.CloseNow()
		return errors.New("ws: closing")
	}
	redial := u.hadConn
	u.conn, u.hadConn = c, true
	u.seen.Store(time.Now().UnixNano())
	// Added under u.mu while not closing: shutdown sets closing, then takes
	// every u.mu, then waits, so this Add happens before that Wait.
	e.readers.Add(1)
	u.mu.Unlock()
	e.rec.connected(time.Since(t0), redial)
	go func() {
		defer e.readers.Done()
		e.read(u, c)
	}()
	return nil
}

// enqueue schedules a chat of u, intended at t, unless the generator's
// in-flight limit is reached (the chat is then counted as not sent). It
// never blocks on the network.
func (e *wsEngine) enqueue(u *wsUser, t time.Time) {
	lag := time.Since(t)
	if !e.rec.acquire(e.a.maxInFlight) {
		e.rec.notSent(t)
		return
	}
	e.inflight.Add(1)
	u.mu.Lock()
	u.unsent = append(u.unsent, pending{intended: t, lag: lag})
	start := !u.writing
	u.writing = true
	u.mu.Unlock()
	if start {
		go e.drain(u)
	}
}

// sendNow sends a chat of u intended now, written by the calling goroutine
// when u has a connection and nothing queued (the closed loop of throughput
// mode: the reader that finished a chat sends the next), else queued.
func (e *wsEngine) sendNow(u *wsUser) {
	t := time.Now()
	u.mu.Lock()
	c := u.conn
	if c == nil || u.writing || len(u.unsent) > 0 || e.closing.Load() {
		u.mu.Unlock()
		e.enqueue(u, t)
		return
	}
	if !e.rec.acquire(e.a.maxInFlight) {
		u.mu.Unlock()
		e.rec.notSent(t)
		return
	}
	e.inflight.Add(1)
	u.out = append(u.out, wsChat{intended: t, first: -1})
	u.mu.Unlock()
	if err := c.Write(context.Background(), websocket.MessageText, e.message(u)); err != nil {
		e.drop(u, c, "ws: connection dropped")
	}
}

// drain writes u's unsent chats in order, dialling first when u has no
// connection, and exits when none are left.
func (e *wsEngine) drain(u *wsUser) {
	for {
		u.mu.Lock()
		if len(u.unsent) == 0 || e.closing.Load() {
			u.writing = false
			u.mu.Unlock()
			return
		}
		c := u.conn
		if c == nil {
			u.mu.Unlock()
			if err := e.dial(e.connCtx, u); err != nil {
				e.failUnsent(u, err.Error())
			}
			continue
		}
		t := u.unsent[0]
		u.unsent = u.unsent[:copy(u.unsent, u.unsent[1:])]
		u.out = append(u.out, wsChat{intended: t.intended, lag: t.lag, first: -1})
		u.mu.Unlock()
		// Writes and reads use a context that is never done: a stuck
		// connection is closed by the sweeper (timeout) or at shutdown,
		// which unblocks them, and a Done-less context keeps coder/websocket
		// from arming a timer per message.
		if err := c.Write(context.Background(), websocket.MessageText, e.message(u)); err != nil {
			e.drop(u, c, "ws: connection dropped")
		}
	}
}

// failUnsent fails every chat u could not send.
func (e *wsEngine) failUnsent(u *wsUser, reason string) {
	u.mu.Lock()
	ts := u.unsent
	u.unsent = nil
	u.mu.Unlock()
	now := time.Now()
	for _, t := range ts {
		e.finish(u, wsChat{intended: t.intended, lag: t.lag, first: -1, reason: reason}, now)
	}
}

// drop forgets connection c of u (when still current), closes it and fails
// the chats in flight on it.
func (e *wsEngine) drop(u *wsUser, c *websocket.Conn, reason string) {
	u.mu.Lock()
	if u.conn != c {
		u.mu.Unlock()
		return
	}
	u.conn = nil
	lost := u.out
	u.out = nil
	restart := len(u.unsent) > 0 && !u.writing && !e.closing.Load()
	if restart {
		u.writing = true
	}
	u.mu.Unlock()
	c.CloseNow()
	if e.closing.Load() {
		reason = "canceled"
	}
	now := time.Now()
	for _, ch := range lost {
		if ch.reason == "" || reason == "timeout" || reason == "canceled" {
			ch.reason = reason
		}
		e.finish(u, ch, now)
	}
	if restart {
		go e.drain(u)
	}
}

// finish records a chat, gives back its in-flight slot and, in throughput
// mode, sends u's next one.
func (e *wsEngine) finish(u *wsUser, ch wsChat, now time.Time) {
	e.rec.record(outcome{
		user: u.i, intended: ch.intended, latency: now.Sub(ch.intended), first: ch.first, lag: ch.lag, gap: ch.gap,
		reason: ch.reason, bytesIn: ch.bytesIn, bytesOut: int64(len(e.pool.wsChat[u.i])),
		checked: ch.checked, violations: ch.violations, violation: ch.violation, factoryID: ch.factoryID,
	})
	e.rec.release()
	if e.sending.Load() && !e.closing.Load() {
		if e.live.take(e.a.maxRequests) {
			e.sendNow(u)
		} else {
			e.spentOnce.Do(func() { close(e.spent) })
		}
	}
	e.inflight.Add(-1)
}

// read is the reader goroutine of connection c of u.
func (e *wsEngine) read(u *wsUser, c *websocket.Conn) {
	var buf []byte // reused: events are copied out of it where kept
	for {
		b, err := readMsg(c, buf[:0])
		if err != nil {
			e.drop(u, c, "ws: connection dropped")
			return
		}
		buf = b
		e.event(u, b)
	}
}

// readMsg reads the next message of c into buf (grown as needed).
func readMsg(c *websocket.Conn, buf []byte) ([]byte, error) {
	_, r, err := c.Reader(context.Background())
	if err != nil {
		return buf, err
	}
	if cap(buf) == 0 {
		buf = make([]byte, 0, 512)
	}
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}

// event matches one message to u's chats in flight and checks it.
func (e *wsEngine) event(u *wsUser, b []byte) {
	now := time.Now()
	var ev wireEvent
	bad := !decodeEvent(b, &ev)
	if !bad && (string(ev.Type) == "connection_established" || string(ev.Type) == "pong") {
		return
	}
	if !bad && !isContractType(ev.Type) && e.other(u, &ev, b) {
		return
	}
	me := u.i
	var done []wsChat
	u.mu.Lock()
	for {
		if len(u.out) == 0 {
			u.mu.Unlock()
			e.rec.dialFailed("ws: message without a chat")
			for _, ch := range done {
				e.finish(u, ch, now)
			}
			return
		}
		h := &u.out[0]
		if !bad && string(ev.Type) != "error" && h.runID != "" && len(ev.RunID) > 0 && string(ev.RunID) != h.runID &&
			string(ev.UserID) == e.pool.ids[me] && string(ev.ThreadID) == e.pool.threads[me] {
			// The next chat's events began: h is missing the rest of its own.
			if h.reason == "" {
				h.reason = fmt.Sprintf("ws: missing %s", eventTypes[min(h.idx, 4)])
			}
			done = append(done, *h)
			u.popOut()
			continue
		}
		break
	}
	h := &u.out[0]
	h.bytesIn += int64(len(b))
	if h.first < 0 {
		h.first = now.Sub(h.intended)
	}
	finished := false
	switch {
	case bad:
		h.reason = firstReason(h.reason, "ws: bad json")
		finished = true
	case string(ev.Type) == "error":
		h.reason = firstReason(h.reason, "ws: error: "+errorText(string(ev.Error)))
		finished = true
	default:
		h.checked++
		if f := e.pool.foreign(b, me); f != "" {
			h.violations++
			if h.violation == "" {
				h.violation = f + " in " + string(ev.Type)
			}
		}
		if string(ev.UserID) != e.pool.ids[me] || string(ev.ThreadID) != e.pool.threads[me] {
			// Another user's event on this user's connection.
			h.reason = firstReason(h.reason, "ws: foreign event")
			if h.violation == "" {
				h.violations++
				h.violation = fmt.Sprintf("%s event of user_id %q on the connection of %s", ev.Type, ev.UserID, e.pool.ids[me])
			}
			break
		}
		if h.idx == 0 {
			h.runID = string(ev.RunID)
			h.factoryID = factoryOf(&ev)
		} else {
			h.gap = max(h.gap, now.Sub(h.last))
		}
		h.last = now
		if reason, _ := e.pool.checkEvent(&ev, h.idx, me, h.runID); reason != "" {
			h.reason = firstReason(h.reason, "ws: "+reason)
		}
		h.idx++
		finished = string(ev.Type) == eventTypes[4] || h.idx >= len(eventTypes)
	}
	if finished {
		done = append(done, *h)
		u.popOut()
	}
	u.mu.Unlock()
	for _, ch := range done {
		e.finish(u, ch, now)
	}
}

// popOut removes the oldest chat in flight, keeping the slice's storage
// (usually one chat is in flight: no allocation per chat).
func (u *wsUser) popOut() {
	n := copy(u.out, u.out[1:])
	u.out[n] = wsChat{}
	u.out = u.out[:n]
}

func firstReason(have, next string) string {
	if have != "" {
		return have
	}
	return next
}

// sweep fails chats older than the timeout: a connection whose oldest chat
// timed out is dropped (its chats fail as "timeout") and redialled on the
// next chat.
func (e *wsEngine) sweep(now time.Time) {
	for _, u := range e.users {
		u.mu.Lock()
		c := u.conn
		late := len(u.out) > 0 && now.Sub(u.out[0].intended) > e.a.timeout
		lateUnsent := c == nil && len(u.unsent) > 0 && now.Sub(u.unsent[0].intended) > e.a.timeout && !u.writing
		u.mu.Unlock()
		if late && c != nil {
			e.drop(u, c, "timeout")
		}
		if lateUnsent {
			e.failUnsent(u, "timeout")
		}
	}
}

// run sends chats until sendCtx is done and then waits for the answers:
// until none is in flight, or until abort is done plus CancelGrace.
func (e *wsEngine) run(ctx, sendCtx context.Context, began time.Time) {
	abort := ctx
	stopSweep := make(chan struct{})
	sweepDone := make(chan struct{})
	go func() {
		defer close(sweepDone)
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-stopSweep:
				return
			case now := <-t.C:
				e.sweep(now)
			}
		}
	}()
	if e.a.wsRate == Max {
		e.sending.Store(true)
		for _, u := range e.users {
			if !e.live.take(e.a.maxRequests) {
				break
			}
			e.enqueue(u, time.Now())
		}
		select {
		case <-sendCtx.Done():
		case <-e.spent:
		}
		e.sending.Store(false)
	} else {
		phase, shift := wsOffset(e.a.wsRate, len(e.users))
		k := uint64(len(e.users))
		schedule(ctx, e.a.offsets(e.a.wsRate, "ws"), e.a.duration, began.Add(phase), e.live, e.a.maxRequests, e.a.beforeSend, func(n uint64, intended time.Time) {
			e.enqueue(e.users[(n+shift)%k], intended)
		})
	}
	// Wait for answers: timeouts are swept, so this ends within the timeout.
	var graceEnd <-chan time.Time
	for e.inflight.Load() > 0 {
		if abort.Err() != nil && graceEnd == nil {
			graceEnd = time.After(CancelGrace)
		}
		select {
		case <-graceEnd:
			e.shutdown()
		case <-time.After(5 * time.Millisecond):
		}
		if e.closing.Load() {
			break
		}
	}
	close(stopSweep)
	<-sweepDone
	e.shutdown()
}

// shutdown closes every connection; chats still in flight fail as canceled.
func (e *wsEngine) shutdown() {
	if e.closing.Swap(true) {
		e.readers.Wait()
		return
	}
	e.closeAll()
	for _, u := range e.users {
		u.mu.Lock()
		c := u.conn
		u.mu.Unlock()
		if c != nil {
			e.drop(u, c, "canceled")
		}
		e.failUnsent(u, "canceled")
	}
	e.readers.Wait()
}

// wsOffset is how the WebSocket schedule stands off HTTP's. Both run the
// same kind of schedule from the same start; without an offset they would
// send in lockstep, a chat of each at the same instant and by the same user
// index. No real traffic does either, and a target that serializes anything
// (the legacy build's configure-then-create window) would see every such
// pair collide. So the WebSocket schedule starts half an interval later
// (phase) and its users take turns half the pool apart (shift). Under
// Poisson arrivals the two protocols' gaps come from different seeds and
// never run in lockstep; the offset matters for constant arrivals.
func wsOffset(rate float64, users int) (phase time.Duration, shift uint64) {
	if rate > 0 {
		phase = time.Duration(float64(time.Second) / rate / 2)
	}
	return phase, uint64(users / 2)
}
