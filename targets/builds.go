package targets

import (
	"fmt"

	"github.com/loadbench/loadbench/baseline"
	"github.com/loadbench/loadbench/internal/agent"
	"github.com/loadbench/loadbench/perrequest"
)

// Build names accepted by New and NewBuild.
const (
	ImplBaseline   = baseline.Name
	ImplPerRequest = perrequest.Name
	// ImplPartial is the half-migrated service: HTTP (the supervisor path)
	// on per-request factories, the demo WebSocket route still configuring
	// the legacy singleton.
	ImplPartial = "partial"
)

// Impls lists the build names.
func Impls() []string { return []string{ImplBaseline, ImplPerRequest, ImplPartial} }

// ValidImpl reports whether impl names a build.
func ValidImpl(impl string) bool {
	return impl == ImplBaseline || impl == ImplPerRequest || impl == ImplPartial
}

// NewBuild returns the build named impl.
func NewBuild(impl string, opts ...agent.Option) (agent.Build, error) {
	switch impl {
	case ImplBaseline:
		return baseline.NewBuild(opts...), nil
	case ImplPerRequest:
		return perrequest.NewBuild(opts...), nil
	case ImplPartial:
		return &partialBuild{http: perrequest.NewBuild(opts...), ws: baseline.NewBuild(opts...)}, nil
	}
	return nil, fmt.Errorf("targets: unknown build %q (want %s, %s or %s)", impl, ImplBaseline, ImplPerRequest, ImplPartial)
}

// partialBuild composes the two builds (which never import each other):
// requests without a bridge (HTTP) get per-request factories, requests with
// one (the WebSocket route) configure the legacy singleton.
type partialBuild struct {
	http *perrequest.Build
	ws   *baseline.Build
}

func (p *partialBuild) Name() string { return ImplPartial }

func (p *partialBuild) Acquire(uctx agent.UserExecutionContext, bridge agent.Bridge) (agent.Session, error) {
	if bridge == nil {
		return p.http.Acquire(uctx, nil)
	}
	return p.ws.Acquire(uctx, bridge)
}

func (p *partialBuild) Stats() agent.Stats {
	h, w := p.http.Stats(), p.ws.Stats()
	return agent.Stats{
		FactoriesCreated:  h.FactoriesCreated + w.FactoriesCreated,
		FactoriesLive:     h.FactoriesLive + w.FactoriesLive,
		InstancesRetained: h.InstancesRetained + w.InstancesRetained,
		StaleRequests:     h.StaleRequests + w.StaleRequests,
		MisroutedAgents:   h.MisroutedAgents + w.MisroutedAgents,
	}
}
