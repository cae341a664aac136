package results

import (
	"fmt"
	"path/filepath"
	"time"
)

// Generator is one shard of a segment run by several generators (`loadbench
// worker` processes under one coordinator), as the merged segment's
// manifest records it.
type Generator struct {
	Index int    `json:"index"`
	Host  string `json:"host,omitempty"`
	// ClockOffset is the coordinator's clock minus the worker's, estimated
	// by the best (smallest ClockDelay) of several NTP-style exchanges; its
	// error is at most ClockDelay/2.
	ClockOffset time.Duration `json:"clock_offset_ns"`
	ClockDelay  time.Duration `json:"clock_delay_ns"`
	// StartSkew is how late the shard began after the segment's absolute
	// start, in the coordinator's clock (through ClockOffset).
	StartSkew time.Duration `json:"start_skew_ns"`
	Requests  int64         `json:"requests"`
}

// ShardDir is where the raw segment of shard (from 0) of a segment stored
// in dir lives: dir/shard-03.
func ShardDir(dir string, shard int) string {
	return filepath.Join(dir, fmt.Sprintf("shard-%02d", shard))
}
