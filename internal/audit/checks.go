package audit

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"sync"

	"github.com/loadbench/loadbench/internal/agent"
)

// tokenRE matches every secret the checks plant.
var tokenRE = regexp.MustCompile(`(?:SECRET|PHI|FIN|GOV|APIKEY)-[0-9a-f]{16}`)

func token(prefix string) string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return prefix + "-" + hex.EncodeToString(b[:])
}

// finder collects violations; safe for concurrent use.
type finder struct {
	mu    sync.Mutex
	count int
	list  []string
}

func (f *finder) add(format string, args ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.count++
	if len(f.list) < maxFindings {
		f.list = append(f.list, fmt.Sprintf(format, args...))
	}
}

// user is one simulated user of a check.
type user struct {
	uctx      agent.UserExecutionContext
	secret    string // the token it carries
	message   string
	bridge    agent.Bridge
	sess      agent.Session
	factoryID string

	// Events reach a user from its own run and, under a build that
	// misroutes, from other users' runs on other goroutines.
	mu  sync.Mutex
	out output
}

// output is everything a session handed its user.
type output struct {
	events [][]byte
	parsed []agent.Event
	result agent.Result
}

func newUser(check string, i int, secret, message string, opts ...agent.ContextOption) (*user, error) {
	uid := fmt.Sprintf("audit-%s-user-%03d", check, i)
	uctx, err := agent.NewUserExecutionContext(uid, fmt.Sprintf("thread-%s-%03d", check, i), agent.NewID("run"), opts...)
	if err != nil {
		return nil, err
	}
	return &user{uctx: uctx, secret: secret, message: message}, nil
}

func (u *user) acquire(b Build) error {
	s, err := b.Acquire(u.uctx, u.bridge)
	if err != nil {
		return fmt.Errorf("acquire for %s: %w", u.uctx.UserID(), err)
	}
	u.sess = s
	u.factoryID = s.FactoryID()
	return nil
}

func (u *user) run(ctx context.Context) error {
	res, err := u.sess.Run(ctx, u.message, func(ev agent.Event, raw []byte) error {
		u.mu.Lock()
		u.out.events = append(u.out.events, append([]byte(nil), raw...))
		u.out.parsed = append(u.out.parsed, ev)
		u.mu.Unlock()
		return nil
	})
	if err != nil {
		return fmt.Errorf("run for %s: %w", u.uctx.UserID(), err)
	}
	u.mu.Lock()
	u.out.result = res
	u.mu.Unlock()
	return nil
}

// output returns a snapshot of what the user was handed so far.
func (u *user) output() output {
	u.mu.Lock()
	defer u.mu.Unlock()
	return output{
		events: append([][]byte(nil), u.out.events...),
		parsed: append([]agent.Event(nil), u.out.parsed...),
		result: u.out.result,
	}
}

func (u *user) release() {
	if u.sess != nil {
		u.sess.Release()
		u.sess = nil
	}
}

// leak is a foreign token found in what a user was handed.
type leak struct {
	token, where string
}

// foreignTokens scans u's events and result for tokens other than u's own.
func (u *user) foreignTokens() []leak {
	var out []leak
	o := u.output()
	for i, raw := range o.events {
		for _, t := range tokenRE.FindAllString(string(raw), -1) {
			if t != u.secret {
				out = append(out, leak{t, o.parsed[i].Type})
			}
		}
	}
	res, _ := json.Marshal(o.result)
	for _, t := range tokenRE.FindAllString(string(res), -1) {
		if t != u.secret {
			out = append(out, leak{t, "result"})
		}
	}
	return out
}

