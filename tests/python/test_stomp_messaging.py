"""STOMP SEND, SUBSCRIBE and UNSUBSCRIBE on each destination kind, as RabbitMQ's STOMP plugin
maps them: /topic/x (fan-out through amq.topic), /queue/x (a named queue, competing
consumers), /exchange/e/key, /amq/queue/q (an existing queue), /temp-queue/x (reply-to);
headers carried through, header escaping, bodies with NUL bytes."""

import pytest
import websocket

from stomp_support import (VERSIONS, Client, bodies, closes_after_error, frame, is_external,
                           raw, uid)
from support import wait_until

over = pytest.mark.parametrize("transport", ["tcp", "ws"])
versions = pytest.mark.parametrize("version", VERSIONS)


def clients(broker, n, transport="tcp", version="1.2"):
    return [Client(broker, version, transport) for _ in range(n)]


# --- /topic -----------------------------------------------------------------------------------

@over
def test_topic_fans_out_to_every_subscriber(stomp_broker, transport):
    dest = "/topic/" + uid("fan")
    subs = clients(stomp_broker, 3, transport)
    ids = [s.subscribe(dest) for s in subs]
    pub = Client(stomp_broker, transport=transport)
    pub.send(dest, b"to all")
    for sub, sid in zip(subs, ids):
        m = sub.expect_message()
        assert m.cmd == "MESSAGE"
        assert m.body == b"to all"
        assert m.headers["destination"] == dest
        assert m.headers["subscription"] == sid
        assert m.headers.get("message-id")
    for sub in subs:
        sub.expect_no_message()


@versions
def test_topic_in_each_version(stomp_broker, version):
    dest = "/topic/" + uid("ver")
    sub = Client(stomp_broker, version)
    sid = sub.subscribe(dest)
    Client(stomp_broker, version).send(dest, b"v" + version.encode())
    m = sub.expect_message()
    assert m.body == b"v" + version.encode()
    assert m.headers.get("message-id")
    if version != "1.0":
        assert m.headers["subscription"] == sid


def test_topic_does_not_keep_messages_sent_before_the_subscription(stomp_broker):
    dest = "/topic/" + uid("late")
    pub = Client(stomp_broker)
    pub.send(dest, b"nobody listening")
    sub = Client(stomp_broker)
    sub.subscribe(dest)
    sub.expect_no_message()
    pub.send(dest, b"now")
    assert sub.expect_message().body == b"now"


def test_topic_wildcards_follow_amq_topic(stomp_broker):
    # /topic/<pattern> binds amq.topic with the pattern: '*' one word, '#' zero or more.
    base = uid("wild")
    star, hash_, exact = clients(stomp_broker, 3)
    star.subscribe(f"/topic/{base}.*")
    hash_.subscribe(f"/topic/{base}.#")
    exact.subscribe(f"/topic/{base}.a.b")
    pub = Client(stomp_broker)
    pub.send(f"/topic/{base}.a", b"one")
    pub.send(f"/topic/{base}.a.b", b"two")
    assert star.expect_message().body == b"one"
    assert bodies(hash_.expect_messages(2)) == [b"one", b"two"]
    assert exact.expect_message().body == b"two"
    for c in (star, hash_, exact):
        c.expect_no_message()


def test_a_subscriber_gets_its_own_topic_sends(stomp_broker):
    c = Client(stomp_broker)
    dest = "/topic/" + uid("self")
    c.subscribe(dest)
    c.send(dest, b"echo")
    assert c.expect_message().body == b"echo"


# --- /queue -----------------------------------------------------------------------------------

@over
def test_queue_consumers_compete_round_robin(stomp_broker, transport):
    dest = "/queue/" + uid("rr")
    a, b = clients(stomp_broker, 2, transport)
    a.subscribe(dest)
    b.subscribe(dest)
    pub = Client(stomp_broker, transport=transport)
    for i in range(6):
        pub.send(dest, b"%d" % i)
    got_a = bodies(a.expect_messages(3))
    got_b = bodies(b.expect_messages(3))
    a.expect_no_message()
    b.expect_no_message()
    # Each message to exactly one consumer, alternating.
    assert sorted(got_a + got_b) == [b"%d" % i for i in range(6)]
    assert {tuple(got_a), tuple(got_b)} == {(b"0", b"2", b"4"), (b"1", b"3", b"5")}, \
        (got_a, got_b)


@over
def test_queue_keeps_messages_sent_before_anyone_subscribes(stomp_broker, transport):
    dest = "/queue/" + uid("wait")
    pub = Client(stomp_broker, transport=transport)
    for i in range(3):
        pub.send(dest, b"early %d" % i)  # each RECEIPT: the queue holds it
    sub = Client(stomp_broker, transport=transport)
    sub.subscribe(dest)
    assert bodies(sub.expect_messages(3)) == [b"early 0", b"early 1", b"early 2"]
    sub.expect_no_message()


