#!/usr/bin/env bash
# Switchyard's AMQP 0-9-1 gateway beside Debian's RabbitMQ, on loopback, in one run, with
# switchyard-load --protocol amqp (PLAIN guest/guest, vhost "/", one channel per client).
#
#   benches/load/compare-rabbitmq-amqp.sh
#   REPS=3 DURATION=8 benches/load/compare-rabbitmq-amqp.sh
#
# Scenarios (64 B payloads, 16 publisher/subscriber pairs, a queue per pair declared by
# its subscriber: non-durable, auto-delete, deleted at the end; transient messages
# published through the default exchange with the queue's name as routing key;
# consumers with manual acks, basic.qos prefetch 1000, one basic.ack multiple per 100):
#   amqp-transient       closed loop, no confirms: publishers send as fast as the broker
#                        takes messages, at most BACKLOG (1000) per pair published and not
#                        yet delivered, so the queues stay bounded and the latency is that
#                        of a bounded queue
#   amqp-confirms        the same with publisher confirms (confirm.select), at most
#                        INFLIGHT (64) unconfirmed publishes per publisher; a confirmed
#                        message lost or duplicated fails the run
#   amqp-open            open loop at RATE msg/s per publisher (default 500: 8,000 msg/s
#                        in all), no confirms: latency at equal load
#   amqp-durable         amqp-confirms with durable queues (durable, not auto-delete,
#                        deleted at the end) and persistent messages (delivery-mode 2):
#                        switchyard-load --durable. Switchyard runs with its durable log
#                        ([store] enabled = true, fsync = STORE_FSYNC, default batch,
#                        data_dir in the run's temp folder); a confirm then waits for the
#                        fsync covering the message. RabbitMQ's classic durable queues
#                        fsync before confirming persistent messages too. Both write to
#                        the same file system (the temp folder's). "data MB" is the size
#                        of the broker's state folder when the run ends (queues deleted).
# Each scenario runs REPS times per broker, the brokers alternating (rep 1: Switchyard
# first, rep 2: RabbitMQ first, ...). Each run gets a freshly started broker on free
# loopback ports with its state in a fresh folder, so no queue, backlog or state carries
# over. The table gives medians over the runs that completed without a failure (a broken
# connection, a connection.close or channel.close, a basic.nack, a confirmed message lost
# or duplicated), and the ratios Switchyard / RabbitMQ; failed runs are listed under it.
# Every run's JSON, table and broker log stay in OUT.
#
# Brokers:
#   Switchyard  --shards 2 --io-backend uring, AMQP on a free port, MQTT on another, no
#               STOMP or WebSocket listener; [amqp] defaults otherwise (frame-max 128 KiB;
#               the clients turn heartbeats off in tune-ok)
#   RabbitMQ    /usr/lib/rabbitmq/bin/rabbitmq-server as the calling user (no service),
#               node bench-<pid>-<n>@localhost, state, logs, cookie (HOME) and config in
#               a temp folder, no plugins, AMQP, distribution and epmd (its own, started
#               here) on free 127.0.0.1 ports; its defaults otherwise (TCP_NODELAY on,
#               classic queues, frame-max 128 KiB)
#   Both use the machine's 2 cores (Erlang: 2 schedulers, busy-wait off as Debian's
#   rabbitmq-server sets it) and share them with the generator.
# It is up in 5-25 s: the script waits for its AMQP port (at most RABBITMQ_START_TIMEOUT
# seconds), then SETTLE seconds for either broker, so that the end of RabbitMQ's boot is
# not counted. Broker CPU is the broker process's user + system time during the load run
# (RabbitMQ: the Erlang VM, beam.smp), drain included; "CPU µs/msg" divides it by the
# messages delivered in the run. "Others' CPU" is what the rest of the machine used
# during the run (all cores, less broker and generator): other work on a shared machine
# shows there.
#
# Environment:
#   REPS (3)  DURATION (10)  WARMUP (2)  seconds per run
#   RATE (500)                            amqp-open's msg/s per publisher
#   BACKLOG (1000)  INFLIGHT (64)         closed-loop bounds (see above)
#   SHARDS (2)  IO_BACKEND (uring)        Switchyard's
#   STORE_FSYNC (batch)                   Switchyard's [store] fsync in amqp-durable
#   RABBITMQ_START_TIMEOUT (90)           seconds to wait for RabbitMQ's AMQP port
#   SETTLE (2)                            seconds between a broker's start and the load
#   ONLY                                  scenarios to run, comma-separated (default: all)
#   SWITCHYARD_BIN, LOAD_BIN              prebuilt binaries (default: cargo build --release)
#   OUT                                   results folder (default target/load/amqp-DATE)
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$ROOT"

