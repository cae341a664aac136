package compare

import (
	"context"
	"fmt"
	"time"

	"github.com/loadbench/loadbench/internal/dist"
	"github.com/loadbench/loadbench/internal/load"
	"github.com/loadbench/loadbench/results"
)

// Generators runs one segment of load on several generator processes and
// merges their segments (internal/dist's Coordinator is one).
type Generators interface {
	Segment(ctx context.Context, job dist.Job) (merged *results.Segment, shards []*results.Segment, err error)
}

// attackOnGenerators is attack on c.cfg.Generators: the side's load with
// the segment's duration and users, run by every generator; a failed
// shard is a run error.
func (c *comparer) attackOnGenerators(ctx context.Context, t *target, round int, d time.Duration, phase string) (*results.Segment, error) {
	spec := t.side.Spec
	spec.Duration, spec.UserPrefix = d, UserPrefix(c.cfg.Plan.Seed, round)
	seg, shards, err := c.cfg.Generators.Segment(ctx, dist.Job{Side: t.build, URL: t.side.URL, Spec: spec,
		Progress: func(lp load.Progress) {
			c.progress(Progress{Round: round, Build: t.build, Phase: phase, Load: lp})
		}})
	c.shards = shards
	if err != nil {
		if ctx.Err() != nil {
			return seg, err
		}
		return seg, fmt.Errorf("%w: %w", err, ErrRun)
	}
	if err := c.alive(); err != nil {
		return seg, fmt.Errorf("compare: %w: %w", err, ErrRun)
	}
	return seg, nil
}

// writeShards stores the shards of seg, the segment just run, beside it in
// dir (dir/shard-00, ...), placed in the compare as seg is.
func (c *comparer) writeShards(dir string, seg *results.Segment) error {
	if c.cfg.Generators == nil {
		return nil
	}
	for i, s := range c.shards {
		if s == nil {
			continue
		}
		s.Manifest.Kind = seg.Manifest.Kind
		s.Manifest.Build, s.Manifest.Round, s.Manifest.Order = seg.Manifest.Build, seg.Manifest.Round, seg.Manifest.Order
		if err := results.WriteSegment(results.ShardDir(dir, i), s); err != nil {
			return err
		}
	}
	return nil
}
