#!/usr/bin/env bash
# Switchyard's MQTT beside Mosquitto (Debian) and rumqttd (crates.io), on loopback, in one
# run, with switchyard-load (issue 7). The successor of benches/load/compare-mosquitto.sh:
# the same scenarios and broker settings, a third broker, and the fan-out.
#
#   benches/compare/compare-mqtt.sh
#   REPS=3 DURATION=8 benches/compare/compare-mqtt.sh
#   ONLY=fanout-qos0 BROKERS="switchyard rumqttd" benches/compare/compare-mqtt.sh
#
# Scenarios (MQTT 3.1.1, 64 B payloads, closed loop unless said):
#   qos0-closed   16 publisher/subscriber pairs, a topic per pair, QoS 0: as fast as the
#                 broker takes messages
#   qos0-backlog  qos0-closed with --backlog PAIR_BACKLOG (1000): each publisher at most
#                 1,000 messages ahead of its subscriber. Unbounded, rumqttd reads the
#                 publishers first and starves the subscribers (first run: 7.7 million
#                 messages taken, 2.4 GB RSS, 0.75 million delivered in the 8 s window
#                 and the other 6.9 million in the 3 s after it, p50 6 s), so
#                 qos0-closed's delivered rate says little about its delivery capacity.
#   qos1-closed   the same at QoS 1, 64 unacknowledged PUBLISH per publisher
#   qos1-open     the same at QoS 1, open loop, RATE msg/s per publisher (default 500:
#                 8,000 msg/s in all): latency at equal load
#   fanout-qos0   1 publisher, FANOUT (1,000) subscribers on one topic, QoS 0, closed
#                 loop with --backlog FANOUT_BACKLOG (100): the publisher stays at most
#                 100 messages ahead of its slowest subscriber, so at most 100,000
#                 copies wait in the broker. Without that bound a QoS 0 publisher is
#                 held back by nothing but TCP and the broker's buffers: it measured how
#                 much a broker buffers and drops (Mosquitto took 51,000 messages in the
#                 first second, delivered 2% of the copies owed and dropped the rest,
#                 latencies of seconds). Delivered counts every subscriber's copy.
#   fanout-open   the same fan-out in open loop at FANOUT_RATE (40) msg/s: 40,000
#                 copies/s, which Mosquitto (about 65,000/s here, one thread) sustains:
#                 latency at equal load. The latency of a message is that of each copy,
#                 the 1,000th subscriber's included.
# In both fan-outs the generator's 1,000 subscribers share SUB_THREADS (2) epoll threads
# (--sub-threads), not a thread each. "lost %" is the share of owed copies that never
# came: at QoS 0 no failure (a broker may drop), at QoS 1 any loss fails the run.
# Every client asks for a keep-alive of 600 s (--keep-alive 600; the generator sends no
# PINGREQ, and no run comes near 900 s of silence): rumqttd refuses CONNECT with
# keep-alive 0 (ZeroKeepAlive), which the generator otherwise sends.
# Each scenario runs REPS times per broker, the order of the brokers rotating per rep
# (S M R, M R S, R S M). Each run gets a freshly started broker on a free port (below
# the ephemeral range), so no backlog or state carries over. The tables give medians
# over the runs that completed without a failure (a broken connection, a QoS 1 message
# lost or duplicated, the broker gone), and the ratios Switchyard / peer: throughput
# over 1 means Switchyard delivers more, p99 under 1 means Switchyard's is lower. Failed
# runs are listed under them. Every run's JSON, table and broker log stay in OUT.
#
# Broker settings, the same limits for all, raised so that none throttles a QoS 1
# pipeline of 64 per publisher:
#   Switchyard  --shards SHARDS --io-backend IO_BACKEND; [mqtt] max_inflight = 100,
#               max_queued_messages = 10000 (QoS 0: max_outbound_bytes default, 1 MiB);
#               no STOMP, AMQP or WebSocket listener
#   Mosquitto   max_inflight_messages 100, max_queued_messages 10000,
#               set_tcp_nodelay true (Switchyard sets TCP_NODELAY), persistence false
#   rumqttd     benches/compare/rumqttd.toml (see its comments): one v4 listener, QoS 1
#               window 100 per subscriber (fixed in its code), no connection delay;
#               TCP_NODELAY is not set (rumqttd 0.20.0 does not set it; it writes a
#               connection's pending packets in one write). Installed by
#               benches/compare/install-rumqttd.sh (cargo install, 2-5 min, once).
# Per run the table also gives the broker's CPU seconds (user + system, drain included),
# its peak RSS (VmHWM), and "others' CPU": what the rest of the machine used during the
# run (all cores, less broker and generator), where other work on a shared machine shows.
#
# Environment:
#   REPS (3)  DURATION (10)  WARMUP (2)  seconds per run
#   RATE (500)                            qos1-open's msg/s per publisher
#   FANOUT (1000)  SUB_THREADS (2)        the fan-outs' subscribers and generator threads
#   PAIR_BACKLOG (1000)                   qos0-backlog's bound
#   FANOUT_BACKLOG (100)  FANOUT_RATE (40)  fanout-qos0's bound, fanout-open's msg/s
#   ONLY                                  scenarios, comma-separated (default: all six)
#   BROKERS ("switchyard mosquitto rumqttd")
#   SHARDS (2)  IO_BACKEND (uring)        Switchyard's
#   SWITCHYARD_BIN, LOAD_BIN              prebuilt binaries (default: cargo build --release)
#   MOSQUITTO (/usr/sbin/mosquitto)  RUMQTTD (default: install-rumqttd.sh's)
#   OUT                                   results folder (default target/load/mqtt-DATE)
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$ROOT"
HERE="$ROOT/benches/compare"

