"""AMQP 0-9-1 errors: channel and connection exceptions with their reply codes, frames
the broker must refuse (checked with a raw socket, as pika never sends them), limits
negotiated at tune, failed logins, and channel.flow. test_amqp_connect.py has the
protocol header, unknown vhost, heartbeat and 505 cases; these are the others."""

import pika
import pika.exceptions
import pytest
from pika import frame, spec

from amqp_support import PROTOCOL_HEADER, Raw, connect, method_frame, round_trip, uid

CONNECTION_CLOSE = spec.Connection.Close


def expect_connection_close(r, code, then_closed=True):
    """Reads connection.close with `code`, answers close-ok, and (`then_closed`) checks
    the broker then closes the socket. RabbitMQ waits 3 s before closing after a frame
    error or a failed login, so only some tests wait for it."""
    f = r.expect(CONNECTION_CLOSE)
    assert f.channel_number == 0
    assert f.method.reply_code == code, f.method
    r.send_method(0, spec.Connection.CloseOk())
    if then_closed:
        assert r.closed(), "the socket stayed open after close-ok"
    return f.method


# -- channel exceptions ---------------------------------------------------------------

def test_acking_a_tag_twice_or_rejecting_an_unknown_one_is_406(amqp_broker):
    """An ack, nack or reject of a delivery tag the channel does not hold (already acked,
    never sent) closes the channel with 406 PRECONDITION_FAILED ("unknown delivery
    tag"); the connection and its other channels go on."""
    conn = connect(amqp_broker)
    other = conn.channel()
    q = other.queue_declare("", exclusive=True).method.queue
    cases = {
        "ack twice": lambda ch, tag: (ch.basic_ack(tag), ch.basic_ack(tag)),
        "nack unknown": lambda ch, tag: ch.basic_nack(tag + 100),
        "reject unknown": lambda ch, tag: ch.basic_reject(tag + 100),
        "ack multiple unknown": lambda ch, tag: ch.basic_ack(tag + 100, multiple=True),
    }
    outcome = {}
    for case, op in cases.items():
        ch = conn.channel()
        ch.basic_publish("", q, b"m")
        method, _, _ = ch.basic_get(q)
        try:
            op(ch, method.delivery_tag)
            round_trip(ch)
            outcome[case] = "channel still open"
        except pika.exceptions.ChannelClosedByBroker as e:
            outcome[case] = (e.reply_code, "unknown delivery tag" in e.reply_text.lower())
        other.queue_purge(q)  # whatever the channel held unacked went back to the queue
    assert outcome == {case: (406, True) for case in cases}
    assert conn.is_open and other.is_open
    conn.close()


def test_methods_sent_after_the_brokers_channel_close_are_discarded(amqp_broker):
    """Spec (channel.close): after the broker sends channel.close it discards every
    method on that channel but close and close-ok. So a declare sent before our close-ok
    gets no answer, and the channel number can be opened again afterwards."""
    r = Raw(amqp_broker)
    r.handshake()
    r.open_channel(1)
    r.send_method(1, spec.Queue.Declare(queue=uid("missing"), passive=True))
    f = r.expect(spec.Channel.Close)
    assert f.channel_number == 1 and f.method.reply_code == 404
    r.send_method(1, spec.Queue.Declare(queue="", exclusive=True))  # discarded
    r.send_method(1, spec.Channel.CloseOk())
    f = r.open_channel(1)
    assert isinstance(f.method, spec.Channel.OpenOk), f.method  # not a declare-ok
    r.send_method(1, spec.Queue.Declare(queue="", exclusive=True))
    f = r.expect(spec.Queue.DeclareOk)
    assert f.method.queue.startswith("amq.gen-")


def test_a_method_on_a_channel_that_is_not_open_is_504(amqp_broker):
    """A method other than channel.open on a channel number that is not open is a
    connection exception, 504 CHANNEL_ERROR."""
    r = Raw(amqp_broker)
    r.handshake()
    r.send_method(3, spec.Queue.Declare(queue="", exclusive=True))
    expect_connection_close(r, 504)


def test_opening_an_open_channel_again_is_504(amqp_broker):
    """channel.open on a channel number already open: 504 CHANNEL_ERROR, connection
    close (RabbitMQ's "second 'channel.open' seen")."""
    r = Raw(amqp_broker)
    r.handshake()
    assert isinstance(r.open_channel(1).method, spec.Channel.OpenOk)
    r.send_method(1, spec.Channel.Open())
    expect_connection_close(r, 504)


def test_a_pika_channel_closed_by_the_broker_refuses_further_use(amqp_broker):
    """After a channel exception the connection stays usable, the closed channel object
    refuses operations, and a new channel works."""
    conn = connect(amqp_broker)
    ch = conn.channel()
    with pytest.raises(pika.exceptions.ChannelClosedByBroker) as info:
        ch.exchange_declare(uid("missing"), passive=True)
    assert info.value.reply_code == 404
    assert ch.is_closed
    with pytest.raises(pika.exceptions.ChannelWrongStateError):
        ch.basic_publish("", "q", b"x")
    ch2 = conn.channel()
    q = ch2.queue_declare("", exclusive=True).method.queue
    ch2.basic_publish("", q, b"still here")
    assert ch2.basic_get(q, auto_ack=True)[2] == b"still here"
    conn.close()


