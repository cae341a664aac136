package results

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

// Histograms recorded in several processes (shards), each sent as JSON
// and merged, equal one histogram that recorded every sample, bucket for
// bucket: the merge loses nothing.
func TestMergedShardsEqualOneHistogram(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(21, 8))
	for _, shards := range []int{1, 2, 4, 8} {
		one := NewHistogram()
		parts := make([]*Histogram, shards)
		for i := range parts {
			parts[i] = NewHistogram()
		}
		for range 50_000 {
			// Log-normal latencies around 8 ms with a tail to seconds, and
			// the extremes the geometry clamps.
			d := time.Duration(8e6 * math.Exp(0.6*rng.NormFloat64()))
			switch rng.IntN(1000) {
			case 0:
				d = -time.Millisecond
			case 1:
				d = time.Hour
			}
			one.Record(d)
			parts[rng.IntN(shards)].Record(d)
		}
		merged := NewHistogram()
		for _, p := range parts {
			b, err := json.Marshal(p) // as a worker sends it
			if err != nil {
				t.Fatal(err)
			}
			var back Histogram
			if err := json.Unmarshal(b, &back); err != nil {
				t.Fatal(err)
			}
			merged.Merge(&back)
		}
		if !slices.Equal(merged.Buckets(), one.Buckets()) {
			t.Errorf("%d shards: merged buckets differ from one histogram's", shards)
		}
		for _, q := range []float64{0, 0.5, 0.95, 0.99, 0.999, 1} {
			if m, o := merged.Quantile(q), one.Quantile(q); m != o {
				t.Errorf("%d shards: quantile %v %s, one histogram %s", shards, q, m, o)
			}
		}
		if merged.Count() != one.Count() || merged.Mean() != one.Mean() {
			t.Errorf("%d shards: count %d mean %s, one histogram %d %s", shards, merged.Count(), merged.Mean(), one.Count(), one.Mean())
		}
	}
}

// A histogram of another geometry is refused when read, not re-binned.
func TestHistogramOfAnotherGeometryRefused(t *testing.T) {
	t.Parallel()
	for _, h := range []*hdrhistogram.Histogram{
		hdrhistogram.New(1, int64(HistogramMax/time.Microsecond), 2),    // fewer digits
		hdrhistogram.New(1, int64(time.Minute/time.Microsecond), 3),     // another range
		hdrhistogram.New(1000, int64(HistogramMax/time.Microsecond), 3), // another lowest value
	} {
		_ = h.RecordValue(8000)
		b, err := h.Encode(hdrhistogram.V2CompressedEncodingCookieBase)
		if err != nil {
			t.Fatal(err)
		}
		js, _ := json.Marshal(string(b))
		var got Histogram
		if err := json.Unmarshal(js, &got); err == nil || !strings.Contains(err.Error(), "refused rather than approximated") {
			t.Errorf("geometry %d–%d at %d digits: err %v, want refused", h.LowestTrackableValue(), h.HighestTrackableValue(), h.SignificantFigures(), err)
		}
	}
}

// A segment whose generators started too far apart is flagged in the
// warnings of its run.
func TestSkewInvalidSegmentWarned(t *testing.T) {
	t.Parallel()
	s := &Segment{Manifest: Manifest{Build: Baseline, Round: 2, SkewInvalid: true, StartSpread: 30 * time.Millisecond}}
	ok := &Segment{Manifest: Manifest{Build: Candidate, Round: 2, StartSpread: time.Millisecond}}
	w := GeneratorWarnings(&Run{Segments: []*Segment{s, ok}})
	if len(w) != 1 || !strings.Contains(w[0], "baseline round 2") || !strings.Contains(w[0], "30ms") {
		t.Fatalf("warnings %q", w)
	}
}
