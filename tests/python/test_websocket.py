"""The WebSocket listener itself (RFC 6455): handshake validation, masking, fragmentation,
ping/pong, close codes and the maximum message size, with raw frames; and MQTT over
WebSocket with paho-mqtt's websockets transport."""

import base64
import hashlib
import os
import socket
import struct

import paho.mqtt.client as paho
import pytest

import mqtt_raw
from support import V5, Client, uid

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
TIMEOUT = 5.0


class RawWs:
    """A WebSocket client that writes exactly the frames a test asks for."""

    def __init__(self, gw, path="/mqtt", protocols=("mqtt",), version="13", extra=b""):
        self.sock = socket.create_connection(("127.0.0.1", gw.ws_port), timeout=TIMEOUT)
        self.key = base64.b64encode(os.urandom(16))
        lines = [b"GET " + path.encode() + b" HTTP/1.1", b"Host: 127.0.0.1",
                 b"Upgrade: websocket", b"Connection: Upgrade",
                 b"Sec-WebSocket-Key: " + self.key,
                 b"Sec-WebSocket-Version: " + version.encode()]
        if protocols:
            lines.append(b"Sec-WebSocket-Protocol: " + ", ".join(protocols).encode())
        self.sock.sendall(b"\r\n".join(lines) + b"\r\n" + extra + b"\r\n")
        self.buf = b""
        head = self._until(b"\r\n\r\n")
        self.status = int(head.split(b" ")[1])
        self.headers = {}
        for line in head.split(b"\r\n")[1:]:
            if b":" in line:
                k, v = line.split(b":", 1)
                self.headers[k.strip().lower().decode()] = v.strip().decode()

    def _until(self, marker):
        while marker not in self.buf:
            data = self.sock.recv(65536)
            if not data:
                raise ConnectionError("closed during the handshake")
            self.buf += data
        head, self.buf = self.buf.split(marker, 1)
        return head

    def accept_ok(self):
        expected = base64.b64encode(hashlib.sha1(self.key + GUID).digest()).decode()
        return self.status == 101 and self.headers.get("sec-websocket-accept") == expected

    def frame(self, opcode, payload=b"", fin=True, mask=True, rsv=0):
        head = bytes([(0x80 if fin else 0) | rsv << 4 | opcode])
        n = len(payload)
        m = 0x80 if mask else 0
        if n < 126:
            head += bytes([m | n])
        elif n < 65536:
            head += bytes([m | 126]) + struct.pack("!H", n)
        else:
            head += bytes([m | 127]) + struct.pack("!Q", n)
        if mask:
            key = os.urandom(4)
            payload = bytes(b ^ key[i % 4] for i, b in enumerate(payload))
            head += key
        self.sock.sendall(head + payload)

    def _read(self, n):
        while len(self.buf) < n:
            data = self.sock.recv(65536)
            if not data:
                raise ConnectionError("closed")
            self.buf += data
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def recv(self):
        """(opcode, payload) of the next server frame; servers never mask."""
        b0, b1 = self._read(2)
        assert not b1 & 0x80, "a server frame was masked"
        n = b1 & 0x7F
        if n == 126:
            n = struct.unpack("!H", self._read(2))[0]
        elif n == 127:
            n = struct.unpack("!Q", self._read(8))[0]
        return b0 & 0x0F, self._read(n)

    def expect_close(self):
        """Reads until a Close frame: its code (None if empty)."""
        while True:
            op, payload = self.recv()
            if op == 8:
                return struct.unpack("!H", payload[:2])[0] if payload else None

    def closed_afterwards(self):
        try:
            while self.sock.recv(65536):
                pass
        except (ConnectionError, socket.timeout):
            return False
        return True


def test_the_handshake_answers_with_the_accept_key_and_subprotocol(gateway):
    ws = RawWs(gateway)
    assert ws.accept_ok(), (ws.status, ws.headers)
    assert ws.headers.get("sec-websocket-protocol") == "mqtt"


