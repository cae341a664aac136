// Package perrequest is the remediated build of the chat-agent service: a
// new AgentInstanceFactory per request, like the real
// create_agent_instance_factory(user_context), which refuses a missing
// context.
//
// A factory shares only immutable dependencies (the workflow, the
// bridge of the connection that asked) and builds its
// own per-request structures: emitter, per-user semaphore, tracking maps and
// metrics, all dropped by Release. Live factories are counted with
// runtime.AddCleanup, so the release of their memory is observable.
package perrequest
