"""The side-by-side run behind `benches/compare/run` (issue 7): every scenario against every
broker that speaks its protocol, a fresh broker process per run (RabbitMQ: one fresh node
per rep, for all its scenarios of that rep: it takes 5-25 s to boot), the order of the
brokers rotating per rep, switchyard-load as the client. Writes every run's JSON, text
and SVG into OUT, `runs.jsonl` with the broker's CPU and peak RSS, then BENCHMARKS.md and
its plots (report.py).

Environment (defaults in brackets):
  REPS [3]  DURATION [5]  WARMUP [1]    seconds per run
  RATE [500]            the open-loop scenarios' msg/s per publisher
  ONLY                  scenarios, comma-separated [all but the OPTIONAL ones]
  FANOUT_RATE [40]  STORE_FSYNC [batch]   mqtt-fanout-open's msg/s, amqp-durable's fsync
  BROKERS               [switchyard-uring switchyard-portable mosquitto rumqttd rabbitmq]
  IDLE_COUNTS [10000,19000]   idle connections per idle scenario (see IDLE_NOTE)
  SHARDS [2]            Switchyard's
  OUT                   results folder [target/bench/compare-DATE]
  MD                    where BENCHMARKS.md goes [BENCHMARKS.md at the root]; "-": none
  PLOTS                 where the plots go [benches/results]
  SWITCHYARD_BIN LOAD_BIN MOSQUITTO RUMQTTD RABBITMQ_SERVER   binaries (the run script sets them)
"""

import json
import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib as lib  # noqa: E402
import report  # noqa: E402

REPS = int(os.environ.get("REPS", 3))
DURATION = float(os.environ.get("DURATION", 5))
WARMUP = float(os.environ.get("WARMUP", 1))
RATE = os.environ.get("RATE", "500")
IDLE_COUNTS = [int(x) for x in os.environ.get("IDLE_COUNTS", "10000,19000").split(",") if x]

MQTT = "--payload 64 --keep-alive 600"
STOMP = "--protocol stomp --pairs 16 --payload 64"
AMQP = "--protocol amqp --pairs 16 --payload 64 --prefetch 1000 --ack-every 100"

