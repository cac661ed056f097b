"""MQTT persistent sessions in the durable log: subscriptions, queued QoS 1/2 messages
and the QoS 2 inflight state survive SIGKILL; what a session ended does not come back;
a session that moved between shards (2 shards, reconnects land where SO_REUSEPORT puts
them) comes back once, with what it held."""

import mqtt_raw
import support
from support import V311, V5

STORE = {"enabled": True}


def offline_session(gw, client_id, topic, qos=1, version=V311, expiry=None):
    """A persistent session subscribed to `topic`, left offline."""
    c = support.Client(gw, client_id=client_id, version=version, clean=False,
                       session_expiry=expiry)
    c.subscribe(topic, qos=qos)
    c.disconnect()
    return c


def publish_all(gw, topic, bodies, qos=1):
    """Publishes each body and returns once every PUBACK / PUBCOMP came back."""
    pub = support.Client(gw)
    for body in bodies:
        pub.publish(topic, body, qos=qos)
    pub.disconnect()


def test_queued_messages_and_subscriptions_survive_sigkill(make_gateway):
    gw = make_gateway(store=STORE)
    cid, topic = support.uid("ds"), support.uid("ds")
    offline_session(gw, cid, f"{topic}/#")
    bodies = [f"m{i}".encode() for i in range(20)]
    publish_all(gw, f"{topic}/a", bodies)
    gw.kill_and_restart()
    sub = support.Client(gw, client_id=cid, version=V311, clean=False)
    assert sub.session_present, "the persistent session did not survive the kill"
    got = [m.payload for m in sub.expect_messages(len(bodies))]
    assert got == bodies, "queued messages lost or out of order"
    # The subscription itself survived: a new publish reaches it.
    publish_all(gw, f"{topic}/b", [b"after"])
    assert sub.expect_message().payload == b"after"
    sub.disconnect()


def test_acknowledged_messages_stay_acknowledged(make_gateway):
    gw = make_gateway(store=STORE)
    cid, topic = support.uid("ds"), support.uid("ds")
    offline_session(gw, cid, topic)
    publish_all(gw, topic, [b"one", b"two"])
    sub = support.Client(gw, client_id=cid, version=V311, clean=False)
    assert [m.payload for m in sub.expect_messages(2)] == [b"one", b"two"]
    sub.disconnect()  # paho acknowledged both before DISCONNECT
    # PUBACKed once on disk, with the acknowledgements logged before it.
    publish_all(gw, topic, [b"three"])
    gw.kill_and_restart()
    sub = support.Client(gw, client_id=cid, version=V311, clean=False)
    assert sub.session_present
    assert sub.expect_message().payload == b"three"
    sub.expect_no_message()


def test_qos2_inflight_keeps_its_packet_id_and_pubrel_state(make_gateway):
    gw = make_gateway(store=STORE)
    cid, topic = support.uid("ds"), support.uid("ds")
    raw = support.raw(gw, version=4)
    raw.connect(cid, clean=False)
    assert raw.subscribe([(topic, 2)]) == [2]
    publish_all(gw, topic, [b"x2", b"y2"], qos=2)
    first = raw.expect(mqtt_raw.PUBLISH)
    second = raw.expect(mqtt_raw.PUBLISH)
    assert (first.payload, second.payload) == (b"x2", b"y2")
    # PUBREC for the first only: it moves to the released state; the second stays
    # published. Then the server dies.
    raw.send(mqtt_raw.ack(mqtt_raw.PUBREC, first.pid))
    assert raw.expect(mqtt_raw.PUBREL).pid == first.pid
    raw.close()
    # A checkpoint: a QoS 1 publish to the session is PUBACKed only once on disk, and
    # the PUBREC's record was logged before it.
    publish_all(gw, topic, [b"z1"], qos=1)
    gw.kill_and_restart()
    raw = support.raw(gw, version=4)
    assert raw.connect(cid, clean=False).session_present
    # Resent in order: PUBREL for the first, PUBLISH with DUP and the same packet id
    # for the second (the client may have it already: exactly once needs the id).
    rel = raw.expect(mqtt_raw.PUBREL)
    assert rel.pid == first.pid
    again = raw.expect(mqtt_raw.PUBLISH)
    assert (again.payload, again.pid, again.dup, again.qos) == (b"y2", second.pid, True, 2)
    raw.send(mqtt_raw.ack(mqtt_raw.PUBCOMP, first.pid))
    raw.send(mqtt_raw.ack(mqtt_raw.PUBREC, again.pid))
    assert raw.expect(mqtt_raw.PUBREL).pid == again.pid
    raw.send(mqtt_raw.ack(mqtt_raw.PUBCOMP, again.pid))
    z = raw.expect(mqtt_raw.PUBLISH)
    assert (z.payload, z.qos) == (b"z1", 1)
    raw.send(mqtt_raw.ack(mqtt_raw.PUBACK, z.pid))
    raw.expect_nothing()


def test_ended_sessions_do_not_come_back(make_gateway):
    gw = make_gateway(store=STORE)
    topic = support.uid("ds")
    # MQTT 5: expiry set to 0 at DISCONNECT ends the session.
    v5 = support.uid("ds5")
    offline_session(gw, v5, topic, version=V5, expiry=300)
    c = support.Client(gw, client_id=v5, version=V5, clean=False, session_expiry=300)
    assert c.session_present
    c.disconnect(props={"SessionExpiryInterval": 0})
    # MQTT 3.1.1: a clean session replaces the persistent one.
    v3 = support.uid("ds3")
    offline_session(gw, v3, topic)
    c = support.Client(gw, client_id=v3, version=V311, clean=True)
    c.disconnect()
    publish_all(gw, topic, [b"to-nobody"])  # a checkpoint: on disk after the above
    gw.kill_and_restart()
    for cid, version in ((v5, V5), (v3, V311)):
        c = support.Client(gw, client_id=cid, version=version, clean=False,
                           session_expiry=300 if version == V5 else None)
        assert not c.session_present, f"{cid}: an ended session came back"
        c.expect_no_message()
        c.disconnect()


