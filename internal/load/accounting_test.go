package load

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/loadbench/loadbench/results"
)

// TestFailedChatsStayOutOfLatency: a target that answers a third of the
// chats with a fast 502, lets a third time out and answers the rest after
// 40 ms. Latency (and the timeline's percentiles) hold the answered chats
// only; the failures are counted by class with their time to failure.
func TestFailedChatsStayOutOfLatency(t *testing.T) {
	f := newFake()
	var n atomic.Int64
	inner := f.handler()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch n.Add(1) % 3 {
		case 0:
			http.Error(w, "bad gateway", http.StatusBadGateway)
		case 1:
			select { // stalls past the chat's timeout
			case <-r.Context().Done():
			case <-time.After(600 * time.Millisecond):
			}
		default:
			time.Sleep(40 * time.Millisecond)
			inner.ServeHTTP(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	seg := runAttack(t, mustAttack(t, srv.URL, WithHTTPRate(60), WithWSRate(0), WithDuration(500*time.Millisecond),
		WithUsers(5), WithTimeout(300*time.Millisecond)))
	p := seg.Protocols[results.HTTP]
	if p.Requests != 30 || p.Success == 0 || p.Errors["http 502"] == 0 || p.Errors["timeout"] == 0 {
		t.Fatalf("requests %d success %d errors %v: want answered chats, 502s and timeouts", p.Requests, p.Success, p.Errors)
	}
	if p.Success+p.ErrorCount() != p.Requests {
		t.Errorf("success %d + errors %d != requests %d", p.Success, p.ErrorCount(), p.Requests)
	}
	if p.Latency.Count() != p.Success {
		t.Errorf("latency holds %d chats, want the %d answered ones only", p.Latency.Count(), p.Success)
	}
	if p.Latency.Min() < 40*time.Millisecond || p.Latency.Max() >= 300*time.Millisecond {
		t.Errorf("latency min %s max %s: fast 502s or timeouts leaked in", p.Latency.Min(), p.Latency.Max())
	}
	for class, want := range p.Errors {
		if got := p.Failed[class].Count(); got != want {
			t.Errorf("failed[%q] holds %d, want %d", class, got, want)
		}
	}
	if d := p.Failed["http 502"].Max(); d >= 40*time.Millisecond {
		t.Errorf("502s failed after %s, want fast", d)
	}
	if d := p.Failed["timeout"].Min(); d < 300*time.Millisecond {
		t.Errorf("timeouts failed after %s, want at least the 300ms timeout", d)
	}
	var errs int64
	for _, s := range seg.Timeline[results.HTTP] {
		errs += s.Errors
		if s.Requests > s.Errors && s.P50Ms < 40 {
			t.Errorf("second %d: p50 %.1fms holds failed chats", s.T, s.P50Ms)
		}
	}
	if errs != p.ErrorCount() {
		t.Errorf("timeline errors %d, want %d", errs, p.ErrorCount())
	}
	if r := p.TargetErrorRate(); r <= 0 || r >= 1 {
		t.Errorf("target error rate %v", r)
	}
}

// TestUnauthorizedIsAnErrorClass: a server that wants credentials gives
// the "http 401" class, charged to the target, and no latency at all.
func TestUnauthorizedIsAnErrorClass(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("WWW-Authenticate", "Bearer")
		http.Error(w, "unauthorized", http.StatusUnauthorized)
	}))
	t.Cleanup(srv.Close)
	seg := runAttack(t, mustAttack(t, srv.URL, WithHTTPRate(40), WithWSRate(0), WithDuration(250*time.Millisecond), WithUsers(2)))
	p := seg.Protocols[results.HTTP]
	if p.Requests != 10 || p.Errors["http 401"] != 10 || p.Success != 0 {
		t.Fatalf("requests %d success %d errors %v, want 10 × http 401", p.Requests, p.Success, p.Errors)
	}
	if p.Latency.Count() != 0 || p.TargetErrorRate() != 1 || p.GeneratorErrorCount() != 0 || seg.Isolation.Violations != 0 {
		t.Errorf("latency %d rate %v generator %d violations %d", p.Latency.Count(), p.TargetErrorRate(), p.GeneratorErrorCount(), seg.Isolation.Violations)
	}
}

