package agent

import (
	"fmt"
	"sync"
)

// LLMManager is the per-user LLM manager a request builds and configures its
// factory with, like the demo WebSocket route's per-user LLMManager
// (netra_backend/app/routes/demo_websocket.py). It keeps its user's recent
// messages: the conversation handed to the LLM, copied into
// agent_thinking.data.context. An agent run with another user's manager
// therefore shows that user's conversation: the legacy defect. It is safe for
// concurrent use.
type LLMManager struct {
	owner UserExecutionContext

	mu           sync.Mutex
	conversation []string
	calls        uint64
}

// NewLLMManager builds the manager of owner.
func NewLLMManager(owner UserExecutionContext) *LLMManager {
	return &LLMManager{owner: owner, conversation: make([]string, 0, HistoryWindow)}
}

// Owner is the context the manager was built for.
func (m *LLMManager) Owner() UserExecutionContext { return m.owner }

// Call records one LLM call with message and returns the conversation the
// LLM sees (at most HistoryWindow recent messages, message last).
func (m *LLMManager) Call(message string) []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.calls++
	m.conversation = append(m.conversation, message)
	if len(m.conversation) > HistoryWindow {
		m.conversation = append(m.conversation[:0], m.conversation[len(m.conversation)-HistoryWindow:]...)
	}
	return append([]string(nil), m.conversation...)
}

// Calls is the number of LLM calls made through the manager.
func (m *LLMManager) Calls() uint64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.calls
}

// AgentClasses is the agent class registry both builds validate on
// configure: agent name → class, as the real AgentClassRegistry registers
// them at startup (agent_class_initialization.py). It is never modified.
var agentClasses = map[string]string{
	DefaultAgentName:       "SupervisorAgent",
	"triage":               "UnifiedTriageAgent",
	"data":                 "DataSubAgent",
	"optimization":         "OptimizationsCoreSubAgent",
	"actions":              "ActionsToMeetGoalsSubAgent",
	"reporting":            "ReportingSubAgent",
	"goals_triage":         "GoalsTriageSubAgent",
	"data_helper":          "DataHelperAgent",
	"synthetic_data":       "SyntheticDataSubAgent",
	"corpus_admin":         "CorpusAdminSubAgent",
	"summary_extractor":    "SummaryExtractorSubAgent",
	"validation":           "ValidationSubAgent",
	"supply_researcher":    "SupplyResearcherAgent",
	"github_analyzer":      "GitHubAnalyzerService",
	"enhanced_data_helper": "EnhancedDataHelperAgent",
}

// AgentClasses returns a copy of the registry.
func AgentClasses() map[string]string {
	out := make(map[string]string, len(agentClasses))
	for k, v := range agentClasses {
		out[k] = v
	}
	return out
}

// ValidateRegistry is the registry validation of the real configure
// (agent_instance_factory.py, configure(): the registry must be present,
// frozen, and hold the requested agents): every entry has a name and a class
// whose name ends in Agent, SubAgent or Service, and the supervisor is
// registered. It returns the number of agents.
func ValidateRegistry(reg map[string]string) (int, error) {
	if len(reg) == 0 {
		return 0, fmt.Errorf("configure: empty agent class registry")
	}
	if _, ok := reg[DefaultAgentName]; !ok {
		return 0, fmt.Errorf("configure: registry lacks %s", DefaultAgentName)
	}
	seen := make(map[string]string, len(reg))
	for name, class := range reg {
		if name == "" || class == "" {
			return 0, fmt.Errorf("configure: registry entry %q → %q is incomplete", name, class)
		}
		if !hasSuffix(class, "Agent") && !hasSuffix(class, "Service") {
			return 0, fmt.Errorf("configure: %s is not an agent class", class)
		}
		if other, dup := seen[class]; dup {
			return 0, fmt.Errorf("configure: class %s registered as %s and %s", class, other, name)
		}
		seen[class] = name
	}
	return len(reg), nil
}

func hasSuffix(s, suf string) bool { return len(s) >= len(suf) && s[len(s)-len(suf):] == suf }
