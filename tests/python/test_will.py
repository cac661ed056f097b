"""Will messages: published on abnormal close, not on DISCONNECT; MQTT 5 DISCONNECT
0x04 and the will delay interval."""

import time

import pytest

import mqtt_raw
from support import TIMEOUT, V5, VERSION_IDS, VERSIONS, Client, raw, uid

both = pytest.mark.parametrize("version", VERSIONS, ids=VERSION_IDS)


def level(version):
    return 5 if version == V5 else 4


def will_client(gw, version, topic, payload=b"gone", qos=1, retain=False, will_props=None,
                keepalive=60, cid=None, session_expiry=None):
    c = raw(gw, level(version))
    will = {"topic": topic, "payload": payload, "qos": qos, "retain": retain,
            "props": will_props}
    props = None
    if session_expiry is not None:
        props = [(mqtt_raw.SESSION_EXPIRY, session_expiry)]
    assert c.connect(cid or uid("will"), will=will, keepalive=keepalive,
                     clean=session_expiry is None, props=props).reason == 0
    return c


def watcher(gw, topic, version=V5):
    w = Client(gw, version=version)
    w.subscribe(topic, qos=2)
    return w


@both
def test_will_is_published_on_abnormal_close(gateway, version):
    # MQTT-3.1.2-8: the will is published when the network connection closes without
    # DISCONNECT.
    topic = uid("will")
    w = watcher(gateway, topic, version)
    c = will_client(gateway, version, topic, b"died", qos=1)
    c.close()
    msg = w.expect_message()
    assert (msg.topic, msg.payload, msg.qos, msg.retain) == (topic, b"died", 1, False)
    w.expect_no_message()


@both
def test_will_is_not_published_after_disconnect(gateway, version):
    # MQTT-3.1.2-10 / MQTT-3.14.4-3: DISCONNECT discards the will.
    topic = uid("will")
    w = watcher(gateway, topic, version)
    c = will_client(gateway, version, topic)
    c.send(mqtt_raw.disconnect(level(version)))
    c.wait_closed()
    # A marker published after the DISCONNECT was handled, by another client: the will
    # would have been routed before it.
    Client(gateway, version=version).publish(topic, b"marker", qos=1)
    assert w.expect_message().payload == b"marker"
    w.expect_no_message()


@both
def test_will_is_published_on_keep_alive_timeout(gateway, version):
    topic = uid("will")
    w = watcher(gateway, topic, version)
    start = time.monotonic()
    will_client(gateway, version, topic, b"timed out", keepalive=1)
    msg = w.expect_message(timeout=1.5 + 2)
    assert msg.payload == b"timed out"
    assert time.monotonic() - start >= 0.9


@both
def test_will_is_published_on_protocol_violation(gateway, version):
    # MQTT-3.1.2-8 (3.1.1): "the Server closes the Network Connection because of a protocol
    # error" publishes the will.
    topic = uid("will")
    w = watcher(gateway, topic, version)
    c = will_client(gateway, version, topic, b"violated")
    c.send(bytes([0x00, 0x00]))  # packet type 0 is reserved
    c.wait_closed()
    assert w.expect_message().payload == b"violated"


@both
def test_retained_will(gateway, version):
    topic = uid("will")
    c = will_client(gateway, version, topic, b"last words", retain=True)
    w = watcher(gateway, topic, version)
    c.close()
    assert w.expect_message().payload == b"last words"
    late = Client(gateway, version=version)
    late.subscribe(topic, qos=1)
    msg = late.expect_message()
    assert (msg.payload, msg.retain) == (b"last words", True)


def test_v5_disconnect_with_will_message_publishes_the_will(gateway):
    # v5 3.14.2.1: reason 0x04 "Disconnect with Will Message".
    topic = uid("will")
    w = watcher(gateway, topic)
    c = will_client(gateway, V5, topic, b"on purpose")
    c.send(mqtt_raw.disconnect(5, reason=0x04))
    c.wait_closed()
    assert w.expect_message().payload == b"on purpose"


