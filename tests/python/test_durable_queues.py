"""Durable queues on the durable log (`[store] enabled = true`): what a publisher confirm
acknowledged survives SIGKILL and comes back after a restart, redelivered; transient
messages, non-durable queues and what was acknowledged do not. With pika and STOMP."""

import pika
import pytest

import support
from amqp_support import connect, drain
from conftest import wait_port
from stomp_support import Client as StompClient

PERSISTENT = pika.BasicProperties(delivery_mode=2)


@pytest.fixture
def durable_broker(make_amqp_broker):
    gw = make_amqp_broker(store={"enabled": True})
    if getattr(gw, "external", False):
        pytest.skip("kills and restarts the broker")
    return gw


def restart(gw):
    support.close_all()
    gw.kill_and_restart()
    wait_port(gw, gw.amqp_port)
    wait_port(gw, gw.stomp_port)


def test_confirmed_persistent_messages_survive_sigkill(durable_broker):
    gw = durable_broker
    durable, transient_q = support.uid("dq"), support.uid("tq")
    conn = connect(gw)
    ch = conn.channel()
    ch.confirm_delivery()
    ch.exchange_declare(support.uid("unused"), "direct", durable=False)
    ex = support.uid("dx")
    ch.exchange_declare(ex, "direct", durable=True)
    ch.queue_declare(durable, durable=True, arguments={"x-max-length": 1000})
    ch.queue_declare(transient_q, durable=False)
    ch.queue_bind(durable, ex, "k")
    ch.queue_bind(transient_q, ex, "k")
    for i in range(50):
        ch.basic_publish(ex, "k", b"p%d" % i, PERSISTENT)  # confirmed: returns after ack
    ch.basic_publish(ex, "k", b"transient", pika.BasicProperties(delivery_mode=1))
    # two acknowledged by a consumer: gone for good, once a later confirm (the same
    # queue, so the same log) says the log has the acks too
    for method, _, body in (ch.basic_get(durable) for _ in range(2)):
        assert body in (b"p0", b"p1")
        ch.basic_ack(method.delivery_tag)
    ch.basic_publish(ex, "k", b"p50", PERSISTENT)
    assert ch.queue_declare(durable, passive=True).method.message_count == 50
    restart(gw)

    conn = connect(gw)
    ch = conn.channel()
    assert ch.queue_declare(durable, passive=True).method.message_count == 49
    got = drain(conn, ch, durable, 49)
    assert [b for _, _, b in got] == [b"p%d" % i for i in range(2, 51)], "in order, none lost"
    assert all(m.redelivered for m, _, _ in got)
    with pytest.raises(pika.exceptions.ChannelClosedByBroker) as info:
        conn.channel().queue_declare(transient_q, passive=True)
    assert info.value.reply_code == 404, "a non-durable queue does not come back"
    # the exchange, its binding and the queue's arguments came back
    ch = conn.channel()
    ch.confirm_delivery()
    ch.basic_publish(ex, "k", b"after", PERSISTENT, mandatory=True)
    method, _, body = ch.basic_get(durable, auto_ack=True)
    assert body == b"after"
    with pytest.raises(pika.exceptions.ChannelClosedByBroker) as info:
        ch.queue_declare(durable, durable=True, arguments={"x-max-length": 5})
    assert info.value.reply_code == 406, "redeclared with other arguments"


def test_what_was_acknowledged_stays_gone_over_several_restarts(durable_broker):
    gw = durable_broker
    q = support.uid("multi")
    conn = connect(gw)
    ch = conn.channel()
    ch.confirm_delivery()
    ch.queue_declare(q, durable=True)
    for i in range(10):
        ch.basic_publish("", q, b"m%d" % i, PERSISTENT)
    expected = [b"m%d" % i for i in range(10)]
    for _ in range(3):
        restart(gw)
        conn = connect(gw)
        ch = conn.channel()
        method, _, body = ch.basic_get(q)
        assert body == expected.pop(0)
        ch.basic_ack(method.delivery_tag)
        method, _, body = ch.basic_get(q)
        ch.basic_reject(method.delivery_tag, requeue=True)  # stays
        # a confirmed publish to the same queue: the log has the ack before it
        ch.confirm_delivery()
        marker = b"marker%d" % len(expected)
        ch.basic_publish("", q, marker, PERSISTENT)
        expected.append(marker)
        assert ch.queue_declare(q, passive=True).method.message_count == len(expected)
    got = drain(conn, ch, q, len(expected))
    assert [b for _, _, b in got] == expected


