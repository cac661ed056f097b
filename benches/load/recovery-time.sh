#!/usr/bin/env bash
# Recovery time of Switchyard's durable log with about 1 GiB in it (issue 6).
#
#   benches/load/recovery-time.sh
#   MESSAGES=1048576 PAYLOAD=1024 RESTARTS=3 benches/load/recovery-time.sh
#
# Starts Switchyard (--shards SHARDS --io-backend IO_BACKEND, AMQP on a free loopback
# port, [store] enabled = true, fsync = STORE_FSYNC, data_dir in a temp folder), fills
# QUEUES durable queues with MESSAGES persistent messages (delivery-mode 2) of PAYLOAD
# bytes with publisher confirms and no consumer (default 128 x 8,192 x 1 KiB: 1 GiB of
# payload; under 10,000 per queue, Switchyard's per-queue high-water mark over which it
# stops reading a publisher until consumers bring the queue down), counts them (passive queue.declare), SIGKILLs it, and RESTARTS times starts
# it again and measures from the spawn: the AMQP port accepting a TCP connection, each
# shard's "durable log recovered" line, a whole AMQP handshake, and the passive declares
# of every queue answered; then the RSS (VmRSS and peak VmHWM) and whether every queue
# holds exactly the confirmed messages (a difference is exit status 2); then SIGKILL
# again. The first restarts read the log from the page cache (warm); COLD=1 adds as many
# restarts with the log files fsynced and dropped from the page cache first (those files
# only, posix_fadvise), so the replay reads the disk (a virtual disk here: the host may
# still cache it). The work is in recovery_time.py (its own small AMQP client, so the fill
# is not bound by a Python client library).
#
# Environment:
#   QUEUES (128)  MESSAGES (1048576)  PAYLOAD (1024)  CONNECTIONS (4)  WINDOW (512)
#   RESTARTS (3)  COLD (1)  SHARDS (2)  IO_BACKEND (uring)  STORE_FSYNC (batch)
#   SWITCHYARD_BIN   prebuilt binary (default: cargo build --release)
#   OUT              results folder (default target/load/recovery-DATE): report, JSON,
#                    Switchyard's log; the data folder is removed at the end
#   TMP_BASE (/tmp)  where the data folder goes; the script wants MESSAGES x PAYLOAD
#                    x 1.3 + 1 GiB free there
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$ROOT"

QUEUES="${QUEUES:-128}"
MESSAGES="${MESSAGES:-1048576}"
PAYLOAD="${PAYLOAD:-1024}"
CONNECTIONS="${CONNECTIONS:-4}"
WINDOW="${WINDOW:-512}"
RESTARTS="${RESTARTS:-3}"
COLD="${COLD:-1}"
SHARDS="${SHARDS:-2}"
IO_BACKEND="${IO_BACKEND:-uring}"
STORE_FSYNC="${STORE_FSYNC:-batch}"
TMP_BASE="${TMP_BASE:-/tmp}"
OUT="${OUT:-$ROOT/target/load/recovery-$(date +%Y%m%d-%H%M%S)}"
mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"

if [[ -z "${SWITCHYARD_BIN:-}" ]]; then
    echo "==> cargo build --release -j2 -p switchyard"
    cargo build --release -j2 -p switchyard --bin switchyard
    target_dir="$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')"
    SWITCHYARD_BIN="$target_dir/release/switchyard"
fi
[[ -x "$SWITCHYARD_BIN" ]] || { echo "missing binary: $SWITCHYARD_BIN" >&2; exit 1; }

need_mib=$((MESSAGES * PAYLOAD / 1048576 * 13 / 10 + 1024))
free_mib="$(df -Pm "$TMP_BASE" | awk 'NR == 2 { print $4 }')"
if ((free_mib < need_mib)); then
    echo "only $free_mib MiB free in $TMP_BASE, $need_mib wanted" >&2
    exit 1
fi

free_port() {
    python3 -c '
import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()
'
}

DIR="$(mktemp -d "$TMP_BASE/switchyard-recovery.XXXXXX")"
cleanup() {
    rm -rf "$DIR"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

PORT="$(free_port)"
cat >"$DIR/switchyard.toml" <<EOF
[server]
data_dir = "$DIR/data"

[mqtt]
listen = ["127.0.0.1:$(free_port)"]

[stomp]
listen = []

[amqp]
listen = ["127.0.0.1:$PORT"]

[websocket]
listen = []

[store]
enabled = true
fsync = "$STORE_FSYNC"
EOF
cp "$DIR/switchyard.toml" "$OUT/switchyard.toml"

{
    echo "command: benches/load/recovery-time.sh (QUEUES=$QUEUES MESSAGES=$MESSAGES PAYLOAD=$PAYLOAD CONNECTIONS=$CONNECTIONS WINDOW=$WINDOW RESTARTS=$RESTARTS COLD=$COLD SHARDS=$SHARDS IO_BACKEND=$IO_BACKEND STORE_FSYNC=$STORE_FSYNC)"
    echo "switchyard: $(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo unknown) $SWITCHYARD_BIN"
    echo "machine: $(nproc) cores, $(uname -sr), load average at start $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "data: $DIR/data ($(df -Ph "$TMP_BASE" | awk 'NR == 2 { print $1 ", " $4 " free" }'))"
} | tee "$OUT/report.txt"

common=(--switchyard "$SWITCHYARD_BIN" --config "$DIR/switchyard.toml" --shards "$SHARDS"
    --io-backend "$IO_BACKEND" --port "$PORT" --data-dir "$DIR/data" --log "$OUT/switchyard.log"
    --queues "$QUEUES" --messages "$MESSAGES" --payload "$PAYLOAD"
    --connections "$CONNECTIONS" --window "$WINDOW" --restarts "$RESTARTS")
set +e
python3 "$ROOT/benches/load/recovery_time.py" "${common[@]}" --json "$OUT/recovery.json" \
    --cold-after "$([[ "$COLD" == 1 ]] && echo "$RESTARTS" || echo 0)" | tee -a "$OUT/report.txt"
rc=${PIPESTATUS[0]}
set -e
echo "load average at the end $(cut -d' ' -f1-3 /proc/loadavg); report, JSON and log: $OUT" |
    tee -a "$OUT/report.txt"
exit "$rc"