REPS="${REPS:-3}"
DURATION="${DURATION:-10}"
WARMUP="${WARMUP:-2}"
RATE="${RATE:-500}"
BACKLOG="${BACKLOG:-1000}"
INFLIGHT="${INFLIGHT:-64}"
SHARDS="${SHARDS:-2}"
IO_BACKEND="${IO_BACKEND:-uring}"
STORE_FSYNC="${STORE_FSYNC:-batch}"
RABBITMQ_START_TIMEOUT="${RABBITMQ_START_TIMEOUT:-90}"
SETTLE="${SETTLE:-2}"
RABBITMQ_SERVER="${RABBITMQ_SERVER:-/usr/lib/rabbitmq/bin/rabbitmq-server}"
OUT="${OUT:-$ROOT/target/load/amqp-$(date +%Y%m%d-%H%M%S)}"
mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"

COMMON="--protocol amqp --pairs 16 --payload 64 --prefetch 1000 --ack-every 100"
SCENARIOS=(
    "amqp-transient|$COMMON --backlog $BACKLOG"
    "amqp-confirms|$COMMON --backlog $BACKLOG --confirms --inflight $INFLIGHT"
    "amqp-open|$COMMON --rate $RATE"
    "amqp-durable|$COMMON --backlog $BACKLOG --confirms --inflight $INFLIGHT --durable"
)

# --- What the run needs ------------------------------------------------------------------

if [[ ! -x "$RABBITMQ_SERVER" ]]; then
    if [[ "$(id -u)" == 0 ]]; then
        echo "==> installing rabbitmq-server (Debian)"
        apt-get install -y rabbitmq-server >/dev/null ||
            { apt-get update >/dev/null && apt-get install -y rabbitmq-server >/dev/null; }
        # Only the programs are wanted: the packaged service would hold 5672 and epmd.
        systemctl disable --now rabbitmq-server >/dev/null 2>&1 || true
    else
        echo "rabbitmq-server is missing: apt-get install rabbitmq-server" >&2
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
# listener holds is refused too. Taken below the ephemeral range where there is room, so
# that no outgoing connection (ours or another user's) takes it between this check and
# the broker's bind: RabbitMQ once refused to boot on such a distribution port.
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

# wait_port PORT PID TRIES: waits (0.1 s per try) until PORT accepts connections; fails
# early if PID dies.
wait_port() {
    local port="$1" pid="$2" tries="$3"
    for _ in $(seq "$tries"); do
        if ! kill -0 "$pid" 2>/dev/null; then
            return 1
        fi
        if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            return 0
        fi
        sleep 0.1
    done
    return 1
}

# CPU seconds (user + system) a process has used so far.
cpu_seconds() {
    awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f", ($14 + $15) / hz }' "/proc/$1/stat" 2>/dev/null || echo 0
}

# CPU seconds the whole machine has been busy (all cores: user, nice, system, irq,
# softirq, steal), to see how much of it went to processes other than the broker and
# the generator during a run.
machine_busy_seconds() {
    awk -v hz="$(getconf CLK_TCK)" '/^cpu / { printf "%.2f", ($2 + $3 + $4 + $7 + $8 + $9) / hz }' /proc/stat
}

