#!/usr/bin/env python3
"""Reproduction: a publish during Switchyard's log recovery is confirmed and lost.

Fills 128 durable queues with 8,192 persistent 1 KiB messages each (about 1 GiB of log,
so that the replay takes seconds), SIGKILLs Switchyard, drops the log files from the page
cache, restarts it, and publishes one persistent message with confirms to a durable queue
as soon as a handshake completes: the listeners accept before the shards have replayed
their logs, the queue is not there yet, the publish is confirmed (basic.ack) and dropped,
and after the recovery the queue holds 8,192 messages, not 8,193. Exit status 2 if so.

    python3 benches/load/recovery_early_publish.py [/path/to/switchyard]

Uses recovery_time.py's client; state in a temp folder, removed at the end.
"""
import os
import shutil
import struct
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import recovery_time as rt  # noqa: E402

binary = sys.argv[1] if len(sys.argv) > 1 else "target/release/switchyard"
tmp = tempfile.mkdtemp(prefix="switchyard-early-")


def free_port():
    s = rt.socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


port = free_port()
with open(f"{tmp}/c.toml", "w") as f:
    f.write(f'[server]\ndata_dir = "{tmp}/data"\n[mqtt]\nlisten = ["127.0.0.1:{free_port()}"]\n'
            f'[stomp]\nlisten = []\n'
            f'[amqp]\nlisten = ["127.0.0.1:{port}"]\n[websocket]\nlisten = []\n'
            f'[store]\nenabled = true\n')
argv = [binary, "--config", f"{tmp}/c.toml", "--shards", "2", "-v"]
names = [f"early-{i}" for i in range(128)]
broker = None
try:
    broker = rt.Broker(argv, f"{tmp}/log", 2)
    rt.wait_tcp(port, broker, 30)
    broker.done.wait(30)
    confirmed, errors, _ = rt.fill("127.0.0.1", port, names, 8192, 1024, 4, 512, 64)
    assert not errors, errors
    broker.kill()
    rt.drop_from_cache(f"{tmp}/data")
    broker = rt.Broker(argv, f"{tmp}/log", 2)
    client, at = rt.wait_handshake(port, broker, 60)
    client.confirm_select()
    client.sock.sendall(client.publish_bytes(names[5], b"x" * 64))
    client.sock.settimeout(10)
    reply = None
    while reply is None:
        client.fill()
        for kind, _, payload in client.frames():
            if kind == 1:
                reply = struct.unpack_from(">HH", payload)
    answered = time.monotonic() - broker.t0
    early = len(broker.recovered) < 2
    broker.done.wait(120)
    count = rt.counts("127.0.0.1", port, [names[5]])[names[5]]
    print(f"handshake {at:.3f} s after the spawn; the publish answered with method "
          f"{reply[0]}.{reply[1]} at {answered:.3f} s{' (before recovery)' if early else ''}; "
          f"recovered at {[round(t, 3) for t, _ in broker.recovered]} s; {names[5]} holds "
          f"{count} (8,193 expected)")
    sys.exit(2 if reply == (60, 80) and count != 8193 else 0)
finally:
    if broker is not None and broker.alive():
        broker.kill()
    shutil.rmtree(tmp, ignore_errors=True)
