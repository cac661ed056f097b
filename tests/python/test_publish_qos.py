"""QoS 0, 1 and 2 end to end: delivered QoS, ordering, duplicates, wildcards, and the
cross-shard paths (publishers and subscribers on different shards)."""

import pytest

import mqtt_raw
from mqtt_raw import PUBACK, PUBCOMP, PUBLISH, PUBREC, PUBREL
from support import ABSENCE, V5, VERSION_IDS, VERSIONS, Client, raw, uid

both = pytest.mark.parametrize("version", VERSIONS, ids=VERSION_IDS)


@both
@pytest.mark.parametrize("pub_qos", [0, 1, 2])
@pytest.mark.parametrize("sub_qos", [0, 1, 2])
def test_delivered_qos_is_the_minimum(gateway, version, pub_qos, sub_qos):
    # MQTT 4.3 / 3.8.4: delivered at min(published QoS, granted QoS).
    topic = uid("qos")
    sub = Client(gateway, version=version)
    granted = sub.subscribe(topic, qos=sub_qos)
    assert granted == [sub_qos]
    pub = Client(gateway, version=version)
    pub.publish(topic, b"payload-%d-%d" % (pub_qos, sub_qos), qos=pub_qos)
    msg = sub.expect_message()
    assert msg.topic == topic
    assert msg.payload == b"payload-%d-%d" % (pub_qos, sub_qos)
    assert msg.qos == min(pub_qos, sub_qos)
    assert msg.retain is False
    sub.expect_no_message()


@both
@pytest.mark.parametrize("qos", [0, 1, 2])
def test_order_per_topic_per_publisher_and_no_duplicates(gateway, version, qos):
    # MQTT 4.6: order preserved per topic per publisher; QoS 2 exactly once.
    topic = uid("order")
    sub = Client(gateway, version=version)
    sub.subscribe(topic, qos=2)
    pubs = [Client(gateway, version=version) for _ in range(2)]
    n = 200
    for i in range(n):
        for p, pub in enumerate(pubs):
            pub.publish(topic, b"%d:%d" % (p, i), qos=qos, wait=False)
    msgs = sub.expect_messages(2 * n, timeout=20)
    seen = {0: [], 1: []}
    for m in msgs:
        p, i = m.payload.split(b":")
        seen[int(p)].append(int(i))
    for p in (0, 1):
        assert seen[p] == list(range(n)), f"publisher {p}: out of order or lost/duplicated"
    if qos > 0:
        assert all(m.qos == qos for m in msgs)
    if qos == 2:
        sub.expect_no_message()


def test_cross_shard_fan_out_keeps_order(gateway):
    # 8 publishers x 8 subscribers over 2 shards: every publisher/subscriber pair that
    # lands on different shards goes through the shard mailboxes; every pair must get
    # every message, in order.
    topic = uid("xs")
    subs = [Client(gateway) for _ in range(8)]
    for s in subs:
        s.subscribe(topic + "/#", qos=1)
    pubs = [Client(gateway) for _ in range(8)]
    n = 40
    for i in range(n):
        for p, pub in enumerate(pubs):
            pub.publish(f"{topic}/{p}", b"%d" % i, qos=1, wait=False)
    for s in subs:
        msgs = s.expect_messages(8 * n, timeout=30)
        per = {}
        for m in msgs:
            per.setdefault(m.topic, []).append(int(m.payload))
        assert sorted(per) == sorted(f"{topic}/{p}" for p in range(8))
        for t, seq in per.items():
            assert seq == list(range(n)), f"{s.client_id} {t}: {seq[:10]}..."
        s.expect_no_message(0.05)


def test_cross_shard_qos0_round_trip_every_pair(gateway):
    # Each of 8 clients subscribes to its own topic; each publishes to all 8 topics.
    clients = [Client(gateway, version=V5) for _ in range(8)]
    base = uid("pair")
    for i, c in enumerate(clients):
        c.subscribe(f"{base}/{i}", qos=0)
    for j, c in enumerate(clients):
        for i in range(8):
            c.publish(f"{base}/{i}", b"from %d" % j, qos=0)
    for i, c in enumerate(clients):
        got = sorted(m.payload for m in c.expect_messages(8))
        assert got == sorted(b"from %d" % j for j in range(8))