// TestTLSErrorIsTheTargetsClass: a TLS server whose certificate the
// generator does not trust gives a "tls: …" class, never a violation.
func TestTLSErrorIsTheTargetsClass(t *testing.T) {
	srv := httptest.NewTLSServer(newFake().handler())
	t.Cleanup(srv.Close)
	seg := runAttack(t, mustAttack(t, srv.URL, WithHTTPRate(20), WithWSRate(0), WithDuration(250*time.Millisecond), WithUsers(2)))
	p := seg.Protocols[results.HTTP]
	var tlsErrs int64
	for class, n := range p.Errors {
		if strings.HasPrefix(class, "tls: ") {
			tlsErrs += n
		}
	}
	if p.Requests == 0 || tlsErrs != p.Requests || seg.Isolation.Violations != 0 || p.GeneratorErrorCount() != 0 {
		t.Errorf("requests %d errors %v violations %d: want every chat in a tls: class", p.Requests, p.Errors, seg.Isolation.Violations)
	}
}

// TestStalledTargetInFlightLimit: a target that answers nothing for 800 ms
// and a generator allowed 6 chats in flight. The chats due meanwhile are
// not sent, counted as the generator's, with their scheduled second in the
// timeline; the target is charged nothing.
func TestStalledTargetInFlightLimit(t *testing.T) {
	f := newFake()
	f.stall = 800 * time.Millisecond
	srv := startFake(t, f)
	seg := runAttack(t, mustAttack(t, srv.URL, WithHTTPRate(50), WithWSRate(50), WithDuration(500*time.Millisecond),
		WithUsers(4), WithMaxInFlight(6), WithTimeout(5*time.Second)))
	var sent, notSent, success, maxIn, tlNotSent int64
	for name, p := range seg.Protocols {
		sent += p.Requests
		notSent += p.NotSent
		success += p.Success
		maxIn += p.InFlightMax
		if p.TargetErrorCount() != 0 || p.TargetErrorRate() != 0 {
			t.Errorf("%s: target charged with %v", name, p.Errors)
		}
		if p.Errors[results.ErrInFlightLimit] != p.NotSent || p.GeneratorErrorCount() != p.NotSent {
			t.Errorf("%s: not sent %d, errors %v", name, p.NotSent, p.Errors)
		}
		if p.InFlightMax < 1 || p.InFlightMax > 6 || p.InFlightMean <= 0 || p.InFlightMean > 6 {
			t.Errorf("%s: in flight max %d mean %.2f", name, p.InFlightMax, p.InFlightMean)
		}
		if r := p.SuccessRatio(); r < 0 || r > 1 {
			t.Errorf("%s: success ratio %v", name, r)
		}
		for _, s := range seg.Timeline[name] {
			tlNotSent += s.NotSent
		}
	}
	if sent != 6 || success != 6 || notSent != 44 || tlNotSent != 44 {
		t.Errorf("sent %d success %d not sent %d (timeline %d), want 6, 6, 44, 44", sent, success, notSent, tlNotSent)
	}
	if maxIn > 6 {
		t.Errorf("in flight max over both protocols %d, over the limit", maxIn)
	}
	var txt bytes.Buffer
	if err := TextReport(seg)(&txt); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(txt.String(), "Not sent") || !strings.Contains(txt.String(), results.ErrInFlightLimit) {
		t.Errorf("report does not show the chats not sent:\n%s", txt.String())
	}
}

// TestSendLagSaturation: a dispatch throttled to one chat per 20 ms cannot
// meet a schedule of one per 10 ms, so every chat leaves later than the one
// before (deterministic: the lag grows by at least 10 ms a chat), and the
// generator is reported saturated. The same attack undisturbed records a
// send lag for every chat and stays under a generous limit.
func TestSendLagSaturation(t *testing.T) {
	srv := startFake(t, newFake())
	a := mustAttack(t, srv.URL, WithHTTPRate(100), WithWSRate(100), WithDuration(200*time.Millisecond), WithUsers(2))
	a.beforeSend = func() { time.Sleep(20 * time.Millisecond) }
	seg := runAttack(t, a)
	for name, p := range seg.Protocols {
		if p.SendLag.Count() != p.Requests || p.Requests != 20 {
			t.Errorf("%s: send lag of %d chats, requests %d", name, p.SendLag.Count(), p.Requests)
		}
		if !p.Saturated || p.SendLagLimit != DefaultMaxSendLag || p.SendLagP99() < 100*time.Millisecond {
			t.Errorf("%s: saturated %v limit %s p99 lag %s, want saturated", name, p.Saturated, p.SendLagLimit, p.SendLagP99())
		}
		if p.TargetErrorCount() != 0 {
			t.Errorf("%s: errors %v", name, p.Errors)
		}
	}
	var txt bytes.Buffer
	if err := TextReport(seg)(&txt); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(txt.String(), "SATURATED") {
		t.Errorf("report does not say the generator was saturated:\n%s", txt.String())
	}

	calm := runAttack(t, mustAttack(t, srv.URL, WithHTTPRate(40), WithWSRate(40), WithDuration(250*time.Millisecond),
		WithUsers(2), WithMaxSendLag(time.Second)))
	for name, p := range calm.Protocols {
		if p.SendLag.Count() != p.Requests || p.Saturated {
			t.Errorf("%s: send lag of %d chats of %d, saturated %v (p99 %s)", name, p.SendLag.Count(), p.Requests, p.Saturated, p.SendLagP99())
		}
	}
}