# stop_pid PID SECONDS: SIGTERM, then SIGKILL after SECONDS.
stop_pid() {
    local pid="$1" seconds="$2"
    kill -TERM "$pid" 2>/dev/null || return 0
    for _ in $(seq $((seconds * 10))); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}

# Everything of RabbitMQ's lives under one temp folder, removed at the end; epmd is our
# own, on its own port, so nothing of another user's RabbitMQ is touched.
RMQ_BASE="$(mktemp -d /tmp/switchyard-amqp-bench.XXXXXX)"
# Switchyard's durable log in amqp-durable: beside RabbitMQ's state, on the same disk.
SWITCHYARD_DATA="$RMQ_BASE/switchyard-data"
EPMD_PORT="$(free_port)"
EPMD_PID=""
NODE_SERIAL=0

BROKER_PID=""  # the process the script started (RabbitMQ: its rabbitmq-server script)
BROKER_VM=""   # the process whose CPU is counted (RabbitMQ: beam.smp)
BROKER_NAME=""
BROKER_DATA=""

# start_broker NAME AMQP_PORT LOG [durable]: starts a fresh broker, sets BROKER_PID,
# BROKER_VM and BROKER_DATA (its state folder); with "durable", Switchyard's durable
# log is on, its data_dir in the temp folder.
start_broker() {
    local name="$1" port="$2" log="$3" durable="${4:-}" dir="$OUT/run-state"
    rm -rf "$dir" "$SWITCHYARD_DATA"
    mkdir -p "$dir"
    BROKER_NAME="$name"
    case "$name" in
    switchyard)
        local data="$dir/data" store=""
        if [[ "$durable" == durable ]]; then
            data="$SWITCHYARD_DATA"
            store="$(printf '\n[store]\nenabled = true\nfsync = "%s"\n' "$STORE_FSYNC")"
        fi
        BROKER_DATA="$data"
        cat >"$dir/switchyard.toml" <<EOF
[server]
data_dir = "$data"

[mqtt]
listen = ["127.0.0.1:$(free_port)"]

[stomp]
listen = []

[amqp]
listen = ["127.0.0.1:$port"]

[websocket]
listen = []
$store
EOF
        "$SWITCHYARD_BIN" --config "$dir/switchyard.toml" --shards "$SHARDS" \
            --io-backend "$IO_BACKEND" -vv >"$log" 2>&1 &
        BROKER_PID=$!
        BROKER_VM=$BROKER_PID
        if ! wait_port "$port" "$BROKER_PID" 100; then
            echo "switchyard did not start on port $port; its log:" >&2
            cat "$log" >&2
            exit 1
        fi
        ;;
    rabbitmq)
        if [[ -z "$EPMD_PID" ]] || ! kill -0 "$EPMD_PID" 2>/dev/null; then
            epmd -address 127.0.0.1 -port "$EPMD_PORT" >>"$OUT/epmd.log" 2>&1 &
            EPMD_PID=$!
            wait_port "$EPMD_PORT" "$EPMD_PID" 50 || { echo "epmd did not start" >&2; exit 1; }
        fi
        local attempt started
        for attempt in 1 2 3; do
            start_rabbitmq "$port" "$log"
            started=$SECONDS
            if wait_port "$port" "$BROKER_PID" $((RABBITMQ_START_TIMEOUT * 10)); then
                break
            fi
            echo "rabbitmq did not start on port $port (attempt $attempt); its log:" >&2
            tail -20 "$log" >&2
            stop_pid "$BROKER_PID" 5
            cp "$log" "$log.attempt-$attempt"
            if ((attempt == 3)); then
                exit 1
            fi
        done
        BROKER_DATA="$RMQ_BASE/node-$NODE_SERIAL"
        BROKER_VM="$(cat "$RMQ_BASE/node-$NODE_SERIAL/pid" 2>/dev/null || true)"
        if [[ -z "$BROKER_VM" ]] || ! kill -0 "$BROKER_VM" 2>/dev/null; then
            # The pid file is written at boot; fall back to the script's child, the VM.
            BROKER_VM="$(pgrep -P "$BROKER_PID" | head -1 || true)"
        fi
        echo "    (rabbitmq up in $((SECONDS - started)) s, VM pid $BROKER_VM)"
        ;;
    esac
}

