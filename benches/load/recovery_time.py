#!/usr/bin/env python3
"""Recovery time of Switchyard's durable log (issue 6); run by recovery-time.sh.

1. Starts Switchyard with [store] enabled = true (the config the caller wrote), fills
   QUEUES durable queues with MESSAGES persistent messages (delivery-mode 2) of PAYLOAD
   bytes, with publisher confirms and no consumer: CONNECTIONS publishing processes,
   each with one connection, one channel in confirm mode and at most WINDOW publishes
   unconfirmed. A basic.nack or a close fails the run.
2. Counts the messages per queue (passive queue.declare), notes the RSS, and kills the
   process with SIGKILL.
3. RESTARTS times: starts it again and measures, from the spawn, when the AMQP port
   accepts a TCP connection, when an AMQP handshake first completes (channel open) and
   what a passive declare of the first queue on that connection answers (a client that
   connects as early as it can), when each shard's "durable log recovered" line appears,
   and when, after those lines, the passive declares of every queue have answered on a
   new connection; then checks every queue's count against the
   confirmed publishes, reads the RSS (VmRSS, VmHWM), and SIGKILLs it again. Then
   COLD_AFTER more restarts, before each of which the log files are fsynced and dropped
   from the page cache (posix_fadvise DONTNEED on those files only), so that the replay
   reads from the disk.

The AMQP client here is a small raw one (the frames the run needs, encoded by hand), so
that the fill is not bound by a Python client library's speed. Output: a readable report
on stdout and a JSON file (--json).
"""

import argparse
import json
import multiprocessing
import os
import re
import select
import signal
import socket
import struct
import subprocess
import sys
import threading
import time

FRAME_END = b"\xce"
STALL = 60.0  # seconds without a confirm that fail the fill
ANSI = re.compile(r"\x1b\[[0-9;]*m")


# --- A raw AMQP 0-9-1 client: just what the fill and the counts need -------------------


def shortstr(s):
    b = s.encode()
    return struct.pack("B", len(b)) + b


def longstr(b):
    return struct.pack(">I", len(b)) + b


def frame(kind, channel, payload):
    return struct.pack(">BHI", kind, channel, len(payload)) + payload + FRAME_END


def method(channel, class_id, method_id, args=b""):
    return frame(1, channel, struct.pack(">HH", class_id, method_id) + args)


class AmqpError(Exception):
    pass


