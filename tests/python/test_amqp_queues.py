"""AMQP 0-9-1 queues with pika: server-named queues, declare-ok counts, exclusive and
auto-delete queues, queue.delete if-unused / if-empty, purge, declare equivalence, and
the x- arguments RabbitMQ users rely on: x-message-ttl, x-expires, x-max-length(-bytes)
with x-overflow, and dead-lettering with x-death. Written to the spec and to RabbitMQ
3.10's behaviour (AMQP_EXTERNAL runs them against RabbitMQ)."""

import time

import pika
import pika.exceptions
import pytest

from amqp_support import TIMEOUT, connect, exists, get, round_trip, uid, wait_gone


def refused(conn, op, code):
    """Runs op(channel) on a new channel of `conn`, expecting a channel close with
    `code`; returns the reply text."""
    ch = conn.channel()
    with pytest.raises(pika.exceptions.ChannelClosedByBroker) as info:
        op(ch)
        round_trip(ch)
    assert info.value.reply_code == code, (info.value.reply_code, info.value.reply_text)
    return info.value.reply_text


def counts(ch, q):
    ok = ch.queue_declare(q, passive=True).method
    return ok.message_count, ok.consumer_count


def wait_count(ch, q, n, consumers=None, timeout=TIMEOUT):
    """Polls passive declares until `q` holds `n` ready messages (and `consumers`
    consumers, if given). RabbitMQ answers a declare's counts ahead of publishes still
    in the queue's mailbox (its queue process handles `stat` with priority), so
    declare-ok counts are waited for, not read once."""
    deadline = time.monotonic() + timeout
    while True:
        got = counts(ch, q)
        if got[0] == n and consumers in (None, got[1]):
            return
        assert time.monotonic() < deadline, \
            f"{q} holds {got[0]} messages and {got[1]} consumers, not {n}, {consumers}"
        ch.connection.process_data_events(time_limit=0.05)  # the poll interval


def bodies(ch, q):
    got = []
    while True:
        method, _, body = ch.basic_get(q, auto_ack=True)
        if method is None:
            return got
        got.append(body)


# -- names and declare-ok ---------------------------------------------------------------

def test_server_named_queues(amqp_broker):
    """An empty name gets a fresh server-generated name, amq.gen-..., different each
    time. In queue.bind and queue.purge an empty queue name means the channel's last
    declared queue (spec: "If the queue name is empty, the server uses the last queue
    declared on the channel")."""
    conn = connect(amqp_broker)
    ch = conn.channel()
    names = {ch.queue_declare("", exclusive=True).method.queue for _ in range(3)}
    assert len(names) == 3
    assert all(n.startswith("amq.gen-") and len(n) > len("amq.gen-") for n in names)
    last = ch.queue_declare("", exclusive=True).method.queue
    ch.queue_bind("", "amq.direct", last)
    ch.basic_publish("amq.direct", last, b"to the last queue")
    assert ch.basic_get(last, auto_ack=True)[2] == b"to the last queue"
    ch.basic_publish("", last, b"again")
    assert ch.queue_purge("").method.message_count == 1
    conn.close()


def test_declare_ok_counts_ready_messages_and_consumers(amqp_broker):
    """queue.declare-ok (passive or a redeclare) carries message_count, the messages
    ready (not those delivered and unacked), and consumer_count, the consumers on the
    queue from any connection."""
    conn = connect(amqp_broker)
    ch = conn.channel()
    q = uid("counts")
    assert ch.queue_declare(q, auto_delete=False).method.message_count == 0
    for i in range(5):
        ch.basic_publish("", q, f"{i}".encode())
    wait_count(ch, q, 5, consumers=0)
    other = connect(amqp_broker)
    seen = []
    consumers = []
    for c in (conn, other):
        cch = c.channel()
        cch.basic_qos(prefetch_count=1)
        cch.basic_consume(q, lambda ch_, m, p, b: seen.append(b))
        consumers.append(cch)
    deadline = time.monotonic() + TIMEOUT
    while len(seen) < 2 and time.monotonic() < deadline:
        conn.process_data_events(time_limit=0.05)
        other.process_data_events(time_limit=0.05)
    assert len(seen) == 2
    ok = ch.queue_declare(q).method  # a redeclare answers the same counts
    assert (ok.message_count, ok.consumer_count) == (3, 2)
    assert counts(ch, q) == (3, 2)
    consumers[1].close()
    wait_count(ch, q, 4, consumers=1)  # its unacked message is back
    ch.queue_delete(q)
    other.close()
    conn.close()


