"""STOMP over WebSocket (switchyard: ws://host:ws_port/stomp; RabbitMQ's web-stomp: /ws):
the subprotocol handshake, the path, and STOMP framing independent of WebSocket message
boundaries. The STOMP behaviour itself is tested over both transports in the other
test_stomp_*.py files."""

import pytest
import websocket

from stomp_support import Client, frame, raw, uid, ws_url


@pytest.mark.parametrize("offered,chosen", [
    (("v10.stomp", "v11.stomp", "v12.stomp"), "v12.stomp"),
    (("v12.stomp",), "v12.stomp"),
    (("mqtt", "v12.stomp"), "v12.stomp"),
])
def test_subprotocol_is_negotiated(stomp_broker, offered, chosen):
    # RFC 6455 lets the server pick among the offered subprotocols; like RabbitMQ's
    # web-stomp, the highest STOMP version offered wins, whatever the client's order.
    r = raw(stomp_broker, "ws", subprotocols=offered)
    assert r.subprotocol == chosen
    assert r.connect().get("version") == "1.2"


def test_no_subprotocol_is_still_stomp(stomp_broker):
    # As RabbitMQ's web-stomp: a client that offers no subprotocol gets STOMP on the STOMP
    # path.
    r = raw(stomp_broker, "ws", subprotocols=())
    assert r.subprotocol is None
    assert r.connect().get("version") == "1.2"


def test_stomp_py_over_websocket_gets_v12_stomp(stomp_broker):
    c = Client(stomp_broker, transport="ws")
    headers = c.conn.transport.socket.getheaders()
    assert headers.get("sec-websocket-protocol") == "v12.stomp", headers


def test_another_path_is_refused(stomp_broker):
    base = ws_url(stomp_broker).rsplit("/", 1)[0]
    with pytest.raises(websocket.WebSocketBadStatusException) as info:
        websocket.create_connection(f"{base}/{uid('nope')}", subprotocols=["v12.stomp"],
                                    timeout=5)
    assert info.value.status_code in (400, 404), info.value


def test_two_frames_in_one_websocket_message(stomp_broker):
    dest = "/topic/" + uid("two")
    r = raw(stomp_broker, "ws")
    r.connect()
    r.send(frame("SUBSCRIBE", {"destination": dest, "id": "1"})
           + frame("SEND", {"destination": dest, "receipt": "sent"}, b"together"))
    got = {f.command: f for f in (r.recv(), r.recv())}
    assert got["MESSAGE"].body == b"together"
    assert got["RECEIPT"]["receipt-id"] == "sent"


def test_one_frame_across_websocket_messages(stomp_broker):
    dest = "/topic/" + uid("split")
    r = raw(stomp_broker, "ws")
    r.connect()
    r.send_frame("SUBSCRIBE", {"destination": dest, "id": "1", "receipt": "sub"})
    assert r.expect("RECEIPT")["receipt-id"] == "sub"
    data = frame("SEND", {"destination": dest, "receipt": "sent"}, b"in pieces")
    for piece in (data[:7], data[7:20], data[20:]):
        r.send(piece)
    got = {f.command: f for f in (r.recv(), r.recv())}
    assert got["MESSAGE"].body == b"in pieces"
    assert got["RECEIPT"]["receipt-id"] == "sent"


def test_websocket_and_tcp_clients_share_destinations(stomp_broker):
    dest = "/queue/" + uid("mix")
    ws_sub = Client(stomp_broker, transport="ws")
    ws_sub.subscribe(dest)
    tcp_sub = Client(stomp_broker)
    tcp_dest = "/topic/" + uid("mix")
    tcp_sub.subscribe(tcp_dest)
    Client(stomp_broker).send(dest, b"tcp to ws")
    Client(stomp_broker, transport="ws").send(tcp_dest, b"ws to tcp")
    assert ws_sub.expect_message().body == b"tcp to ws"
    assert tcp_sub.expect_message().body == b"ws to tcp"


def test_websocket_close_drops_unacked_for_redelivery(stomp_broker):
    # A WebSocket closed without DISCONNECT is a dead connection like a TCP one.
    dest = "/queue/" + uid("wsdead")
    holder = raw(stomp_broker, "ws")
    holder.connect()
    holder.send_frame("SUBSCRIBE", {"destination": dest, "id": "1", "ack": "client",
                                    "receipt": "sub"})
    holder.expect("RECEIPT")
    Client(stomp_broker).send(dest, b"held")
    assert holder.expect("MESSAGE").body == b"held"
    holder.ws.close()  # a WebSocket close frame, no STOMP DISCONNECT
    other = Client(stomp_broker)
    other.subscribe(dest, ack="client")
    m = other.expect_message()
    assert m.body == b"held"
    assert m.headers.get("redelivered") == "true"