class Client:
    """One connection with channel 1 open (PLAIN guest/guest, no heartbeats)."""

    def __init__(self, host, port, timeout=30.0):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = bytearray()
        self.sock.sendall(b"AMQP\x00\x00\x09\x01")
        self.expect(0, 10, 10)  # connection.start
        response = b"\x00guest\x00guest"
        # client-properties: capabilities = {publisher_confirms, connection.blocked}, so
        # that a server holding the publishers back says so.
        caps = b"".join(shortstr(k) + b"t\x01" for k in ("publisher_confirms", "connection.blocked"))
        props = shortstr("capabilities") + b"F" + longstr(caps)
        self.sock.sendall(method(0, 10, 11, longstr(props) + shortstr("PLAIN")
                                 + longstr(response) + shortstr("en_US")))
        tune = self.expect(0, 10, 30)
        channel_max, frame_max, _ = struct.unpack(">HIH", tune[:8])
        self.frame_max = min(frame_max or 131072, 131072)
        self.sock.sendall(method(0, 10, 31, struct.pack(">HIH", channel_max, self.frame_max, 0)))
        self.sock.sendall(method(0, 10, 40, shortstr("/") + shortstr("") + b"\x00"))
        self.expect(0, 10, 41)
        self.sock.sendall(method(1, 20, 10, shortstr("")))
        self.expect(1, 20, 11)

    def fill(self):
        data = self.sock.recv(1 << 20)
        if not data:
            raise AmqpError("connection closed by the broker")
        self.buf += data

    def frames(self):
        """Yields the whole frames in the buffer: (type, channel, payload)."""
        while len(self.buf) >= 7:
            kind, channel, size = struct.unpack_from(">BHI", self.buf)
            if len(self.buf) < 8 + size:
                return
            payload = bytes(self.buf[7:7 + size])
            if self.buf[7 + size] != 0xCE:
                raise AmqpError("bad frame end")
            del self.buf[:8 + size]
            yield kind, channel, payload

    @staticmethod
    def check_close(class_id, method_id, args):
        if (class_id, method_id) in ((10, 50), (20, 40)):
            code = struct.unpack_from(">H", args)[0]
            text = args[3:3 + args[2]].decode(errors="replace")
            what = "connection.close" if class_id == 10 else "channel.close"
            raise AmqpError(f"{what} from the broker: {code} {text}")

    def expect(self, channel, class_id, method_id):
        """Waits for one method frame; returns its arguments."""
        while True:
            for kind, ch, payload in self.frames():
                if kind != 1:
                    continue
                c, m = struct.unpack_from(">HH", payload)
                args = payload[4:]
                self.check_close(c, m, args)
                if (ch, c, m) == (channel, class_id, method_id):
                    return args
                raise AmqpError(f"expected {class_id}.{method_id}, got {c}.{m}")
            self.fill()

    def declare(self, queue, passive=False):
        """queue.declare durable (or passive); returns (message_count, consumer_count)."""
        bits = 0x01 if passive else 0x02  # passive | durable
        self.sock.sendall(method(1, 50, 10, struct.pack(">H", 0) + shortstr(queue)
                                 + struct.pack("B", bits) + struct.pack(">I", 0)))
        ok = self.expect(1, 50, 11)
        n = ok[0]
        return struct.unpack_from(">II", ok, 1 + n)

    def delete(self, queue):
        self.sock.sendall(method(1, 50, 40, struct.pack(">H", 0) + shortstr(queue) + b"\x00"))
        self.expect(1, 50, 41)

    def confirm_select(self):
        self.sock.sendall(method(1, 85, 10, b"\x00"))
        self.expect(1, 85, 11)

    def publish_bytes(self, queue, payload):
        """The frames of one persistent publish to `queue` through the default exchange."""
        header = struct.pack(">HHQH", 60, 0, len(payload), 0x1000) + b"\x02"  # delivery-mode 2
        out = method(1, 60, 40, struct.pack(">H", 0) + shortstr("") + shortstr(queue) + b"\x00")
        out += frame(2, 1, header)
        step = self.frame_max - 8
        for i in range(0, len(payload), step):
            out += frame(3, 1, payload[i:i + step])
        return out

    def close(self):
        try:
            self.sock.sendall(method(0, 10, 50, struct.pack(">H", 200) + shortstr("bye")
                                     + struct.pack(">HH", 0, 0)))
            self.sock.settimeout(2)
            self.expect(0, 10, 51)
        except (OSError, AmqpError):
            pass
        self.sock.close()


def publisher(host, port, queues, per_queue, payload_size, window, batch, result):
    """One publishing process: its queues round-robin, confirms, at most `window` open."""
    try:
        c = Client(host, port)
        for q in queues:
            c.declare(q)
        c.confirm_select()
        payload = bytes((i * 7) & 0xFF for i in range(payload_size))
        templates = [c.publish_bytes(q, payload) for q in queues]
        total = per_queue * len(queues)
        sent = acked = 0
        blocked = None
        c.sock.settimeout(STALL)
        while acked < total:
            if sent < total and sent - acked < window:
                n = min(batch, total - sent, window - (sent - acked))
                chunk = b"".join(templates[(sent + k) % len(queues)] for k in range(n))
                c.sock.sendall(chunk)
                sent += n
                readable, _, _ = select.select([c.sock], [], [], 0)
                if not readable:
                    continue
            try:
                c.fill()
            except socket.timeout:
                raise AmqpError(f"no confirm for {STALL:.0f} s with {sent - acked} open "
                                f"({acked:,} of {total:,} confirmed)"
                                + (f"; connection.blocked: {blocked}" if blocked else ""))
            for kind, _, p in c.frames():
                if kind != 1:
                    continue
                cls, m = struct.unpack_from(">HH", p)
                args = p[4:]
                Client.check_close(cls, m, args)
                if (cls, m) == (60, 80):
                    tag, multiple = struct.unpack_from(">QB", args)
                    acked = tag if multiple & 1 else acked + 1
                elif (cls, m) == (10, 60):
                    blocked = args[1:1 + args[0]].decode(errors="replace")
                elif (cls, m) == (10, 61):
                    blocked = None
                elif (cls, m) == (60, 120):
                    raise AmqpError(f"basic.nack for publish {struct.unpack_from('>Q', args)[0]}")
        c.close()
        result.put((tuple(queues), per_queue, None))
    except Exception as e:  # reported by the parent
        result.put((tuple(queues), 0, f"{type(e).__name__}: {e}"))


