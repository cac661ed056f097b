"""MQTT packets by hand, for what paho cannot express: a client that never acks, a
CONNECT followed by silence, retransmission after a dropped connection, bytes that are
not MQTT at all, and the server's topic aliases (paho does not resolve them).

Only what the tests need: MQTT 3.1.1 (level 4) and 5 (level 5), client side.
"""

import socket
import struct
import time
from dataclasses import dataclass, field

# Packet types (high nibble of the first byte).
CONNECT, CONNACK, PUBLISH, PUBACK, PUBREC, PUBREL, PUBCOMP = 1, 2, 3, 4, 5, 6, 7
SUBSCRIBE, SUBACK, UNSUBSCRIBE, UNSUBACK, PINGREQ, PINGRESP, DISCONNECT = 8, 9, 10, 11, 12, 13, 14

# MQTT 5 property identifiers and their wire types.
PAYLOAD_FORMAT = 0x01
MESSAGE_EXPIRY = 0x02
CONTENT_TYPE = 0x03
RESPONSE_TOPIC = 0x08
CORRELATION_DATA = 0x09
SUBSCRIPTION_ID = 0x0B
SESSION_EXPIRY = 0x11
ASSIGNED_CLIENT_ID = 0x12
SERVER_KEEP_ALIVE = 0x13
REASON_STRING = 0x1F
RECEIVE_MAXIMUM = 0x21
TOPIC_ALIAS_MAXIMUM = 0x22
TOPIC_ALIAS = 0x23
USER_PROPERTY = 0x26
MAXIMUM_PACKET_SIZE = 0x27
WILL_DELAY = 0x18

_BYTE, _U16, _U32, _VARINT, _STR, _BIN, _PAIR = range(7)
_PROP_TYPES = {
    0x01: _BYTE, 0x02: _U32, 0x03: _STR, 0x08: _STR, 0x09: _BIN, 0x0B: _VARINT,
    0x11: _U32, 0x12: _STR, 0x13: _U16, 0x15: _STR, 0x16: _BIN, 0x17: _BYTE,
    0x18: _U32, 0x19: _BYTE, 0x1A: _STR, 0x1C: _STR, 0x1F: _STR, 0x21: _U16,
    0x22: _U16, 0x23: _U16, 0x24: _BYTE, 0x25: _BYTE, 0x26: _PAIR, 0x27: _U32,
    0x28: _BYTE, 0x29: _BYTE, 0x2A: _BYTE,
}


def varint(n):
    out = bytearray()
    while True:
        byte, n = n % 128, n // 128
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def read_varint(buf, pos):
    value, mult = 0, 1
    for i in range(4):
        byte = buf[pos + i]
        value += (byte & 0x7F) * mult
        mult *= 128
        if not byte & 0x80:
            return value, pos + i + 1
    raise ValueError("variable byte integer longer than 4 bytes")


def string(s):
    data = s.encode() if isinstance(s, str) else s
    return struct.pack("!H", len(data)) + data


def properties(props):
    """Encodes [(id, value), ...] (a list, so that user properties can repeat)."""
    out = bytearray()
    for ident, value in props or ():
        kind = _PROP_TYPES[ident]
        out += varint(ident)
        if kind == _BYTE:
            out.append(value)
        elif kind == _U16:
            out += struct.pack("!H", value)
        elif kind == _U32:
            out += struct.pack("!I", value)
        elif kind == _VARINT:
            out += varint(value)
        elif kind in (_STR, _BIN):
            out += string(value)
        else:
            out += string(value[0]) + string(value[1])
    return varint(len(out)) + bytes(out)