@versions
def test_queue_preserves_order(stomp_broker, version):
    dest = "/queue/" + uid("order")
    sub = Client(stomp_broker, version)
    sub.subscribe(dest)
    pub = Client(stomp_broker, version)
    for i in range(50):
        pub.send(dest, b"%d" % i, receipt=(i == 49))
    assert bodies(sub.expect_messages(50)) == [b"%d" % i for i in range(50)]


def test_queue_message_reaches_one_of_several_connections_only(stomp_broker):
    dest = "/queue/" + uid("one")
    subs = clients(stomp_broker, 3)
    for s in subs:
        s.subscribe(dest)
    Client(stomp_broker).send(dest, b"once")
    got = []

    def collect():
        for sub in subs:
            got.extend(bodies(sub.drain()))
        return got

    wait_until(collect, what="the message at one subscriber")
    for sub in subs:
        sub.expect_no_message()
    assert got == [b"once"]


# --- UNSUBSCRIBE ------------------------------------------------------------------------------

@versions
def test_unsubscribe_stops_delivery(stomp_broker, version):
    dest = "/topic/" + uid("unsub")
    c = Client(stomp_broker, version)
    sid = c.subscribe(dest, id="only" if version == "1.0" else None)
    c.send(dest, b"before")
    assert c.expect_message().body == b"before"
    receipt = c.unsubscribe(id=sid)
    assert receipt.cmd == "RECEIPT"
    c.send(dest, b"after")
    c.expect_no_message()


def test_unsubscribe_by_destination_in_1_0(stomp_broker):
    # STOMP 1.0: UNSUBSCRIBE names the subscription by id or by destination.
    dest = "/topic/" + uid("unsub10")
    c = Client(stomp_broker, "1.0")
    c.subscribe(dest)
    c.unsubscribe(destination=dest)
    c.send(dest, b"after")
    c.expect_no_message()


def test_unsubscribe_leaves_other_subscriptions(stomp_broker):
    base = uid("two")
    c = Client(stomp_broker)
    s1 = c.subscribe(f"/topic/{base}.one")
    c.subscribe(f"/topic/{base}.two")
    c.unsubscribe(s1)
    c.send(f"/topic/{base}.one", b"1")
    c.send(f"/topic/{base}.two", b"2")
    assert c.expect_message().body == b"2"
    c.expect_no_message()


def test_two_subscriptions_on_one_connection_each_get_a_copy(stomp_broker):
    dest = "/topic/" + uid("twice")
    c = Client(stomp_broker)
    s1 = c.subscribe(dest)
    s2 = c.subscribe(dest)
    c.send(dest, b"x")
    got = c.expect_messages(2)
    assert sorted(m.headers["subscription"] for m in got) == sorted([s1, s2])
    c.expect_no_message()


# --- /exchange, /amq/queue, /temp-queue ---------------------------------------------------------

def test_exchange_amq_direct_routes_by_key(stomp_broker):
    k1, k2 = uid("k1"), uid("k2")
    a, b = clients(stomp_broker, 2)
    a.subscribe(f"/exchange/amq.direct/{k1}")
    b.subscribe(f"/exchange/amq.direct/{k2}")
    pub = Client(stomp_broker)
    pub.send(f"/exchange/amq.direct/{k1}", b"for k1")
    assert a.expect_message().body == b"for k1"
    b.expect_no_message()


def test_exchange_amq_topic_is_the_topic_destination(stomp_broker):
    # /topic/x is amq.topic with routing key x, so both names reach the same subscribers.
    key = uid("same")
    a, b = clients(stomp_broker, 2)
    a.subscribe(f"/topic/{key}")
    b.subscribe(f"/exchange/amq.topic/{key}")
    Client(stomp_broker).send(f"/exchange/amq.topic/{key}", b"via exchange")
    assert a.expect_message().body == b"via exchange"
    assert b.expect_message().body == b"via exchange"


def test_amq_queue_addresses_an_existing_queue(stomp_broker):
    name = uid("named")
    first = Client(stomp_broker)
    first.subscribe(f"/queue/{name}")  # declares the queue
    pub = Client(stomp_broker)
    pub.send(f"/amq/queue/{name}", b"direct to the queue")
    assert first.expect_message().body == b"direct to the queue"
    second = Client(stomp_broker)
    second.subscribe(f"/amq/queue/{name}", id="amq")
    first.disconnect()
    pub.send(f"/queue/{name}", b"via /queue")
    m = second.expect_message()
    assert m.body == b"via /queue"
    assert m.headers["subscription"] == "amq"


def test_subscribe_to_a_missing_amq_queue_is_an_error(stomp_broker):
    r = raw(stomp_broker)
    r.connect()
    r.send_frame("SUBSCRIBE", {"destination": f"/amq/queue/{uid('missing')}", "id": "1"})
    r.expect_error()  # RabbitMQ closes here too (a channel error is fatal to it)