@pytest.mark.parametrize("path,version,status", [
    ("/elsewhere", "13", 404),
    ("/mqtt", "8", 426),
])
def test_bad_handshakes_get_http_errors(gateway, path, version, status):
    ws = RawWs(gateway, path=path, version=version)
    assert ws.status == status
    if status == 426:
        assert ws.headers.get("sec-websocket-version") == "13"


def test_mqtt_needs_its_subprotocol_when_others_are_offered(gateway):
    assert RawWs(gateway, protocols=("v12.stomp",)).status == 400


def test_mqtt_over_raw_frames_fragmented_and_with_a_ping_between(gateway):
    ws = RawWs(gateway)
    connect = mqtt_raw.connect(uid("ws"), version=4)
    ws.frame(2, connect[:5], fin=False)
    ws.frame(9, b"are you there")  # a control frame inside a fragmented message
    ws.frame(0, connect[5:], fin=True)
    op, payload = ws.recv()
    assert (op, payload) == (10, b"are you there"), "Pong with the Ping's payload first"
    op, payload = ws.recv()
    assert op == 2 and payload[0] == 0x20, "CONNACK in a binary frame"


def test_an_unmasked_client_frame_is_a_protocol_error(gateway):
    ws = RawWs(gateway)
    ws.frame(2, mqtt_raw.connect(uid("ws"), version=4), mask=False)
    assert ws.expect_close() == 1002
    assert ws.closed_afterwards()


def test_reserved_bits_are_a_protocol_error(gateway):
    ws = RawWs(gateway)
    ws.frame(2, mqtt_raw.connect(uid("ws"), version=4), rsv=4)
    assert ws.expect_close() == 1002


def test_a_message_over_the_maximum_size_is_1009(make_gateway):
    gw = make_gateway(websocket={"max_message_size": 2048})
    ws = RawWs(gw)
    ws.frame(2, b"\x30" + b"x" * 4096)
    assert ws.expect_close() == 1009


def test_a_client_close_is_echoed(gateway):
    ws = RawWs(gateway)
    ws.frame(2, mqtt_raw.connect(uid("ws"), version=4))
    assert ws.recv()[0] == 2
    ws.frame(8, struct.pack("!H", 1000) + b"bye")
    assert ws.expect_close() == 1000
    assert ws.closed_afterwards()


def test_invalid_utf8_in_a_text_message_is_1007(gateway):
    ws = RawWs(gateway, path="/stomp", protocols=("v12.stomp",))
    ws.frame(1, b"CONNECT\n\n\xff\x00")
    assert ws.expect_close() == 1007


def paho_ws(gw, client_id, version=paho.MQTTv5):
    c = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id=client_id, protocol=version,
                    transport="websockets")
    c.ws_set_options(path="/mqtt")
    return c


@pytest.mark.parametrize("version", [paho.MQTTv311, paho.MQTTv5], ids=["v311", "v5"])
def test_paho_over_websocket_meets_a_tcp_client(gateway, version):
    import queue
    got = queue.Queue()
    connected = queue.Queue()
    c = paho_ws(gateway, uid("pws"), version)
    c.on_connect = lambda *a: connected.put(a)
    c.on_message = lambda cl, ud, msg: got.put(msg)
    c.connect("127.0.0.1", gateway.ws_port)
    c.loop_start()
    try:
        connected.get(timeout=TIMEOUT)
        topic = uid("ws/topic")
        subscribed = queue.Queue()
        c.on_subscribe = lambda *a: subscribed.put(a)
        c.subscribe(topic, qos=1)
        subscribed.get(timeout=TIMEOUT)
        tcp = Client(gateway, version=V5)
        tcp.publish(topic, b"tcp to ws", qos=1)
        msg = got.get(timeout=TIMEOUT)
        assert (msg.topic, msg.payload, msg.qos) == (topic, b"tcp to ws", 1)
        tcp.subscribe(topic + "/back", qos=1)
        c.publish(topic + "/back", b"ws to tcp", qos=1).wait_for_publish(TIMEOUT)
        assert tcp.expect_message().payload == b"ws to tcp"
    finally:
        c.loop_stop()
        c.disconnect()
