"""AMQP 0-9-1 exchanges and bindings with pika: the four exchange types and their
routing (topic wildcards, headers x-match), the default and amq.* exchanges and what
may not be done to them, declare equivalence, internal and auto-delete exchanges,
exchange-to-exchange bindings, and exchange.delete if-unused. Written to the spec and to
RabbitMQ 3.10's behaviour (AMQP_EXTERNAL runs them against RabbitMQ)."""

import pika
import pika.exceptions
import pytest

from amqp_support import connect, exists, round_trip, uid


def queues(ch, n):
    return [ch.queue_declare("", exclusive=True).method.queue for _ in range(n)]


def bodies(ch, q):
    """Every message ready in `q`, taken with basic.get (no-ack): publishes on the same
    channel before it are routed by then, as a channel's methods are handled in order."""
    got = []
    while True:
        method, _, body = ch.basic_get(q, auto_ack=True)
        if method is None:
            return got
        got.append(body)


def refused(ch_factory, op, code):
    """Runs op(channel) on a new channel, expecting a channel close with `code`; returns
    the reply text."""
    ch = ch_factory()
    with pytest.raises(pika.exceptions.ChannelClosedByBroker) as info:
        op(ch)
        round_trip(ch)
    assert info.value.reply_code == code, (info.value.reply_code, info.value.reply_text)
    return info.value.reply_text


# -- exchange types ---------------------------------------------------------------------

def test_direct_routes_by_exact_key_to_every_matching_queue(amqp_broker):
    conn = connect(amqp_broker)
    ch = conn.channel()
    x = uid("direct")
    ch.exchange_declare(x, "direct", auto_delete=True)
    a, b, c = queues(ch, 3)
    ch.queue_bind(a, x, "red")
    ch.queue_bind(b, x, "red")
    ch.queue_bind(b, x, "blue")
    ch.queue_bind(c, x, "")
    for key in ("red", "blue", "green", "", "RED", "red.x"):
        ch.basic_publish(x, key, key.encode() or b"<empty>")
    assert bodies(ch, a) == [b"red"]
    assert bodies(ch, b) == [b"red", b"blue"]
    assert bodies(ch, c) == [b"<empty>"]
    conn.close()


def test_fanout_ignores_the_routing_key(amqp_broker):
    conn = connect(amqp_broker)
    ch = conn.channel()
    x = uid("fanout")
    ch.exchange_declare(x, "fanout", auto_delete=True)
    a, b = queues(ch, 2)
    ch.queue_bind(a, x, "")
    ch.queue_bind(b, x, "some.key")
    ch.basic_publish(x, "whatever", b"1")
    ch.basic_publish(x, "", b"2")
    assert bodies(ch, a) == [b"1", b"2"]
    assert bodies(ch, b) == [b"1", b"2"]
    conn.close()


def test_a_queue_bound_twice_gets_one_copy(amqp_broker):
    """A message reaches a queue once however many of its bindings match (topic
    patterns that overlap, and a direct binding with the same key made twice)."""
    conn = connect(amqp_broker)
    ch = conn.channel()
    x = uid("topic")
    ch.exchange_declare(x, "topic", auto_delete=True)
    (q,) = queues(ch, 1)
    for pattern in ("a.*", "a.#", "#", "a.b", "a.b"):
        ch.queue_bind(q, x, pattern)
    ch.basic_publish(x, "a.b", b"once")
    assert bodies(ch, q) == [b"once"]
    conn.close()


# One line per case: (binding pattern, routing key, matches). RabbitMQ splits keys and
# patterns on "." keeping empty words ("a..b" is a, "", b); the empty key has no words.
TOPIC_CASES = [
    ("a.b.c", "a.b.c", True),
    ("a.b.c", "a.b", False),
    ("a.*.c", "a.b.c", True),
    ("a.*.c", "a.c", False),
    ("a.*.c", "a..c", True),           # * matches one empty word
    ("a.*", "a.b.c", False),
    ("*", "a", True),
    ("*", "a.b", False),
    ("*", "", False),                   # the empty key has no words
    ("*.*", "a", False),
    ("#", "", True),
    ("#", "a.b.c", True),
    ("a.#", "a", True),                 # # matches zero words
    ("a.#", "a.b.c", True),
    ("a.#", "ab", False),
    ("#.c", "c", True),
    ("#.c", "a.b.c", True),
    ("#.c", "a.b.cd", False),
    ("a.#.c", "a.c", True),
    ("a.#.c", "a.b.b.c", True),
    ("#.b.#", "b", True),
    ("#.b.#", "a.b.c", True),
    ("#.b.#", "a.bb.c", False),
    ("*.#", "", False),
    ("*.#", "a", True),
    ("#.*", "a.b", True),
    ("a..b", "a..b", True),
    ("a..b", "a.b", False),
    ("", "", True),
    ("", "a", False),
    (".", ".", True),
    ("*.*", ".", True),                 # "." is two empty words
    ("A.b", "a.b", False),              # case-sensitive
]


