"""STOMP protocol errors: every one gets an ERROR frame with a `message` header and a body,
then the connection closes (STOMP 1.2 "ERROR"), and every other client goes on. Also the
frame limits of switchyard's [stomp] section, and RECEIPTs for each frame kind."""

import pytest

from stomp_support import (VERSIONS, Client, closes_after_error, frame, is_external,
                           only_switchyard, raw, uid)

over = pytest.mark.parametrize("transport", ["tcp", "ws"])


def connected(broker, transport="tcp", version="1.2"):
    r = raw(broker, transport)
    r.connect(version=version)
    return r


def assert_alive(broker):
    """A fresh client can still do a round trip."""
    c = Client(broker)
    dest = "/queue/" + uid("alive")
    c.subscribe(dest)
    c.send(dest, b"alive")
    assert c.expect_message().body == b"alive"


# --- missing or bad headers ---------------------------------------------------------------------

@over
def test_send_without_destination(stomp_broker, transport):
    r = connected(stomp_broker, transport)
    r.send_frame("SEND", {"receipt": "no"}, b"where?")
    error = r.expect_error(closes=closes_after_error(stomp_broker))
    # STOMP 1.2: an ERROR caused by a frame with a receipt header carries receipt-id.
    assert error.get("receipt-id") in (None, "no"), error


@over
def test_subscribe_without_destination(stomp_broker, transport):
    r = connected(stomp_broker, transport)
    r.send_frame("SUBSCRIBE", {"id": "1"})
    r.expect_error(closes=closes_after_error(stomp_broker))


@pytest.mark.parametrize("version", ["1.1", "1.2"])
def test_subscribe_without_id_in_1_1_and_later(stomp_broker, version):
    # STOMP 1.1/1.2: SUBSCRIBE MUST have an id. RabbitMQ 3.10 accepts one without (it uses
    # the destination as the id); switchyard follows the spec, as the issue asks.
    only_switchyard(stomp_broker, "RabbitMQ accepts SUBSCRIBE without id")
    r = connected(stomp_broker, version=version)
    r.send_frame("SUBSCRIBE", {"destination": "/topic/" + uid("noid")})
    r.expect_error()


def test_subscribe_without_id_is_fine_in_1_0(stomp_broker):
    r = connected(stomp_broker, version=None)
    dest = "/topic/" + uid("noid10")
    r.send_frame("SUBSCRIBE", {"destination": dest, "receipt": "s"})
    assert r.expect("RECEIPT")["receipt-id"] == "s"
    r.send_frame("SEND", {"destination": dest}, b"to 1.0")
    assert r.expect("MESSAGE").body == b"to 1.0"


@pytest.mark.parametrize("version", ["1.1", "1.2"])
def test_unsubscribe_without_id(stomp_broker, version):
    r = connected(stomp_broker, version=version)
    r.send_frame("UNSUBSCRIBE", {})
    r.expect_error(closes=closes_after_error(stomp_broker))


def test_invalid_ack_mode(stomp_broker):
    r = connected(stomp_broker)
    r.send_frame("SUBSCRIBE", {"destination": "/queue/" + uid("ackmode"), "id": "1",
                               "ack": "sometimes"})
    r.expect_error(closes=closes_after_error(stomp_broker))


@pytest.mark.parametrize("version", ["1.1", "1.2"])
def test_ack_without_its_id_headers(stomp_broker, version):
    r = connected(stomp_broker, version=version)
    r.send_frame("ACK", {})
    r.expect_error(closes=closes_after_error(stomp_broker))


def test_unknown_command(stomp_broker):
    r = connected(stomp_broker)
    r.send_frame("LAUNCH", {"destination": "/queue/x"}, b"x")
    r.expect_error(closes=closes_after_error(stomp_broker))


def test_unknown_command_over_websocket(stomp_broker):
    r = connected(stomp_broker, "ws")
    r.send_frame("LAUNCH", {}, b"x")
    r.expect_error(closes=closes_after_error(stomp_broker))


def test_lowercase_command_is_unknown(stomp_broker):
    # Commands are case-sensitive.
    r = connected(stomp_broker)
    r.send_frame("send", {"destination": "/queue/" + uid("lc")}, b"x")
    r.expect_error(closes=closes_after_error(stomp_broker))


def test_error_through_stomp_py_is_reported_to_on_error(stomp_broker):
    c = Client(stomp_broker)
    c.conn.send_frame("SEND", {}, b"no destination")
    e = c.expect_error(closes=closes_after_error(stomp_broker))
    assert e.cmd == "ERROR"


def test_errors_over_websocket_through_stomp_py(stomp_broker):
    c = Client(stomp_broker, transport="ws")
    c.conn.send_frame("SUBSCRIBE", {"id": "1"})
    c.expect_error(closes=closes_after_error(stomp_broker))