# name, protocol, kind, switchyard-load arguments, what it is. kind: "msg" (a message
# run), "idle", "rate". Optional ones run only when ONLY names them.
SCENARIOS = [
    ("mqtt-fanin-qos0", "mqtt", "msg",
     f"{MQTT} --fanin 16 --qos 0 --backlog 1000",
     "MQTT QoS 0 fan-in: 16 publishers (a topic each) -> 1 subscriber on a `+` wildcard, "
     "closed loop, each publisher at most 1,000 messages ahead of its share of the "
     "subscriber's count"),
    ("mqtt-qos0-pairs", "mqtt", "msg",
     f"{MQTT} --pairs 16 --qos 0 --backlog 1000",
     "MQTT QoS 0, 16 publisher/subscriber pairs, a topic per pair, closed loop, each "
     "publisher at most 1,000 messages ahead of its subscriber"),
    ("mqtt-qos1-pairs", "mqtt", "msg",
     f"{MQTT} --pairs 16 --qos 1 --inflight 64",
     "MQTT QoS 1, 16 pairs, a topic per pair, closed loop, 64 unacknowledged PUBLISH per "
     "publisher"),
    ("mqtt-qos1-open", "mqtt", "msg",
     f"{MQTT} --pairs 16 --qos 1 --inflight 64 --rate {RATE}",
     f"MQTT QoS 1, 16 pairs, open loop at {RATE} msg/s per publisher "
     f"({16 * int(float(RATE)):,} msg/s in all): latency at equal load"),
    ("mqtt-fanout-qos0", "mqtt", "msg",
     f"{MQTT} --fanout 1000 --sub-threads 2 --qos 0 --backlog 100",
     "MQTT QoS 0 fan-out 1 -> 1,000 subscribers on one topic, closed loop, the publisher at "
     "most 100 messages ahead of its slowest subscriber (so it measures delivery, not "
     "buffering); delivered counts every copy"),
    ("mqtt-connect-rate", "mqtt", "rate",
     "--keep-alive 600 --connect-rate 16 --sources 8",
     "MQTT connection setup: 16 clients each in a loop of TCP connect, CONNECT, CONNACK, "
     "DISCONNECT, wait for the close; from 127.0.0.2-9; handshakes per second and "
     "connect() to CONNACK latency"),
] + [
    ("stomp-pairs", "stomp", "msg",
     f"{STOMP} --destination-kind queue --ack client-individual --prefetch 1000 --receipts --inflight 64",
     "STOMP 1.2, 16 pairs, /queue/ per pair, a receipt per SEND with at most 64 "
     "outstanding, ack:client-individual, prefetch 1000, closed loop"),
    ("stomp-topic-open", "stomp", "msg",
     f"{STOMP} --destination-kind topic --ack auto --rate {RATE}",
     f"STOMP 1.2, 16 pairs, /topic/ per pair, ack:auto, open loop at {RATE} msg/s per "
     "publisher: latency at equal load"),
    ("amqp-pairs", "amqp", "msg",
     f"{AMQP} --backlog 1000 --confirms --inflight 64",
     "AMQP 0-9-1, 16 pairs, a queue per pair, publisher confirms (64 outstanding), manual "
     "acks (prefetch 1000, one multiple ack per 100), closed loop, at most 1,000 per pair "
     "in flight"),
    ("amqp-open", "amqp", "msg",
     f"{AMQP} --rate {RATE}",
     f"AMQP 0-9-1, 16 pairs, no confirms, open loop at {RATE} msg/s per publisher: "
     "latency at equal load"),
] + [
    (f"mqtt-idle-{n // 1000}k", "mqtt", "idle",
     f"--keep-alive 600 --idle {n} --sources 8 --conn-threads 4 --settle 2 --idle-deadline 60",
     f"{n:,} idle MQTT connections (CONNECT/CONNACK, keep-alive 600 s) from 127.0.0.2-9: "
     "the broker's RSS after minus before, per connection")
    for n in IDLE_COUNTS
]

# Optional scenarios: run only when ONLY names them (the older compare-*.sh scripts'
# scenarios that the full run leaves out).
OPTIONAL = [
    ("mqtt-qos0-unbounded", "mqtt", "msg",
     f"{MQTT} --pairs 16 --qos 0",
     "MQTT QoS 0, 16 pairs, closed loop with no backlog bound: measures how much a broker "
     "buffers (rumqttd starves its subscribers while it reads the publishers)"),
    ("mqtt-fanout-open", "mqtt", "msg",
     f"{MQTT} --fanout 1000 --sub-threads 2 --qos 0 --rate {os.environ.get('FANOUT_RATE', '40')}",
     "MQTT QoS 0 fan-out 1 -> 1,000, open loop at FANOUT_RATE (40) msg/s: latency at equal load"),
    ("stomp-queue-auto", "stomp", "msg",
     f"{STOMP} --destination-kind queue --ack auto",
     "STOMP 1.2, 16 pairs, /queue/ per pair, ack:auto, no receipts, closed loop (TCP is the "
     "only back-pressure)"),
    ("amqp-transient", "amqp", "msg",
     f"{AMQP} --backlog 1000",
     "AMQP 0-9-1, 16 pairs, no confirms, closed loop, at most 1,000 per pair in flight"),
    ("amqp-durable", "amqp", "msg",
     f"{AMQP} --backlog 1000 --confirms --inflight 64 --durable",
     "amqp-pairs with durable queues and persistent messages: Switchyard's durable log "
     "([store] enabled, fsync STORE_FSYNC (batch)) beside RabbitMQ's durable classic queues"),
]

