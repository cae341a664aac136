package targets

import (
	"fmt"
	"log/slog"
	"math"
	"time"

	"github.com/loadbench/loadbench/internal/agent"
)

// DefaultOrphanTimeout bounds how long a chat whose own events never
// arrive waits for them before it is answered with an error; 0 takes the
// profile's per-chat timeout (agent.Profile.Load().Timeout).
const DefaultOrphanTimeout = 0

// DefaultOrphanDivisor: the default orphan timeout is the profile's per-chat
// timeout divided by it (250 ms under the ci profile).
const DefaultOrphanDivisor = 4

type config struct {
	agentOpts     []agent.Option
	debugGC       bool
	leak          int
	profile       agent.Profile
	delay         time.Duration
	burn          time.Duration
	failRate      float64
	wsFailRate    float64
	failSeed      uint64
	leakPerUser   int
	orphanTimeout time.Duration
}

// newConfig applies opts, checks the result and fills in the defaults that
// depend on other options.
func newConfig(opts []Option) (config, error) {
	var c config
	for _, o := range opts {
		o(&c)
	}
	if err := c.check(); err != nil {
		return config{}, err
	}
	if c.orphanTimeout == 0 {
		// A quarter of the client's per-chat timeout: the orphaned chat
		// ends with an error the client sees before its own timeout, and
		// a WebSocket connection (which answers its chats in order) is not
		// held so long that the user's next chats queue behind it and time
		// out on the client, whose late events would then reach the wrong
		// chat.
		c.orphanTimeout = c.profile.Load().Timeout / DefaultOrphanDivisor
	}
	return c, nil
}

// check rejects fault settings out of range.
func (c *config) check() error {
	if c.leak < 0 {
		return fmt.Errorf("targets: negative leak %d", c.leak)
	}
	if c.leakPerUser < 0 {
		return fmt.Errorf("targets: negative per-user leak %d", c.leakPerUser)
	}
	if c.delay < 0 {
		return fmt.Errorf("targets: negative delay %s", c.delay)
	}
	if c.burn < 0 {
		return fmt.Errorf("targets: negative burn %s", c.burn)
	}
	if c.orphanTimeout < 0 {
		return fmt.Errorf("targets: negative orphan timeout %s", c.orphanTimeout)
	}
	if math.IsNaN(c.failRate) || c.failRate < 0 || c.failRate > 1 {
		return fmt.Errorf("targets: fail rate %v outside [0, 1]", c.failRate)
	}
	if math.IsNaN(c.wsFailRate) || c.wsFailRate < 0 || c.wsFailRate > 1 {
		return fmt.Errorf("targets: WebSocket fail rate %v outside [0, 1]", c.wsFailRate)
	}
	return nil
}

// Option configures a Server.
type Option func(*config)

// WithThink sets the simulated LLM wait (agent.DefaultThink).
func WithThink(d time.Duration) Option {
	return func(c *config) { c.agentOpts = append(c.agentOpts, agent.WithThink(d)) }
}

// WithTool sets the simulated tool wait (agent.DefaultTool).
func WithTool(d time.Duration) Option {
	return func(c *config) { c.agentOpts = append(c.agentOpts, agent.WithTool(d)) }
}

// WithSlowdown multiplies the simulated work (agent.DefaultSlowdown).
func WithSlowdown(f float64) Option {
	return func(c *config) { c.agentOpts = append(c.agentOpts, agent.WithSlowdown(f)) }
}

// WithAuditLogger logs every factory creation and release.
func WithAuditLogger(l *slog.Logger) Option {
	return func(c *config) { c.agentOpts = append(c.agentOpts, agent.WithLogger(l)) }
}

// WithDebugGC enables POST /debug/gc.
func WithDebugGC(on bool) Option { return func(c *config) { c.debugGC = on } }

// WithLeak retains n bytes per request forever (fault injection).
func WithLeak(n int) Option { return func(c *config) { c.leak = n } }

// WithProfile sets the workload profile (agent.DefaultProfile).
func WithProfile(p agent.Profile) Option {
	return func(c *config) { c.profile = p; c.agentOpts = append(c.agentOpts, agent.WithProfile(p)) }
}

// WithConfigureWindow sets the mean wait between configure and agent
// creation, paid by both builds (agent.DefaultConfigureWindow; see
// agent.Window).
func WithConfigureWindow(d time.Duration) Option {
	return func(c *config) { c.agentOpts = append(c.agentOpts, agent.WithConfigureWindow(d)) }
}

// WithFixedConfigureWindow makes every chat wait exactly d between
// configure and agent creation (tests that interleave requests on purpose).
func WithFixedConfigureWindow(d time.Duration) Option {
	return func(c *config) { c.agentOpts = append(c.agentOpts, agent.WithFixedConfigureWindow(d)) }
}

// WithFactoryCache sets the per-request build's agent-class cache size
// (agent.DefaultFactoryCache).
func WithFactoryCache(n int) Option {
	return func(c *config) { c.agentOpts = append(c.agentOpts, agent.WithFactoryCache(n)) }
}

// WithDelay adds d to every chat before it runs (fault injection).
func WithDelay(d time.Duration) Option { return func(c *config) { c.delay = d } }

// WithBurn makes every chat spend d of CPU time on its request path, real
// work and not a sleep, in every build alike: the workflow's tool step burns
// it (agent.WithBurn, agent.Burn; fault injection). Unlike WithDelay it
// costs CPU and so capacity, and it adds about d to the latency only while
// a core is free.
func WithBurn(d time.Duration) Option {
	return func(c *config) { c.burn = d; c.agentOpts = append(c.agentOpts, agent.WithBurn(d)) }
}

// WithFailRate answers that share of chats with an error: HTTP 500, or a
// WebSocket error message (fault injection). Which chats fail depends only
// on (user, thread, chat sequence) and the fail seed, so two runs of a
// scenario with one seed agree.
func WithFailRate(f float64) Option { return func(c *config) { c.failRate = f } }

// WithWSFailRate answers that share of WebSocket chats with a WebSocket
// error message, and no HTTP chat (fault injection: a regression on one
// protocol). Like WithFailRate it is keyed by the chat and the fail seed,
// with a draw of its own; with both set, a WebSocket chat fails if either
// draw fails it.
func WithWSFailRate(f float64) Option { return func(c *config) { c.wsFailRate = f } }

// WithFailSeed changes which chats WithFailRate and WithWSFailRate fail, not how many on
// average: each seed is an independent draw over the same chat keys. Runs
// of a validation scenario take one each, so that they are independent
// trials of the error rule; 0 is the default draw.
func WithFailSeed(seed uint64) Option { return func(c *config) { c.failSeed = seed } }

// WithLeakPerUser retains n bytes once per distinct user id (fault
// injection).
func WithLeakPerUser(n int) Option { return func(c *config) { c.leakPerUser = n } }

// WithOrphanTimeout bounds the wait of a chat whose events went elsewhere
// (default: the profile's per-chat timeout / DefaultOrphanDivisor).
func WithOrphanTimeout(d time.Duration) Option { return func(c *config) { c.orphanTimeout = d } }
