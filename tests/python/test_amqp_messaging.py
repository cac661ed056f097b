"""AMQP 0-9-1 messaging with pika: declare, bind, publish, consume, ack; basic.get; nack
and requeue; qos prefetch; mandatory returns; publisher confirms; transactions; and an
AMQP publish reaching MQTT and STOMP subscribers through amq.topic."""

import pika
import pika.exceptions
import pytest

import support
from amqp_support import connect, drain
from stomp_support import Client as StompClient


def test_declare_bind_publish_consume_ack(amqp_broker):
    conn = connect(amqp_broker)
    ch = conn.channel()
    ch.exchange_declare("orders", "direct")
    q = ch.queue_declare("orders-q").method.queue
    ch.queue_bind(q, "orders", "new")
    props = pika.BasicProperties(content_type="application/json", correlation_id="c-1",
                                 headers={"tenant": "acme"}, message_id="m-1")
    ch.basic_publish("orders", "new", b'{"id": 1}', props)
    ch.basic_publish("orders", "old", b"unrouted")
    ch.basic_publish("", q, b"direct to the queue")
    got = drain(conn, ch, q, 2)
    method, p, body = got[0]
    assert body == b'{"id": 1}'
    assert method.routing_key == "new" and not method.redelivered
    assert p.content_type == "application/json" and p.correlation_id == "c-1"
    assert p.headers == {"tenant": "acme"} and p.message_id == "m-1"
    assert got[1][2] == b"direct to the queue"
    assert ch.queue_declare(q, passive=True).method.message_count == 0
    ch.queue_unbind(q, "orders", "new")
    ch.basic_publish("orders", "new", b"after unbind")
    assert ch.basic_get(q, auto_ack=True) == (None, None, None)
    ch.queue_delete(q)
    ch.exchange_delete("orders")
    conn.close()


def test_basic_get_and_purge(amqp_broker):
    conn = connect(amqp_broker)
    ch = conn.channel()
    q = ch.queue_declare("", exclusive=True).method.queue
    for i in range(3):
        ch.basic_publish("", q, f"m{i}".encode())
    method, _, body = ch.basic_get(q)
    assert body == b"m0" and method.message_count == 2
    ch.basic_ack(method.delivery_tag)
    assert ch.queue_purge(q).method.message_count == 2
    assert ch.basic_get(q) == (None, None, None)
    conn.close()


def test_nack_requeues_with_the_redelivered_flag(amqp_broker):
    conn = connect(amqp_broker)
    ch = conn.channel()
    q = ch.queue_declare("", exclusive=True).method.queue
    ch.basic_publish("", q, b"again")
    ch.basic_publish("", q, b"drop")
    method, _, body = ch.basic_get(q)
    assert body == b"again" and not method.redelivered
    ch.basic_nack(method.delivery_tag, requeue=True)
    method2, _, body2 = ch.basic_get(q)
    assert method2.delivery_tag != method.delivery_tag
    ch.basic_reject(method2.delivery_tag, requeue=False)
    method3, _, body3 = ch.basic_get(q)
    assert body3 in (b"again", b"drop")
    bodies = {(body2, method2.redelivered), (body3, method3.redelivered)}
    assert (b"again", True) in bodies
    ch.basic_ack(method3.delivery_tag)
    with pytest.raises(pika.exceptions.ChannelClosedByBroker) as info:
        ch.basic_ack(999)
        ch.queue_declare("", exclusive=True)
    assert info.value.reply_code == 406
    conn.close()


def test_ack_multiple_and_recover(amqp_broker):
    conn = connect(amqp_broker)
    ch = conn.channel()
    q = ch.queue_declare("", exclusive=True).method.queue
    for i in range(4):
        ch.basic_publish("", q, f"{i}".encode())
    tags = [ch.basic_get(q)[0].delivery_tag for _ in range(3)]
    ch.basic_ack(tags[1], multiple=True)
    ch.basic_recover(requeue=True)
    left = [ch.basic_get(q, auto_ack=True) for _ in range(2)]
    assert sorted(b for _, _, b in left) == [b"2", b"3"]
    assert [m.redelivered for m, _, b in left if b == b"2"] == [True]
    conn.close()


def test_qos_prefetch_limits_unacked_deliveries(amqp_broker):
    conn = connect(amqp_broker)
    ch = conn.channel()
    q = ch.queue_declare("", exclusive=True).method.queue
    for i in range(5):
        ch.basic_publish("", q, f"{i}".encode())
    ch.basic_qos(prefetch_count=2)
    seen = []
    ch.basic_consume(q, lambda c, m, p, b: seen.append(m))
    conn.process_data_events(time_limit=1.0)
    assert len(seen) == 2
    ch.basic_ack(seen[0].delivery_tag)
    conn.process_data_events(time_limit=1.0)
    assert len(seen) == 3
    ch.basic_ack(seen[-1].delivery_tag, multiple=True)
    conn.process_data_events(time_limit=1.0)
    assert len(seen) == 5
    conn.close()


def test_no_ack_consumer_and_cancel(amqp_broker):
    conn = connect(amqp_broker)
    ch = conn.channel()
    q = ch.queue_declare("", exclusive=True).method.queue
    seen = []
    tag = ch.basic_consume(q, lambda c, m, p, b: seen.append(b), auto_ack=True)
    for i in range(10):
        ch.basic_publish("", q, f"{i}".encode())
    support.wait_until(lambda: conn.process_data_events(0.1) or len(seen) == 10,
                       what="10 no-ack deliveries")
    ch.basic_cancel(tag)
    ch.basic_publish("", q, b"after cancel")
    assert ch.basic_get(q, auto_ack=True)[2] == b"after cancel"
    conn.close()


