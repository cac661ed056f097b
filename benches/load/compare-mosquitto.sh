#!/usr/bin/env bash
# Switchyard beside Debian's Mosquitto, on loopback, in one run: the first throughput and
# p99 figures for QoS 0 and QoS 1 (issue 3), with switchyard-load (issue 7).
#
#   benches/load/compare-mosquitto.sh
#
# benches/compare/compare-mqtt.sh runs these scenarios against rumqttd too, and the
# fan-out of one publisher to 1,000 subscribers.
#
# Scenarios (MQTT 3.1.1, 64 B payloads, 16 publisher/subscriber pairs, a topic per pair):
#   qos0-closed   QoS 0, closed loop (as fast as the broker takes them)
#   qos1-closed   QoS 1, closed loop, 64 unacknowledged PUBLISH per publisher
#   qos1-open     QoS 1, open loop, RATE msg/s per publisher (default 500: 8,000 msg/s in
#                 all, a third of what Mosquitto sustains closed-loop here): latency at
#                 equal load. 2,000 per publisher (32,000/s) overloaded Mosquitto on our
#                 2-core machines (p50 0.5 s), which measures its queue, not its latency.
# Each scenario runs REPS times per broker, the brokers alternating (rep 1: Switchyard
# first, rep 2: Mosquitto first, ...). Each run gets a freshly started broker on a free
# port, so no backlog or state carries over. The table gives medians over the runs that
# completed without a failure (a broken connection, a QoS 1 message lost or duplicated),
# and the ratio Switchyard / Mosquitto; failed runs are listed under it. Every run's JSON,
# table and broker log (Switchyard's at -vv: malformed packets are logged at debug) stay
# in OUT.
#
# Broker settings, the same limits for both, raised so that neither throttles a QoS 1
# pipeline of 64 per publisher (Mosquitto's defaults: 20 inflight, 1,000 queued;
# Switchyard's: 32 and 1,000):
#   Switchyard  --shards 2 --io-backend uring; [mqtt] max_inflight = 100,
#               max_queued_messages = 10000 (QoS 0: max_outbound_bytes default, 1 MiB)
#   Mosquitto   max_inflight_messages 100, max_queued_messages 10000,
#               set_tcp_nodelay true (Switchyard sets TCP_NODELAY), persistence false
#
# Environment:
#   REPS (3)  DURATION (10)  WARMUP (2)  seconds per run
#   RATE (500)                            qos1-open's msg/s per publisher
#   SHARDS (2)  IO_BACKEND (uring)        Switchyard's
#   SWITCHYARD_BIN, LOAD_BIN              prebuilt binaries (default: cargo build --release)
#   OUT                                   results folder (default target/load/compare-DATE)
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$ROOT"

REPS="${REPS:-3}"
DURATION="${DURATION:-10}"
WARMUP="${WARMUP:-2}"
RATE="${RATE:-500}"
SHARDS="${SHARDS:-2}"
IO_BACKEND="${IO_BACKEND:-uring}"
MOSQUITTO="${MOSQUITTO:-/usr/sbin/mosquitto}"
OUT="${OUT:-$ROOT/target/load/compare-$(date +%Y%m%d-%H%M%S)}"
mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"

SCENARIOS=(
    "qos0-closed|--pairs 16 --payload 64 --qos 0"
    "qos1-closed|--pairs 16 --payload 64 --qos 1 --inflight 64"
    "qos1-open|--pairs 16 --payload 64 --qos 1 --inflight 64 --rate $RATE"
)

# --- What the run needs ------------------------------------------------------------------

if [[ ! -x "$MOSQUITTO" ]]; then
    if [[ "$(id -u)" == 0 ]]; then
        echo "==> installing mosquitto (Debian)"
        apt-get install -y mosquitto >/dev/null || { apt-get update >/dev/null && apt-get install -y mosquitto >/dev/null; }
        # Only the binary is wanted: the packaged service would hold port 1883.
        systemctl disable --now mosquitto >/dev/null 2>&1 || true
    else
        echo "mosquitto is missing: apt-get install mosquitto" >&2
        exit 1
    fi
