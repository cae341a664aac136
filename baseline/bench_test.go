package baseline

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/loadbench/loadbench/internal/agent"
)

// Benchmarks have the same names in package perrequest. Each uses a fresh
// unshared factory (newFactory) rather than the process-wide one, so the
// never-cleaned instance map of one benchmark run does not weigh on the
// next; within a run it grows, which is the defect being measured.

func discard(agent.Event, []byte) error { return nil }

func BenchmarkAcquire(b *testing.B) {
	bld := newBuildOn(newFactory(), agent.WithThink(0), agent.WithTool(0), agent.WithConfigureWindow(0))
	c := uctx(b, 1)
	b.ReportAllocs()
	for b.Loop() {
		s, err := bld.Acquire(c, nil)
		if err != nil {
			b.Fatal(err)
		}
		s.Release()
	}
}

func BenchmarkRun(b *testing.B) {
	bld := newBuildOn(newFactory(), agent.WithThink(0), agent.WithTool(0), agent.WithConfigureWindow(0))
	c := uctx(b, 1)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		s, err := bld.Acquire(c, nil)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := s.Run(ctx, "benchmark message with a few words", discard); err != nil {
			b.Fatal(err)
		}
		s.Release()
	}
}

func BenchmarkRunParallel(b *testing.B) {
	bld := newBuildOn(newFactory(), agent.WithThink(0), agent.WithTool(0), agent.WithConfigureWindow(0))
	ctx := context.Background()
	var next atomic.Int64
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		c, err := agent.NewUserExecutionContext(fmt.Sprintf("user-%04d", next.Add(1)), "thread-1", agent.NewID("run"))
		if err != nil {
			b.Error(err)
			return
		}
		for pb.Next() {
			s, err := bld.Acquire(c, nil)
			if err != nil {
				b.Error(err)
				return
			}
			if _, err := s.Run(ctx, "benchmark message with a few words", discard); err != nil {
				b.Error(err)
				return
			}
			s.Release()
		}
	})
}