def test_subscribe_to_a_missing_amq_queue_through_stomp_py(stomp_broker):
    c = Client(stomp_broker)
    c.conn.subscribe(f"/amq/queue/{uid('missing')}", "1")
    c.expect_error()


@over
def test_temp_queue_request_response(stomp_broker, transport):
    service = "/queue/" + uid("svc")
    responder = Client(stomp_broker, transport=transport)
    responder.subscribe(service)
    requester = Client(stomp_broker, transport=transport)
    bystander = Client(stomp_broker, transport=transport)
    requester.send(service, b"what time is it?", **{"reply-to": "/temp-queue/answers",
                                                    "correlation-id": "q1"})
    request = responder.expect_message()
    assert request.body == b"what time is it?"
    reply_to = request.headers["reply-to"]
    assert reply_to, request.headers
    # RabbitMQ rewrites the value to a private reply destination (/reply-queue/...); the
    # responder only echoes it back.
    responder.send(reply_to, b"noon", **{"correlation-id": request.headers["correlation-id"]})
    answer = requester.expect_message()
    assert answer.body == b"noon"
    assert answer.headers["correlation-id"] == "q1"
    requester.expect_no_message()
    bystander.expect_no_message()
    responder.expect_no_message()


def test_temp_queues_are_private_to_their_connection(stomp_broker):
    service = "/queue/" + uid("svc2")
    responder = Client(stomp_broker)
    responder.subscribe(service)
    one, two = clients(stomp_broker, 2)
    one.send(service, b"from one", **{"reply-to": "/temp-queue/r"})
    two.send(service, b"from two", **{"reply-to": "/temp-queue/r"})
    requests = responder.expect_messages(2)
    assert requests[0].headers["reply-to"] != requests[1].headers["reply-to"]
    for req in requests:
        responder.send(req.headers["reply-to"], b"re: " + req.body)
    assert one.expect_message().body == b"re: from one"
    assert two.expect_message().body == b"re: from two"
    one.expect_no_message()
    two.expect_no_message()


def test_unknown_destination_kind_is_an_error(stomp_broker):
    r = raw(stomp_broker)
    r.connect()
    r.send_frame("SEND", {"destination": "/nowhere/" + uid("x")}, b"x")
    r.expect_error(closes=closes_after_error(stomp_broker))


# --- headers and bodies -----------------------------------------------------------------------

@over
def test_content_type_and_custom_headers_are_carried_through(stomp_broker, transport):
    dest = "/queue/" + uid("hdr")
    sub = Client(stomp_broker, transport=transport)
    sub.subscribe(dest)
    pub = Client(stomp_broker, transport=transport)
    pub.send(dest, b'{"a": 1}', content_type="application/json",
             **{"x-order-id": "42", "priority-note": "urgent", "Mixed-Case": "Kept"})
    m = sub.expect_message()
    assert m.body == b'{"a": 1}'
    assert m.headers["content-type"] == "application/json"
    assert m.headers["x-order-id"] == "42"
    assert m.headers["priority-note"] == "urgent"
    assert m.headers["Mixed-Case"] == "Kept"


@versions
def test_custom_headers_in_each_version(stomp_broker, version):
    dest = "/topic/" + uid("hv")
    sub = Client(stomp_broker, version)
    sub.subscribe(dest)
    Client(stomp_broker, version).send(dest, b"x", **{"x-note": "plain value"})
    assert sub.expect_message().headers["x-note"] == "plain value"


@pytest.mark.parametrize("version", ["1.1", "1.2"])
def test_header_escaping_round_trip(stomp_broker, version):
    # STOMP 1.1/1.2 "Value Encoding": ':' -> \c, LF -> \n, '\' -> \\ (1.2 also CR -> \r).
    value = "a:b\nc\\d:e"
    dest = "/queue/" + uid("esc")
    sub = Client(stomp_broker, version)
    sub.subscribe(dest)
    Client(stomp_broker, version).send(dest, b"x", **{"x-tricky": value})
    assert sub.expect_message().headers["x-tricky"] == value


def test_header_escapes_on_the_wire(stomp_broker):
    # Exact bytes: what a 1.2 client sends escaped arrives escaped the same way.
    dest = "/queue/" + uid("wire")
    r = raw(stomp_broker)
    r.connect()
    r.send_frame("SUBSCRIBE", {"destination": dest, "id": "s", "receipt": "sub"})
    assert r.expect("RECEIPT")["receipt-id"] == "sub"
    r.send(b"SEND\ndestination:" + dest.encode()
           + b"\nx-tricky:a\\cb\\nc\\\\d\\re\n\nbody\x00")
    m = r.expect("MESSAGE")
    assert b"\nx-tricky:a\\cb\\nc\\\\d\\re\n" in m.raw, m.raw
    assert m["x-tricky"] == "a:b\nc\\d\re"
    assert m.body == b"body"