IDLE_NOTE = (
    "This machine caps every process at 20,000 open files (RLIMIT_NOFILE hard limit "
    "20,000; raising it fails with EPERM even as root, in this VM), so no broker here can "
    "hold 100,000 connections, and neither can one generator process: the larger idle "
    "scenario holds 19,000 (the limit less a margin for the broker's own files). RabbitMQ "
    "stops accepting connections near its file descriptor limit (its 'file descriptor "
    "limit alarm'), so it holds fewer. The idle scenarios run last in each rep, because "
    "RabbitMQ's node (one per rep) takes a minute or two to recover from them."
)


def main():
    bins = {
        "switchyard": os.environ["SWITCHYARD_BIN"],
        "load": os.environ["LOAD_BIN"],
        "mosquitto": os.environ.get("MOSQUITTO", "/usr/sbin/mosquitto"),
        "rumqttd": os.environ.get("RUMQTTD", ""),
        "rabbitmq": os.environ.get("RABBITMQ_SERVER", "/usr/lib/rabbitmq/bin/rabbitmq-server"),
    }
    brokers = os.environ.get("BROKERS", " ".join(lib.ALL_BROKERS)).split()
    only = [s for s in os.environ.get("ONLY", "").split(",") if s]
    scenarios = [s for s in SCENARIOS if not only or s[0] in only]
    scenarios += [s for s in OPTIONAL if s[0] in only]
    if not scenarios:
        sys.exit(f"ONLY={','.join(only)}: no such scenario")
    out = os.path.abspath(os.environ.get(
        "OUT", os.path.join(lib.ROOT, "target", "bench", "compare-" + time.strftime("%Y%m%d-%H%M%S"))))
    os.makedirs(out, exist_ok=True)
    settings = {"shards": int(os.environ.get("SHARDS", 2)),
                "store_fsync": os.environ.get("STORE_FSYNC", "batch")}

    env = {
        "command": os.environ.get("COMMAND", "benches/compare/run"),
        "settings": f"REPS={REPS} DURATION={DURATION} WARMUP={WARMUP} RATE={RATE} "
                    f"IDLE_COUNTS={','.join(map(str, IDLE_COUNTS))} SHARDS={settings['shards']} "
                    f"BROKERS=\"{' '.join(brokers)}\"" + (f" ONLY={','.join(only)}" if only else ""),
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "commit": subprocess.run(["git", "-C", lib.ROOT, "log", "-1", "--format=%H %s"],
                                 capture_output=True, text=True).stdout.strip()[:120],
        "nproc": os.cpu_count(),
        "kernel": os.uname().release,
        "cpu": next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo")
                     if l.startswith("model name")), "?"),
        "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "loadavg_before": lib.loadavg(),
        "nofile": subprocess.run(["bash", "-c", "ulimit -n; ulimit -Hn"], capture_output=True,
                                 text=True).stdout.split(),
        "versions": lib.versions(bins),
        "scenarios": [{"name": s[0], "protocol": s[1], "kind": s[2], "args": s[3], "what": s[4]}
                      for s in scenarios],
        "brokers": brokers,
        "idle_note": IDLE_NOTE,
    }
    started = time.monotonic()
    print(f"==> results in {out}", flush=True)
    runs_path = os.path.join(out, "runs.jsonl")
    rabbit = None
    try:
        for rep in range(1, REPS + 1):
            k = (rep - 1) % len(brokers)
            order = brokers[k:] + brokers[:k]
            if "rabbitmq" in brokers and any("rabbitmq" in order and s[1] in lib.SPEAKS["rabbitmq"]
                                              for s in scenarios):
                rabbit = lib.Broker("rabbitmq", bins, os.path.join(out, f"rabbitmq-rep{rep}.log"), settings)
                t0 = time.monotonic()
                rabbit.start()
                print(f"    (rabbitmq node for rep {rep} up in {time.monotonic() - t0:.0f} s)", flush=True)
            for name, protocol, kind, args, _ in scenarios:
                for broker in order:
                    if protocol not in lib.SPEAKS[broker]:
                        continue
                    record = run_one(bins, out, rep, name, protocol, kind, args, broker, rabbit, settings)
                    with open(runs_path, "a") as f:
                        f.write(json.dumps(record) + "\n")
            if rabbit is not None:
                rabbit.stop()
                rabbit = None
    finally:
        if rabbit is not None:
            rabbit.stop()
    env["loadavg_after"] = lib.loadavg()
    env["run_minutes"] = round((time.monotonic() - started) / 60, 1)
    with open(os.path.join(out, "environment.json"), "w") as f:
        json.dump(env, f, indent=1)
    md = os.environ.get("MD", os.path.join(lib.ROOT, "BENCHMARKS.md"))
    # Without BENCHMARKS.md the plots stay with the results (the committed ones are kept).
    plots = os.environ.get("PLOTS", os.path.join(out, "plots") if md == "-" else
                           os.path.join(lib.ROOT, "benches", "results"))
    report.write(out, None if md == "-" else md, plots)


