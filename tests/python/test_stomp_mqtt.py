"""MQTT and STOMP meet in amq.topic, as in RabbitMQ: MQTT topic `a/b` is routing key `a.b`,
which STOMP addresses as /topic/a.b (MQTT `+`/`#` are amq.topic's `*`/`#`). STOMP headers
and MQTT 5 user properties / content type carry over both ways; acknowledgements hold
across the protocols.

Against an external broker these need STOMP_EXTERNAL_MQTT (its MQTT listener); the MQTT 5
ones are skipped when that broker does not speak MQTT 5 (RabbitMQ before 3.13)."""

import types

import pytest

import support
from stomp_support import Client, bodies, is_external, uid

over = pytest.mark.parametrize("transport", ["tcp", "ws"])
mqtt_versions = pytest.mark.parametrize("mqtt_version", support.VERSIONS,
                                        ids=support.VERSION_IDS)

_mqtt5_refused = {}  # external broker address -> True once it refused MQTT 5


def mqtt(broker, version=support.V5, **kw):
    """A paho client (support.Client) to the broker's MQTT listener."""
    if not is_external(broker):
        return support.Client(broker, version=version, **kw)
    if not broker.port:
        pytest.skip("STOMP_EXTERNAL_MQTT is not set")
    target = types.SimpleNamespace(host=broker.mqtt_host, port=broker.port)
    if version != support.V5:
        return support.Client(target, version=version, **kw)
    if _mqtt5_refused.get(broker.address):
        pytest.skip("the external broker does not speak MQTT 5")
    try:
        c = support.Client(target, version=version, expect_success=False, **kw)
    except AssertionError:
        c = None
    if c is None or c.connack_reason.is_failure:
        _mqtt5_refused[broker.address] = True
        pytest.skip("the external broker does not speak MQTT 5")
    return c


def user_props(msg):
    return list(getattr(msg.properties, "UserProperty", None) or [])


# --- routing ------------------------------------------------------------------------------------

@over
@mqtt_versions
def test_mqtt_publish_reaches_a_stomp_topic_subscriber(stomp_broker, transport, mqtt_version):
    base = uid("m2s")
    sub = Client(stomp_broker, transport=transport)
    sub.subscribe(f"/topic/{base}.b")
    pub = mqtt(stomp_broker, mqtt_version)
    pub.publish(f"{base}/b", b"from mqtt", qos=1)
    m = sub.expect_message()
    assert m.body == b"from mqtt"
    assert m.headers["destination"] == f"/topic/{base}.b"
    sub.expect_no_message()


@mqtt_versions
@pytest.mark.parametrize("qos", [0, 1])
def test_stomp_send_reaches_an_mqtt_subscriber(stomp_broker, mqtt_version, qos):
    base = uid("s2m")
    sub = mqtt(stomp_broker, mqtt_version)
    sub.subscribe(f"{base}/b", qos=qos)
    Client(stomp_broker).send(f"/topic/{base}.b", b"from stomp")
    msg = sub.expect_message()
    assert msg.topic == f"{base}/b"
    assert msg.payload == b"from stomp"
    sub.expect_no_message()


def test_mqtt_wildcards_match_stomp_sends(stomp_broker):
    base = uid("wild")
    plus = mqtt(stomp_broker, support.V311)
    plus.subscribe(f"{base}/+/c", qos=1)
    hash_ = mqtt(stomp_broker, support.V311)
    hash_.subscribe(f"{base}/#", qos=1)
    Client(stomp_broker).send(f"/topic/{base}.x.c", b"xc")
    assert plus.expect_message().topic == f"{base}/x/c"
    assert hash_.expect_message().topic == f"{base}/x/c"


def test_stomp_wildcards_match_mqtt_publishes(stomp_broker):
    base = uid("swild")
    star, hash_ = Client(stomp_broker), Client(stomp_broker)
    star.subscribe(f"/topic/{base}.*.c")
    hash_.subscribe(f"/topic/{base}.#")
    pub = mqtt(stomp_broker, support.V311)
    pub.publish(f"{base}/x/c", b"1", qos=1)
    pub.publish(f"{base}/x/y/z", b"2", qos=1)
    assert star.expect_message().body == b"1"
    star.expect_no_message()
    assert bodies(hash_.expect_messages(2)) == [b"1", b"2"]


def test_mqtt_publish_fills_a_stomp_queue_bound_by_a_durable_subscription(stomp_broker):
    # A durable STOMP subscription keeps MQTT messages while its client is away.
    base = uid("mdur")
    sub_id, me = uid("dsub"), {"client-id": uid("client")}
    durable = {"durable": "true", "auto-delete": "false"}
    first = Client(stomp_broker, headers=me)
    first.subscribe(f"/topic/{base}.t", id=sub_id, **durable)
    first.disconnect()
    pub = mqtt(stomp_broker, support.V311)
    for i in range(3):
        pub.publish(f"{base}/t", b"%d" % i, qos=1)
    back = Client(stomp_broker, headers=me)
    back.subscribe(f"/topic/{base}.t", id=sub_id, **durable)
    assert bodies(back.expect_messages(3)) == [b"0", b"1", b"2"]
    back.unsubscribe(sub_id, **durable)


