package perrequest

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/loadbench/loadbench/internal/agent"
)

// Benchmarks have the same names in package baseline.

func discard(agent.Event, []byte) error { return nil }

func BenchmarkAcquire(b *testing.B) {
	bld := NewBuild(agent.WithThink(0), agent.WithTool(0))
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
	bld := NewBuild(agent.WithThink(0), agent.WithTool(0))
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
	bld := NewBuild(agent.WithThink(0), agent.WithTool(0))
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