def run_one(bins, out, rep, scenario, protocol, kind, args, broker, rabbit, settings):
    run = f"{scenario}-{broker}-{rep}"
    port = lib.port_of(broker, protocol)
    if broker == "rabbitmq":
        return measure(bins, out, rep, scenario, kind, args, broker, rabbit, run, port)
    if "--durable" in args.split():
        settings = dict(settings, store=True)
    b = lib.Broker(broker, bins, os.path.join(out, run + ".log"), settings)
    try:
        b.start()
        return measure(bins, out, rep, scenario, kind, args, broker, b, run, port)
    finally:
        b.stop()


def measure(bins, out, rep, scenario, kind, args, broker, b, run, port):
    pid = b.pid
    cmd = [bins["load"], "--port", str(port), *args.split(), "--label", broker,
           "--json", os.path.join(out, run + ".json"), "--quiet"]
    if kind == "idle":
        cmd += ["--broker-pid", str(pid)]
    else:
        cmd += ["--duration", str(DURATION), "--warmup", str(WARMUP),
                "--svg", os.path.join(out, run + ".svg")]
    load_before = lib.loadavg().split()[0]
    cpu0, busy0 = lib.cpu_seconds(pid), lib.machine_busy_seconds()
    sampler = lib.RssSampler(pid)
    t0 = time.monotonic()
    with open(os.path.join(out, run + ".txt"), "w") as f:
        try:
            rc = subprocess.run(cmd, stdout=f, stderr=subprocess.STDOUT,
                                timeout=DURATION + WARMUP + 180).returncode
        except subprocess.TimeoutExpired:
            rc = -1
            f.write("TIMED OUT\n")
    wall = time.monotonic() - t0
    peak = sampler.stop()
    cpu = lib.cpu_seconds(pid) - cpu0
    busy = lib.machine_busy_seconds() - busy0
    is_alive = lib.alive(pid)
    res = lib.load_json(os.path.join(out, run + ".json"))
    line = f"{run:<44} exit {rc}"
    if res:
        if kind == "idle":
            i = res["idle"]
            line += (f"  {i['connected']:,}/{i['target']:,} open, "
                     f"{(i['bytes_per_conn'] or 0):,.0f} B/conn")
        else:
            line += (f"  {res['delivered_per_s']:>11,.0f} /s  p50 {res['latency_us']['p50']:>9,.0f} µs"
                     f"  p99 {res['latency_us']['p99']:>9,.0f} µs")
    print(line + f"  broker CPU {cpu:.1f} s, peak RSS {peak / 1024:,.0f} MiB", flush=True)
    return {"run": run, "scenario": scenario, "broker": broker, "rep": rep, "exit": rc,
            "broker_alive": is_alive, "broker_cpu_s": round(cpu, 2),
            "broker_peak_rss_kib": peak, "machine_busy_s": round(busy, 2), "wall_s": round(wall, 2),
            "load_average_before": float(load_before)}


if __name__ == "__main__":
    # SIGTERM ends the run as Ctrl-C does: through the finally blocks that stop brokers.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    main()
