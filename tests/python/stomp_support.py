"""STOMP test helpers: a stomp.py client whose frames land in queues the tests wait on with
timeouts, and a raw client (plain socket or WebSocket) for what stomp.py cannot express:
bad frames, exact bytes, a client that promises heart-beats and falls silent.

    c = Client(broker)                      # STOMP 1.2 over TCP, waits for CONNECTED
    c.subscribe("/queue/q", ack="client")   # waits for the RECEIPT: the subscription is live
    c.send("/queue/q", b"x", **{"my-header": "v"})    # waits for the RECEIPT
    m = c.expect_message()                  # stomp.py Frame: .cmd, .headers, .body (bytes)
    c.ack(m)                                # the version's ACK form
    r = raw(broker); r.connect(); r.send_frame("SEND", {...}); r.expect("ERROR")

`broker` is a conftest `Gateway` (switchyard) or, with STOMP_EXTERNAL set, an
`ExternalBroker`; both have `host` and `stomp_port`, switchyard's STOMP WebSocket is
ws://host:ws_port/stomp and an external broker names its own (`stomp_ws_url`).

Written against stomp.py 8.x. What it does that a test must know:
- 1.1/1.2 `connect()` sends the STOMP command, not CONNECT, unless `with_connect_command`;
  1.0 sends `accept-version:1.0`; 1.2 sends `host:<the TCP host name>` unless given a vhost.
- An ERROR frame reaches `on_error` (and `connect(wait=True)` raises a bare
  ConnectFailedException if it comes before CONNECTED); it is not an exception otherwise.
- `disconnect()` blocks without a timeout until the RECEIPT; `Client.disconnect` here waits
  with one instead.
- ACK/NACK take `id` (the MESSAGE's `ack` header) in 1.2, `message-id` + `subscription` in
  1.1, `message-id` in 1.0 (which has no NACK).
- Received header values are unescaped in every version (even 1.0 and CONNECTED).
- `WSStompConnection` is 1.2 only and offers no WebSocket subprotocol of its own; `Client`
  passes `Sec-WebSocket-Protocol: v12.stomp` as a handshake header.
"""

import itertools
import queue
import socket
import threading
import time
from dataclasses import dataclass, field

import pytest
import stomp
import websocket

import support
from support import ABSENCE, TIMEOUT, uid

VERSIONS = ["1.0", "1.1", "1.2"]
WS_SUBPROTOCOL = "v12.stomp"

_receipts = itertools.count(1)


def is_external(broker):
    return getattr(broker, "external", False)


def only_switchyard(broker, why):
    """Skips the test against an external broker: what it checks is switchyard's own
    choice (the reason says where the reference differs or cannot be configured)."""
    if is_external(broker):
        pytest.skip(f"switchyard only: {why}")


def closes_after_error(broker):
    """Whether to wait for the close after an ERROR frame. STOMP 1.2 ("ERROR"): the server
    MUST close the connection just after sending ERROR, and switchyard does, gracefully.
    RabbitMQ 3.10 differs: most ERRORs (missing destination, unknown command, unknown
    transaction, unknown destination) are not fatal to it and the connection stays open,
    and after a refused CONNECT it closes only when its 10 s login timeout fires. So
    against an external broker the tests check the ERROR frame and not the close."""
    return not is_external(broker)


def ws_url(broker):
    return getattr(broker, "stomp_ws_url", None) or f"ws://{broker.host}:{broker.ws_port}/stomp"


# --- frames ---------------------------------------------------------------------------------

_ESCAPES_11 = {"\\": "\\\\", "\n": "\\n", ":": "\\c"}
_ESCAPES_12 = {**_ESCAPES_11, "\r": "\\r"}


def escape(value, version="1.2"):
    """A header value escaped as `version` requires (1.0: as is)."""
    if version == "1.0":
        return value
    table = _ESCAPES_12 if version == "1.2" else _ESCAPES_11
    return "".join(table.get(ch, ch) for ch in value)


def unescape(value, version="1.2"):
    """The inverse of `escape`; raises ValueError on an escape the version does not define."""
    if version == "1.0":
        return value
    table = {v: k for k, v in (_ESCAPES_12 if version == "1.2" else _ESCAPES_11).items()}
    out, i = [], 0
    while i < len(value):
        if value[i] == "\\":
            pair = value[i:i + 2]
            if pair not in table:
                raise ValueError(f"undefined escape {pair!r} in {value!r}")
            out.append(table[pair])
            i += 2
        else:
            out.append(value[i])
            i += 1
    return "".join(out)


