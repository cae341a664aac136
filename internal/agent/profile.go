package agent

import (
	"context"
	"fmt"
	"hash/fnv"
	"math"
	"strings"
	"time"
)

// Profile is a workload profile: how long the simulated LLM and tool wait in
// each chat, and the load shape that goes with it.
type Profile int

// The profiles.
const (
	// ProfileCI is today's fast waits: DefaultThink and DefaultTool (or the
	// configured ones) for every chat. The default of make run.
	ProfileCI Profile = iota
	// ProfileProduction draws seconds-long LLM waits and tens-of-ms tool
	// waits from log-normal distributions (see ProductionLLMMedian).
	ProfileProduction
)

// DefaultProfile is the profile of serve and compare when none is given.
const DefaultProfile = ProfileCI

// Parameters of the production profile. An LLM wait is log-normal with
// median ProductionLLMMedian and log-standard deviation ProductionLLMSigma:
// sigma = ln(6 s / 1.5 s) / z(0.99) = ln 4 / 2.326 ≈ 0.596, so its p99 is
// 6 s and its mean 1.5 s · exp(σ²/2) ≈ 1.79 s. Draws are capped at
// ProductionLLMMax (a timed-out LLM call). A tool wait is log-normal with
// median ProductionToolMedian (30 ms) and sigma 0.35 (p99 ≈ 68 ms).
const (
	ProductionLLMMedian  = 1500 * time.Millisecond
	ProductionLLMSigma   = 0.596
	ProductionLLMMax     = 20 * time.Second
	ProductionToolMedian = 30 * time.Millisecond
	ProductionToolSigma  = 0.35
	ProductionToolMax    = 500 * time.Millisecond
)

// LoadShape is what the load side needs to drive a profile: plain values the
// compare config takes unless flags override them.
type LoadShape struct {
	Users       int           // virtual users
	HTTPRate    float64       // HTTP chats per second
	WSRate      float64       // WebSocket chats per second
	Timeout     time.Duration // per-chat timeout
	MaxEventGap time.Duration // longest allowed gap between two events of a chat
	// RoundDuration, Warmup and MaxDuration shape a compare under the
	// profile; zero means compare's defaults.
	RoundDuration, Warmup, MaxDuration time.Duration
	// ConfigureWindow is the mean configure-to-create wait the targets
	// serve the profile with (see Window).
	ConfigureWindow time.Duration
}

// InFlight is the expected number of chats in flight under s for a mean
// chat duration d (Little's law: rate × time in system).
func (s LoadShape) InFlight(d time.Duration) float64 {
	return (s.HTTPRate + s.WSRate) * d.Seconds()
}

// Profiles lists the profile names.
func Profiles() []string { return []string{ProfileCI.String(), ProfileProduction.String()} }

// String returns "ci" or "production".
func (p Profile) String() string {
	switch p {
	case ProfileCI:
		return "ci"
	case ProfileProduction:
		return "production"
	}
	return fmt.Sprintf("Profile(%d)", int(p))
}

// ParseProfile reads a profile name ("ci" or "production", case-insensitive).
func ParseProfile(s string) (Profile, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "ci":
		return ProfileCI, nil
	case "production":
		return ProfileProduction, nil
	}
	return 0, fmt.Errorf("profile: unknown profile %q (want %s)", s, strings.Join(Profiles(), " or "))
}

// Load is the load shape of p.
//
//   - ci: 100 users, 200 + 200 chats/s (compare's defaults), a 1 s per-chat
//     timeout so that a legacy chat whose events went elsewhere ends quickly,
//     and the real suite's 100 ms limit between consecutive events.
//   - production: 500 users at 100 + 100 chats/s. With a mean chat of about
//     1.83 s (LLM 1.79 s + tool 0.03 s) that is ≈ 366 chats in flight in the
//     steady state (75 + 75 measured a mean of 160 over 10 s segments, the
//     first seconds of each ramping up); a WS user is busy ≈ 37% of the time
//     (one chat at a time per connection).
//     Per-chat timeout 30 s (the factory's execution timeout), and an event
//     gap limit above the capped LLM wait (the LLM wait is the gap between
//     agent_started and agent_thinking). Rounds of 10 s (a chat lasts
//     seconds, so in-flight chats need a few seconds to reach their steady
//     state; 4 s rounds at 75 + 75 measured a mean of 100), 8 s of
//     warm-up, at most 6 minutes, and no added configure window
//     (DefaultConfigureWindow). A 5 ms one (0–10 ms) made the legacy
//     baseline misroute 59% of its chats: its answered-only latency was
//     then a biased sample and no latency check decided.
func (p Profile) Load() LoadShape {
	if p == ProfileProduction {
		return LoadShape{Users: 500, HTTPRate: 100, WSRate: 100, Timeout: ExecutionTimeout, MaxEventGap: ProductionLLMMax + time.Second,
			RoundDuration: 10 * time.Second, Warmup: 8 * time.Second, MaxDuration: 6 * time.Minute, ConfigureWindow: DefaultConfigureWindow}
	}
	return LoadShape{Users: 100, HTTPRate: 200, WSRate: 200, Timeout: time.Second, MaxEventGap: 100 * time.Millisecond,
		ConfigureWindow: DefaultConfigureWindow}
}