// TestWSDialFailureCountsOnce: after its first connection drops, a target
// refuses every WebSocket upgrade slowly (chats queue meanwhile). Each
// refused dial counts once, in ConnErrors; the chats it failed count once
// each, so the error rate stays within 100%.
func TestWSDialFailureCountsOnce(t *testing.T) {
	f := newFake()
	f.dropWS.Store(1)
	inner := f.handler()
	var upgrades, refused atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == DefaultWSPath && upgrades.Add(1) > 1 {
			time.Sleep(150 * time.Millisecond)
			refused.Add(1)
			http.Error(w, "unavailable", http.StatusServiceUnavailable)
			return
		}
		inner.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	seg := runAttack(t, mustAttack(t, srv.URL, WithHTTPRate(0), WithWSRate(20), WithDuration(500*time.Millisecond), WithUsers(1),
		WithTimeout(2*time.Second)))
	p := seg.Protocols[results.WS]
	const reason = "ws: dial: http 503"
	if refused.Load() == 0 || p.ConnErrors[reason] != refused.Load() {
		t.Errorf("conn errors %v, want %q × %d (the refused dials)", p.ConnErrors, reason, refused.Load())
	}
	if p.Errors[reason] <= p.ConnErrors[reason] {
		t.Errorf("errors %v: want more chats failed than dials refused (chats queued behind a slow dial)", p.Errors)
	}
	if p.Requests != 10 || p.Success+p.ErrorCount() != p.Requests || p.ErrorCount() > p.Requests {
		t.Errorf("requests %d success %d errors %v", p.Requests, p.Success, p.Errors)
	}
	if r := p.TargetErrorRate(); r < 0 || r > 1 {
		t.Errorf("target error rate %v", r)
	}
	if r := Summarize(seg).Protocols[results.WS].Success; r < 0 || r > 1 {
		t.Errorf("success ratio %v", r)
	}
}

// TestEventGap: a target that pauses 150 ms between the second and third
// events of every chat breaks the 100 ms limit on both protocols (HTTP read
// from the events' timestamps); one that pauses 10 ms does not.
func TestEventGap(t *testing.T) {
	if testing.Short() {
		t.Skip("about 2 s of load")
	}
	for _, c := range []struct {
		pause time.Duration
		bad   bool
	}{{150 * time.Millisecond, true}, {10 * time.Millisecond, false}} {
		t.Run(c.pause.String(), func(t *testing.T) {
			f := newFake()
			f.pause = c.pause
			srv := startFake(t, f)
			seg := runAttack(t, mustAttack(t, srv.URL, WithHTTPRate(20), WithWSRate(20), WithDuration(500*time.Millisecond), WithUsers(10)))
			for name, p := range seg.Protocols {
				if p.Requests != 10 || p.Success != 10 || p.MaxEventGap != DefaultMaxEventGap {
					t.Errorf("%s: requests %d success %d errors %v limit %s", name, p.Requests, p.Success, p.Errors, p.MaxEventGap)
				}
				want := int64(0)
				if c.bad {
					want = p.Requests
				}
				if p.TimingViolations != want {
					t.Errorf("%s: %d timing violations %q, want %d", name, p.TimingViolations, p.TimingExamples, want)
				}
				if c.bad && (len(p.TimingExamples) == 0 || !strings.Contains(p.TimingExamples[0], "between two events")) {
					t.Errorf("%s: examples %q", name, p.TimingExamples)
				}
			}
		})
	}
}

// TestEventGapDisabled: 0 turns the check off.
func TestEventGapDisabled(t *testing.T) {
	f := newFake()
	f.pause = 120 * time.Millisecond
	srv := startFake(t, f)
	seg := runAttack(t, mustAttack(t, srv.URL, WithHTTPRate(20), WithWSRate(0), WithDuration(250*time.Millisecond), WithUsers(2), WithMaxEventGap(0)))
	if p := seg.Protocols[results.HTTP]; p.TimingViolations != 0 || p.Success != 5 {
		t.Errorf("violations %d success %d, want none with the check off", p.TimingViolations, p.Success)
	}
}

