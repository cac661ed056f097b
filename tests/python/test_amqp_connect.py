"""AMQP 0-9-1 connections with pika: the handshake, credentials, the protocol header,
vhosts, heartbeats, and channel exceptions that leave the connection open."""

import time

import pika
import pika.exceptions
import pytest

from amqp_support import connect, raw


def closed_by_peer(s):
    """Whether the peer has closed `s`: end of stream, or a reset (RabbitMQ closes with
    a reset when it closes a connection it refused)."""
    try:
        return s.recv(64) == b""
    except ConnectionResetError:
        return True


def test_guest_connects_and_opens_channels(amqp_broker):
    conn = connect(amqp_broker)
    props = conn._impl.server_properties
    caps = props["capabilities"]
    assert caps["publisher_confirms"] and caps["basic.nack"]
    assert caps["authentication_failure_close"]
    a, b = conn.channel(), conn.channel()
    assert a.channel_number != b.channel_number
    a.close()
    assert b.is_open
    conn.close()


def test_bad_credentials_are_refused_with_403(amqp_broker):
    with pytest.raises(pika.exceptions.ProbableAuthenticationError) as info:
        connect(amqp_broker, password="wrong")
    assert "403" in str(info.value) or "ACCESS_REFUSED" in str(info.value)
    with pytest.raises(pika.exceptions.ProbableAuthenticationError):
        connect(amqp_broker, user="nobody", password="guest")
    connect(amqp_broker).close()  # the server goes on


def amqplain_login(gw, password):
    """Logs in with AMQPLAIN by hand; returns the first method frame's bytes after it."""
    from pika import data, frame, spec
    s = raw(gw)
    s.sendall(b"AMQP\x00\x00\x09\x01")
    start = s.recv(4096)
    assert start[0] == 1 and b"PLAIN" in start and b"AMQPLAIN" in start
    pieces = []
    data.encode_table(pieces, {"LOGIN": "guest", "PASSWORD": password})
    response = b"".join(pieces)[4:]  # a table without its length
    caps = {"capabilities": {"authentication_failure_close": True}}  # a 403, not a bare close
    start_ok = spec.Connection.StartOk(client_properties=caps, mechanism="AMQPLAIN",
                                       response=response, locale="en_US")
    s.sendall(frame.Method(0, start_ok).marshal())
    reply = s.recv(4096)
    s.close()
    return reply


def test_amqplain_login(amqp_broker):
    tune = amqplain_login(amqp_broker, "guest")
    assert tune[0] == 1 and tune[7:11] == b"\x00\x0a\x00\x1e"  # connection.tune
    close = amqplain_login(amqp_broker, "nope")
    assert close[7:11] == b"\x00\x0a\x00\x32"  # connection.close
    assert close[11:13] == (403).to_bytes(2, "big")


def test_a_wrong_protocol_header_gets_ours(amqp_broker):
    s = raw(amqp_broker)
    s.sendall(b"AMQP\x00\x00\x08\x00")
    data = b""
    while len(data) < 8:
        chunk = s.recv(64)
        if not chunk:
            break
        data += chunk
    assert data == b"AMQP\x00\x00\x09\x01"
    assert closed_by_peer(s)  # then it closes
    s.close()


def test_an_unknown_vhost_is_530(amqp_broker):
    with pytest.raises(pika.exceptions.AMQPConnectionError) as info:
        connect(amqp_broker, vhost="/other")
    assert "530" in repr(info.value) or "NOT_ALLOWED" in repr(info.value)


def test_passive_declare_of_a_missing_queue_closes_only_the_channel(amqp_broker):
    conn = connect(amqp_broker)
    ch = conn.channel()
    with pytest.raises(pika.exceptions.ChannelClosedByBroker) as info:
        ch.queue_declare("no-such-queue", passive=True)
    assert info.value.reply_code == 404
    assert conn.is_open
    ch2 = conn.channel()
    q = ch2.queue_declare("", exclusive=True).method.queue
    assert q.startswith("amq.gen-")
    with pytest.raises(pika.exceptions.ChannelClosedByBroker) as info:
        ch2.exchange_declare("missing-x", passive=True)
    assert info.value.reply_code == 404
    ch3 = conn.channel()
    with pytest.raises(pika.exceptions.ChannelClosedByBroker) as info:
        ch3.basic_publish("missing-x", "k", b"x")
        ch3.queue_declare("", exclusive=True)  # a round trip to see the close
    assert info.value.reply_code == 404
    conn.close()


