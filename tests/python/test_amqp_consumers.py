"""AMQP 0-9-1 consumers with pika: exclusive consumers, consumer tags, basic.cancel and
the broker's cancel notification, qos per consumer and per channel, recover and
redelivery, what deliveries and get-oks carry, ordering and round robin; and
transactions (tx.select / commit / rollback) over publishes and acks. Written to the spec
and to RabbitMQ 3.10's behaviour (AMQP_EXTERNAL runs them against RabbitMQ)."""

import time

import pika
import pika.exceptions
import pytest
from pika import spec

from amqp_support import TIMEOUT, Raw, connect, round_trip, uid

SETTLE = 0.3  # how long "no further delivery" is watched for


def publish(ch, q, n, prefix="m"):
    for i in range(n):
        ch.basic_publish("", q, f"{prefix}{i}".encode())


def collect(conn, seen, n, timeout=TIMEOUT):
    """Processes events until `seen` holds `n` items, then watches SETTLE seconds more
    so that a delivery too many shows."""
    deadline = time.monotonic() + timeout
    while len(seen) < n and time.monotonic() < deadline:
        conn.process_data_events(time_limit=0.05)
    conn.process_data_events(time_limit=SETTLE)
    return seen


def on(seen):
    """A consumer callback that records (method, properties, body)."""
    return lambda ch, method, props, body: seen.append((method, props, body))


def ready(ch, q):
    return ch.queue_declare(q, passive=True).method.message_count


# -- exclusive consumers and tags ---------------------------------------------------------

def test_an_exclusive_consumer_shuts_out_others(amqp_broker):
    """basic.consume exclusive: while it lasts, another consumer on the queue (same or
    other connection) is 403 ACCESS_REFUSED; and an exclusive consume on a queue that
    already has a consumer is refused too. After its cancel others may consume."""
    conn = connect(amqp_broker)
    ch = conn.channel()
    q = uid("xc")
    ch.queue_declare(q, auto_delete=False)
    tag = ch.basic_consume(q, lambda *a: None, exclusive=True)
    other = connect(amqp_broker)
    outcome = {}
    for name, c in (("same connection", conn), ("other connection", other)):
        och = c.channel()
        try:
            och.basic_consume(q, lambda *a: None)
            outcome[name] = "consumed"
        except pika.exceptions.ChannelClosedByBroker as e:
            outcome[name] = e.reply_code
    assert outcome == {"same connection": 403, "other connection": 403}
    ch.basic_cancel(tag)
    och = other.channel()
    och.basic_consume(q, lambda *a: None)
    ch2 = conn.channel()
    with pytest.raises(pika.exceptions.ChannelClosedByBroker) as info:
        ch2.basic_consume(q, lambda *a: None, exclusive=True)
    assert info.value.reply_code == 403
    conn.channel().queue_delete(q)
    other.close()
    conn.close()


def test_consumer_tags_server_generated_and_client_chosen(amqp_broker):
    """An empty consumer tag gets a server-generated one (RabbitMQ: amq.ctag-...), unique
    per consume; a client tag is used as given; deliveries carry the consumer's tag; the
    same tag may be used on another channel."""
    conn = connect(amqp_broker)
    ch = conn.channel()
    q = ch.queue_declare("", exclusive=True).method.queue
    raw = Raw(amqp_broker)
    raw.handshake()
    raw.open_channel(1)
    tags = []
    # pika always sends a tag of its own, so the empty tag goes on a raw connection,
    # which needs its own queue (q is exclusive to the pika connection).
    raw.send_method(1, spec.Queue.Declare(queue="", exclusive=True))
    rq = raw.expect(spec.Queue.DeclareOk).method.queue
    for _ in range(2):
        raw.send_method(1, spec.Basic.Consume(queue=rq, consumer_tag=""))
        tags.append(raw.expect(spec.Basic.ConsumeOk).method.consumer_tag)
    assert tags[0] != tags[1] and all(t for t in tags)
    assert all(t.startswith("amq.ctag-") for t in tags), tags
    seen = []
    mine = ch.basic_consume(q, on(seen), consumer_tag="my-tag", auto_ack=True)
    assert mine == "my-tag"
    ch2 = conn.channel()
    q2 = ch2.queue_declare("", exclusive=True).method.queue
    assert ch2.basic_consume(q2, on(seen), consumer_tag="my-tag", auto_ack=True) == "my-tag"
    ch.basic_publish("", q, b"x")
    collect(conn, seen, 1)
    assert [m.consumer_tag for m, _, _ in seen] == ["my-tag"]
    conn.close()


