package agent

import (
	"log/slog"
	"time"
)

// Defaults of the simulated work.
const (
	// DefaultThink is the simulated LLM wait of a run.
	DefaultThink = 5 * time.Millisecond
	// DefaultTool is the simulated tool wait of a run.
	DefaultTool = 1 * time.Millisecond
	// DefaultSlowdown multiplies the simulated work (1 = as configured).
	DefaultSlowdown = 1.0
	// DefaultCPURounds is how many hashing rounds the tool does per run.
	DefaultCPURounds = 16
	// DefaultAgentName is the agent every run executes.
	DefaultAgentName = "supervisor_agent"
	// DefaultToolName is the tool the supervisor calls.
	DefaultToolName = "analyze_text"
	// HistoryWindow is how many recent messages go into agent_thinking's context.
	HistoryWindow = 5
	// DefaultConfigureWindow is the mean added wait between configure and
	// agent creation (Window draws each chat's): the model of the real
	// service's await between configure_agent_instance_factory(...) and
	// create_agent_instance(...). Both builds pay it; only the legacy one
	// misroutes during it. The default adds none: the code between the two
	// (a goroutine switch, the route's setup) is the window, and under
	// Poisson arrivals at 200 + 200 chats/s the legacy build misroutes
	// about 2% of its chats through it (1.5–2.0% in three 5 s attacks;
	// 3.4% failed in a default compare of 2026-11-27, the misrouted ones
	// and those of the owners whose sockets received their events). Any
	// added wait is stretched under load, as an await is by an event loop
	// (Pause: the wait, the thread's wake-up, then a turn on a processor):
	// 25 µs made it 15% (serve --impl baseline --configure-window 25us and
	// attack --duration 5s --timeout 1s, 309 of 2,000 chats), and the
	// misrouted chats are those that waited longest, a biased cut of the
	// legacy's latency.
	DefaultConfigureWindow = 0
	// DefaultFactoryCache is the per-request build's agent-class cache size:
	// 0, off. The real lru_cache(maxsize=128) corresponds to 128.
	DefaultFactoryCache = 0
	// DefaultBurn is the CPU time the tool burns per run on top of its
	// hashing (Burn): none.
	DefaultBurn = 0
)

// Factory configuration of the real service, shared by both builds.
const (
	MaxConcurrentRunsPerUser = 10
	ExecutionTimeout         = 30 * time.Second
	EmitterPoolInitial       = 20
	EmitterPoolMax           = 200
	CleanupInterval          = 300 * time.Second
)

// FactoryMetrics are an AgentInstanceFactory's counters: in the legacy
// build shared by every user, in the per-request build one request's.
type FactoryMetrics struct {
	InstancesCreated uint64
	ActiveContexts   int
	ContextsCleaned  uint64
	Errors           uint64
}

// FactoryConfig is the configuration an AgentInstanceFactory holds.
type FactoryConfig struct {
	MaxConcurrentRunsPerUser int
	ExecutionTimeout         time.Duration
	EmitterPoolInitial       int
	EmitterPoolMax           int
	CleanupInterval          time.Duration
}

// DefaultFactoryConfig is the real service's configuration.
func DefaultFactoryConfig() FactoryConfig {
	return FactoryConfig{
		MaxConcurrentRunsPerUser: MaxConcurrentRunsPerUser,
		ExecutionTimeout:         ExecutionTimeout,
		EmitterPoolInitial:       EmitterPoolInitial,
		EmitterPoolMax:           EmitterPoolMax,
		CleanupInterval:          CleanupInterval,
	}
}

