"""STOMP acknowledgement: ack modes auto / client (cumulative) / client-individual, the
prefetch-count header, ACK and NACK in each version's form, redelivery of what a dead
connection left unacked, and durable topic subscriptions (RabbitMQ's `durable:true` /
`persistent:true` with `auto-delete:false` and an `id`)."""

import pytest

from stomp_support import VERSIONS, Client, bodies, raw, uid

over = pytest.mark.parametrize("transport", ["tcp", "ws"])
versions = pytest.mark.parametrize("version", VERSIONS)
versions_11 = pytest.mark.parametrize("version", ["1.1", "1.2"])  # NACK, client-individual


def fill(broker, dest, n, prefix=b"m"):
    """Sends `prefix`0 .. `prefix`n-1 to `dest`, each confirmed by its RECEIPT."""
    pub = Client(broker)
    for i in range(n):
        pub.send(dest, prefix + b"%d" % i)
    return pub


def left_in_queue(broker, dest, expected_count):
    """Subscribes a fresh auto-ack consumer to `dest` and returns the bodies it gets:
    `expected_count` of them, then asserts there are no more."""
    c = Client(broker)
    c.subscribe(dest)
    got = c.expect_messages(expected_count) if expected_count else []
    c.expect_no_message()
    return got


# --- the MESSAGE frame's ack headers -----------------------------------------------------------

@pytest.mark.parametrize("version,ack", [(v, "client") for v in VERSIONS]
                         + [(v, "client-individual") for v in ("1.1", "1.2")])
def test_message_carries_what_the_versions_ack_needs(stomp_broker, version, ack):
    dest = "/queue/" + uid("hdrs")
    c = Client(stomp_broker, version)
    sid = c.subscribe(dest, ack=ack, id="sub-1")
    fill(stomp_broker, dest, 1)
    m = c.expect_message()
    assert m.headers.get("message-id"), m.headers
    if version == "1.2":
        # STOMP 1.2: a MESSAGE from a client or client-individual subscription MUST have an
        # `ack` header, which the ACK's `id` names.
        assert m.headers.get("ack"), m.headers
    if version != "1.0":
        assert m.headers["subscription"] == sid
    c.ack(m)


# --- auto -------------------------------------------------------------------------------------

@versions
def test_auto_ack_messages_are_gone_once_delivered(stomp_broker, version):
    dest = "/queue/" + uid("auto")
    c = Client(stomp_broker, version)
    c.subscribe(dest)  # ack:auto
    fill(stomp_broker, dest, 3)
    assert len(c.expect_messages(3)) == 3
    c.drop()
    assert left_in_queue(stomp_broker, dest, 0) == []


# --- client (cumulative) and client-individual ---------------------------------------------

@over
@pytest.mark.parametrize("ack", ["client", "client-individual"])
def test_unacked_message_is_redelivered_when_the_connection_dies(stomp_broker, transport, ack):
    dest = "/queue/" + uid("dead")
    holder = Client(stomp_broker, transport=transport)
    holder.subscribe(dest, ack=ack)
    Client(stomp_broker).send(dest, b"precious")
    first = holder.expect_message()
    assert first.body == b"precious"
    assert first.headers.get("redelivered", "false") == "false"
    waiting = Client(stomp_broker, transport=transport)
    waiting.subscribe(dest, ack=ack)
    waiting.expect_no_message()  # the message is the holder's until it acks or goes
    holder.drop()
    again = waiting.expect_message()
    assert again.body == b"precious"
    assert again.headers.get("redelivered") == "true", again.headers
    waiting.ack(again)


@versions
def test_client_ack_is_cumulative(stomp_broker, version):
    # ack:client: an ACK acknowledges that message and every earlier one of the
    # subscription.
    dest = "/queue/" + uid("cumul")
    c = Client(stomp_broker, version)
    c.subscribe(dest, ack="client")
    fill(stomp_broker, dest, 3)
    got = c.expect_messages(3)
    assert bodies(got) == [b"m0", b"m1", b"m2"]
    c.ack(got[1])
    c.drop()
    assert bodies(left_in_queue(stomp_broker, dest, 1)) == [b"m2"]


@versions_11
def test_client_individual_ack_is_not_cumulative(stomp_broker, version):
    dest = "/queue/" + uid("indiv")
    c = Client(stomp_broker, version)
    c.subscribe(dest, ack="client-individual")
    fill(stomp_broker, dest, 3)
    got = c.expect_messages(3)
    c.ack(got[1])
    c.drop()
    assert sorted(bodies(left_in_queue(stomp_broker, dest, 2))) == [b"m0", b"m2"]


@versions
def test_acked_messages_are_not_redelivered(stomp_broker, version):
    dest = "/queue/" + uid("acked")
    c = Client(stomp_broker, version)
    c.subscribe(dest, ack="client")
    fill(stomp_broker, dest, 2)
    for m in c.expect_messages(2):
        c.ack(m)
    c.drop()
    assert left_in_queue(stomp_broker, dest, 0) == []


