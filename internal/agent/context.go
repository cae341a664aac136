package agent

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"
)

// ErrInvalidContext is wrapped by every validation error of a
// UserExecutionContext.
var ErrInvalidContext = errors.New("invalid user execution context")

// MaxIDLength bounds user, thread, run and request ids.
const MaxIDLength = 256

// Placeholder rules of the real UserExecutionContext
// (netra_backend/app/services/user_execution_context.py,
// _validate_no_placeholder_values; the supervisor module of the same name
// re-exports it). They apply to user_id, thread_id, run_id and request_id.

// placeholderIDs are rejected outright (case-insensitive): the real
// forbidden_exact_values.
var placeholderIDs = map[string]bool{
	"registry": true, "placeholder": true, "default": true, "temp": true, "none": true, "null": true,
	"undefined": true, "0": true, "1": true, "xxx": true, "yyy": true, "example": true, "test": true,
	"demo": true, "sample": true, "template": true, "mock": true, "fake": true, "dummy": true,
}

// placeholderPrefixes are rejected on ids shorter than placeholderPrefixLimit:
// the real forbidden_patterns. testPrefix is added outside a test
// environment.
var placeholderPrefixes = []string{
	"placeholder_", "registry_", "temp_", "example_", "demo_", "sample_", "template_", "mock_", "fake_", "default_",
}

const testPrefix = "test_"

// legitimateDefaults are short default_ ids the real code allows
// (legitimate_patterns).
var legitimateDefaults = map[string]bool{
	"default_user": true, "default_admin": true, "default_system": true, "default_account": true,
	"default_service": true, "default_client": true, "default_guest": true,
}

const placeholderPrefixLimit = 20

// reservedKeys may not appear in AgentContext or AuditMetadata: the real
// reserved_keys of _validate_metadata_isolation.
var reservedKeys = []string{"user_id", "thread_id", "run_id", "request_id", "created_at", "db_session", "websocket_client_id"}

// PlaceholderIDs lists the ids rejected outright, ReservedKeys the metadata
// keys refused (for tests and documentation).
func PlaceholderIDs() []string {
	out := make([]string, 0, len(placeholderIDs))
	for k := range placeholderIDs {
		out = append(out, k)
	}
	return out
}

// PlaceholderPrefixes lists the prefixes rejected on short ids (test_ only
// outside a test environment).
func PlaceholderPrefixes() []string {
	return append(append([]string(nil), placeholderPrefixes...), testPrefix)
}

// ReservedKeys lists the metadata keys a context refuses.
func ReservedKeys() []string { return append([]string(nil), reservedKeys...) }

// UserExecutionContext identifies one request of one user. It is immutable:
// its fields are unexported and the maps are deep-copied on the way in and out.
// The zero value is not valid; build one with NewUserExecutionContext.
type UserExecutionContext struct {
	userID            string
	threadID          string
	runID             string
	requestID         string
	websocketClientID string
	createdAt         time.Time
	agentContext      map[string]any
	auditMetadata     map[string]any
	testEnvironment   bool
}

// ContextOption sets an optional field of a UserExecutionContext.
type ContextOption func(*UserExecutionContext)

// WithWebSocketClientID records the WebSocket connection the request came from.
func WithWebSocketClientID(id string) ContextOption {
	return func(c *UserExecutionContext) { c.websocketClientID = id }
}

// WithTestEnvironment marks the context as built in a test environment,
// where test_ ids are allowed (the real code asks IsolatedEnvironment.is_test()).
func WithTestEnvironment() ContextOption {
	return func(c *UserExecutionContext) { c.testEnvironment = true }
}

// WithRequestID overrides the generated request id.
func WithRequestID(id string) ContextOption {
	return func(c *UserExecutionContext) { c.requestID = id }
}

// WithAgentContext sets the agent context (deep-copied).
func WithAgentContext(m map[string]any) ContextOption {
	return func(c *UserExecutionContext) { c.agentContext = deepCopyMap(m) }
}

// WithAuditMetadata sets the audit metadata (deep-copied).
func WithAuditMetadata(m map[string]any) ContextOption {
	return func(c *UserExecutionContext) { c.auditMetadata = deepCopyMap(m) }
}

// NewUserExecutionContext validates and builds a context. userID, threadID and
// runID are required, non-empty and not placeholders; the request id is
// generated unless WithRequestID is given.
func NewUserExecutionContext(userID, threadID, runID string, opts ...ContextOption) (UserExecutionContext, error) {
	c := UserExecutionContext{
		userID:    userID,
		threadID:  threadID,
		runID:     runID,
		createdAt: time.Now().UTC(),
	}
	for _, o := range opts {
		o(&c)
	}
	if c.requestID == "" {
		c.requestID = NewID("req")
	}
	if err := c.Validate(); err != nil {
		return UserExecutionContext{}, err
	}
	return c, nil
}