def test_sessions_that_move_between_shards_come_back_once(make_gateway):
    """Each reconnect may land on the other shard (the session then moves: one log
    ends it, the other logs it under a higher epoch); after every kill exactly the
    latest copy must come back, with every message published since."""
    gw = make_gateway(shards=2, store=STORE, sys_interval=1)
    cid, topic = support.uid("dsm"), support.uid("dsm")
    offline_session(gw, cid, topic, qos=2, version=V5, expiry=600)
    for round_ in range(6):
        bodies = [f"r{round_}-{i}".encode() for i in range(5)]
        publish_all(gw, topic, bodies, qos=2)
        gw.kill_and_restart()
        sub = support.Client(gw, client_id=cid, version=V5, clean=False, session_expiry=600)
        assert sub.session_present, f"round {round_}: session lost"
        got = [m.payload for m in sub.expect_messages(len(bodies))]
        assert got == bodies, f"round {round_}: {got}"
        sub.expect_no_message()
        sub.disconnect()
    # One subscription left, the session's: no stale copy survived on either shard.
    probe = support.Client(gw)
    probe.subscribe("$SYS/broker/subscriptions/count")
    support.wait_until(
        lambda: support.sys_value(probe, "$SYS/broker/subscriptions/count") == "2",
        what="two subscriptions: the session's and the probe's")


def test_an_incoming_qos2_message_is_not_taken_twice_over_a_crash(make_gateway):
    """A QoS 2 publisher got PUBREC, then the server died before PUBREL: after the
    restart its resent PUBLISH (DUP, same packet id) is known as a resend, not routed
    again, and its PUBREL finds the id [MQTT-4.3.3]."""
    gw = make_gateway(store=STORE)
    sub_id, pub_id, topic = support.uid("dsq"), support.uid("dsp"), support.uid("dsi")
    offline_session(gw, sub_id, topic, qos=2)
    pub = support.raw(gw, version=5)
    pub.connect(pub_id, clean=False, props=[(mqtt_raw.SESSION_EXPIRY, 300)])
    pub.send(mqtt_raw.publish(topic, b"once", qos=2, pid=7, version=5))
    rec = pub.expect(mqtt_raw.PUBREC)
    assert (rec.pid, rec.reason) == (7, 0)
    pub.close()
    gw.kill_and_restart()
    pub = support.raw(gw, version=5)
    assert pub.connect(pub_id, clean=False,
                       props=[(mqtt_raw.SESSION_EXPIRY, 300)]).session_present
    pub.send(mqtt_raw.publish(topic, b"once", qos=2, pid=7, dup=True, version=5))
    assert pub.expect(mqtt_raw.PUBREC).pid == 7
    pub.send(mqtt_raw.ack(mqtt_raw.PUBREL, 7, version=5))
    comp = pub.expect(mqtt_raw.PUBCOMP)
    assert (comp.pid, comp.reason) == (7, 0), "PUBREL after the crash: id not found"
    sub = support.Client(gw, client_id=sub_id, version=V311, clean=False)
    assert sub.expect_message().payload == b"once"
    sub.expect_no_message()


def test_a_full_disk_never_acknowledges_what_a_session_did_not_store(make_gateway, tmp_path):
    """The data directory on a 512 KiB tmpfs: QoS 1 publishes to an offline persistent
    session are PUBACKed while the log takes them; once the disk is full the publisher
    gets no PUBACK for what was not stored (MQTT 5: DISCONNECT 0x80, or held by the
    disk alarm), and every PUBACKed message is in the session after a restart."""
    import subprocess
    import pytest
    data = tmp_path / "small"
    data.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=512k", "tmpfs", str(data)],
                             capture_output=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        gw = make_gateway(server={"data_dir": str(data)},
                          store={"enabled": True, "segment_size": 65536})
        cid, topic = support.uid("dsf"), support.uid("dsf")
        offline_session(gw, cid, topic)
        pub = support.raw(gw, version=5, timeout=3.0)
        pub.connect(support.uid("dsf-pub"))
        acked = []
        for i in range(1, 2000):
            body = b"%05d" % i + b"x" * 2000
            pub.send(mqtt_raw.publish(topic, body, qos=1, pid=i, version=5))
            try:
                packet = pub.recv()
            except (TimeoutError, mqtt_raw.Closed):
                break  # held by the disk alarm, or closed
            if packet.kind == mqtt_raw.DISCONNECT:
                assert packet.reason == 0x80, packet
                break
            assert (packet.kind, packet.pid) == (mqtt_raw.PUBACK, i), packet
            acked.append(body)
        assert 20 < len(acked) < 1999, len(acked)
        print(f"{len(acked)} PUBACKed before the disk was full")
        support.wait_until(lambda: "disk alarm:" in gw.log_path.read_text(errors="replace"),
                           what="the disk alarm in the log")
        pub.close()
        gw.kill_and_restart()
        sub = support.Client(gw, client_id=cid, version=V311, clean=False)
        assert sub.session_present
        got = set()
        while not set(acked) <= got:
            got.add(sub.expect_message().payload)
    finally:
        support.close_all()
        if "gw" in locals():
            gw.stop()
        subprocess.run(["umount", "-l", str(data)], capture_output=True)
