package load

import (
	"context"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/loadbench/loadbench/results"
)

// Attack runs the load. It first checks that the target is reachable (a TCP
// dial of at most ReachTimeout; the error wraps ErrUnreachable and names the
// address), then dials the WebSocket users, then sends chats for the
// duration and waits for the answers (each bounded by the timeout).
//
// It returns the segment (Manifest.Kind "attack", Targets "http" and "ws",
// Start and End; Flags are left to the caller) with Protocols for the
// enabled protocols only. When ctx is cancelled it stops sending at once,
// waits up to CancelGrace for answers in flight (the rest count as
// "canceled"), and returns the partial segment (Manifest.Partial) with
// ctx.Err().
func (a *Attacker) Attack(ctx context.Context) (*results.Segment, error) {
	seg := &results.Segment{
		Manifest:  results.NewManifest("attack", nil),
		Protocols: map[string]*results.Protocol{},
		Timeline:  results.Timeline{},
	}
	seg.Manifest.Targets[results.HTTP] = a.httpURL
	seg.Manifest.Targets[results.WS] = a.wsURL
	if err := a.reach(ctx); err != nil {
		return nil, err
	}
	users, err := newPoolAt(a.prefix, a.userBase, a.users)
	if err != nil {
		return nil, err
	}
	live := &counters{}
	newRec := func(name string) *recorder {
		r := newRecorder(name, time.Time{}, live, users)
		r.maxSendLag, r.maxEventGap, r.redialWithin = a.maxSendLag, a.maxEventGap, a.redialWithin
		return r
	}
	var (
		he         *httpEngine
		we         *wsEngine
		recs       []*recorder
		vw         *vegetaWriter
		vegetaErr  error
		connectErr error
	)
	if a.httpRate != 0 {
		r := newRec(results.HTTP)
		recs = append(recs, r)
		he = newHTTPEngine(a, users, r, live)
		if a.vegetaFile != "" {
			if vw, err = newVegetaWriter(a.vegetaFile); err != nil {
				return nil, err
			}
			he.out = vw.ch
		}
	}
	if a.wsRate != 0 {
		r := newRec(results.WS)
		recs = append(recs, r)
		we = newWSEngine(a, users, r, live)
		connectErr = we.connect(ctx)
	}
	began := time.Now()
	if a.startGate != nil && connectErr == nil && ctx.Err() == nil {
		began = a.waitStart(ctx)
	}
	for _, r := range recs {
		r.began = began
	}
	if connectErr == nil && ctx.Err() == nil {
		a.load(ctx, began, live, he, we)
	} else if we != nil {
		we.shutdown()
	}
	if vw != nil {
		vegetaErr = vw.close()
	}
	seg.Manifest.End = time.Now().UTC()
	for _, r := range recs {
		p, tl, iso := r.finish()
		seg.Protocols[r.name] = p
		seg.Timeline[r.name] = tl
		seg.Isolation.Merge(iso)
	}
	switch {
	case ctx.Err() != nil:
		seg.Manifest.Partial = true
		return seg, ctx.Err()
	case connectErr != nil:
		seg.Manifest.Partial = true
		return seg, connectErr
	case vegetaErr != nil:
		return seg, vegetaErr
	}
	return seg, nil
}

// load sends and waits for the answers, with progress reports.
func (a *Attacker) load(ctx context.Context, began time.Time, live *counters, he *httpEngine, we *wsEngine) {
	sendCtx, stopSend := context.WithDeadline(ctx, began.Add(a.duration))
	defer stopSend()
	// HTTP requests in flight are cut CancelGrace after ctx is cancelled.
	reqCtx, abortReqs := context.WithCancel(context.Background())
	defer abortReqs()
	stopAbort := context.AfterFunc(ctx, func() {
		t := time.NewTimer(CancelGrace)
		defer t.Stop()
		select {
		case <-t.C:
			abortReqs()
		case <-reqCtx.Done():
		}
	})
	defer stopAbort()

	progressDone := make(chan struct{})
	stopProgress := make(chan struct{})
	go func() {
		defer close(progressDone)
		if a.progress == nil {
			<-stopProgress
			return
		}
		t := time.NewTicker(ProgressInterval)
		defer t.Stop()
		lastSent, lastT := int64(0), began
		report := func(now time.Time) {
			sent := live.sent.Load()
			rate := 0.0
			if dt := now.Sub(lastT).Seconds(); dt > 0 {
				rate = float64(sent-lastSent) / dt
			}
			lastSent, lastT = sent, now
			a.progress(Progress{
				Elapsed: now.Sub(began), Total: a.duration, Sent: sent, Done: live.done.Load(),
				Errors: live.errors.Load(), Violations: live.violations.Load(), Rate: rate,
			})
		}
		for {
			select {
			case <-stopProgress:
				report(time.Now())
				return
			case now := <-t.C:
				report(now)
			}
		}
	}()

	var wg sync.WaitGroup
	if he != nil {
		wg.Go(func() { he.run(ctx, sendCtx, reqCtx, began) })
	}
	if we != nil {
		wg.Go(func() { we.run(ctx, sendCtx, began) })
	}
	wg.Wait()
	close(stopProgress)
	<-progressDone
}

// reach checks that the target (or its proxy) accepts TCP connections.
func (a *Attacker) reach(ctx context.Context) error {
	addr := hostPort(a.base)
	if a.httpProxy != nil {
		addr = hostPort(a.httpProxy) // the target is reached through it
	}
	d := net.Dialer{Timeout: ReachTimeout}
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("attack: %s: %w", addr, ctx.Err())
		}
		return fmt.Errorf("attack: %w: %s: %s", ErrUnreachable, addr, classify(err))
	}
	c.Close()
	return nil
}