// Validate reports why c is not a usable context, or nil.
func (c UserExecutionContext) Validate() error {
	if c.createdAt.IsZero() {
		return fmt.Errorf("%w: missing context", ErrInvalidContext)
	}
	for _, f := range []struct{ name, v string }{
		{"user_id", c.userID}, {"thread_id", c.threadID}, {"run_id", c.runID}, {"request_id", c.requestID},
	} {
		if err := validateID(f.name, f.v, c.testEnvironment); err != nil {
			return err
		}
	}
	for _, m := range []struct {
		name string
		m    map[string]any
	}{{"agent_context", c.agentContext}, {"audit_metadata", c.auditMetadata}} {
		for _, k := range reservedKeys {
			if _, ok := m.m[k]; ok {
				return fmt.Errorf("%w: %s uses reserved key %q", ErrInvalidContext, m.name, k)
			}
		}
	}
	return nil
}

// ValidateID checks one id the way the real service does outside a test
// environment: required, not too long, no control characters, and not a
// placeholder.
func ValidateID(field, v string) error { return validateID(field, v, false) }

func validateID(field, v string, testEnv bool) error {
	if strings.TrimSpace(v) == "" {
		return fmt.Errorf("%w: %s is required", ErrInvalidContext, field)
	}
	if len(v) > MaxIDLength {
		return fmt.Errorf("%w: %s longer than %d bytes", ErrInvalidContext, field, MaxIDLength)
	}
	for _, r := range v {
		if r < 0x20 || r == 0x7f {
			return fmt.Errorf("%w: %s contains control characters", ErrInvalidContext, field)
		}
	}
	lv := strings.ToLower(v)
	if placeholderIDs[lv] {
		return fmt.Errorf("%w: %s %q is a placeholder", ErrInvalidContext, field, v)
	}
	if len(v) < placeholderPrefixLimit {
		if legitimateDefaults[lv] {
			return nil
		}
		for _, p := range placeholderPrefixes {
			if strings.HasPrefix(lv, p) {
				return fmt.Errorf("%w: %s %q looks like a placeholder", ErrInvalidContext, field, v)
			}
		}
		if !testEnv && strings.HasPrefix(lv, testPrefix) {
			return fmt.Errorf("%w: %s %q looks like a test id outside a test environment", ErrInvalidContext, field, v)
		}
	}
	return nil
}

// UserID returns the user id.
func (c UserExecutionContext) UserID() string { return c.userID }

// ThreadID returns the thread id.
func (c UserExecutionContext) ThreadID() string { return c.threadID }

// RunID returns the run id.
func (c UserExecutionContext) RunID() string { return c.runID }

// RequestID returns the request id.
func (c UserExecutionContext) RequestID() string { return c.requestID }

// WebSocketClientID returns the WebSocket connection id, if any.
func (c UserExecutionContext) WebSocketClientID() string { return c.websocketClientID }

// CreatedAt returns when the context was built.
func (c UserExecutionContext) CreatedAt() time.Time { return c.createdAt }

// AgentContext returns a deep copy of the agent context.
func (c UserExecutionContext) AgentContext() map[string]any { return deepCopyMap(c.agentContext) }

// AuditMetadata returns a deep copy of the audit metadata.
func (c UserExecutionContext) AuditMetadata() map[string]any { return deepCopyMap(c.auditMetadata) }

// IsZero reports whether c is the zero (missing) context.
func (c UserExecutionContext) IsZero() bool { return c.createdAt.IsZero() }

// NewID returns prefix + "_" + 16 random hex digits.
func NewID(prefix string) string {
	var b [8]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return prefix + "_" + hex.EncodeToString(b[:])
}

func deepCopyMap(m map[string]any) map[string]any {
	if m == nil {
		return nil
	}
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = deepCopy(v)
	}
	return out
}

func deepCopy(v any) any {
	switch t := v.(type) {
	case map[string]any:
		return deepCopyMap(t)
	case []any:
		out := make([]any, len(t))
		for i, e := range t {
			out[i] = deepCopy(e)
		}
		return out
	case []string:
		return append([]string(nil), t...)
	case map[string]string:
		out := make(map[string]string, len(t))
		for k, e := range t {
			out[k] = e
		}
		return out
	default:
		return v
	}
}
