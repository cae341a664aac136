package loadbench_test

// One test per misleading message of the issue "One compare, typed from
// flag to verdict", each pinning the fixed behaviour.

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/loadbench/loadbench"
	"github.com/loadbench/loadbench/results"
	"github.com/loadbench/loadbench/targets"
)

// fieldError checks that err is a *FieldError about field of op, wrapping
// ErrUsage, and returns it.
func fieldError(t *testing.T, name, op, field string, err error) *loadbench.FieldError {
	t.Helper()
	fe, ok := errors.AsType[*loadbench.FieldError](err)
	switch {
	case !ok:
		t.Errorf("%s: err %v (%T), want a *FieldError about %q", name, err, err, field)
		return nil
	case fe.Op != op || fe.Field != field:
		t.Errorf("%s: FieldError{Op: %q, Field: %q}, want %q, %q (%v)", name, fe.Op, fe.Field, op, field, err)
	case !errors.Is(err, loadbench.ErrUsage):
		t.Errorf("%s: %v does not wrap ErrUsage", name, err)
	case err.Error() != op+": "+field+" "+fe.Problem:
		t.Errorf("%s: Error() = %q, want %q", name, err, op+": "+field+" "+fe.Problem)
	}
	return fe
}

// (a) Setting WSRate alone sends WebSocket chats only: the HTTP rate that
// was left zero is off, not the default.
func TestAttackWSRateAloneSendsNoHTTP(t *testing.T) {
	tg := startTarget(t, targets.ImplPerRequest)
	res, err := loadbench.Attack(context.Background(), tg.URL, loadbench.Options{
		WSRate: loadbench.PerSecond(5), Users: 2, Duration: 600 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	if p, ok := res.Protocol(loadbench.HTTP); ok {
		t.Errorf("HTTP attacked with only WSRate set: %d chats", p.Chats)
	}
	if _, ok := res.Segment.Protocols[results.HTTP]; ok {
		t.Error("the segment holds HTTP results")
	}
	ws, ok := res.Protocol(loadbench.WebSocket)
	if !ok || ws.Chats == 0 || ws.Errors != 0 || len(res.Protocols) != 1 {
		t.Fatalf("protocols %+v, want ws alone with its chats answered", res.Protocols)
	}
}

// (b) Both rates off is an error that says so.
func TestBothRatesOff(t *testing.T) {
	t.Parallel()
	off := loadbench.Off()
	_, err := loadbench.Attack(context.Background(), "http://127.0.0.1:1", loadbench.Options{HTTPRate: off, WSRate: off})
	if want := "attack: both rates are off: nothing to send"; err == nil || err.Error() != want || !errors.Is(err, loadbench.ErrUsage) {
		t.Errorf("Attack: err %v, want %q wrapping ErrUsage", err, want)
	}
	_, err = loadbench.Compare(context.Background(), "http://127.0.0.1:1", "http://127.0.0.1:2",
		loadbench.CompareOptions{HTTPRate: off, WSRate: off})
	if want := "compare: both rates are off: nothing to send"; err == nil || err.Error() != want || !errors.Is(err, loadbench.ErrUsage) {
		t.Errorf("Compare: err %v, want %q wrapping ErrUsage", err, want)
	}
	if _, err := (loadbench.CompareOptions{HTTPRate: off, WSRate: off}).Plan(); err == nil || !strings.Contains(err.Error(), "both rates are off") {
		t.Errorf("Plan: err %v", err)
	}
}

// (c) A compare refuses Max with an error that does not offer Max as a way
// out; a bad rate's error offers no sentinel either.
func TestCompareRefusesMax(t *testing.T) {
	t.Parallel()
	for _, o := range []loadbench.CompareOptions{
		{HTTPRate: loadbench.Max()},
		{WSRate: loadbench.Max()},
		{HTTPRate: loadbench.PerSecond(100), WSRate: loadbench.Max()},
	} {
		cmp, err := loadbench.Compare(context.Background(), "http://127.0.0.1:1", "http://127.0.0.1:2", o)
		switch {
		case cmp != nil || err == nil || !errors.Is(err, loadbench.ErrUsage):
			t.Errorf("%v/%v: cmp %v, err %v, want a usage error", o.HTTPRate, o.WSRate, cmp, err)
		case !strings.HasPrefix(err.Error(), "compare: rates must be fixed"):
			t.Errorf("%v/%v: %q does not say the rates must be fixed", o.HTTPRate, o.WSRate, err)
		case strings.Contains(err.Error(), "or Max") || strings.Contains(err.Error(), "Max()"):
			t.Errorf("%v/%v: %q offers Max", o.HTTPRate, o.WSRate, err)
		}
	}
	_, err := loadbench.Compare(context.Background(), "http://127.0.0.1:1", "http://127.0.0.1:2",
		loadbench.CompareOptions{HTTPRate: loadbench.PerSecond(-5)})
	if fe := fieldError(t, "negative rate", "compare", "http rate", err); fe != nil &&
		(strings.Contains(fe.Problem, "Max") || strings.Contains(fe.Problem, "Off")) {
		t.Errorf("negative rate: %q offers a sentinel", err)
	}
}

// (d) An invalid Arrivals prints its value and is a FieldError.
func TestArrivalsInvalid(t *testing.T) {
	t.Parallel()
	if got := loadbench.Arrivals(7).String(); got != "Arrivals(7)" {
		t.Errorf("Arrivals(7).String() = %q", got)
	}
	res, err := loadbench.Attack(context.Background(), "http://127.0.0.1:1", loadbench.Options{Arrivals: 7})
	if res != nil {
		t.Error("a result for bad input")
	}
	if fe := fieldError(t, "attack", "attack", "arrivals", err); fe != nil && !strings.Contains(fe.Problem, "Arrivals(7)") {
		t.Errorf("attack: %q does not name the value", err)
	}
	_, err = loadbench.Compare(context.Background(), "http://127.0.0.1:1", "http://127.0.0.1:2", loadbench.CompareOptions{Arrivals: 7})
	fieldError(t, "compare", "compare", "arrivals", err)
}

// (e) VegetaFile needs HTTP load: with HTTP off it is a FieldError, not a
// file silently left unwritten.
func TestVegetaFileWithoutHTTP(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "vegeta.bin")
	for _, o := range []loadbench.Options{
		{WSRate: loadbench.PerSecond(5), VegetaFile: path},
		{HTTPRate: loadbench.Off(), WSRate: loadbench.PerSecond(5), VegetaFile: path},
	} {
		res, err := loadbench.Attack(context.Background(), "http://127.0.0.1:1", o)
		if res != nil {
			t.Error("a result for bad input")
		}
		fieldError(t, "vegeta file", "attack", "vegeta file", err)
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("vegeta file: stat %v, want nothing written", err)
	}
}

// (e) A VegetaFile that cannot be written (under a regular file) is an
// error, not an attack that succeeds without its file.
func TestVegetaFileUnwritable(t *testing.T) {
	tg := startTarget(t, targets.ImplPerRequest)
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(file, "x.bin")
	res, err := loadbench.Attack(context.Background(), tg.URL, loadbench.Options{
		HTTPRate: loadbench.PerSecond(100), MaxRequests: 5, Duration: time.Second, VegetaFile: path,
	})
	if err == nil {
		t.Fatalf("Attack with VegetaFile %s succeeded (%d chats) without writing it", path, res.Chats())
	}
	if !strings.Contains(err.Error(), path) {
		t.Errorf("err %q does not name the file", err)
	}
	if errors.Is(err, loadbench.ErrUnreachable) {
		t.Errorf("err %v: the target was reachable", err)
	}
}

// (f) A WebSocket route the target answers with 404 is not "unreachable":
// the target answered, its handshake was refused.
func TestAttackWSHandshakeRefused(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.NotFoundHandler())
	t.Cleanup(srv.Close)
	res, err := loadbench.Attack(context.Background(), srv.URL, loadbench.Options{
		WSRate: loadbench.PerSecond(20), Users: 2, Duration: 300 * time.Millisecond,
	})
	switch {
	case err == nil:
		t.Fatalf("no error, result %+v", res)
	case errors.Is(err, loadbench.ErrUnreachable):
		t.Errorf("err %v wraps ErrUnreachable: the target answered", err)
	case errors.Is(err, loadbench.ErrUsage):
		t.Errorf("err %v wraps ErrUsage", err)
	case !strings.Contains(err.Error(), "the handshake was refused (ws: dial: http 404)"):
		t.Errorf("err %q does not say the handshake was refused with 404", err)
	}
	if res != nil && (res.Chats() != 0 || !res.Partial) {
		t.Errorf("result: %d chats, partial %t", res.Chats(), res.Partial)
	}
}

