package dist

import (
	"encoding/json"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/loadbench/loadbench/results"
)

// Segments of shards, sent as the protocol's result messages and merged by
// the coordinator, equal one segment that recorded every chat: histograms
// bucket for bucket, counts, error classes and isolation findings; a
// saturated shard marks the merge saturated.
func TestCoordinatorMergeIsLossless(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(21, 1))
	for _, n := range []int{1, 2, 4, 8} {
		one := results.NewProtocol(results.WS)
		parts := make([]*results.Segment, n)
		for i := range parts {
			parts[i] = &results.Segment{
				Manifest:  results.NewManifest("attack", nil),
				Protocols: map[string]*results.Protocol{results.WS: results.NewProtocol(results.WS)},
			}
		}
		var checked, violations int64
		for range 20_000 {
			i := rng.IntN(n)
			p := parts[i].Protocols[results.WS]
			lat := time.Duration(rng.ExpFloat64() * 8e6)
			lag := time.Duration(rng.ExpFloat64() * 3e5)
			for _, q := range []*results.Protocol{one, p} {
				q.Requests++
				q.SendLag.Record(lag)
			}
			if lat > 40*time.Millisecond {
				for _, q := range []*results.Protocol{one, p} {
					q.Errors["timeout"]++
					if q.Failed["timeout"] == nil {
						q.Failed["timeout"] = results.NewHistogram()
					}
					q.Failed["timeout"].Record(lat)
				}
			} else {
				for _, q := range []*results.Protocol{one, p} {
					q.Success++
					q.Latency.Record(lat)
					q.FirstEvent.Record(lat / 3)
				}
			}
			parts[i].Isolation.Checked++
			checked++
			if lat > 30*time.Millisecond && lat <= 40*time.Millisecond {
				parts[i].Isolation.Violations++
				violations++
			}
		}
		parts[n-1].Protocols[results.WS].Saturated = true
		s := &segmentRun{ws: make([]*remote, n), shards: make([]*results.Segment, n), skew: make([]time.Duration, n)}
		for i, p := range parts {
			s.ws[i] = &remote{index: i}
			b, err := json.Marshal(Message{Type: msgResult, Segment: p}) // as a worker sends it
			if err != nil {
				t.Fatal(err)
			}
			var m Message
			if err := json.Unmarshal(b, &m); err != nil {
				t.Fatal(err)
			}
			s.shards[i] = m.Segment
		}
		merged, err := s.merge(time.Second)
		if err != nil {
			t.Fatal(err)
		}
		got := merged.Protocols[results.WS]
		for name, pair := range map[string][2]*results.Histogram{
			"latency": {got.Latency, one.Latency}, "send lag": {got.SendLag, one.SendLag},
			"first event": {got.FirstEvent, one.FirstEvent}, "timeout": {got.Failed["timeout"], one.Failed["timeout"]},
		} {
			if !slices.Equal(pair[0].Buckets(), pair[1].Buckets()) {
				t.Errorf("%d shards: %s buckets differ from one process's", n, name)
			}
		}
		if got.Requests != one.Requests || got.Success != one.Success || got.Errors["timeout"] != one.Errors["timeout"] {
			t.Errorf("%d shards: counts %d/%d/%v, one process %d/%d/%v", n, got.Requests, got.Success, got.Errors, one.Requests, one.Success, one.Errors)
		}
		if merged.Isolation.Checked != checked || merged.Isolation.Violations != violations {
			t.Errorf("%d shards: isolation %d/%d, want %d/%d", n, merged.Isolation.Checked, merged.Isolation.Violations, checked, violations)
		}
		if !got.Saturated {
			t.Errorf("%d shards: one shard saturated, the merge not", n)
		}
		if len(merged.Manifest.Generators) != n {
			t.Errorf("%d shards: %d generators recorded", n, len(merged.Manifest.Generators))
		}
	}
}

// A merged segment whose shards started more than 1% of it apart is
// marked invalid, with a note.
func TestSkewOverOnePercentInvalid(t *testing.T) {
	t.Parallel()
	seg := func() *results.Segment {
		return &results.Segment{Manifest: results.NewManifest("attack", nil), Protocols: map[string]*results.Protocol{}}
	}
	s := &segmentRun{ws: []*remote{{index: 0}, {index: 1}}, shards: []*results.Segment{seg(), seg()}, skew: []time.Duration{time.Millisecond, 12 * time.Millisecond}}
	m, err := s.merge(time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if !m.Manifest.SkewInvalid || m.Manifest.StartSpread != 11*time.Millisecond || m.Manifest.Note == "" {
		t.Fatalf("spread %s invalid %v note %q", m.Manifest.StartSpread, m.Manifest.SkewInvalid, m.Manifest.Note)
	}
	s.skew[1] = 5 * time.Millisecond
	if m, _ := s.merge(time.Second); m.Manifest.SkewInvalid {
		t.Fatal("4 ms of 1 s marked invalid")
	}
}
