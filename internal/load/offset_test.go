package load

import (
	"testing"
	"time"
)

// TestProtocolsDoNotSendInLockstep: at equal rates, no WebSocket chat is
// due at the same instant as an HTTP chat (they stand half an interval
// apart), and a user's HTTP and WebSocket chats are about half the pool's
// turn apart. Before the offset every HTTP chat had a WebSocket twin due
// at the same instant from the same user, and the legacy build, whose
// misrouting needs two requests inside its configure window, failed every
// chat at 200 chats/s per protocol.
func TestProtocolsDoNotSendInLockstep(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		rate  float64
		users int
	}{{200, 100}, {40, 8}, {1000, 10000}, {75, 500}, {10, 1}} {
		phase, shift := wsOffset(c.rate, c.users)
		interval := time.Duration(float64(time.Second) / c.rate)
		if phase != interval/2 {
			t.Errorf("rate %v: phase %s, want half the interval %s", c.rate, phase, interval/2)
		}
		k := uint64(c.users)
		// Chat n of either protocol is due at (n+1)·interval (+ phase for
		// WebSocket); find the closest pair of one user's chats.
		const chats = 2000
		byUser := map[uint64][]time.Duration{}
		for n := uint64(0); n < chats; n++ {
			byUser[n%k] = append(byUser[n%k], time.Duration(n+1)*interval)
		}
		closest := time.Duration(1<<63 - 1)
		for n := uint64(0); n < chats; n++ {
			ws := time.Duration(n+1)*interval + phase
			for _, h := range byUser[(n+shift)%k] {
				closest = min(closest, max(ws-h, h-ws))
			}
		}
		want := time.Duration(shift)*interval - phase
		if c.users == 1 {
			want = phase // one user sends on both protocols, half an interval apart
		}
		if closest < want {
			t.Errorf("rate %v, %d users: a user's HTTP and WebSocket chats only %s apart, want at least %s", c.rate, c.users, closest, want)
		}
	}
}