@both
def test_wildcards_and_dollar_topics(gateway, version):
    # MQTT 4.7: + matches one level, # any number incl. the parent; MQTT-4.7.2-1:
    # filters starting with a wildcard do not match topics starting with $.
    base = uid("wc")
    sub = Client(gateway, version=version)
    sub.subscribe(f"{base}/+/x", qos=1)
    sub.subscribe(f"{base}/deep/#", qos=1)
    hash_sub = Client(gateway, version=version)
    hash_sub.subscribe("#", qos=1)
    plus_sub = Client(gateway, version=version)
    plus_sub.subscribe(f"+/{base}", qos=1)
    pub = Client(gateway, version=version)
    for t in [f"{base}/a/x", f"{base}/a/y", f"{base}/a/b/x", f"{base}/deep",
              f"{base}/deep/1/2/3", f"${base}/a/x", f"$SYS/{base}"]:
        pub.publish(t, t.encode(), qos=1)
    pub.publish(f"$x/{base}", b"dollar", qos=1)
    pub.publish(f"{base}/end", b"end", qos=1)
    got = [m.topic for m in sub.expect_messages(3)]
    assert got == [f"{base}/a/x", f"{base}/deep", f"{base}/deep/1/2/3"]
    sub.expect_no_message()
    all_topics = [m.topic for m in hash_sub.expect_messages(6)]
    assert all_topics == [f"{base}/a/x", f"{base}/a/y", f"{base}/a/b/x", f"{base}/deep",
                          f"{base}/deep/1/2/3", f"{base}/end"]
    hash_sub.expect_no_message()
    plus_sub.expect_no_message()  # "$x/<base>" must not match "+/<base>"


@both
def test_unsubscribe_stops_delivery(gateway, version):
    topic = uid("unsub")
    sub = Client(gateway, version=version)
    sub.subscribe(topic, qos=1)
    sub.subscribe(topic + "/marker", qos=1)
    pub = Client(gateway, version=version)
    pub.publish(topic, b"1", qos=1)
    assert sub.expect_message().payload == b"1"
    sub.unsubscribe(topic)
    pub.publish(topic, b"2", qos=1)
    pub.publish(topic + "/marker", b"m", qos=1)
    assert sub.expect_message().payload == b"m"
    sub.expect_no_message()


@both
def test_resubscribe_replaces_the_subscription(gateway, version):
    # MQTT-3.8.4-3: a SUBSCRIBE for an existing filter replaces it (new QoS), and the
    # message is not delivered twice.
    topic = uid("resub")
    sub = Client(gateway, version=version)
    assert sub.subscribe(topic, qos=0) == [0]
    assert sub.subscribe(topic, qos=2) == [2]
    pub = Client(gateway, version=version)
    pub.publish(topic, b"once", qos=2)
    msg = sub.expect_message()
    assert (msg.payload, msg.qos) == (b"once", 2)
    sub.expect_no_message()


@both
def test_qos2_duplicate_publish_is_delivered_once(gateway, version):
    # MQTT 4.3.3: the receiver of a QoS 2 PUBLISH must not deliver it again when the
    # sender retransmits it (DUP) before PUBREL; after PUBCOMP the packet id is free for a
    # new message (MQTT-2.3.1-3).
    v = 5 if version == V5 else 4
    topic = uid("q2")
    sub = Client(gateway, version=version)
    sub.subscribe(topic, qos=2)
    pub = raw(gateway, v)
    assert pub.connect(uid("rawpub")).reason == 0
    pub.send(mqtt_raw.publish(topic, b"first", qos=2, pid=7, version=v))
    assert pub.expect(PUBREC).pid == 7
    pub.send(mqtt_raw.publish(topic, b"first", qos=2, pid=7, dup=True, version=v))
    assert pub.expect(PUBREC).pid == 7
    pub.send(mqtt_raw.ack(PUBREL, 7, v))
    assert pub.expect(PUBCOMP).pid == 7
    pub.send(mqtt_raw.publish(topic, b"second", qos=2, pid=7, version=v))
    assert pub.expect(PUBREC).pid == 7
    pub.send(mqtt_raw.ack(PUBREL, 7, v))
    assert pub.expect(PUBCOMP).pid == 7
    got = [m.payload for m in sub.expect_messages(2)]
    assert got == [b"first", b"second"]
    sub.expect_no_message()


@both
def test_qos1_raw_round_trip_acks(gateway, version):
    # The server acks a QoS 1 PUBLISH with PUBACK carrying the same packet id, and sends
    # QoS 1 messages with a non-zero packet id (MQTT-2.3.1-1, MQTT-4.3.2-2).
    v = 5 if version == V5 else 4
    topic = uid("q1")
    c = raw(gateway, v)
    assert c.connect(uid("raw")).reason == 0
    assert c.subscribe([(topic, 1)]) == [1]
    c.send(mqtt_raw.publish(topic, b"x", qos=1, pid=300, version=v))
    assert c.expect(PUBACK).pid == 300
    msg = c.expect(PUBLISH)
    assert (msg.topic, msg.payload, msg.qos, msg.dup) == (topic, b"x", 1, False)
    assert msg.pid != 0
    c.send(mqtt_raw.ack(PUBACK, msg.pid, v))
    c.expect_nothing(ABSENCE)
