"""STOMP CONNECT / STOMP: version negotiation, the host header as vhost, login and passcode,
RECEIPT for DISCONNECT, and heart-beating both ways (STOMP 1.2 "Connecting", "Heart-beating";
RabbitMQ's STOMP plugin for the vhost and user model)."""

import time

import pytest

from stomp_support import (ABSENCE, VERSIONS, Client, closes_after_error, frame, is_external,
                           raw, uid)

over = pytest.mark.parametrize("transport", ["tcp", "ws"])
versions = pytest.mark.parametrize("version", VERSIONS)


def round_trip(client, body=b"ping"):
    """The client can work: a message through its own /topic subscription."""
    dest = "/topic/" + uid("rt")
    client.subscribe(dest)
    client.send(dest, body)
    assert client.expect_message().body == body


NEGOTIATION = [("1.0", "1.0"), ("1.1", "1.1"), ("1.2", "1.2"), ("1.0,1.1,1.2", "1.2"),
               ("1.2,1.0,1.1", "1.2"), ("1.0,1.1", "1.1"), ("1.1,2.0", "1.1"), ("1.2,3.4", "1.2")]


@over
@pytest.mark.parametrize("command,accept,expected",
                         [("CONNECT", a, e) for a, e in NEGOTIATION]
                         # the STOMP command exists from 1.1 on
                         + [("STOMP", a, e) for a, e in NEGOTIATION if e != "1.0"])
def test_the_highest_common_version_is_chosen(stomp_broker, transport, command, accept,
                                               expected):
    r = raw(stomp_broker, transport)
    connected = r.connect(version=accept, command=command)
    assert connected.get("version", "1.0") == expected, connected
    # The connection works in that version: a receipt for a SUBSCRIBE.
    r.send_frame("SUBSCRIBE", {"destination": "/topic/" + uid("v"), "id": "s1", "receipt": "r1"})
    assert r.expect("RECEIPT")["receipt-id"] == "r1"


@over
def test_connect_without_accept_version_is_stomp_1_0(stomp_broker, transport):
    # STOMP 1.1 "Protocol Negotiation": no accept-version header means 1.0; a 1.0 CONNECTED
    # has no version header (RabbitMQ sends version:1.0).
    r = raw(stomp_broker, transport)
    connected = r.connect(version=None)
    assert connected.get("version", "1.0") == "1.0", connected


@over
def test_no_common_version_is_an_error_naming_the_supported_ones(stomp_broker, transport):
    r = raw(stomp_broker, transport)
    error = r.connect(version="2.0,3.1", expect="ERROR")
    supported = error.get("version", "")
    assert {"1.0", "1.1", "1.2"} <= set(supported.split(",")), error
    assert error.get("message") and error.body.strip(), error
    if closes_after_error(stomp_broker):
        assert r.wait_closed() == []


@versions
def test_connected_frame_confirms_the_version_through_stomp_py(stomp_broker, version):
    c = Client(stomp_broker, version)
    assert c.connected_frame.headers.get("version", "1.0") == version
    round_trip(c)


@over
def test_host_slash_is_the_default_vhost(stomp_broker, transport):
    r = raw(stomp_broker, transport)
    assert r.connect(host="/").get("version") == "1.2"


def test_connect_without_host_uses_the_default_vhost(stomp_broker):
    # 1.2 makes the host header REQUIRED, but RabbitMQ (and switchyard) take a missing one
    # as the default vhost "/", so that 1.0 clients and lax 1.1 clients work.
    c = Client(stomp_broker, "1.1", vhost=None)
    round_trip(c)


@over
def test_unknown_vhost_is_refused(stomp_broker, transport):
    r = raw(stomp_broker, transport)
    error = r.connect(host=uid("novhost"), expect="ERROR")
    assert error.get("message") and error.body.strip(), error
    if closes_after_error(stomp_broker):
        assert r.wait_closed() == []


def test_unknown_vhost_is_refused_through_stomp_py(stomp_broker):
    c = Client(stomp_broker, "1.2", vhost=uid("novhost"), expect_success=False)
    assert c.error is not None and c.error.cmd == "ERROR", c.error
    assert c.connected_frame is None


@versions
def test_guest_guest_is_accepted_on_loopback(stomp_broker, version):
    c = Client(stomp_broker, version, login="guest", passcode="guest")
    round_trip(c)


@over
@pytest.mark.parametrize("login,passcode", [("guest", "wrong"), ("nobody", "guest"),
                                            ("guest", "")])