def test_a_duplicate_consumer_tag_on_a_channel_is_530(amqp_broker):
    """Spec (basic.consume): a tag already used on the channel is a connection exception,
    530 NOT_ALLOWED. pika refuses to send it, so this is a raw connection."""
    r = Raw(amqp_broker)
    r.handshake()
    r.open_channel(1)
    r.send_method(1, spec.Queue.Declare(queue="", exclusive=True))
    q = r.expect(spec.Queue.DeclareOk).method.queue
    r.send_method(1, spec.Basic.Consume(queue=q, consumer_tag="dup"))
    r.expect(spec.Basic.ConsumeOk)
    r.send_method(1, spec.Basic.Consume(queue=q, consumer_tag="dup"))
    f = r.expect(spec.Connection.Close)
    assert f.method.reply_code == 530, f.method


# -- cancel ---------------------------------------------------------------------------------

def test_cancel_stops_deliveries_and_keeps_unacked_ones_unacked(amqp_broker):
    """After basic.cancel(-ok) no more deliveries come; messages the consumer holds
    unacked stay with it (the channel) and can still be acked; the others are ready."""
    conn = connect(amqp_broker)
    ch = conn.channel()
    q = ch.queue_declare("", exclusive=True).method.queue
    ch.basic_qos(prefetch_count=2)
    publish(ch, q, 5)
    seen = []
    tag = ch.basic_consume(q, on(seen))
    collect(conn, seen, 2)
    assert len(seen) == 2
    assert ch.basic_cancel(tag) == []
    ch.basic_publish("", q, b"after")
    conn.process_data_events(time_limit=SETTLE)
    assert len(seen) == 2
    for m, _, _ in seen:
        ch.basic_ack(m.delivery_tag)
    round_trip(ch)  # no 406: the tags were still valid
    assert ready(ch, q) == 4
    conn.close()


def test_deleting_the_queue_cancels_its_consumers(amqp_broker):
    """With the client capability consumer_cancel_notify (pika sends it), deleting a
    queue sends basic.cancel to each of its consumers, on any connection; the channels
    stay open."""
    conn = connect(amqp_broker)
    ch = conn.channel()
    q = uid("cancelled")
    ch.queue_declare(q)
    cancelled = []
    ch.add_on_cancel_callback(lambda frame: cancelled.append(frame.method.consumer_tag))
    tag = ch.basic_consume(q, lambda *a: None)
    other = connect(amqp_broker)
    other.channel().queue_delete(q)
    deadline = time.monotonic() + TIMEOUT
    while not cancelled and time.monotonic() < deadline:
        conn.process_data_events(time_limit=0.05)
    assert cancelled == [tag]
    assert ch.is_open
    q2 = ch.queue_declare("", exclusive=True).method.queue
    ch.basic_publish("", q2, b"channel still works")
    assert ch.basic_get(q2, auto_ack=True)[2] == b"channel still works"
    other.close()
    conn.close()


