package load

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// httpEngine sends chats as POSTs and checks each response.
type httpEngine struct {
	a      *Attacker
	pool   *pool
	rec    *recorder
	live   *counters
	client *http.Client
	bufs   sync.Pool // *bytes.Buffer for response bodies
	out    chan vegeta.Result
}

func newHTTPEngine(a *Attacker, users *pool, rec *recorder, live *counters) *httpEngine {
	conns := a.workers
	if a.httpRate != Max {
		conns = 10_000 // rated mode: as many connections as chats in flight
	}
	dialer := &net.Dialer{Timeout: ReachTimeout, KeepAlive: 30 * time.Second}
	tr := &http.Transport{
		Proxy:               nil,
		DialContext:         dialer.DialContext,
		MaxIdleConns:        conns,
		MaxIdleConnsPerHost: conns,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
		TLSHandshakeTimeout: ReachTimeout,
		ForceAttemptHTTP2:   false,
	}
	return &httpEngine{
		a: a, pool: users, rec: rec, live: live,
		client: &http.Client{Transport: tr},
		bufs:   sync.Pool{New: func() any { return new(bytes.Buffer) }},
	}
}

// do sends one chat of user at its intended time and records the outcome.
func (e *httpEngine) do(ctx context.Context, user int, intended time.Time, seq uint64) {
	body := e.pool.httpBody[user]
	o := outcome{user: user, intended: intended, first: -1, bytesOut: int64(len(body))}
	ctx, cancel := context.WithDeadline(ctx, intended.Add(e.a.timeout))
	defer cancel()
	code := 0
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.a.httpURL, bytes.NewReader(body))
	if err != nil {
		o.reason = "http: " + err.Error()
	} else {
		req.Header.Set("Content-Type", "application/json")
		var resp *http.Response
		resp, err = e.client.Do(req)
		if err != nil {
			o.reason = classify(err)
		} else {
			code = resp.StatusCode
			buf := e.bufs.Get().(*bytes.Buffer)
			buf.Reset()
			_, err = buf.ReadFrom(io.LimitReader(resp.Body, MaxBody+1))
			resp.Body.Close()
			o.bytesIn = int64(buf.Len())
			switch {
			case err != nil:
				o.reason = classify(err)
			case code != http.StatusOK:
				o.reason = "http " + strconv.Itoa(code)
			case buf.Len() > MaxBody:
				o.reason = "http: response over 4 MiB"
			default:
				e.check(buf.Bytes(), user, &o)
			}
			if buf.Cap() <= 64<<10 {
				e.bufs.Put(buf)
			}
		}
	}
	o.latency = time.Since(intended)
	e.rec.record(o)
	if e.out != nil {
		r := vegeta.Result{
			Attack: "loadbench", Seq: seq, Code: uint16(code), Timestamp: intended, Latency: o.latency,
			BytesOut: uint64(o.bytesOut), BytesIn: uint64(o.bytesIn), Error: o.reason,
			Method: http.MethodPost, URL: e.a.httpURL,
		}
		if o.reason != "" && code == http.StatusOK {
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
	if err := json.Unmarshal(b, &r); err != nil {
		o.reason = "http: bad json"
		return
	}
	o.factoryID = r.FactoryID
	if r.UserID != e.pool.ids[me] || r.ThreadID != e.pool.threads[me] {
		o.reason = "http: response has foreign ids"
		if o.violations == 0 {
			o.violations = 1
			o.violation = fmt.Sprintf("response for %s has user_id %q thread_id %q", e.pool.ids[me], r.UserID, r.ThreadID)
		}
		return
	}
	if r.RunID == "" {
		o.reason = "http: no run_id"
		return
	}
	for i := range r.Events {
		if reason, foreignIDs := e.pool.checkEvent(&r.Events[i], i, me, r.RunID); reason != "" {
			o.reason = "http: " + reason
			if foreignIDs && o.violations == 0 {
				o.violations = 1
				o.violation = "foreign ids in " + r.Events[i].Type
			}
			return
		}
	}
	if len(r.Events) != len(eventTypes) {
		o.reason = fmt.Sprintf("http: %d events, want 5", len(r.Events))
	}
}

// locate names where in a response body the foreign data is (rare path).
func (e *httpEngine) locate(b []byte, me int) string {
	var r struct {
		Events []wireEvent      `json:"events"`
		Result *json.RawMessage `json:"result"`
	}
	if json.Unmarshal(b, &r) != nil {
		return "response"
	}
	for _, ev := range r.Events {
		if e.pool.foreign(ev.Data, me) != "" {
			return ev.Type + ".data"
		}
	}
	if r.Result != nil && e.pool.foreign(*r.Result, me) != "" {
		return "result"
	}
	return "response"
}

// classify collapses a transport error into a short, stable reason.
func classify(err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	case errors.Is(err, context.Canceled):
		return "canceled"
	case errors.Is(err, syscall.ECONNRESET):
		return "connection reset"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.EPIPE):
		return "broken pipe"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "connection closed"
	}
	for {
		u := errors.Unwrap(err)
		if u == nil {
			break
		}
		err = u
	}
	s := err.Error()
	if len(s) > 60 {
		s = s[:60]
	}
	return s
}

// run sends chats until the schedule ends (rated mode), sendCtx is done
// (throughput mode), ctx is cancelled or the budget is spent, and returns
// when every chat sent has been recorded. reqCtx aborts chats in flight.
func (e *httpEngine) run(ctx, sendCtx, reqCtx context.Context, began time.Time) {
	var wg sync.WaitGroup
	if e.a.httpRate == Max {
		var seq atomicSeq
		for range e.a.workers {
			wg.Go(func() {
				for sendCtx.Err() == nil && e.live.take(e.a.maxRequests) {
					n := seq.next()
					e.do(reqCtx, int(n%uint64(len(e.pool.ids))), time.Now(), n)
				}
			})
		}
		wg.Wait()
		return
	}
	schedule(ctx, e.a.httpRate, e.a.duration, began, e.live, e.a.maxRequests, func(n uint64, intended time.Time) {
		wg.Go(func() { e.do(reqCtx, int(n%uint64(len(e.pool.ids))), intended, n) })
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
