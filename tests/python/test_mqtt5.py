"""MQTT 5 features: topic aliases both ways, shared subscriptions, subscription
identifiers, no-local, message expiry, receive maximum, maximum packet size, properties
passed through, request/response, assigned client identifier, server keep-alive."""

import time

import pytest

import mqtt_raw
from mqtt_raw import DISCONNECT, PUBACK, PUBLISH
from support import ABSENCE, TIMEOUT, V5, Client, raw, uid


def v5raw(gw, cid=None, props=None):
    c = raw(gw, 5)
    connack = c.connect(cid or uid("raw"), props=props)
    assert connack.reason == 0, connack
    return c, connack


# --- CONNECT / CONNACK -------------------------------------------------------------------


def test_assigned_client_identifier(gateway):
    # v5 3.2.2.3.7 / MQTT-3.1.3-7: an empty client id gets one assigned, returned in
    # CONNACK, unique, and usable to resume the session.
    a = Client(gateway, client_id="", version=V5, clean=False, session_expiry=60)
    b = Client(gateway, client_id="", version=V5)
    ida = a.connack_props.AssignedClientIdentifier
    idb = b.connack_props.AssignedClientIdentifier
    assert ida and idb and ida != idb
    a.subscribe(uid("t"), qos=1)
    a.disconnect()
    again = Client(gateway, client_id=ida, version=V5, clean=False, session_expiry=60)
    assert again.session_present is True


def test_connack_announces_the_server_limits(make_gateway):
    gw = make_gateway(max_packet_size=4096, topic_alias_maximum=5)
    c = Client(gw, version=V5)
    assert c.connack_props.MaximumPacketSize == 4096
    assert c.connack_props.TopicAliasMaximum == 5


def test_takeover_sends_disconnect_0x8e_on_the_wire(gateway):
    # v5 3.1.4-3: DISCONNECT with 0x8E "Session taken over", then close.
    cid = uid("take")
    first, _ = v5raw(gateway, cid)
    v5raw(gateway, cid)
    packets = first.wait_closed()
    assert [(p.kind, p.reason) for p in packets] == [(DISCONNECT, 0x8E)]


def test_server_keep_alive(make_gateway):
    # v5 3.2.2.3.14: the server's keep-alive replaces the client's, and the server uses
    # it (MQTT-3.2.2-21/22).
    gw = make_gateway(max_keep_alive=2)
    for asked in (60, 0):
        c = Client(gw, version=V5, keepalive=asked)
        assert c.connack_props.ServerKeepAlive == 2, f"asked {asked}"
    silent = raw(gw, 5)
    connack = silent.connect(uid("silent"), keepalive=60)
    assert connack.props.get(mqtt_raw.SERVER_KEEP_ALIVE) == 2
    start = time.monotonic()
    silent.wait_closed(timeout=3 + 2)
    assert time.monotonic() - start >= 1.9


# --- topic aliases ------------------------------------------------------------------------


def test_topic_alias_client_to_server(gateway):
    # v5 3.3.2.3.4: the client sets alias 1 with a topic, then sends PUBLISH with an empty
    # topic and the alias; an alias can be remapped.
    base = uid("alias")
    sub = Client(gateway, version=V5)
    sub.subscribe(base + "/#", qos=1)
    pub = Client(gateway, version=V5)
    assert pub.connack_props.TopicAliasMaximum >= 1
    pub.publish(f"{base}/one", b"1", qos=1, TopicAlias=1)
    pub.publish("", b"2", qos=1, TopicAlias=1)
    pub.publish(f"{base}/two", b"3", qos=1, TopicAlias=1)
    pub.publish("", b"4", qos=1, TopicAlias=1)
    got = [(m.topic, m.payload) for m in sub.expect_messages(4)]
    assert got == [(f"{base}/one", b"1"), (f"{base}/one", b"2"), (f"{base}/two", b"3"),
                   (f"{base}/two", b"4")]
    for m in sub.drain():
        raise AssertionError(f"unexpected {m.topic}")