def test_a_stomp_persistent_send_to_a_queue_survives(durable_broker):
    gw = durable_broker
    name = support.uid("sq")
    stomp = StompClient(gw)
    stomp.send(f"/queue/{name}", b"kept", headers={"persistent": "true"})
    stomp.send(f"/queue/{name}", b"not kept")
    restart(gw)
    stomp = StompClient(gw)
    stomp.subscribe(f"/queue/{name}")
    assert stomp.expect_message().body == b"kept"
    stomp.expect_no_message()


def test_old_segments_are_released_and_definitions_carried_forward(make_amqp_broker):
    """With 64 KiB segments, ~2 MB of persistent messages published and acknowledged
    leave only a few segment files (definitions are appended again so that old
    segments can go); after a restart the queue, its binding and the unacknowledged
    messages are all there."""
    gw = make_amqp_broker(store={"enabled": True, "segment_size": 65536})
    if getattr(gw, "external", False):
        pytest.skip("kills and restarts the broker")
    q, ex = support.uid("cq"), support.uid("cx")
    conn = connect(gw)
    ch = conn.channel()
    ch.confirm_delivery()
    ch.exchange_declare(ex, "fanout", durable=True)
    ch.queue_declare(q, durable=True)
    ch.queue_bind(q, ex)
    body = b"x" * 1000
    for i in range(2000):
        ch.basic_publish(ex, "", b"%06d" % i + body, PERSISTENT)
        method, _, got = ch.basic_get(q)
        assert got[:6] == b"%06d" % i
        ch.basic_ack(method.delivery_tag)
    for i in range(3):
        ch.basic_publish(ex, "", b"kept%d" % i, PERSISTENT)
    segments = [p for d in (gw.workdir / "data").iterdir() for p in d.iterdir()]
    assert len(segments) <= 2 * 4, f"{len(segments)} segment files left: {segments}"
    restart(gw)
    conn = connect(gw)
    ch = conn.channel()
    ch.confirm_delivery()
    ch.basic_publish(ex, "", b"after", PERSISTENT)
    got = drain(conn, ch, q, 4)
    assert [b for _, _, b in got] == [b"kept0", b"kept1", b"kept2", b"after"]


def test_a_full_disk_refuses_publishes_with_a_nack_and_loses_nothing_confirmed(
        make_amqp_broker, tmp_path):
    """The data directory on a 512 KiB tmpfs: persistent publishes are confirmed until the
    disk is full, then nacked (the server stays up, logs the error, and still takes
    transient messages); after a restart every confirmed message is there."""
    import subprocess
    data = tmp_path / "small"
    data.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=512k", "tmpfs", str(data)],
                             capture_output=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        gw = make_amqp_broker(server={"data_dir": str(data)},
                              store={"enabled": True, "segment_size": 65536})
        q = support.uid("full")
        conn = connect(gw)
        ch = conn.channel()
        ch.confirm_delivery()
        ch.queue_declare(q, durable=True)
        confirmed = []
        with pytest.raises(pika.exceptions.NackError):
            for i in range(2000):
                body = b"%05d" % i + b"x" * 2000
                ch.basic_publish("", q, body, PERSISTENT)
                confirmed.append(body)
        assert 50 < len(confirmed) < 2000, len(confirmed)
        assert "disk full" in gw.log_path.read_text(errors="replace")
        other = connect(gw).channel()
        other.queue_declare(support.uid("mem"), exclusive=True)  # still serving
        restart(gw)
        conn = connect(gw)
        ch = conn.channel()
        bodies = []
        while True:
            method, _, body = ch.basic_get(q, auto_ack=True)
            if method is None:
                break
            bodies.append(body)
        assert [b for b in bodies if b in set(confirmed)] == confirmed, "confirmed, in order"
    finally:
        support.close_all()
        if "gw" in locals():
            gw.stop()
        subprocess.run(["umount", "-l", str(data)], capture_output=True)


