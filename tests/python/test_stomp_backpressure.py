"""Backpressure, not unbounded growth: a queue over its high-water mark (`[server]
queue_high_water`, 1,000 ready messages here) holds its publishers back until its
consumers bring it down; nothing is lost. Switchyard's rule (RabbitMQ blocks publishers
by credit flow and memory alarms). The publisher sends far more than the mark at once:
when the queue lives on another shard, the hold is taken there, and the publisher's
shard reads on until it is; the margin keeps that race out of the test."""

import pytest

from stomp_support import frame, is_external, raw, uid

HIGH_WATER = 1_000


@pytest.fixture
def broker(make_stomp_broker):
    broker = make_stomp_broker(server={"queue_high_water": HIGH_WATER})
    if is_external(broker):
        pytest.skip("Switchyard's high-water mark")
    return broker


def test_a_publisher_is_held_back_by_a_full_queue_until_a_consumer_drains_it(broker):
    dest = "/queue/" + uid("bp")
    count = HIGH_WATER + 20_000
    pub = raw(broker)
    pub.connect()
    pub.send_frame("SEND", {"destination": dest, "receipt": "declared"}, b"first")
    assert pub.expect("RECEIPT")["receipt-id"] == "declared"
    pub.send(b"".join(frame("SEND", {"destination": dest}, b"%d" % i) for i in range(count)))
    pub.send_frame("SEND", {"destination": dest, "receipt": "last"}, b"last")
    # The queue is over its mark with nobody consuming: the last SEND is not read yet.
    pub.expect_nothing(1.0)
    sub = raw(broker)
    sub.connect()
    sub.send_frame("SUBSCRIBE", {"destination": dest, "id": "s", "ack": "auto"})
    bodies = [sub.expect("MESSAGE", timeout=20).body for _ in range(count + 2)]
    assert bodies[0] == b"first" and bodies[-1] == b"last"
    assert [int(b) for b in bodies[1:-1]] == list(range(count)), "lost or reordered"
    assert pub.expect("RECEIPT", timeout=10)["receipt-id"] == "last"
