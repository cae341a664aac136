#!/usr/bin/env bash
# make perf: generator speed of `loadbench attack` against reference clients,
# all on this machine, in this one run, against one trivial loopback target
# (internal/perf/target). Writes the table and the exact commands to
# docs/performance.md. Every run is bounded in time (`timeout`).
#
#   HTTP throughput: loadbench --http-rate max --workers W  vs  vegeta attack -rate=0 -workers=W -max-workers=W
#   WS throughput:   loadbench --ws-rate max --users 100    vs  internal/perf/wsbare (bare coder/websocket loop)
#   WS hold:         loadbench --ws-rate 1000 --users 10000 --duration 60s, peak RSS of the generator
#
# Knobs (environment): PERF_DURATION (default 5s per throughput run),
# PERF_ROUNDS (3), PERF_WORKERS (16), PERF_HOLD (60s), PERF_HOLD_USERS (10000),
# PERF_OUT (docs/performance.md).
set -euo pipefail
cd "$(dirname "$0")/../.."

GO=${GO:-go}
D=${PERF_DURATION:-5s}
ROUNDS=${PERF_ROUNDS:-3}
W=${PERF_WORKERS:-16}
HOLD=${PERF_HOLD:-60s}
HOLD_USERS=${PERF_HOLD_USERS:-10000}
OUT=${PERF_OUT:-docs/performance.md}
BIN=$PWD/bin
WORK=$(mktemp -d "${TMPDIR:-/tmp}/loadbench-perf.XXXXXX")
TARGET_PID=""
cleanup() {
	if [ -n "$TARGET_PID" ]; then kill "$TARGET_PID" 2>/dev/null || true; wait "$TARGET_PID" 2>/dev/null || true; fi
	rm -rf "$WORK"
}
trap cleanup EXIT

echo "perf: building" >&2
mkdir -p "$BIN"
$GO build -o "$BIN/loadbench" ./cmd/loadbench
$GO build -o "$BIN/perf-target" ./internal/perf/target
$GO build -o "$BIN/perf-wsbare" ./internal/perf/wsbare
$GO build -o "$BIN/perf-peakrss" ./internal/perf/peakrss
if [ ! -x "$BIN/vegeta" ]; then
	echo "perf: installing vegeta v12.13.0 into $BIN" >&2
	GOBIN="$BIN" $GO install github.com/tsenart/vegeta/v12@v12.13.0
fi

# The target runs in its own process (GOMAXPROCS as the machine) and
# prints its address.
"$BIN/perf-target" -addr 127.0.0.1:0 >"$WORK/target.addr" 2>"$WORK/target.log" &
TARGET_PID=$!
for _ in $(seq 50); do [ -s "$WORK/target.addr" ] && break; sleep 0.1; done
ADDR=$(head -1 "$WORK/target.addr")
[ -n "$ADDR" ] || { echo "perf: target did not start" >&2; exit 3; }
BASE="http://$ADDR"
ulimit -n 20000 2>/dev/null || true

printf '{"user_id":"lb_user_00001","thread_id":"lb_user_00001_thread","message":"hello from lb_user_00001"}\n' >"$WORK/body.json"
printf 'POST %s/api/agents/run\nContent-Type: application/json\n@%s\n' "$BASE" "$WORK/body.json" >"$WORK/targets.txt"

# third field of "Requests [total, rate, throughput] a, b, c" in vegeta's
# and loadbench's text reports: successful requests per second.
throughput() { awk '/^Requests/ { gsub(",", ""); print $(NF) }' "$1"; }
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
secs() { echo "$1" | sed 's/s$//'; }
TMO=$(( $(secs "$D") + 30 ))

VEGETA_CMD="vegeta attack -rate=0 -workers=$W -max-workers=$W -duration=$D -targets=targets.txt > vegeta.bin && vegeta report vegeta.bin"
LB_HTTP_CMD="loadbench attack $BASE --http-rate max --ws-rate 0 --workers $W --duration $D --quiet"
BARE_CMD="perf-wsbare -url ws://$ADDR/api/demo/ws -users 100 -duration $D"
LB_WS_CMD="loadbench attack $BASE --http-rate 0 --ws-rate max --users 100 --duration $D --quiet"
HOLD_CMD="perf-peakrss loadbench attack $BASE --http-rate 0 --ws-rate 1000 --users $HOLD_USERS --duration $HOLD --quiet"