def test_no_cancel_notification_without_the_capability(amqp_broker):
    """Without consumer_cancel_notify the client is not sent basic.cancel: the consumer
    silently stops (the channel stays open)."""
    r = Raw(amqp_broker)
    r.handshake(capabilities={})
    r.open_channel(1)
    r.open_channel(2)
    q = uid("silent")
    r.send_method(1, spec.Queue.Declare(queue=q))
    r.expect(spec.Queue.DeclareOk)
    r.send_method(1, spec.Basic.Consume(queue=q, consumer_tag="c1"))
    r.expect(spec.Basic.ConsumeOk)
    r.send_method(2, spec.Queue.Delete(queue=q))
    r.expect(spec.Queue.DeleteOk)
    r.send_method(1, spec.Basic.Qos(prefetch_count=1))
    f = r.method()
    assert isinstance(f.method, spec.Basic.QosOk), f.method


# -- qos ----------------------------------------------------------------------------------

def test_qos_per_consumer_applies_to_consumers_made_after_it(amqp_broker):
    """basic.qos global=false (RabbitMQ's meaning: per consumer) limits each consumer
    made after it on the channel to prefetch_count unacked deliveries; a later qos
    applies to later consumers only."""
    conn = connect(amqp_broker)
    ch = conn.channel()
    qa = ch.queue_declare("", exclusive=True).method.queue
    qb = ch.queue_declare("", exclusive=True).method.queue
    publish(ch, qa, 5, "a")
    publish(ch, qb, 5, "b")
    round_trip(ch)
    seen_a, seen_b = [], []
    ch.basic_qos(prefetch_count=1)
    ch.basic_consume(qa, on(seen_a))
    ch.basic_qos(prefetch_count=3)
    ch.basic_consume(qb, on(seen_b))
    collect(conn, seen_b, 3)
    assert (len(seen_a), len(seen_b)) == (1, 3)
    ch.basic_ack(seen_a[0][0].delivery_tag)
    collect(conn, seen_a, 2)
    assert (len(seen_a), len(seen_b)) == (2, 3)
    conn.close()


def test_qos_global_limits_the_channel(amqp_broker):
    """basic.qos global=true caps the unacked deliveries of all consumers on the channel
    together; a per-consumer limit still applies within it. The spec makes global=true
    connection-wide and global=false per channel; RabbitMQ reads them as per channel and
    per consumer, which clients expect, so we follow RabbitMQ. The qos calls are in the
    order RabbitMQ's documentation gives (per consumer first): in RabbitMQ 3.10 a
    global=false qos after a global one lifts the channel's limit, a quirk not tested."""
    conn = connect(amqp_broker)
    ch = conn.channel()
    qa = ch.queue_declare("", exclusive=True).method.queue
    qb = ch.queue_declare("", exclusive=True).method.queue
    publish(ch, qa, 5, "a")
    publish(ch, qb, 5, "b")
    round_trip(ch)
    seen_a, seen_b = [], []
    ch.basic_qos(prefetch_count=2, global_qos=False)
    ch.basic_qos(prefetch_count=3, global_qos=True)
    ch.basic_consume(qa, on(seen_a))
    ch.basic_consume(qb, on(seen_b))
    deadline = time.monotonic() + TIMEOUT
    while len(seen_a) + len(seen_b) < 3 and time.monotonic() < deadline:
        conn.process_data_events(time_limit=0.05)
    conn.process_data_events(time_limit=SETTLE)
    assert len(seen_a) + len(seen_b) == 3, (len(seen_a), len(seen_b))
    assert len(seen_a) <= 2 and len(seen_b) <= 2
    for m, _, _ in seen_a + seen_b:
        ch.basic_ack(m.delivery_tag)
    deadline = time.monotonic() + TIMEOUT
    while len(seen_a) + len(seen_b) < 6 and time.monotonic() < deadline:
        conn.process_data_events(time_limit=0.05)
    conn.process_data_events(time_limit=SETTLE)
    assert len(seen_a) + len(seen_b) == 6
    conn.close()