def test_utf8_header_values_and_bodies(stomp_broker):
    dest = "/queue/" + uid("utf8")
    sub = Client(stomp_broker)
    sub.subscribe(dest)
    body = "grüße ✓ 日本".encode()
    Client(stomp_broker).send(dest, body, **{"x-name": "Zoë ✓"})
    m = sub.expect_message()
    assert m.body == body
    assert m.headers["x-name"] == "Zoë ✓"


@over
def test_body_with_nul_bytes_uses_content_length(stomp_broker, transport):
    dest = "/queue/" + uid("nul")
    body = b"a\x00b\x00\x00c\xff\x00"
    sub = raw(stomp_broker, transport)
    sub.connect()
    sub.send_frame("SUBSCRIBE", {"destination": dest, "id": "s", "receipt": "sub"})
    assert sub.expect("RECEIPT")["receipt-id"] == "sub"
    pub = raw(stomp_broker, transport)
    pub.connect()
    pub.send_frame("SEND", {"destination": dest, "receipt": "sent"}, body, content_length=True)
    assert pub.expect("RECEIPT")["receipt-id"] == "sent"
    m = sub.expect("MESSAGE")
    assert m.body == body
    assert m["content-length"] == str(len(body))
    if transport == "ws" and not is_external(stomp_broker):
        # RFC 6455 5.6: a text message must be UTF-8, so a frame whose body is not goes
        # in a binary message. RabbitMQ 3.10's web-stomp sends text messages unless
        # configured with web_stomp.ws_frame = binary, invalid UTF-8 or not.
        assert sub.ws_opcodes[-1] == websocket.ABNF.OPCODE_BINARY, sub.ws_opcodes


def test_body_with_nul_bytes_through_stomp_py(stomp_broker):
    dest = "/queue/" + uid("nul2")
    sub = Client(stomp_broker)
    sub.subscribe(dest)
    body = bytes(range(256)) * 4
    Client(stomp_broker).send(dest, body)  # stomp.py adds content-length
    assert sub.expect_message().body == body


def test_empty_body(stomp_broker):
    dest = "/queue/" + uid("empty")
    sub = Client(stomp_broker)
    sub.subscribe(dest)
    r = raw(stomp_broker)
    r.connect()
    r.send_frame("SEND", {"destination": dest, "receipt": "e"})
    r.expect("RECEIPT")
    assert sub.expect_message().body == b""


def test_large_body_round_trip(stomp_broker):
    dest = "/queue/" + uid("big")
    sub = Client(stomp_broker)
    sub.subscribe(dest)
    body = bytes(i % 251 for i in range(200_000))
    Client(stomp_broker).send(dest, body)
    assert sub.expect_message().body == body


def test_frames_split_and_batched_arbitrarily(stomp_broker):
    # The server frames by content, not by read: two SENDs in one write, and one SEND in
    # single-byte writes, with an EOL heart-beat between frames.
    dest = "/queue/" + uid("split")
    sub = Client(stomp_broker)
    sub.subscribe(dest)
    r = raw(stomp_broker)
    r.connect()
    two = frame("SEND", {"destination": dest}, b"one") + b"\n" + \
        frame("SEND", {"destination": dest}, b"two")
    r.send(two)
    for byte in frame("SEND", {"destination": dest, "receipt": "bytes"}, b"three"):
        r.send(bytes([byte]))
    assert r.expect("RECEIPT")["receipt-id"] == "bytes"
    assert bodies(sub.expect_messages(3)) == [b"one", b"two", b"three"]


def test_crlf_line_endings_are_accepted(stomp_broker):
    # STOMP 1.2: lines may end with CRLF.
    dest = "/queue/" + uid("crlf")
    sub = Client(stomp_broker)
    sub.subscribe(dest)
    r = raw(stomp_broker)
    r.connect()
    r.send(frame("SEND", {"destination": dest, "receipt": "crlf"}, b"windows", eol=b"\r\n"))
    assert r.expect("RECEIPT")["receipt-id"] == "crlf"
    assert sub.expect_message().body == b"windows"


def test_repeated_header_first_value_wins(stomp_broker):
    # STOMP 1.2 "Repeated Header Entries": only the first is used.
    dest = "/queue/" + uid("rep")
    sub = Client(stomp_broker)
    sub.subscribe(dest)
    r = raw(stomp_broker)
    r.connect()
    r.send_frame("SEND", [("destination", dest), ("x-k", "first"), ("x-k", "second"),
                          ("receipt", "rep")], b"x")
    r.expect("RECEIPT")
    assert sub.expect_message().headers["x-k"] == "first"
