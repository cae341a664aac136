package agent

// Event types, emitted in this order by every run.
const (
	EventAgentStarted   = "agent_started"
	EventAgentThinking  = "agent_thinking"
	EventToolExecuting  = "tool_executing"
	EventToolCompleted  = "tool_completed"
	EventAgentCompleted = "agent_completed"
)

// EventTypes lists the five event types in emission order.
func EventTypes() []string {
	return []string{EventAgentStarted, EventAgentThinking, EventToolExecuting, EventToolCompleted, EventAgentCompleted}
}

// Event is one WebSocket event of a run. Data is one of StartedData,
// ThinkingData, ToolExecutingData, ToolCompletedData or CompletedData.
type Event struct {
	Type      string `json:"type"`
	RunID     string `json:"run_id"`
	UserID    string `json:"user_id"`
	ThreadID  string `json:"thread_id"`
	AgentName string `json:"agent_name"`
	Timestamp string `json:"timestamp"` // RFC 3339
	Data      any    `json:"data"`
}

// StartedData is the data of agent_started.
type StartedData struct {
	Status    string `json:"status"` // "started"
	Message   string `json:"message"`
	FactoryID string `json:"factory_id"`
}

// ThinkingData is the data of agent_thinking. Context holds the recent
// messages the factory hands the LLM: only this request's in an isolated
// build.
type ThinkingData struct {
	Status             string   `json:"status"` // "thinking"
	Reasoning          string   `json:"reasoning"`
	StepNumber         int      `json:"step_number"`
	ProgressPercentage float64  `json:"progress_percentage"`
	Context            []string `json:"context"`
}

// ToolExecutingData is the data of tool_executing.
type ToolExecutingData struct {
	Status     string         `json:"status"` // "executing"
	ToolName   string         `json:"tool_name"`
	Parameters map[string]any `json:"parameters"`
}

// ToolCompletedData is the data of tool_completed.
type ToolCompletedData struct {
	Status          string         `json:"status"` // "completed"
	ToolName        string         `json:"tool_name"`
	Result          map[string]any `json:"result"`
	ExecutionTimeMS float64        `json:"execution_time_ms"`
}

// CompletedData is the data of agent_completed.
type CompletedData struct {
	Status          string  `json:"status"` // "completed"
	Result          Result  `json:"result"`
	ExecutionTimeMS float64 `json:"execution_time_ms"`
}

// Result is the outcome of a run: the "result" of the HTTP response and of
// agent_completed.data.
type Result struct {
	Status    string `json:"status"` // "completed"
	Response  string `json:"response"`
	ToolName  string `json:"tool_name"`
	Digest    string `json:"digest"`
	WordCount int    `json:"word_count"`
}

// Emitter receives each event of a run as it happens, with its JSON encoding
// (built once by the workflow). It must not retain raw after returning.
type Emitter func(ev Event, raw []byte) error

// Bridge is the WebSocket bridge a factory is configured with: every event
// the factory's agents emit is also notified to it. Implementations must be
// safe for concurrent use.
type Bridge interface {
	Notify(ev Event)
}