def frame(command, headers=(), body=b"", version="1.2", escape_headers=True,
          content_length=None, eol=b"\n"):
    """The bytes of one frame. `headers` is a dict or a list of (name, value) pairs (a list
    can repeat a name); values are escaped for `version` except in CONNECT/STOMP/CONNECTED,
    as the spec says, unless `escape_headers` is false. `content_length`: True adds the
    right one, an int adds that value, None adds none."""
    if isinstance(body, str):
        body = body.encode()
    pairs = list(headers.items()) if isinstance(headers, dict) else list(headers)
    if content_length is True:
        pairs.append(("content-length", len(body)))
    elif content_length is not None:
        pairs.append(("content-length", content_length))
    plain = not escape_headers or command in ("CONNECT", "STOMP", "CONNECTED")
    out = bytearray(command.encode() + eol)
    for name, value in pairs:
        value = str(value)
        if not plain:
            name, value = escape(name, version), escape(value, version)
        out += f"{name}:{value}".encode() + eol
    out += eol + body + b"\x00"
    return bytes(out)


HEARTBEAT = object()  # what RawStomp.recv returns for a heart-beat EOL, when asked to


@dataclass
class Frame:
    """A frame the raw client received: `headers` keeps the first occurrence of a repeated
    header (as STOMP 1.2 says), `header_list` all of them, values unescaped for the
    connection's version (CONNECTED never)."""
    command: str
    headers: dict
    header_list: list = field(default_factory=list)
    body: bytes = b""
    raw: bytes = b""

    def __getitem__(self, name):
        return self.headers[name]

    def get(self, name, default=None):
        return self.headers.get(name, default)

    def __repr__(self):
        return f"Frame({self.command} {self.headers} body={self.body[:80]!r})"


class Closed(Exception):
    """The server closed the connection."""


def parse(buf, version="1.2"):
    """Parses the start of `buf`: (HEARTBEAT, n) for one EOL between frames, (Frame, n) for
    a whole frame and the EOLs buffered right after it, (None, 0) when more bytes are
    needed. Raises ValueError on a malformed
    frame from the server."""
    if buf[:1] == b"\n":
        return HEARTBEAT, 1
    if buf[:2] == b"\r\n":
        return HEARTBEAT, 2
    if buf[:1] == b"\r":
        return None, 0
    end = buf.find(b"\n\n")
    end_crlf = buf.find(b"\r\n\r\n")
    if end < 0 and end_crlf < 0:
        return None, 0
    if end_crlf >= 0 and (end < 0 or end_crlf < end):
        head, body_start = buf[:end_crlf], end_crlf + 4
    else:
        head, body_start = buf[:end], end + 2
    lines = head.decode("utf-8").replace("\r\n", "\n").split("\n")
    command, pairs = lines[0], []
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if not sep:
            raise ValueError(f"header line without ':' in {command}: {line!r}")
        if command != "CONNECTED":
            name, value = unescape(name, version), unescape(value, version)
        pairs.append((name, value))
    headers = {}
    for name, value in pairs:
        headers.setdefault(name, value)
    if "content-length" in headers:
        n = int(headers["content-length"])
        if len(buf) < body_start + n + 1:
            return None, 0
        body = bytes(buf[body_start:body_start + n])
        if buf[body_start + n:body_start + n + 1] != b"\x00":
            raise ValueError(f"{command}: no NUL after content-length {n}")
        consumed = body_start + n + 1
    else:
        nul = buf.find(b"\x00", body_start)
        if nul < 0:
            return None, 0
        body = bytes(buf[body_start:nul])
        consumed = nul + 1
    raw_frame = bytes(buf[:consumed])
    # EOLs that came with the frame, right after its NUL, are its padding (RabbitMQ ends
    # every frame with "\0\n"), not heart-beats.
    while buf[consumed:consumed + 1] == b"\n" or buf[consumed:consumed + 2] == b"\r\n":
        consumed += 1 if buf[consumed:consumed + 1] == b"\n" else 2
    return Frame(command, headers, pairs, body, raw_frame), consumed


