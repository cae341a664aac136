package compare

import (
	"context"
	"sync"
	"time"

	"github.com/loadbench/loadbench/results"
)

// sampler scrapes a target's /metrics at a fixed interval during a segment.
type sampler struct {
	probe *probe
	mu    sync.Mutex
	phase string
	out   []results.Sample
}

func newSampler(p *probe, phase string) *sampler {
	return &sampler{probe: p, phase: phase, out: []results.Sample{}}
}

func (s *sampler) setPhase(phase string) {
	s.mu.Lock()
	s.phase = phase
	s.mu.Unlock()
}

// run samples until ctx is done. Failed scrapes are skipped: a sample is a
// picture of the timeline, not a measurement the verdict rests on.
func (s *sampler) run(ctx context.Context, every time.Duration) {
	if s.probe.metrics == "" {
		return
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		r, err := s.probe.scrape(ctx)
		if err != nil {
			continue
		}
		s.mu.Lock()
		s.out = append(s.out, results.Sample{
			Time: time.Now().UTC(), Phase: s.phase,
			HeapLiveBytes: r.HeapAlloc, HeapInuseBytes: r.HeapInuse, RSSBytes: r.RSS,
			FactoriesLive: r.FactoriesLive, AgentInstancesRetained: r.AgentInstances,
		})
		s.mu.Unlock()
	}
}

func (s *sampler) samples() []results.Sample {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]results.Sample(nil), s.out...)
}
