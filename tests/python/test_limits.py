"""Limits with clear errors: maximum connections, maximum packet size, maximum inflight,
per-client queued messages (counted drops), and malformed input that closes one
connection and leaves every other client alone."""

import socket
import time

import pytest

import mqtt_raw
from mqtt_raw import CONNACK, DISCONNECT, PUBACK, PUBLISH
from support import ABSENCE, V5, VERSION_IDS, VERSIONS, Client, raw, uid, wait_until

both = pytest.mark.parametrize("version", VERSIONS, ids=VERSION_IDS)


def level(version):
    return 5 if version == V5 else 4


def try_connect(gw, version):
    """Opens a raw connection and sends CONNECT: (CONNACK reason or None, packets)."""
    c = raw(gw, level(version))
    try:
        c.send(mqtt_raw.connect(uid("lim"), version=level(version)))
        p = c.recv()
    except (mqtt_raw.Closed, ConnectionError):
        return None, c
    assert p.kind == CONNACK, p
    return p.reason, c


def assert_alive(gw, version=V5):
    """A fresh client can still do a QoS 1 round trip."""
    c = Client(gw, version=version)
    topic = uid("alive")
    c.subscribe(topic, qos=1)
    c.publish(topic, b"alive", qos=1)
    assert c.expect_message().payload == b"alive"
    c.disconnect()


def sys_counter(monitor, topic, timeout=5):
    """The next value of a $SYS counter the monitor is subscribed to."""
    deadline = time.monotonic() + timeout
    while True:
        m = monitor.expect_message(max(deadline - time.monotonic(), 0.01))
        if m.topic == topic:
            return int(m.payload)


@both
def test_max_connections(make_gateway, version):
    # Connections beyond the limit are refused: 3.1.1 CONNACK 3 (server unavailable) or a
    # plain close; MQTT 5 CONNACK 0x89 / 0x97 (or another failure code) or a plain close.
    gw = make_gateway(max_connections=4)
    clients = [Client(gw, version=version) for _ in range(4)]
    for _ in range(4):
        code, c = try_connect(gw, version)
        assert code is None or code != 0, "a connection beyond max_connections was accepted"
        if code is not None:
            assert code == 3 if version != V5 else code >= 0x80, code
            c.wait_closed()
    # The connected ones are unaffected, and a freed slot is usable again.
    clients[0].subscribe("lim/x", qos=1)
    clients[1].publish("lim/x", b"ok", qos=1)
    assert clients[0].expect_message().payload == b"ok"
    clients[3].disconnect()
    wait_until(lambda: try_connect(gw, version)[0] == 0, what="a free connection slot")


def test_max_inflight_bounds_unacked_messages_to_a_v311_client(make_gateway):
    # mqtt.max_inflight: at most that many unacknowledged QoS 1 PUBLISH to one client.
    gw = make_gateway(max_inflight=4)
    topic = uid("infl")
    c = raw(gw, 4)
    assert c.connect(uid("infl")).reason == 0
    assert c.subscribe([(topic, 1)]) == [1]
    pub = Client(gw, version=V5)
    for i in range(10):
        pub.publish(topic, b"%d" % i, qos=1)
    window = [c.expect(PUBLISH) for _ in range(4)]
    c.expect_nothing(0.5)
    got = list(window)
    while len(got) < 10:
        c.send(mqtt_raw.ack(PUBACK, window.pop(0).pid))
        window.append(c.expect(PUBLISH))
        got.append(window[-1])
        c.expect_nothing(0.05)
    assert [int(p.payload) for p in got] == list(range(10))