def parse_properties(buf, pos):
    """Decodes properties at `pos`: ({id: value or [values]}, position after them)."""
    length, pos = read_varint(buf, pos)
    end, props = pos + length, {}
    while pos < end:
        ident, pos = read_varint(buf, pos)
        kind = _PROP_TYPES[ident]
        if kind == _BYTE:
            value, pos = buf[pos], pos + 1
        elif kind == _U16:
            value, pos = struct.unpack_from("!H", buf, pos)[0], pos + 2
        elif kind == _U32:
            value, pos = struct.unpack_from("!I", buf, pos)[0], pos + 4
        elif kind == _VARINT:
            value, pos = read_varint(buf, pos)
        else:
            parts = []
            for _ in range(2 if kind == _PAIR else 1):
                n = struct.unpack_from("!H", buf, pos)[0]
                raw = bytes(buf[pos + 2:pos + 2 + n])
                parts.append(raw if kind == _BIN else raw.decode())
                pos += 2 + n
            value = tuple(parts) if kind == _PAIR else parts[0]
        if ident in (USER_PROPERTY, SUBSCRIPTION_ID):
            props.setdefault(ident, []).append(value)
        else:
            props[ident] = value
    return props, end


def packet(first_byte, body):
    return bytes([first_byte]) + varint(len(body)) + body


def connect(client_id="", version=4, clean=True, keepalive=60, username=None,
            password=None, will=None, props=None):
    """CONNECT. `will` is a dict: topic, payload, qos, retain, props (MQTT 5)."""
    flags = (0x02 if clean else 0)
    if will:
        flags |= 0x04 | (will.get("qos", 0) << 3) | (0x20 if will.get("retain") else 0)
    if username is not None:
        flags |= 0x80
    if password is not None:
        flags |= 0x40
    body = string("MQTT") + bytes([version, flags]) + struct.pack("!H", keepalive)
    if version == 5:
        body += properties(props)
    body += string(client_id)
    if will:
        if version == 5:
            body += properties(will.get("props"))
        body += string(will["topic"]) + string(will["payload"])
    if username is not None:
        body += string(username)
    if password is not None:
        body += string(password)
    return packet(CONNECT << 4, body)


def publish(topic, payload=b"", qos=0, retain=False, dup=False, pid=None, version=4,
            props=None):
    first = (PUBLISH << 4) | (0x08 if dup else 0) | (qos << 1) | (1 if retain else 0)
    body = string(topic)
    if qos:
        body += struct.pack("!H", pid)
    if version == 5:
        body += properties(props)
    return packet(first, body + (payload.encode() if isinstance(payload, str) else payload))


def subscribe(pid, filters, version=4, props=None):
    """`filters`: [(filter, options byte)]; the options byte is the QoS for 3.1.1, and
    for 5 also carries no-local (0x04), retain-as-published (0x08), retain handling << 4."""
    body = struct.pack("!H", pid)
    if version == 5:
        body += properties(props)
    for topic_filter, options in filters:
        body += string(topic_filter) + bytes([options])
    return packet((SUBSCRIBE << 4) | 0x02, body)


def ack(kind, pid, version=4, reason=None):
    """PUBACK, PUBREC, PUBREL or PUBCOMP."""
    body = struct.pack("!H", pid)
    if version == 5 and reason is not None:
        body += bytes([reason])
    return packet((kind << 4) | (0x02 if kind == PUBREL else 0), body)


def disconnect(version=4, reason=None, props=None):
    body = b""
    if version == 5 and (reason is not None or props):
        body = bytes([reason or 0]) + (properties(props) if props else b"")
    return packet(DISCONNECT << 4, body)


PINGREQ_BYTES = bytes([PINGREQ << 4, 0])


@dataclass
class Packet:
    kind: int
    flags: int
    body: bytes
    version: int = 4
    # PUBLISH fields, filled by `decode`.
    topic: str = ""
    payload: bytes = b""
    qos: int = 0
    retain: bool = False
    dup: bool = False
    pid: int = 0
    # CONNACK / DISCONNECT / acks.
    session_present: bool = False
    reason: int = 0
    props: dict = field(default_factory=dict)