: >"$WORK/vegeta.tp"; : >"$WORK/lbhttp.tp"; : >"$WORK/bare.tp"; : >"$WORK/lbws.tp"
: >"$WORK/vegeta.cpu"; : >"$WORK/lbhttp.cpu"; : >"$WORK/bare.cpu"; : >"$WORK/lbws.cpu"
# first field of "Requests [total, rate, throughput] a, b, c": chats sent.
total() { awk '/^Requests/ { gsub(",", ""); print $(NF-2) }' "$1"; }
# CPU time (user+sys, from perf-peakrss's rusage) per chat, in microseconds.
cpu_per_chat() { awk -v n="$2" '/^cpu_user_s/ { u = $2 } /^cpu_sys_s/ { s = $2 } END { if (n > 0) printf "%.2f\n", (u + s) * 1e6 / n; else print "nan" }' "$1"; }
for r in $(seq "$ROUNDS"); do
	echo "perf: http round $r/$ROUNDS" >&2
	timeout "$TMO" "$BIN/perf-peakrss" "$BIN/vegeta" attack -rate=0 -workers="$W" -max-workers="$W" -duration="$D" -targets="$WORK/targets.txt" >"$WORK/vegeta.bin" 2>"$WORK/vegeta.err"
	"$BIN/vegeta" report "$WORK/vegeta.bin" >"$WORK/vegeta.txt"
	throughput "$WORK/vegeta.txt" >>"$WORK/vegeta.tp"
	cpu_per_chat "$WORK/vegeta.err" "$(total "$WORK/vegeta.txt")" >>"$WORK/vegeta.cpu"
	timeout "$TMO" "$BIN/perf-peakrss" "$BIN/loadbench" attack "$BASE" --http-rate max --ws-rate 0 --workers "$W" --duration "$D" --quiet --out "$WORK/lbhttp-$r" >"$WORK/lbhttp.txt" 2>"$WORK/lbhttp.err" || true
	throughput "$WORK/lbhttp.txt" >>"$WORK/lbhttp.tp"
	cpu_per_chat "$WORK/lbhttp.err" "$(total "$WORK/lbhttp.txt")" >>"$WORK/lbhttp.cpu"
	echo "perf: ws round $r/$ROUNDS" >&2
	timeout "$TMO" "$BIN/perf-peakrss" "$BIN/perf-wsbare" -url "ws://$ADDR/api/demo/ws" -users 100 -duration "$D" >"$WORK/bare.txt" 2>"$WORK/bare.err"
	awk '{ print $6 }' "$WORK/bare.txt" >>"$WORK/bare.tp"
	cpu_per_chat "$WORK/bare.err" "$(awk '{ print $2 }' "$WORK/bare.txt")" >>"$WORK/bare.cpu"
	timeout "$TMO" "$BIN/perf-peakrss" "$BIN/loadbench" attack "$BASE" --http-rate 0 --ws-rate max --users 100 --duration "$D" --quiet --out "$WORK/lbws-$r" >"$WORK/lbws.txt" 2>"$WORK/lbws.err" || true
	throughput "$WORK/lbws.txt" >>"$WORK/lbws.tp"
	cpu_per_chat "$WORK/lbws.err" "$(total "$WORK/lbws.txt")" >>"$WORK/lbws.cpu"
done

echo "perf: ws hold, $HOLD_USERS users for $HOLD" >&2
HOLD_TMO=$(( $(secs "$HOLD") + 120 ))
set +e
timeout "$HOLD_TMO" "$BIN/perf-peakrss" "$BIN/loadbench" attack "$BASE" --http-rate 0 --ws-rate 1000 --users "$HOLD_USERS" --duration "$HOLD" --quiet --out "$WORK/hold" >"$WORK/hold.txt" 2>"$WORK/hold.err"
HOLD_EXIT=$?
set -e
HOLD_RSS=$(awk '/^peak_rss_mib/ { print $2 }' "$WORK/hold.err")
HOLD_REQ=$(awk '/^Requests/ { gsub(",", ""); print $(NF-2) }' "$WORK/hold.txt")
HOLD_RATE=$(awk '/^Requests/ { gsub(",", ""); print $(NF-1) }' "$WORK/hold.txt")
HOLD_ERR=$(awk '/^Errors/ { print $NF }' "$WORK/hold.txt")
HOLD_CONN=$(awk '/^Connections/ { gsub(",", ""); print $(NF-1) }' "$WORK/hold.txt")
HOLD_P99=$(awk '/^Latencies/ { gsub(",", ""); print $(NF-2) }' "$WORK/hold.txt")

V=$(median <"$WORK/vegeta.tp"); L=$(median <"$WORK/lbhttp.tp")
B=$(median <"$WORK/bare.tp"); S=$(median <"$WORK/lbws.tp")
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }
pass() { awk -v r="$1" -v m="$2" 'BEGIN { print (r + 0 >= m) ? "pass" : "FAIL" }'; }
RH=$(ratio "$L" "$V"); RW=$(ratio "$S" "$B")
CV=$(median <"$WORK/vegeta.cpu"); CL=$(median <"$WORK/lbhttp.cpu")
CB=$(median <"$WORK/bare.cpu"); CS=$(median <"$WORK/lbws.cpu")
HOLD_OK=$(awk -v rss="${HOLD_RSS:-9999}" -v e="${HOLD_ERR:-1}" -v x="$HOLD_EXIT" 'BEGIN { print (rss < 500 && e == 0 && x == 0) ? "pass" : "FAIL" }')
list() { paste -sd' ' "$1" | sed 's/ /, /g'; }