# -- frame errors -----------------------------------------------------------------------

@pytest.mark.parametrize("header", [b"AMQP\x00\x01\x00\x00", b"GET / HTTP/1.1\r\n\r\n",
                                    b"AMQP\x00\x00\x09\x02"])
def test_any_wrong_header_gets_ours_then_the_socket_closes(amqp_broker, header):
    """Spec 4.2.2: a header the server does not accept is answered with the header of the
    protocol it speaks, and the socket is closed: for AMQP 1.0, an unknown revision of
    0-9 and something that is not AMQP at all. (Not the old 0-9 header "AMQP 1 1 0 9":
    RabbitMQ speaks that dialect too.)"""
    r = Raw(amqp_broker)
    r.send(header)
    f = r.read_frame()
    assert isinstance(f, frame.ProtocolHeader), f
    assert (f.major, f.minor, f.revision) == (0, 9, 1)
    assert r.buf == b""
    assert r.closed()


def test_a_bad_frame_end_octet_is_501(amqp_broker):
    """Spec 4.2.3: a frame whose frame-end octet is not 0xCE is a FRAME_ERROR (501),
    closing the connection."""
    r = Raw(amqp_broker)
    r.handshake()
    good = frame.Method(1, spec.Channel.Open()).marshal()
    r.send(good[:-1] + b"\x00")
    close = expect_connection_close(r, 501)
    assert close.reply_text.startswith("FRAME_ERROR")


def test_a_frame_larger_than_frame_max_is_501(amqp_broker):
    """A frame over the negotiated frame_max (here 4096, the least a peer may ask for) is a
    FRAME_ERROR (501): a body frame of 5000 octets after a valid publish and header."""
    r = Raw(amqp_broker)
    tune = r.handshake(frame_max=4096)
    assert tune.frame_max == 0 or tune.frame_max >= 4096
    r.open_channel(1)
    body = b"x" * 5000
    r.send_method(1, spec.Basic.Publish(exchange="", routing_key="nowhere"))
    r.send(frame.Header(1, len(body), spec.BasicProperties()).marshal())
    r.send(frame.Body(1, body).marshal())
    close = expect_connection_close(r, 501, then_closed=False)
    assert close.reply_text.startswith("FRAME_ERROR")


def test_a_frame_within_frame_max_in_pieces_is_fine(amqp_broker):
    """The counterpart: a 5000-octet body sent as two frames within frame_max 4096 is
    routed whole."""
    conn = connect(amqp_broker, frame_max=4096)
    ch = conn.channel()
    q = ch.queue_declare("", exclusive=True).method.queue
    ch.basic_publish("", q, b"y" * 5000)
    assert ch.basic_get(q, auto_ack=True)[2] == b"y" * 5000
    conn.close()


def test_an_unknown_frame_type_is_501(amqp_broker):
    """A frame of a type the protocol does not define (here 9) is a FRAME_ERROR: RabbitMQ
    answers connection.close 501."""
    r = Raw(amqp_broker)
    r.handshake()
    r.send(b"\x09\x00\x01\x00\x00\x00\x01x\xce")
    expect_connection_close(r, 501, then_closed=False)


def test_a_method_frame_for_an_unknown_method_is_a_connection_error(amqp_broker):
    """A method id the protocol does not define (basic, method 999) ends the connection.
    The spec wants a connection exception, 503 COMMAND_INVALID or 540 NOT_IMPLEMENTED;
    RabbitMQ 3.10's reader crashes on it ({unknown_method_id,{60,999}}) and drops the
    socket without a connection.close. Either is accepted: a close, if sent, must carry
    one of those codes, and the socket must close."""
    r = Raw(amqp_broker)
    r.handshake()
    r.open_channel(1)
    r.send(method_frame(1, 60, 999) + b"\xce")
    f = r.method()
    if f is not None:
        assert isinstance(f.method, CONNECTION_CLOSE), f.method
        assert f.method.reply_code in (503, 540), f.method
        r.send_method(0, spec.Connection.CloseOk())
    assert r.closed()


# -- limits negotiated at tune ------------------------------------------------------------

def test_opening_more_channels_than_channel_max_is_530(amqp_broker):
    """With channel_max 2 negotiated, channels 1 and 2 open; a third channel (number 3)
    is refused. RabbitMQ closes the connection with 530 NOT_ALLOWED ("channel_max"),
    where the spec would suggest 504 CHANNEL_ERROR for an out-of-range number: we follow
    RabbitMQ."""
    r = Raw(amqp_broker)
    tune = r.handshake(channel_max=2)
    assert tune.channel_max == 0 or tune.channel_max >= 2
    for n in (1, 2):
        assert isinstance(r.open_channel(n).method, spec.Channel.OpenOk)
    r.send_method(3, spec.Channel.Open())
    close = expect_connection_close(r, 530)
    assert "channel_max" in close.reply_text.lower() or "channel" in close.reply_text.lower()


