package perrequest

import (
	"log/slog"

	"github.com/loadbench/loadbench/internal/agent"
)

// Name is the build's name.
const Name = "perrequest"

// Build serves every request from a new Factory. It satisfies agent.Build.
type Build struct {
	workflow *agent.Workflow
	logger   *slog.Logger
	tracker  *Tracker
}

// NewBuild returns a build whose factories run the workflow of opts.
func NewBuild(opts ...agent.Option) *Build {
	c := agent.NewConfig(opts...)
	return &Build{workflow: agent.NewWorkflowFromConfig(c), logger: c.Logger, tracker: new(Tracker)}
}

// Name returns "perrequest".
func (b *Build) Name() string { return Name }

// Tracker returns the build's counters.
func (b *Build) Tracker() *Tracker { return b.tracker }

// Acquire builds a new factory for uctx.
func (b *Build) Acquire(uctx agent.UserExecutionContext, bridge agent.Bridge) (agent.Session, error) {
	f, err := New(uctx, Deps{Workflow: b.workflow, Bridge: bridge, Tracker: b.tracker, Logger: b.logger})
	if err != nil {
		return nil, err
	}
	return f, nil
}

// Stats reads the build's tracker.
func (b *Build) Stats() agent.Stats {
	return agent.Stats{
		FactoriesCreated:  b.tracker.Created(),
		FactoriesLive:     b.tracker.Live(),
		InstancesRetained: b.tracker.Tracked(),
	}
}