def test_topic_wildcards(amqp_broker):
    """`*` is exactly one word, `#` zero or more; empty words are words."""
    conn = connect(amqp_broker)
    ch = conn.channel()
    x = uid("topic")
    ch.exchange_declare(x, "topic", auto_delete=True)
    patterns = sorted({p for p, _, _ in TOPIC_CASES})
    bound = dict(zip(patterns, queues(ch, len(patterns))))
    for pattern, q in bound.items():
        ch.queue_bind(q, x, pattern)
    keys = sorted({k for _, k, _ in TOPIC_CASES})
    for key in keys:
        ch.basic_publish(x, key, key.encode())
    got = {p: set(bodies(ch, q)) for p, q in bound.items()}
    wrong = [(p, k, want) for p, k, want in TOPIC_CASES
             if (k.encode() in got[p]) != want]
    assert not wrong, f"(pattern, key, expected) cases that routed otherwise: {wrong}"
    conn.close()


HEADERS = {"format": "pdf", "type": "report", "pages": 12, "draft": True}

# (binding arguments, matches HEADERS)
HEADERS_CASES = [
    ({"x-match": "all", "format": "pdf", "type": "report"}, True),
    ({"x-match": "all", "format": "pdf", "type": "log"}, False),
    ({"x-match": "all", "format": "pdf", "missing": "x"}, False),
    ({"format": "pdf", "type": "report"}, True),          # x-match absent = all
    ({"format": "pdf", "type": "log"}, False),
    ({"x-match": "any", "format": "zip", "type": "report"}, True),
    ({"x-match": "any", "format": "zip", "type": "log"}, False),
    ({"x-match": "all", "pages": 12}, True),              # a non-string value
    ({"x-match": "all", "pages": 13}, False),
    ({"x-match": "all", "pages": "12"}, False),           # a string is not the integer
    ({"x-match": "all", "draft": True}, True),
    ({"x-match": "all", "draft": False}, False),
    ({"x-match": "all", "format": None}, True),           # void: present, any value
    ({"x-match": "all", "missing": None}, False),
    ({"x-match": "all", "format": "pdf", "x-tag": "ignored"}, True),   # x- args ignored
    ({"x-match": "any", "x-format": "pdf"}, False),        # none counted: any fails
    ({"x-match": "all"}, True),                             # none counted: all matches
]


def test_headers_exchange_x_match(amqp_broker):
    """A headers exchange ignores the routing key and matches the message's headers
    against each binding's arguments: x-match all (the default when absent) needs every
    argument equal, any needs one; values are typed (12 is not "12"); a void argument
    asks only that the header be present; arguments starting with "x-" do not count."""
    conn = connect(amqp_broker)
    ch = conn.channel()
    x = uid("headers")
    ch.exchange_declare(x, "headers", auto_delete=True)
    bound = queues(ch, len(HEADERS_CASES))
    for q, (args, _) in zip(bound, HEADERS_CASES):
        ch.queue_bind(q, x, "ignored", arguments=args)
    ch.basic_publish(x, "any-key", b"doc", pika.BasicProperties(headers=HEADERS))
    ch.basic_publish(x, "any-key", b"no headers")
    wrong = []
    for q, (args, want) in zip(bound, HEADERS_CASES):
        got = bodies(ch, q)
        expected = [b"doc"] if want else []
        if args == {"x-match": "all"}:
            expected.append(b"no headers")  # nothing to match: all matches anything
        if got != expected:
            wrong.append((args, got))
    assert not wrong, f"bindings that routed otherwise: {wrong}"
    conn.close()


def test_headers_binding_with_a_bad_x_match_is_406(amqp_broker):
    conn = connect(amqp_broker)
    ch = conn.channel()
    x = uid("headers")
    ch.exchange_declare(x, "headers", auto_delete=True)
    (q,) = queues(ch, 1)
    text = refused(conn.channel, lambda c: c.queue_bind(q, x, "", {"x-match": "some"}), 406)
    assert "x-match" in text
    conn.close()


# -- the default exchange and amq.* ------------------------------------------------------

