"""Retained messages: stored, replaced, cleared, delivered on subscribe with the retain
flag; MQTT 5 retain handling and retain-as-published."""

import pytest

from support import ABSENCE, V5, VERSION_IDS, VERSIONS, Client, uid

both = pytest.mark.parametrize("version", VERSIONS, ids=VERSION_IDS)


@both
def test_retained_message_is_stored_and_delivered_on_subscribe(gateway, version):
    # MQTT-3.3.1-5/6: stored, and sent to new subscribers with RETAIN 1 (MQTT-3.3.1-8).
    topic = uid("ret")
    pub = Client(gateway, version=version)
    pub.publish(topic, b"kept", qos=1, retain=True)
    for _ in range(2):  # every new subscriber gets it
        sub = Client(gateway, version=version)
        sub.subscribe(topic, qos=1)
        msg = sub.expect_message()
        assert (msg.topic, msg.payload, msg.retain, msg.qos) == (topic, b"kept", True, 1)
        sub.expect_no_message()


@both
def test_retained_message_is_replaced(gateway, version):
    topic = uid("ret")
    pub = Client(gateway, version=version)
    pub.publish(topic, b"old", qos=1, retain=True)
    pub.publish(topic, b"new", qos=1, retain=True)
    sub = Client(gateway, version=version)
    sub.subscribe(topic, qos=1)
    msg = sub.expect_message()
    assert (msg.payload, msg.retain) == (b"new", True)
    sub.expect_no_message()


@both
def test_empty_retained_payload_clears_and_is_forwarded(gateway, version):
    # MQTT-3.3.1-10/11: a zero-length retained PUBLISH removes the retained message; it
    # is still forwarded to current subscribers as a normal message.
    topic = uid("ret")
    pub = Client(gateway, version=version)
    pub.publish(topic, b"doomed", qos=1, retain=True)
    live = Client(gateway, version=version)
    live.subscribe(topic, qos=1)
    assert live.expect_message().payload == b"doomed"
    pub.publish(topic, b"", qos=1, retain=True)
    cleared = live.expect_message()
    assert cleared.payload == b""
    late = Client(gateway, version=version)
    late.subscribe(topic, qos=1)
    late.expect_no_message()


@both
def test_live_messages_to_existing_subscribers_have_retain_0(gateway, version):
    # MQTT-3.3.1-9 (3.1.1); in MQTT 5 with Retain As Published 0, likewise.
    topic = uid("ret")
    sub = Client(gateway, version=version)
    sub.subscribe(topic, qos=1)
    pub = Client(gateway, version=version)
    pub.publish(topic, b"live", qos=1, retain=True)
    msg = sub.expect_message()
    assert (msg.payload, msg.retain) == (b"live", False)


@both
def test_wildcard_subscription_gets_every_matching_retained_message(gateway, version):
    base = uid("ret")
    pub = Client(gateway, version=version)
    for t in ["a", "b/c", "b/d"]:
        pub.publish(f"{base}/{t}", t.encode(), qos=1, retain=True)
    pub.publish(f"{uid('other')}/a", b"no", qos=1, retain=True)
    sub = Client(gateway, version=version)
    sub.subscribe(f"{base}/#", qos=1)
    got = sorted((m.topic, m.payload, m.retain) for m in sub.expect_messages(3))
    assert got == [(f"{base}/a", b"a", True), (f"{base}/b/c", b"b/c", True),
                   (f"{base}/b/d", b"b/d", True)]
    sub.expect_no_message()
    plus = Client(gateway, version=version)
    plus.subscribe(f"{base}/+/d", qos=1)
    assert plus.expect_message().topic == f"{base}/b/d"
    plus.expect_no_message()


@both
def test_retained_qos_is_the_minimum(gateway, version):
    topic = uid("ret")
    pub = Client(gateway, version=version)
    pub.publish(topic, b"q2", qos=2, retain=True)
    low = Client(gateway, version=version)
    low.subscribe(topic, qos=0)
    assert low.expect_message().qos == 0
    high = Client(gateway, version=version)
    high.subscribe(topic, qos=2)
    assert high.expect_message().qos == 2


@both
def test_retained_message_survives_the_publisher(gateway, version):
    topic = uid("ret")
    pub = Client(gateway, version=version)
    pub.publish(topic, b"orphan", qos=1, retain=True)
    pub.disconnect()
    sub = Client(gateway, version=version)
    sub.subscribe(topic, qos=1)
    assert sub.expect_message().payload == b"orphan"


@pytest.mark.parametrize("handling,first,again", [(0, True, True), (1, True, False),
                                                  (2, False, False)])
def test_v5_retain_handling(gateway, handling, first, again):
    # v5 3.8.3.1: 0 = send retained at subscribe; 1 = only if the subscription did not
    # exist; 2 = never.
    topic = uid("rh")
    pub = Client(gateway, version=V5)
    pub.publish(topic, b"r", qos=1, retain=True)
    sub = Client(gateway, version=V5)
    for expected in (first, again):
        sub.subscribe(topic, qos=1, retain_handling=handling)
        if expected:
            msg = sub.expect_message()
            assert (msg.payload, msg.retain) == (b"r", True)
        else:
            sub.expect_no_message()


@pytest.mark.parametrize("rap", [False, True])
def test_v5_retain_as_published(gateway, rap):
    # v5 3.8.3.1 / MQTT-3.3.1-12/13: with RAP 1 the RETAIN flag is kept on forwarded
    # messages, with RAP 0 it is cleared.
    topic = uid("rap")
    sub = Client(gateway, version=V5)
    sub.subscribe(topic, qos=1, retain_as_published=rap)
    pub = Client(gateway, version=V5)
    pub.publish(topic, b"retained", qos=1, retain=True)
    pub.publish(topic, b"plain", qos=1, retain=False)
    m1, m2 = sub.expect_messages(2)
    assert (m1.payload, m1.retain) == (b"retained", rap)
    assert (m2.payload, m2.retain) == (b"plain", False)


def test_v5_retained_messages_are_not_sent_to_shared_subscriptions(gateway):
    # v5 4.8.2: "retained messages are not sent to the Session when it establishes a new
    # Shared Subscription".
    topic = uid("ret")
    pub = Client(gateway, version=V5)
    pub.publish(topic, b"r", qos=1, retain=True)
    sub = Client(gateway, version=V5)
    sub.subscribe(f"$share/g/{topic}", qos=1)
    sub.expect_no_message(ABSENCE)
    pub.publish(topic, b"live", qos=1)
    assert sub.expect_message().payload == b"live"


def test_retained_messages_reach_subscribers_on_every_shard(gateway):
    # Retained messages are replicated: eight subscribers (spread over the shards) all
    # get the one retained message, whichever shard the publisher was on.
    topic = uid("ret")
    Client(gateway, version=V5).publish(topic, b"everywhere", qos=1, retain=True)
    subs = [Client(gateway, version=V5) for _ in range(8)]
    for s in subs:
        s.subscribe(topic, qos=1)
    for s in subs:
        assert s.expect_message().payload == b"everywhere"