# start_rabbitmq AMQP_PORT LOG: starts a RabbitMQ node with a fresh state folder, no
# plugins, AMQP on AMQP_PORT and a fresh distribution port; sets BROKER_PID.
start_rabbitmq() {
    local port="$1" log="$2"
    NODE_SERIAL=$((NODE_SERIAL + 1))
    local rmq="$RMQ_BASE/node-$NODE_SERIAL"
    rm -rf "$rmq"
    mkdir -p "$rmq/home" "$rmq/log" "$rmq/mnesia"
    echo "[]." >"$rmq/enabled_plugins"
    : >"$rmq/rabbitmq-env.conf"
    cat >"$rmq/rabbitmq.conf" <<EOF
listeners.tcp.default = 127.0.0.1:$port
tcp_listen_options.nodelay = true
log.file = false
log.console = true
log.console.level = info
EOF
    cp "$rmq/rabbitmq.conf" "$OUT/run-state/rabbitmq.conf"
    (
        cd "$rmq"
        export HOME="$rmq/home"
        export RABBITMQ_NODENAME="bench-$$-$NODE_SERIAL@localhost"
        export RABBITMQ_MNESIA_BASE="$rmq/mnesia"
        export RABBITMQ_LOG_BASE="$rmq/log"
        export RABBITMQ_PID_FILE="$rmq/pid"
        export RABBITMQ_ENABLED_PLUGINS_FILE="$rmq/enabled_plugins"
        export RABBITMQ_CONFIG_FILE="$rmq/rabbitmq.conf"
        export RABBITMQ_ADVANCED_CONFIG_FILE="$rmq/advanced.config"
        export RABBITMQ_CONF_ENV_FILE="$rmq/rabbitmq-env.conf"
        RABBITMQ_DIST_PORT="$(free_port)"
        export RABBITMQ_DIST_PORT
        export ERL_CRASH_DUMP="$rmq/erl_crash.dump"
        export ERL_EPMD_ADDRESS=127.0.0.1
        export ERL_EPMD_PORT="$EPMD_PORT"
        exec "$RABBITMQ_SERVER"
    ) >"$log" 2>&1 </dev/null &
    BROKER_PID=$!
}

# stop_broker: stops the broker started last. RabbitMQ's script stops the VM on SIGTERM
# (a graceful shutdown of a few seconds); the VM is killed if still there.
stop_broker() {
    [[ -n "$BROKER_PID" ]] || return 0
    case "$BROKER_NAME" in
    switchyard)
        stop_pid "$BROKER_PID" 5
        rm -rf "$SWITCHYARD_DATA"
        ;;
    rabbitmq)
        stop_pid "$BROKER_PID" 15
        if [[ -n "$BROKER_VM" ]] && kill -0 "$BROKER_VM" 2>/dev/null; then
            kill -KILL "$BROKER_VM" 2>/dev/null || true
        fi
        rm -rf "$RMQ_BASE/node-$NODE_SERIAL"
        ;;
    esac
    BROKER_PID=""
    BROKER_VM=""
}