def test_an_inequivalent_redeclare_is_406(amqp_broker):
    conn = connect(amqp_broker)
    ch = conn.channel()
    ch.exchange_declare("ex406", "direct")
    with pytest.raises(pika.exceptions.ChannelClosedByBroker) as info:
        ch.exchange_declare("ex406", "fanout")
    assert info.value.reply_code == 406
    conn.close()


def test_heartbeats_are_negotiated_and_sent(amqp_broker):
    conn = connect(amqp_broker, heartbeat=1)
    assert conn._impl.params.heartbeat == 1
    ch = conn.channel()
    deadline = time.monotonic() + 3.5
    while time.monotonic() < deadline:
        conn.process_data_events(time_limit=0.2)
    assert ch.is_open and conn.is_open
    conn.close()


def test_a_silent_client_is_closed_after_two_intervals(amqp_broker):
    s = raw(amqp_broker)
    s.sendall(b"AMQP\x00\x00\x09\x01")
    # start-ok, tune-ok (heartbeat 1 s), open, by hand with pika's frame classes.
    from pika import frame, spec
    s.recv(4096)
    start_ok = spec.Connection.StartOk(client_properties={}, mechanism="PLAIN",
                                       response="\0guest\0guest", locale="en_US")
    s.sendall(frame.Method(0, start_ok).marshal())
    s.recv(4096)
    s.sendall(frame.Method(0, spec.Connection.TuneOk(2047, 131072, 1)).marshal())
    s.sendall(frame.Method(0, spec.Connection.Open("/")).marshal())
    s.settimeout(6)
    start = time.monotonic()
    data = b""
    while True:
        try:
            chunk = s.recv(4096)
        except ConnectionResetError:
            break
        if not chunk:
            break
        data += chunk
    elapsed = time.monotonic() - start
    assert 1.5 < elapsed < 5, elapsed
    assert b"\x08\x00\x00\x00\x00\x00\x00\xce" in data  # our heartbeats meanwhile
    s.close()


def open_raw(gw):
    """A raw socket past connection.open and channel.open on channel 1."""
    from pika import frame, spec
    s = raw(gw)
    s.sendall(b"AMQP\x00\x00\x09\x01")
    s.recv(4096)
    start_ok = spec.Connection.StartOk(client_properties={}, mechanism="PLAIN",
                                       response="\0guest\0guest", locale="en_US")
    s.sendall(frame.Method(0, start_ok).marshal())
    s.recv(4096)
    s.sendall(frame.Method(0, spec.Connection.TuneOk(2047, 131072, 0)).marshal())
    s.sendall(frame.Method(0, spec.Connection.Open("/")).marshal())
    s.sendall(frame.Method(1, spec.Channel.Open()).marshal())
    data = b""
    while b"\x00\x14\x00\x0b" not in data:  # channel.open-ok
        data += s.recv(4096)
    return s


def test_a_method_before_the_content_is_complete_is_505(amqp_broker):
    from pika import frame, spec
    s = open_raw(amqp_broker)
    s.sendall(frame.Method(1, spec.Basic.Publish(exchange="", routing_key="q")).marshal())
    s.sendall(frame.Method(1, spec.Basic.Qos(prefetch_count=1)).marshal())
    data = s.recv(4096)
    assert data[7:11] == b"\x00\x0a\x00\x32"  # connection.close
    assert data[11:13] == (505).to_bytes(2, "big")
    s.sendall(frame.Method(0, spec.Connection.CloseOk()).marshal())
    assert closed_by_peer(s)
    s.close()


def test_a_body_without_a_header_is_505(amqp_broker):
    from pika import frame
    s = open_raw(amqp_broker)
    s.sendall(frame.Body(1, b"stray").marshal())
    data = s.recv(4096)
    assert data[7:11] == b"\x00\x0a\x00\x32"
    assert data[11:13] == (505).to_bytes(2, "big")
    s.close()
