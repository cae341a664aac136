package agent

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Workflow is the agent workflow both builds run: the supervisor thinks
// (simulated LLM wait), calls a tool (simulated wait plus real hashing and,
// with a burn, a fixed CPU time), and completes. It holds no per-request
// state and is safe for concurrent use.
type Workflow struct {
	think, tool time.Duration
	slowdown    float64
	profile     Profile
	rounds      int
	burn        time.Duration
}

// NewWorkflow builds a workflow from opts (the Logger option is ignored).
func NewWorkflow(opts ...Option) *Workflow {
	return NewWorkflowFromConfig(NewConfig(opts...))
}

// NewWorkflowFromConfig builds a workflow whose waits and hashing are
// multiplied by c.Slowdown. Under ProfileProduction the waits of each chat
// are drawn by c.Profile.Waits; Think and Tool apply under ProfileCI. With
// c.Burn, every run burns that much CPU time in its tool step (Burn), not
// scaled; the burn's cost is calibrated here, once per process, rather than
// on the first chat.
func NewWorkflowFromConfig(c Config) *Workflow {
	if c.Burn > 0 {
		burnCost()
	}
	return &Workflow{
		think:    time.Duration(float64(c.Think) * c.Slowdown),
		tool:     time.Duration(float64(c.Tool) * c.Slowdown),
		slowdown: c.Slowdown,
		profile:  c.Profile,
		rounds:   int(float64(c.CPURounds)*c.Slowdown + 0.5),
		burn:     max(0, c.Burn),
	}
}

// Waits are the LLM and tool waits the workflow uses for one chat: the same
// for every build given the same chat (see Profile.Waits).
func (w *Workflow) Waits(uc UserExecutionContext, seq uint64) (think, tool time.Duration) {
	if w.profile != ProfileProduction {
		return w.think, w.tool
	}
	t, l := w.profile.Waits(0, 0, uc.UserID(), uc.ThreadID(), seq)
	s := w.slowdown
	if s <= 0 {
		s = 1
	}
	return time.Duration(float64(t) * s), time.Duration(float64(l) * s)
}

// Profile is the workflow's workload profile.
func (w *Workflow) Profile() Profile { return w.profile }

// Input is one run of the workflow.
type Input struct {
	Context   UserExecutionContext
	AgentName string // DefaultAgentName when empty
	Message   string
	FactoryID string
	// Seq is the chat's sequence number for its user and thread: with them
	// it keys the chat's waits.
	Seq uint64
	// LLM is the LLM manager the agent runs with; the conversation it
	// returns is copied into agent_thinking.data.context. When nil, History
	// is used instead.
	LLM     *LLMManager
	History []string
}

// Run executes in, emitting the five events in order. It stops at the first
// emitter error or when ctx is done.
func (w *Workflow) Run(ctx context.Context, in Input, emit Emitter) (Result, error) {
	start := time.Now()
	think, tool := w.Waits(in.Context, in.Seq)
	name := in.AgentName
	if name == "" {
		name = DefaultAgentName
	}
	uc := in.Context
	send := func(typ string, data any) error {
		ev := Event{
			Type:      typ,
			RunID:     uc.RunID(),
			UserID:    uc.UserID(),
			ThreadID:  uc.ThreadID(),
			AgentName: name,
			Timestamp: time.Now().UTC().Format(time.RFC3339Nano),
			Data:      data,
		}
		raw, err := json.Marshal(ev)
		if err != nil {
			return fmt.Errorf("agent: encode %s: %w", typ, err)
		}
		return emit(ev, raw)
	}

	if err := send(EventAgentStarted, StartedData{
		Status:    "started",
		Message:   fmt.Sprintf("%s started processing your request", name),
		FactoryID: in.FactoryID,
	}); err != nil {
		return Result{}, err
	}
	if err := Pause(ctx, think); err != nil {
		return Result{}, err
	}
	history := in.History
	if in.LLM != nil {
		history = in.LLM.Call(in.Message)
	}
	if err := send(EventAgentThinking, ThinkingData{
		Status:             "thinking",
		Reasoning:          "Analyzing the request and selecting a tool: " + truncate(in.Message, 64),
		StepNumber:         1,
		ProgressPercentage: 25,
		Context:            append([]string(nil), history...),
	}); err != nil {
		return Result{}, err
	}
	params := map[string]any{"text_length": len(in.Message), "thread_id": uc.ThreadID()}
	if err := send(EventToolExecuting, ToolExecutingData{
		Status: "executing", ToolName: DefaultToolName, Parameters: params,
	}); err != nil {
		return Result{}, err
	}
	toolStart := time.Now()
	if err := Pause(ctx, tool); err != nil {
		return Result{}, err
	}
	if err := Burn(ctx, w.burn); err != nil {
		return Result{}, err
	}
	digest, words := analyze(in.Message, w.rounds)
	toolMS := ms(time.Since(toolStart))
	if err := send(EventToolCompleted, ToolCompletedData{
		Status:          "completed",
		ToolName:        DefaultToolName,
		Result:          map[string]any{"digest": digest, "word_count": words},
		ExecutionTimeMS: toolMS,
	}); err != nil {
		return Result{}, err
	}
	res := Result{
		Status:    "completed",
		Response:  fmt.Sprintf("Analyzed your message (%d words): %s", words, truncate(in.Message, 256)),
		ToolName:  DefaultToolName,
		Digest:    digest,
		WordCount: words,
	}
	if err := send(EventAgentCompleted, CompletedData{
		Status: "completed", Result: res, ExecutionTimeMS: ms(time.Since(start)),
	}); err != nil {
		return Result{}, err
	}
	return res, nil
}

// analyze is the tool's real CPU work: iterated SHA-256 over the message and
// a word count.
func analyze(msg string, rounds int) (string, int) {
	sum := sha256.Sum256([]byte(msg))
	for range rounds {
		sum = sha256.Sum256(append(sum[:], msg...))
	}
	return hex.EncodeToString(sum[:]), len(strings.Fields(msg))
}

func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	// Cut on a rune boundary.
	for n > 0 && n < len(s) && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// AgentInstance is an agent created by a factory: the agent and the user
// context it was created for, as the real factory's instance map holds them.
type AgentInstance struct {
	Key       string // user_agent_ms
	AgentName string
	Context   UserExecutionContext
	CreatedAt time.Time
	State     map[string]any
}

// NewAgentInstance builds the instance a factory registers for uctx.
func NewAgentInstance(key, agentName string, uctx UserExecutionContext) *AgentInstance {
	return &AgentInstance{
		Key:       key,
		AgentName: agentName,
		Context:   uctx,
		CreatedAt: time.Now(),
		State: map[string]any{
			"status":     "created",
			"run_id":     uctx.RunID(),
			"thread_id":  uctx.ThreadID(),
			"tool_names": []string{DefaultToolName},
		},
	}
}

// InstanceKey is the real factory's key for an agent instance: user_agent_ms
// (seq disambiguates instances created in the same millisecond).
func InstanceKey(userID, agentName string, t time.Time, seq uint64) string {
	return fmt.Sprintf("%s_%s_%d_%d", userID, agentName, t.UnixMilli(), seq)
}

// EmitterKey is the real factory's key for a WebSocket emitter:
// user_thread_run.
func EmitterKey(uc UserExecutionContext) string {
	return uc.UserID() + "_" + uc.ThreadID() + "_" + uc.RunID()
}