REPS="${REPS:-3}"
DURATION="${DURATION:-10}"
WARMUP="${WARMUP:-2}"
RATE="${RATE:-500}"
FANOUT="${FANOUT:-1000}"
SUB_THREADS="${SUB_THREADS:-2}"
PAIR_BACKLOG="${PAIR_BACKLOG:-1000}"
FANOUT_BACKLOG="${FANOUT_BACKLOG:-100}"
FANOUT_RATE="${FANOUT_RATE:-40}"
ONLY="${ONLY:-}"
read -r -a BROKERS <<<"${BROKERS:-switchyard mosquitto rumqttd}"
SHARDS="${SHARDS:-2}"
IO_BACKEND="${IO_BACKEND:-uring}"
MOSQUITTO="${MOSQUITTO:-/usr/sbin/mosquitto}"
OUT="${OUT:-$ROOT/target/load/mqtt-$(date +%Y%m%d-%H%M%S)}"
mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"

COMMON="--payload 64 --keep-alive 600"
FAN="--fanout $FANOUT --sub-threads $SUB_THREADS --qos 0"
ALL_SCENARIOS=(
    "qos0-closed|$COMMON --pairs 16 --qos 0"
    "qos0-backlog|$COMMON --pairs 16 --qos 0 --backlog $PAIR_BACKLOG"
    "qos1-closed|$COMMON --pairs 16 --qos 1 --inflight 64"
    "qos1-open|$COMMON --pairs 16 --qos 1 --inflight 64 --rate $RATE"
    "fanout-qos0|$COMMON $FAN --backlog $FANOUT_BACKLOG"
    "fanout-open|$COMMON $FAN --rate $FANOUT_RATE"
)
SCENARIOS=()
for entry in "${ALL_SCENARIOS[@]}"; do
    if [[ -z "$ONLY" || ",$ONLY," == *",${entry%%|*},"* ]]; then
        SCENARIOS+=("$entry")
    fi
