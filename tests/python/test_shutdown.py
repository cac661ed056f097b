"""SIGTERM / SIGINT: MQTT 5 clients get DISCONNECT 0x8B "Server shutting down", every
connection is closed, and the process exits 0 within a few seconds."""

import signal
import time

import pytest

import mqtt_raw
from mqtt_raw import DISCONNECT
from support import V5, V311, Client, raw, uid

SIGNALS = pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["TERM", "INT"])


@SIGNALS
def test_shutdown_disconnects_every_client_and_exits_0(gateway, sig):
    v5 = [Client(gateway, version=V5) for _ in range(8)]  # on both shards
    v3 = [Client(gateway, version=V311) for _ in range(4)]
    start = time.monotonic()
    gateway.stop_clean(sig)
    assert time.monotonic() - start < 5
    for c in v5:
        rc, _ = c.expect_disconnect()
        assert rc.value == 0x8B, f"{c.client_id}: DISCONNECT {rc}, expected 0x8B"
    for c in v3:
        c.expect_disconnect()


@SIGNALS
def test_shutdown_on_the_wire(gateway, sig):
    # v5 3.14: DISCONNECT 0x8B, flushed before the close (the client reads it, no reset).
    clients = [raw(gateway, 5) for _ in range(4)]
    olds = [raw(gateway, 4) for _ in range(2)]
    for c in clients + olds:
        assert c.connect(uid("sd")).reason == 0
    gateway.stop_clean(sig)
    for c in clients:
        packets = c.wait_closed()
        assert [(p.kind, p.reason) for p in packets] == [(DISCONNECT, 0x8B)], packets
    for c in olds:
        assert c.wait_closed() == []  # 3.1.1 has no server DISCONNECT


def test_shutdown_with_a_client_that_does_not_read(make_gateway):
    # Draining is bounded: a client whose buffers are full does not hold up the exit.
    gw = make_gateway(max_packet_size=65536, max_outbound_bytes=1 << 20)
    topic = uid("stuck")
    stuck = raw(gw, 5, rcvbuf=4096)
    assert stuck.connect(uid("stuck")).reason == 0
    assert stuck.subscribe([(topic, 0)]) == [0]
    pub = Client(gw, version=V5)
    for _ in range(300):
        pub.publish(topic, b"s" * 30000, qos=0, wait=False)
    pub.publish(topic + "/sync", b"", qos=1)
    gw.stop_clean(signal.SIGTERM)


def test_shutdown_with_a_half_sent_packet_and_a_pre_connect_socket(gateway):
    half = raw(gateway, 4)
    half.send(mqtt_raw.connect(uid("half"))[:5])
    idle = raw(gateway, 4)  # connected, never says anything
    mid = raw(gateway, 5)
    assert mid.connect(uid("mid")).reason == 0
    mid.send(mqtt_raw.publish("t", b"x" * 100, version=5)[:20])
    gateway.stop_clean(signal.SIGTERM)
    for c in (half, idle):
        c.wait_closed()


def test_shutdown_with_persistent_sessions_and_inflight_messages(gateway):
    topic = uid("inflight")
    sub = Client(gateway, uid("p"), V5, clean=False, session_expiry=600, manual_ack=True)
    sub.subscribe(topic, qos=2)
    pub = Client(gateway, version=V5)
    for i in range(5):
        pub.publish(topic, b"%d" % i, qos=2)
    sub.expect_messages(5)  # never acked
    gateway.stop_clean(signal.SIGTERM)
    rc, _ = sub.expect_disconnect()
    assert rc.value == 0x8B


def test_restart_serves_again(gateway):
    Client(gateway, version=V5).disconnect()
    gateway.restart()
    c = Client(gateway, version=V5)
    topic = uid("again")
    c.subscribe(topic, qos=1)
    c.publish(topic, b"back", qos=1)
    assert c.expect_message().payload == b"back"