@both
def test_max_queued_messages_drops_are_counted(make_gateway, version):
    # An offline persistent session holds at most max_inflight + max_queued_messages
    # messages; the rest are dropped and counted in $SYS/broker/messages/dropped.
    gw = make_gateway(max_inflight=2, max_queued_messages=5, sys_interval=1)
    monitor = Client(gw, version=V5)
    monitor.subscribe("$SYS/broker/messages/dropped", qos=0)
    before = sys_counter(monitor, "$SYS/broker/messages/dropped")
    cid, topic = uid("full"), uid("full")
    kw = {"session_expiry": 600} if version == V5 else {}
    sub = Client(gw, cid, version, clean=False, **kw)
    sub.subscribe(topic, qos=1)
    sub.disconnect()
    pub = Client(gw, version=V5)
    for i in range(20):
        pub.publish(topic, b"%d" % i, qos=1)
    wait_until(lambda: sys_counter(monitor, "$SYS/broker/messages/dropped") >= before + 13,
               timeout=6, what="$SYS/broker/messages/dropped to count 13 drops")
    back = Client(gw, cid, version, clean=False, **kw)
    assert back.session_present
    got = back.expect_messages(5)
    got += back.drain() + [m for m in [_maybe(back)] if m]
    assert 5 <= len(got) <= 7, f"{len(got)} messages kept for a limit of 2 + 5"
    values = [int(m.payload) for m in got]
    assert values == sorted(values), "queued messages out of order"


def _maybe(client):
    try:
        return client.expect_message(ABSENCE)
    except AssertionError:
        return None


def test_qos0_to_a_client_that_does_not_read_is_dropped_and_counted(make_gateway):
    # QoS 0 beyond max_outbound_bytes for a client that does not read is dropped (and
    # counted); QoS 1 to other clients is unaffected.
    gw = make_gateway(max_packet_size=4096, max_outbound_bytes=4096, sys_interval=1)
    topic = uid("slow")
    monitor = Client(gw, version=V5)
    monitor.subscribe("$SYS/broker/messages/dropped", qos=0)
    before = sys_counter(monitor, "$SYS/broker/messages/dropped")
    stuck = raw(gw, 4, rcvbuf=4096)
    assert stuck.connect(uid("stuck")).reason == 0
    assert stuck.subscribe([(topic, 0)]) == [0]
    other = Client(gw, version=V5)
    other.subscribe(topic + "/end", qos=1)
    pub = Client(gw, version=V5)
    payload = b"x" * 1000
    for _ in range(8000):  # 8 MB: more than the kernel buffers between us and the stuck client
        pub.publish(topic, payload, qos=0, wait=False)
    pub.publish(topic + "/end", b"end", qos=1)
    assert other.expect_message(timeout=20).payload == b"end"
    wait_until(lambda: sys_counter(monitor, "$SYS/broker/messages/dropped") > before,
               timeout=6, what="$SYS/broker/messages/dropped to count the QoS 0 drops")
    assert_alive(gw)


def test_qos1_to_a_slow_online_client_is_held_back_not_lost(make_gateway):
    # The issue: "backpressure for QoS 1/2" beyond the queued-message limit; the
    # architecture: "Backpressure, not loss". An online client that acks late still gets
    # every QoS 1 message, in order.
    gw = make_gateway(max_inflight=2, max_queued_messages=5)
    topic = uid("bp")
    c = raw(gw, 4)
    assert c.connect(uid("bp")).reason == 0
    assert c.subscribe([(topic, 1)]) == [1]
    pub = Client(gw, version=V5)
    for i in range(20):
        pub.publish(topic, b"%d" % i, qos=1, wait=False)
    first = [c.expect(PUBLISH) for _ in range(2)]
    c.expect_nothing(0.5)
    got = []
    for p in first:
        got.append(p)
        c.send(mqtt_raw.ack(PUBACK, p.pid))
    while len(got) < 20:
        p = c.expect(PUBLISH, timeout=10)
        got.append(p)
        c.send(mqtt_raw.ack(PUBACK, p.pid))
    assert [int(p.payload) for p in got] == list(range(20))
    pub.publish(topic + "/x", b"", qos=1)  # the publisher is not stuck either


