"""CONNECT and CONNACK: authentication, client identifiers, takeover, keep-alive."""

import time

import pytest
from paho.mqtt.packettypes import PacketTypes

import mqtt_raw
from mqtt_raw import CONNACK, DISCONNECT, PINGRESP
from support import ABSENCE, V5, VERSION_IDS, VERSIONS, Client, raw, reason, uid

both = pytest.mark.parametrize("version", VERSIONS, ids=VERSION_IDS)


def level(version):
    return 5 if version == V5 else 4


@both
def test_anonymous_client_is_accepted(gateway, version):
    c = Client(gateway, version=version)
    assert c.connack_reason.value == 0
    assert c.session_present is False


@both
def test_guest_guest_is_accepted(gateway, version):
    c = Client(gateway, version=version, username="guest", password="guest")
    assert c.connack_reason.value == 0
    # and it can work: a round trip through its own subscription
    topic = uid("auth")
    c.subscribe(topic, qos=1)
    c.publish(topic, b"hi", qos=1)
    assert c.expect_message().payload == b"hi"


@both
@pytest.mark.parametrize("user,password", [("guest", "wrong"), ("nobody", "guest"),
                                           ("guest", None)])
def test_bad_credentials_are_refused_with_the_versions_code(gateway, version, user, password):
    # MQTT-3.2.2-5 / v5 3.2.2.2: 3.1.1 return code 4, MQTT 5 reason 0x86, then close.
    # A user name without a password is also a bad user name or password.
    c = raw(gateway, level(version))
    connack = c.connect(uid("bad"), username=user, password=password)
    assert connack.reason == (0x86 if version == V5 else 4)
    assert connack.session_present is False  # MQTT-3.2.2-4
    c.wait_closed()


@both
def test_bad_password_is_refused_through_paho(gateway, version):
    c = Client(gateway, version=version, username="guest", password="nope",
               expect_success=False)
    assert c.connack_reason == reason(PacketTypes.CONNACK, "Bad user name or password")
    c.join()  # paho's loop ends: the server closed the connection


@both
def test_session_present_follows_clean_session(gateway, version):
    # MQTT-3.2.2-1..3 (v5: 3.2.2.1.1)
    cid = uid("sp")
    kw = {"session_expiry": 300} if version == V5 else {}
    a = Client(gateway, cid, version, clean=False, **kw)
    assert a.session_present is False
    a.subscribe("sp/" + cid, qos=1)
    a.disconnect()
    b = Client(gateway, cid, version, clean=False, **kw)
    assert b.session_present is True
    b.disconnect()
    c = Client(gateway, cid, version, clean=True)  # MQTT 5: expiry 0, ends at the close
    assert c.session_present is False
    c.disconnect()
    # The clean connection discarded the old session and its own ended with it.
    d = Client(gateway, cid, version, clean=False, **kw)
    assert d.session_present is False


@both
def test_takeover_disconnects_the_first_connection(gateway, version):
    # MQTT-3.1.4-2; v5 3.1.4: the first client gets DISCONNECT 0x8E "Session taken over".
    cid = uid("take")
    first = Client(gateway, cid, version)
    second = Client(gateway, cid, version)
    rc, _ = first.expect_disconnect()
    if version == V5:
        assert rc.value == 0x8E, f"expected DISCONNECT 0x8E, got {rc}"
    assert second.connected
    topic = uid("take")
    second.subscribe(topic, qos=1)
    second.publish(topic, b"still here", qos=1)
    assert second.expect_message().payload == b"still here"


@both
def test_takeover_across_shards_keeps_the_session(gateway, version):
    # Eight client ids: with two shards some first/second pair lands on different shards
    # (the kernel spreads connections; any placement must give the same result).
    kw = {"session_expiry": 300} if version == V5 else {}
    ids = [uid(f"x{i}") for i in range(8)]
    firsts = [Client(gateway, cid, version, clean=False, **kw) for cid in ids]
    for cid, c in zip(ids, firsts):
        c.subscribe(f"xs/{cid}", qos=1)
    seconds = [Client(gateway, cid, version, clean=False, **kw) for cid in ids]
    for c in firsts:
        c.expect_disconnect()
    for c in seconds:
        assert c.session_present is True, f"{c.client_id}: session lost in takeover"
    pub = Client(gateway, version=version)
    for cid in ids:
        pub.publish(f"xs/{cid}", cid.encode(), qos=1)
    for cid, c in zip(ids, seconds):
        msg = c.expect_message()
        assert (msg.topic, msg.payload) == (f"xs/{cid}", cid.encode())
    for c in firsts:
        c.expect_no_message(0.05)


