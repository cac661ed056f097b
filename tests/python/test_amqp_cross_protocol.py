"""AMQP 0-9-1, MQTT 5 and STOMP 1.2 clients on one routing core, in every direction,
with metadata mapped as RabbitMQ's MQTT and STOMP plugins map it: MQTT topic `a/b` is
routing key `a.b` on amq.topic and STOMP destination `/topic/a.b`; MQTT 5 user
properties, STOMP headers and AMQP `headers` are one another; content type and
correlation data/id carry over; a STOMP `/queue/q` is the AMQP queue `q`."""

import pika
import pytest

import support
from amqp_support import connect, drain
from stomp_support import Client as StompClient


@pytest.fixture
def broker(amqp_broker):
    if getattr(amqp_broker, "external", False):
        pytest.skip("AMQP_EXTERNAL gives no MQTT or STOMP port")
    return amqp_broker


def bound_queue(ch, key):
    q = ch.queue_declare("", exclusive=True).method.queue
    ch.queue_bind(q, "amq.topic", key)
    return q


def test_mqtt5_properties_reach_an_amqp_consumer(broker):
    base = support.uid("m2a")
    conn = connect(broker)
    ch = conn.channel()
    q = bound_queue(ch, f"{base}.#")
    mqtt = support.Client(broker)
    mqtt.publish(f"{base}/dev/temp", b"21.5", qos=1, ContentType="text/plain",
                 CorrelationData=b"corr-1", UserProperty=[("unit", "C"), ("site", "north")])
    method, props, body = drain(conn, ch, q, 1)[0]
    assert body == b"21.5"
    assert method.exchange == "amq.topic"
    assert method.routing_key == f"{base}.dev.temp"
    assert props.content_type == "text/plain"
    assert props.correlation_id == "corr-1"
    assert props.headers == {"unit": "C", "site": "north"}


def test_a_stomp_send_reaches_an_amqp_consumer_on_a_topic_and_on_a_queue(broker):
    base = support.uid("s2a")
    conn = connect(broker)
    ch = conn.channel()
    q = bound_queue(ch, f"{base}.*")
    stomp = StompClient(broker)
    stomp.send(f"/topic/{base}.orders", b"via topic", content_type="application/json",
               headers={"tenant": "acme", "correlation-id": "c-9"})
    method, props, body = drain(conn, ch, q, 1)[0]
    assert (method.exchange, method.routing_key, body) == (
        "amq.topic", f"{base}.orders", b"via topic")
    assert props.content_type == "application/json"
    assert props.correlation_id == "c-9"
    assert props.headers.get("tenant") == "acme"
    # /queue/name is the AMQP queue `name` (durable, as RabbitMQ's STOMP plugin has it)
    name = support.uid("shared")
    ch.queue_declare(name, durable=True)
    stomp.send(f"/queue/{name}", b"via queue", headers={"priority": "5"})
    method, props, body = drain(conn, ch, name, 1)[0]
    assert (method.exchange, method.routing_key, body) == ("", name, b"via queue")
    assert props.priority == 5
    ch.queue_delete(name)


def test_amqp_headers_reach_mqtt5_and_stomp_subscribers(broker):
    base = support.uid("a2ms")
    mqtt = support.Client(broker)
    mqtt.subscribe(f"{base}/#", qos=1)
    stomp = StompClient(broker)
    stomp.subscribe(f"/topic/{base}.#")
    conn = connect(broker)
    ch = conn.channel()
    props = pika.BasicProperties(content_type="text/plain", correlation_id="r-7",
                                 headers={"origin": "amqp", "n": 3})
    ch.basic_publish("amq.topic", f"{base}.x.y", b"fan", props)
    m = mqtt.expect_message()
    assert (m.topic, m.payload, m.qos) == (f"{base}/x/y", b"fan", 1)
    assert m.properties.ContentType == "text/plain"
    assert m.properties.CorrelationData == b"r-7"
    assert ("origin", "amqp") in m.properties.UserProperty
    assert ("n", "3") in m.properties.UserProperty
    s = stomp.expect_message()
    assert s.body == b"fan" and s.headers["destination"] == f"/topic/{base}.x.y"
    assert s.headers["content-type"] == "text/plain"
    assert s.headers["correlation-id"] == "r-7"
    assert s.headers["origin"] == "amqp" and s.headers["n"] == "3"


def test_an_amqp_queue_is_a_stomp_queue_both_ways(broker):
    name = support.uid("both")
    conn = connect(broker)
    ch = conn.channel()
    ch.queue_declare(name, durable=True)
    stomp = StompClient(broker)
    stomp.subscribe(f"/amq/queue/{name}", id="s1")
    ch.basic_publish("", name, b"amqp to stomp",
                     pika.BasicProperties(message_id="m-1", headers={"k": "v"}))
    s = stomp.expect_message()
    assert s.body == b"amqp to stomp" and s.headers["k"] == "v"
    assert s.headers["subscription"] == "s1"
    stomp.unsubscribe("s1")
    stomp.send(f"/amq/queue/{name}", b"stomp to amqp")
    method, _, body = drain(conn, ch, name, 1)[0]
    assert body == b"stomp to amqp" and method.routing_key == name
    ch.queue_delete(name)


def test_stomp_exchange_destinations_use_amqp_declared_exchanges(broker):
    exchange = support.uid("ex")
    conn = connect(broker)
    ch = conn.channel()
    ch.exchange_declare(exchange, "direct")
    q = ch.queue_declare("", exclusive=True).method.queue
    ch.queue_bind(q, exchange, "blue")
    stomp = StompClient(broker)
    stomp.send(f"/exchange/{exchange}/blue", b"to blue")
    stomp.send(f"/exchange/{exchange}/red", b"to red: no binding")
    method, _, body = drain(conn, ch, q, 1)[0]
    assert (method.exchange, method.routing_key, body) == (exchange, "blue", b"to blue")
    assert ch.basic_get(q, auto_ack=True) == (None, None, None)
    # and the other way: a STOMP subscription to the exchange gets AMQP publishes
    stomp.subscribe(f"/exchange/{exchange}/green", id="g")
    ch.basic_publish(exchange, "green", b"to green")
    assert stomp.expect_message().body == b"to green"
    ch.exchange_delete(exchange)


def test_mqtt_reaches_amqp_through_an_exchange_to_exchange_binding(broker):
    base = support.uid("e2e")
    conn = connect(broker)
    ch = conn.channel()
    fan = support.uid("fan")
    ch.exchange_declare(fan, "fanout")
    ch.exchange_bind(fan, "amq.topic", f"{base}.#")
    q1 = ch.queue_declare("", exclusive=True).method.queue
    q2 = ch.queue_declare("", exclusive=True).method.queue
    ch.queue_bind(q1, fan)
    ch.queue_bind(q2, fan)
    support.Client(broker).publish(f"{base}/a", b"twice", qos=1)
    for q in (q1, q2):
        method, _, body = drain(conn, ch, q, 1)[0]
        assert body == b"twice" and method.routing_key == f"{base}.a"
    ch.exchange_delete(fan)