def test_the_predeclared_exchanges_exist_with_their_types(amqp_broker):
    """amq.direct, amq.fanout, amq.topic, amq.headers and amq.match exist in every vhost
    (passive declare), and route as their types do."""
    conn = connect(amqp_broker)
    ch = conn.channel()
    for name in ("amq.direct", "amq.fanout", "amq.topic", "amq.headers", "amq.match"):
        ch.exchange_declare(name, passive=True)
    d, f, t, h, m = queues(ch, 5)
    ch.queue_bind(d, "amq.direct", d)
    ch.queue_bind(f, "amq.fanout", "")
    ch.queue_bind(t, "amq.topic", f"{t}.#")
    ch.queue_bind(h, "amq.headers", "", {"k": d})
    ch.queue_bind(m, "amq.match", "", {"x-match": "any", "k": d})
    ch.basic_publish("amq.direct", d, b"direct")
    ch.basic_publish("amq.fanout", "x", b"fanout")
    ch.basic_publish("amq.topic", f"{t}.a.b", b"topic")
    ch.basic_publish("amq.headers", "", b"headers", pika.BasicProperties(headers={"k": d}))
    ch.basic_publish("amq.match", "", b"match", pika.BasicProperties(headers={"k": d}))
    assert bodies(ch, d) == [b"direct"]
    assert b"fanout" in bodies(ch, f)  # other tests may publish to amq.fanout
    assert bodies(ch, t) == [b"topic"]
    assert bodies(ch, h) == [b"headers"]
    assert bodies(ch, m) == [b"match"]
    conn.close()


def test_the_default_exchange_routes_to_the_queue_named_by_the_key(amqp_broker):
    """Every queue is bound to the default exchange ("") by its name; a key naming no
    queue is dropped."""
    conn = connect(amqp_broker)
    ch = conn.channel()
    a, b = queues(ch, 2)
    ch.basic_publish("", a, b"to a")
    ch.basic_publish("", b, b"to b")
    ch.basic_publish("", uid("nobody"), b"lost")
    assert bodies(ch, a) == [b"to a"]
    assert bodies(ch, b) == [b"to b"]
    conn.close()


def test_the_default_exchange_cannot_be_bound_unbound_or_deleted(amqp_broker):
    """Binding a queue to "", unbinding from it, binding it to or from another exchange,
    and deleting it are all 403 ACCESS_REFUSED."""
    conn = connect(amqp_broker)
    ch = conn.channel()
    (q,) = queues(ch, 1)
    x = uid("x")
    ch.exchange_declare(x, "direct", auto_delete=True)
    ch.queue_bind(q, x, "keep")  # keeps x alive while the cases run
    cases = {
        "queue.bind": lambda c: c.queue_bind(q, "", q),
        "queue.unbind": lambda c: c.queue_unbind(q, "", q),
        "exchange.bind from": lambda c: c.exchange_bind(x, "", "k"),
        "exchange.bind to": lambda c: c.exchange_bind("", x, "k"),
        "exchange.delete": lambda c: c.exchange_delete(""),
    }
    for name, op in cases.items():
        ch2 = conn.channel()
        with pytest.raises(pika.exceptions.ChannelClosedByBroker) as info:
            op(ch2)
            round_trip(ch2)
        assert info.value.reply_code == 403, (name, info.value)
    ch.basic_publish("", q, b"still routed by name")
    assert bodies(ch, q) == [b"still routed by name"]
    conn.close()


def test_amq_names_are_reserved(amqp_broker):
    """Spec (exchange.declare): names starting with "amq." are reserved; a client may
    declare one only passively or if it exists. So creating an amq.* exchange, deleting
    one, or declaring a queue named amq.* is 403 ACCESS_REFUSED, while redeclaring
    amq.direct as it is (direct, durable) is fine and redeclaring it otherwise is 406
    like any inequivalent redeclare (RabbitMQ checks equivalence first)."""
    conn = connect(amqp_broker)
    cases = [
        lambda c: c.exchange_declare("amq." + uid("mine"), "direct"),
        lambda c: c.exchange_delete("amq.fanout"),
        lambda c: c.queue_declare("amq." + uid("q")),
    ]
    for op in cases:
        refused(conn.channel, op, 403)
    refused(conn.channel, lambda c: c.exchange_declare("amq.direct", "direct"), 406)
    ch = conn.channel()
    ch.exchange_declare("amq.direct", "direct", durable=True)
    ch.exchange_declare("amq.topic", passive=True)
    assert exists(conn, "exchange", "amq.fanout")
    conn.close()