def test_passive_declare_checks_nothing_but_existence(amqp_broker):
    """A passive declare of an existing queue succeeds whatever flags and arguments it
    carries; of a missing one it is 404 (see also test_amqp_connect)."""
    conn = connect(amqp_broker)
    ch = conn.channel()
    q = uid("passive")
    ch.queue_declare(q, auto_delete=True, arguments={"x-max-length": 5})
    ch.queue_declare(q, passive=True, durable=True, arguments={"x-max-length": 9})
    text = refused(conn, lambda c: c.queue_declare(uid("missing"), passive=True), 404)
    assert "no queue" in text
    ch.queue_delete(q)
    conn.close()


# -- exclusive and auto-delete ---------------------------------------------------------------

def test_an_exclusive_queue_is_locked_to_its_connection(amqp_broker):
    """Another connection's declare (passive or not), consume, get, purge, delete and bind
    of an exclusive queue are 405 RESOURCE_LOCKED; another channel of the owner's
    connection uses it freely."""
    owner = connect(amqp_broker)
    och = owner.channel()
    q = uid("excl")
    och.queue_declare(q, exclusive=True)
    och.basic_publish("", q, b"mine")
    other = connect(amqp_broker)
    cases = {
        "declare": lambda c: c.queue_declare(q, exclusive=True),
        "passive declare": lambda c: c.queue_declare(q, passive=True),
        "consume": lambda c: c.basic_consume(q, lambda *a: None),
        "get": lambda c: c.basic_get(q),
        "purge": lambda c: c.queue_purge(q),
        "delete": lambda c: c.queue_delete(q),
        "bind": lambda c: c.queue_bind(q, "amq.fanout"),
    }
    outcome = {}
    for name, op in cases.items():
        ch = other.channel()
        try:
            op(ch)
            round_trip(ch)
            outcome[name] = "allowed"
        except pika.exceptions.ChannelClosedByBroker as e:
            outcome[name] = (e.reply_code, e.reply_text.split(" ")[0])
    assert outcome == {name: (405, "RESOURCE_LOCKED") for name in cases}
    ch2 = owner.channel()
    assert ch2.basic_get(q, auto_ack=True)[2] == b"mine"
    assert counts(ch2, q) == (0, 0)
    other.close()
    owner.close()


def test_an_exclusive_queue_goes_with_its_connection(amqp_broker):
    """An exclusive queue is deleted when its declaring connection closes (and not when
    only the declaring channel closes)."""
    owner = connect(amqp_broker)
    och = owner.channel()
    q = uid("excl")
    och.queue_declare(q, exclusive=True)
    och.close()
    watcher = connect(amqp_broker)
    assert owner.channel().queue_declare(q, passive=True)
    owner.close()
    wait_gone(watcher, "queue", q)
    watcher.close()


def test_an_auto_delete_queue_goes_with_its_last_consumer(amqp_broker):
    """An auto-delete queue is deleted when its last consumer is cancelled, whichever
    connection that consumer was on; before its first consumer it stays."""
    conn = connect(amqp_broker)
    ch = conn.channel()
    q = uid("ad")
    ch.queue_declare(q, auto_delete=True)
    assert exists(conn, "queue", q)  # no consumer yet: it stays
    other = connect(amqp_broker)
    och = other.channel()
    t1 = och.basic_consume(q, lambda *a: None)
    t2 = ch.basic_consume(q, lambda *a: None)
    ch.basic_cancel(t2)
    assert exists(conn, "queue", q)  # one consumer is left
    och.basic_cancel(t1)
    wait_gone(conn, "queue", q)
    other.close()
    conn.close()


def test_an_auto_delete_queue_goes_when_its_consumers_channel_closes(amqp_broker):
    conn = connect(amqp_broker)
    q = uid("ad")
    conn.channel().queue_declare(q, auto_delete=True)
    other = connect(amqp_broker)
    och = other.channel()
    och.basic_consume(q, lambda *a: None)
    assert exists(conn, "queue", q)
    other.close()
    wait_gone(conn, "queue", q)
    conn.close()