mkdir -p "$(dirname "$OUT")"
tmp="$OUT.tmp.$$"
{
	echo "# Performance of the load generator"
	echo
	echo "Written by \`make perf\` (internal/perf/run.sh) on $(date -u +%Y-%m-%dT%H:%M:%SZ)."
	echo "Machine: $(nproc) CPUs ($(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)), $($GO version | awk '{ print $3 }'), fd limit $(ulimit -n)."
	echo "Generators, reference clients and the trivial loopback target (internal/perf/target, a separate"
	echo "process speaking the wire contract) share the machine, so absolute numbers are this machine's;"
	echo "the ratios are what the requirements are about. Each throughput figure is the median of $ROUNDS"
	echo "alternating runs of $D; the numbers are successful chats per second."
	echo
	echo "| Check | loadbench | reference | ratio | required | result |"
	echo "|---|---|---|---|---|---|"
	echo "| HTTP throughput, $W workers | $L/s | vegeta $V/s | $RH | ≥ 1.2 | $(pass "$RH" 1.2) |"
	echo "| WebSocket throughput, 100 users | $S/s | bare coder/websocket $B/s | $RW | ≥ 0.9 | $(pass "$RW" 0.9) |"
	echo "| WebSocket hold: $HOLD_USERS users, 1000 chats/s, $HOLD | ${HOLD_REQ:-?} chats at ${HOLD_RATE:-?}/s, ${HOLD_CONN:-?} connections, ${HOLD_ERR:-?} errors, p99 ${HOLD_P99:-?}, exit $HOLD_EXIT | | peak RSS ${HOLD_RSS:-?} MiB | < 500 MiB, no errors | $HOLD_OK |"
	echo
	echo "Generator CPU time per chat (user+sys of the generator process, from its rusage, over the chats it"
	echo "sent; median of the $ROUNDS runs above, µs; lower is cheaper):"
	echo
	echo "| Protocol | loadbench | reference | loadbench / reference |"
	echo "|---|---|---|---|"
	echo "| HTTP | $CL µs | vegeta $CV µs | $(ratio "$CL" "$CV") |"
	echo "| WebSocket | $CS µs | bare coder/websocket $CB µs | $(ratio "$CS" "$CB") |"
	echo
	echo "Per-run throughputs (chats/s): vegeta $(list "$WORK/vegeta.tp"); loadbench HTTP $(list "$WORK/lbhttp.tp");"
	echo "bare WebSocket $(list "$WORK/bare.tp"); loadbench WebSocket $(list "$WORK/lbws.tp")."
	echo
	echo "loadbench checks every response (five events, ids, run ids, timestamps, other users' secrets and"
	echo "ids), keeps HDR histograms and a per-second timeline, and writes vegeta's binary results too;"
	echo "vegeta and the bare client check nothing (vegeta also writes its results)."
	echo
	echo "Where the margin comes from: loadbench's HTTP engine uses its own minimal HTTP/1.1 keep-alive client"
	echo "(internal/load/rawhttp.go: one pre-built request written with one syscall, the response parsed by the"
	echo "calling goroutine) instead of net/http's Transport and its per-request hand-offs to read and write"
	echo "goroutines; its WebSocket readers reuse one buffer per connection instead of allocating per message."
	echo
	echo "## Commands"
	echo
	echo "Target: \`perf-target -addr 127.0.0.1:0\` (go build ./internal/perf/target), here at $BASE."
	echo "vegeta v12.13.0 is installed by the script with \`go install github.com/tsenart/vegeta/v12@v12.13.0\` into ./bin."
	echo
	echo '```sh'
	echo "# HTTP, $ROUNDS rounds, alternating"
	echo "$VEGETA_CMD"
	echo "$LB_HTTP_CMD"
	echo "# WebSocket, $ROUNDS rounds, alternating"
	echo "$BARE_CMD"
	echo "$LB_WS_CMD"
	echo "# WebSocket hold (peak RSS of the generator process)"
	echo "$HOLD_CMD"
	echo '```'
	echo
	echo "vegeta.txt (last round):"
	echo
	echo '```'
	cat "$WORK/vegeta.txt"
	echo '```'
	echo
	echo "loadbench HTTP (last round):"
	echo
	echo '```'
	sed '/^Results in/d' "$WORK/lbhttp.txt"
	echo '```'
	echo
	echo "loadbench WebSocket hold:"
	echo
	echo '```'
	sed '/^Results in/d' "$WORK/hold.txt"
	echo '```'
} >"$tmp"
mv "$tmp" "$OUT"
echo "perf: wrote $OUT" >&2
cat "$OUT" | sed -n '/^| Check/,/^$/p'
