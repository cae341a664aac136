package load

import (
	"context"
	"time"

	"github.com/loadbench/loadbench/internal/usage"
)

// WithShard makes the attacker shard index (from 0) of count generators
// that together run the load the other options describe. The shards split
// it exactly and without overlap:
//
//   - arrivals are striped: every shard computes the one schedule of the
//     whole load (the same seed, from the user prefix, and the same rate)
//     and sends chat n when n mod count is its index, so the union of the
//     shards' chats is the schedule one generator would run, chat for
//     chat;
//   - users are blocks: shard i has users [i·U/count, (i+1)·U/count) of the
//     U users, numbered as one generator numbers them, so the user ids of
//     different shards never collide, and a shard that sees another
//     shard's user id or secret counts it as a violation, as it counts any
//     other user's;
//   - MaxRequests is split as evenly as possible (the first M mod count
//     shards send one more), so the shards' budgets add up to it exactly.
//
// count 1 (or 0) is a single generator: WithShard(0, 1) changes nothing.
// Throughput mode (rate Max) has no schedule: each shard runs its own
// closed loop.
func WithShard(index, count int) Option {
	return func(a *Attacker) { a.shard, a.shards = index, count }
}

// WithStartGate sets a function the attack calls once its WebSocket users
// are connected, just before the first chat: it returns the time (this
// machine's clock) at which sending begins, and the attack waits for it.
// A zero or past time begins at once. Generators started together use it
// to begin at one absolute time; StartSkew reports how late they began.
func WithStartGate(f func(ctx context.Context) time.Time) Option {
	return func(a *Attacker) { a.startGate = f }
}

// StartSkew is how late the last attack began after the time its start gate
// returned: 0 without a start gate or when it began on time.
func (a *Attacker) StartSkew() time.Duration { return a.skew }

// shardUsers returns the first user number and the count of users of the
// shard, out of total.
func shardUsers(total, index, count int) (base, n int) {
	lo := total * index / count
	hi := total * (index + 1) / count
	return lo, hi - lo
}

// shardRequests is the shard's share of a budget of max chats (0:
// unbounded).
func shardRequests(max int64, index, count int) int64 {
	if max == 0 {
		return 0
	}
	n := max / int64(count)
	if int64(index) < max%int64(count) {
		n++
	}
	return n
}

// applyShard turns the whole load's users and budget into the shard's; it
// runs after check, on valid options.
func (a *Attacker) applyShard() {
	if a.shards <= 1 {
		return
	}
	a.userBase, a.users = shardUsers(a.users, a.shard, a.shards)
	a.maxRequests = shardRequests(a.maxRequests, a.shard, a.shards)
}

// checkShard reports an invalid shard setting.
func (a *Attacker) checkShard() error {
	switch {
	case a.shards < 0 || a.shard < 0 || (a.shards > 0 && a.shard >= a.shards):
		return usage.Errorf("attack: shard %d of %d: want 0 <= shard < count", a.shard, a.shards)
	case a.shards > 1 && a.users < a.shards:
		return usage.Errorf("attack: %d users cannot be shared by %d generators: want at least one user each", a.users, a.shards)
	case a.shards > 1 && a.maxRequests > 0 && a.maxRequests < int64(a.shards):
		return usage.Errorf("attack: %d max requests cannot be shared by %d generators: want at least one each", a.maxRequests, a.shards)
	}
	return nil
}

// offsets is the schedule of protocol's chats at rate: the whole load's,
// or this shard's stripe of it.
func (a *Attacker) offsets(rate float64, protocol string) func() time.Duration {
	next := offsets(a.arrivals, rate, arrivalSeed(a.prefix, protocol))
	if a.shards <= 1 {
		return next
	}
	k, i := a.shards, a.shard
	return func() time.Duration {
		var d time.Duration
		for range i + 1 {
			d = next()
		}
		// Skip the other shards' chats up to the next of ours.
		i = k - 1
		return d
	}
}

// waitStart waits for the start gate's time; it returns the moment sending
// begins.
func (a *Attacker) waitStart(ctx context.Context) time.Time {
	if a.startGate == nil {
		return time.Now()
	}
	at := a.startGate(ctx)
	if wait := time.Until(at); !at.IsZero() && wait > 0 {
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
		case <-t.C:
		}
		t.Stop()
	}
	began := time.Now()
	if !at.IsZero() {
		a.skew = began.Sub(at)
	}
	return began
}