# --- the raw client ---------------------------------------------------------------------------

class RawStomp:
    """STOMP by hand over a plain TCP socket (`transport="tcp"`) or a WebSocket (`"ws"`,
    subprotocol `v12.stomp` unless told otherwise). `recv` returns parsed frames and, with
    `heartbeats=True`, HEARTBEAT for each EOL between frames."""

    def __init__(self, broker, transport="tcp", subprotocols=(WS_SUBPROTOCOL,), timeout=TIMEOUT):
        self.transport = transport
        self.version = "1.2"
        self.buf = bytearray()
        self.closed = False
        self.heartbeats_seen = []  # monotonic times of the EOLs received
        self.ws_opcodes = []  # WebSocket opcode of each message received (1 text, 2 binary)
        if transport == "tcp":
            self.sock = socket.create_connection((broker.host, broker.stomp_port), timeout=timeout)
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self.ws = None
        elif transport == "ws":
            # No UTF-8 check here: a test asserts what the server chose (`ws_opcodes`).
            self.ws = websocket.create_connection(ws_url(broker), timeout=timeout,
                                                  subprotocols=list(subprotocols) or None,
                                                  skip_utf8_validation=True)
            self.sock = None
        else:
            raise ValueError(transport)

    @property
    def subprotocol(self):
        return self.ws.subprotocol if self.ws else None

    # sending

    def send(self, data):
        if self.ws:
            # A text message must be UTF-8 (RFC 6455 8.1): binary bodies go as binary.
            try:
                data.decode("utf-8")
                opcode = websocket.ABNF.OPCODE_TEXT
            except UnicodeDecodeError:
                opcode = websocket.ABNF.OPCODE_BINARY
            self.ws.send(data, opcode=opcode)
        else:
            self.sock.sendall(data)

    def send_frame(self, command, headers=(), body=b"", **kw):
        kw.setdefault("version", self.version)
        self.send(frame(command, headers, body, **kw))

    def connect(self, version="1.2", command="CONNECT", host="/", login=None, passcode=None,
                heart_beat=None, accept_version=True, headers=(), expect="CONNECTED"):
        """Sends CONNECT (or STOMP) and returns the answer, asserting its command is
        `expect` (None: whatever comes). `version` is the accept-version value (None or
        accept_version=False: no header, a 1.0 client)."""
        pairs = []
        if accept_version and version is not None:
            pairs.append(("accept-version", version))
        if host is not None:
            pairs.append(("host", host))
        if login is not None:
            pairs.append(("login", login))
        if passcode is not None:
            pairs.append(("passcode", passcode))
        if heart_beat is not None:
            pairs.append(("heart-beat", f"{heart_beat[0]},{heart_beat[1]}"))
        pairs += list(headers.items()) if isinstance(headers, dict) else list(headers)
        self.send(frame(command, pairs))
        reply = self.recv()
        if reply.command == "CONNECTED":
            self.version = reply.get("version", "1.0")
        if expect is not None:
            assert reply.command == expect, f"expected {expect}, got {reply}"
        return reply

    # receiving

    def _read(self, timeout):
        """More bytes into the buffer; raises Closed at EOF or socket.timeout."""
        if self.ws:
            self.ws.settimeout(timeout)
            try:
                opcode, data = self.ws.recv_data(control_frame=False)
            except websocket.WebSocketConnectionClosedException:
                raise Closed() from None
            except websocket.WebSocketTimeoutException:
                raise socket.timeout() from None
            except ConnectionError:
                raise Closed() from None
            if opcode == websocket.ABNF.OPCODE_CLOSE:
                raise Closed()
            self.ws_opcodes.append(opcode)
        else:
            self.sock.settimeout(timeout)
            try:
                data = self.sock.recv(65536)
            except ConnectionResetError:
                raise Closed() from None
            if not data:
                raise Closed()
        self.buf += data

    def recv(self, timeout=TIMEOUT, heartbeats=False):
        """The next frame (or HEARTBEAT with `heartbeats`); AssertionError on timeout,
        Closed when the server closed the connection first."""
        deadline = time.monotonic() + timeout
        while True:
            item, n = parse(self.buf, self.version)
            if n:
                del self.buf[:n]
                if item is HEARTBEAT:
                    self.heartbeats_seen.append(time.monotonic())
                    if heartbeats:
                        return item
                    continue
                return item
            if self.closed:
                raise Closed()
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no frame within {timeout} s (buffered {bytes(self.buf)!r})")
            try:
                self._read(left)
            except socket.timeout:
                continue
            except Closed:
                self.closed = True

    def expect(self, command, timeout=TIMEOUT):
        f = self.recv(timeout)
        assert f.command == command, f"expected {command}, got {f}"
        return f

    def expect_error(self, closes=True, timeout=TIMEOUT):
        """An ERROR frame with a `message` header and a body; with `closes`, the connection
        then closes (nothing else is read before the close)."""
        f = self.expect("ERROR", timeout)
        assert f.get("message"), f"ERROR without a message header: {f}"
        assert f.body.strip(), f"ERROR without a body: {f}"
        if closes:
            rest = self.wait_closed(timeout)
            assert rest == [], f"frames after ERROR: {rest}"
        return f

    def expect_nothing(self, timeout=ABSENCE):
        try:
            f = self.recv(timeout)
        except AssertionError:
            return
        except Closed:
            raise AssertionError("the server closed the connection") from None
        raise AssertionError(f"unexpected frame {f}")

    def wait_closed(self, timeout=TIMEOUT):
        """Reads until the server closes the connection; returns the frames read."""
        frames = []
        deadline = time.monotonic() + timeout
        while True:
            try:
                frames.append(self.recv(max(deadline - time.monotonic(), 0.01)))
            except Closed:
                return frames
            except AssertionError:
                raise AssertionError(f"connection still open after {timeout} s; read {frames}") \
                    from None

    def close(self):
        try:
            if self.ws:
                self.ws.sock and self.ws.sock.close()
                self.ws.close(timeout=0)
            else:
                self.sock.close()
        except Exception:  # noqa: BLE001 - best-effort cleanup
            pass