// (g) A compare cancelled after its first round returns the partial
// Comparison of that round, and its manifest says partial.
func TestCompareCancelledIsPartial(t *testing.T) {
	if testing.Short() {
		t.Skip("a compare of two targets takes seconds")
	}
	base, cand := startTarget(t, targets.ImplPerRequest), startTarget(t, targets.ImplPerRequest)
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var phases []loadbench.Phase
	cmp, err := loadbench.Compare(ctx, base.URL, cand.URL, loadbench.CompareOptions{
		Rounds: 3, RoundDuration: 600 * time.Millisecond, NoWarmup: true, Settle: 20 * time.Millisecond,
		HTTPRate: loadbench.PerSecond(50), WSRate: loadbench.PerSecond(50), Users: 5, Dir: dir,
		NoMemoryGate: true,
		Progress: func(p loadbench.CompareProgress) {
			if len(phases) == 0 || phases[len(phases)-1] != p.Phase {
				phases = append(phases, p.Phase)
			}
			if p.Round == 2 && p.Phase == loadbench.PhaseLoad {
				cancel()
			}
		},
	})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err %v, want the context's", err)
	}
	if cmp == nil {
		t.Fatal("no partial Comparison")
	}
	if !cmp.Partial || cmp.Rounds != 1 || cmp.Dir != dir || cmp.Summary == nil || !cmp.Summary.Partial {
		t.Errorf("partial %t, rounds %d, dir %q, summary %+v", cmp.Partial, cmp.Rounds, cmp.Dir, cmp.Summary)
	}
	if cmp.Verdict == 0 || len(cmp.Latency) != 6 {
		t.Errorf("verdict %v, %d latency rows", cmp.Verdict, len(cmp.Latency))
	}
	if m := cmp.Summary.Memory[results.Candidate]; m.Verdict != results.Info || !strings.Contains(m.Note, "memory gate off") {
		t.Errorf("NoMemoryGate: candidate memory %+v, want info", m)
	}
	var m results.Manifest
	if err := results.ReadJSON(filepath.Join(dir, results.ManifestFile), &m); err != nil {
		t.Fatal(err)
	}
	if !m.Partial || m.Plan == nil || m.Plan.MemoryGate || m.Plan.Rounds != 3 {
		t.Errorf("manifest: partial %t, plan %+v", m.Partial, m.Plan)
	}
	for _, b := range []string{results.Baseline, results.Candidate} {
		if _, err := os.Stat(results.SegmentDir(dir, b, 2)); err == nil {
			t.Errorf("the cut round 2 of the %s was written", b)
		}
	}
	if len(phases) == 0 || phases[0] != loadbench.PhaseStart {
		t.Errorf("phases %v, want start first", phases)
	}
}