def test_bad_credentials_are_refused_then_closed(stomp_broker, transport, login, passcode):
    r = raw(stomp_broker, transport)
    error = r.connect(login=login, passcode=passcode, expect="ERROR")
    assert error.get("message") and error.body.strip(), error
    if closes_after_error(stomp_broker):
        assert r.wait_closed() == []


@versions
def test_bad_passcode_is_refused_through_stomp_py(stomp_broker, version):
    c = Client(stomp_broker, version, login="guest", passcode="nope", expect_success=False)
    assert c.error is not None and c.error.headers.get("message"), c.error
    if closes_after_error(stomp_broker):
        c.wait_disconnected()


@versions
def test_no_login_is_accepted_as_anonymous_on_the_defaults(stomp_broker, version):
    # switchyard: anonymous on a loopback listener (ARCHITECTURE.md, Defaults); RabbitMQ:
    # a CONNECT without login uses stomp.default_user (guest).
    c = Client(stomp_broker, version)
    round_trip(c)


def test_other_clients_survive_a_refused_one(stomp_broker):
    ok = Client(stomp_broker)
    dest = "/topic/" + uid("survive")
    ok.subscribe(dest)
    bad = raw(stomp_broker)
    bad.connect(login="guest", passcode="bad", expect="ERROR")
    ok.send(dest, b"fine")
    assert ok.expect_message().body == b"fine"


@over
def test_frame_before_connect_is_an_error(stomp_broker, transport):
    r = raw(stomp_broker, transport)
    r.send_frame("SEND", {"destination": "/topic/" + uid("early")}, b"x")
    r.expect_error(closes=closes_after_error(stomp_broker))


# --- RECEIPT for DISCONNECT ------------------------------------------------------------------

@pytest.mark.parametrize("transport,version", [("tcp", v) for v in VERSIONS] + [("ws", "1.2")])
def test_disconnect_with_receipt_gets_the_receipt_then_the_close(stomp_broker, transport,
                                                                 version):
    r = raw(stomp_broker, transport)
    r.connect(version=version)
    r.send_frame("DISCONNECT", {"receipt": "bye-1"})
    if transport == "ws" and is_external(stomp_broker):
        # RabbitMQ 3.10's web-stomp closes the WebSocket on DISCONNECT without sending the
        # RECEIPT (its TCP listener sends it); switchyard sends it on both (STOMP 1.2
        # "DISCONNECT": the RECEIPT confirms everything before was processed).
        assert all(f.command == "RECEIPT" for f in r.wait_closed())
        return
    receipt = r.expect("RECEIPT")
    assert receipt["receipt-id"] == "bye-1"
    assert r.wait_closed() == []


@over
def test_disconnect_through_stomp_py(stomp_broker, transport):
    c = Client(stomp_broker, transport=transport)
    if transport == "ws" and is_external(stomp_broker):
        # RabbitMQ 3.10's web-stomp sends no RECEIPT for DISCONNECT (see above).
        c.conn.send_frame("DISCONNECT", {"receipt": "bye"})
        c.wait_disconnected()
        return
    receipt = c.disconnect()
    assert receipt.cmd == "RECEIPT"
    assert not c.connected


def test_disconnect_flushes_what_came_before(stomp_broker):
    # Everything sent before DISCONNECT is processed before its RECEIPT.
    sub = Client(stomp_broker)
    dest = "/queue/" + uid("flush")
    sub.subscribe(dest)
    pub = raw(stomp_broker)
    pub.connect()
    data = b"".join(frame("SEND", {"destination": dest}, b"%d" % i) for i in range(20))
    pub.send(data + b"DISCONNECT\nreceipt:last\n\n\x00")
    assert pub.expect("RECEIPT")["receipt-id"] == "last"
    got = sub.expect_messages(20)
    assert [m.body for m in got] == [b"%d" % i for i in range(20)]


# --- heart-beating ----------------------------------------------------------------------------
# switchyard's [stomp] heartbeat_ms is what it offers and asks for; the tests set it low and
# compute the negotiated intervals from the CONNECTED header (STOMP 1.2 "Heart-beating"), so
# they hold for any broker that answers a request for heart-beats.

HEARTBEAT_MS = 300
ASK_MS = 500


def negotiated(client_ms, server_ms):
    """The interval one side sends at: 0 when either side says 0, else the larger."""
    return 0 if client_ms == 0 or server_ms == 0 else max(client_ms, server_ms)


def hb_broker(make_stomp_broker):
    return make_stomp_broker(stomp={"heartbeat_ms": HEARTBEAT_MS})