def decode(kind, flags, body, version):
    p = Packet(kind, flags, body, version)
    if kind == PUBLISH:
        p.qos, p.retain, p.dup = (flags >> 1) & 3, bool(flags & 1), bool(flags & 8)
        n = struct.unpack_from("!H", body, 0)[0]
        p.topic, pos = body[2:2 + n].decode(), 2 + n
        if p.qos:
            p.pid, pos = struct.unpack_from("!H", body, pos)[0], pos + 2
        if version == 5:
            p.props, pos = parse_properties(body, pos)
        p.payload = bytes(body[pos:])
    elif kind == CONNACK:
        p.session_present, p.reason = bool(body[0] & 1), body[1]
        if version == 5 and len(body) > 2:
            p.props, _ = parse_properties(body, 2)
    elif kind == DISCONNECT:
        p.reason = body[0] if body else 0
        if version == 5 and len(body) > 1:
            p.props, _ = parse_properties(body, 1)
    elif kind in (PUBACK, PUBREC, PUBREL, PUBCOMP, UNSUBACK):
        p.pid = struct.unpack_from("!H", body, 0)[0]
        p.reason = body[2] if len(body) > 2 else 0
    elif kind == SUBACK:
        p.pid = struct.unpack_from("!H", body, 0)[0]
        pos = 2
        if version == 5:
            p.props, pos = parse_properties(body, pos)
        p.payload = bytes(body[pos:])  # the return / reason codes
    return p


class Closed(Exception):
    """The server closed the connection (EOF or reset)."""


class RawClient:
    """A blocking socket speaking MQTT packets; every wait has a timeout."""

    def __init__(self, host, port, version=4, timeout=5.0, rcvbuf=None):
        self.version = version
        self.timeout = timeout
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.settimeout(timeout)
        self.sock.connect((host, port))
        self.buf = bytearray()
        self.pending = []  # packets read while expecting another kind
        self.closed = False

    def send(self, data):
        self.sock.sendall(data)

    def connect(self, client_id="", **kw):
        """Sends CONNECT and returns the CONNACK packet (or raises Closed)."""
        self.send(connect(client_id, version=self.version, **kw))
        return self.expect(CONNACK)

    def _fill(self, deadline):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("no packet from the server in time")
        self.sock.settimeout(remaining)
        try:
            data = self.sock.recv(65536)
        except socket.timeout:
            raise TimeoutError("no packet from the server in time") from None
        except (ConnectionResetError, BrokenPipeError) as e:
            self.closed = True
            raise Closed(str(e)) from None
        if not data:
            self.closed = True
            raise Closed("EOF")
        self.buf += data

    def recv(self, timeout=None):
        """The next packet; TimeoutError if none within `timeout`, Closed at EOF."""
        if self.pending:
            return self.pending.pop(0)
        return self._recv_wire(time.monotonic() + (self.timeout if timeout is None else timeout))

    def _recv_wire(self, deadline):
        while True:
            if len(self.buf) >= 2:
                try:
                    length, pos = read_varint(self.buf, 1)
                except IndexError:
                    length = None
                if length is not None and len(self.buf) >= pos + length:
                    first = self.buf[0]
                    body = bytes(self.buf[pos:pos + length])
                    del self.buf[:pos + length]
                    return decode(first >> 4, first & 0x0F, body, self.version)
            self._fill(deadline)

    def expect(self, kind, timeout=None):
        """The next packet of type `kind`; packets of other types read meanwhile are
        kept for later `recv` calls, in order."""
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        for i, p in enumerate(self.pending):
            if p.kind == kind:
                return self.pending.pop(i)
        skipped = []
        try:
            while True:
                p = self._recv_wire(deadline)
                if p.kind == kind:
                    return p
                skipped.append(p)
        finally:
            self.pending.extend(skipped)

    def expect_nothing(self, timeout=0.3):
        """Asserts that no packet arrives within `timeout` (and the connection stays open)."""
        try:
            p = self.recv(timeout)
        except TimeoutError:
            return
        raise AssertionError(f"unexpected packet {p}")

    def wait_closed(self, timeout=None):
        """Reads until the server closes the connection; returns the packets it sent
        before closing. AssertionError if it is still open after `timeout`."""
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        packets = []
        while True:
            try:
                packets.append(self.recv(max(deadline - time.monotonic(), 0.001)))
            except Closed:
                return packets
            except TimeoutError:
                raise AssertionError(
                    f"connection still open after {timeout} s; got {packets}") from None

    def subscribe(self, filters, pid=1, props=None):
        """Subscribes and returns the SUBACK's return codes."""
        if isinstance(filters, str):
            filters = [(filters, 1)]
        self.send(subscribe(pid, filters, self.version, props))
        suback = self.expect(SUBACK)
        assert suback.pid == pid
        return list(suback.payload)

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
