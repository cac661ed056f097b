#!/usr/bin/env bash
# perf profiles of Switchyard in the scenarios where benches/compare/run shows it behind
# (issue 7): the MQTT fan-out 1 -> 1,000 at QoS 0, QoS 1 closed-loop pairs (p99), and QoS 1
# open loop at low load (p99). Builds a profiling binary (release, debug info, frame
# pointers) in its own target folder, starts it on 127.0.0.1:22883 (io_uring, 2 shards),
# runs switchyard-load against it, and records `perf record -g` (cpu-clock samples, 999 Hz)
# of the broker for SECONDS after the warm-up. Writes, per case, the perf.data, the top
# symbols by self time and the call graph by caller into OUT.
#
#   benches/compare/profile.sh
#   CASES="qos1-pairs" SECONDS_=8 benches/compare/profile.sh
#
# Environment: CASES ("fanout qos1-pairs qos1-open"), SECONDS_ (8), OUT
# (target/bench/profile-DATE), PROFILE_TARGET_DIR (target/profile), LOAD_BIN.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$ROOT"
read -r -a CASES <<<"${CASES:-fanout qos1-pairs qos1-open}"
SECS="${SECONDS_:-8}"
OUT="${OUT:-$ROOT/target/bench/profile-$(date +%Y%m%d-%H%M%S)}"
PROFILE_TARGET_DIR="${PROFILE_TARGET_DIR:-$ROOT/target/profile}"
PORT=22883
mkdir -p "$OUT"

echo "==> building a profiling switchyard (debug info, frame pointers) in $PROFILE_TARGET_DIR"
CARGO_PROFILE_RELEASE_DEBUG=true RUSTFLAGS="-C force-frame-pointers=yes" \
    CARGO_TARGET_DIR="$PROFILE_TARGET_DIR" cargo build --release -j2 -p switchyard --bin switchyard
BIN="$PROFILE_TARGET_DIR/release/switchyard"
if [[ -z "${LOAD_BIN:-}" ]]; then
    cargo build --release -j2 -p switchyard-load --bin switchyard-load
    LOAD_BIN="$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')/release/switchyard-load"
fi

PID=""
trap '[[ -n "$PID" ]] && kill "$PID" 2>/dev/null; wait 2>/dev/null || true' EXIT
STATE="$(mktemp -d /tmp/switchyard-profile.XXXXXX)"
cat >"$STATE/switchyard.toml" <<TOML
[server]
data_dir = "$STATE/data"

[mqtt]
listen = ["127.0.0.1:$PORT"]
max_inflight = 100
max_queued_messages = 10000

[stomp]
listen = []

[amqp]
listen = []

[websocket]
listen = []
TOML

MQTT="--port $PORT --payload 64 --keep-alive 600 --warmup 2 --duration $((SECS + 3))"
for c in "${CASES[@]}"; do
    case "$c" in
    fanout) args="$MQTT --fanout 1000 --sub-threads 2 --qos 0 --backlog 100" ;;
    qos1-pairs) args="$MQTT --pairs 16 --qos 1 --inflight 64" ;;
    qos1-open) args="$MQTT --pairs 16 --qos 1 --inflight 64 --rate 500" ;;
    *) echo "no such case: $c" >&2; exit 1 ;;
    esac
    "$BIN" --config "$STATE/switchyard.toml" --shards 2 --io-backend uring >"$OUT/$c.log" 2>&1 &
    PID=$!
    sleep 0.5
    # shellcheck disable=SC2086
    "$LOAD_BIN" $args --label switchyard-uring --quiet --json "$OUT/$c.json" >"$OUT/$c.txt" 2>&1 &
    load=$!
    sleep 3
    perf record -F 999 -g -p "$PID" -o "$OUT/$c.perf.data" -- sleep "$SECS" 2>>"$OUT/$c.perf.log"
    wait "$load" || true
    kill "$PID"; wait "$PID" 2>/dev/null || true
    PID=""
    echo "==> $c"; cat "$OUT/$c.txt"
    perf report -i "$OUT/$c.perf.data" --no-children --sort symbol --stdio --percent-limit 0.7 \
        -g none 2>/dev/null | grep -v '^$' >"$OUT/$c.self.txt" || true
    perf report -i "$OUT/$c.perf.data" --children --sort symbol --stdio --percent-limit 3 \
        -g caller,0.5,callee,function,percent --max-stack 24 2>/dev/null >"$OUT/$c.callers.txt"
    perf report -i "$OUT/$c.perf.data" --no-children --sort comm,dso --stdio 2>/dev/null |
        grep -v '^#' | grep -v '^$' | head -12 >"$OUT/$c.threads.txt" || true
    head -40 "$OUT/$c.self.txt"
done
rm -rf "$STATE"
echo "==> profiles in $OUT"
