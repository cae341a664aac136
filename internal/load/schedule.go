package load

import (
	"context"
	"math"
	"sync/atomic"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// take counts one chat as sent, unless the budget of max chats (0 =
// unbounded) is spent.
func (c *counters) take(max int64) bool {
	n := c.sent.Add(1)
	if max > 0 && n > max {
		c.sent.Add(-1)
		return false
	}
	return true
}

type atomicSeq struct{ n atomic.Uint64 }

func (s *atomicSeq) next() uint64 { return s.n.Add(1) - 1 }

// pacer returns vegeta's constant pacer for rate chats per second. Integer
// rates are Freq per second; other rates are expressed per 1000 s.
func pacer(rate float64) vegeta.ConstantPacer {
	if rate >= 1 && rate == math.Trunc(rate) && rate < math.MaxInt32 {
		return vegeta.ConstantPacer{Freq: int(rate), Per: time.Second}
	}
	return vegeta.ConstantPacer{Freq: max(int(math.Round(rate*1000)), 1), Per: 1000 * time.Second}
}

// schedule calls send for chat n at its intended time, began + the n-th
// offset of the arrival process (see Arrivals), for every chat due within
// duration, until ctx is done or the budget is spent. send must not block:
// the schedule is open, so a slow target never delays it, and the intended
// time, not the moment send is called, is the start of the chat's latency.
// When the generator cannot keep up, chats are sent late, at once, and
// their send lag (the moment send runs − intended) shows it. before, when
// not nil, runs before each send (tests throttle the dispatch with it).
func schedule(ctx context.Context, next func() time.Duration, duration time.Duration, began time.Time, live *counters, maxReq int64, before func(), send func(n uint64, intended time.Time)) {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for hits := uint64(0); ; hits++ {
		offset := next()
		if offset > duration {
			return
		}
		intended := began.Add(offset)
		if wait := time.Until(intended); wait > 0 {
			timer.Reset(wait)
			select {
			case <-ctx.Done():
				return
			case <-timer.C:
			}
		} else if ctx.Err() != nil {
			return
		}
		if !live.take(maxReq) {
			return
		}
		if before != nil {
			before()
		}
		send(hits, intended)
	}
}
