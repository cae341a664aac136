package load

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// httpEngine sends chats as POSTs and checks each response.
type httpEngine struct {
	a      *Attacker
	pool   *pool
	rec    *recorder
	live   *counters
	client *rawClient
	reqs   [][]byte // per user: the whole HTTP request
	url    *url.URL
	bufs   sync.Pool // *bytes.Buffer for response bodies
	out    chan vegeta.Result
}

func newHTTPEngine(a *Attacker, users *pool, rec *recorder, live *counters) *httpEngine {
	hu, _ := url.Parse(a.httpURL) // validated by NewAttacker
	e := &httpEngine{
		a: a, pool: users, rec: rec, live: live,
		client: newRawClient(hu, &a.transport, a.httpProxy),
		reqs:   make([][]byte, len(users.ids)),
		bufs:   sync.Pool{New: func() any { return new(bytes.Buffer) }},
		url:    hu,
	}
	for i := range e.reqs {
		e.reqs[i] = buildRequest(hu, hu.RequestURI(), users.httpBody[i], a.transport.header, a.httpProxy)
	}
	return e
}

// request returns the HTTP request of chat n (of user n mod users) and the
// size of its body: the pre-built one, or with a body template, one built
// for this chat.
func (e *httpEngine) request(user int, n uint64) ([]byte, int) {
	if e.a.transport.body == nil {
		return e.reqs[user], len(e.pool.httpBody[user])
	}
	body := e.a.transport.render(e.pool, "http", user, n/uint64(len(e.pool.ids)))
	return buildRequest(e.url, e.url.RequestURI(), body, e.a.transport.header, e.a.httpProxy), len(body)
}

// do sends one chat of user, due at intended, and records the outcome. The
// caller has taken an in-flight slot; do gives it back.
func (e *httpEngine) do(user int, intended time.Time, seq uint64) {
	req, bodyLen := e.request(user, seq)
	o := outcome{user: user, intended: intended, first: -1, lag: time.Since(intended), bytesOut: int64(bodyLen)}
	buf := e.bufs.Get().(*bytes.Buffer)
	buf.Reset()
	code, err := e.client.do(req, intended.Add(e.a.timeout), buf)
	// The answer is complete here; checking it is the generator's own work,
	// kept out of the latency (as the WebSocket reader stamps on arrival).
	o.latency = time.Since(intended)
	o.bytesIn = int64(buf.Len())
	switch {
	case err != nil:
		o.reason = classify(err)
	case code != 200:
		o.reason = "http " + strconv.Itoa(code)
	case buf.Len() > MaxBody:
		o.reason = "http: response over 4 MiB"
	default:
		e.check(buf.Bytes(), user, &o)
	}
	if buf.Cap() <= 64<<10 {
		e.bufs.Put(buf)
	}
	e.rec.record(o)
	e.rec.release()
	if e.out != nil {
		r := vegeta.Result{
			Attack: "loadbench", Seq: seq, Code: uint16(code), Timestamp: intended, Latency: o.latency,
			BytesOut: uint64(o.bytesOut), BytesIn: uint64(o.bytesIn), Error: o.reason,
			Method: "POST", URL: e.a.httpURL,
		}
		if o.reason != "" && code == 200 {
			r.Code = 0 // vegeta counts 2xx as success; a failed check is not
		}
		e.out <- r
	}
}

// check decodes and checks a 200 response body.
func (e *httpEngine) check(b []byte, me int, o *outcome) {
	o.checked = 1
	if f := e.pool.foreign(b, me); f != "" {
		o.violations = 1
		o.violation = f + " in " + e.locate(b, me)
	}
	var r runResponse
	if !decodeRun(b, &r) {
		o.reason = "http: bad json"
		return
	}
	if len(r.FactoryID) > 0 {
		o.factoryID = string(r.FactoryID)
	}
	if string(r.UserID) != e.pool.ids[me] || string(r.ThreadID) != e.pool.threads[me] {
		o.reason = "http: response has foreign ids"
		if o.violations == 0 {
			o.violations = 1
			o.violation = fmt.Sprintf("response for %s has user_id %q thread_id %q", e.pool.ids[me], r.UserID, r.ThreadID)
		}
		return
	}
	if len(r.RunID) == 0 {
		o.reason = "http: no run_id"
		return
	}
	runID := string(r.RunID)
	for i := range min(r.N, maxEvents) {
		if reason, foreignIDs := e.pool.checkEvent(&r.Events[i], i, me, runID); reason != "" {
			o.reason = "http: " + reason
			if foreignIDs && o.violations == 0 {
				o.violations = 1
				o.violation = fmt.Sprintf("foreign ids in %s", r.Events[i].Type)
			}
			return
		}
	}
	if r.N != len(eventTypes) {
		o.reason = fmt.Sprintf("http: %d events, want 5", r.N)
		return
	}
	o.gap = eventGap(r.Events[:r.N])
}

