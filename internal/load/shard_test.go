package load

import (
	"slices"
	"testing"
	"time"
)

// The shards' stripes of a schedule are, merged, the one schedule of a
// single generator, chat for chat; their user blocks and budgets add up.
func TestShardsSplitTheScheduleExactly(t *testing.T) {
	t.Parallel()
	for _, arr := range []Arrivals{ArrivalsPoisson, ArrivalsConstant} {
		one := newAttacker([]Option{WithArrivals(arr)})
		next := one.offsets(500, "http")
		var want []time.Duration
		for range 1000 {
			want = append(want, next())
		}
		for _, k := range []int{1, 2, 3, 4, 8} {
			var got []time.Duration
			for i := range k {
				a := newAttacker([]Option{WithArrivals(arr), WithShard(i, k)})
				n := a.offsets(500, "http")
				for range 1000 / k {
					got = append(got, n())
				}
				// The stripe is shard i's: every k-th offset from the i-th.
				if first := newAttacker([]Option{WithArrivals(arr), WithShard(i, k)}).offsets(500, "http")(); first != want[i] {
					t.Fatalf("%s k=%d shard %d: first offset %s, want %s", arr, k, i, first, want[i])
				}
			}
			slices.Sort(got)
			if !slices.Equal(got, want[:len(got)]) {
				t.Fatalf("%s k=%d: the shards' offsets are not the single schedule's", arr, k)
			}
		}
	}
}

func TestShardUsersAndRequests(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		users, k int
		max      int64
	}{{100, 1, 0}, {100, 3, 1000}, {7, 7, 10}, {101, 4, 3 * 4}} {
		next, sum := 0, int64(0)
		for i := range c.k {
			base, n := shardUsers(c.users, i, c.k)
			if base != next || n < 1 {
				t.Fatalf("%+v shard %d: users [%d, +%d), want from %d, at least one", c, i, base, n, next)
			}
			next = base + n
			sum += shardRequests(c.max, i, c.k)
		}
		if next != c.users || sum != c.max {
			t.Fatalf("%+v: %d users, %d requests over the shards", c, next, sum)
		}
	}
	p, err := newPoolAt(DefaultUserPrefix, 50, 2)
	if err != nil {
		t.Fatal(err)
	}
	if p.ids[0] != "lb_user_00050" || p.ids[1] != "lb_user_00051" {
		t.Fatalf("ids %v", p.ids)
	}
	// Another shard's user id is foreign.
	if got := p.foreign([]byte(`{"user_id":"lb_user_00007"}`), 0); got != "foreign user id lb_user_00007" {
		t.Fatalf("foreign: %q", got)
	}
	if _, err := NewAttacker("http://127.0.0.1:1", WithUsers(2), WithShard(0, 3)); err == nil {
		t.Fatal("2 users over 3 shards accepted")
	}
	if _, err := NewAttacker("http://127.0.0.1:1", WithShard(3, 3)); err == nil {
		t.Fatal("shard 3 of 3 accepted")
	}
}
