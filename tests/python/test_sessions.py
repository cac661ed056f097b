"""Persistent sessions: queued messages, retransmission on reconnect, session expiry,
and sessions resumed on another shard."""

import time

import pytest

import mqtt_raw
from mqtt_raw import PUBCOMP, PUBLISH, PUBREC, PUBREL
from support import ABSENCE, V5, VERSION_IDS, VERSIONS, Client, raw, uid

both = pytest.mark.parametrize("version", VERSIONS, ids=VERSION_IDS)


def persistent(version):
    """Keyword arguments for a session that outlives the connection."""
    return {"clean": False, **({"session_expiry": 600} if version == V5 else {})}


def raw_persistent(gw, version, cid, clean=False):
    v = 5 if version == V5 else 4
    c = raw(gw, v)
    props = [(mqtt_raw.SESSION_EXPIRY, 600)] if v == 5 else None
    connack = c.connect(cid, clean=clean, props=props)
    assert connack.reason == 0
    return c, connack


@both
def test_queued_messages_are_delivered_after_reconnect(gateway, version):
    cid, topic = uid("q"), uid("queued")
    sub = Client(gateway, cid, version, **persistent(version))
    sub.subscribe(topic, qos=2)
    sub.disconnect()
    pub = Client(gateway, version=version)
    for i in range(10):
        pub.publish(topic, b"%d" % i, qos=1 + i % 2)
    back = Client(gateway, cid, version, **persistent(version))
    assert back.session_present is True
    msgs = back.expect_messages(10)
    # Order holds per topic, publisher and QoS (MQTT 4.6), so look at each QoS alone.
    for qos in (1, 2):
        got = [int(m.payload) for m in msgs if m.qos == qos]
        assert got == [i for i in range(10) if 1 + i % 2 == qos], f"QoS {qos}: {got}"
    # The subscription is still there for live messages.
    pub.publish(topic, b"live", qos=1)
    assert back.expect_message().payload == b"live"
    back.expect_no_message()


@both
def test_clean_session_discards_the_queue(gateway, version):
    cid, topic = uid("c"), uid("discard")
    sub = Client(gateway, cid, version, **persistent(version))
    sub.subscribe(topic, qos=1)
    sub.disconnect()
    pub = Client(gateway, version=version)
    pub.publish(topic, b"lost", qos=1)
    fresh = Client(gateway, cid, version, clean=True)
    assert fresh.session_present is False
    fresh.expect_no_message()
    pub.publish(topic, b"not subscribed", qos=1)
    fresh.expect_no_message()


def test_v5_session_expiry(gateway):
    # v5 3.1.2.11.2: the session is discarded when the interval has passed after the
    # connection closed.
    cid, topic = uid("exp"), uid("expiry")
    sub = Client(gateway, cid, V5, clean=False, session_expiry=1)
    sub.subscribe(topic, qos=1)
    sub.disconnect()
    pub = Client(gateway, version=V5)
    pub.publish(topic, b"before expiry", qos=1)
    time.sleep(2.0)  # the session's 1 s expiry is the behaviour under test
    back = Client(gateway, cid, V5, clean=False, session_expiry=1)
    assert back.session_present is False, "session outlived its expiry interval"
    back.expect_no_message()


def test_v5_session_survives_within_its_expiry(gateway):
    cid, topic = uid("exp"), uid("expiry")
    sub = Client(gateway, cid, V5, clean=False, session_expiry=30)
    sub.subscribe(topic, qos=1)
    sub.disconnect()
    pub = Client(gateway, version=V5)
    pub.publish(topic, b"kept", qos=1)
    back = Client(gateway, cid, V5, clean=False, session_expiry=30)
    assert back.session_present is True
    assert back.expect_message().payload == b"kept"


def test_v5_session_expiry_zero_ends_at_disconnect(gateway):
    # v5 3.1.2.11.2: absent or 0, the session ends when the connection closes, even with
    # Clean Start 0.
    cid = uid("zero")
    a = Client(gateway, cid, V5, clean=False)
    a.subscribe(uid("t"), qos=1)
    a.disconnect()
    b = Client(gateway, cid, V5, clean=False)
    assert b.session_present is False


def test_v5_disconnect_can_shorten_the_expiry(gateway):
    # v5 3.14.2.2.2: the DISCONNECT's Session Expiry Interval replaces the CONNECT's.
    cid = uid("short")
    a = Client(gateway, cid, V5, clean=False, session_expiry=600)
    a.subscribe(uid("t"), qos=1)
    a.disconnect(props={"SessionExpiryInterval": 0})
    b = Client(gateway, cid, V5, clean=False, session_expiry=600)
    assert b.session_present is False


@both
def test_unacked_qos1_is_resent_with_dup_and_the_same_ids(gateway, version):
    # MQTT-4.4.0-1: on reconnect with a persistent session the server re-sends every
    # unacknowledged PUBLISH with its original packet id, DUP set (MQTT-3.3.1-1), in the
    # original order (MQTT-4.6.0-1).
    cid, topic = uid("re"), uid("resend")
    c, _ = raw_persistent(gateway, version, cid)
    assert c.subscribe([(topic, 1)]) == [1]
    pub = Client(gateway, version=version)
    for i in range(3):
        pub.publish(topic, b"m%d" % i, qos=1)
    first = [c.expect(PUBLISH) for _ in range(3)]
    assert [p.payload for p in first] == [b"m0", b"m1", b"m2"]
    assert len({p.pid for p in first}) == 3, "packet ids reused while in flight"
    c.close()  # no PUBACK, no DISCONNECT
    c2, connack = raw_persistent(gateway, version, cid)
    assert connack.session_present is True
    again = [c2.expect(PUBLISH) for _ in range(3)]
    assert [(p.pid, p.payload, p.qos) for p in again] == [(p.pid, p.payload, 1) for p in first]
    assert all(p.dup for p in again), "retransmitted PUBLISH without DUP"
    for p in again:
        c2.send(mqtt_raw.ack(mqtt_raw.PUBACK, p.pid, c2.version))
    c2.expect_nothing(ABSENCE)
    c2.close()
    # Acked: not sent a third time.
    c3, _ = raw_persistent(gateway, version, cid)
    c3.expect_nothing(ABSENCE)