def fill(host, port, names, per_queue, payload, connections, window, batch):
    result = multiprocessing.Queue()
    groups = [names[i::connections] for i in range(connections)]
    procs = [multiprocessing.Process(target=publisher,
                                     args=(host, port, g, per_queue, payload, window, batch, result))
             for g in groups if g]
    start = time.monotonic()
    for p in procs:
        p.start()
    confirmed, errors = {}, []
    for _ in procs:
        queues, n, err = result.get()
        if err:
            errors.append(err)
        for q in queues:
            confirmed[q] = n
    for p in procs:
        p.join()
    return confirmed, errors, time.monotonic() - start


def counts(host, port, names):
    c = Client(host, port)
    out = {q: c.declare(q, passive=True)[0] for q in names}
    c.close()
    return out


# --- The broker process --------------------------------------------------------------------


def rss_kib(pid):
    fields = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("VmRSS", "VmHWM"):
                fields[k] = int(v.split()[0])
    return fields


def dir_bytes(path):
    return sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(path) for f in fs)


def drop_from_cache(path):
    for d, _, fs in os.walk(path):
        for f in fs:
            fd = os.open(os.path.join(d, f), os.O_RDONLY)
            try:
                os.fsync(fd)
                os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            finally:
                os.close(fd)


class Broker:
    """A Switchyard process; a thread stamps its log lines as they arrive."""

    def __init__(self, argv, log_path, shards):
        self.shards = shards
        self.recovered = []  # (seconds since spawn, line)
        self.log = open(log_path, "a")
        self.t0 = time.monotonic()
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     text=True, errors="replace")
        self.done = threading.Event()
        threading.Thread(target=self.read, daemon=True).start()

    def read(self):
        for line in self.proc.stdout:
            t = time.monotonic() - self.t0
            plain = ANSI.sub("", line)
            self.log.write(plain)
            if "durable log recovered" in plain:
                self.recovered.append((t, plain.strip()))
                if len(self.recovered) >= self.shards:
                    self.done.set()
        self.log.flush()

    def kill(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        self.log.flush()

    def alive(self):
        return self.proc.poll() is None


def wait_tcp(port, broker, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not broker.alive():
            raise RuntimeError(f"switchyard exited with {broker.proc.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return time.monotonic() - broker.t0
        except OSError:
            time.sleep(0.005)
    raise RuntimeError(f"port {port} not accepting after {timeout} s")


def wait_handshake(port, broker, timeout):
    """Seconds from the spawn to a completed AMQP handshake (channel open)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not broker.alive():
            raise RuntimeError(f"switchyard exited with {broker.proc.returncode}")
        try:
            c = Client("127.0.0.1", port, timeout=timeout)
            t = time.monotonic() - broker.t0
            return c, t
        except (OSError, AmqpError):
            time.sleep(0.005)
    raise RuntimeError(f"no AMQP handshake on port {port} after {timeout} s")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--switchyard", required=True)
    ap.add_argument("--config", required=True)
    ap.add_argument("--shards", type=int, default=2)
    ap.add_argument("--io-backend", default="uring")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--data-dir", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--queues", type=int, default=128)
    ap.add_argument("--messages", type=int, default=1 << 20)
    ap.add_argument("--payload", type=int, default=1024)
    ap.add_argument("--connections", type=int, default=4)
    ap.add_argument("--window", type=int, default=512)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--restarts", type=int, default=3)
    ap.add_argument("--cold-after", type=int, default=0)
    ap.add_argument("--timeout", type=float, default=600)
    ap.add_argument("--json")
    a = ap.parse_args()

    argv = [a.switchyard, "--config", a.config, "--shards", str(a.shards),
            "--io-backend", a.io_backend, "-v"]
    tag = f"rec-{os.getpid()}"
    names = [f"{tag}-{i}" for i in range(a.queues)]
    per_queue = a.messages // a.queues
    report = {"queues": a.queues, "messages": per_queue * a.queues, "payload": a.payload,
              "shards": a.shards, "io_backend": a.io_backend, "restarts": []}

    broker = Broker(argv, a.log, a.shards)
    try:
        wait_tcp(a.port, broker, 30)
        if not broker.done.wait(30):
            raise RuntimeError("no 'durable log recovered' lines at the first start")
        print(f"filling {a.queues} durable queues with {per_queue * a.queues:,} persistent "
              f"messages of {a.payload} B ({a.connections} connections, confirms, window "
              f"{a.window})", flush=True)
        confirmed, errors, seconds = fill("127.0.0.1", a.port, names, per_queue, a.payload,
                                          a.connections, a.window, a.batch)
        if errors:
            raise RuntimeError("fill failed: " + "; ".join(errors))
        total = sum(confirmed.values())
        before = counts("127.0.0.1", a.port, names)
        rss = rss_kib(broker.proc.pid)
        log_bytes = dir_bytes(a.data_dir)
        report["fill"] = {"seconds": round(seconds, 2), "msg_per_s": round(total / seconds),
                          "mib_per_s": round(total * a.payload / seconds / 2**20, 1),
                          "confirmed": total, "counted": sum(before.values()),
                          "rss_kib": rss["VmRSS"], "hwm_kib": rss["VmHWM"],
                          "log_bytes": log_bytes}
        print(f"  {total:,} confirmed in {seconds:.1f} s ({total / seconds:,.0f} msg/s, "
              f"{total * a.payload / seconds / 2**20:.1f} MiB/s of payload); counted "
              f"{sum(before.values()):,}; log {log_bytes / 2**30:.2f} GiB; RSS "
              f"{rss['VmRSS'] / 1024:.0f} MiB (peak {rss['VmHWM'] / 1024:.0f} MiB)", flush=True)
        if before != confirmed:
            print(f"  COUNT MISMATCH before the kill: {before} vs confirmed {confirmed}")
        broker.kill()
        ok = True
        for r in range(1, a.restarts + a.cold_after + 1):
            cold = r > a.restarts
            if cold:
                drop_from_cache(a.data_dir)
            broker = Broker(argv, a.log, a.shards)
            tcp = wait_tcp(a.port, broker, a.timeout)
            client, handshake = wait_handshake(a.port, broker, a.timeout)
            # What a client that connects as soon as it can sees: the first queue's count,
            # or an error if the queue is not there (yet).
            try:
                early = f"{client.declare(names[0], passive=True)[0]} messages"
            except (OSError, AmqpError) as e:
                early = f"{e}"
            early_at = time.monotonic() - broker.t0
            early_before_recovery = len(broker.recovered) < a.shards
            client.close()
            if not broker.done.wait(a.timeout):
                raise RuntimeError("no 'durable log recovered' lines after the restart")
            client = Client("127.0.0.1", a.port)
            got = {q: client.declare(q, passive=True)[0] for q in names}
            declared = time.monotonic() - broker.t0
            client.close()
            time.sleep(0.5)
            rss = rss_kib(broker.proc.pid)
            lines = [(round(t, 3), re.sub(r"^\S+\s+INFO\s+\S+\s+", "", l))
                     for t, l in broker.recovered]
            match = got == confirmed
            ok &= match
            missing = sum(max(confirmed[q] - got.get(q, 0), 0) for q in names)
            extra = sum(max(got.get(q, 0) - confirmed[q], 0) for q in names)
            entry = {"restart": r, "cold": cold, "tcp_accepting_s": round(tcp, 3),
                     "recovered_lines_s": [t for t, _ in lines],
                     "amqp_handshake_s": round(handshake, 3),
                     "early_declare": {"at_s": round(early_at, 3), "result": early,
                                       "before_recovered_lines": early_before_recovery},
                     "passive_declares_done_s": round(declared, 3),
                     "rss_kib": rss["VmRSS"], "hwm_kib": rss["VmHWM"],
                     "counted": sum(got.values()), "missing": missing, "extra": extra,
                     "counts_match": match, "lines": [l for _, l in lines]}
            report["restarts"].append(entry)
            print(f"restart {r}{' (cold: log files dropped from the page cache)' if cold else ' (warm)'}: "
                  f"TCP accepting {tcp:.3f} s, recovered lines at "
                  f"{', '.join(f'{t:.3f}' for t, _ in lines)} s, AMQP handshake {handshake:.3f} s, "
                  f"{a.queues} passive declares (after the lines) answered {declared:.3f} s; RSS "
                  f"{rss['VmRSS'] / 1024:.0f} MiB (peak {rss['VmHWM'] / 1024:.0f} MiB); counted "
                  f"{sum(got.values()):,} of {total:,}: "
                  f"{'match' if match else f'MISMATCH (missing {missing}, extra {extra})'}",
                  flush=True)
            for _, l in lines:
                print(f"    {l}")
            print(f"    first passive declare on the first connection, at {early_at:.3f} s"
                  f"{' (BEFORE every shard had logged its recovery)' if early_before_recovery else ''}: "
                  f"{early}")
            if not match:
                for q in names:
                    if got.get(q) != confirmed[q]:
                        print(f"    {q}: confirmed {confirmed[q]}, counted {got.get(q)}")
            broker.kill()
        report["ok"] = ok
        if a.json:
            with open(a.json, "w") as f:
                json.dump(report, f, indent=1)
        return 0 if ok else 2
    finally:
        if broker.alive():
            broker.kill()


if __name__ == "__main__":
    sys.exit(main())
