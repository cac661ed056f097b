"""Backpressure for AMQP publishers: a queue over its high-water mark (10,000 ready
messages) holds its publishers' connections, which read nothing more (and, when the
client takes it, hear connection.blocked) until consumers bring the queue under its
low-water mark; then connection.unblocked, and every message arrives, in order. The
same mechanism as the STOMP and MQTT publishers' (test_stomp_backpressure.py)."""

import threading

import pika
import pytest

import support
from amqp_support import TIMEOUT, connect

HIGH_WATER = 10_000
MESSAGES = 40_000
BODY = b"x" * 200


def test_a_publisher_is_held_at_the_high_water_mark_and_nothing_is_lost(amqp_broker):
    if getattr(amqp_broker, "external", False):
        pytest.skip("RabbitMQ has no per-queue high-water mark (its flow control is credit)")
    held_then_released(amqp_broker, HIGH_WATER, MESSAGES)


def test_the_high_water_mark_is_configurable(make_amqp_broker):
    broker = make_amqp_broker(server={"queue_high_water": 500})
    held_then_released(broker, 500, 20_000)


def test_a_high_water_mark_of_zero_never_holds(make_amqp_broker):
    broker = make_amqp_broker(server={"queue_high_water": 0})
    name = support.uid("unheld")
    conn = connect(broker)
    ch = conn.channel()
    ch.queue_declare(name)
    for i in range(HIGH_WATER + 5_000):
        ch.basic_publish("", name, b"%06d" % i)
    ch.confirm_delivery()
    ch.basic_publish("", name, b"last")  # confirmed after every earlier one was taken
    count = ch.queue_declare(name, passive=True).method.message_count
    assert count == HIGH_WATER + 5_001


def held_then_released(amqp_broker, high_water, messages):
    name = support.uid("held")
    setup = connect(amqp_broker)
    setup.channel().queue_declare(name)
    params = pika.ConnectionParameters(
        host=amqp_broker.host, port=amqp_broker.amqp_port,
        credentials=pika.PlainCredentials("guest", "guest"),
        blocked_connection_timeout=None, socket_timeout=TIMEOUT, connection_attempts=1)
    publisher = pika.BlockingConnection(params)
    blocked, unblocked = threading.Event(), threading.Event()
    publisher.add_on_connection_blocked_callback(lambda *_: blocked.set())
    publisher.add_on_connection_unblocked_callback(lambda *_: unblocked.set())
    failure = []

    def publish():
        try:
            channel = publisher.channel()
            for i in range(messages):
                channel.basic_publish("", name, b"%06d" % i + BODY)
                if i % 500 == 0:
                    publisher.process_data_events(0)  # runs the blocked callback
            while not unblocked.is_set():
                publisher.process_data_events(0.1)
        except Exception as e:  # reported by the main thread
            failure.append(e)

    thread = threading.Thread(target=publish, daemon=True)
    thread.start()
    assert blocked.wait(20), f"no connection.blocked; failure: {failure}"
    # The connection reads nothing more: the queue stays where the hold caught it
    # (the high-water mark plus the frames already in the read buffer).
    probe = setup.channel()
    first = probe.queue_declare(name, passive=True).method.message_count
    again = probe.queue_declare(name, passive=True).method.message_count
    # (On another shard than the queue, the publisher's shard reads on until the hold
    # taken there reaches it: a margin past the mark, never the whole stream.)
    assert high_water <= first < messages - 1, first
    assert again == first
    assert thread.is_alive() and not unblocked.is_set()

    consumer = connect(amqp_broker)
    channel = consumer.channel()
    expected = 0
    for method, _, body in channel.consume(name, auto_ack=True, inactivity_timeout=TIMEOUT):
        assert method is not None, f"{expected} of {messages} arrived; failure: {failure}"
        assert body[:6] == b"%06d" % expected, "in publish order, none lost"
        expected += 1
        if expected == messages:
            break
    channel.cancel()
    thread.join(TIMEOUT)
    assert not failure, failure
    assert unblocked.is_set(), "connection.unblocked once the queue went down"
    assert probe.queue_declare(name, passive=True).method.message_count == 0
    publisher.close()