def test_a_held_back_publisher_gets_its_acks_once_the_subscriber_catches_up(make_gateway):
    # Backpressure for QoS 1/2: once a subscriber's queue is over its limit, the
    # publisher's PUBACKs wait (in order) until the subscriber catches up; nothing is
    # dropped. A 3.1.1 publisher that ignores any window is used, to see the acks.
    gw = make_gateway(max_inflight=2, max_queued_messages=5)
    topic = uid("held")
    sub = raw(gw, 4)
    assert sub.connect(uid("held-sub")).reason == 0
    assert sub.subscribe([(topic, 1)]) == [1]
    pub = raw(gw, 4)
    assert pub.connect(uid("held-pub")).reason == 0
    pub.send(b"".join(mqtt_raw.publish(topic, b"%d" % i, qos=1, pid=i + 1) for i in range(30)))
    # The subscriber's window (2) and queue (5) take the first 7; the rest are held.
    first = [sub.expect(PUBLISH) for _ in range(2)]
    acked = []
    try:
        while True:
            acked.append(pub.expect(PUBACK, timeout=ABSENCE).pid)
    except TimeoutError:
        pass
    assert len(acked) < 30, "every publish was acknowledged while the subscriber lagged"
    got = list(first)
    for p in first:
        sub.send(mqtt_raw.ack(PUBACK, p.pid))
    while len(got) < 30:
        p = sub.expect(PUBLISH, timeout=10)
        got.append(p)
        sub.send(mqtt_raw.ack(PUBACK, p.pid))
    assert [int(p.payload) for p in got] == list(range(30))
    while len(acked) < 30:
        acked.append(pub.expect(PUBACK, timeout=10).pid)
    assert acked == list(range(1, 31)), "PUBACKs in the order of the PUBLISHes [MQTT-4.6.0-2]"


def test_two_clients_publishing_to_each_other_while_lagging_do_not_deadlock(make_gateway):
    # Each holds the other back; both keep reading, so their acks still get through.
    gw = make_gateway(max_inflight=2, max_queued_messages=3)
    a, b = raw(gw, 4), raw(gw, 4)
    ta, tb = uid("to-a"), uid("to-b")
    assert a.connect(uid("a")).reason == 0 and b.connect(uid("b")).reason == 0
    assert a.subscribe([(ta, 1)]) == [1] and b.subscribe([(tb, 1)]) == [1]
    a.send(b"".join(mqtt_raw.publish(tb, b"%d" % i, qos=1, pid=i + 1) for i in range(20)))
    b.send(b"".join(mqtt_raw.publish(ta, b"%d" % i, qos=1, pid=i + 1) for i in range(20)))
    received = {id(a): [], id(b): []}
    acked = {id(a): 0, id(b): 0}
    deadline = time.monotonic() + 20
    while min(len(v) for v in received.values()) < 20 or min(acked.values()) < 20:
        assert time.monotonic() < deadline, (received, acked)
        for c in (a, b):
            try:
                p = c.recv(0.05)
            except TimeoutError:
                continue
            if p.kind == PUBLISH:
                received[id(c)].append(int(p.payload))
                c.send(mqtt_raw.ack(PUBACK, p.pid))
            elif p.kind == PUBACK:
                acked[id(c)] += 1
    assert received[id(a)] == list(range(20)) and received[id(b)] == list(range(20))


@both
def test_server_maximum_packet_size(make_gateway, version):
    # MQTT 5 3.2.2.3.6 / MQTT-3.2.2-15: a packet over the server's Maximum Packet Size is
    # answered with DISCONNECT 0x95 and the connection closed; 3.1.1 just closes.
    gw = make_gateway(max_packet_size=1024)
    watcher = Client(gw, version=version)
    topic = uid("big")
    watcher.subscribe(topic, qos=1)
    c = raw(gw, level(version))
    assert c.connect(uid("big")).reason == 0
    c.send(mqtt_raw.publish(topic, b"y" * 900, qos=1, pid=1, version=level(version)))
    assert c.expect(PUBACK).pid == 1
    assert watcher.expect_message().payload == b"y" * 900
    try:
        c.send(mqtt_raw.publish(topic, b"z" * 2000, qos=1, pid=2, version=level(version)))
    except ConnectionError:
        pass
    packets = c.wait_closed()
    if version == V5:
        assert [(p.kind, p.reason) for p in packets] == [(DISCONNECT, 0x95)], packets
    else:
        assert packets == [], packets
    watcher.expect_no_message()
    assert_alive(gw, version)