# --- prefetch-count ---------------------------------------------------------------------------

@over
@pytest.mark.parametrize("ack", ["client", "client-individual"])
def test_prefetch_one_holds_the_next_message_until_the_ack(stomp_broker, transport, ack):
    dest = "/queue/" + uid("pf1")
    c = Client(stomp_broker, transport=transport)
    c.subscribe(dest, ack=ack, **{"prefetch-count": "1"})
    fill(stomp_broker, dest, 3)
    first = c.expect_message()
    assert first.body == b"m0"
    c.expect_no_message()
    c.ack(first)
    second = c.expect_message()
    assert second.body == b"m1"
    c.expect_no_message()
    c.ack(second)
    assert c.expect_message().body == b"m2"


@versions
def test_prefetch_three_bounds_the_unacked_window(stomp_broker, version):
    dest = "/queue/" + uid("pf3")
    c = Client(stomp_broker, version)
    c.subscribe(dest, ack="client", **{"prefetch-count": "3"})
    fill(stomp_broker, dest, 7)
    window = c.expect_messages(3)
    assert bodies(window) == [b"m0", b"m1", b"m2"]
    c.expect_no_message()
    c.ack(window[-1])  # cumulative: frees all three
    window = c.expect_messages(3)
    assert bodies(window) == [b"m3", b"m4", b"m5"]
    c.expect_no_message()
    c.ack(window[0])  # frees one
    assert c.expect_message().body == b"m6"


def test_prefetch_spreads_a_queue_over_consumers(stomp_broker):
    # With prefetch 1 a consumer that holds a message gets no more: the next goes to the
    # other consumer.
    dest = "/queue/" + uid("spread")
    a, b = Client(stomp_broker), Client(stomp_broker)
    a.subscribe(dest, ack="client-individual", **{"prefetch-count": "1"})
    b.subscribe(dest, ack="client-individual", **{"prefetch-count": "1"})
    fill(stomp_broker, dest, 3)
    ma, mb = a.expect_message(), b.expect_message()
    assert sorted([ma.body, mb.body]) == [b"m0", b"m1"]
    a.expect_no_message()
    b.expect_no_message()
    b.ack(mb)
    assert b.expect_message().body == b"m2"
    a.expect_no_message()


# --- NACK -------------------------------------------------------------------------------------

@over
def test_nack_requeues_as_redelivered(stomp_broker, transport):
    dest = "/queue/" + uid("nack")
    c = Client(stomp_broker, transport=transport)
    c.subscribe(dest, ack="client-individual")
    Client(stomp_broker).send(dest, b"again")
    m = c.expect_message()
    assert m.headers.get("redelivered", "false") == "false"
    c.nack(m)
    back = c.expect_message()
    assert back.body == b"again"
    assert back.headers.get("redelivered") == "true", back.headers
    c.ack(back)
    c.drop()
    assert left_in_queue(stomp_broker, dest, 0) == []


@versions_11
def test_nack_in_each_version(stomp_broker, version):
    dest = "/queue/" + uid("nackv")
    c = Client(stomp_broker, version)
    c.subscribe(dest, ack="client-individual")
    fill(stomp_broker, dest, 1)
    c.nack(c.expect_message())
    assert c.expect_message().headers.get("redelivered") == "true"


def test_nack_goes_to_another_consumer_when_the_first_is_full(stomp_broker):
    dest = "/queue/" + uid("nack2")
    a = Client(stomp_broker)
    a.subscribe(dest, ack="client-individual", **{"prefetch-count": "1"})
    Client(stomp_broker).send(dest, b"hot potato")
    m = a.expect_message()
    b = Client(stomp_broker)
    b.subscribe(dest, ack="client-individual", **{"prefetch-count": "1"})
    b.expect_no_message()
    Client(stomp_broker).send(dest, b"second")
    assert b.expect_message().body == b"second"  # b now full too
    a.nack(m)
    got = a.expect_message()  # a is the one with room
    assert got.body == b"hot potato"
    assert got.headers.get("redelivered") == "true"


# --- ACK/NACK forms, by hand -------------------------------------------------------------------

