package load

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/loadbench/loadbench/results"
)

// wsHTTPClient is the client of the WebSocket handshakes: HTTP/1.1 only,
// with the attacker's TLS settings and, when a proxy applies to the target,
// every connection a CONNECT tunnel through it (ws:// as well as wss://:
// forward proxies do not relay an upgrade sent in absolute form).
func wsHTTPClient(a *Attacker) *http.Client {
	dialer := &net.Dialer{Timeout: ReachTimeout, KeepAlive: 30 * time.Second}
	tr := &http.Transport{DialContext: dialer.DialContext, TLSHandshakeTimeout: ReachTimeout, DisableCompression: true}
	wu, err := url.Parse(a.wsURL)
	if err != nil {
		return &http.Client{Transport: tr}
	}
	tr.TLSClientConfig = a.transport.tlsFor(wu.Hostname())
	hu := *wu
	hu.Scheme = "http"
	if wu.Scheme == "wss" {
		hu.Scheme = "https"
	}
	proxy, err := a.transport.proxyFor(&hu)
	if err != nil || proxy == nil {
		return &http.Client{Transport: tr}
	}
	tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		// The tunnel's CONNECT as the raw client builds it, for addr.
		rc := newRawClient(&url.URL{Scheme: "https", Host: addr}, &a.transport, proxy)
		deadline, ok := ctx.Deadline()
		if !ok {
			deadline = time.Now().Add(a.timeout)
		}
		d := rc.dialer
		d.Deadline = deadline
		nc, err := d.DialContext(ctx, "tcp", rc.addr)
		if err != nil {
			return nil, err
		}
		nc.SetDeadline(deadline)
		if rc.proxyTLS != nil {
			if nc, err = handshake(nc, rc.proxyTLS, "proxy tls"); err != nil {
				return nil, err
			}
		}
		c := &rawConn{c: nc, br: bufio.NewReaderSize(nc, 512)}
		if err := c.tunnel(rc.connect); err != nil {
			nc.Close()
			return nil, err
		}
		nc.SetDeadline(time.Time{})
		return nc, nil
	}
	return &http.Client{Transport: tr}
}

// message returns the next chat message of u: the pre-built one, or with a
// body template, one rendered for this chat.
func (e *wsEngine) message(u *wsUser) []byte {
	if e.a.transport.wsPing > 0 {
		u.seen.Store(time.Now().UnixNano()) // a chat's answer is traffic: no ping needed
	}
	if e.a.transport.body == nil {
		return e.pool.wsChat[u.i]
	}
	return e.a.transport.render(e.pool, "ws", u.i, u.seq.Add(1)-1)
}

// isContractType reports whether t is the message types of the chat contract.
func isContractType(t []byte) bool {
	switch string(t) {
	case "agent_started", "agent_thinking", "tool_executing", "tool_completed", "agent_completed", "error":
		return true
	}
	return false
}

// other handles a message whose type is outside the chat contract (a
// heartbeat, a notice): without foreign data it is counted as an other
// message and reported handled. With another user's ids or secret it stays
// a violation: charged to the chat in flight (not handled here), or recorded
// on its own when none is.
func (e *wsEngine) other(u *wsUser, ev *wireEvent, b []byte) bool {
	if isContractType(ev.Type) {
		return false
	}
	me := u.i
	f := e.pool.foreign(b, me)
	if f == "" && (len(ev.UserID) > 0 && string(ev.UserID) != e.pool.ids[me] ||
		len(ev.ThreadID) > 0 && string(ev.ThreadID) != e.pool.threads[me]) {
		f = fmt.Sprintf("user_id %q thread_id %q", ev.UserID, ev.ThreadID)
	}
	if f == "" {
		e.rec.otherMessage()
		return true
	}
	u.mu.Lock()
	inFlight := len(u.out) > 0
	u.mu.Unlock()
	if inFlight {
		return false
	}
	e.rec.strayViolation(me, fmt.Sprintf("%s in a %q message outside any chat", f, ev.Type))
	return true
}

// pinger pings every connection on which no chat was sent (nor ping) for
// the ping interval,
// until the engine closes, so that idle timeouts of load balancers and
// proxies do not drop users between chats.
func (e *wsEngine) pinger() {
	every := e.a.transport.wsPing
	if every <= 0 {
		return
	}
	tick := max(every/4, 10*time.Millisecond)
	t := time.NewTicker(tick)
	defer t.Stop()
	for {
		select {
		case <-e.connCtx.Done():
			return
		case now := <-t.C:
			for _, u := range e.users {
				if now.UnixNano()-u.seen.Load() < int64(every) {
					continue
				}
				u.mu.Lock()
				c := u.conn
				u.mu.Unlock()
				if c == nil {
					continue
				}
				u.seen.Store(now.UnixNano()) // one ping in flight at a time
				go func() {
					ctx, cancel := context.WithTimeout(e.connCtx, e.a.timeout)
					defer cancel()
					// A failed ping is the reader's to notice: the
					// connection drops, and its chats with it.
					_ = c.Ping(ctx)
				}()
			}
		}
	}
}

// otherMessage counts a WebSocket message outside the chat contract.
func (r *recorder) otherMessage() {
	r.mu.Lock()
	r.p.OtherMessages++
	r.mu.Unlock()
}

// strayViolation records another user's data in a message that belongs to
// no chat of user.
func (r *recorder) strayViolation(user int, reason string) {
	r.live.violations.Add(1)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.iso.Violations++
	if len(r.iso.Examples) < results.MaxExamples {
		r.iso.Examples = append(r.iso.Examples, results.Violation{Protocol: r.name, UserID: r.pool.ids[user], Reason: reason})
	}
}