def test_unacked_deliveries_return_when_the_channel_closes(amqp_broker):
    conn = connect(amqp_broker)
    ch = conn.channel()
    q = ch.queue_declare("keep-q").method.queue
    ch.basic_publish("", q, b"x")
    assert ch.basic_get(q)[2] == b"x"
    ch.close()
    ch2 = conn.channel()
    method, _, body = ch2.basic_get(q, auto_ack=True)
    assert body == b"x" and method.redelivered
    ch2.queue_delete(q)
    conn.close()


def test_mandatory_publish_without_a_route_is_returned(amqp_broker):
    conn = connect(amqp_broker)
    ch = conn.channel()
    returned = []
    ch.add_on_return_callback(lambda c, m, p, b: returned.append((m, b)))
    ch.basic_publish("amq.direct", "nobody", b"lost", mandatory=True)
    q = ch.queue_declare("", exclusive=True).method.queue
    ch.queue_bind(q, "amq.direct", "somebody")
    ch.basic_publish("amq.direct", "somebody", b"kept", mandatory=True)
    conn.process_data_events(time_limit=0.5)
    assert [(m.reply_code, m.reply_text, m.routing_key, b) for m, b in returned] == [
        (312, "NO_ROUTE", "nobody", b"lost")]
    assert ch.basic_get(q, auto_ack=True)[2] == b"kept"
    conn.close()


def test_publisher_confirms(amqp_broker):
    conn = connect(amqp_broker)
    ch = conn.channel()
    ch.confirm_delivery()
    q = ch.queue_declare("", exclusive=True).method.queue
    for i in range(5):
        ch.basic_publish("", q, f"{i}".encode())  # raises unless acked
    with pytest.raises(pika.exceptions.UnroutableError):
        ch.basic_publish("amq.direct", "nobody", b"x", mandatory=True)
    assert ch.queue_declare(q, passive=True).method.message_count == 5
    conn.close()


def test_transactions_commit_and_roll_back(amqp_broker):
    conn = connect(amqp_broker)
    ch = conn.channel()
    q = ch.queue_declare("", exclusive=True).method.queue
    ch.tx_select()
    ch.basic_publish("", q, b"rolled back")
    ch.tx_rollback()
    ch.basic_publish("", q, b"committed")
    assert ch.queue_declare(q, passive=True).method.message_count == 0
    ch.tx_commit()
    assert ch.queue_declare(q, passive=True).method.message_count == 1
    method, _, body = ch.basic_get(q)
    assert body == b"committed"
    ch.basic_ack(method.delivery_tag)
    ch.tx_rollback()  # the ack is undone: the message is still unacked
    ch.basic_ack(method.delivery_tag)
    ch.tx_commit()
    ch.close()
    ch2 = conn.channel()
    assert ch2.basic_get(q) == (None, None, None)
    with pytest.raises(pika.exceptions.ChannelClosedByBroker) as info:
        ch2.tx_commit()
    assert info.value.reply_code == 406
    conn.close()


def test_exchange_to_exchange_bindings_and_fanout(amqp_broker):
    conn = connect(amqp_broker)
    ch = conn.channel()
    ch.exchange_declare("src", "topic")
    ch.exchange_declare("fan", "fanout", auto_delete=True)
    ch.exchange_bind("fan", "src", "logs.#")
    qs = [ch.queue_declare("", exclusive=True).method.queue for _ in range(2)]
    for q in qs:
        ch.queue_bind(q, "fan")
    ch.basic_publish("src", "logs.app.error", b"boom")
    ch.basic_publish("src", "metrics.cpu", b"skip")
    for q in qs:
        assert ch.basic_get(q, auto_ack=True)[2] == b"boom"
        assert ch.basic_get(q, auto_ack=True) == (None, None, None)
    ch.exchange_unbind("fan", "src", "logs.#")
    ch.exchange_delete("src")
    conn.close()


def test_content_larger_than_a_frame(amqp_broker):
    conn = connect(amqp_broker, frame_max=4096)
    ch = conn.channel()
    q = ch.queue_declare("", exclusive=True).method.queue
    body = bytes(range(256)) * 100
    ch.basic_publish("", q, body)
    assert ch.basic_get(q, auto_ack=True)[2] == body
    conn.close()


def test_an_amqp_publish_reaches_mqtt_and_stomp_subscribers(amqp_broker):
    if getattr(amqp_broker, "external", False):
        pytest.skip("AMQP_EXTERNAL gives no MQTT or STOMP port")
    base = support.uid("x")
    mqtt = support.Client(amqp_broker)
    mqtt.subscribe(f"{base}/b", qos=1)
    stomp = StompClient(amqp_broker)
    stomp.subscribe(f"/topic/{base}.b")
    conn = connect(amqp_broker)
    ch = conn.channel()
    props = pika.BasicProperties(content_type="text/plain", headers={"origin": "amqp"})
    ch.basic_publish("amq.topic", f"{base}.b", b"from amqp", props)
    m = mqtt.expect_message()
    assert m.topic == f"{base}/b" and m.payload == b"from amqp"
    s = stomp.expect_message()
    assert s.body == b"from amqp"
    assert s.headers["destination"] == f"/topic/{base}.b"
    assert s.headers["content-type"] == "text/plain"
    assert s.headers["origin"] == "amqp"
    # and back: an MQTT publish reaches an AMQP queue bound to amq.topic
    q = ch.queue_declare("", exclusive=True).method.queue
    ch.queue_bind(q, "amq.topic", f"{base}.*")
    mqtt.publish(f"{base}/c", b"from mqtt", qos=1)
    got = drain(conn, ch, q, 1)
    assert got[0][0].routing_key == f"{base}.c" and got[0][2] == b"from mqtt"
    conn.close()