@pytest.mark.parametrize("case", ["over-maximum", "zero", "unknown"])
def test_bad_topic_alias_disconnects(make_gateway, case):
    # MQTT-3.3.2-8 (alias 0), MQTT-3.3.2-9/10 (over the maximum): DISCONNECT 0x94; an
    # empty topic with an alias never set is a protocol error 0x82 (v5 3.3.4).
    gw = make_gateway(topic_alias_maximum=2)
    c, connack = v5raw(gw)
    assert connack.props.get(mqtt_raw.TOPIC_ALIAS_MAXIMUM) == 2
    topic, alias, code = {"over-maximum": ("t", 3, 0x94), "zero": ("t", 0, 0x94),
                          "unknown": ("", 2, 0x82)}[case]
    c.send(mqtt_raw.publish(topic, b"x", qos=1, pid=1, version=5,
                            props=[(mqtt_raw.TOPIC_ALIAS, alias)]))
    packets = c.wait_closed()
    assert [(p.kind, p.reason) for p in packets] == [(DISCONNECT, code)]


def test_topic_alias_server_to_client(gateway):
    # The client allows 4 aliases: the server uses them (the issue asks for aliases both
    # ways), only within the maximum (MQTT-3.3.2-9), and every alias resolves to the
    # right topic.
    base = uid("salias")
    c, _ = v5raw(gateway, props=[(mqtt_raw.TOPIC_ALIAS_MAXIMUM, 4)])
    assert c.subscribe([(base + "/#", 1)]) == [1]
    pub = Client(gateway, version=V5)
    topics = [f"{base}/{t}" for t in "aaabab" + "cdefgh" + "aa"]
    for i, t in enumerate(topics):
        pub.publish(t, b"%d" % i, qos=1)
    aliases, used_alias = {}, 0
    for i, t in enumerate(topics):
        p = c.expect(PUBLISH)
        c.send(mqtt_raw.ack(PUBACK, p.pid, 5))
        alias = p.props.get(mqtt_raw.TOPIC_ALIAS)
        if alias is not None:
            assert 1 <= alias <= 4, f"alias {alias} beyond the client's maximum 4"
            if p.topic:
                aliases[alias] = p.topic
            else:
                assert alias in aliases, f"alias {alias} used before it was set"
                used_alias += 1
        else:
            assert p.topic, "empty topic without an alias"
        resolved = p.topic or aliases[alias]
        assert (resolved, p.payload) == (t, b"%d" % i)
    assert used_alias > 0, "the server never sent a PUBLISH with only a topic alias"


def test_no_server_aliases_when_the_client_allows_none(gateway):
    # MQTT-3.1.2-26: without a Topic Alias Maximum (0), the server sends no alias.
    topic = uid("noalias")
    c, _ = v5raw(gateway)
    c.subscribe([(topic, 0)])
    pub = Client(gateway, version=V5)
    for i in range(5):
        pub.publish(topic, b"%d" % i)
    for _ in range(5):
        p = c.expect(PUBLISH)
        assert p.topic == topic and mqtt_raw.TOPIC_ALIAS not in p.props


# --- shared subscriptions ------------------------------------------------------------------


def collect(clients, n, timeout=TIMEOUT * 2):
    """Waits until the clients together received `n` messages; {client index: [msgs]}."""
    got = {i: [] for i in range(len(clients))}
    deadline = time.monotonic() + timeout
    while sum(len(v) for v in got.values()) < n:
        if time.monotonic() > deadline:
            raise AssertionError(f"{sum(len(v) for v in got.values())} of {n} messages")
        for i, c in enumerate(clients):
            got[i] += c.drain()
        time.sleep(0.01)  # polling several queues
    return got