def test_no_ack_consumers_ignore_prefetch_and_leave_nothing_unacked(amqp_broker):
    """A no-ack consumer is not limited by qos, and closing its channel requeues
    nothing."""
    conn = connect(amqp_broker)
    ch = conn.channel()
    q = uid("noack")
    ch.queue_declare(q)
    ch.basic_qos(prefetch_count=1)
    publish(ch, q, 5)
    seen = []
    ch.basic_consume(q, on(seen), auto_ack=True)
    collect(conn, seen, 5)
    assert [b for _, _, b in seen] == [f"m{i}".encode() for i in range(5)]
    ch.close()
    ch2 = conn.channel()
    assert ready(ch2, q) == 0
    ch2.queue_delete(q)
    conn.close()


# -- recover and redelivery ----------------------------------------------------------------

def test_recover_redelivers_unacked_messages_to_consumers(amqp_broker):
    """basic.recover requeue=true puts every unacked delivery of the channel back; they
    come again with redelivered set, acked ones do not."""
    conn = connect(amqp_broker)
    ch = conn.channel()
    q = ch.queue_declare("", exclusive=True).method.queue
    publish(ch, q, 3)
    seen = []
    ch.basic_consume(q, on(seen))
    collect(conn, seen, 3)
    ch.basic_ack(seen[0][0].delivery_tag)
    ch.basic_recover(requeue=True)
    collect(conn, seen, 5)
    again = [(b, m.redelivered) for m, _, b in seen[3:]]
    assert sorted(again) == [(b"m1", True), (b"m2", True)]
    assert not any(m.redelivered for m, _, _ in seen[:3])
    conn.close()


def test_unacked_deliveries_are_redelivered_after_the_connection_closes(amqp_broker):
    """A consumer's unacked deliveries go back to the queue when its connection closes
    and reach the next consumer with redelivered set; acked ones are gone."""
    q = uid("redeliver")
    first = connect(amqp_broker)
    ch = first.channel()
    ch.queue_declare(q)
    publish(ch, q, 3)
    seen = []
    ch.basic_consume(q, on(seen))
    collect(first, seen, 3)
    ch.basic_ack(seen[1][0].delivery_tag)
    first.close()
    second = connect(amqp_broker)
    ch2 = second.channel()
    got = []
    ch2.basic_consume(q, on(got), auto_ack=True)
    collect(second, got, 2)
    assert [(b, m.redelivered) for m, _, b in got] == [(b"m0", True), (b"m2", True)]
    ch2.queue_delete(q)
    second.close()


def test_requeued_messages_keep_their_place(amqp_broker):
    """Messages nacked with requeue go back to their place at the head of the queue, in
    their original order (RabbitMQ's classic queues), ahead of those never delivered."""
    conn = connect(amqp_broker)
    ch = conn.channel()
    q = ch.queue_declare("", exclusive=True).method.queue
    publish(ch, q, 5)
    tags = [ch.basic_get(q)[0].delivery_tag for _ in range(3)]
    ch.basic_nack(tags[-1], multiple=True, requeue=True)
    got = [ch.basic_get(q, auto_ack=True) for _ in range(5)]
    assert [b for _, _, b in got] == [b"m0", b"m1", b"m2", b"m3", b"m4"]
    assert [m.redelivered for m, _, _ in got] == [True, True, True, False, False]
    conn.close()


# -- what deliveries carry --------------------------------------------------------------------