def test_v5_will_properties_are_passed_through(gateway):
    # v5 3.1.3.2: the will's properties go with the published will.
    topic = uid("will")
    w = watcher(gateway, topic)
    c = will_client(gateway, V5, topic, b"{}", will_props=[
        (mqtt_raw.CONTENT_TYPE, "application/json"),
        (mqtt_raw.RESPONSE_TOPIC, "reply/here"),
        (mqtt_raw.CORRELATION_DATA, b"\x01\x02"),
        (mqtt_raw.USER_PROPERTY, ("k", "v")),
    ])
    c.close()
    msg = w.expect_message()
    p = msg.properties
    assert p.ContentType == "application/json"
    assert p.ResponseTopic == "reply/here"
    assert p.CorrelationData == b"\x01\x02"
    assert p.UserProperty == [("k", "v")]


def test_v5_will_delay_interval(gateway):
    # v5 3.1.3.2.2: the will is published after the delay, not at the close.
    topic = uid("will")
    w = watcher(gateway, topic)
    c = will_client(gateway, V5, topic, b"late", session_expiry=60,
                    will_props=[(mqtt_raw.WILL_DELAY, 2)])
    c.close()
    closed = time.monotonic()
    msg = w.expect_message(timeout=2 + TIMEOUT)
    elapsed = time.monotonic() - closed
    assert msg.payload == b"late"
    assert elapsed >= 1.5, f"will published after {elapsed:.2f} s, before its 2 s delay"
    assert elapsed <= 4.0, f"will published after {elapsed:.2f} s for a 2 s delay"


def test_v5_will_is_not_published_when_the_client_comes_back_in_time(gateway):
    # v5 3.1.3.2.2 / MQTT-3.1.3-9: a new connection to the session before the delay
    # passed cancels the will. A second client with the same delay, closed at the same
    # moment and not coming back, tells when the first will would have been due.
    topic = uid("will")
    w = watcher(gateway, topic)
    delay = [(mqtt_raw.WILL_DELAY, 1)]
    cid = uid("back")
    back = will_client(gateway, V5, topic, b"back", cid=cid, session_expiry=60, will_props=delay)
    gone = will_client(gateway, V5, topic, b"gone", session_expiry=60, will_props=delay)
    back.close()
    gone.close()
    again = raw(gateway, 5)
    connack = again.connect(cid, clean=False, props=[(mqtt_raw.SESSION_EXPIRY, 60)])
    assert connack.reason == 0 and connack.session_present
    assert w.expect_message(timeout=1 + TIMEOUT).payload == b"gone"
    w.expect_no_message(0.5)


def test_v5_will_is_published_when_the_session_ends_first(gateway):
    # v5 3.1.3.2.2: the will goes at the delay or at the end of the session, whichever
    # comes first: session expiry 1 s, will delay 30 s.
    topic = uid("will")
    w = watcher(gateway, topic)
    c = will_client(gateway, V5, topic, b"session over", session_expiry=1,
                    will_props=[(mqtt_raw.WILL_DELAY, 30)])
    c.close()
    closed = time.monotonic()
    assert w.expect_message(timeout=1 + TIMEOUT).payload == b"session over"
    assert time.monotonic() - closed < 1 + 2.5


def test_will_across_shards(gateway):
    # Eight will clients and eight watchers, spread over the shards: every watcher gets
    # every will.
    topic = uid("will")
    watchers = [watcher(gateway, topic + "/#") for _ in range(8)]
    clients = [will_client(gateway, V5, f"{topic}/{i}", b"%d" % i) for i in range(8)]
    for c in clients:
        c.close()
    for w in watchers:
        got = sorted(m.payload for m in w.expect_messages(8))
        assert got == sorted(b"%d" % i for i in range(8))
        w.expect_no_message(0.05)