// visibleForeign scans the contexts u's factory tracks for other users and
// their tokens.
func (u *user) visibleForeign() (users []string, leaks []leak) {
	seen := map[string]bool{}
	for _, c := range u.sess.VisibleContexts() {
		if c.UserID() == u.uctx.UserID() {
			continue
		}
		if !seen[c.UserID()] {
			seen[c.UserID()] = true
			users = append(users, c.UserID())
		}
		for _, m := range []map[string]any{c.AgentContext(), c.AuditMetadata()} {
			walkStrings(m, func(s string) {
				for _, t := range tokenRE.FindAllString(s, -1) {
					if t != u.secret {
						leaks = append(leaks, leak{t, "factory-tracked context of " + c.UserID()})
					}
				}
			})
		}
	}
	sort.Strings(users)
	return users, leaks
}

func walkStrings(v any, fn func(string)) {
	switch t := v.(type) {
	case string:
		fn(t)
	case map[string]any:
		for _, e := range t {
			walkStrings(e, fn)
		}
	case []any:
		for _, e := range t {
			walkStrings(e, fn)
		}
	case []string:
		for _, e := range t {
			fn(e)
		}
	case map[string]string:
		for _, e := range t {
			fn(e)
		}
	}
}

// parallel runs fn for every user concurrently and returns the first error.
func parallel(users []*user, fn func(*user) error) error {
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
	)
	for _, u := range users {
		wg.Go(func() {
			if err := fn(u); err != nil {
				mu.Lock()
				if first == nil {
					first = err
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return first
}

// session phases: acquire every user (all sessions open at once), run them
// concurrently, then release them all.
func acquireRunRelease(ctx context.Context, b Build, users []*user, during func(*user)) error {
	defer func() {
		for _, u := range users {
			u.release()
		}
	}()
	for _, u := range users {
		if err := u.acquire(b); err != nil {
			return err
		}
	}
	return parallel(users, func(u *user) error {
		if err := u.run(ctx); err != nil {
			return err
		}
		if during != nil {
			during(u)
		}
		return nil
	})
}

func owners(users []*user) map[string]string {
	m := make(map[string]string, len(users))
	for _, u := range users {
		m[u.secret] = u.uctx.UserID()
	}
	return m
}

// shared_global_instance: concurrent requests of distinct users must be
// served by distinct factories.
func sharedGlobalInstance(ctx context.Context, b Build, n int) (*finder, error) {
	f := &finder{}
	users := make([]*user, n)
	for i := range users {
		u, err := newUser("shared", i, "", "hello")
		if err != nil {
			return nil, err
		}
		users[i] = u
	}
	ids := map[string][]string{}
	err := acquireRunRelease(ctx, b, users, nil)
	if err != nil {
		return nil, err
	}
	for _, u := range users {
		ids[u.factoryID] = append(ids[u.factoryID], u.uctx.UserID())
	}
	for id, us := range ids {
		if len(us) > 1 {
			f.add("factory %s served %d of %d concurrent users", id, len(us), n)
		}
	}
	return f, nil
}

// concurrent_context_contamination: users running at the same time never
// receive each other's messages.
func concurrentContamination(ctx context.Context, b Build, n int) (*finder, error) {
	f := &finder{}
	users := make([]*user, n)
	for i := range users {
		s := token("SECRET")
		u, err := newUser("contam", i, s, "my password is "+s)
		if err != nil {
			return nil, err
		}
		users[i] = u
	}
	if err := acquireRunRelease(ctx, b, users, nil); err != nil {
		return nil, err
	}
	own := owners(users)
	for _, u := range users {
		if ls := u.foreignTokens(); len(ls) > 0 {
			f.add("%s received %d secrets of other users, e.g. %s's in %s", u.uctx.UserID(), len(ls), own[ls[0].token], ls[0].where)
		}
	}
	return f, nil
}

// data_persists_after_request: once a request is released, nothing of it
// reaches the next one. The next request's connection is open before the
// first request starts (as many connections are under load) and chats after
// the first has finished.
func dataPersists(ctx context.Context, b Build, n int) (*finder, error) {
	f := &finder{}
	rounds := min(n, 10)
	for i := range rounds {
		s := token("SECRET")
		a, err := newUser("persist-a", i, s, "remember "+s, agent.WithAgentContext(map[string]any{"note": s}))
		if err != nil {
			return nil, err
		}
		nb, err := newUser("persist-b", i, "", "what is new?")
		if err != nil {
			return nil, err
		}
		if err := nb.acquire(b); err != nil {
			return nil, err
		}
		if err := acquireRunRelease(ctx, b, []*user{a}, nil); err != nil {
			nb.release()
			return nil, err
		}
		err = nb.run(ctx)
		var leaks []leak
		if err == nil {
			leaks = nb.foreignTokens()
			_, vl := nb.visibleForeign()
			leaks = append(leaks, vl...)
		}
		nb.release()
		if err != nil {
			return nil, err
		}
		for _, l := range leaks {
			if l.token == s {
				f.add("%s's secret, from a finished request, reached %s in %s", a.uctx.UserID(), nb.uctx.UserID(), l.where)
				break
			}
		}
	}
	return f, nil
}

// per_request_accumulation: finished requests leave no agent instances and
// no per-request objects (bridges, LLM managers, factories) held.
func accumulation(ctx context.Context, b Build, n int) (*finder, error) {
	f := &finder{}
	before := b.Stats().InstancesRetained
	for i := range n {
		u, err := newUser("accum", i, "", "hello")
		if err != nil {
			return nil, err
		}
		if err := acquireRunRelease(ctx, b, []*user{u}, nil); err != nil {
			return nil, err
		}
	}
	st := b.Stats()
	after := st.InstancesRetained
	if after > before {
		f.count += int(after - before)
		f.list = append(f.list, fmt.Sprintf("%d finished requests left %d agent instances retained (%d before, %d after)", n, after-before, before, after))
	}
	if st.StaleRequests > 0 {
		f.count += int(st.StaleRequests)
		f.list = append(f.list, fmt.Sprintf("the build still holds the objects (bridge, LLM manager or factory) of %d finished requests", st.StaleRequests))
	}
	return f, nil
}

// recordingBridge records the users whose events it is notified of.
type recordingBridge struct {
	mu     sync.Mutex
	byUser map[string]int
}

func (r *recordingBridge) Notify(ev agent.Event) {
	r.mu.Lock()
	r.byUser[ev.UserID]++
	r.mu.Unlock()
}

// websocket_event_isolation: each connection's bridge receives its own
// user's events and nobody else's.
func websocketIsolation(ctx context.Context, b Build, n int) (*finder, error) {
	f := &finder{}
	users := make([]*user, n)
	bridges := make([]*recordingBridge, n)
	for i := range users {
		u, err := newUser("ws", i, "", "hello over websocket")
		if err != nil {
			return nil, err
		}
		bridges[i] = &recordingBridge{byUser: map[string]int{}}
		u.bridge = bridges[i]
		users[i] = u
	}
	if err := acquireRunRelease(ctx, b, users, nil); err != nil {
		return nil, err
	}
	want := len(agent.EventTypes())
	// Bridges that received other users' events are listed first.
	var missing []string
	for i, u := range users {
		br := bridges[i]
		br.mu.Lock()
		mine, foreign, others := br.byUser[u.uctx.UserID()], 0, 0
		for uid, c := range br.byUser {
			if uid != u.uctx.UserID() {
				foreign += c
				others++
			}
		}
		br.mu.Unlock()
		msg := fmt.Sprintf("bridge of %s received %d of its own %d events and %d events of %d other users", u.uctx.UserID(), mine, want, foreign, others)
		switch {
		case foreign > 0:
			f.add("%s", msg)
		case mine != want:
			missing = append(missing, msg)
		}
	}
	for _, m := range missing {
		f.add("%s", m)
	}
	return f, nil
}

// concurrent_execution_isolation: while many users run at once, each
// factory tracks and emits only its own user.
func concurrentExecution(ctx context.Context, b Build, n int) (*finder, error) {
	f := &finder{}
	users := make([]*user, n)
	for i := range users {
		u, err := newUser("exec", i, "", fmt.Sprintf("task %d", i))
		if err != nil {
			return nil, err
		}
		users[i] = u
	}
	err := acquireRunRelease(ctx, b, users, func(u *user) {
		if others, _ := u.visibleForeign(); len(others) > 0 {
			f.add("the factory running %s also tracks %d other users (e.g. %s)", u.uctx.UserID(), len(others), others[0])
			return
		}
		for _, ev := range u.output().parsed {
			if ev.UserID != u.uctx.UserID() || ev.RunID != u.uctx.RunID() || ev.ThreadID != u.uctx.ThreadID() {
				f.add("%s received %s of user %s run %s", u.uctx.UserID(), ev.Type, ev.UserID, ev.RunID)
				return
			}
		}
	})
	return f, err
}

var domains = []struct{ name, prefix, message string }{
	{"healthcare", "PHI", "patient diagnosis, record %s"},
	{"finance", "FIN", "wire transfer to account %s"},
	{"government", "GOV", "classified clearance case %s"},
}

// context_separation: users of different regulated domains never see each
// other's records.
func contextSeparation(ctx context.Context, b Build, n int) (*finder, error) {
	f := &finder{}
	users := make([]*user, n)
	domainOf := map[string]string{}
	for i := range users {
		d := domains[i%len(domains)]
		s := token(d.prefix)
		u, err := newUser("domain-"+d.name, i, s, fmt.Sprintf(d.message, s),
			agent.WithAgentContext(map[string]any{"domain": d.name, "record": s}))
		if err != nil {
			return nil, err
		}
		domainOf[s] = d.name
		users[i] = u
	}
	err := acquireRunRelease(ctx, b, users, func(u *user) {
		mine := domainOf[u.secret]
		_, vl := u.visibleForeign()
		for _, l := range append(u.foreignTokens(), vl...) {
			if d, ok := domainOf[l.token]; ok && d != mine {
				f.add("%s user %s saw a %s record in %s", mine, u.uctx.UserID(), d, l.where)
				return
			}
		}
	})
	return f, err
}

// multi_tenant_secrets: after tenants have used the service, none can reach
// another's secrets through its own requests.
func multiTenantSecrets(ctx context.Context, b Build, n int) (*finder, error) {
	f := &finder{}
	keys := make([]string, n)
	mk := func(i int) (*user, error) {
		return newUser("tenant", i, keys[i], "list my invoices",
			agent.WithAgentContext(map[string]any{"tenant": fmt.Sprintf("tenant-%03d", i)}),
			agent.WithAuditMetadata(map[string]any{"api_key": keys[i]}))
	}
	for i := range keys {
		keys[i] = token("APIKEY")
		u, err := mk(i)
		if err != nil {
			return nil, err
		}
		if err := acquireRunRelease(ctx, b, []*user{u}, nil); err != nil {
			return nil, err
		}
	}
	owner := map[string]int{}
	for i, k := range keys {
		owner[k] = i
	}
	// Every tenant connects again; each then lists its invoices in turn.
	users := make([]*user, len(keys))
	defer func() {
		for _, u := range users {
			if u != nil {
				u.release()
			}
		}
	}()
	for i := range keys {
		u, err := mk(i)
		if err != nil {
			return nil, err
		}
		if err := u.acquire(b); err != nil {
			return nil, err
		}
		users[i] = u
	}
	for i, u := range users {
		if err := u.run(ctx); err != nil {
			return nil, err
		}
		_, vl := u.visibleForeign()
		var reached []leak
		seen := map[string]bool{}
		for _, l := range append(u.foreignTokens(), vl...) {
			if _, ok := owner[l.token]; ok && !seen[l.token] {
				seen[l.token] = true
				reached = append(reached, l)
			}
		}
		if len(reached) > 0 {
			f.add("tenant-%03d can reach %d API keys of other tenants, e.g. tenant-%03d's via %s", i, len(reached), owner[reached[0].token], reached[0].where)
		}
	}
	return f, nil
}