fi
if [[ -z "${SWITCHYARD_BIN:-}" || -z "${LOAD_BIN:-}" ]]; then
    echo "==> cargo build --release -j2 -p switchyard -p switchyard-load"
    cargo build --release -j2 -p switchyard -p switchyard-load --bin switchyard --bin switchyard-load
    target_dir="$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')"
    SWITCHYARD_BIN="${SWITCHYARD_BIN:-$target_dir/release/switchyard}"
    LOAD_BIN="${LOAD_BIN:-$target_dir/release/switchyard-load}"
fi

for bin in "$SWITCHYARD_BIN" "$LOAD_BIN"; do
    [[ -x "$bin" ]] || { echo "missing binary: $bin" >&2; exit 1; }
done

# --- Brokers -----------------------------------------------------------------------------

# A port no one listens on: bound without SO_REUSEPORT, so a port that a SO_REUSEPORT
# listener holds is refused too.
free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

wait_port() {
    local port="$1" pid="$2"
    for _ in $(seq 100); do
        if ! kill -0 "$pid" 2>/dev/null; then
            return 1
        fi
        if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            return 0
        fi
        sleep 0.05
    done
    return 1
}

# CPU seconds (user + system) a process has used so far.
cpu_seconds() {
    awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f", ($14 + $15) / hz }' "/proc/$1/stat" 2>/dev/null || echo 0
}

BROKER_PID=""
# start_broker NAME PORT LOG: starts a fresh broker, sets BROKER_PID.
start_broker() {
    local name="$1" port="$2" log="$3" dir="$OUT/run-state"
    rm -rf "$dir"
    mkdir -p "$dir"
    case "$name" in
    switchyard)
        cat >"$dir/switchyard.toml" <<EOF
[server]
data_dir = "$dir/data"

[mqtt]
listen = ["127.0.0.1:$port"]
max_inflight = 100
max_queued_messages = 10000
EOF
        "$SWITCHYARD_BIN" --config "$dir/switchyard.toml" --shards "$SHARDS" \
            --io-backend "$IO_BACKEND" -vv >"$log" 2>&1 &
        ;;
    mosquitto)
        cat >"$dir/mosquitto.conf" <<EOF
listener $port 127.0.0.1
allow_anonymous true
max_inflight_messages 100
max_queued_messages 10000
set_tcp_nodelay true
persistence false
EOF
        "$MOSQUITTO" -c "$dir/mosquitto.conf" >"$log" 2>&1 &
        ;;
    esac
    BROKER_PID=$!
    if ! wait_port "$port" "$BROKER_PID"; then
        echo "$name did not start on port $port; its log:" >&2
        cat "$log" >&2
        exit 1
    fi
}

stop_broker() {
    local pid="$1"
    kill -TERM "$pid" 2>/dev/null || return 0
    for _ in $(seq 50); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}

trap '[[ -n "$BROKER_PID" ]] && stop_broker "$BROKER_PID"' EXIT

# --- The run -----------------------------------------------------------------------------

{
    echo "command: benches/load/compare-mosquitto.sh (REPS=$REPS DURATION=$DURATION WARMUP=$WARMUP RATE=$RATE SHARDS=$SHARDS IO_BACKEND=$IO_BACKEND)"
    echo "switchyard: $(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo unknown) $SWITCHYARD_BIN"
    echo "mosquitto: $("$MOSQUITTO" -h 2>&1 | head -1)"
    echo "machine: $(nproc) cores, $(uname -sr), load average at start $(cut -d' ' -f1-3 /proc/loadavg)"
} | tee "$OUT/environment.txt"

