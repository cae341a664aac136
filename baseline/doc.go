// Package baseline is the legacy build of the chat-agent service: one
// process-wide AgentInstanceFactory, created on first use by Get, that every
// request reconfigures.
//
// Its defect is the real service's, modelled as a logical defect and never
// as a data race (all shared state sits behind the factory's mutex):
//
//   - Every request configures the one factory with its own route (the
//     bridge of its connection and the emitter of its socket or HTTP
//     response) and a new LLM manager for its user, as the real
//     configure(websocket_bridge=…, llm_manager=…) does on the singleton
//     (netra_backend/app/agents/supervisor/agent_instance_factory.py; the
//     demo route netra_backend/app/routes/demo_websocket.py builds a
//     per-user LLMManager and bridge and configures the singleton with
//     them; the supervisor does the same).
//   - Agent creation happens after a yield point, the model of the real
//     service's await between configure and create (the configure window,
//     agent.WithConfigureWindow), and reads whatever route and LLM manager
//     the factory holds at that moment.
//   - When requests overlap, an agent runs with another user's LLM manager
//     (its conversation, its calls) and emits through another user's route:
//     events reach the wrong socket or HTTP response, and the owner receives
//     nothing of its own run. Without overlap every request behaves. The
//     rate grows with concurrency (see Stats.MisroutedAgents).
//   - Events delivered to a request that has finished are lost.
//   - Cleanup is the real one: active contexts and agent instances are
//     removed per user context on release (cleanup_user_context), and the
//     per-user semaphores live in a weak map (weak.Pointer, with
//     runtime.AddCleanup dropping the entry, like a WeakValueDictionary).
//     What a finished request leaves is what the singleton still
//     references: the last route and LLM manager configured, until the
//     next request replaces them (Stats.StaleRequests).
//   - Every request reports the same factory_id.
package baseline