# --- malformed frames ----------------------------------------------------------------------------

def bytes_then_close(r, data, broker):
    """Sends `data`; the server answers with an ERROR (switchyard) and closes. RabbitMQ
    3.10 closes a connection whose frame it cannot parse without an ERROR frame, so
    against it only the close is checked."""
    r.send(data)
    frames = r.wait_closed()
    if is_external(broker):
        assert all(f.command == "ERROR" for f in frames), frames
    else:
        assert [f.command for f in frames] == ["ERROR"], frames
        assert frames[0].get("message") and frames[0].body.strip(), frames[0]


@pytest.mark.parametrize("version", ["1.1", "1.2"])
@pytest.mark.parametrize("escape", [b"\\t", b"\\x", b"\\"])
def test_undefined_header_escape(stomp_broker, version, escape):
    # STOMP 1.2 "Value Encoding": an undefined escape sequence MUST be treated as a fatal
    # protocol error (1.1 likewise).
    r = connected(stomp_broker, version=version)
    data = (b"SEND\ndestination:/queue/" + uid("esc").encode() + b"\nx-bad:a" + escape
            + b"b\n\nx\x00")
    bytes_then_close(r, data, stomp_broker)


def test_cr_escape_is_undefined_in_1_1(stomp_broker):
    # \r is a 1.2 escape only.
    only_switchyard(stomp_broker, "RabbitMQ accepts \\r in every version")
    r = connected(stomp_broker, version="1.1")
    bytes_then_close(r, b"SEND\ndestination:/queue/x\nx-bad:a\\rb\n\nx\x00", stomp_broker)


def test_backslash_is_literal_in_1_0(stomp_broker):
    # STOMP 1.0 has no escaping: "a\tb" is four characters. RabbitMQ 3.10 applies the 1.1
    # escapes in 1.0 too and closes the connection on "\t"; switchyard follows the 1.0
    # spec.
    only_switchyard(stomp_broker, "RabbitMQ unescapes (and rejects \\t) in 1.0 too")
    dest = "/queue/" + uid("lit10")
    r = connected(stomp_broker, version=None)
    r.send_frame("SUBSCRIBE", {"destination": dest, "receipt": "s"})
    r.expect("RECEIPT")
    r.send(b"SEND\ndestination:" + dest.encode() + b"\nx-path:C:\\temp\n\nx\x00")
    assert r.expect("MESSAGE")["x-path"] == "C:\\temp"


def test_content_length_that_does_not_end_at_a_nul(stomp_broker):
    r = connected(stomp_broker)
    data = b"SEND\ndestination:/queue/" + uid("cl").encode() + b"\ncontent-length:3\n\nxxxxx\x00"
    bytes_then_close(r, data, stomp_broker)


def test_content_length_not_a_number(stomp_broker):
    r = connected(stomp_broker)
    data = b"SEND\ndestination:/queue/" + uid("cl").encode() + b"\ncontent-length:many\n\nx\x00"
    bytes_then_close(r, data, stomp_broker)


def test_header_line_without_colon(stomp_broker):
    r = connected(stomp_broker)
    bytes_then_close(r, b"SEND\ndestination:/queue/x\nno colon here\n\nx\x00", stomp_broker)


