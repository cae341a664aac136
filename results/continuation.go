package results

import "time"

// Continuation is one `loadbench compare --continue` of a stored compare
// run: after which complete round it started, by how many rounds it grew
// the plan's MaxRounds, and the time it was given. Plan.Continued lists
// them in order, so that a reader (and the gate) knows which looks were
// planned with which maximum.
type Continuation struct {
	At time.Time `json:"at"`
	// AfterRound is the number of complete rounds the run had when it was
	// continued: its rounds are numbered from AfterRound+1.
	AfterRound int `json:"after_round"`
	// AddedRounds is how much it raised MaxRounds (0: it only ran rounds
	// the plan already had, after a run stopped out of time or cut short);
	// MaxRounds the plan's most rounds from then on.
	AddedRounds int `json:"added_rounds"`
	MaxRounds   int `json:"max_rounds"`
	// MaxDuration bounds the continuation's own time, start-up, warm-up and
	// reports included.
	MaxDuration Duration `json:"max_duration"`
	// Args is the command line that continued the run, secrets redacted by
	// the caller; empty for a library call.
	Args []string `json:"args,omitempty"`
}