def test_shared_subscription_gives_each_message_to_one_member(gateway):
    # v5 4.8.2: each message of a shared subscription goes to exactly one member;
    # ordinary subscribers and other groups get every message.
    base = uid("share")
    members = [Client(gateway, version=V5) for _ in range(4)]
    for m in members:
        m.subscribe(f"$share/g/{base}/#", qos=1)
    other_group = Client(gateway, version=V5)
    other_group.subscribe(f"$share/h/{base}/#", qos=1)
    plain = Client(gateway, version=V5)
    plain.subscribe(f"{base}/#", qos=1)
    pubs = [Client(gateway, version=V5) for _ in range(4)]
    n = 100
    for i in range(n):
        pubs[i % 4].publish(f"{base}/{i % 7}", b"%d" % i, qos=1)
    got = collect(members, n)
    payloads = sorted(int(m.payload) for msgs in got.values() for m in msgs)
    assert payloads == list(range(n)), "a message went to no member or to several"
    busy = [i for i, msgs in got.items() if msgs]
    assert len(busy) >= 2, f"all {n} messages went to one member: {[len(v) for v in got.values()]}"
    for m in members:
        m.expect_no_message(0.05)
    assert sorted(int(m.payload) for m in other_group.expect_messages(n)) == list(range(n))
    assert sorted(int(m.payload) for m in plain.expect_messages(n)) == list(range(n))


def test_shared_subscription_after_a_member_leaves(gateway):
    base = uid("share")
    members = [Client(gateway, version=V5) for _ in range(3)]
    for m in members:
        m.subscribe(f"$share/g/{base}", qos=1)
    members[0].unsubscribe(f"$share/g/{base}")
    pub = Client(gateway, version=V5)
    for i in range(20):
        pub.publish(base, b"%d" % i, qos=1)
    got = collect(members[1:], 20)
    assert sorted(int(m.payload) for v in got.values() for m in v) == list(range(20))
    members[0].expect_no_message()


def test_shared_subscription_with_no_local_is_a_protocol_error(gateway):
    # MQTT-3.8.3-4: No Local on a shared subscription is a protocol error.
    c, _ = v5raw(gateway)
    c.send(mqtt_raw.subscribe(1, [(f"$share/g/{uid('t')}", 0x01 | 0x04)], 5))
    packets = c.wait_closed()
    assert all(p.kind == DISCONNECT and p.reason == 0x82 for p in packets), packets


# --- subscription identifiers, no-local -----------------------------------------------------


def _maybe(client):
    """One more message within the absence window, or None."""
    try:
        return client.expect_message(ABSENCE)
    except AssertionError:
        return None


def test_subscription_identifiers(gateway):
    # v5 3.3.4: a delivered PUBLISH carries the identifiers of the matching subscriptions
    # (all of them in one PUBLISH, or one per copy), none when a subscription has none.
    base = uid("sid")
    sub = Client(gateway, version=V5)
    sub.subscribe(f"{base}/#", qos=1, sub_id=7)
    sub.subscribe(f"{base}/b", qos=1, sub_id=300)
    sub.subscribe(f"{base}/plain", qos=1)
    pub = Client(gateway, version=V5)
    pub.publish(f"{base}/b", b"both", qos=1)
    pub.publish(f"{base}/c", b"one", qos=1)
    msgs = sub.expect_messages(2)
    while not {m.payload for m in msgs} >= {b"both", b"one"}:
        msgs.append(sub.expect_message())
    msgs += sub.drain() + [m for m in [_maybe(sub)] if m]
    both_ids = set()
    for m in msgs:
        if m.payload == b"both":
            both_ids.update(getattr(m.properties, "SubscriptionIdentifier", []))
    assert both_ids == {7, 300}, f"identifiers on the {base}/b copies: {both_ids}"
    ones = [m for m in msgs if m.payload == b"one"]
    assert len(ones) == 1
    assert getattr(ones[0].properties, "SubscriptionIdentifier", None) == [7]
    sub.unsubscribe(f"{base}/#")
    sub.unsubscribe(f"{base}/b")
    pub.publish(f"{base}/plain", b"none", qos=1)
    m = sub.expect_message()
    assert m.payload == b"none"
    assert not getattr(m.properties, "SubscriptionIdentifier", None)