def raw(broker, transport="tcp", **kw):
    """A RawStomp to `broker`, closed at the end of the test."""
    c = RawStomp(broker, transport, **kw)
    support._open.append(c)
    return c


# --- the stomp.py client ----------------------------------------------------------------------

class Recorder(stomp.ConnectionListener):
    """Every frame stomp.py reports, in queues."""

    def __init__(self):
        self.connected = queue.Queue()  # CONNECTED frames
        self.messages = queue.Queue()
        self.errors = queue.Queue()
        self.heartbeats = queue.Queue()  # monotonic times
        self.receipts = {}
        self.cond = threading.Condition()
        self.disconnected = threading.Event()

    def on_connected(self, frame):
        self.connected.put(frame)

    def on_message(self, frame):
        self.messages.put(frame)

    def on_error(self, frame):
        self.errors.put(frame)
        self.connected.put(frame)  # an ERROR answering CONNECT ends the wait for CONNECTED

    def on_receipt(self, frame):
        with self.cond:
            self.receipts[frame.headers.get("receipt-id")] = frame
            self.cond.notify_all()

    def on_heartbeat(self):
        self.heartbeats.put(time.monotonic())

    def on_disconnected(self):
        self.disconnected.set()
        with self.cond:
            self.cond.notify_all()


class Client:
    """A stomp.py connection to `broker`: `version` "1.0"/"1.1"/"1.2" over `transport`
    "tcp", or 1.2 over "ws". `vhost` goes in the host header ("/" by default; None: stomp.py's
    default: none in 1.0/1.1, the TCP host name in 1.2). Bodies are bytes (no decoding)."""

    def __init__(self, broker, version="1.2", transport="tcp", login=None, passcode=None,
                 vhost="/", heartbeats=(0, 0), headers=None, command="STOMP", connect=True,
                 expect_success=True):
        self.broker = broker
        self.version = version
        self.transport = transport
        self.listener = Recorder()
        hosts = [(broker.host, broker.stomp_port)]
        common = dict(reconnect_attempts_max=1, timeout=TIMEOUT, auto_decode=False)
        if transport == "ws":
            assert version == "1.2", "stomp.py speaks 1.2 over WebSocket only"
            url = ws_url(broker)
            rest = url.split("://", 1)[1]
            hostport, _, path = rest.partition("/")
            host, _, port = hostport.rpartition(":")
            self.conn = stomp.WSStompConnection(
                [(host, int(port))], vhost=vhost, heartbeats=heartbeats, ws_path="/" + path,
                header=[f"Sec-WebSocket-Protocol: {WS_SUBPROTOCOL}"], **common)
        elif version == "1.0":
            self.conn = stomp.Connection10(hosts, **common)
        elif version == "1.1":
            self.conn = stomp.Connection11(hosts, vhost=vhost, heartbeats=heartbeats, **common)
        else:
            self.conn = stomp.Connection12(hosts, vhost=vhost, heartbeats=heartbeats, **common)
        self.conn.set_listener("recorder", self.listener)
        self.login, self.passcode = login, passcode
        self.connect_headers = headers or {}
        self.command = command
        self.connected_frame = None
        self.error = None
        support._open.append(self)
        if connect:
            self.connect(expect_success)

    # connection

    def connect(self, expect_success=True, timeout=TIMEOUT):
        """Connects and returns the CONNECTED frame (or, without `expect_success`, whatever
        answered: CONNECTED or ERROR)."""
        kw = {}
        if self.version != "1.0":
            kw["with_connect_command"] = self.command == "CONNECT"
        self.conn.connect(self.login, self.passcode, wait=False, headers=self.connect_headers,
                          **kw)
        try:
            reply = self.listener.connected.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"no CONNECTED or ERROR within {timeout} s") from None
        if reply.cmd == "CONNECTED":
            self.connected_frame = reply
        else:
            self.error = reply
        if expect_success:
            assert reply.cmd == "CONNECTED", f"connect refused: {reply.headers} {reply.body!r}"
        return reply

    @property
    def connected(self):
        return self.conn.is_connected() and not self.listener.disconnected.is_set()

    def wait_disconnected(self, timeout=TIMEOUT):
        assert self.listener.disconnected.wait(timeout), f"still connected after {timeout} s"

    def disconnect(self, timeout=TIMEOUT):
        """DISCONNECT with a receipt; asserts the RECEIPT comes, then the socket closes."""
        rid = self.receipt_id("disc")
        self.conn.set_receipt(rid, "DISCONNECT")
        self.conn.send_frame("DISCONNECT", {"receipt": rid})
        receipt = self.wait_receipt(rid, timeout)
        self.wait_disconnected(timeout)
        return receipt

    def drop(self):
        """Ends the connection without DISCONNECT, as a crashed client would."""
        t = self.conn.transport
        sock = getattr(t, "socket", None)
        if sock is not None and self.transport == "ws":
            sock = sock.sock
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self.listener.disconnected.wait(TIMEOUT)

    def close(self):
        if self.connected:
            self.drop()
        try:
            self.conn.transport.running = False
            self.conn.transport.disconnect_socket()
        except Exception:  # noqa: BLE001 - best-effort cleanup
            pass

    # receipts

    def receipt_id(self, prefix="r"):
        return f"{prefix}-{next(_receipts)}"

    def wait_receipt(self, rid, timeout=TIMEOUT):
        with self.listener.cond:
            ok = self.listener.cond.wait_for(
                lambda: rid in self.listener.receipts or self.listener.disconnected.is_set(),
                timeout)
            if rid in self.listener.receipts:
                return self.listener.receipts.pop(rid)
        errors = list(self.listener.errors.queue)
        if not ok:
            raise AssertionError(f"no RECEIPT {rid} within {timeout} s; errors: {errors}")
        raise AssertionError(f"disconnected before RECEIPT {rid}; errors: "
                             f"{[(e.headers, e.body) for e in errors]}")

    def _headers(self, receipt, headers):
        headers = dict(headers)
        rid = None
        if receipt:
            rid = self.receipt_id()
            headers["receipt"] = rid
        return rid, headers

    def _finish(self, rid):
        return self.wait_receipt(rid) if rid else None

    # operations

    def send(self, destination, body=b"", content_type=None, receipt=True, headers=None,
             **more):
        """SEND; with `receipt`, waits for the RECEIPT (so the broker has routed it)."""
        rid, h = self._headers(receipt, {**(headers or {}), **more})
        self.conn.send(destination, body, content_type=content_type, headers=h)
        return self._finish(rid)

    def subscribe(self, destination, id=None, ack="auto", receipt=True, headers=None, **more):
        """SUBSCRIBE (an id is made up in 1.1/1.2 when none is given; returns it); with
        `receipt`, waits for the RECEIPT, so that the subscription is in place."""
        rid, h = self._headers(receipt, {**(headers or {}), **more})
        if self.version == "1.0":
            self.conn.subscribe(destination, id=id, ack=ack, headers=h)
        else:
            id = id or uid("sub")
            self.conn.subscribe(destination, id, ack=ack, headers=h)
        self._finish(rid)
        return id

    def unsubscribe(self, id=None, destination=None, receipt=True, headers=None, **more):
        rid, h = self._headers(receipt, {**(headers or {}), **more})
        if self.version == "1.0":
            self.conn.unsubscribe(destination=destination, id=id, headers=h)
        else:
            self.conn.unsubscribe(id, headers=h)
        return self._finish(rid)

    def ack(self, message, transaction=None, receipt=True):
        """ACK in the version's form: 1.2 `id` = the MESSAGE's `ack` header; 1.1
        `message-id` + `subscription`; 1.0 `message-id`."""
        rid = self.receipt_id() if receipt else None
        h = message.headers
        if self.version == "1.2":
            self.conn.ack(h["ack"], transaction=transaction, receipt=rid)
        elif self.version == "1.1":
            self.conn.ack(h["message-id"], h["subscription"], transaction=transaction,
                          receipt=rid)
        else:
            self.conn.ack(h["message-id"], transaction=transaction, receipt=rid)
        return self._finish(rid)

    def nack(self, message, transaction=None, receipt=True, **more):
        rid = self.receipt_id() if receipt else None
        h = message.headers
        if self.version == "1.2":
            self.conn.nack(h["ack"], transaction=transaction, receipt=rid, **more)
        elif self.version == "1.1":
            self.conn.nack(h["message-id"], h["subscription"], transaction=transaction,
                           receipt=rid, **more)
        else:
            raise AssertionError("STOMP 1.0 has no NACK")
        return self._finish(rid)

    def begin(self, transaction, receipt=True):
        rid, h = self._headers(receipt, {})
        self.conn.begin(transaction, headers=h)
        return self._finish(rid)

    def commit(self, transaction, receipt=True):
        rid, h = self._headers(receipt, {})
        self.conn.commit(transaction, headers=h)
        return self._finish(rid)

    def abort(self, transaction, receipt=True):
        rid, h = self._headers(receipt, {})
        self.conn.abort(transaction, headers=h)
        return self._finish(rid)

    # what arrives

    def expect_message(self, timeout=TIMEOUT):
        try:
            return self.listener.messages.get(timeout=timeout)
        except queue.Empty:
            errors = [(e.headers, e.body) for e in self.listener.errors.queue]
            raise AssertionError(f"no MESSAGE within {timeout} s; errors: {errors}") from None

    def expect_messages(self, n, timeout=TIMEOUT):
        """`n` messages; the timeout applies to the whole batch."""
        deadline = time.monotonic() + timeout
        got = []
        while len(got) < n:
            try:
                got.append(self.listener.messages.get(
                    timeout=max(deadline - time.monotonic(), 0)))
            except queue.Empty:
                raise AssertionError(f"{len(got)} of {n} messages within {timeout} s: "
                                     f"{[m.body[:40] for m in got[-5:]]}") from None
        return got

    def expect_no_message(self, timeout=ABSENCE):
        try:
            m = self.listener.messages.get(timeout=timeout)
        except queue.Empty:
            return
        raise AssertionError(f"unexpected MESSAGE {m.headers} {m.body[:80]!r}")

    def expect_error(self, closes=True, timeout=TIMEOUT):
        """An ERROR frame with a `message` header and a body; with `closes`, the
        connection then ends."""
        try:
            e = self.listener.errors.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"no ERROR within {timeout} s") from None
        assert e.headers.get("message"), f"ERROR without a message header: {e.headers}"
        assert e.body.strip(), f"ERROR without a body: {e.headers}"
        if closes:
            self.wait_disconnected(timeout)
        return e

    def drain(self):
        out = []
        while True:
            try:
                out.append(self.listener.messages.get_nowait())
            except queue.Empty:
                return out


def bodies(messages):
    return [m.body for m in messages]
