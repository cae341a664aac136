// Package perrequest is the remediated build of the chat-agent service: a
// new AgentInstanceFactory per request, like the real
// create_agent_instance_factory(user_context), which refuses a missing
// context.
//
// It pays what the real per-request construction pays, each cost modelled on
// its counterpart in netra-systems/zen (netra_backend/app/agents/supervisor/):
//
//   - configuration load: a new agent.PerformanceConfig per factory, one
//     environment read per FACTORY_* switch (factory_performance_config.py);
//   - its structures: the emitter pool's queue (FACTORY_POOL_INITIAL_SIZE
//     slots), the metrics buffer (FACTORY_METRICS_BUFFER_SIZE), the tracking
//     maps, the weak semaphore map and its own lock
//     (agent_instance_factory.py, __init__);
//   - configure: registry validation (agent.ValidateRegistry) and its log
//     lines, with the request's bridge and a new LLM manager
//     (agent_instance_factory.py, configure);
//   - the engine-factory lock, one per Build (a process serves one build, so
//     it is process-wide), held across factory construction and agent
//     creation (execution_engine_factory.py holds its lock across engine
//     creation);
//   - structured INFO lines through a real log/slog JSON handler: the
//     --audit-log file, or an in-memory agent.MemorySink (never io.Discard).
//
// Everything per request is dropped by Release; live factories are counted
// with runtime.AddCleanup, so the release of their memory is observable.
//
// agent.WithFactoryCache(n) adds the real agent-class cache
// (functools.lru_cache(maxsize=128) on a method, whose key includes self):
// it pins the last n factories, which the memory gate and the audit's
// accumulation check must catch. It is off (0) by default.
package perrequest