# --- headers <-> MQTT 5 properties ---------------------------------------------------------------

def test_stomp_headers_become_mqtt5_user_properties_and_content_type(stomp_broker):
    base = uid("hdr")
    sub = mqtt(stomp_broker, support.V5)
    sub.subscribe(f"{base}/h", qos=1)
    Client(stomp_broker).send(f"/topic/{base}.h", b"{}", content_type="application/json",
                              **{"x-trace": "abc:123", "x-team": "blue"})
    msg = sub.expect_message()
    assert msg.payload == b"{}"
    assert msg.properties.ContentType == "application/json"
    props = user_props(msg)
    assert ("x-trace", "abc:123") in props, props
    assert ("x-team", "blue") in props, props


def test_mqtt5_user_properties_and_content_type_become_stomp_headers(stomp_broker):
    base = uid("prop")
    sub = Client(stomp_broker)
    sub.subscribe(f"/topic/{base}.p")
    pub = mqtt(stomp_broker, support.V5)
    pub.publish(f"{base}/p", b"<a/>", qos=1, ContentType="application/xml",
                UserProperty=[("x-trace", "abc:123"), ("x-team", "blue")])
    m = sub.expect_message()
    assert m.body == b"<a/>"
    assert m.headers["content-type"] == "application/xml"
    assert m.headers["x-trace"] == "abc:123"
    assert m.headers["x-team"] == "blue"


def test_header_escaping_survives_the_trip_to_mqtt_and_back(stomp_broker):
    # A STOMP 1.2 header value with ':' and a newline is one user property value in MQTT,
    # and the same header again when MQTT republishes it.
    base = uid("esc")
    value = "a:b\nc"
    relay = mqtt(stomp_broker, support.V5)
    relay.subscribe(f"{base}/in", qos=1)
    sub = Client(stomp_broker)
    sub.subscribe(f"/topic/{base}.out")
    Client(stomp_broker).send(f"/topic/{base}.in", b"x", **{"x-v": value})
    msg = relay.expect_message()
    assert ("x-v", value) in user_props(msg), user_props(msg)
    relay.publish(f"{base}/out", msg.payload, qos=1, UserProperty=user_props(msg))
    assert sub.expect_message().headers["x-v"] == value


# --- acknowledgements across protocols ---------------------------------------------------------

def test_mqtt_qos1_to_stomp_client_ack_is_redelivered_after_a_disconnect(stomp_broker):
    # The STOMP client holds a QoS 1 MQTT message unacked and goes away; its durable
    # subscription (a queue bound to amq.topic) gives it back, redelivered.
    base = uid("q1")
    sub_id, me = uid("dsub"), {"client-id": uid("client")}
    durable = {"durable": "true", "auto-delete": "false"}
    first = Client(stomp_broker, headers=me)
    first.subscribe(f"/topic/{base}.r", id=sub_id, ack="client", **durable)
    mqtt(stomp_broker, support.V311).publish(f"{base}/r", b"must arrive", qos=1)
    m = first.expect_message()
    assert m.body == b"must arrive"
    first.drop()
    back = Client(stomp_broker, headers=me)
    back.subscribe(f"/topic/{base}.r", id=sub_id, ack="client", **durable)
    again = back.expect_message()
    assert again.body == b"must arrive"
    assert again.headers.get("redelivered") == "true"
    back.ack(again)
    back.unsubscribe(sub_id, **durable)


@mqtt_versions
def test_mqtt_qos1_subscriber_gets_stomp_messages(stomp_broker, mqtt_version):
    base = uid("s2q1")
    sub = mqtt(stomp_broker, mqtt_version)
    sub.subscribe(f"{base}/q", qos=1)
    pub = Client(stomp_broker)
    for i in range(5):
        pub.send(f"/topic/{base}.q", b"%d" % i)
    got = sub.expect_messages(5)
    assert [m.payload for m in got] == [b"%d" % i for i in range(5)]
    assert all(m.topic == f"{base}/q" for m in got)
    # Delivered at the subscription's QoS 1 (as RabbitMQ does, persistent header or not).
    assert [m.qos for m in got] == [1] * 5


def test_offline_mqtt_session_keeps_stomp_messages(stomp_broker):
    # A persistent MQTT 3.1.1 session's QoS 1 subscription is a queue too: STOMP sends made
    # while the MQTT client is away arrive when it returns.
    base = uid("sess")
    cid = uid("cid")
    sub = mqtt(stomp_broker, support.V311, client_id=cid, clean=False)
    sub.subscribe(f"{base}/o", qos=1)
    sub.disconnect()
    pub = Client(stomp_broker)
    pub.send(f"/topic/{base}.o", b"kept", persistent="true")
    back = mqtt(stomp_broker, support.V311, client_id=cid, clean=False)
    assert back.session_present
    msg = back.expect_message()
    assert msg.payload == b"kept"
    assert msg.qos == 1
    back.disconnect()
    mqtt(stomp_broker, support.V311, client_id=cid, clean=True).disconnect()