def test_pika_respects_the_brokers_channel_max(amqp_broker):
    """The broker's tune carries a channel_max (RabbitMQ: 2047); pika opens channels up to
    the negotiated number, here 3."""
    conn = connect(amqp_broker, channel_max=3)
    chans = [conn.channel() for _ in range(3)]
    assert sorted(c.channel_number for c in chans) == [1, 2, 3]
    with pytest.raises(pika.exceptions.NoFreeChannels):
        conn.channel()
    chans[1].close()
    assert conn.channel().channel_number == 2  # the freed number is reused
    conn.close()


# -- logins ------------------------------------------------------------------------------

def test_a_failed_login_with_authentication_failure_close_gets_403(amqp_broker):
    """With the client capability authentication_failure_close, a bad password is
    answered with connection.close 403 ACCESS_REFUSED before the socket closes."""
    r = Raw(amqp_broker)
    close = r.handshake(password="wrong", capabilities={"authentication_failure_close": True})
    assert isinstance(close, CONNECTION_CLOSE), close
    assert close.reply_code == 403
    assert close.reply_text.startswith("ACCESS_REFUSED")
    r.send_method(0, spec.Connection.CloseOk())
    assert r.closed()


def test_a_failed_login_without_the_capability_just_closes(amqp_broker):
    """Without authentication_failure_close the spec's rule applies: the server closes the
    socket without a connection.close (the client may not have set up for one)."""
    r = Raw(amqp_broker)
    got = r.handshake(password="wrong", capabilities={})
    assert got is None, got
    assert r.closed()


def test_an_unknown_mechanism_is_refused(amqp_broker):
    """start-ok with a mechanism the server did not offer ends the connection. RabbitMQ
    logs a 503 COMMAND_INVALID ("unknown authentication mechanism") and, as for any
    failure before tune, closes the socket without a connection.close even with
    authentication_failure_close. A close, if sent, must be 403 or 503."""
    r = Raw(amqp_broker)
    r.send(PROTOCOL_HEADER)
    start = r.expect(spec.Connection.Start).method
    assert b"PLAIN" in bytes(start.mechanisms, "ascii") \
        if isinstance(start.mechanisms, str) else b"PLAIN" in start.mechanisms
    r.send_method(0, spec.Connection.StartOk(
        client_properties={"capabilities": {"authentication_failure_close": True}},
        mechanism="NOPE", response="x", locale="en_US"))
    f = r.method()
    if f is not None:
        assert isinstance(f.method, CONNECTION_CLOSE), f.method
        assert f.method.reply_code in (403, 503), f.method
        r.send_method(0, spec.Connection.CloseOk())
    assert r.closed()


# -- channel.flow ------------------------------------------------------------------------

def test_channel_flow_active_is_acknowledged(amqp_broker):
    """channel.flow active=true is answered with flow-ok active=true, and the channel
    goes on delivering."""
    conn = connect(amqp_broker)
    ch = conn.channel()
    q = ch.queue_declare("", exclusive=True).method.queue
    assert ch.flow(True) is True
    ch.basic_publish("", q, b"flowing")
    assert ch.basic_get(q, auto_ack=True)[2] == b"flowing"
    conn.close()


def test_channel_flow_inactive_from_a_client_is_540(amqp_broker):
    """channel.flow active=false from a client asks the broker to stop delivering. The
    spec lets either peer send it; RabbitMQ implements only active=true and closes the
    connection with 540 NOT_IMPLEMENTED ("active=false"). We follow RabbitMQ: clients
    are built against that answer, and credit-based stopping is qos's job."""
    conn = connect(amqp_broker)
    ch = conn.channel()
    with pytest.raises(pika.exceptions.ConnectionClosedByBroker) as info:
        ch.flow(False)
    assert info.value.reply_code == 540
    assert "NOT_IMPLEMENTED" in info.value.reply_text


# -- what RabbitMQ does not implement ------------------------------------------------------

def test_qos_with_a_prefetch_size_is_540(amqp_broker):
    """basic.qos prefetch_size (a byte window) is not implemented by RabbitMQ: a non-zero
    one closes the connection with 540 NOT_IMPLEMENTED."""
    conn = connect(amqp_broker)
    ch = conn.channel()
    with pytest.raises(pika.exceptions.ConnectionClosedByBroker) as info:
        ch.basic_qos(prefetch_size=4096, prefetch_count=10)
    assert info.value.reply_code == 540


def test_publish_with_immediate_is_540(amqp_broker):
    """basic.publish immediate=true was dropped by RabbitMQ (3.0): 540 NOT_IMPLEMENTED,
    connection close. pika cannot set the flag, so this is a raw connection."""
    r = Raw(amqp_broker)
    r.handshake()
    r.open_channel(1)
    r.send_method(1, spec.Basic.Publish(exchange="amq.direct", routing_key="k",
                                        immediate=True))
    r.send(frame.Header(1, 1, spec.BasicProperties()).marshal())
    r.send(frame.Body(1, b"x").marshal())
    close = expect_connection_close(r, 540, then_closed=False)
    assert "immediate" in close.reply_text
