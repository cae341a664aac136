package results

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func testSegment(build string, round int, lat ...time.Duration) *Segment {
	s := &Segment{Manifest: NewManifest("segment", nil), Protocols: map[string]*Protocol{}, Timeline: Timeline{}}
	s.Manifest.Build, s.Manifest.Round = build, round
	p := NewProtocol(HTTP)
	for _, d := range lat {
		p.Latency.Record(d)
		p.Requests++
		p.Success++
	}
	p.Errors["http 500"] = 1
	p.Duration = time.Second
	s.Protocols[HTTP] = p
	s.Timeline[HTTP] = []Second{{T: 0, Requests: int64(len(lat)), P50Ms: 1, P99Ms: 2}}
	s.Isolation = Isolation{Checked: int64(len(lat)), FactoryIDs: []string{"f-" + build}, DistinctFactoryIDs: 1}
	s.Memory = &Memory{Before: Snapshot{HeapLiveBytes: 1000}, After: Snapshot{HeapLiveBytes: 5000}, Requests: int64(len(lat))}
	return s
}

func TestHistogramQuantilesAndJSONRoundTrip(t *testing.T) {
	t.Parallel()
	h := NewHistogram()
	for i := 1; i <= 1000; i++ {
		h.Record(time.Duration(i) * time.Millisecond)
	}
	if got := h.Quantile(0.5); got < 499*time.Millisecond || got > 501*time.Millisecond {
		t.Errorf("p50 = %v, want ~500ms", got)
	}
	if got := h.Quantile(0.99); got < 989*time.Millisecond || got > 991*time.Millisecond {
		t.Errorf("p99 = %v, want ~990ms", got)
	}
	data, err := h.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(data), `"HISTF`) {
		t.Errorf("encoding %.20s..., want the standard base64 V2 compressed form", data)
	}
	var back Histogram
	if err := back.UnmarshalJSON(data); err != nil {
		t.Fatal(err)
	}
	if back.Count() != 1000 || back.Quantile(0.99) != h.Quantile(0.99) || back.Max() != h.Max() {
		t.Errorf("round trip: count %d p99 %v max %v, want 1000 %v %v", back.Count(), back.Quantile(0.99), back.Max(), h.Quantile(0.99), h.Max())
	}
}

func TestHistogramClampsOutOfRange(t *testing.T) {
	t.Parallel()
	h := NewHistogram()
	h.Record(-time.Second)
	h.Record(time.Hour)
	if h.Count() != 2 {
		t.Fatalf("count %d, want 2", h.Count())
	}
	if h.Min() != 0 || h.Max() < HistogramMax-HistogramMax/100 {
		t.Errorf("min %v max %v, want 0 and ~%v", h.Min(), h.Max(), HistogramMax)
	}
}

func TestSegmentWriteReadMerge(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	a := testSegment(Baseline, 1, time.Millisecond, 2*time.Millisecond, 3*time.Millisecond)
	if err := WriteSegment(dir, a); err != nil {
		t.Fatal(err)
	}
	got, err := ReadSegment(dir)
	if err != nil {
		t.Fatal(err)
	}
	p := got.Protocols[HTTP]
	if p.Requests != 3 || p.Latency.Count() != 3 || p.Errors["http 500"] != 1 || got.Memory.RetainedBytes() != 4000 {
		t.Errorf("read back %+v memory %+v", p, got.Memory)
	}
	if got.Manifest.Build != Baseline || got.Manifest.Round != 1 {
		t.Errorf("manifest build/round %q/%d", got.Manifest.Build, got.Manifest.Round)
	}
	b := testSegment(Baseline, 1, 10*time.Millisecond)
	b.Isolation.FactoryIDs = []string{"f-other"}
	got.Merge(b)
	p = got.Protocols[HTTP]
	if p.Requests != 4 || p.Latency.Count() != 4 || p.Errors["http 500"] != 2 {
		t.Errorf("merged requests %d count %d errors %v", p.Requests, p.Latency.Count(), p.Errors)
	}
	if p.Latency.Max() < 9*time.Millisecond {
		t.Errorf("merged max %v, want the 10ms of the second segment", p.Latency.Max())
	}
	if got.Isolation.DistinctFactoryIDs != 2 || got.Isolation.Checked != 4 {
		t.Errorf("merged isolation %+v", got.Isolation)
	}
	if got.Timeline[HTTP][0].Requests != 4 {
		t.Errorf("merged timeline %+v", got.Timeline)
	}
}