// Waits returns the LLM and tool waits of one chat under p, before any
// slowdown. For ProfileCI they are think and tool unchanged. For
// ProfileProduction they are drawn from the profile's distributions by a
// generator seeded with (user id, thread id, chat sequence): the same chat
// gets the same waits in every build and every run (common random numbers),
// so paired rounds compare the builds, not two samples of the waits.
func (p Profile) Waits(think, tool time.Duration, userID, threadID string, seq uint64) (time.Duration, time.Duration) {
	if p != ProfileProduction {
		return think, tool
	}
	r := newChatRand(userID, threadID, seq)
	llm := logNormal(r.normal(), ProductionLLMMedian, ProductionLLMSigma, ProductionLLMMax)
	tl := logNormal(r.normal(), ProductionToolMedian, ProductionToolSigma, ProductionToolMax)
	return llm, tl
}

func logNormal(z float64, median time.Duration, sigma float64, limit time.Duration) time.Duration {
	d := time.Duration(float64(median) * math.Exp(sigma*z))
	return min(d, limit)
}

// ChatKey is the deterministic uniform [0,1) of a chat, for decisions keyed
// by the chat such as fault injection (salt separates its uses).
func ChatKey(salt, userID, threadID string, seq uint64) float64 {
	r := newChatRand(salt+"\x00"+userID, threadID, seq)
	return r.float()
}

// chatRand is a splitmix64 sequence seeded by the chat's identity.
type chatRand struct{ s uint64 }

func newChatRand(userID, threadID string, seq uint64) *chatRand {
	h := fnv.New64a()
	_, _ = h.Write([]byte(userID))
	_, _ = h.Write([]byte{0})
	_, _ = h.Write([]byte(threadID))
	var b [8]byte
	for i := range b {
		b[i] = byte(seq >> (8 * i))
	}
	_, _ = h.Write(b[:])
	return &chatRand{s: h.Sum64()}
}

func (r *chatRand) next() uint64 {
	r.s += 0x9e3779b97f4a7c15
	z := r.s
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// float is uniform in [0, 1).
func (r *chatRand) float() float64 { return float64(r.next()>>11) / (1 << 53) }

// normal is a standard normal draw (Box–Muller).
func (r *chatRand) normal() float64 {
	u1 := 1 - r.float() // (0, 1]
	u2 := r.float()
	return math.Sqrt(-2*math.Log(u1)) * math.Cos(2*math.Pi*u2)
}

// Window is the wait between configuring the factory and creating the
// agent (agent.Config.ConfigureWindow and ConfigureFixed): the model of the
// real service's await between configure_agent_instance_factory(...) and
// create_agent_instance(...). Both builds pay it; only the legacy build,
// whose one factory other requests reconfigure in the meantime, misroutes
// during it.
type Window struct {
	Mean  time.Duration
	Fixed bool // every chat waits Mean (tests that interleave requests)
}

// Wait is one chat's wait: Mean when Fixed; otherwise uniform between 0
// and twice Mean, as the duration of the await (a registry or database
// round trip) varies from chat to chat. It is drawn from the chat's key, so
// both builds wait the same for the same chat (common random numbers). A
// mean of 0 or less is no wait.
//
// The spread is bounded on purpose. The legacy build misroutes a chat when
// another configures the factory during its wait, so its failed chats are
// the ones with the longest waits, and its answered-only latency loses
// them. A long-tailed wait (exponential) made that selection show: the
// legacy's p99 looked several percent better than the per-request build's
// for a wait both pay. The default adds no wait at all
// (DefaultConfigureWindow).
func (w Window) Wait(uctx UserExecutionContext, seq uint64) time.Duration {
	switch {
	case w.Mean <= 0:
		return 0
	case w.Fixed:
		return w.Mean
	}
	u := ChatKey("configure", uctx.UserID(), uctx.ThreadID(), seq)
	return time.Duration(2 * u * float64(w.Mean))
}

// Sleep waits the chat's Wait, or until ctx is done (its error), with
// Pause.
func (w Window) Sleep(ctx context.Context, uctx UserExecutionContext, seq uint64) error {
	return Pause(ctx, w.Wait(uctx, seq))
}