def test_garbage_instead_of_connect(stomp_broker):
    r = raw(stomp_broker)
    r.send(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n\x00")
    if closes_after_error(stomp_broker):
        frames = r.wait_closed()
        assert [f.command for f in frames] == ["ERROR"], frames
    else:
        r.expect_error(closes=False)  # RabbitMQ: "Illegal command", closed at its login timeout


# --- limits (switchyard's [stomp] section) -------------------------------------------------

LIMITS = {"max_frame_size": 4096, "max_headers": 16, "max_header_length": 256}


def limited(make_stomp_broker):
    broker = make_stomp_broker(stomp=LIMITS)
    # RabbitMQ 3.10 has no STOMP frame limit to configure (stomp.max_frame_size came in a
    # later release).
    only_switchyard(broker, "the external broker's STOMP limits are not configured here")
    return broker


@over
def test_frame_too_large(make_stomp_broker, transport):
    broker = limited(make_stomp_broker)
    r = connected(broker, transport)
    r.send_frame("SEND", {"destination": "/queue/" + uid("big")}, b"x" * 8192,
                 content_length=True)
    error = r.expect_error()
    assert "large" in (error["message"] + error.body.decode()).lower() or \
        "size" in (error["message"] + error.body.decode()).lower(), error
    assert_alive(broker)


def test_frame_too_large_without_content_length(make_stomp_broker):
    # No content-length: the limit still holds while the server looks for the NUL.
    broker = limited(make_stomp_broker)
    r = connected(broker)
    r.send(b"SEND\ndestination:/queue/x\n\n" + b"y" * 8192)  # no NUL yet
    r.expect_error()


def test_frame_at_the_limit_is_accepted(make_stomp_broker):
    broker = limited(make_stomp_broker)
    dest = "/queue/" + uid("fits")
    sub = Client(broker)
    sub.subscribe(dest)
    r = connected(broker)
    head = frame("SEND", {"destination": dest, "receipt": "ok"}, b"", content_length=0)
    body = b"z" * (LIMITS["max_frame_size"] - len(head) - 8)
    r.send_frame("SEND", {"destination": dest, "receipt": "ok"}, body, content_length=True)
    assert r.expect("RECEIPT")["receipt-id"] == "ok"
    assert sub.expect_message().body == body


def test_too_many_headers(make_stomp_broker):
    broker = limited(make_stomp_broker)
    r = connected(broker)
    headers = [("destination", "/queue/x")] + [(f"x-h{i}", "v") for i in range(40)]
    r.send_frame("SEND", headers, b"x")
    r.expect_error()


def test_header_line_too_long(make_stomp_broker):
    broker = limited(make_stomp_broker)
    r = connected(broker)
    r.send_frame("SEND", {"destination": "/queue/x", "x-long": "v" * 1000}, b"x")
    r.expect_error()


def test_connect_frame_too_large(make_stomp_broker):
    broker = limited(make_stomp_broker)
    r = raw(broker)
    r.send(frame("CONNECT", {"accept-version": "1.2", "host": "/",
                             "x-pad": "p" * 200} | {f"x-{i}": "v" * 200 for i in range(30)}))
    frames = r.wait_closed()
    assert [f.command for f in frames] == ["ERROR"], frames


# --- other clients and RECEIPTs ---------------------------------------------------------------

def test_other_clients_survive_a_protocol_error(stomp_broker):
    dest = "/queue/" + uid("survive")
    ok = Client(stomp_broker)
    ok.subscribe(dest)
    bad = connected(stomp_broker)
    bad.send(b"SEND\ndestination:/queue/x\nx-bad:\\q\n\nx\x00")
    bad.wait_closed()
    ok.send(dest, b"fine")
    assert ok.expect_message().body == b"fine"


RECEIPTED = ["SEND", "SUBSCRIBE", "UNSUBSCRIBE", "BEGIN", "COMMIT", "ABORT", "ACK", "NACK"]


@pytest.mark.parametrize("version,command", [(v, c) for v in VERSIONS for c in RECEIPTED
                                             if (v, c) != ("1.0", "NACK")])  # 1.0: no NACK
def test_every_frame_with_a_receipt_header_gets_its_receipt(stomp_broker, version, command):
    dest = "/queue/" + uid("rcpt")
    r = connected(stomp_broker, version=version)
    r.send_frame("SUBSCRIBE", {"destination": dest, "id": "s", "ack": "client"})
    r.send_frame("SEND", {"destination": dest}, b"m")
    m = r.expect("MESSAGE")
    if version == "1.2":
        ack = {"id": m["ack"]}
    elif version == "1.1":
        ack = {"message-id": m["message-id"], "subscription": "s"}
    else:
        ack = {"message-id": m["message-id"]}
    r.send_frame("BEGIN", {"transaction": "t"})
    headers = {
        "SEND": {"destination": dest},
        "SUBSCRIBE": {"destination": dest + ".2", "id": "s2"},
        "UNSUBSCRIBE": {"id": "s"},
        "BEGIN": {"transaction": "t2"},
        "COMMIT": {"transaction": "t"},
        "ABORT": {"transaction": "t"},
        "ACK": ack,
        "NACK": ack,
    }[command]
    receipt = uid("receipt")
    r.send_frame(command, {**headers, "receipt": receipt}, b"x" if command == "SEND" else b"")
    got = r.recv()
    while got.command == "MESSAGE":  # a SEND to the subscribed queue, a NACK redelivery
        got = r.recv()
    assert got.command == "RECEIPT", got
    assert got["receipt-id"] == receipt


def test_receipts_come_in_order(stomp_broker):
    r = connected(stomp_broker)
    dest = "/topic/" + uid("ord")
    data = b"".join(frame("SEND", {"destination": dest, "receipt": f"r{i}"}, b"x")
                    for i in range(30))
    r.send(data)
    got = [r.expect("RECEIPT")["receipt-id"] for _ in range(30)]
    assert got == [f"r{i}" for i in range(30)]


def test_receipt_id_with_escaped_characters(stomp_broker):
    # The receipt-id echoes the receipt header value, escaped the same way.
    r = connected(stomp_broker)
    r.send_frame("SUBSCRIBE", {"destination": "/topic/" + uid("e"), "id": "1",
                               "receipt": "a:b"})
    assert r.expect("RECEIPT")["receipt-id"] == "a:b"
