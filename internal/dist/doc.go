// Package dist runs one load segment on several generator processes: one
// coordinator and N workers that dial it over TCP.
//
// # Protocol
//
// JSON lines (one Message per line) over the TCP connection the worker
// dialed. In order:
//
//  1. hello (worker → coordinator): the protocol version (Proto), the
//     build's version (results.Version) and the worker's index (-1: any).
//     A worker of another protocol or build version, an index out of range
//     or taken, is answered refused, with the reason, and closed.
//  2. welcome (coordinator → worker): the index and the number of workers.
//  3. clock (ClockExchanges times): an NTP-style exchange. The worker sends
//     T0 (its clock), the coordinator answers T0 with T1 (receipt) and T2
//     (reply), both its clock, and the worker stamps T3 on receipt. Offset
//     θ = ((T1−T0)+(T2−T3))/2 is the coordinator's clock minus the
//     worker's; delay δ = (T3−T0)−(T2−T1) the round trip. The exchange with
//     the smallest δ is kept (its θ is off by at most δ/2).
//  4. synced (worker → coordinator): θ and δ. The worker is now ready.
//
// Then, for every segment:
//
//  5. job (coordinator → worker): the Job (the target URL and the load as
//     plain values, Spec), the worker's shard index and the shard count,
//     and the Access of the job's side: header templates whose ${VAR}
//     expand on the worker from its own environment. The coordinator
//     refuses a header value that would carry a secret over the wire (a
//     value without ${VAR}); no secret value ever crosses the connection.
//  6. ready (worker → coordinator): the worker has built its attacker and
//     connected its WebSocket users.
//  7. go (coordinator → every worker, once all are ready): the absolute
//     start in the coordinator's clock, GoLead after the last ready. Each
//     worker begins at start − θ in its own clock.
//  8. beat (worker → coordinator) every Heartbeat from the job to the
//     result, with the chats sent so far.
//  9. result (worker → coordinator): the shard's results.Segment (every
//     histogram in the lossless HdrHistogram encoding), the start skew it
//     measured (how late it began after start − θ, its clock) and its
//     begin in the coordinator's clock, or the error that ended it.
//
// stop (coordinator → worker) cancels a running segment (the worker sends
// its partial result); bye ends the session. A worker whose connection
// closes stops its load and exits.
//
// # Sharing the load
//
// Each shard runs load.WithShard(index, count): striped arrivals of the one
// schedule (the union is the schedule of one generator, chat for chat),
// its own block of user ids, and an exact share of a request budget. Every
// user id has the job's prefix, so a worker that sees another shard's user
// id or secret counts it as an isolation violation, like any other user's.
//
// # Merging and failures
//
// The coordinator merges the shards' segments with results.Segment.Merge:
// histograms bucket for bucket (a histogram of another geometry is refused
// when decoded, never re-binned), counts and error classes add, isolation
// findings add, saturation of any shard marks the merge saturated. The
// merged manifest lists each shard's clock offset and start skew
// (results.Manifest.Generators); a spread of starts over MaxSkewShare of
// the segment is noted in it.
//
// A worker that closes its connection, is silent for Silence, or has not
// reported by the segment's end + timeout + Late ends the segment with an
// error naming the shard; the other workers are stopped. The gate never
// sees a segment of N−1 shards.
package dist
