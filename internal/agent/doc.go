// Package agent is the domain shared by both builds of the chat-agent service
// that loadbench measures: the immutable UserExecutionContext and its
// validation, the five WebSocket events and their JSON shapes, and the agent
// workflow (supervisor → tool → completion) with its simulated LLM and tool
// waits.
//
// The legacy singleton (package baseline) and the per-request factory
// (package perrequest) run exactly the same Workflow; they differ only in how
// a factory is obtained and what it keeps. Both expose themselves through the
// Build and Session interfaces declared here, which is what the HTTP and
// WebSocket targets serve.
package agent
