package loadbench_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/loadbench/loadbench"
	"github.com/loadbench/loadbench/internal/compare"
	"github.com/loadbench/loadbench/results"
	"github.com/loadbench/loadbench/targets"
)

// userRecorder is a reverse proxy in front of a target that records the
// user id prefix of every HTTP chat it forwards.
type userRecorder struct {
	mu       sync.Mutex
	prefixes map[string]int
}

func (u *userRecorder) serve(t *testing.T, target string) *httptest.Server {
	t.Helper()
	to, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(to)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && r.Body != nil {
			body, _ := io.ReadAll(r.Body)
			r.Body = io.NopCloser(bytes.NewReader(body))
			var chat struct {
				UserID string `json:"user_id"`
			}
			if json.Unmarshal(body, &chat) == nil && chat.UserID != "" {
				u.mu.Lock()
				u.prefixes[strings.TrimRight(chat.UserID, "0123456789")]++
				u.mu.Unlock()
			}
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// take returns the prefixes seen since the last take, sorted.
func (u *userRecorder) take() []string {
	u.mu.Lock()
	defer u.mu.Unlock()
	got := slices.Sorted(maps.Keys(u.prefixes))
	u.prefixes = map[string]int{}
	return got
}

// A stored, undecided compare of 2 rounds continued by 2: 4 rounds under
// the same seed, the new rounds numbered 3 and 4 with their own user ids
// and the build order going on, the plan's MaxRounds raised and the
// continuation recorded, and the summary recomputed over all 4. The stored
// run's URLs are used when none are given.
func TestContinue(t *testing.T) {
	if testing.Short() {
		t.Skip("two short compares of two targets take seconds")
	}
	rec := &userRecorder{prefixes: map[string]int{}}
	base := startTarget(t, targets.ImplPerRequest)
	cand := rec.serve(t, startTarget(t, targets.ImplPerRequest).URL)
	dir := filepath.Join(t.TempDir(), "run")
	const seed = 4242
	// An alpha this small decides nothing in 2 rounds: the run stays
	// inconclusive, as the continuation wants.
	o := loadbench.CompareOptions{
		MinRounds: 2, MaxDuration: 16 * time.Second, // 2 rounds of the plan below
		RoundDuration: 300 * time.Millisecond, NoWarmup: true, Settle: 20 * time.Millisecond,
		HTTPRate: loadbench.PerSecond(80), WSRate: loadbench.PerSecond(80), Users: 4,
		Alpha: 1e-6, Seed: seed, Dir: dir,
	}
	if p, err := o.Plan(); err != nil || p.MaxRounds != 2 {
		t.Fatalf("plan: %d rounds at most, %v; want 2", p.MaxRounds, err)
	}
	first, err := loadbench.Compare(context.Background(), base.URL, cand.URL, o)
	if err != nil {
		t.Fatal(err)
	}
	if first.Verdict != loadbench.Inconclusive || first.Rounds != 2 {
		t.Fatalf("first compare: %s after %d rounds, want inconclusive after 2", first.Verdict, first.Rounds)
	}
	if got, want := rec.take(), []string{compare.UserPrefix(seed, 1), compare.UserPrefix(seed, 2)}; !slices.Equal(got, want) {
		t.Fatalf("first compare's user prefixes %q, want %q", got, want)
	}

	refused := filepath.Join(t.TempDir(), "refused")
	if err := os.CopyFS(refused, os.DirFS(dir)); err != nil {
		t.Fatal(err)
	}

	// Time enough for a loaded machine: the rounds, not the time, end it.
	const ample = 5 * time.Minute
	c, err := loadbench.Continue(context.Background(), dir, loadbench.ContinueOptions{MaxRounds: 4, MaxDuration: ample})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := rec.take(), []string{compare.UserPrefix(seed, 3), compare.UserPrefix(seed, 4)}; !slices.Equal(got, want) {
		t.Errorf("continuation's user prefixes %q, want %q (rounds 3 and 4 of the same seed)", got, want)
	}
	if c.Rounds != 4 || c.Summary.Rounds != 4 || c.Summary.Seed != seed || c.Partial {
		t.Errorf("continued: %d rounds (summary %d), seed %d, partial %t; want 4 complete rounds of seed %d",
			c.Rounds, c.Summary.Rounds, c.Summary.Seed, c.Partial, seed)
	}
	run, err := results.ReadRun(dir)
	if err != nil {
		t.Fatal(err)
	}
	p := run.Plan()
	if p.Seed != seed || p.MaxRounds != 4 || len(p.Continued) != 1 {
		t.Fatalf("stored plan: seed %d, max rounds %d, continued %+v; want seed %d, 4, one continuation", p.Seed, p.MaxRounds, p.Continued, seed)
	}
	if k := p.Continued[0]; k.AfterRound != 2 || k.AddedRounds != 2 || k.MaxRounds != 4 || k.MaxDuration.D() != ample || k.At.IsZero() {
		t.Errorf("continuation %+v, want after round 2, 2 rounds added, 4 at most, its time recorded", k)
	}
	if run.Rounds() != 4 || run.Summary == nil || run.Summary.Rounds != 4 || run.Summary.Seed != seed {
		t.Fatalf("stored run: %d rounds, summary %+v; want 4 rounds summarized", run.Rounds(), run.Summary)
	}
	// The order of the builds goes on alternating from the stored rounds.
	for r := 3; r <= 4; r++ {
		for _, b := range []string{results.Baseline, results.Candidate} {
			if got, want := run.Segment(b, r).Manifest.Order, run.Segment(b, r-2).Manifest.Order; got != want {
				t.Errorf("%s round %d ran %d of 2, round %d %d of 2: the order does not go on", b, r, got, r-2, want)
			}
		}
	}

	// A run cut short in round 2 (the candidate's segment missing) goes on
	// from round 1: round 2 is measured again, the stale segment replaced.
	cut := filepath.Join(t.TempDir(), "cut")
	if err := os.CopyFS(cut, os.DirFS(refused)); err != nil {
		t.Fatal(err)
	}
	stale := results.SegmentDir(cut, results.Baseline, 2)
	if err := os.RemoveAll(results.SegmentDir(cut, results.Candidate, 2)); err != nil {
		t.Fatal(err)
	}
	c, err = loadbench.Continue(context.Background(), cut, loadbench.ContinueOptions{MaxRounds: 3, MaxDuration: ample})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := rec.take(), []string{compare.UserPrefix(seed, 2), compare.UserPrefix(seed, 3)}; c.Rounds != 3 || !slices.Equal(got, want) {
		t.Errorf("cut-short run continued: %d rounds, user prefixes %q; want 3 rounds, %q", c.Rounds, got, want)
	}
	cutRun, err := results.ReadRun(cut)
	if err != nil {
		t.Fatal(err)
	}
	if k := cutRun.Plan().Continued; len(k) != 1 || k[0].AfterRound != 1 || k[0].AddedRounds != 1 {
		t.Errorf("cut-short run's continuation %+v, want after round 1, 1 round added", k)
	}
	if seg := cutRun.Segment(results.Baseline, 2); seg == nil || seg.Manifest.Start.Before(cutRun.Plan().Continued[0].At) {
		t.Errorf("%s was kept; want it measured again", stale)
	}

	// What cannot be continued is refused, and nothing is written.
	edit := func(t *testing.T, change func(p *results.Plan)) string {
		t.Helper()
		d := filepath.Join(t.TempDir(), "run")
		if err := os.CopyFS(d, os.DirFS(refused)); err != nil {
			t.Fatal(err)
		}
		var m results.Manifest
		if err := results.ReadJSON(filepath.Join(d, results.ManifestFile), &m); err != nil {
			t.Fatal(err)
		}
		change(m.Plan)
		if err := results.WriteJSON(filepath.Join(d, results.ManifestFile), m); err != nil {
			t.Fatal(err)
		}
		return d
	}
	for _, tc := range []struct {
		name, want string
		change     func(p *results.Plan)
		o          loadbench.ContinueOptions
	}{
		{"fixed rounds", "fixed 2 rounds", func(p *results.Plan) { p.Rounds, p.MaxRounds = 2, 0 }, loadbench.ContinueOptions{}},
		{"no seed", "seed", func(p *results.Plan) { p.Seed = 0 }, loadbench.ContinueOptions{}},
		{"header", "header Authorization, whose value is never stored", func(p *results.Plan) { p.Candidate.Headers = []string{"Authorization"} },
			loadbench.ContinueOptions{Baseline: loadbench.Side{Access: loadbench.Access{Header: http.Header{"Authorization": {"x"}}}}}},
		{"built-in", "built-in build \"perrequest\"", func(p *results.Plan) { p.Baseline.Build = "perrequest" }, loadbench.ContinueOptions{}},
		{"max rounds", "max rounds must be more than the 2 complete rounds", func(p *results.Plan) {}, loadbench.ContinueOptions{MaxRounds: 2}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := edit(t, tc.change)
			before, err := os.ReadFile(filepath.Join(d, results.ManifestFile))
			if err != nil {
				t.Fatal(err)
			}
			c, err := loadbench.Continue(context.Background(), d, tc.o)
			if c != nil || !errors.Is(err, loadbench.ErrUsage) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("continue: %v, %v; want a usage error saying %q", c, err, tc.want)
			}
			if after, _ := os.ReadFile(filepath.Join(d, results.ManifestFile)); !bytes.Equal(before, after) {
				t.Error("a refused continuation rewrote the manifest")
			}
		})
	}
}