// Config configures a build: its workflow and its audit logger.
type Config struct {
	Think     time.Duration
	Tool      time.Duration
	Slowdown  float64
	CPURounds int
	Profile   Profile // how the waits of each chat are chosen (DefaultProfile)
	// ConfigureWindow is the wait between configuring the factory and
	// creating the agent, paid by both builds (DefaultConfigureWindow).
	ConfigureWindow time.Duration
	// ConfigureFixed makes every chat wait exactly ConfigureWindow instead
	// of an exponential draw with that mean (see Window).
	ConfigureFixed bool
	// FactoryCache is how many factories the per-request build's
	// agent-class cache pins (DefaultFactoryCache: off).
	FactoryCache int
	// Burn is the CPU time every run spends in its tool step on top of the
	// hashing (DefaultBurn: none; see Burn). Slowdown does not scale it.
	Burn   time.Duration
	Logger *slog.Logger // factory log; nil: an in-memory sink (see NewSinkLogger)
}

// Option sets a Config field.
type Option func(*Config)

// WithThink sets the simulated LLM wait (DefaultThink).
func WithThink(d time.Duration) Option { return func(c *Config) { c.Think = d } }

// WithTool sets the simulated tool wait (DefaultTool).
func WithTool(d time.Duration) Option { return func(c *Config) { c.Tool = d } }

// WithSlowdown multiplies the waits and the CPU work (DefaultSlowdown).
func WithSlowdown(f float64) Option { return func(c *Config) { c.Slowdown = f } }

// WithCPURounds sets the hashing rounds of the tool (DefaultCPURounds).
func WithCPURounds(n int) Option { return func(c *Config) { c.CPURounds = n } }

// WithProfile sets the workload profile (DefaultProfile): under
// ProfileProduction the waits of each chat are drawn, not Think and Tool.
func WithProfile(p Profile) Option { return func(c *Config) { c.Profile = p } }

// WithLogger sets the factory logger: configuration, creation, agent
// creation and release are logged as structured INFO lines, as the real
// factory logs them. Without it each build logs to an in-memory sink.
func WithLogger(l *slog.Logger) Option { return func(c *Config) { c.Logger = l } }

// WithConfigureWindow sets the wait between configure and agent creation
// (DefaultConfigureWindow). Both builds pay it, as both await the same I/O
// there; only the legacy build, whose factory other requests reconfigure in
// the meantime, misroutes during it.
func WithConfigureWindow(d time.Duration) Option { return func(c *Config) { c.ConfigureWindow = d } }

// WithFixedConfigureWindow makes every chat wait exactly d between configure
// and agent creation (tests that interleave requests on purpose).
func WithFixedConfigureWindow(d time.Duration) Option {
	return func(c *Config) { c.ConfigureWindow, c.ConfigureFixed = d, true }
}

// Window is the configure-to-create wait of c.
func (c Config) Window() Window { return Window{Mean: c.ConfigureWindow, Fixed: c.ConfigureFixed} }

// WithFactoryCache sets the per-request build's agent-class cache size
// (DefaultFactoryCache); the legacy build ignores it.
func WithFactoryCache(n int) Option { return func(c *Config) { c.FactoryCache = n } }

// WithBurn makes every run spend d of CPU time in its tool step, real work
// on the request path (DefaultBurn; see Burn): the same in every build.
// Slowdown does not scale it.
func WithBurn(d time.Duration) Option { return func(c *Config) { c.Burn = d } }

// NewConfig applies opts over the defaults.
func NewConfig(opts ...Option) Config {
	c := Config{Think: DefaultThink, Tool: DefaultTool, Slowdown: DefaultSlowdown, CPURounds: DefaultCPURounds,
		Profile: DefaultProfile, ConfigureWindow: DefaultConfigureWindow, FactoryCache: DefaultFactoryCache, Burn: DefaultBurn}
	for _, o := range opts {
		o(&c)
	}
	if c.Slowdown <= 0 {
		c.Slowdown = DefaultSlowdown
	}
	if c.CPURounds < 0 {
		c.CPURounds = 0
	}
	if c.ConfigureWindow < 0 {
		c.ConfigureWindow = 0
	}
	if c.FactoryCache < 0 {
		c.FactoryCache = 0
	}
	if c.Burn < 0 {
		c.Burn = 0
	}
	return c
}