done
((${#SCENARIOS[@]})) || { echo "ONLY=$ONLY: no such scenario" >&2; exit 1; }

has_broker() {
    [[ " ${BROKERS[*]} " == *" $1 "* ]]
}

# --- What the run needs ------------------------------------------------------------------

if has_broker mosquitto && [[ ! -x "$MOSQUITTO" ]]; then
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
if has_broker rumqttd && [[ -z "${RUMQTTD:-}" ]]; then
    RUMQTTD="$("$HERE/install-rumqttd.sh" | tail -1)"
fi
if [[ -z "${SWITCHYARD_BIN:-}" || -z "${LOAD_BIN:-}" ]]; then
    echo "==> cargo build --release -j2 -p switchyard -p switchyard-load"
    cargo build --release -j2 -p switchyard -p switchyard-load --bin switchyard --bin switchyard-load
    target_dir="$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')"
    SWITCHYARD_BIN="${SWITCHYARD_BIN:-$target_dir/release/switchyard}"
    LOAD_BIN="${LOAD_BIN:-$target_dir/release/switchyard-load}"
fi

for bin in "$SWITCHYARD_BIN" "$LOAD_BIN" ${RUMQTTD:+"$RUMQTTD"}; do
    [[ -x "$bin" ]] || { echo "missing binary: $bin" >&2; exit 1; }
done

# --- Brokers -----------------------------------------------------------------------------

# A port no one listens on: bound without SO_REUSEPORT, so a port that a SO_REUSEPORT
# listener holds is refused too. Taken below the ephemeral range where there is room, so
# that no outgoing connection (a thousand of ours in the fan-out) takes it between this
# check and the broker's bind.
free_port() {
    python3 -c '
import random, socket
low = int(open("/proc/sys/net/ipv4/ip_local_port_range").read().split()[0])
candidates = [random.randint(10000, low - 1) for _ in range(200)] if low > 10001 else []
for port in candidates + [0]:
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", port))
        print(s.getsockname()[1])
        break
    except OSError:
        pass
    finally:
        s.close()
'
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

# CPU seconds the whole machine has been busy (all cores: user, nice, system, irq,
# softirq, steal).
machine_busy_seconds() {
    awk -v hz="$(getconf CLK_TCK)" '/^cpu / { printf "%.2f", ($2 + $3 + $4 + $7 + $8 + $9) / hz }' /proc/stat
}

# Peak resident set of a process so far, in KiB.
peak_rss_kib() {
    awk '/^VmHWM:/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0
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

[stomp]
listen = []

[amqp]
listen = []

[websocket]
listen = []
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
    rumqttd)
        sed -E "s/^listen = \"127\.0\.0\.1:[0-9]+\"/listen = \"127.0.0.1:$port\"/" \
            "$HERE/rumqttd.toml" >"$dir/rumqttd.toml"
        grep -q "^listen = \"127.0.0.1:$port\"" "$dir/rumqttd.toml" ||
            { echo "rumqttd.toml: no listen line to set the port in" >&2; exit 1; }
        "$RUMQTTD" -q -c "$dir/rumqttd.toml" >"$log" 2>&1 &
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
    echo "command: benches/compare/compare-mqtt.sh (REPS=$REPS DURATION=$DURATION WARMUP=$WARMUP RATE=$RATE FANOUT=$FANOUT SUB_THREADS=$SUB_THREADS PAIR_BACKLOG=$PAIR_BACKLOG FANOUT_BACKLOG=$FANOUT_BACKLOG FANOUT_RATE=$FANOUT_RATE SHARDS=$SHARDS IO_BACKEND=$IO_BACKEND ONLY=${ONLY:-all} BROKERS=\"${BROKERS[*]}\")"
    echo "switchyard: $(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo unknown) $SWITCHYARD_BIN"
    has_broker mosquitto && echo "mosquitto: $("$MOSQUITTO" -h 2>&1 | head -1)"
    has_broker rumqttd && echo "rumqttd: $("$RUMQTTD" --version 2>&1) $RUMQTTD"
    echo "machine: $(nproc) cores, $(uname -sr), load average at start $(cut -d' ' -f1-3 /proc/loadavg)"
} | tee "$OUT/environment.txt"

nb=${#BROKERS[@]}
for rep in $(seq "$REPS"); do
    # Rotate the order: rep 1 starts with the first broker, rep 2 with the second, ...
    order=()
    for k in $(seq 0 $((nb - 1))); do
        order+=("${BROKERS[$(((rep - 1 + k) % nb))]}")
    done
    for entry in "${SCENARIOS[@]}"; do
        scenario="${entry%%|*}"
        read -r -a args <<<"${entry#*|}"
        for broker in "${order[@]}"; do
            name="$scenario-$broker-$rep"
            port="$(free_port)"
            start_broker "$broker" "$port" "$OUT/$name.log"
            pid="$BROKER_PID"
            load_before="$(cut -d' ' -f1 /proc/loadavg)"
            cpu_before="$(cpu_seconds "$pid")"
            busy_before="$(machine_busy_seconds)"
            set +e
            "$LOAD_BIN" --port "$port" "${args[@]}" --duration "$DURATION" --warmup "$WARMUP" \
                --label "$broker" --json "$OUT/$name.json" --quiet >"$OUT/$name.txt" 2>&1
            rc=$?
            set -e
            cpu_after="$(cpu_seconds "$pid")"
            busy_after="$(machine_busy_seconds)"
            rss="$(peak_rss_kib "$pid")"
            alive=yes
            kill -0 "$pid" 2>/dev/null || alive=no
            stop_broker "$pid"
            BROKER_PID=""
            printf '{"run":"%s","scenario":"%s","broker":"%s","rep":%d,"exit":%d,"broker_alive":"%s","broker_cpu_s":%.2f,"broker_peak_rss_kib":%d,"machine_busy_s":%.2f,"load_average_before":%s}\n' \
                "$name" "$scenario" "$broker" "$rep" "$rc" "$alive" \
                "$(awk -v a="$cpu_after" -v b="$cpu_before" 'BEGIN { print a - b }')" "${rss:-0}" \
                "$(awk -v a="$busy_after" -v b="$busy_before" 'BEGIN { print a - b }')" \
                "$load_before" >>"$OUT/runs.jsonl"
            printf '%-28s exit %d, broker alive after: %s\n' "$name" "$rc" "$alive"
            sed 's/^/    /' "$OUT/$name.txt"
        done
    done
done

# --- Medians and ratios --------------------------------------------------------------------

python3 - "$OUT" "${BROKERS[@]}" <<'EOF' | tee "$OUT/summary.md"
import json, os, statistics, sys

out, brokers = sys.argv[1], sys.argv[2:]
runs = [json.loads(line) for line in open(os.path.join(out, "runs.jsonl"))]
for r in runs:
    path = os.path.join(out, r["run"] + ".json")
    r["result"] = json.load(open(path)) if os.path.exists(path) else None

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

def others_cpu(r):
    return r["machine_busy_s"] - r["broker_cpu_s"] - (r["result"]["generator_cpu_s"] or 0)

def lost_pct(r):
    res = r["result"]
    return 100.0 * res["lost"] / res["expected"] if res["expected"] else 0.0

scenarios = list(dict.fromkeys(r["scenario"] for r in runs))
print(open(os.path.join(out, "environment.txt")).read())
print("| scenario | broker | delivered msg/s | lost % | p50 µs | p99 µs | p99.9 µs "
      "| broker CPU s | broker peak RSS MiB | generator CPU s | others' CPU s | runs ok |")
print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
notes = []
medians = {}
med = statistics.median
for s in scenarios:
    for b in brokers:
        rs = [r for r in runs if r["scenario"] == s and r["broker"] == b]
        if not rs:
            continue
        ok = [r for r in rs if not problems(r)]
        for r in rs:
            for p in problems(r):
                notes.append(f"{s} / {b} / rep {r['rep']}: {p}")
        if not ok:
            medians[(s, b)] = None
            print(f"| {s} | {b} | FAILED | | | | | | | | | 0/{len(rs)} |")
            continue
        m = {
            "delivered": med([r["result"]["delivered_per_s"] for r in ok]),
            "lost": med([lost_pct(r) for r in ok]),
            "p50": med([r["result"]["latency_us"]["p50"] for r in ok]),
            "p99": med([r["result"]["latency_us"]["p99"] for r in ok]),
            "p999": med([r["result"]["latency_us"]["p99_9"] for r in ok]),
            "cpu": med([r["broker_cpu_s"] for r in ok]),
            "rss": med([r["broker_peak_rss_kib"] / 1024 for r in ok]),
            "gen": med([r["result"]["generator_cpu_s"] or 0 for r in ok]),
            "others": med([others_cpu(r) for r in ok]),
        }
        medians[(s, b)] = m
        print(f"| {s} | {b} | {m['delivered']:,.0f} | {m['lost']:.1f} | {m['p50']:,.0f} | "
              f"{m['p99']:,.0f} | {m['p999']:,.0f} | {m['cpu']:.1f} | {m['rss']:,.0f} | "
              f"{m['gen']:.1f} | {m['others']:.1f} | {len(ok)}/{len(rs)} |")
peers = [b for b in brokers if b != "switchyard"]
if "switchyard" in brokers and peers:
    print()
    print("Ratios Switchyard / peer (throughput: over 1 = Switchyard delivers more; "
          "p99: under 1 = Switchyard's is lower):")
    print()
    print("| scenario | " + " | ".join(f"throughput vs {p} | p99 vs {p}" for p in peers) + " |")
    print("|---|" + "---:|---:|" * len(peers))
    for s in scenarios:
        a = medians.get((s, "switchyard"))
        cells = []
        for p in peers:
            b = medians.get((s, p))
            if a is None or b is None:
                cells += ["n/a", "n/a"]
            else:
                cells += [f"{a['delivered'] / b['delivered']:.2f}", f"{a['p99'] / b['p99']:.2f}"]
        print(f"| {s} | " + " | ".join(cells) + " |")
if notes:
    print()
    print("Failed runs (left out of the medians):")
    for n in notes:
        print(f"- {n}")
print()
print(f"Every run's table, JSON and broker log: {out}")
EOF