def test_deliveries_and_get_oks_carry_exchange_and_routing_key(amqp_broker):
    """basic.deliver and basic.get-ok name the exchange the message was published to
    ("" for the default exchange; the exchange published to, not the one a binding
    forwarded through) and its routing key; get-ok carries the ready count left."""
    conn = connect(amqp_broker)
    ch = conn.channel()
    x, inner = uid("x"), uid("inner")
    ch.exchange_declare(x, "topic", auto_delete=True)
    ch.exchange_declare(inner, "fanout", auto_delete=True)
    q = ch.queue_declare("", exclusive=True).method.queue
    ch.queue_bind(q, x, "a.*")
    ch.exchange_bind(inner, x, "b.#")
    ch.queue_bind(q, inner)
    ch.basic_publish(x, "a.1", b"topic")
    ch.basic_publish("", q, b"default")
    ch.basic_publish(x, "b.2.3", b"via inner")
    ch.basic_publish("amq.direct", "unbound", b"lost")
    method, _, body = ch.basic_get(q, auto_ack=True)
    assert (method.exchange, method.routing_key, body) == (x, "a.1", b"topic")
    assert method.message_count == 2
    seen = []
    ch.basic_consume(q, on(seen), auto_ack=True)
    collect(conn, seen, 2)
    assert [(m.exchange, m.routing_key, b) for m, _, b in seen] == [
        ("", q, b"default"), (x, "b.2.3", b"via inner")]
    conn.close()


def test_properties_survive_the_round_trip(amqp_broker):
    """Every basic property a publisher sets reaches the consumer unchanged, headers of
    every field type pika writes included."""
    conn = connect(amqp_broker)
    ch = conn.channel()
    q = ch.queue_declare("", exclusive=True).method.queue
    headers = {"s": "text", "i": 7, "neg": -3, "big": 2 ** 40, "t": True, "f": False,
               "none": None, "list": [1, "two"], "table": {"k": "v"}, "bytes": b"\x00\x01"}
    props = pika.BasicProperties(
        content_type="application/x", content_encoding="gzip", headers=headers,
        delivery_mode=2, priority=3, correlation_id="corr", reply_to="replies",
        expiration="60000", message_id="mid", timestamp=1700000000, type="kind",
        user_id="guest", app_id="app")
    ch.basic_publish("", q, b"body", props)
    method, p, body = ch.basic_get(q, auto_ack=True)
    assert body == b"body"
    for name in ("content_type", "content_encoding", "delivery_mode", "priority",
                 "correlation_id", "reply_to", "expiration", "message_id", "timestamp",
                 "type", "user_id", "app_id"):
        assert getattr(p, name) == getattr(props, name), name
    assert p.headers == headers
    conn.close()


def test_a_user_id_other_than_the_logins_is_406(amqp_broker):
    """RabbitMQ validates the user_id property: it must be the connection's user, else
    the publish is refused with 406 PRECONDITION_FAILED."""
    conn = connect(amqp_broker)
    ch = conn.channel()
    with pytest.raises(pika.exceptions.ChannelClosedByBroker) as info:
        ch.basic_publish("amq.direct", "k", b"x", pika.BasicProperties(user_id="mallory"))
        round_trip(ch)
    assert info.value.reply_code == 406


def test_messages_arrive_in_publish_order(amqp_broker):
    conn = connect(amqp_broker)
    ch = conn.channel()
    q = ch.queue_declare("", exclusive=True).method.queue
    n = 200
    publish(ch, q, n)
    bodies = []
    for method, _, body in ch.consume(q, auto_ack=True, inactivity_timeout=TIMEOUT):
        assert method is not None, f"only {len(bodies)} of {n} arrived"
        bodies.append(body)
        if len(bodies) == n:
            break
    ch.cancel()
    assert bodies == [f"m{i}".encode() for i in range(n)]
    conn.close()


def test_round_robin_across_two_consumers(amqp_broker):
    """Two consumers with room on one queue take turns: each gets every other message,
    in order."""
    conn = connect(amqp_broker)
    ch = conn.channel()
    q = ch.queue_declare("", exclusive=True).method.queue
    a, b = [], []
    ch.basic_consume(q, on(a), auto_ack=True)
    ch2 = conn.channel()
    ch2.basic_consume(q, on(b), auto_ack=True)
    publish(ch, q, 10)
    deadline = time.monotonic() + TIMEOUT
    while len(a) + len(b) < 10 and time.monotonic() < deadline:
        conn.process_data_events(time_limit=0.05)
    ga, gb = [x[2] for x in a], [x[2] for x in b]
    assert len(ga) == len(gb) == 5, (ga, gb)
    evens = [f"m{i}".encode() for i in range(0, 10, 2)]
    odds = [f"m{i}".encode() for i in range(1, 10, 2)]
    assert sorted([ga, gb]) == sorted([evens, odds])
    conn.close()


