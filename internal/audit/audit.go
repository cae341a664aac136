package audit

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/loadbench/loadbench/internal/agent"
)

// Build is what a build must provide to be audited: agent.Build satisfies it.
type Build interface {
	Name() string
	Acquire(uctx agent.UserExecutionContext, bridge agent.Bridge) (agent.Session, error)
	Stats() agent.Stats
}

// DefaultUsers is how many concurrent users the checks simulate.
const DefaultUsers = 100

// MinUsers is the fewest users a run accepts.
const MinUsers = 3

// maxFindings bounds the findings listed per check.
const maxFindings = 5

// Check names, in run order.
const (
	CheckSharedGlobalInstance         = "shared_global_instance"
	CheckConcurrentContamination      = "concurrent_context_contamination"
	CheckDataPersistsAfterRequest     = "data_persists_after_request"
	CheckPerRequestAccumulation       = "per_request_accumulation"
	CheckWebSocketEventIsolation      = "websocket_event_isolation"
	CheckConcurrentExecutionIsolation = "concurrent_execution_isolation"
	CheckContextSeparation            = "context_separation"
	CheckMultiTenantSecrets           = "multi_tenant_secrets"
)

type checkFunc func(ctx context.Context, b Build, users int) (*finder, error)

type check struct {
	name, description string
	run               checkFunc
}

func checks() []check {
	return []check{
		{CheckSharedGlobalInstance, "every request gets its own factory", sharedGlobalInstance},
		{CheckConcurrentContamination, "concurrent users never see each other's messages", concurrentContamination},
		{CheckDataPersistsAfterRequest, "a finished request's data never reaches the next one", dataPersists},
		{CheckPerRequestAccumulation, "finished requests leave no agent instances behind", accumulation},
		{CheckWebSocketEventIsolation, "events reach only the bridge of the connection that asked", websocketIsolation},
		{CheckConcurrentExecutionIsolation, "concurrent executions track and emit only their own user", concurrentExecution},
		{CheckContextSeparation, "healthcare, finance and government users stay separated", contextSeparation},
		{CheckMultiTenantSecrets, "no tenant can reach another tenant's secrets", multiTenantSecrets},
	}
}

// Checks lists the check names in run order.
func Checks() []string {
	cs := checks()
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.name
	}
	return out
}

// Result is the outcome of one check.
type Result struct {
	Name        string   `json:"name"`
	Description string   `json:"description"`
	Violated    bool     `json:"violated"`
	Violations  int      `json:"violations"`
	Findings    []string `json:"findings"`
}

// Report is the outcome of a run.
type Report struct {
	Impl       string   `json:"impl"`
	Users      int      `json:"users"`
	Violations int      `json:"violations"` // checks violated
	Checks     []Result `json:"checks"`
}

// Isolated reports whether no check found a violation.
func (r Report) Isolated() bool { return r.Violations == 0 }

type options struct {
	users int
	only  []string
}

// Option configures Run.
type Option func(*options)

// WithUsers sets the number of simulated users (DefaultUsers, at least MinUsers).
func WithUsers(n int) Option { return func(o *options) { o.users = n } }

// WithChecks restricts the run to the named checks.
func WithChecks(names ...string) Option { return func(o *options) { o.only = names } }

// Run runs the checks against b.
func Run(ctx context.Context, b Build, opts ...Option) (Report, error) {
	o := options{users: DefaultUsers}
	for _, opt := range opts {
		opt(&o)
	}
	if o.users < MinUsers {
		return Report{}, fmt.Errorf("audit: users must be at least %d, got %d", MinUsers, o.users)
	}
	want := map[string]bool{}
	for _, n := range o.only {
		want[n] = true
	}
	rep := Report{Impl: b.Name(), Users: o.users}
	matched := 0
	for _, c := range checks() {
		if len(want) > 0 && !want[c.name] {
			continue
		}
		matched++
		f, err := c.run(ctx, b, o.users)
		if err != nil {
			return Report{}, fmt.Errorf("audit: %s: %w", c.name, err)
		}
		res := Result{Name: c.name, Description: c.description, Violations: f.count, Findings: f.list}
		if res.Findings == nil {
			res.Findings = []string{}
		}
		res.Violated = f.count > 0
		if res.Violated {
			rep.Violations++
		}
		rep.Checks = append(rep.Checks, res)
	}
	if matched != len(want) && len(want) > 0 {
		return Report{}, fmt.Errorf("audit: unknown check in %v (known: %s)", o.only, strings.Join(Checks(), ", "))
	}
	return rep, nil
}

// WriteTable prints r as a table of checks and findings.
func (r Report) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "isolation audit of %s with %d users\n\n", r.Impl, r.Users)
	fmt.Fprintln(tw, "CHECK\tRESULT\tFINDING")
	for _, c := range r.Checks {
		status, first := "isolated", c.Description
		if c.Violated {
			status = fmt.Sprintf("VIOLATED (%d)", c.Violations)
			first = c.Findings[0]
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", c.Name, status, first)
		if c.Violated {
			for _, f := range c.Findings[1:] {
				fmt.Fprintf(tw, "\t\t%s\n", f)
			}
		}
	}
	if r.Isolated() {
		fmt.Fprintf(tw, "\n%s: isolated, 0 of %d checks violated\n", r.Impl, len(r.Checks))
	} else {
		fmt.Fprintf(tw, "\n%s: NOT isolated, %d of %d checks violated\n", r.Impl, r.Violations, len(r.Checks))
	}
	return tw.Flush()
}

// WriteJSON prints r as indented JSON.
func (r Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}