def test_a_disk_alarm_holds_publishers_until_space_is_freed(make_amqp_broker, tmp_path):
    """A full disk raises the disk alarm (logged); once space is freed (a ballast file
    removed), the next probe commits, the alarm clears, and persistent publishes are
    confirmed again; everything confirmed survives a restart."""
    import subprocess
    data = tmp_path / "small"
    data.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=512k", "tmpfs", str(data)],
                             capture_output=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        gw = make_amqp_broker(server={"data_dir": str(data)},
                              store={"enabled": True, "segment_size": 65536})
        ballast = data / "ballast"
        ballast.write_bytes(b"\0" * 192 * 1024)
        q = support.uid("alarm")
        conn = connect(gw)
        ch = conn.channel()
        ch.confirm_delivery()
        ch.queue_declare(q, durable=True)
        confirmed = []
        with pytest.raises(pika.exceptions.NackError):
            for i in range(2000):
                body = b"%05d" % i + b"x" * 2000
                ch.basic_publish("", q, body, PERSISTENT)
                confirmed.append(body)
        support.wait_until(lambda: "disk alarm:" in gw.log_path.read_text(errors="replace"),
                           what="the disk alarm in the log")
        ballast.unlink()
        support.wait_until(
            lambda: "disk alarm cleared" in gw.log_path.read_text(errors="replace"),
            what="the disk alarm to clear once space was freed")
        conn2 = connect(gw)
        ch2 = conn2.channel()
        ch2.confirm_delivery()
        after = b"after the alarm"
        ch2.basic_publish("", q, after, PERSISTENT)  # raises NackError if refused
        confirmed.append(after)
        restart(gw)
        conn = connect(gw)
        ch = conn.channel()
        bodies = []
        while True:
            method, _, body = ch.basic_get(q, auto_ack=True)
            if method is None:
                break
            bodies.append(body)
        assert [b for b in bodies if b in set(confirmed)] == confirmed, "confirmed, in order"
    finally:
        support.close_all()
        if "gw" in locals():
            gw.stop()
        subprocess.run(["umount", "-l", str(data)], capture_output=True)


def test_retained_messages_survive_a_restart(durable_broker):
    """MQTT retained messages are in the log (shard 0's): after a restart a new
    subscriber gets them, with their properties, and a cleared topic stays cleared."""
    gw = durable_broker
    base = support.uid("ret")
    pub = support.Client(gw)
    pub.publish(f"{base}/kept", b"21.5", qos=1, retain=True, ContentType="text/plain",
                UserProperty=[("unit", "C")])
    pub.publish(f"{base}/cleared", b"old", qos=1, retain=True)
    pub.publish(f"{base}/cleared", b"", qos=1, retain=True)
    support.close_all()
    gw.restart()  # SIGTERM: the shard commits what it logged before it stops
    sub = support.Client(gw)
    sub.subscribe(f"{base}/#", qos=1)
    m = sub.expect_message()
    assert (m.topic, m.payload, m.retain) == (f"{base}/kept", b"21.5", True)
    assert m.properties.ContentType == "text/plain"
    assert ("unit", "C") in m.properties.UserProperty
    with pytest.raises(AssertionError):
        sub.expect_message(timeout=0.5)  # the cleared topic has nothing


def test_an_exclusive_durable_queue_does_not_come_back(durable_broker):
    gw = durable_broker
    name = support.uid("excl")
    conn = connect(gw)
    ch = conn.channel()
    ch.confirm_delivery()
    ch.queue_declare(name, durable=True, exclusive=True)
    ch.basic_publish("", name, b"x", PERSISTENT)
    restart(gw)
    with pytest.raises(pika.exceptions.ChannelClosedByBroker) as info:
        connect(gw).channel().queue_declare(name, passive=True)
    assert info.value.reply_code == 404


def test_a_stomp_durable_topic_subscription_keeps_persistent_messages_over_a_crash(
        durable_broker):
    gw = durable_broker
    dest = "/topic/" + support.uid("dur")
    client_id, sub_id = support.uid("client"), support.uid("dsub")
    durable = {"durable": "true", "auto-delete": "false"}
    away = StompClient(gw, headers={"client-id": client_id})
    away.subscribe(dest, id=sub_id, headers=durable)
    away.disconnect()
    pub = StompClient(gw)
    for i in range(3):  # each RECEIPT waits for the log's commit
        pub.send(dest, b"while away %d" % i, headers={"persistent": "true"})
    restart(gw)
    back = StompClient(gw, headers={"client-id": client_id})
    back.subscribe(dest, id=sub_id, headers=durable)
    got = back.expect_messages(3)
    assert [m.body for m in got] == [b"while away %d" % i for i in range(3)]