def test_no_local(gateway):
    # v5 3.8.3.1 / MQTT-3.8.3-3: with No Local the client's own messages are not sent back
    # to it; other clients' are.
    topic = uid("nolocal")
    me = Client(gateway, version=V5)
    me.subscribe(topic, qos=1, no_local=True)
    echo = Client(gateway, version=V5)
    echo.subscribe(topic, qos=1)
    me.publish(topic, b"mine", qos=1)
    assert echo.expect_message().payload == b"mine"
    Client(gateway, version=V5).publish(topic, b"theirs", qos=1)
    assert me.expect_message().payload == b"theirs"
    me.expect_no_message(0.5)
    echo.publish(topic, b"echo", qos=1)  # echo has no No Local: it gets its own
    assert sorted(m.payload for m in echo.expect_messages(2)) == [b"echo", b"theirs"]


# --- message expiry ------------------------------------------------------------------------


def test_message_expiry_for_an_offline_session(gateway):
    # MQTT-3.3.2-5: an expired message is not delivered; MQTT-3.3.2-6: the forwarded
    # interval is the received one minus the time the message waited in the server.
    cid, topic = uid("mexp"), uid("mexp")
    sub = Client(gateway, cid, V5, clean=False, session_expiry=600)
    sub.subscribe(topic, qos=1)
    sub.disconnect()
    pub = Client(gateway, version=V5)
    pub.publish(topic, b"short", qos=1, MessageExpiryInterval=1)
    pub.publish(topic, b"long", qos=1, MessageExpiryInterval=60)
    time.sleep(2.0)  # the 1 s message expiry is the behaviour under test
    back = Client(gateway, cid, V5, clean=False, session_expiry=600)
    msg = back.expect_message()
    assert msg.payload == b"long", "an expired message was delivered"
    remaining = msg.properties.MessageExpiryInterval
    assert 0 < remaining <= 59, f"remaining expiry {remaining} after waiting 2 s of 60"
    back.expect_no_message()


def test_message_expiry_is_forwarded_to_live_subscribers(gateway):
    topic = uid("mexp")
    sub = Client(gateway, version=V5)
    sub.subscribe(topic, qos=1)
    Client(gateway, version=V5).publish(topic, b"x", qos=1, MessageExpiryInterval=60)
    remaining = sub.expect_message().properties.MessageExpiryInterval
    assert 0 < remaining <= 60


def test_expired_retained_message_is_not_delivered(gateway):
    # v5 3.3.2.3.3: a retained message past its expiry is not sent to new subscribers.
    topic = uid("rexp")
    pub = Client(gateway, version=V5)
    pub.publish(topic, b"stale", qos=1, retain=True, MessageExpiryInterval=1)
    pub.publish(topic + "/fresh", b"fresh", qos=1, retain=True, MessageExpiryInterval=60)
    time.sleep(2.0)  # the 1 s expiry is the behaviour under test
    sub = Client(gateway, version=V5)
    sub.subscribe(topic + "/#", qos=1)
    sub.subscribe(topic, qos=1)
    msg = sub.expect_message()
    assert msg.payload == b"fresh"
    assert msg.properties.MessageExpiryInterval <= 59
    sub.expect_no_message()


# --- flow control and sizes -----------------------------------------------------------------


def test_receive_maximum_bounds_unacked_messages(gateway):
    # MQTT-3.3.4-9: the server does not send more QoS 1/2 PUBLISH than the client's
    # Receive Maximum without acknowledgement; the rest follows as acks come, in order.
    topic = uid("rmax")
    c, _ = v5raw(gateway, props=[(mqtt_raw.RECEIVE_MAXIMUM, 3)])
    assert c.subscribe([(topic, 1)]) == [1]
    pub = Client(gateway, version=V5)
    for i in range(10):
        pub.publish(topic, b"%d" % i, qos=1, wait=False)
    pub.publish(topic + "/done", b"", qos=1)  # all ten reached the server
    window = [c.expect(PUBLISH) for _ in range(3)]
    c.expect_nothing(0.5)
    received = list(window)
    while len(received) < 10:
        c.send(mqtt_raw.ack(PUBACK, window.pop(0).pid, 5))
        nxt = c.expect(PUBLISH)
        window.append(nxt)
        received.append(nxt)
        c.expect_nothing(0.05)
    assert [int(p.payload) for p in received] == list(range(10))


