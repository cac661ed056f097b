"""pika helpers for the AMQP tests: a blocking connection to a gateway's AMQP port, waits
on broker state (deadlines, never bare sleeps), and a raw-socket client that speaks
frames by hand for what pika will not send (bad frames, too many channels, ...)."""

import socket
import struct
import time

import pika
import pika.exceptions
from pika import frame, spec

import support

TIMEOUT = 5.0
PROTOCOL_HEADER = b"AMQP\x00\x00\x09\x01"


def connect(gw, user="guest", password="guest", heartbeat=None, **kw):
    """A pika BlockingConnection, closed at the end of the test if still open."""
    params = pika.ConnectionParameters(
        host=gw.host, port=gw.amqp_port, virtual_host=kw.pop("vhost", "/"),
        credentials=pika.PlainCredentials(user, password),
        heartbeat=heartbeat, blocked_connection_timeout=TIMEOUT, socket_timeout=TIMEOUT,
        connection_attempts=1, **kw)
    conn = pika.BlockingConnection(params)
    support._open.append(_Closer(conn))
    return conn


class _Closer:
    """Closes a pika connection at teardown unless the test closed it."""

    def __init__(self, conn):
        self.conn = conn

    def close(self):
        if self.conn.is_open:
            self.conn.close()


def raw(gw):
    """A plain socket to the AMQP port."""
    return socket.create_connection((gw.host, gw.amqp_port), timeout=TIMEOUT)


def uid(prefix):
    """A name no other test (or earlier run against an external broker) uses."""
    return support.uid(prefix)


def drain(conn, channel, queue, n, timeout=TIMEOUT, auto_ack=False):
    """Consumes `n` messages from `queue` (acking them unless `auto_ack`); returns
    (method, properties, body) tuples."""
    got = []
    for method, props, body in channel.consume(queue, auto_ack=auto_ack,
                                               inactivity_timeout=timeout):
        assert method is not None, f"only {len(got)} of {n} messages arrived"
        got.append((method, props, body))
        if not auto_ack:
            channel.basic_ack(method.delivery_tag)
        if len(got) == n:
            break
    channel.cancel()
    return got


def round_trip(ch):
    """A synchronous method on `ch`, so that anything the broker answered to what was
    sent before it (a channel.close, a basic.return) has been read: a passive declare
    of amq.direct, which always exists and changes nothing."""
    ch.exchange_declare("amq.direct", passive=True)


def get(ch, queue, timeout=TIMEOUT, auto_ack=True):
    """basic.get polled until a message comes or `timeout` passes: (method, props,
    body), or (None, None, None). For messages that arrive asynchronously (dead
    letters, moved by the broker after some event)."""
    deadline = time.monotonic() + timeout
    while True:
        got = ch.basic_get(queue, auto_ack=auto_ack)
        if got[0] is not None or time.monotonic() > deadline:
            return got
        ch.connection.process_data_events(time_limit=0.05)  # the poll interval


def exists(conn, kind, name):
    """Whether the queue or exchange (`kind`) `name` exists: a passive declare on a
    channel of its own, which a 404 closes."""
    ch = conn.channel()
    try:
        if kind == "queue":
            ch.queue_declare(name, passive=True)
        else:
            ch.exchange_declare(name, passive=True)
    except pika.exceptions.ChannelClosedByBroker as e:
        assert e.reply_code == 404, e
        return False
    ch.close()
    return True


def wait_gone(conn, kind, name, timeout=TIMEOUT):
    """Polls passive declares until `name` no longer exists; fails after `timeout`."""
    deadline = time.monotonic() + timeout
    while exists(conn, kind, name):
        assert time.monotonic() < deadline, f"{kind} {name} still exists after {timeout} s"
        conn.process_data_events(time_limit=0.05)  # the poll interval


class Raw:
    """A hand-driven AMQP connection on a plain socket. `frames()` and `method()`
    decode what the broker sends with pika's frame classes."""

    def __init__(self, gw, timeout=TIMEOUT):
        self.sock = raw(gw)
        self.sock.settimeout(timeout)
        self.buf = b""
        self.eof = False
        support._open.append(self)

    def send(self, data):
        """Sends `data`; a broker that has already closed the socket (as it may after a
        connection exception) is not an error here: reading tells what it said."""
        try:
            self.sock.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def send_method(self, channel, method):
        self.send(frame.Method(channel, method).marshal())

    def read_frame(self, timeout=TIMEOUT):
        """The next frame (pika Method, Header, Body, Heartbeat or ProtocolHeader), or
        None once the broker has closed the socket."""
        self.sock.settimeout(timeout)
        while True:
            if self.buf:
                used, f = frame.decode_frame(self.buf)
                if f is not None:
                    self.buf = self.buf[used:]
                    return f
            if self.eof:
                return None
            try:
                chunk = self.sock.recv(65536)
            except (ConnectionResetError, BrokenPipeError):
                chunk = b""
            if not chunk:
                self.eof = True
            self.buf += chunk

    def method(self, timeout=TIMEOUT):
        """The next method frame, skipping heartbeats; None at end of stream."""
        while True:
            f = self.read_frame(timeout)
            if f is None or isinstance(f, frame.Method):
                return f
            if not isinstance(f, frame.Heartbeat):
                raise AssertionError(f"expected a method frame, got {f}")

    def expect(self, cls, timeout=TIMEOUT):
        f = self.method(timeout)
        assert f is not None, f"the broker closed the socket instead of sending {cls.NAME}"
        assert isinstance(f.method, cls), f"expected {cls.NAME}, got {f.method}"
        return f

    def closed(self, timeout=TIMEOUT):
        """Whether the broker closes the socket within `timeout`, reading (and
        dropping) what it sends until then."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if self.read_frame(max(0.01, deadline - time.monotonic())) is None:
                    return True
            except (socket.timeout, TimeoutError):
                return False
        return False

    def handshake(self, user="guest", password="guest", vhost="/", channel_max=2047,
                  frame_max=131072, heartbeat=0, capabilities=None):
        """Header, start-ok (PLAIN), tune-ok, open; returns the broker's connection.tune
        method. With `vhost` None, stops after tune-ok."""
        self.send(PROTOCOL_HEADER)
        self.expect(spec.Connection.Start)
        props = {"capabilities": capabilities or {}}
        self.send_method(0, spec.Connection.StartOk(
            client_properties=props, mechanism="PLAIN",
            response=f"\0{user}\0{password}", locale="en_US"))
        f = self.method()
        if f is None or not isinstance(f.method, spec.Connection.Tune):
            return f and f.method
        tune = f.method
        self.send_method(0, spec.Connection.TuneOk(channel_max, frame_max, heartbeat))
        if vhost is not None:
            self.send_method(0, spec.Connection.Open(vhost))
            self.expect(spec.Connection.OpenOk)
        return tune

    def open_channel(self, number):
        self.send_method(number, spec.Channel.Open())
        return self.method()

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def method_frame(channel, class_id, method_id, args=b""):
    """A method frame built by hand, before its frame-end octet is appended."""
    payload = struct.pack(">HH", class_id, method_id) + args
    return struct.pack(">BHI", 1, channel, len(payload)) + payload
