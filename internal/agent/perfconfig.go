package agent

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// PerformanceConfig is the factory performance configuration of the real
// service (agents/supervisor/factory_performance_config.py,
// FactoryPerformanceConfig): every field is read from its FACTORY_*
// environment variable, falling back to the real default. The real
// dataclass evaluates its default_factory lambdas, one environment read
// each, every time a config is built; LoadPerformanceConfig does the same.
type PerformanceConfig struct {
	EnablePooling        bool          // FACTORY_ENABLE_POOLING (true)
	PoolInitialSize      int           // FACTORY_POOL_INITIAL_SIZE (20)
	PoolMaxSize          int           // FACTORY_POOL_MAX_SIZE (200)
	PoolCleanupInterval  time.Duration // FACTORY_POOL_CLEANUP_INTERVAL (300 s)
	PoolReuseTimeout     time.Duration // FACTORY_POOL_REUSE_TIMEOUT (60 s)
	EnableCaching        bool          // FACTORY_ENABLE_CACHING (true)
	CacheSize            int           // FACTORY_CACHE_SIZE (128)
	CacheTTL             time.Duration // FACTORY_CACHE_TTL (3600 s)
	EnableMetrics        bool          // FACTORY_ENABLE_METRICS (true)
	MetricsSampleRate    float64       // FACTORY_METRICS_SAMPLE_RATE (0.1)
	MetricsBufferSize    int           // FACTORY_METRICS_BUFFER_SIZE (100)
	EnableObjectReuse    bool          // FACTORY_ENABLE_OBJECT_REUSE (true)
	ReusePoolSize        int           // FACTORY_REUSE_POOL_SIZE (50)
	EnableLazyInit       bool          // FACTORY_ENABLE_LAZY_INIT (true)
	TargetContextMS      float64       // FACTORY_TARGET_CONTEXT_MS (5)
	TargetAgentMS        float64       // FACTORY_TARGET_AGENT_MS (10)
	TargetCleanupMS      float64       // FACTORY_TARGET_CLEANUP_MS (2)
	MaxConcurrentPerUser int           // FACTORY_MAX_CONCURRENT_PER_USER (10)
	ExecutionTimeout     time.Duration // FACTORY_EXECUTION_TIMEOUT (30 s)
	MaxHistoryPerUser    int           // FACTORY_MAX_HISTORY_PER_USER (50)
	EnableWeakRefs       bool          // FACTORY_ENABLE_WEAK_REFS (true)
	UseOptimizedCtor     bool          // FACTORY_USE_OPTIMIZED_CONSTRUCTOR (true)
	EnableEventBatching  bool          // FACTORY_ENABLE_EVENT_BATCHING (false)
	EventBatchSize       int           // FACTORY_EVENT_BATCH_SIZE (10)
	EventBatchTimeout    time.Duration // FACTORY_EVENT_BATCH_TIMEOUT (0.1 s)
}

// LoadPerformanceConfig reads the FACTORY_* variables through lookup
// (os.LookupEnv when nil). A value that does not parse is an error, as the
// real int()/float() conversions raise.
func LoadPerformanceConfig(lookup func(string) (string, bool)) (PerformanceConfig, error) {
	if lookup == nil {
		lookup = os.LookupEnv
	}
	var (
		c   PerformanceConfig
		err error
	)
	get := func(k, def string) string {
		if v, ok := lookup(k); ok {
			return v
		}
		return def
	}
	b := func(k, def string) bool { return strings.ToLower(get(k, def)) == "true" }
	i := func(k, def string) int {
		n, e := strconv.Atoi(get(k, def))
		if e != nil && err == nil {
			err = fmt.Errorf("factory config: %s: %w", k, e)
		}
		return n
	}
	f := func(k, def string) float64 {
		n, e := strconv.ParseFloat(get(k, def), 64)
		if e != nil && err == nil {
			err = fmt.Errorf("factory config: %s: %w", k, e)
		}
		return n
	}
	sec := func(k, def string) time.Duration { return time.Duration(f(k, def) * float64(time.Second)) }
	c.EnablePooling = b("FACTORY_ENABLE_POOLING", "true")
	c.PoolInitialSize = i("FACTORY_POOL_INITIAL_SIZE", "20")
	c.PoolMaxSize = i("FACTORY_POOL_MAX_SIZE", "200")
	c.PoolCleanupInterval = sec("FACTORY_POOL_CLEANUP_INTERVAL", "300")
	c.PoolReuseTimeout = sec("FACTORY_POOL_REUSE_TIMEOUT", "60.0")
	c.EnableCaching = b("FACTORY_ENABLE_CACHING", "true")
	c.CacheSize = i("FACTORY_CACHE_SIZE", "128")
	c.CacheTTL = sec("FACTORY_CACHE_TTL", "3600")
	c.EnableMetrics = b("FACTORY_ENABLE_METRICS", "true")
	c.MetricsSampleRate = f("FACTORY_METRICS_SAMPLE_RATE", "0.1")
	c.MetricsBufferSize = i("FACTORY_METRICS_BUFFER_SIZE", "100")
	c.EnableObjectReuse = b("FACTORY_ENABLE_OBJECT_REUSE", "true")
	c.ReusePoolSize = i("FACTORY_REUSE_POOL_SIZE", "50")
	c.EnableLazyInit = b("FACTORY_ENABLE_LAZY_INIT", "true")
	c.TargetContextMS = f("FACTORY_TARGET_CONTEXT_MS", "5.0")
	c.TargetAgentMS = f("FACTORY_TARGET_AGENT_MS", "10.0")
	c.TargetCleanupMS = f("FACTORY_TARGET_CLEANUP_MS", "2.0")
	c.MaxConcurrentPerUser = i("FACTORY_MAX_CONCURRENT_PER_USER", "10")
	c.ExecutionTimeout = sec("FACTORY_EXECUTION_TIMEOUT", "30.0")
	c.MaxHistoryPerUser = i("FACTORY_MAX_HISTORY_PER_USER", "50")
	c.EnableWeakRefs = b("FACTORY_ENABLE_WEAK_REFS", "true")
	c.UseOptimizedCtor = b("FACTORY_USE_OPTIMIZED_CONSTRUCTOR", "true")
	c.EnableEventBatching = b("FACTORY_ENABLE_EVENT_BATCHING", "false")
	c.EventBatchSize = i("FACTORY_EVENT_BATCH_SIZE", "10")
	c.EventBatchTimeout = sec("FACTORY_EVENT_BATCH_TIMEOUT", "0.1")
	if err == nil && (c.PoolInitialSize < 0 || c.PoolMaxSize < c.PoolInitialSize || c.MaxConcurrentPerUser <= 0 || c.MetricsBufferSize < 0) {
		err = fmt.Errorf("factory config: inconsistent sizes (pool %d..%d, per user %d, metrics buffer %d)",
			c.PoolInitialSize, c.PoolMaxSize, c.MaxConcurrentPerUser, c.MetricsBufferSize)
	}
	return c, err
}
