package results

// Summary is summary.json: the verdicts of a compare. The gate is on the
// candidate; the baseline's numbers are the "before".
type Summary struct {
	Verdict   string                      `json:"verdict"` // Pass, Fail, Inconclusive
	Reason    string                      `json:"reason"`  // one line: why
	Budget    float64                     `json:"budget"`  // 0.05 for 5%
	Alpha     float64                     `json:"alpha"`
	Rounds    int                         `json:"rounds"`
	Partial   bool                        `json:"partial,omitempty"`
	Latency   []LatencyVerdict            `json:"latency"`
	Memory    map[string]MemoryVerdict    `json:"memory"`    // Baseline, Candidate
	Isolation map[string]IsolationVerdict `json:"isolation"` // Baseline, Candidate
	Requests  map[string]int64            `json:"requests"`  // Baseline, Candidate
	Warnings  []string                    `json:"warnings,omitempty"`
	// Load is the load accounting of each build and protocol (build →
	// protocol): target and generator errors, chats not sent, in-flight
	// chats, send lag and saturation, timing violations.
	Load map[string]map[string]Accounting `json:"load,omitempty"`
}

// LatencyVerdict is the verdict on one protocol and percentile. The ms
// values are the centers (medians) of the per-round values; Ratio and its
// confidence interval are candidate/baseline.
type LatencyVerdict struct {
	Protocol    string  `json:"protocol"`
	Percentile  float64 `json:"percentile"` // 50, 95, 99
	BaselineMs  float64 `json:"baseline_ms"`
	CandidateMs float64 `json:"candidate_ms"`
	Ratio       float64 `json:"ratio"`
	CILow       float64 `json:"ci_low"`
	CIHigh      float64 `json:"ci_high"`
	PValue      float64 `json:"p_value"`
	Verdict     string  `json:"verdict"`
	// MoreRounds, when inconclusive, estimates how many more rounds would
	// let the data decide.
	MoreRounds int    `json:"more_rounds,omitempty"`
	Note       string `json:"note,omitempty"`
}

// MemoryVerdict is one build's memory after load.
type MemoryVerdict struct {
	RetainedBytes           float64 `json:"retained_bytes"`
	RetainedBytesPerRequest float64 `json:"retained_bytes_per_request"`
	FactoriesLiveAfter      float64 `json:"factories_live_after"`
	AgentInstancesRetained  float64 `json:"agent_instances_retained"`
	Verdict                 string  `json:"verdict"`
	Note                    string  `json:"note,omitempty"`
}

// IsolationVerdict is one build's isolation under load.
type IsolationVerdict struct {
	Checked            int64  `json:"checked"`
	Violations         int64  `json:"violations"`
	DistinctFactoryIDs int64  `json:"distinct_factory_ids"`
	Verdict            string `json:"verdict"`
}
