// Package loadbench is the library face of loadbench: open-model HTTP and
// WebSocket load against any service that speaks the agents wire contract,
// with every response checked for correctness and for other users' data
// (isolation), and a statistical gate of a candidate deployment against a
// baseline.
//
// The wire contract a target serves (in full under the headings below):
//
//	POST {base}/api/agents/run  {"user_id","thread_id","message"}
//	     → {"run_id","user_id","thread_id","factory_id","events":[five events],"result"}
//	GET  {base}/api/demo/ws     {"type":"chat",...} → the five events, one message each
//
// Three calls cover the common uses:
//
//   - Attack sends chats at fixed arrival rates (or as fast as possible) and
//     returns a Result: per-protocol latency percentiles of the answered
//     chats, failed chats by class, and isolation findings.
//   - Result.ReportMetrics puts a Result into a benchmark (*testing.B), so
//     that `go test -bench` and benchstat read it.
//   - Compare runs interleaved rounds against a baseline and a candidate
//     deployment and returns the gate's Verdict.
//   - Continue adds rounds to a stored, undecided compare (its plan and
//     seed, the rounds numbered on) and returns the verdict over all.
//
// Options and CompareOptions follow one rule: the zero value of a field is
// its documented default. Rates are Rate values (PerSecond, Max, Off; when
// neither protocol's rate is set both run at DefaultRate, when one is set
// the other is off), and what can be turned off has a No... field of its
// own (NoSendLagLimit, NoWSPing, NoWarmup, NoMemoryGate). Options.Access
// (headers, TLS, proxy, WebSocket subprotocol and pings, a body from
// ParseBody) reaches authenticated and private deployments;
// CompareOptions.Baseline and Candidate carry one per side. Every error
// caused by invalid input wraps ErrUsage and speaks of the configuration,
// never of command-line flags; where one setting is at fault it is a
// *FieldError that names it.
//
// # One compare path
//
// The loadbench command is built on this package: `loadbench attack` parses
// its flags into Options and calls Attack; `loadbench compare` and
// `loadbench validate` parse theirs into CompareOptions and call Compare.
// CompareOptions.Plan checks the options once and turns them into the
// typed plan (results.Plan) that manifest.json records and the gate, the
// reports and `loadbench report` read back. Compare only ever takes URLs:
// the command starts the project's built-in builds as child processes and
// hands them over with a liveness check (Side.Alive); a Go test starts them
// in process with targets.Start (package targets, which this package never
// links) and passes their URLs. A target in this process shares the load
// generator's heap, and Compare knows it: the memory rule then checks its
// factories and reports its heap slope without gating it. CompareOptions.Dir
// is where the run goes (in a test, t.TempDir()); left empty, a temporary
// directory is made, returned in Comparison.Dir, and removed again when
// Compare fails before a round completes.
//
// The load engine and the gate behind this package are internal and free to
// change; the raw results (Result.Segment, Comparison.Summary) are the types
// of the public package results.
//
// # The wire contract
//
// A target serves two routes under its base URL: Options.HTTPPath
// (DefaultHTTPPath, /api/agents/run) and Options.WSPath (DefaultWSPath,
// /api/demo/ws), the WebSocket one on ws:// or wss:// as the base is
// http:// or https://. A chat is one user's message and its answer: a run
// id and the five events below. Every virtual user has an id
// (Options.UserPrefix and the user's number, zero-padded to five digits:
// lb_user_00042), a thread (lb_user_00042_thread) and a secret token
// (lbsecret_ and 16 lowercase hex digits) that its message carries:
//
//	hello from lb_user_00042, my secret is lbsecret_0123456789abcdef
//
// With Options.Body the request body and the WebSocket chat are the
// template's output instead; answers are checked the same way.
// examples/gate/service.go (a module of its own) is a reference service
// that serves both routes.
//
// # HTTP chats
//
// Each chat is one POST with Content-Type application/json and
// Options.Header:
//
//	{"user_id":"lb_user_00042","thread_id":"lb_user_00042_thread",
//	 "message":"hello from lb_user_00042, my secret is lbsecret_…"}
//
// The answer must be status 200 with a body of at most 4 MiB holding one
// JSON object:
//
//	{"run_id":"run_1","user_id":"lb_user_00042",
//	 "thread_id":"lb_user_00042_thread","factory_id":"factory_1",
//	 "events":[the five events],"result":{...}}
//
// run_id must be a non-empty string; user_id and thread_id must be the
// request's; events must hold exactly the five events, each with the
// response's run_id. factory_id is optional: the distinct ones are
// counted (Result.Segment.Isolation.DistinctFactoryIDs), so a service that
// builds a factory per chat shows one per chat. result may be anything, and
// other members are allowed; the whole body, result included, is searched
// for other users' data (see Isolation violations).
//
// # The five events
//
// A chat's events come in this order, and none after the last:
//
//	agent_started, agent_thinking, tool_executing, tool_completed,
//	agent_completed
//
// Each is a JSON object:
//
//	{"type":"agent_started","run_id":"run_1","user_id":"lb_user_00042",
//	 "thread_id":"lb_user_00042_thread",
//	 "timestamp":"2026-01-02T15:04:05.123456Z",
//	 "data":{"factory_id":"factory_1"}}
//
// type must be the next in the order; run_id non-empty and the same in all
// five; user_id and thread_id the chat's; timestamp an RFC 3339 date-time
// (2006-01-02T15:04:05, optional fraction, then Z or ±hh:mm). data is
// free: it is only searched for other users' data, except that
// data.factory_id of agent_started is a WebSocket chat's factory id. More
// than Options.MaxEventGap (DefaultMaxEventGap, 100 ms) between two
// consecutive events of a chat is a timing violation, reported apart from
// errors: over WebSocket as the events arrive, over HTTP from the events'
// timestamps when they carry a fraction of a second.
//
// # WebSocket chats
//
// Each user has its own connection, dialled before sending begins, with
// Options.Header, the subprotocol Options.WSSubprotocol if set, and no
// compression. A failed handshake (a network error, or any answer but
// 101) is a connection error; the user dials again for its next chat,
// which fails ("ws: dial: http 403") if that dial fails too. An attack in
// which no user connects returns an error wrapping ErrUnreachable. The
// client sends each chat as one message:
//
//	{"type":"chat","user_id":"lb_user_00042",
//	 "thread_id":"lb_user_00042_thread",
//	 "message":"hello from lb_user_00042, my secret is lbsecret_…"}
//
// and the server answers with the chat's five events, one JSON object per
// message (at most 4 MiB each). A user may send its next chat before the
// last is answered: the events of a connection are matched to its oldest
// chat in flight, so a connection answers its chats one after the other,
// in the order sent, never interleaved. The chat's run id is that of its
// first event; the chat ends at its agent_completed (or fifth event). An
// event of the same user with another run id before that ends the oldest
// chat as failed and goes to the next.
//
// Instead of events the server may answer a chat with
// {"type":"error","error":"why"}, which fails the oldest chat in flight.
// Messages of type connection_established and pong are ignored; messages
// of any other type outside the contract are counted (OtherMessages in the
// segment) and ignored unless they carry another user's data or ids. An
// event, error or unreadable message when no chat is in flight is a
// connection error ("ws: message without a chat"), charged to no chat.
//
// The client sends no ping messages of its own: on a connection on which
// it has sent nothing for Options.WSPing (DefaultWSPing, 20 s) it sends a
// WebSocket ping frame, which the server should answer with a pong (as
// WebSocket libraries do while a read is pending); a missing pong is not
// itself an error. The client reads all the time, so it answers the
// server's pings. It closes connections without a close handshake: every
// one when the attack ends, and one whose oldest chat timed out. A
// connection the server closes fails the chats in flight on it; the user
// redials for its next chat, and a redial slower than 3 s (by default) is
// a timing violation. A server should end a connection's handler when a
// read fails.
//
// # Isolation violations
//
// Every HTTP 200 body (of at most 4 MiB) and every WebSocket message but
// error, unreadable, connection_established and pong ones is searched, in
// its raw bytes (ids, events, data, result, anything), for another user's
// data: a secret token (lbsecret_ and 16 hex digits) other than the asking
// user's, or the user prefix followed by digits other than the user's own
// number (an answer to lb_user_00042 that mentions lb_user_00007). Either,
// or a user_id or thread_id that is not the asking user's (in the response
// or in an event), is an isolation violation, counted in Result.Isolation.
// A WebSocket message outside the contract with another user's data is
// charged to the chat in flight, or counted on its own when none is.
// Non-200 answers are not searched. Another user's secret or id found only
// in the content (data, result, a message text) does not fail the chat; a
// foreign user_id or thread_id member does.
//
// # Failed chats
//
// A chat fails, and counts once under its error class in
// ProtocolResult.ErrorClasses, when it is not answered within
// Options.Timeout (DefaultTimeout, 30 s) of its intended send time
// ("timeout") or its answer breaks the contract. Over HTTP: a transport
// error (connection refused, reset, closed, tls: …), a status other than
// 200 ("http 503"), a body over 4 MiB, a body that is not a JSON object
// ("http: bad json"), a response with another user's ids
// ("http: response has foreign ids"), no run_id ("http: no run_id"), an
// event that fails the checks above
// ("http: event 2 is tool_executing, want agent_thinking"), or other than
// five events ("http: 4 events, want 5"). Over WebSocket: a failed dial
// ("ws: dial: http 403"), a connection dropped with the chat in flight
// ("ws: connection dropped"), a message that is not a JSON object
// ("ws: bad json"), an error message ("ws: error: " and its text, words
// with digits as #), an event of another user ("ws: foreign event"), an
// event that fails the checks ("ws: event 3 has a bad timestamp"), or the
// next chat's events before this one's agent_completed
// ("ws: missing tool_completed"). Failures of the generator itself (no free
// port, no file descriptor) fail chats too, but are never charged to the
// target: ProtocolResult.TargetErrors leaves them out.
package loadbench