def test_publishing_to_a_missing_exchange_is_404(amqp_broker):
    """Including a missing amq.* name: 404 NOT_FOUND, channel close."""
    conn = connect(amqp_broker)
    for name in (uid("missing"), "amq." + uid("missing")):
        text = refused(conn.channel, lambda c: c.basic_publish(name, "k", b"x"), 404)
        assert name in text
    conn.close()


# -- declare equivalence ------------------------------------------------------------------

@pytest.mark.parametrize("change", [
    {"exchange_type": "fanout"}, {"durable": True}, {"auto_delete": False},
    {"internal": True}, {"arguments": {"alternate-exchange": "amq.fanout"}}])
def test_an_inequivalent_exchange_redeclare_is_406(amqp_broker, change):
    """A redeclare must match the type, durable, auto-delete, internal and arguments of
    the exchange: 406 PRECONDITION_FAILED ("inequivalent arg") otherwise; an identical
    redeclare is fine, and a passive one checks none of them."""
    conn = connect(amqp_broker)
    ch = conn.channel()
    x = uid("eq")
    first = {"exchange_type": "direct", "durable": False, "auto_delete": True,
             "internal": False, "arguments": None}
    ch.exchange_declare(x, **first)
    ch.exchange_declare(x, **first)
    ch.exchange_declare(x, "topic", passive=True)
    text = refused(conn.channel, lambda c: c.exchange_declare(x, **{**first, **change}), 406)
    assert "inequivalent" in text
    ch.exchange_delete(x)
    conn.close()


def test_an_unknown_exchange_type_is_503(amqp_broker):
    """RabbitMQ: "invalid exchange type" is 503 COMMAND_INVALID, a connection exception."""
    conn = connect(amqp_broker)
    ch = conn.channel()
    with pytest.raises(pika.exceptions.ConnectionClosedByBroker) as info:
        ch.exchange_declare(uid("x"), "no-such-type")
    assert info.value.reply_code == 503


# -- internal, auto-delete, if-unused ------------------------------------------------------

def test_an_internal_exchange_takes_no_publishes_but_routes_from_exchanges(amqp_broker):
    """A client may not publish to an internal exchange (403 ACCESS_REFUSED), but an
    exchange-to-exchange binding delivers through it."""
    conn = connect(amqp_broker)
    ch = conn.channel()
    front, inner = uid("front"), uid("inner")
    ch.exchange_declare(front, "direct", auto_delete=True)
    ch.exchange_declare(inner, "fanout", auto_delete=True, internal=True)
    (q,) = queues(ch, 1)
    ch.queue_bind(q, inner)
    ch.exchange_bind(inner, front, "k")
    ch.basic_publish(front, "k", b"via front")
    assert bodies(ch, q) == [b"via front"]
    text = refused(conn.channel, lambda c: c.basic_publish(inner, "k", b"direct"), 403)
    assert "internal" in text
    assert bodies(ch, q) == []
    conn.close()


def test_an_auto_delete_exchange_goes_with_its_last_binding(amqp_broker):
    """An auto-delete exchange is deleted when its last binding (as a source) is removed,
    by queue.unbind or with the bound queue's deletion; one that never had a binding
    stays."""
    conn = connect(amqp_broker)
    ch = conn.channel()
    x, never = uid("ad"), uid("ad-unbound")
    ch.exchange_declare(x, "direct", auto_delete=True)
    ch.exchange_declare(never, "direct", auto_delete=True)
    a, b = queues(ch, 2)
    ch.queue_bind(a, x, "k1")
    ch.queue_bind(b, x, "k2")
    ch.queue_unbind(a, x, "k1")
    assert exists(conn, "exchange", x)  # b's binding keeps it
    ch.queue_delete(b)  # its last binding goes with the queue
    assert not exists(conn, "exchange", x)
    assert exists(conn, "exchange", never)
    ch.exchange_delete(never)
    # And by unbind of the last binding.
    y = uid("ad")
    ch.exchange_declare(y, "fanout", auto_delete=True)
    ch.queue_bind(a, y)
    ch.queue_unbind(a, y)
    assert not exists(conn, "exchange", y)
    # An exchange-to-exchange binding counts for its source, not its destination.
    src, dst = uid("ad-src"), uid("ad-dst")
    ch.exchange_declare(src, "direct", auto_delete=True)
    ch.exchange_declare(dst, "fanout", auto_delete=True)
    ch.exchange_bind(dst, src, "k")
    ch.queue_bind(a, dst)
    ch.exchange_unbind(dst, src, "k")
    assert not exists(conn, "exchange", src)
    assert exists(conn, "exchange", dst)  # a's binding keeps it
    conn.close()


