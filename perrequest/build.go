package perrequest

import (
	"container/list"
	"log/slog"
	"sync"

	"github.com/loadbench/loadbench/internal/agent"
)

// Name is the build's name.
const Name = "perrequest"

// Build serves every request from a new Factory. It satisfies agent.Build.
type Build struct {
	workflow *agent.Workflow
	logger   *slog.Logger
	tracker  *Tracker
	// engine is the engine-factory lock: one per build, and a process
	// serves one build, so it is process-wide as in
	// execution_engine_factory.py.
	engine sync.Mutex
	cache  *classCache
	window agent.Window
}

// NewBuild returns a build whose factories run the workflow of opts, with an
// agent-class cache of agent.Config.FactoryCache entries (0: none).
func NewBuild(opts ...agent.Option) *Build {
	c := agent.NewConfig(opts...)
	return &Build{
		workflow: agent.NewWorkflowFromConfig(c),
		logger:   agent.LoggerOf(c.Logger),
		tracker:  new(Tracker),
		cache:    newClassCache(c.FactoryCache),
		window:   c.Window(),
	}
}

// Name returns "perrequest".
func (b *Build) Name() string { return Name }

// Tracker returns the build's counters.
func (b *Build) Tracker() *Tracker { return b.tracker }

// Acquire builds and configures a new factory for uctx.
func (b *Build) Acquire(uctx agent.UserExecutionContext, bridge agent.Bridge) (agent.Session, error) {
	f, err := newFactory(uctx, Deps{Workflow: b.workflow, Bridge: bridge, Tracker: b.tracker, Logger: b.logger, Window: b.window}, &b.engine)
	if err != nil {
		return nil, err
	}
	b.cache.lookup(f, agent.DefaultAgentName)
	return f, nil
}

// Stats reads the build's tracker and cache.
func (b *Build) Stats() agent.Stats {
	return agent.Stats{
		FactoriesCreated:  b.tracker.Created(),
		FactoriesLive:     b.tracker.Live(),
		InstancesRetained: b.tracker.Tracked(),
		StaleRequests:     b.cache.stale(),
	}
}

// CacheLen is the number of factories the agent-class cache pins.
func (b *Build) CacheLen() int { return b.cache.len() }

// classCache is the agent-class lookup cache of the real factory: a
// functools.lru_cache(maxsize=128) on a method, whose key includes self, so
// every entry pins the factory it was called on until evicted. Entries are
// keyed by (factory id, agent name); a new factory always misses, so the
// cache holds the last n factories. n == 0 disables it.
type classCache struct {
	n     int
	mu    sync.Mutex
	order *list.List // of *cacheEntry, most recent first
	byKey map[string]*list.Element
}

type cacheEntry struct {
	key   string
	f     *Factory // pinned
	class string
}

func newClassCache(n int) *classCache {
	return &classCache{n: n, order: list.New(), byKey: make(map[string]*list.Element)}
}

// lookup returns the class of name as resolved through f, caching it.
func (c *classCache) lookup(f *Factory, name string) string {
	class := f.registry[name]
	if c.n <= 0 {
		return class
	}
	key := f.id + "\x00" + name
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.byKey[key]; ok {
		c.order.MoveToFront(e)
		return e.Value.(*cacheEntry).class
	}
	c.byKey[key] = c.order.PushFront(&cacheEntry{key: key, f: f, class: class})
	for c.order.Len() > c.n {
		last := c.order.Back()
		c.order.Remove(last)
		delete(c.byKey, last.Value.(*cacheEntry).key)
	}
	return class
}

func (c *classCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.order.Len()
}

// stale counts pinned factories whose request has finished.
func (c *classCache) stale() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	var n int64
	for e := c.order.Front(); e != nil; e = e.Next() {
		if e.Value.(*cacheEntry).f.isReleased() {
			n++
		}
	}
	return n
}