def test_client_maximum_packet_size(gateway):
    # MQTT-3.1.2-24/25 (v5 3.1.2.11.4): the server does not send a packet larger than the
    # client's Maximum Packet Size; it discards the message for that client.
    topic = uid("cmax")
    small = Client(gateway, version=V5, connect_props={"MaximumPacketSize": 200})
    small.subscribe(topic, qos=1)
    big = Client(gateway, version=V5)
    big.subscribe(topic, qos=1)
    pub = Client(gateway, version=V5)
    pub.publish(topic, b"x" * 1000, qos=1)
    pub.publish(topic, b"small", qos=1)
    assert small.expect_message().payload == b"small"  # same publisher, same topic: in order
    assert [len(m.payload) for m in big.expect_messages(2)] == [1000, 5]
    small.expect_no_message()


# --- properties passed through ----------------------------------------------------------------


def test_user_properties_are_passed_through_in_order(gateway):
    # MQTT-3.3.2-17/18: user properties unaltered, order kept, repeats kept.
    topic = uid("up")
    sub = Client(gateway, version=V5)
    sub.subscribe(topic, qos=1)
    props = [("a", "1"), ("b", "2"), ("a", "3"), ("ünï", "cödé")]
    Client(gateway, version=V5).publish(topic, b"x", qos=1, UserProperty=props)
    assert sub.expect_message().properties.UserProperty == props


def test_content_type_and_payload_format_are_passed_through(gateway):
    # MQTT-3.3.2-4, v5 3.3.2.3.9.
    topic = uid("ct")
    sub = Client(gateway, version=V5)
    sub.subscribe(topic, qos=1)
    Client(gateway, version=V5).publish(topic, "{}".encode(), qos=1,
                                        ContentType="application/json",
                                        PayloadFormatIndicator=1)
    p = sub.expect_message().properties
    assert (p.ContentType, p.PayloadFormatIndicator) == ("application/json", 1)


def test_request_response(gateway):
    # v5 4.10: Response Topic and Correlation Data reach the responder unchanged, and the
    # responder's answer reaches the requester with its correlation data.
    base = uid("rr")
    responder = Client(gateway, version=V5)
    responder.subscribe(f"{base}/requests", qos=1)
    requester = Client(gateway, version=V5)
    requester.subscribe(f"{base}/replies/me", qos=1)
    for n in range(3):
        corr = bytes([n, 0xFF, 0x00])
        requester.publish(f"{base}/requests", b"ping %d" % n, qos=1,
                          ResponseTopic=f"{base}/replies/me", CorrelationData=corr)
        req = responder.expect_message()
        assert req.properties.ResponseTopic == f"{base}/replies/me"
        assert req.properties.CorrelationData == corr
        responder.publish(req.properties.ResponseTopic, b"pong %d" % n, qos=1,
                          CorrelationData=req.properties.CorrelationData)
        rep = requester.expect_message()
        assert (rep.payload, rep.properties.CorrelationData) == (b"pong %d" % n, corr)


def test_v311_subscriber_gets_v5_messages_without_properties(gateway):
    # A message with properties reaches a 3.1.1 subscriber as a plain 3.1.1 PUBLISH.
    topic = uid("mix")
    old = raw(gateway, 4)
    assert old.connect(uid("old")).reason == 0
    assert old.subscribe([(topic, 1)]) == [1]
    Client(gateway, version=V5).publish(topic, b"hello", qos=1, UserProperty=[("k", "v")],
                                        MessageExpiryInterval=60, ContentType="text/plain")
    p = old.expect(PUBLISH)
    assert (p.topic, p.payload, p.qos) == (topic, b"hello", 1)
    old.send(mqtt_raw.ack(PUBACK, p.pid))
    old.expect_nothing(ABSENCE)
