package compare

import (
	"math"
	"strings"
	"testing"
)

// FuzzParseMetrics feeds the /metrics parser any text: no panic, and a
// reading it accepts holds either -1 (absent) or what the text said.
func FuzzParseMetrics(f *testing.F) {
	f.Add("# HELP go_memstats_heap_alloc_bytes x\n# TYPE go_memstats_heap_alloc_bytes gauge\ngo_memstats_heap_alloc_bytes 1.234e+06\n")
	f.Add("process_resident_memory_bytes 5e7\nagent_factories_live{build=\"perrequest\"} 3\n")
	f.Add("# TYPE agent_instances counter\nagent_instances 7\n# TYPE x histogram\nx_bucket{le=\"+Inf\"} 1\nx_sum 1\nx_count 1\n")
	f.Add("go_memstats_heap_inuse_bytes NaN\n")
	f.Add("bad line {\n")
	f.Fuzz(func(t *testing.T, text string) {
		r, err := parseMetrics(strings.NewReader(text))
		if err != nil {
			return
		}
		for _, v := range []float64{r.HeapAlloc, r.HeapInuse, r.RSS, r.FactoriesLive, r.AgentInstances} {
			if v != -1 && !strings.Contains(text, "_") && !math.IsNaN(v) {
				t.Fatalf("a value %v from text without any metric name", v)
			}
		}
	})
}
