"""$SYS/broker/... statistics, as Mosquitto publishes them (retained, every
sys_interval seconds), counted over all shards."""

import re
import time

import pytest

from support import V5, Client, uid

INTERVAL = 1


@pytest.fixture
def gw(make_gateway):
    return make_gateway(sys_interval=INTERVAL)


def next_value(monitor, topic, pred=lambda v: True, timeout=INTERVAL * 5):
    """Reads the monitor's messages until one on `topic` satisfies `pred`; its payload."""
    deadline = time.monotonic() + timeout
    seen = []
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise AssertionError(f"no value of {topic} satisfying the test within {timeout} s; "
                                 f"saw {seen[-5:]}")
        try:
            m = monitor.expect_message(remaining)
        except AssertionError:
            continue
        if m.topic == topic:
            value = m.payload.decode()
            seen.append(value)
            if pred(value):
                return value


def monitor_of(gw, *topics):
    m = Client(gw, version=V5)
    for t in topics:
        m.subscribe(t, qos=0)
    return m


def test_version_is_retained(gw):
    m = monitor_of(gw, "$SYS/broker/version")
    msg = m.expect_message()
    assert msg.topic == "$SYS/broker/version"
    assert msg.retain is True
    assert "switchyard" in msg.payload.decode().lower()


def test_clients_connected_counts_every_shard(gw):
    topic = "$SYS/broker/clients/connected"
    m = monitor_of(gw, topic)
    base = int(next_value(m, topic, lambda v: int(v) >= 1))
    others = [Client(gw, version=V5) for _ in range(6)]  # spread over the shards
    next_value(m, topic, lambda v: int(v) == base + 6)
    for c in others:
        c.disconnect()
    next_value(m, topic, lambda v: int(v) == base)


def test_messages_received_increases(gw):
    topic = "$SYS/broker/messages/received"
    m = monitor_of(gw, topic)
    base = int(next_value(m, topic))
    pubs = [Client(gw, version=V5) for _ in range(4)]
    for p in pubs:
        for i in range(5):
            p.publish(uid("count"), b"x", qos=1)
    next_value(m, topic, lambda v: int(v) >= base + 20)


def test_uptime_advances(gw):
    topic = "$SYS/broker/uptime"
    m = monitor_of(gw, topic)
    first = next_value(m, topic)
    assert re.fullmatch(r"\d+ seconds", first), first
    later = next_value(m, topic, lambda v: int(v.split()[0]) > int(first.split()[0]))
    assert re.fullmatch(r"\d+ seconds", later), later


def test_sys_is_published_every_interval(gw):
    topic = "$SYS/broker/uptime"
    m = monitor_of(gw, topic)
    next_value(m, topic)  # the retained one
    start = time.monotonic()
    next_value(m, topic)
    next_value(m, topic)
    elapsed = time.monotonic() - start
    assert elapsed <= INTERVAL * 2 + 1.0, f"two updates took {elapsed:.1f} s at interval {INTERVAL}"


def test_sys_topics_do_not_match_a_root_wildcard(gw):
    # MQTT-4.7.2-1: "#" does not match topics starting with "$".
    everything = Client(gw, version=V5)
    everything.subscribe("#", qos=0)
    plus = Client(gw, version=V5)
    plus.subscribe("+/broker/#", qos=0)
    sys_sub = monitor_of(gw, "$SYS/#")
    sys_sub.expect_message()
    next_value(sys_sub, "$SYS/broker/uptime")  # at least one fresh update went out
    everything.expect_no_message()
    plus.expect_no_message()


def test_sys_values_are_numbers(gw):
    m = monitor_of(gw, "$SYS/broker/#")
    names = {"clients/connected", "messages/received", "messages/sent", "messages/dropped"}
    seen = {}
    deadline = time.monotonic() + INTERVAL * 5
    while not set(seen) >= names and time.monotonic() < deadline:
        try:
            msg = m.expect_message(max(deadline - time.monotonic(), 0.01))
        except AssertionError:
            break
        seen[msg.topic.removeprefix("$SYS/broker/")] = msg.payload.decode()
    assert set(seen) >= names, f"missing: {names - set(seen)}"
    for name in names:
        assert seen[name].isdigit(), (name, seen[name])
