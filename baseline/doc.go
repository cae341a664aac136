// Package baseline is the legacy build of the chat-agent service: one
// process-wide AgentInstanceFactory, created on first use by Get and
// reconfigured by Configure, shared by every user.
//
// Its defects are the real service's, modelled as logical defects and never
// as data races (all shared state sits behind the factory's mutex):
//
//   - agent instances, each holding its user context, accumulate forever;
//   - agent_thinking's context is built from the factory's shared
//     recent-message history, so it carries other users' messages;
//   - every request reports the same factory_id;
//   - Configure swaps the WebSocket bridge for every user's agents (the demo
//     route calls it for every connection).
package baseline