MALFORMED = {
    # remaining length with a fifth continuation byte (MQTT 2.2.3)
    "remaining-length-too-long": b"\x30\xff\xff\xff\xff\x7f",
    # packet type 0 is reserved (MQTT 2.2.1)
    "reserved-type-0": b"\x00\x00",
    # PUBLISH with both QoS bits set (MQTT-3.3.1-4)
    "publish-qos-3": b"\x36\x07\x00\x01a\x00\x01xy",
    # PUBLISH topic names must not contain wildcards (MQTT-3.3.2-2)
    "publish-wildcard-topic": mqtt_raw.publish("a/+", b"x"),
    # topic length beyond the packet
    "topic-length-overrun": b"\x30\x03\x00\x10a",
    # invalid UTF-8 in the topic (MQTT-1.5.3-1)
    "publish-invalid-utf8": b"\x30\x05\x00\x02\xff\xfex",
    # SUBSCRIBE with fixed-header flags 0000 instead of 0010 (MQTT-3.8.1-1)
    "subscribe-bad-flags": b"\x80\x06\x00\x01\x00\x01a\x00",
    # SUBSCRIBE with no topic filter (MQTT-3.8.3-3)
    "subscribe-empty": b"\x82\x02\x00\x01",
    # a second CONNECT (MQTT-3.1.0-2)
    "second-connect": mqtt_raw.connect("again"),
}


@both
@pytest.mark.parametrize("name", sorted(MALFORMED))
def test_malformed_packet_closes_only_that_connection(gateway, version, name):
    data = MALFORMED[name]
    if version == V5 and name in ("publish-wildcard-topic", "second-connect"):
        data = {"publish-wildcard-topic": mqtt_raw.publish("a/+", b"x", version=5),
                "second-connect": mqtt_raw.connect("again", version=5)}[name]
    if version == V5 and name in ("publish-qos-3", "topic-length-overrun",
                                  "publish-invalid-utf8"):
        # the same packets with an empty MQTT 5 property block
        data = {"publish-qos-3": b"\x36\x08\x00\x01a\x00\x01\x00xy",
                "topic-length-overrun": b"\x30\x04\x00\x10a\x00",
                "publish-invalid-utf8": b"\x30\x06\x00\x02\xff\xfe\x00x"}[name]
    if version == V5 and name == "subscribe-bad-flags":
        data = b"\x80\x07\x00\x01\x00\x00\x01a\x00"
    if version == V5 and name == "subscribe-empty":
        data = b"\x82\x03\x00\x01\x00"
    bystander = Client(gateway, version=version)
    topic = uid("by")
    bystander.subscribe(topic, qos=1)
    c = raw(gateway, level(version))
    assert c.connect(uid("bad")).reason == 0
    c.send(data)
    packets = c.wait_closed()
    assert all(p.kind == DISCONNECT and p.reason >= 0x80 for p in packets), packets
    if version != V5:
        assert packets == []
    bystander.publish(topic, b"unaffected", qos=1)
    assert bystander.expect_message().payload == b"unaffected"
    assert gateway.running
    assert_alive(gateway, version)


# An HTTP request reads as a PUBACK ("G" = 0x47) of remaining length 69 ("E"); the request
# is longer than that, so even a decoder that waits for whole packets has one to reject.
HTTP = b"GET / HTTP/1.1\r\nHost: x\r\nUser-Agent: " + b"x" * 80 + b"\r\n\r\n"


@pytest.mark.parametrize("data", [HTTP, b"\x10\xff\xff\xff\xff\xff", b"\x10\x00",
                                  bytes(range(256))],
                         ids=["http", "bad-length", "empty-connect", "noise"])
def test_garbage_before_connect_is_closed(gateway, data):
    # MQTT-3.1.0-1 (the first packet must be CONNECT) and 4.8 (malformed: close).
    c = raw(gateway, 4)
    try:
        c.send(data)
    except ConnectionError:
        pass
    packets = c.wait_closed()
    assert all(p.kind in (CONNACK, DISCONNECT) and p.reason != 0 for p in packets), packets
    assert_alive(gateway)


def test_half_a_packet_then_close(gateway):
    c = raw(gateway, 4)
    c.send(mqtt_raw.connect(uid("half"))[:7])
    c.close()
    s = socket.create_connection(gateway.address)
    s.close()
    assert_alive(gateway)
