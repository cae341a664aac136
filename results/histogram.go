package results

import (
	"encoding/json"
	"fmt"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

// Histogram geometry: microsecond resolution, three significant digits, up
// to HistogramMax. Values above the maximum are recorded as the maximum.
const (
	HistogramMin     = time.Microsecond
	HistogramMax     = 10 * time.Minute
	HistogramSigFigs = 3
)

// Histogram is an HDR latency histogram in microseconds. It is not safe for
// concurrent use. It encodes to JSON as the standard base64 V2 compressed
// HdrHistogram form ("HISTFAAA..."), so other HdrHistogram tools can read it,
// and histograms from several runs or machines merge exactly.
type Histogram struct {
	h *hdrhistogram.Histogram
}

// NewHistogram returns an empty latency histogram.
func NewHistogram() *Histogram {
	return &Histogram{h: hdrhistogram.New(int64(HistogramMin/time.Microsecond), int64(HistogramMax/time.Microsecond), HistogramSigFigs)}
}

func (h *Histogram) lazy() *hdrhistogram.Histogram {
	if h.h == nil {
		h.h = NewHistogram().h
	}
	return h.h
}

// Record adds one latency. Negative values count as zero, values over
// HistogramMax as HistogramMax.
func (h *Histogram) Record(d time.Duration) {
	us := int64(d / time.Microsecond)
	if us < 0 {
		us = 0
	}
	if max := int64(HistogramMax / time.Microsecond); us > max {
		us = max
	}
	_ = h.lazy().RecordValue(us) // in range by construction
}

// Merge adds every value of o to h.
func (h *Histogram) Merge(o *Histogram) {
	if o == nil || o.h == nil {
		return
	}
	h.lazy().Merge(o.h)
}

// Count is the number of recorded values.
func (h *Histogram) Count() int64 {
	if h == nil || h.h == nil {
		return 0
	}
	return h.h.TotalCount()
}

// Quantile returns the latency at quantile q in [0, 1] (0.99 for p99), zero
// when empty.
func (h *Histogram) Quantile(q float64) time.Duration {
	if h.Count() == 0 {
		return 0
	}
	return time.Duration(h.h.ValueAtQuantile(q*100)) * time.Microsecond
}

// Min, Max and Mean of the recorded values; zero when empty.
func (h *Histogram) Min() time.Duration {
	if h.Count() == 0 {
		return 0
	}
	return time.Duration(h.h.Min()) * time.Microsecond
}

// Max is the largest recorded value (to the histogram's precision).
func (h *Histogram) Max() time.Duration {
	if h.Count() == 0 {
		return 0
	}
	return time.Duration(h.h.Max()) * time.Microsecond
}

// Mean is the mean of the recorded values.
func (h *Histogram) Mean() time.Duration {
	if h.Count() == 0 {
		return 0
	}
	return time.Duration(h.h.Mean() * float64(time.Microsecond))
}

// Clone returns an independent copy.
func (h *Histogram) Clone() *Histogram {
	c := NewHistogram()
	c.Merge(h)
	return c
}

// MarshalJSON encodes h as a base64 V2 compressed HdrHistogram string.
func (h *Histogram) MarshalJSON() ([]byte, error) {
	b, err := h.lazy().Encode(hdrhistogram.V2CompressedEncodingCookieBase)
	if err != nil {
		return nil, fmt.Errorf("encode histogram: %w", err)
	}
	return json.Marshal(string(b))
}

// UnmarshalJSON decodes the form written by MarshalJSON. A histogram of
// another geometry (range or significant digits) is refused, not
// re-binned: merging it would approximate, and a merge of histograms from
// several processes or machines must equal, bucket for bucket, one
// histogram that recorded every sample.
func (h *Histogram) UnmarshalJSON(data []byte) error {
	var s string
	if err := json.Unmarshal(data, &s); err != nil {
		return fmt.Errorf("decode histogram: %w", err)
	}
	d, err := hdrhistogram.Decode([]byte(s))
	if err != nil {
		return fmt.Errorf("decode histogram: %w", err)
	}
	want := NewHistogram().h
	if d.LowestTrackableValue() != want.LowestTrackableValue() || d.HighestTrackableValue() != want.HighestTrackableValue() ||
		d.SignificantFigures() != want.SignificantFigures() {
		return fmt.Errorf("decode histogram: range %d–%d µs at %d significant digits, not loadbench's %d–%d at %d: refused rather than approximated",
			d.LowestTrackableValue(), d.HighestTrackableValue(), d.SignificantFigures(),
			want.LowestTrackableValue(), want.HighestTrackableValue(), want.SignificantFigures())
	}
	h.h = d
	return nil
}

// Buckets returns the count of every bucket, in the histogram's order: two
// histograms of the same samples have equal buckets.
func (h *Histogram) Buckets() []int64 { return h.lazy().Export().Counts }

// Bucket is a run of recorded values the histogram holds as equal: Count
// values between From and To (inclusive, to the histogram's precision).
type Bucket struct {
	From, To time.Duration
	Count    int64
}

// Distribution returns the non-empty buckets in increasing order of
// value; their counts sum to Count.
func (h *Histogram) Distribution() []Bucket {
	if h.Count() == 0 {
		return nil
	}
	var out []Bucket
	for _, b := range h.h.Distribution() {
		if b.Count > 0 {
			out = append(out, Bucket{From: time.Duration(b.From) * time.Microsecond, To: time.Duration(b.To) * time.Microsecond, Count: b.Count})
		}
	}
	return out
}