func TestReadSegmentNamesMissingAndDamagedFiles(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := WriteSegment(dir, testSegment(Candidate, 2, time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	os.Remove(filepath.Join(dir, TimelineFile))
	_, err := ReadSegment(dir)
	if !errors.Is(err, ErrMissing) || !strings.Contains(err.Error(), TimelineFile) {
		t.Errorf("missing timeline: err = %v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, TimelineFile), []byte("{not json"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = ReadSegment(dir)
	if err == nil || !strings.Contains(err.Error(), TimelineFile) || !strings.Contains(err.Error(), "damaged") {
		t.Errorf("damaged timeline: err = %v", err)
	}
}

func TestWriteFileAtomicLeavesNoTemporaries(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "sub", "x.json")
	for i := 0; i < 3; i++ {
		if err := WriteJSON(path, map[string]int{"i": i}); err != nil {
			t.Fatal(err)
		}
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("dir holds %d entries, want only x.json", len(entries))
	}
	var v map[string]int
	if err := ReadJSON(path, &v); err != nil || v["i"] != 2 {
		t.Errorf("read %v, %v", v, err)
	}
}

func writeRun(t *testing.T, dir string, rounds int, lat time.Duration) *Run {
	t.Helper()
	m := NewManifest("compare", nil)
	m.Flags["budget"] = "5%"
	if err := WriteJSON(filepath.Join(dir, ManifestFile), m); err != nil {
		t.Fatal(err)
	}
	for r := 1; r <= rounds; r++ {
		for _, b := range []string{Baseline, Candidate} {
			if err := WriteSegment(SegmentDir(dir, b, r), testSegment(b, r, lat)); err != nil {
				t.Fatal(err)
			}
		}
	}
	run, err := ReadRun(dir)
	if err != nil {
		t.Fatal(err)
	}
	return run
}

func TestReadRunAndMergeRuns(t *testing.T) {
	t.Parallel()
	a := writeRun(t, t.TempDir(), 3, time.Millisecond)
	b := writeRun(t, t.TempDir(), 3, 5*time.Millisecond)
	if a.Rounds() != 3 || len(a.Segments) != 6 || a.Summary != nil {
		t.Fatalf("rounds %d segments %d summary %v", a.Rounds(), len(a.Segments), a.Summary)
	}
	m, err := MergeRuns(a, b)
	if err != nil {
		t.Fatal(err)
	}
	s := m.Segment(Candidate, 2)
	if s.Protocols[HTTP].Latency.Count() != 2 || s.Protocols[HTTP].Latency.Max() < 4*time.Millisecond {
		t.Errorf("merged candidate round 2: %d values, max %v", s.Protocols[HTTP].Latency.Count(), s.Protocols[HTTP].Latency.Max())
	}
	// The inputs are untouched.
	if a.Segment(Candidate, 2).Protocols[HTTP].Latency.Count() != 1 {
		t.Error("MergeRuns modified its input")
	}
	c := writeRun(t, t.TempDir(), 2, time.Millisecond)
	if _, err := MergeRuns(a, c); err == nil {
		t.Error("merging runs with different round counts succeeded")
	}
}

func TestReadRunKeepsCompleteRoundsOfACutRun(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeRun(t, dir, 2, time.Millisecond)
	// Round 3 was cut short: the baseline finished, the candidate left a partial directory.
	if err := WriteSegment(SegmentDir(dir, Baseline, 3), testSegment(Baseline, 3, time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(SegmentDir(dir, Candidate, 3), 0o755); err != nil {
		t.Fatal(err)
	}
	run, err := ReadRun(dir)
	if err != nil {
		t.Fatal(err)
	}
	if run.Rounds() != 2 {
		t.Errorf("rounds = %d, want the 2 complete ones", run.Rounds())
	}
	if _, err := ReadRun(t.TempDir()); !errors.Is(err, ErrMissing) || !strings.Contains(err.Error(), ManifestFile) {
		t.Errorf("empty dir: %v", err)
	}
}

// accountingSegment is a segment whose generator was saturated, hit its
// in-flight limit and ran out of ports, against a target that failed some
// chats itself.
func accountingSegment(build string, round int) *Segment {
	s := testSegment(build, round, time.Millisecond, 2*time.Millisecond)
	p := s.Protocols[HTTP]
	p.Errors[ErrInFlightLimit] = 5
	p.Errors[ErrNoFreePort] = 1
	p.Requests++ // the chat that found no free port was sent
	p.NotSent = 5
	p.Failed = map[string]*Histogram{"http 500": NewHistogram(), ErrInFlightLimit: NewHistogram()}
	p.Failed["http 500"].Record(3 * time.Millisecond)
	p.Failed[ErrInFlightLimit].Record(0)
	p.SendLag = NewHistogram()
	for i := range 100 {
		p.SendLag.Record(time.Duration(i) * time.Millisecond)
	}
	p.CheckSaturation(20 * time.Millisecond)
	p.InFlightMax, p.InFlightMean = 8, 2.5
	p.TimingViolations, p.TimingExamples = 1, []string{"http: 150ms between two events"}
	p.ConnErrors = map[string]int64{"ws: dial: http 503": 2}
	return s
}

func TestProtocolAccountingAndMerge(t *testing.T) {
	t.Parallel()
	a := accountingSegment(Baseline, 1)
	p := a.Protocols[HTTP]
	if !p.Saturated || p.SendLagLimit != 20*time.Millisecond {
		t.Errorf("saturated %v limit %s p99 %s", p.Saturated, p.SendLagLimit, p.SendLagP99())
	}
	if p.TargetErrorCount() != 1 || p.GeneratorErrorCount() != 6 || p.TargetErrorRate() != 1.0/3 {
		t.Errorf("target %d generator %d rate %v", p.TargetErrorCount(), p.GeneratorErrorCount(), p.TargetErrorRate())
	}
	if r := p.SuccessRatio(); r != 2.0/8 {
		t.Errorf("success ratio %v, want 2 of 8 scheduled", r)
	}
	dir := t.TempDir()
	if err := WriteSegment(dir, a); err != nil {
		t.Fatal(err)
	}
	back, err := ReadSegment(dir)
	if err != nil {
		t.Fatal(err)
	}
	q := back.Protocols[HTTP]
	if q.NotSent != 5 || !q.Saturated || q.SendLag.Count() != 100 || q.Failed["http 500"].Count() != 1 || q.InFlightMax != 8 ||
		q.TimingViolations != 1 || q.ConnErrors["ws: dial: http 503"] != 2 {
		t.Errorf("round trip lost fields: %+v", q)
	}
	m := &Segment{}
	m.Merge(back)
	m.Merge(accountingSegment(Baseline, 1))
	mp := m.Protocols[HTTP]
	if mp.NotSent != 10 || mp.SendLag.Count() != 200 || mp.Failed[ErrInFlightLimit].Count() != 2 || !mp.Saturated ||
		mp.InFlightMax != 16 || mp.InFlightMean != 5 || mp.TimingViolations != 2 || len(mp.TimingExamples) != 2 ||
		mp.ConnErrors["ws: dial: http 503"] != 4 || mp.SendLagLimit != 20*time.Millisecond {
		t.Errorf("merge: %+v", mp)
	}
	if r := mp.SuccessRatio(); r < 0 || r > 1 {
		t.Errorf("merged success ratio %v", r)
	}
}

func TestAccountAndGeneratorWarnings(t *testing.T) {
	t.Parallel()
	run := &Run{Segments: []*Segment{accountingSegment(Baseline, 1), testSegment(Candidate, 1, time.Millisecond)}}
	acc := Account(run)
	b, c := acc[Baseline][HTTP], acc[Candidate][HTTP]
	if b.Segments != 1 || b.TargetErrors != 1 || b.GeneratorErrors != 6 || b.NotSent != 5 || b.SaturatedSegments != 1 ||
		b.InFlightMax != 8 || b.TopTargetError != "http 500" || b.SendLagP99Ms < 20 || b.TimingViolations != 1 || b.ConnErrors != 2 {
		t.Errorf("baseline accounting %+v", b)
	}
	if c.GeneratorErrors != 0 || c.SaturatedSegments != 0 || c.TargetErrors != 1 {
		t.Errorf("candidate accounting %+v", c)
	}
	sum := &Summary{Warnings: []string{"earlier"}}
	AddAccounting(run, sum)
	AddAccounting(run, sum) // idempotent
	if len(sum.Warnings) != 3 || !strings.Contains(sum.Warnings[1], "baseline round 1 http: the generator was saturated") ||
		!strings.Contains(sum.Warnings[2], "6 chats failed or not sent because of the generator (5 not sent") {
		t.Errorf("warnings %q", sum.Warnings)
	}
	if sum.Load[Baseline][HTTP] != b {
		t.Errorf("summary load %+v", sum.Load)
	}
}

func TestIsolationMergeByProtocol(t *testing.T) {
	t.Parallel()
	var i Isolation
	i.Merge(Isolation{Checked: 10, Violations: 1, Protocols: map[string]IsolationCount{WS: {Checked: 10, Violations: 1}}})
	i.Merge(Isolation{Checked: 5, Protocols: map[string]IsolationCount{HTTP: {Checked: 5}}})
	i.Merge(Isolation{Checked: 7, Violations: 2, Protocols: map[string]IsolationCount{WS: {Checked: 7, Violations: 2}}})
	if i.Checked != 22 || i.Violations != 3 {
		t.Errorf("totals %d checked, %d violations", i.Checked, i.Violations)
	}
	if got := i.Protocols[WS]; got != (IsolationCount{Checked: 17, Violations: 3}) {
		t.Errorf("ws %+v", got)
	}
	if got := i.Protocols[HTTP]; got != (IsolationCount{Checked: 5}) {
		t.Errorf("http %+v", got)
	}
}

func TestIsolationVerdictProtocolText(t *testing.T) {
	t.Parallel()
	v := IsolationVerdict{Protocols: map[string]ProtocolIsolation{
		WS:     {Checked: 30, Violations: 2, Verdict: Fail},
		"grpc": {Checked: 1, Verdict: Pass},
		HTTP:   {Checked: 10, Verdict: Pass},
	}}
	if got, want := v.ProtocolText(), "http pass: 0 of 10; ws fail: 2 of 30; grpc pass: 0 of 1"; got != want {
		t.Errorf("ProtocolText() = %q, want %q", got, want)
	}
	if got := (IsolationVerdict{}).ProtocolText(); got != "" {
		t.Errorf("no protocols: %q", got)
	}
}

func TestLatencyCheckName(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		v    LatencyVerdict
		want string
	}{
		{LatencyVerdict{Protocol: HTTP, Percentile: 99}, "http p99"},
		{LatencyVerdict{Protocol: WS, Percentile: 99.9}, "ws p99.9"},
		{LatencyVerdict{Protocol: WS, Percentile: 50}, "ws p50"},
	} {
		if got := c.v.Check(); got != c.want {
			t.Errorf("Check() = %q, want %q", got, c.want)
		}
	}
}
