// Package agent is the domain shared by every build of the chat-agent
// service that loadbench measures: the immutable UserExecutionContext and its
// validation (the real one's placeholder values and prefixes and reserved
// metadata keys, netra_backend/app/services/user_execution_context.py), the
// five WebSocket events and their JSON shapes, the per-user LLMManager, the
// agent class registry and its validation, the FACTORY_* performance
// configuration, the factory log lines, and the agent workflow (supervisor →
// tool → completion) with its simulated LLM and tool waits and, for fault
// injection, a fixed CPU time burned per run (Burn: real work measured on
// the thread's CPU clock, not a sleep).
//
// Workload profiles (Profile) choose those waits: ProfileCI uses fixed short
// waits; ProfileProduction draws log-normal LLM waits (median 1.5 s, p99 6 s)
// and tool waits (median 30 ms) from a generator seeded by (user, thread,
// chat sequence), identical in every build (common random numbers).
// Profile.Load gives the load shape that goes with each profile.
//
// The legacy singleton (package baseline) and the per-request factory
// (package perrequest) run exactly the same Workflow; they differ in how a
// factory is obtained, configured and cleaned up. Both expose themselves
// through the Build and Session interfaces declared here, which is what the
// HTTP and WebSocket targets serve.
package agent
