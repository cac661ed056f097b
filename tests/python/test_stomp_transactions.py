"""STOMP transactions: BEGIN / COMMIT / ABORT over SEND and ACK; unknown transactions are
errors; a DISCONNECT aborts what is still open (STOMP 1.2 "BEGIN", "COMMIT", "ABORT",
"DISCONNECT").

Frames inside a transaction are sent without a receipt header: when their RECEIPT comes is
left open (RabbitMQ 3.10 holds the RECEIPT of a transactional SEND until the COMMIT and
never sends it after an ABORT); the BEGIN/COMMIT/ABORT receipts order the tests."""

import pytest

from stomp_support import VERSIONS, Client, bodies, closes_after_error, raw, uid

over = pytest.mark.parametrize("transport", ["tcp", "ws"])
# Every version over TCP; 1.2 over WebSocket (stomp.py's WebSocket connection is 1.2).
each = pytest.mark.parametrize("transport,version",
                               [("tcp", v) for v in VERSIONS] + [("ws", "1.2")])


@each
def test_committed_sends_arrive_only_at_commit(stomp_broker, transport, version):
    dest = "/queue/" + uid("commit")
    sub = Client(stomp_broker, version, transport)
    sub.subscribe(dest)
    pub = Client(stomp_broker, version, transport)
    pub.begin("tx1")
    pub.send(dest, b"one", transaction="tx1", receipt=False)
    pub.send(dest, b"two", transaction="tx1", receipt=False)
    sub.expect_no_message()
    pub.commit("tx1")
    assert bodies(sub.expect_messages(2)) == [b"one", b"two"]
    sub.expect_no_message()


@each
def test_aborted_sends_never_arrive(stomp_broker, transport, version):
    dest = "/queue/" + uid("abort")
    sub = Client(stomp_broker, version, transport)
    sub.subscribe(dest)
    pub = Client(stomp_broker, version, transport)
    pub.begin("tx1")
    pub.send(dest, b"never", transaction="tx1", receipt=False)
    pub.abort("tx1")
    pub.send(dest, b"outside")  # the subscription works: this one arrives alone
    assert sub.expect_message().body == b"outside"
    sub.expect_no_message()


def test_sends_outside_a_transaction_are_not_held(stomp_broker):
    dest = "/queue/" + uid("mixed")
    sub = Client(stomp_broker)
    sub.subscribe(dest)
    pub = Client(stomp_broker)
    pub.begin("tx")
    pub.send(dest, b"held", transaction="tx", receipt=False)
    pub.send(dest, b"now")
    assert sub.expect_message().body == b"now"
    sub.expect_no_message()
    pub.commit("tx")
    assert sub.expect_message().body == b"held"


def test_two_transactions_on_one_connection_are_independent(stomp_broker):
    dest = "/queue/" + uid("twotx")
    sub = Client(stomp_broker)
    sub.subscribe(dest)
    pub = Client(stomp_broker)
    pub.begin("a")
    pub.begin("b")
    pub.send(dest, b"in a", transaction="a", receipt=False)
    pub.send(dest, b"in b", transaction="b", receipt=False)
    pub.abort("a")
    pub.commit("b")
    assert sub.expect_message().body == b"in b"
    sub.expect_no_message()


def test_a_transaction_id_can_be_reused_after_commit(stomp_broker):
    dest = "/queue/" + uid("reuse")
    sub = Client(stomp_broker)
    sub.subscribe(dest)
    pub = Client(stomp_broker)
    for round_ in range(2):
        pub.begin("tx")
        pub.send(dest, b"round %d" % round_, transaction="tx", receipt=False)
        pub.commit("tx")
        assert sub.expect_message().body == b"round %d" % round_


@pytest.mark.parametrize("version", ["1.1", "1.2"])
def test_acks_in_a_committed_transaction_take_effect(stomp_broker, version):
    dest = "/queue/" + uid("txack")
    c = Client(stomp_broker, version)
    c.subscribe(dest, ack="client-individual")
    Client(stomp_broker).send(dest, b"done")
    m = c.expect_message()
    c.begin("tx")
    c.ack(m, transaction="tx", receipt=False)
    c.commit("tx")
    c.drop()
    after = Client(stomp_broker)
    after.subscribe(dest)
    after.expect_no_message()


@pytest.mark.parametrize("version", ["1.1", "1.2"])
def test_acks_in_an_aborted_transaction_are_undone(stomp_broker, version):
    dest = "/queue/" + uid("txnoack")
    c = Client(stomp_broker, version)
    c.subscribe(dest, ack="client-individual")
    Client(stomp_broker).send(dest, b"not done")
    m = c.expect_message()
    c.begin("tx")
    c.ack(m, transaction="tx", receipt=False)
    c.abort("tx")
    c.drop()  # still unacked: it goes back to the queue
    after = Client(stomp_broker)
    after.subscribe(dest)
    again = after.expect_message()
    assert again.body == b"not done"
    assert again.headers.get("redelivered") == "true"


def test_disconnect_aborts_an_open_transaction(stomp_broker):
    dest = "/queue/" + uid("discabort")
    sub = Client(stomp_broker)
    sub.subscribe(dest)
    pub = Client(stomp_broker)
    pub.begin("open")
    pub.send(dest, b"uncommitted", transaction="open", receipt=False)
    pub.disconnect()
    Client(stomp_broker).send(dest, b"marker")
    assert sub.expect_message().body == b"marker"
    sub.expect_no_message()


def test_dropped_connection_aborts_an_open_transaction(stomp_broker):
    dest = "/queue/" + uid("dropabort")
    sub = Client(stomp_broker)
    sub.subscribe(dest)
    pub = Client(stomp_broker)
    pub.begin("open")
    pub.send(dest, b"uncommitted", transaction="open", receipt=False)
    pub.drop()
    Client(stomp_broker).send(dest, b"marker")
    assert sub.expect_message().body == b"marker"
    sub.expect_no_message()


@over
@pytest.mark.parametrize("command", ["COMMIT", "ABORT"])
def test_unknown_transaction_is_an_error(stomp_broker, transport, command):
    r = raw(stomp_broker, transport)
    r.connect()
    r.send_frame(command, {"transaction": uid("nosuchtx")})
    r.expect_error(closes=closes_after_error(stomp_broker))


def test_send_in_an_unknown_transaction_is_an_error(stomp_broker):
    dest = "/queue/" + uid("notx")
    r = raw(stomp_broker)
    r.connect()
    r.send_frame("SEND", {"destination": dest, "transaction": "nope"}, b"x")
    r.expect_error(closes=closes_after_error(stomp_broker))
    # ... and the message was not sent.
    c = Client(stomp_broker)
    c.subscribe(dest)
    c.expect_no_message()


def test_commit_of_a_committed_transaction_is_an_error(stomp_broker):
    c = Client(stomp_broker)
    c.begin("once")
    c.commit("once")
    c.conn.commit("once")
    c.expect_error(closes=closes_after_error(stomp_broker))


def test_begin_without_transaction_header_is_an_error(stomp_broker):
    r = raw(stomp_broker)
    r.connect()
    r.send_frame("BEGIN", {})
    r.expect_error(closes=closes_after_error(stomp_broker))


def test_unknown_transaction_through_stomp_py(stomp_broker):
    c = Client(stomp_broker)
    c.conn.commit("ghost")
    e = c.expect_error(closes=closes_after_error(stomp_broker))
    assert e.cmd == "ERROR"