@both
def test_keep_alive_timeout_closes_a_silent_client(gateway, version):
    # MQTT-3.1.2-24 (v5 3.1.2-22): no packet within 1.5 x keep-alive -> disconnect.
    c = raw(gateway, level(version))
    assert c.connect(uid("ka"), keepalive=1).reason == 0
    start = time.monotonic()
    c.wait_closed(timeout=1.5 + 1.5)
    elapsed = time.monotonic() - start
    assert elapsed >= 0.9, f"closed after {elapsed:.2f} s, before the keep-alive elapsed"


@both
def test_pings_keep_a_client_alive(gateway, version):
    c = raw(gateway, level(version))
    assert c.connect(uid("ping"), keepalive=1).reason == 0
    deadline = time.monotonic() + 3.0
    while time.monotonic() < deadline:
        c.send(mqtt_raw.PINGREQ_BYTES)
        assert c.expect(PINGRESP, timeout=1.0)
        time.sleep(0.5)  # pacing the client's pings: the behaviour under test
    c.send(mqtt_raw.PINGREQ_BYTES)
    c.expect(PINGRESP)


@both
def test_empty_client_id(gateway, version):
    c = raw(gateway, level(version))
    if version == V5:
        # v5 3.1.3-6/7: the server assigns one and returns it.
        connack = c.connect("", clean=True)
        assert connack.reason == 0
        assigned = connack.props.get(mqtt_raw.ASSIGNED_CLIENT_ID)
        assert assigned, f"no Assigned Client Identifier in {connack.props}"
    else:
        # MQTT-3.1.3-6: accepted with clean session 1 ...
        assert c.connect("", clean=True).reason == 0
        # ... MQTT-3.1.3-8: refused with return code 2 (identifier rejected) with 0.
        d = raw(gateway, 4)
        assert d.connect("", clean=False).reason == 2
        d.wait_closed()


def test_unsupported_protocol_level_is_refused(gateway):
    # MQTT-3.1.2-2: return code 1 (unacceptable protocol level) and close; a v5 server
    # answers an unknown level with CONNACK 0x84 or the 3.1.1 code 1 (v5 3.1.2.2).
    c = raw(gateway, 4)
    c.send(mqtt_raw.connect(uid("lvl"), version=7))
    packets = c.wait_closed()
    assert [p.kind for p in packets] in ([CONNACK], []), packets
    if packets:
        assert packets[0].body[1] in (0x01, 0x84), packets[0]


@both
def test_second_connect_is_a_protocol_violation(gateway, version):
    # MQTT-3.1.0-2: a second CONNECT is a protocol violation; the server disconnects.
    c = raw(gateway, level(version))
    cid = uid("twice")
    assert c.connect(cid).reason == 0
    c.send(mqtt_raw.connect(cid, version=level(version)))
    packets = c.wait_closed()
    assert all(p.kind == DISCONNECT and p.reason >= 0x80 for p in packets), packets


@both
def test_first_packet_must_be_connect(gateway, version):
    # MQTT-3.1.0-1: anything before CONNECT closes the connection.
    c = raw(gateway, level(version))
    c.send(mqtt_raw.publish("early", b"x", version=level(version)))
    packets = c.wait_closed()
    assert all(p.kind == DISCONNECT for p in packets), packets


@both
def test_other_clients_survive_a_refused_one(gateway, version):
    ok = Client(gateway, version=version)
    topic = uid("survive")
    ok.subscribe(topic)
    bad = raw(gateway, level(version))
    assert bad.connect(uid("bad"), username="x", password="y").reason != 0
    ok.publish(topic, b"fine")
    assert ok.expect_message().payload == b"fine"
    ok.expect_no_message(ABSENCE)