// TestSlowRedialIsATimingViolation: a target that takes 100 ms to accept a
// redial breaks a 30 ms redial limit.
func TestSlowRedialIsATimingViolation(t *testing.T) {
	f := newFake()
	f.dropWS.Store(1)
	inner := f.handler()
	var upgrades atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == DefaultWSPath && upgrades.Add(1) > 1 {
			time.Sleep(100 * time.Millisecond)
		}
		inner.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	seg := runAttack(t, mustAttack(t, srv.URL, WithHTTPRate(0), WithWSRate(10), WithDuration(500*time.Millisecond), WithUsers(1),
		WithRedialWithin(30*time.Millisecond)))
	p := seg.Protocols[results.WS]
	if p.Redials != 1 || p.TimingViolations != 1 || len(p.TimingExamples) != 1 || !strings.Contains(p.TimingExamples[0], "redial took") {
		t.Errorf("redials %d timing violations %d %q, want one slow redial", p.Redials, p.TimingViolations, p.TimingExamples)
	}
	if p.RedialWithin != 30*time.Millisecond {
		t.Errorf("redial limit %s", p.RedialWithin)
	}
}

func TestClassifyGeneratorAndTarget(t *testing.T) {
	t.Parallel()
	op := func(err error) error {
		return &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", err)}
	}
	for _, c := range []struct {
		err  error
		want string
	}{
		{op(syscall.EADDRNOTAVAIL), results.ErrNoFreePort},
		{op(syscall.EMFILE), results.ErrNoFileDescriptor},
		{fmt.Errorf("dial: %w", op(syscall.ENFILE)), results.ErrNoFileDescriptor},
		{op(syscall.ECONNREFUSED), "connection refused"},
		{op(syscall.ECONNRESET), "connection reset"},
		{context.DeadlineExceeded, "timeout"},
		{fmt.Errorf("tls: %w", x509.UnknownAuthorityError{}), "tls: certificate signed by an unknown authority"},
		{errors.New("something else"), "something else"},
	} {
		got := classify(c.err)
		if got != c.want {
			t.Errorf("classify(%v) = %q, want %q", c.err, got, c.want)
		}
		if gen := results.IsGeneratorError(got); gen != strings.HasPrefix(c.want, results.GeneratorErrorPrefix) {
			t.Errorf("%q: generator %v", got, gen)
		}
	}
}

// TestRatiosStayWithinBounds feeds random mixes of answered, failed (the
// target's and the generator's), not-sent chats and failed dials to a
// recorder and checks, for each and for their merge, that every ratio is
// within 0–1 and every count adds up (seeded: reproducible).
func TestRatiosStayWithinBounds(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(10, 12))
	users, err := newPool(DefaultUserPrefix, 3)
	if err != nil {
		t.Fatal(err)
	}
	classes := []string{"", "", "", "http 502", "timeout", results.ErrNoFreePort, "ws: dial: http 503"}
	check := func(i int, p *results.Protocol) {
		t.Helper()
		for name, r := range map[string]float64{"success": p.SuccessRatio(), "target error": p.TargetErrorRate()} {
			if r < 0 || r > 1 {
				t.Fatalf("case %d: %s ratio %v out of 0–1: %+v", i, name, r, p)
			}
		}
		if p.Success+p.ErrorCount()-p.NotSent != p.Requests || p.Latency.Count() != p.Success {
			t.Fatalf("case %d: requests %d success %d errors %v not sent %d latency %d", i, p.Requests, p.Success, p.Errors, p.NotSent, p.Latency.Count())
		}
		var failed int64
		for _, h := range p.Failed {
			failed += h.Count()
		}
		if failed != p.ErrorCount() || p.TargetErrorCount()+p.GeneratorErrorCount() != p.ErrorCount() {
			t.Fatalf("case %d: failed %d, errors %v", i, failed, p.Errors)
		}
	}
	merged := results.NewProtocol(results.WS)
	for i := range 200 {
		r := newRecorder(results.WS, time.Now(), &counters{}, users)
		for range rng.IntN(50) {
			switch k := rng.IntN(10); {
			case k == 0:
				r.notSent(time.Now())
			case k == 1:
				r.dialFailed("ws: dial: http 503")
			default:
				r.record(outcome{intended: time.Now(), latency: time.Duration(rng.IntN(1e9)), first: -1, lag: -1,
					reason: classes[rng.IntN(len(classes))]})
			}
		}
		p, _, _ := r.finish()
		check(i, p)
		merged.Merge(p)
		check(i, merged)
	}
}