# -- delete and purge ------------------------------------------------------------------------

def test_queue_delete_if_unused_and_if_empty(amqp_broker):
    """queue.delete if-unused refuses a queue with consumers and if-empty one with ready
    messages (406 PRECONDITION_FAILED); delete-ok carries the messages deleted."""
    conn = connect(amqp_broker)
    ch = conn.channel()
    q = uid("del")
    ch.queue_declare(q)
    ch.basic_publish("", q, b"1")
    ch.basic_publish("", q, b"2")
    text = refused(conn, lambda c: c.queue_delete(q, if_empty=True), 406)
    assert "not empty" in text
    cch = conn.channel()
    tag = cch.basic_consume(q, lambda *a: None, auto_ack=True)
    text = refused(conn, lambda c: c.queue_delete(q, if_unused=True), 406)
    assert "in use" in text
    cch.basic_cancel(tag)
    ch.basic_publish("", q, b"3")
    round_trip(ch)
    assert ch.queue_delete(q, if_unused=True).method.message_count == 1
    assert not exists(conn, "queue", q)
    # Deleting a missing queue is fine (RabbitMQ answers delete-ok with 0).
    assert ch.queue_delete(uid("never")).method.message_count == 0
    conn.close()


def test_purge_counts_ready_messages_and_leaves_unacked_ones(amqp_broker):
    conn = connect(amqp_broker)
    ch = conn.channel()
    q = ch.queue_declare("", exclusive=True).method.queue
    for i in range(4):
        ch.basic_publish("", q, f"{i}".encode())
    method, _, _ = ch.basic_get(q)
    assert ch.queue_purge(q).method.message_count == 3
    assert ch.queue_purge(q).method.message_count == 0
    ch.basic_nack(method.delivery_tag, requeue=True)
    m2, _, body = ch.basic_get(q, auto_ack=True)
    assert body == b"0" and m2.redelivered
    conn.close()


# -- declare equivalence ----------------------------------------------------------------------

@pytest.mark.parametrize("change", [
    {"durable": True}, {"auto_delete": True},
    {"arguments": {"x-max-length": 10}}, {"arguments": {"x-message-ttl": 1000}},
    {"arguments": {"x-dead-letter-exchange": "amq.direct"}}])
def test_an_inequivalent_queue_redeclare_is_406(amqp_broker, change):
    """A redeclare must match durable, auto-delete and the x- arguments: 406
    PRECONDITION_FAILED ("inequivalent arg") otherwise; an identical redeclare is fine."""
    conn = connect(amqp_broker)
    ch = conn.channel()
    q = uid("eq")
    first = {"durable": False, "auto_delete": False, "arguments": {"x-max-length": 5}}
    ch.queue_declare(q, **first)
    ch.queue_declare(q, **first)
    text = refused(conn, lambda c: c.queue_declare(q, **{**first, **change}), 406)
    assert "inequivalent arg" in text
    ch.queue_delete(q)
    conn.close()


@pytest.mark.parametrize("args", [
    {"x-max-length": -1}, {"x-message-ttl": "soon"}, {"x-expires": 0},
    {"x-overflow": "drop-tail"}, {"x-dead-letter-routing-key": "k"}])
def test_invalid_queue_arguments_are_406(amqp_broker, args):
    """Arguments RabbitMQ validates: integers not negative (x-expires positive), the
    right types, a known x-overflow, and x-dead-letter-routing-key only with
    x-dead-letter-exchange."""
    conn = connect(amqp_broker)
    refused(conn, lambda c: c.queue_declare(uid("bad"), arguments=args), 406)
    conn.close()


# -- x-message-ttl and x-expires ----------------------------------------------------------------

def test_x_message_ttl_expires_unconsumed_messages(amqp_broker):
    """With x-message-ttl 100 ms, a message nobody takes in time is dropped: the ready
    count falls to 0 and a consumer gets only what was published later."""
    conn = connect(amqp_broker)
    ch = conn.channel()
    q = ch.queue_declare("", exclusive=True, arguments={"x-message-ttl": 100}).method.queue
    ch.confirm_delivery()
    ch.basic_publish("", q, b"stale")  # confirmed: it was enqueued
    wait_count(ch, q, 0)
    ch.basic_publish("", q, b"fresh")
    assert ch.basic_get(q, auto_ack=True)[2] == b"fresh"
    conn.close()