cleanup() {
    stop_broker
    if [[ -n "$EPMD_PID" ]]; then
        stop_pid "$EPMD_PID" 2
    fi
    rm -rf "$RMQ_BASE" "$OUT/run-state"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- The run -----------------------------------------------------------------------------

{
    echo "command: benches/load/compare-rabbitmq-amqp.sh (REPS=$REPS DURATION=$DURATION WARMUP=$WARMUP RATE=$RATE BACKLOG=$BACKLOG INFLIGHT=$INFLIGHT SHARDS=$SHARDS IO_BACKEND=$IO_BACKEND STORE_FSYNC=$STORE_FSYNC SETTLE=$SETTLE${ONLY:+ ONLY=$ONLY})"
    echo "switchyard: $(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo unknown) $SWITCHYARD_BIN"
    echo "rabbitmq: rabbitmq-server $(dpkg-query -W -f '${Version}' rabbitmq-server 2>/dev/null || echo '?'), erlang $(dpkg-query -W -f '${Version}' erlang-base 2>/dev/null || echo '?')"
    echo "machine: $(nproc) cores, $(uname -sr), load average at start $(cut -d' ' -f1-3 /proc/loadavg)"
} | tee "$OUT/environment.txt"

for rep in $(seq "$REPS"); do
    if ((rep % 2)); then brokers=(switchyard rabbitmq); else brokers=(rabbitmq switchyard); fi
    for entry in "${SCENARIOS[@]}"; do
        scenario="${entry%%|*}"
        if [[ -n "${ONLY:-}" && ",$ONLY," != *",$scenario,"* ]]; then
            continue
        fi
        read -r -a args <<<"${entry#*|}"
        durable=""
        if [[ " ${args[*]} " == *" --durable "* ]]; then durable=durable; fi
        for broker in "${brokers[@]}"; do
            name="$scenario-$broker-$rep"
            port="$(free_port)"
            start_broker "$broker" "$port" "$OUT/$name.log" "$durable"
            vm="$BROKER_VM"
            sleep "$SETTLE"
            load_before="$(cut -d' ' -f1 /proc/loadavg)"
            cpu_before="$(cpu_seconds "$vm")"
            busy_before="$(machine_busy_seconds)"
            set +e
            "$LOAD_BIN" --port "$port" "${args[@]}" --duration "$DURATION" --warmup "$WARMUP" \
                --label "$broker" --json "$OUT/$name.json" --quiet >"$OUT/$name.txt" 2>&1
            rc=$?
            set -e
            cpu_after="$(cpu_seconds "$vm")"
            busy_after="$(machine_busy_seconds)"
            load_after="$(cut -d' ' -f1 /proc/loadavg)"
            alive=yes
            kill -0 "$vm" 2>/dev/null || alive=no
            data_mb="$(du -sm "$BROKER_DATA" 2>/dev/null | cut -f1 || true)"
            stop_broker
            printf '{"run":"%s","scenario":"%s","broker":"%s","rep":%d,"exit":%d,"broker_alive":"%s","data_mb":%d,"broker_cpu_s":%.2f,"machine_busy_s":%.2f,"load_average_before":%s,"load_average_after":%s}\n' \
                "$name" "$scenario" "$broker" "$rep" "$rc" "$alive" "${data_mb:-0}" \
                "$(awk -v a="$cpu_after" -v b="$cpu_before" 'BEGIN { print a - b }')" \
                "$(awk -v a="$busy_after" -v b="$busy_before" 'BEGIN { print a - b }')" \
                "$load_before" "$load_after" >>"$OUT/runs.jsonl"
            printf '%-32s exit %d, broker alive after: %s\n' "$name" "$rc" "$alive"
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

def problems(r):
    res = r["result"]
    bad = []
    if res is None:
        bad.append(f"no result (exit {r['exit']})")
    else:
        bad += res["failures"][:3]
        # qos 1 = publisher confirms: every confirmed publish is owed to its subscriber.
        if res["qos"] >= 1 and (res["lost"] or res["duplicated"]):
            bad.append(f"confirms: published {res['published']}, confirmed {res['acked']}, "
                       f"received {res['received']}: lost {res['lost']} (confirmed ones "
                       f"{res['acked_lost']}), duplicated {res['duplicated']}")
    if r["broker_alive"] != "yes":
        bad.append("the broker died")
    return bad

def remarks(r):
    """Not failures, but worth a line: undelivered or repeated messages without confirms."""
    res = r["result"]
    if res is None or res["qos"] >= 1:
        return []
    out = []
    if res["lost"] or res["duplicated"] or res["reordered"]:
        out.append(f"published {res['published']}, received {res['received']} after a "
                   f"{res['drain_s']:.1f} s drain: missing {res['lost']}, extra "
                   f"{res['duplicated']}, reordered {res['reordered']}")
    return out

def others(r):
    """CPU seconds the rest of the machine used during the run."""
    gen = (r["result"] or {}).get("generator_cpu_s") or 0
    return max(r["machine_busy_s"] - r["broker_cpu_s"] - gen, 0)

scenarios = list(dict.fromkeys(r["scenario"] for r in runs))
brokers = ("switchyard", "rabbitmq")
print(open(os.path.join(out, "environment.txt")).read())
loads = [r["load_average_before"] for r in runs] + [r["load_average_after"] for r in runs]
print(f"1-min load average around the runs: {min(loads):.2f} to {max(loads):.2f}; CPU seconds "
      f"used by other processes during the runs: median {statistics.median(others(r) for r in runs):.1f}, "
      f"max {max(others(r) for r in runs):.1f} (of 2 x the run's wall time)")
print()
print("| scenario | broker | delivered msg/s | p50 µs | p99 µs | p99.9 µs | broker CPU s | CPU µs/msg | generator CPU s | others' CPU s | data MB | runs ok |")
print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
notes, other = [], []
medians = {}
for s in scenarios:
    for b in brokers:
        rs = [r for r in runs if r["scenario"] == s and r["broker"] == b]
        ok = [r for r in rs if not problems(r)]
        for r in rs:
            for p in problems(r):
                notes.append(f"{s} / {b} / rep {r['rep']}: {p}")
            for p in remarks(r):
                other.append(f"{s} / {b} / rep {r['rep']}: {p}")
        if not ok:
            medians[(s, b)] = None
            print(f"| {s} | {b} | FAILED | | | | | | | | | 0/{len(rs)} |")
            continue
        med = statistics.median
        m = {
            "delivered": med([r["result"]["delivered_per_s"] for r in ok]),
            "p50": med([r["result"]["latency_us"]["p50"] for r in ok]),
            "p99": med([r["result"]["latency_us"]["p99"] for r in ok]),
            "p999": med([r["result"]["latency_us"]["p99_9"] for r in ok]),
            "cpu": med([r["broker_cpu_s"] for r in ok]),
            # Broker CPU over the whole load run per message delivered in it.
            "cpu_per_msg": med([r["broker_cpu_s"] * 1e6 / max(r["result"]["received"], 1) for r in ok]),
            "generator": med([r["result"]["generator_cpu_s"] or 0 for r in ok]),
            "others": med([others(r) for r in ok]),
            "data": med([r.get("data_mb", 0) for r in ok]),
        }
        medians[(s, b)] = m
        print(f"| {s} | {b} | {m['delivered']:,.0f} | {m['p50']:,.0f} | {m['p99']:,.0f} | "
              f"{m['p999']:,.0f} | {m['cpu']:.1f} | {m['cpu_per_msg']:.1f} | {m['generator']:.1f} | "
              f"{m['others']:.1f} | {m['data']:,.0f} | {len(ok)}/{len(rs)} |")
print()
print("| scenario | throughput Switchyard/RabbitMQ | p50 S/R | p99 S/R | p99.9 S/R | CPU per msg S/R |")
print("|---|---:|---:|---:|---:|---:|")
for s in scenarios:
    a, b = medians[(s, "switchyard")], medians[(s, "rabbitmq")]
    if a is None or b is None:
        print(f"| {s} | n/a | n/a | n/a | n/a | n/a |")
        continue
    ratio = lambda k: f"{a[k] / b[k]:.2f}" if b[k] else "n/a"
    print(f"| {s} | {ratio('delivered')} | {ratio('p50')} | {ratio('p99')} | {ratio('p999')} | "
          f"{ratio('cpu_per_msg')} |")
if notes:
    print()
    print("Failed runs (left out of the medians):")
    for n in notes:
        print(f"- {n}")
if other:
    print()
    print("Runs without confirms whose counts differ (kept in the medians):")
    for n in other:
        print(f"- {n}")
print()
print(f"Every run's table, JSON and broker log: {out}")
EOF
