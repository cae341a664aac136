package load

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// eventTypes are the five events of a chat, in order.
var eventTypes = [5]string{"agent_started", "agent_thinking", "tool_executing", "tool_completed", "agent_completed"}

// wireEvent is one agent event (and, over WebSocket, any other message).
// Fields point into the decoded message; Data is the raw JSON of "data".
type wireEvent struct {
	Type, RunID, UserID, ThreadID, Timestamp, Error []byte
	Data                                            []byte
}

// maxEvents is how many events of a response are kept; more are counted.
const maxEvents = 8

// runResponse is the body of a successful POST /api/agents/run.
type runResponse struct {
	RunID, UserID, ThreadID, FactoryID []byte
	Events                             [maxEvents]wireEvent
	N                                  int // events in the response
}

// The decoders below are a small hand-written JSON reader for the two
// message shapes of the contract: they find the members loadbench checks
// without reflection, and allocate only for strings with escapes. The
// generator spends most of its time here in throughput mode.

// skipWS returns the index of the first non-space byte at or after i.
func skipWS(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\n' || b[i] == '\t' || b[i] == '\r') {
		i++
	}
	return i
}

// valueEnd returns the end of the JSON value starting at b[i], or -1.
func valueEnd(b []byte, i int) int {
	if i >= len(b) {
		return -1
	}
	switch b[i] {
	case '"':
		for j := i + 1; j < len(b); j++ {
			switch b[j] {
			case '\\':
				j++
			case '"':
				return j + 1
			}
		}
		return -1
	case '{', '[':
		depth := 0
		for j := i; j < len(b); j++ {
			switch b[j] {
			case '"':
				e := valueEnd(b, j)
				if e < 0 {
					return -1
				}
				j = e - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1
				}
			}
		}
		return -1
	default:
		j := i
		for j < len(b) {
			c := b[j]
			if c == ',' || c == '}' || c == ']' || c == ' ' || c == '\n' || c == '\t' || c == '\r' {
				break
			}
			if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c == '-' || c == '+' || c == '.' || c == 'E') {
				return -1
			}
			j++
		}
		if j == i {
			return -1
		}
		return j
	}
}

// members calls fn for each member of the JSON object b (keys unquoted
// when they hold no escapes, values raw). It reports whether b is a
// well-formed object.
func members(b []byte, fn func(key, val []byte)) bool {
	i := skipWS(b, 0)
	if i >= len(b) || b[i] != '{' {
		return false
	}
	i = skipWS(b, i+1)
	if i < len(b) && b[i] == '}' {
		return skipWS(b, i+1) == len(b)
	}
	for {
		if i >= len(b) || b[i] != '"' {
			return false
		}
		ke := valueEnd(b, i)
		if ke < 0 {
			return false
		}
		key := b[i+1 : ke-1]
		i = skipWS(b, ke)
		if i >= len(b) || b[i] != ':' {
			return false
		}
		i = skipWS(b, i+1)
		ve := valueEnd(b, i)
		if ve < 0 {
			return false
		}
		fn(key, b[i:ve])
		i = skipWS(b, ve)
		if i >= len(b) {
			return false
		}
		if b[i] == '}' {
			return skipWS(b, i+1) == len(b)
		}
		if b[i] != ',' {
			return false
		}
		i = skipWS(b, i+1)
	}
}

// str returns the contents of the JSON string v, unescaped; nil when v is
// not a string.
func str(v []byte) []byte {
	if len(v) < 2 || v[0] != '"' {
		return nil
	}
	in := v[1 : len(v)-1]
	if bytes.IndexByte(in, '\\') < 0 {
		return in
	}
	var s string
	if json.Unmarshal(v, &s) != nil {
		return nil
	}
	return []byte(s)
}

// decodeEvent decodes one event (or any WebSocket message) into ev.
func decodeEvent(b []byte, ev *wireEvent) bool {
	*ev = wireEvent{}
	return members(b, func(k, v []byte) {
		switch string(k) {
		case "type":
			ev.Type = str(v)
		case "run_id":
			ev.RunID = str(v)
		case "user_id":
			ev.UserID = str(v)
		case "thread_id":
			ev.ThreadID = str(v)
		case "timestamp":
			ev.Timestamp = str(v)
		case "error":
			ev.Error = str(v)
		case "data":
			ev.Data = v
		}
	})
}