def test_exchange_delete_if_unused(amqp_broker):
    """exchange.delete if-unused refuses an exchange that is the source of a binding (406
    PRECONDITION_FAILED); a plain delete removes it and its bindings; deleting a missing
    exchange is fine (RabbitMQ answers delete-ok)."""
    conn = connect(amqp_broker)
    ch = conn.channel()
    x = uid("used")
    ch.exchange_declare(x, "direct")
    (q,) = queues(ch, 1)
    ch.queue_bind(q, x, "k")
    text = refused(conn.channel, lambda c: c.exchange_delete(x, if_unused=True), 406)
    assert "in use" in text
    assert exists(conn, "exchange", x)
    ch.exchange_delete(x)
    assert not exists(conn, "exchange", x)
    # The binding went with it: a new exchange of that name routes nowhere.
    ch.exchange_declare(x, "direct", auto_delete=True)
    ch.basic_publish(x, "k", b"x")
    assert bodies(ch, q) == []
    ch.exchange_delete(x, if_unused=True)  # unused now
    ch.exchange_delete(uid("never-there"))
    conn.close()


def test_exchange_delete_if_unused_counts_exchange_bindings(amqp_broker):
    """A binding from the exchange to another exchange makes it used; one to it (as a
    destination) does not."""
    conn = connect(amqp_broker)
    ch = conn.channel()
    src, dst = uid("src"), uid("dst")
    ch.exchange_declare(src, "direct")
    ch.exchange_declare(dst, "fanout")
    ch.exchange_bind(dst, src, "k")
    refused(conn.channel, lambda c: c.exchange_delete(src, if_unused=True), 406)
    ch.exchange_delete(dst, if_unused=True)  # only a destination: unused
    ch.exchange_delete(src, if_unused=True)  # its binding went with dst
    assert not exists(conn, "exchange", src)
    conn.close()


# -- exchange-to-exchange bindings ---------------------------------------------------------

def test_exchange_bind_and_unbind_end_to_end(amqp_broker):
    """exchange.bind routes what the source routes with the binding's key through the
    destination's own bindings; exchange.unbind stops it; the destination still routes
    what is published to it directly."""
    conn = connect(amqp_broker)
    ch = conn.channel()
    src, dst = uid("src"), uid("dst")
    ch.exchange_declare(src, "direct")
    ch.exchange_declare(dst, "topic", auto_delete=True)
    a, b = queues(ch, 2)
    ch.queue_bind(a, dst, "orders.*")
    ch.queue_bind(b, dst, "#")
    ch.exchange_bind(dst, src, "orders.new")
    ch.basic_publish(src, "orders.new", b"1")
    ch.basic_publish(src, "orders.old", b"not bound at src")
    ch.basic_publish(dst, "other", b"2")
    assert bodies(ch, a) == [b"1"]
    assert bodies(ch, b) == [b"1", b"2"]
    ch.exchange_unbind(dst, src, "orders.new")
    ch.basic_publish(src, "orders.new", b"after unbind")
    assert bodies(ch, a) == [] and bodies(ch, b) == []
    ch.exchange_delete(src)
    conn.close()


def test_exchange_cycles_and_diamonds_deliver_once(amqp_broker):
    """A loop of exchange bindings does not loop messages, and a queue reached along two
    paths gets one copy."""
    conn = connect(amqp_broker)
    ch = conn.channel()
    e1, e2, e3 = uid("e1"), uid("e2"), uid("e3")
    for e in (e1, e2, e3):
        ch.exchange_declare(e, "fanout", auto_delete=True)
    ch.exchange_bind(e2, e1)
    ch.exchange_bind(e3, e1)
    ch.exchange_bind(e3, e2)
    ch.exchange_bind(e1, e3)  # the loop back
    (q,) = queues(ch, 1)
    ch.queue_bind(q, e3)
    ch.queue_bind(q, e2)
    ch.basic_publish(e1, "", b"one")
    assert bodies(ch, q) == [b"one"]
    conn.close()


def test_exchange_bind_to_a_missing_exchange_is_404(amqp_broker):
    conn = connect(amqp_broker)
    ch = conn.channel()
    x = uid("x")
    ch.exchange_declare(x, "fanout", auto_delete=True)
    refused(conn.channel, lambda c: c.exchange_bind(uid("missing"), x, ""), 404)
    refused(conn.channel, lambda c: c.exchange_bind(x, uid("missing"), ""), 404)
    refused(conn.channel, lambda c: c.queue_bind(uid("missing-q"), x, ""), 404)
    conn.close()