@over
def test_server_sends_heart_beats_when_asked(make_stomp_broker, transport):
    broker = hb_broker(make_stomp_broker)
    r = raw(broker, transport)
    connected = r.connect(heart_beat=(0, ASK_MS))
    sx, sy = (int(v) for v in connected["heart-beat"].split(","))
    interval = negotiated(ASK_MS, sx) / 1000
    assert 0 < interval <= 5, f"server heart-beats every {interval} s: {connected}"
    # Three EOLs, each within the interval plus the tolerance a client should allow.
    last = time.monotonic()
    for _ in range(3):
        beat = r.recv(timeout=interval * 2 + 0.5, heartbeats=True)
        assert beat is not None and not hasattr(beat, "command"), f"a frame, not an EOL: {beat}"
        now = time.monotonic()
        assert now - last <= interval * 2 + 0.5, f"{now - last:.2f} s between heart-beats"
        last = now


def test_server_sends_no_heart_beats_unless_asked(make_stomp_broker):
    broker = hb_broker(make_stomp_broker)
    r = raw(broker)
    r.connect(heart_beat=(0, 0))
    r.expect_nothing(timeout=max(3 * HEARTBEAT_MS / 1000, 1.0))
    assert r.heartbeats_seen == [], "heart-beats sent to a client that asked for none"


def test_silent_client_that_promised_heart_beats_is_disconnected(make_stomp_broker):
    broker = hb_broker(make_stomp_broker)
    r = raw(broker)
    connected = r.connect(heart_beat=(ASK_MS, 0))
    sx, sy = (int(v) for v in connected["heart-beat"].split(","))
    interval = negotiated(ASK_MS, sy) / 1000
    assert 0 < interval <= 5, f"server expects heart-beats every {interval} s: {connected}"
    start = time.monotonic()
    frames = r.wait_closed(timeout=interval * 4 + 2)
    elapsed = time.monotonic() - start
    assert elapsed >= interval * 0.9, f"closed after {elapsed:.2f} s, before {interval} s"
    assert all(f.command == "ERROR" for f in frames), frames


def test_client_heart_beats_keep_the_connection_alive(make_stomp_broker):
    broker = hb_broker(make_stomp_broker)
    r = raw(broker)
    connected = r.connect(heart_beat=(ASK_MS, 0))
    sy = int(connected["heart-beat"].split(",")[1])
    interval = negotiated(ASK_MS, sy) / 1000
    assert 0 < interval <= 5, connected
    deadline = time.monotonic() + interval * 4
    while time.monotonic() < deadline:
        r.send(b"\n")
        time.sleep(interval / 3)  # pacing the client's heart-beats: the behaviour under test
    r.send_frame("SUBSCRIBE", {"destination": "/topic/" + uid("hb"), "id": "1",
                               "receipt": "alive"})
    assert r.expect("RECEIPT")["receipt-id"] == "alive"


@over
def test_heart_beats_both_ways_through_stomp_py(make_stomp_broker, transport):
    broker = hb_broker(make_stomp_broker)
    c = Client(broker, transport=transport, heartbeats=(ASK_MS, ASK_MS))
    sx, sy = (int(v) for v in c.connected_frame.headers["heart-beat"].split(","))
    assert sx > 0 and sy > 0, c.connected_frame.headers
    interval = negotiated(ASK_MS, sx) / 1000
    # stomp.py sends its own heart-beats on a thread and reports each one it receives.
    first = c.listener.heartbeats.get(timeout=interval * 2 + 1)
    second = c.listener.heartbeats.get(timeout=interval * 2 + 1)
    assert second > first
    assert c.connected
    round_trip(c)


def test_heart_beat_header_is_validated(stomp_broker):
    # STOMP 1.2: heart-beat is two comma-separated non-negative integers; anything else is
    # a malformed CONNECT (RabbitMQ: ERROR "Processing error").
    r = raw(stomp_broker)
    r.send(b"CONNECT\naccept-version:1.2\nhost:/\nheart-beat:soon,never\n\n\x00")
    r.expect_error(closes=closes_after_error(stomp_broker))


def test_connected_is_answered_with_nothing_else_first(stomp_broker):
    # The first frame from the server is CONNECTED, and a RECEIPT-less SUBSCRIBE gets no
    # answer at all.
    r = raw(stomp_broker)
    r.connect()
    r.send_frame("SUBSCRIBE", {"destination": "/topic/" + uid("quiet"), "id": "1"})
    r.expect_nothing(ABSENCE)