// decodeRun decodes a run response into r.
func decodeRun(b []byte, r *runResponse) bool {
	ok := true
	wf := members(b, func(k, v []byte) {
		switch string(k) {
		case "run_id":
			r.RunID = str(v)
		case "user_id":
			r.UserID = str(v)
		case "thread_id":
			r.ThreadID = str(v)
		case "factory_id":
			r.FactoryID = str(v)
		case "events":
			ok = eachElement(v, func(e []byte) bool {
				if r.N < maxEvents && !decodeEvent(e, &r.Events[r.N]) {
					return false
				}
				r.N++
				return true
			})
		}
	})
	return wf && ok
}

// eachElement calls fn for each element of the JSON array b.
func eachElement(b []byte, fn func([]byte) bool) bool {
	if len(b) < 2 || b[0] != '[' {
		return false
	}
	i := skipWS(b, 1)
	if b[i] == ']' {
		return true
	}
	for {
		e := valueEnd(b, i)
		if e < 0 || !fn(b[i:e]) {
			return false
		}
		i = skipWS(b, e)
		if i >= len(b) {
			return false
		}
		if b[i] == ']' {
			return true
		}
		if b[i] != ',' {
			return false
		}
		i = skipWS(b, i+1)
	}
}

// validTimestamp reports whether b looks like an RFC 3339 date-time:
// 2006-01-02T15:04:05[.frac](Z|±07:00).
func validTimestamp(b []byte) bool {
	const layout = "dddd-dd-ddTdd:dd:dd"
	if len(b) < len(layout)+1 {
		return false
	}
	for i := range len(layout) {
		c := b[i]
		switch layout[i] {
		case 'd':
			if c < '0' || c > '9' {
				return false
			}
		case 'T':
			if c != 'T' && c != 't' {
				return false
			}
		default:
			if c != layout[i] {
				return false
			}
		}
	}
	rest := b[len(layout):]
	if rest[0] == '.' {
		n := 1
		for n < len(rest) && rest[n] >= '0' && rest[n] <= '9' {
			n++
		}
		if n == 1 {
			return false
		}
		rest = rest[n:]
	}
	switch {
	case len(rest) == 1 && (rest[0] == 'Z' || rest[0] == 'z'):
		return true
	case len(rest) == 6 && (rest[0] == '+' || rest[0] == '-') && rest[3] == ':':
		return isDigit(rest[1]) && isDigit(rest[2]) && isDigit(rest[4]) && isDigit(rest[5])
	}
	return false
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// checkEvent checks event i (from 0) of a chat of user me with run id runID:
// its ids, type, run id and timestamp. It returns an error reason ("" when
// fine) and whether the failure is foreign ids (an isolation violation).
func (p *pool) checkEvent(ev *wireEvent, i, me int, runID string) (reason string, foreignIDs bool) {
	if string(ev.UserID) != p.ids[me] || string(ev.ThreadID) != p.threads[me] {
		return fmt.Sprintf("event %d (%s) has foreign ids", i+1, ev.Type), true
	}
	if i >= len(eventTypes) {
		return fmt.Sprintf("event %d is %s, want none after agent_completed", i+1, ev.Type), false
	}
	if string(ev.Type) != eventTypes[i] {
		return fmt.Sprintf("event %d is %s, want %s", i+1, ev.Type, eventTypes[i]), false
	}
	if len(ev.RunID) == 0 {
		return fmt.Sprintf("event %d has no run_id", i+1), false
	}
	if runID != "" && string(ev.RunID) != runID {
		return fmt.Sprintf("event %d has another run_id", i+1), false
	}
	if !validTimestamp(ev.Timestamp) {
		return fmt.Sprintf("event %d has a bad timestamp", i+1), false
	}
	return "", false
}

// factoryOf returns data.factory_id of an agent_started event, or "".
func factoryOf(ev *wireEvent) string {
	if string(ev.Type) != eventTypes[0] || len(ev.Data) == 0 {
		return ""
	}
	var id []byte
	members(ev.Data, func(k, v []byte) {
		if string(k) == "factory_id" {
			id = str(v)
		}
	})
	return string(id)
}