@both
def test_unacked_qos2_publish_and_pubrel_are_resent(gateway, version):
    # MQTT-4.4.0-1: unacknowledged PUBLISH (no PUBREC) is re-sent with DUP; a PUBREL
    # whose PUBCOMP never came is re-sent, and the PUBLISH is not.
    cid, topic = uid("q2"), uid("resend2")
    c, _ = raw_persistent(gateway, version, cid)
    assert c.subscribe([(topic, 2)]) == [2]
    pub = Client(gateway, version=version)
    pub.publish(topic, b"a", qos=2)
    pub.publish(topic, b"b", qos=2)
    a, b = c.expect(PUBLISH), c.expect(PUBLISH)
    assert (a.payload, b.payload, a.qos, b.qos) == (b"a", b"b", 2, 2)
    c.send(mqtt_raw.ack(PUBREC, a.pid, c.version))
    assert c.expect(PUBREL).pid == a.pid
    c.close()  # "a": PUBREL unanswered; "b": PUBLISH unanswered
    c2, connack = raw_persistent(gateway, version, cid)
    assert connack.session_present is True
    rel = c2.expect(PUBREL)
    assert rel.pid == a.pid
    again = c2.expect(PUBLISH)
    assert (again.pid, again.payload, again.dup) == (b.pid, b"b", True)
    c2.send(mqtt_raw.ack(PUBCOMP, a.pid, c2.version))
    c2.send(mqtt_raw.ack(PUBREC, b.pid, c2.version))
    assert c2.expect(PUBREL).pid == b.pid
    c2.send(mqtt_raw.ack(PUBCOMP, b.pid, c2.version))
    c2.expect_nothing(ABSENCE)  # in particular "a" is not delivered again


@both
def test_inbound_qos2_completed_after_reconnect_is_delivered_once(gateway, version):
    # The server keeps the inbound QoS 2 state in the session: a PUBREL sent on a new
    # connection completes it (PUBCOMP), and subscribers get the message exactly once.
    v = 5 if version == V5 else 4
    cid, topic = uid("in2"), uid("inbound2")
    sub = Client(gateway, version=version)
    sub.subscribe(topic, qos=2)
    p, _ = raw_persistent(gateway, version, cid)
    p.send(mqtt_raw.publish(topic, b"once", qos=2, pid=42, version=v))
    assert p.expect(PUBREC).pid == 42
    p.close()
    p2, connack = raw_persistent(gateway, version, cid)
    assert connack.session_present is True
    p2.send(mqtt_raw.publish(topic, b"once", qos=2, pid=42, dup=True, version=v))
    assert p2.expect(PUBREC).pid == 42
    p2.send(mqtt_raw.ack(PUBREL, 42, v))
    assert p2.expect(PUBCOMP).pid == 42
    assert sub.expect_message().payload == b"once"
    sub.expect_no_message()


@both
def test_retransmission_with_paho_manual_ack(gateway, version):
    cid, topic = uid("man"), uid("manual")
    sub = Client(gateway, cid, version, manual_ack=True, **persistent(version))
    sub.subscribe(topic, qos=1)
    pub = Client(gateway, version=version)
    pub.publish(topic, b"ack me", qos=1)
    first = sub.expect_message()
    assert (first.payload, first.dup) == (b"ack me", False)
    sub.close()  # never acked
    back = Client(gateway, cid, version, manual_ack=True, **persistent(version))
    assert back.session_present is True
    again = back.expect_message()
    assert (again.payload, again.dup, again.qos) == (b"ack me", True, 1)
    back.ack(again)
    # A SUBACK after the PUBACK: the server has taken the ack (packets of a connection
    # are handled in order) before the next connection takes the session over. (A
    # takeover does not wait for what the old connection has not read yet.)
    back.subscribe(uid("barrier"), qos=0)
    back.disconnect()
    last = Client(gateway, cid, version, **persistent(version))
    last.expect_no_message()


@both
def test_sessions_resume_on_any_shard(gateway, version):
    # Eight persistent sessions; reconnections land wherever the kernel puts them, so
    # with two shards some resume on a shard other than the one that held them.
    ids = [uid(f"s{i}") for i in range(8)]
    for cid in ids:
        c = Client(gateway, cid, version, **persistent(version))
        c.subscribe(f"res/{cid}", qos=1)
        c.disconnect()
    pub = Client(gateway, version=version)
    for cid in ids:
        pub.publish(f"res/{cid}", cid.encode(), qos=1)
    for cid in ids:
        c = Client(gateway, cid, version, **persistent(version))
        assert c.session_present is True
        msg = c.expect_message()
        assert (msg.topic, msg.payload) == (f"res/{cid}", cid.encode())
        c.expect_no_message(0.05)