@pytest.mark.parametrize("version", VERSIONS)
def test_ack_frame_forms_by_hand(stomp_broker, version):
    # 1.2: ACK id:<the MESSAGE's ack>; 1.1: message-id + subscription; 1.0: message-id.
    dest = "/queue/" + uid("form")
    r = raw(stomp_broker)
    r.connect(version=version)
    r.send_frame("SUBSCRIBE", {"destination": dest, "id": "s1", "ack": "client",
                               "receipt": "sub"})
    r.expect("RECEIPT")
    fill(stomp_broker, dest, 2)
    m0, m1 = r.expect("MESSAGE"), r.expect("MESSAGE")
    if version == "1.2":
        headers = {"id": m1["ack"]}
    elif version == "1.1":
        headers = {"message-id": m1["message-id"], "subscription": m1["subscription"]}
    else:
        headers = {"message-id": m1["message-id"]}
    r.send_frame("ACK", {**headers, "receipt": "acked"})
    assert r.expect("RECEIPT")["receipt-id"] == "acked"
    r.send_frame("DISCONNECT", {"receipt": "bye"})
    assert r.expect("RECEIPT")["receipt-id"] == "bye"
    r.wait_closed()
    assert left_in_queue(stomp_broker, dest, 0) == []
    assert m0.body == b"m0"


# --- durable topic subscriptions ---------------------------------------------------------------

def durable_headers(flag="durable"):
    return {flag: "true", "auto-delete": "false"}


@pytest.mark.parametrize("flag", ["durable", "persistent"])
def test_durable_topic_subscription_keeps_messages_while_away(stomp_broker, flag):
    dest = "/topic/" + uid("dur")
    client_id, sub_id = uid("client"), uid("dsub")
    away = Client(stomp_broker, headers={"client-id": client_id})
    away.subscribe(dest, id=sub_id, **durable_headers(flag))
    away.send(dest, b"while here")
    assert away.expect_message().body == b"while here"
    away.disconnect()
    pub = Client(stomp_broker)
    for i in range(3):
        pub.send(dest, b"while away %d" % i)
    back = Client(stomp_broker, headers={"client-id": client_id})
    back.subscribe(dest, id=sub_id, **durable_headers(flag))
    got = back.expect_messages(3)
    assert bodies(got) == [b"while away 0", b"while away 1", b"while away 2"]
    assert all(m.headers["subscription"] == sub_id for m in got)
    back.expect_no_message()
    back.unsubscribe(sub_id, **durable_headers(flag))  # removes it (RabbitMQ's way)


def test_plain_topic_subscription_loses_messages_while_away(stomp_broker):
    dest = "/topic/" + uid("nondur")
    client_id, sub_id = uid("client"), uid("sub")
    away = Client(stomp_broker, headers={"client-id": client_id})
    away.subscribe(dest, id=sub_id)
    away.disconnect()
    Client(stomp_broker).send(dest, b"lost")
    back = Client(stomp_broker, headers={"client-id": client_id})
    back.subscribe(dest, id=sub_id)
    back.expect_no_message()


def test_durable_subscription_redelivers_unacked_after_a_drop(stomp_broker):
    dest = "/topic/" + uid("durack")
    client_id, sub_id = uid("client"), uid("dsub")
    first = Client(stomp_broker, headers={"client-id": client_id})
    first.subscribe(dest, id=sub_id, ack="client-individual", **durable_headers())
    Client(stomp_broker).send(dest, b"keep me")
    assert first.expect_message().body == b"keep me"
    first.drop()
    back = Client(stomp_broker, headers={"client-id": client_id})
    back.subscribe(dest, id=sub_id, ack="client-individual", **durable_headers())
    m = back.expect_message()
    assert m.body == b"keep me"
    assert m.headers.get("redelivered") == "true"
    back.ack(m)
    back.unsubscribe(sub_id, **durable_headers())


def test_unsubscribe_with_durable_removes_the_subscription(stomp_broker):
    dest = "/topic/" + uid("durdel")
    client_id, sub_id = uid("client"), uid("dsub")
    c = Client(stomp_broker, headers={"client-id": client_id})
    c.subscribe(dest, id=sub_id, **durable_headers())
    c.unsubscribe(sub_id, **durable_headers())
    c.disconnect()
    Client(stomp_broker).send(dest, b"after removal")
    back = Client(stomp_broker, headers={"client-id": client_id})
    back.subscribe(dest, id=sub_id, **durable_headers())
    back.expect_no_message()
    back.unsubscribe(sub_id, **durable_headers())


def test_durable_subscriptions_with_different_ids_are_separate(stomp_broker):
    dest = "/topic/" + uid("durtwo")
    client_id = uid("client")
    ids = [uid("d1"), uid("d2")]
    c = Client(stomp_broker, headers={"client-id": client_id})
    for sid in ids:
        c.subscribe(dest, id=sid, **durable_headers())
    c.disconnect()
    Client(stomp_broker).send(dest, b"for both")
    back = Client(stomp_broker, headers={"client-id": client_id})
    back.subscribe(dest, id=ids[0], **durable_headers())
    assert back.expect_message().headers["subscription"] == ids[0]
    back.subscribe(dest, id=ids[1], **durable_headers())
    assert back.expect_message().headers["subscription"] == ids[1]
    back.expect_no_message()
    for sid in ids:
        back.unsubscribe(sid, **durable_headers())