# -- transactions ------------------------------------------------------------------------------

def test_tx_publishes_are_invisible_until_commit(amqp_broker):
    """Publishes in a transaction reach no queue, not even through a fanout to several,
    until tx.commit, then all at once; tx.rollback discards them."""
    conn = connect(amqp_broker)
    ch = conn.channel()
    watch = conn.channel()
    x = uid("txfan")
    ch.exchange_declare(x, "fanout", auto_delete=True)
    qs = [ch.queue_declare("", exclusive=True).method.queue for _ in range(2)]
    for q in qs:
        ch.queue_bind(q, x)
    ch.tx_select()
    ch.basic_publish(x, "", b"one")
    ch.basic_publish(x, "", b"two")
    for q in qs:
        assert watch.basic_get(q, auto_ack=True) == (None, None, None)
    ch.tx_commit()
    for q in qs:
        assert [watch.basic_get(q, auto_ack=True)[2] for _ in range(2)] == [b"one", b"two"]
    ch.basic_publish(x, "", b"gone")
    ch.tx_rollback()
    ch.tx_commit()  # nothing left to commit
    for q in qs:
        assert watch.basic_get(q, auto_ack=True) == (None, None, None)
    conn.close()


def test_tx_acks_take_effect_at_commit(amqp_broker):
    """An ack in a transaction is not applied until commit: if the channel closes first
    the message comes back (redelivered); after a commit it does not."""
    conn = connect(amqp_broker)
    q = uid("txack")
    setup = conn.channel()
    setup.queue_declare(q)
    setup.basic_publish("", q, b"a")
    setup.basic_publish("", q, b"b")
    ch = conn.channel()
    ch.tx_select()
    ma = ch.basic_get(q)[0]
    mb = ch.basic_get(q)[0]
    ch.basic_ack(ma.delivery_tag)
    ch.basic_reject(mb.delivery_tag, requeue=False)
    assert ready(setup, q) == 0
    ch.close()  # uncommitted: the ack and the reject are dropped, both return
    ch = conn.channel()
    ch.tx_select()
    got = [ch.basic_get(q) for _ in range(2)]
    assert [(m.redelivered, b) for m, _, b in got] == [(True, b"a"), (True, b"b")]
    ch.basic_ack(got[1][0].delivery_tag, multiple=True)
    ch.tx_commit()
    ch.close()
    assert ready(setup, q) == 0
    assert setup.basic_get(q) == (None, None, None)
    setup.queue_delete(q)
    conn.close()


def test_tx_and_confirm_modes_exclude_each_other(amqp_broker):
    """A channel in tx mode cannot be put in confirm mode, nor the reverse: 406
    PRECONDITION_FAILED. tx.rollback without tx.select is 406 too; tx.select twice is
    fine."""
    conn = connect(amqp_broker)
    ch = conn.channel()
    ch.tx_select()
    ch.tx_select()
    with pytest.raises(pika.exceptions.ChannelClosedByBroker) as info:
        ch.confirm_delivery()
    assert info.value.reply_code == 406
    ch = conn.channel()
    ch.confirm_delivery()
    with pytest.raises(pika.exceptions.ChannelClosedByBroker) as info:
        ch.tx_select()
    assert info.value.reply_code == 406
    ch = conn.channel()
    with pytest.raises(pika.exceptions.ChannelClosedByBroker) as info:
        ch.tx_rollback()
    assert info.value.reply_code == 406
    conn.close()