def test_per_message_expiration(amqp_broker):
    """The expiration property (milliseconds, as text) expires one message; the others
    stay."""
    conn = connect(amqp_broker)
    ch = conn.channel()
    q = ch.queue_declare("", exclusive=True).method.queue
    ch.confirm_delivery()
    ch.basic_publish("", q, b"short", pika.BasicProperties(expiration="100"))
    ch.basic_publish("", q, b"long")
    wait_count(ch, q, 1)
    assert bodies(ch, q) == [b"long"]
    conn.close()


def wait_unroutable(conn, q, timeout=TIMEOUT):
    """Publishes mandatory messages to `q` through the default exchange until one comes
    back unroutable: the queue is gone. Unlike a passive declare (which RabbitMQ counts
    as use, restarting x-expires), a publish does not keep a queue alive."""
    ch = conn.channel()
    ch.confirm_delivery()
    deadline = time.monotonic() + timeout
    while True:
        try:
            ch.basic_publish("", q, b"probe", mandatory=True)
        except pika.exceptions.UnroutableError:
            ch.close()
            return
        assert time.monotonic() < deadline, f"queue {q} still routable after {timeout} s"
        conn.process_data_events(time_limit=0.05)  # the poll interval


def test_x_expires_deletes_an_unused_queue(amqp_broker):
    """x-expires: a queue without consumers (and no basic.get or redeclare, passive ones
    included) for that long is deleted; one with a consumer stays."""
    conn = connect(amqp_broker)
    ch = conn.channel()
    idle, used = uid("expires"), uid("expires-used")
    ch.queue_declare(idle, arguments={"x-expires": 300})
    ch.queue_declare(used, arguments={"x-expires": 300})
    ch.basic_consume(used, lambda *a: None)
    ch.basic_publish("", idle, b"goes with the queue")
    wait_unroutable(conn, idle)
    assert not exists(conn, "queue", idle)
    assert exists(conn, "queue", used)
    ch.queue_delete(used)
    conn.close()


# -- x-max-length and x-max-length-bytes --------------------------------------------------------

def test_x_max_length_drop_head_drops_the_oldest(amqp_broker):
    conn = connect(amqp_broker)
    ch = conn.channel()
    q = ch.queue_declare("", exclusive=True, arguments={"x-max-length": 2}).method.queue
    for i in range(5):
        ch.basic_publish("", q, f"{i}".encode())
    assert bodies(ch, q) == [b"3", b"4"]
    conn.close()


def test_x_max_length_counts_only_ready_messages(amqp_broker):
    """Delivered, unacked messages do not count toward x-max-length."""
    conn = connect(amqp_broker)
    ch = conn.channel()
    q = ch.queue_declare("", exclusive=True, arguments={"x-max-length": 1}).method.queue
    ch.basic_publish("", q, b"a")
    method, _, _ = ch.basic_get(q)  # a is unacked now
    ch.basic_publish("", q, b"b")
    assert bodies(ch, q) == [b"b"]
    ch.basic_ack(method.delivery_tag)
    conn.close()


def test_x_max_length_reject_publish_nacks_with_confirms(amqp_broker):
    """x-overflow reject-publish: a publish over the limit is dropped, and with publisher
    confirms the publisher gets basic.nack for it (pika raises NackError); the queue
    keeps the older messages."""
    conn = connect(amqp_broker)
    ch = conn.channel()
    q = ch.queue_declare("", exclusive=True, arguments={
        "x-max-length": 2, "x-overflow": "reject-publish"}).method.queue
    ch.confirm_delivery()
    ch.basic_publish("", q, b"1")
    ch.basic_publish("", q, b"2")
    with pytest.raises(pika.exceptions.NackError):
        ch.basic_publish("", q, b"3")
    assert counts(ch, q)[0] == 2
    assert bodies(ch, q) == [b"1", b"2"]
    ch.basic_publish("", q, b"4")  # room again: acked
    assert bodies(ch, q) == [b"4"]
    conn.close()