// locate names where in a response body the foreign data is (rare path).
func (e *httpEngine) locate(b []byte, me int) string {
	var r runResponse
	if !decodeRun(b, &r) {
		return "response"
	}
	for i := range min(r.N, maxEvents) {
		if e.pool.foreign(r.Events[i].Data, me) != "" {
			return string(r.Events[i].Type) + ".data"
		}
	}
	where := "response"
	members(b, func(k, v []byte) {
		if string(k) == "result" && e.pool.foreign(v, me) != "" {
			where = "result"
		}
	})
	return where
}

// run sends chats until the schedule ends (rated mode), sendCtx is done
// (throughput mode), ctx is cancelled or the budget is spent, and returns
// when every chat sent has been recorded. reqCtx aborts chats in flight.
func (e *httpEngine) run(ctx, sendCtx, reqCtx context.Context, began time.Time) {
	stop := context.AfterFunc(reqCtx, e.client.abort)
	defer stop()
	defer e.client.closeIdle()
	var wg sync.WaitGroup
	if e.a.httpRate == Max {
		var seq atomicSeq
		for range e.a.workers {
			wg.Go(func() {
				for sendCtx.Err() == nil && e.live.take(e.a.maxRequests) {
					// A closed loop schedules nothing: it waits for a slot
					// (held by the other protocol) instead of not sending.
					for !e.rec.acquire(e.a.maxInFlight) {
						if sendCtx.Err() != nil {
							return
						}
						time.Sleep(time.Millisecond)
					}
					n := seq.next()
					e.do(int(n%uint64(len(e.pool.ids))), time.Now(), n)
				}
			})
		}
		wg.Wait()
		return
	}
	schedule(ctx, e.a.offsets(e.a.httpRate, "http"), e.a.duration, began, e.live, e.a.maxRequests, e.a.beforeSend, func(n uint64, intended time.Time) {
		if !e.rec.acquire(e.a.maxInFlight) {
			e.rec.notSent(intended)
			return
		}
		wg.Go(func() { e.do(int(n%uint64(len(e.pool.ids))), intended, n) })
	})
	wg.Wait()
}

// vegetaWriter streams vegeta results into a temporary file next to path and
// renames it into place on close.
type vegetaWriter struct {
	ch   chan vegeta.Result
	done chan error
	path string
}

func newVegetaWriter(path string) (*vegetaWriter, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("attack: write %s: %w", path, err)
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return nil, fmt.Errorf("attack: write %s: %w", path, err)
	}
	w := &vegetaWriter{ch: make(chan vegeta.Result, 8192), done: make(chan error, 1), path: path}
	go func() {
		bw := bufio.NewWriterSize(f, 256<<10)
		enc := vegeta.NewEncoder(bw)
		var werr error
		for r := range w.ch {
			if werr == nil {
				werr = enc.Encode(&r)
			}
		}
		if werr == nil {
			werr = bw.Flush()
		}
		if werr == nil {
			werr = f.Sync()
		}
		if cerr := f.Close(); werr == nil {
			werr = cerr
		}
		if werr == nil {
			werr = os.Chmod(f.Name(), 0o644)
		}
		if werr == nil {
			werr = os.Rename(f.Name(), path)
		}
		if werr != nil {
			os.Remove(f.Name())
			werr = fmt.Errorf("attack: write %s: %w", path, werr)
		}
		w.done <- werr
	}()
	return w, nil
}

// close ends the stream (no more sends) and waits for the file.
func (w *vegetaWriter) close() error {
	close(w.ch)
	return <-w.done
}