for rep in $(seq "$REPS"); do
    if ((rep % 2)); then brokers=(switchyard mosquitto); else brokers=(mosquitto switchyard); fi
    for entry in "${SCENARIOS[@]}"; do
        scenario="${entry%%|*}"
        read -r -a args <<<"${entry#*|}"
        for broker in "${brokers[@]}"; do
            name="$scenario-$broker-$rep"
            port="$(free_port)"
            start_broker "$broker" "$port" "$OUT/$name.log"
            pid="$BROKER_PID"
            load_before="$(cut -d' ' -f1 /proc/loadavg)"
            cpu_before="$(cpu_seconds "$pid")"
            set +e
            "$LOAD_BIN" --port "$port" "${args[@]}" --duration "$DURATION" --warmup "$WARMUP" \
                --label "$broker" --json "$OUT/$name.json" --quiet >"$OUT/$name.txt" 2>&1
            rc=$?
            set -e
            cpu_after="$(cpu_seconds "$pid")"
            alive=yes
            kill -0 "$pid" 2>/dev/null || alive=no
            stop_broker "$pid"
            BROKER_PID=""
            printf '{"run":"%s","scenario":"%s","broker":"%s","rep":%d,"exit":%d,"broker_alive":"%s","broker_cpu_s":%.2f,"load_average_before":%s}\n' \
                "$name" "$scenario" "$broker" "$rep" "$rc" "$alive" \
                "$(awk -v a="$cpu_after" -v b="$cpu_before" 'BEGIN { print a - b }')" "$load_before" >>"$OUT/runs.jsonl"
            printf '%-28s exit %d, broker alive after: %s\n' "$name" "$rc" "$alive"
            sed 's/^/    /' "$OUT/$name.txt"
        done
    done
done

# --- Medians and ratios --------------------------------------------------------------------

python3 - "$OUT" <<'EOF' | tee "$OUT/summary.md"
import json, os, statistics, sys

out = sys.argv[1]
runs = [json.loads(line) for line in open(os.path.join(out, "runs.jsonl"))]
for r in runs:
    path = os.path.join(out, r["run"] + ".json")
    r["result"] = json.load(open(path)) if os.path.exists(path) else None

def median(values):
    return statistics.median(values)

def problems(r):
    res = r["result"]
    bad = []
    if res is None:
        bad.append(f"no result (exit {r['exit']})")
    else:
        bad += res["failures"][:3]
        if res["qos"] >= 1 and (res["lost"] or res["duplicated"]):
            bad.append(f"QoS 1: published {res['published']}, acked {res['acked']}, "
                       f"received {res['received']}: lost {res['lost']} (acked ones "
                       f"{res['acked_lost']}), duplicated {res['duplicated']}")
    if r["broker_alive"] != "yes":
        bad.append("the broker died")
    return bad

scenarios = list(dict.fromkeys(r["scenario"] for r in runs))
print(open(os.path.join(out, "environment.txt")).read())
print("| scenario | broker | delivered msg/s | p50 µs | p99 µs | p99.9 µs | broker CPU s | runs ok |")
print("|---|---|---:|---:|---:|---:|---:|---|")
notes = []
medians = {}
for s in scenarios:
    for b in ("switchyard", "mosquitto"):
        rs = [r for r in runs if r["scenario"] == s and r["broker"] == b]
        ok = [r for r in rs if not problems(r)]
        for r in rs:
            for p in problems(r):
                notes.append(f"{s} / {b} / rep {r['rep']}: {p}")
        if not ok:
            medians[(s, b)] = None
            print(f"| {s} | {b} | FAILED | | | | | 0/{len(rs)} |")
            continue
        m = {
            "delivered": median([r["result"]["delivered_per_s"] for r in ok]),
            "p50": median([r["result"]["latency_us"]["p50"] for r in ok]),
            "p99": median([r["result"]["latency_us"]["p99"] for r in ok]),
            "p999": median([r["result"]["latency_us"]["p99_9"] for r in ok]),
            "cpu": median([r["broker_cpu_s"] for r in ok]),
        }
        medians[(s, b)] = m
        print(f"| {s} | {b} | {m['delivered']:,.0f} | {m['p50']:,.0f} | {m['p99']:,.0f} | "
              f"{m['p999']:,.0f} | {m['cpu']:.1f} | {len(ok)}/{len(rs)} |")
print()
print("| scenario | throughput Switchyard/Mosquitto | p99 Switchyard/Mosquitto |")
print("|---|---:|---:|")
for s in scenarios:
    a, b = medians[(s, "switchyard")], medians[(s, "mosquitto")]
    if a is None or b is None:
        print(f"| {s} | n/a | n/a |")
        continue
    print(f"| {s} | {a['delivered'] / b['delivered']:.2f} | {a['p99'] / b['p99']:.2f} |")
if notes:
    print()
    print("Failed runs (left out of the medians):")
    for n in notes:
        print(f"- {n}")
print()
print(f"Every run's table, JSON and broker log: {out}")
EOF