def test_x_max_length_bytes_drops_the_oldest(amqp_broker):
    """x-max-length-bytes counts body bytes of ready messages: with 10, a third 4-byte
    body drops the first."""
    conn = connect(amqp_broker)
    ch = conn.channel()
    q = ch.queue_declare("", exclusive=True,
                         arguments={"x-max-length-bytes": 10}).method.queue
    for body in (b"aaaa", b"bbbb", b"cccc"):
        ch.basic_publish("", q, body)
    assert bodies(ch, q) == [b"bbbb", b"cccc"]
    ch.basic_publish("", q, b"x" * 11)  # larger than the limit alone: dropped too
    assert bodies(ch, q) == []
    conn.close()


# -- dead-lettering ----------------------------------------------------------------------------

def dead_letter_setup(ch, **args):
    """A DLX (direct), the queue it routes "dead" to, and a source queue with `args` and
    x-dead-letter-exchange / -routing-key set; returns (source, dlq, dlx)."""
    dlx = uid("dlx")
    ch.exchange_declare(dlx, "direct", auto_delete=True)
    dlq = ch.queue_declare("", exclusive=True).method.queue
    ch.queue_bind(dlq, dlx, "dead")
    src = ch.queue_declare(uid("src"), exclusive=True, arguments={
        "x-dead-letter-exchange": dlx, "x-dead-letter-routing-key": "dead", **args}
    ).method.queue
    return src, dlq, dlx


def check_x_death(props, reason, queue):
    """The x-death header RabbitMQ adds: a list with one table per (queue, reason), here
    one, with count 1, the queue, the reason, the exchange the message was first
    published to ("" here) and its routing keys; and x-first-death-* headers."""
    headers = props.headers or {}
    deaths = headers.get("x-death")
    assert isinstance(deaths, list) and len(deaths) == 1, headers
    death = deaths[0]
    assert death["reason"] == reason
    assert death["queue"] == queue
    assert death["exchange"] == ""
    assert death["routing-keys"] == [queue]
    assert death["count"] == 1
    assert "time" in death
    assert headers["x-first-death-reason"] == reason
    assert headers["x-first-death-queue"] == queue
    assert headers["x-first-death-exchange"] == ""


def test_rejected_messages_are_dead_lettered(amqp_broker):
    """basic.reject / basic.nack without requeue send the message to the DLX with the
    dead-letter routing key; the properties and body are kept; reject with requeue does
    not dead-letter."""
    conn = connect(amqp_broker)
    ch = conn.channel()
    src, dlq, dlx = dead_letter_setup(ch)
    props = pika.BasicProperties(content_type="text/plain", headers={"h": "v"})
    ch.basic_publish("", src, b"rejected", props)
    ch.basic_publish("", src, b"nacked")
    ch.basic_publish("", src, b"requeued")
    method, _, _ = ch.basic_get(src)
    ch.basic_reject(method.delivery_tag, requeue=False)
    method, _, _ = ch.basic_get(src)
    ch.basic_nack(method.delivery_tag, requeue=False)
    method, _, body = ch.basic_get(src)
    assert body == b"requeued"
    ch.basic_nack(method.delivery_tag, requeue=True)
    method, p, body = get(ch, dlq)
    assert body == b"rejected"
    assert (method.exchange, method.routing_key) == (dlx, "dead")
    assert p.content_type == "text/plain" and p.headers["h"] == "v"
    check_x_death(p, "rejected", src)
    assert get(ch, dlq)[2] == b"nacked"
    assert bodies(ch, src) == [b"requeued"]
    conn.close()


def test_expired_messages_are_dead_lettered(amqp_broker):
    conn = connect(amqp_broker)
    ch = conn.channel()
    src, dlq, _ = dead_letter_setup(ch, **{"x-message-ttl": 50})
    ch.basic_publish("", src, b"too late")
    method, p, body = get(ch, dlq)
    assert body == b"too late", "the expired message did not reach the DLX queue"
    assert method.routing_key == "dead"
    check_x_death(p, "expired", src)
    assert counts(ch, src)[0] == 0
    conn.close()


def test_messages_dropped_by_max_length_are_dead_lettered(amqp_broker):
    conn = connect(amqp_broker)
    ch = conn.channel()
    src, dlq, _ = dead_letter_setup(ch, **{"x-max-length": 1})
    ch.basic_publish("", src, b"first")
    ch.basic_publish("", src, b"second")
    method, p, body = get(ch, dlq)
    assert body == b"first"
    check_x_death(p, "maxlen", src)
    assert bodies(ch, src) == [b"second"]
    conn.close()


def test_dead_letters_keep_their_routing_key_without_an_override(amqp_broker):
    """Without x-dead-letter-routing-key, the message is dead-lettered with its own
    routing key; the DLX may be the default exchange, routing by that key."""
    conn = connect(amqp_broker)
    ch = conn.channel()
    dlq = uid("dlq")
    ch.queue_declare(dlq, exclusive=True)
    # Published through amq.direct with the key dlq, which only src is bound by: the
    # default exchange then routes the dead letter by that key to dlq.
    src = ch.queue_declare("", exclusive=True, arguments={
        "x-dead-letter-exchange": ""}).method.queue
    ch.queue_bind(src, "amq.direct", dlq)
    ch.basic_publish("amq.direct", dlq, b"dead")
    method, _, _ = ch.basic_get(src)
    ch.basic_reject(method.delivery_tag, requeue=False)
    method, p, body = get(ch, dlq)
    assert body == b"dead" and method.routing_key == dlq
    death = p.headers["x-death"][0]
    assert death["exchange"] == "amq.direct" and death["routing-keys"] == [dlq]
    conn.close()


def test_reject_publish_dlx_nacks_and_dead_letters(amqp_broker):
    """x-overflow reject-publish-dlx: as reject-publish (the publisher gets basic.nack),
    and the refused message is dead-lettered with reason maxlen."""
    conn = connect(amqp_broker)
    ch = conn.channel()
    src, dlq, _ = dead_letter_setup(ch, **{"x-max-length": 1,
                                          "x-overflow": "reject-publish-dlx"})
    ch.confirm_delivery()
    ch.basic_publish("", src, b"kept")
    with pytest.raises(pika.exceptions.NackError):
        ch.basic_publish("", src, b"refused")
    method, p, body = get(ch, dlq)
    assert body == b"refused"
    check_x_death(p, "maxlen", src)
    assert bodies(ch, src) == [b"kept"]
    conn.close()


def test_x_death_counts_each_queue_and_reason(amqp_broker):
    """A message dead-lettered again keeps its history: x-death has one entry per
    (queue, reason), the latest first, and an entry seen again has its count raised and
    moves to the front; x-first-death-* keep the first death. Two queues dead-letter to
    each other through the default exchange (a cycle RabbitMQ allows, since each death is
    a rejection)."""
    conn = connect(amqp_broker)
    ch = conn.channel()
    q1, q2 = uid("ping"), uid("pong")
    ch.queue_declare(q1, exclusive=True, arguments={
        "x-dead-letter-exchange": "", "x-dead-letter-routing-key": q2})
    ch.queue_declare(q2, exclusive=True, arguments={
        "x-dead-letter-exchange": "", "x-dead-letter-routing-key": q1})
    ch.basic_publish("", q1, b"ball")

    def reject_from(q):
        method, props, body = get(ch, q, auto_ack=False)
        assert body == b"ball", f"the message did not reach {q}"
        ch.basic_reject(method.delivery_tag, requeue=False)
        return props

    reject_from(q1)
    reject_from(q2)
    reject_from(q1)
    method, p, _ = get(ch, q2)
    deaths = [(d["queue"], d["reason"], d["count"]) for d in p.headers["x-death"]]
    assert deaths == [(q1, "rejected", 2), (q2, "rejected", 1)]
    assert p.headers["x-first-death-queue"] == q1
    assert p.headers["x-first-death-reason"] == "rejected"
    conn.close()


def test_a_dead_lettered_message_loses_its_expiration(amqp_broker):
    """A message that expired by its own expiration property is dead-lettered without
    it (so it does not expire again), and x-death records original-expiration."""
    conn = connect(amqp_broker)
    ch = conn.channel()
    src, dlq, _ = dead_letter_setup(ch)
    ch.basic_publish("", src, b"brief", pika.BasicProperties(expiration="50"))
    method, p, body = get(ch, dlq)
    assert body == b"brief", "the expired message did not reach the DLX queue"
    assert p.expiration is None
    check_x_death(p, "expired", src)
    assert p.headers["x-death"][0]["original-expiration"] == "50"
    conn.close()
