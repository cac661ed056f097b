//! Byte-exact vectors from the specifications: STOMP 1.0, STOMP 1.1 and STOMP 1.2
//! (stomp.github.io), every example frame of each, written out with `^@` as `\0`.
//!
//! A vector is decoded and compared with the whole expected frame (so every header and
//! the body are asserted), every strict prefix of it must be "need more bytes", and the
//! expected frame must encode to the same bytes. Our encoder always writes
//! `content-length` for a non-empty body (as the spec's SHOULD says), and always the
//! blank line; where an example has a body without `content-length`, omits the blank
//! line, or puts `content-length` elsewhere, the example is decoded and the canonical
//! bytes are asserted beside it.
//!
//! Below the examples: the value encoding rules of 1.1 and 1.2 and CR LF line ends,
//! heart-beats between frames, negotiation, and the server frame builders.

use bytes::BytesMut;
use switchyard_stomp::{
    Command, ConnectedFrame, Decoder, ErrorFrame, Frame, Header, HeartBeat, HeartBeatIntervals,
    Item, Limits, MessageFrame, ReceiptFrame, Version, Versions,
};

use Version::{V1_0, V1_1, V1_2};

// ---------------------------------------------------------------------------------------
// Helpers

/// Decodes one whole frame from `wire`, checking the decoder's contract on the way:
/// every strict prefix is "need more bytes" and consumes nothing, and the whole vector
/// is consumed by exactly one frame.
#[track_caller]
fn decode(version: Option<Version>, wire: &[u8]) -> Frame {
    let new = || match version {
        Some(v) => Decoder::with_version(v, Limits::DEFAULT),
        None => Decoder::new(Limits::DEFAULT),
    };
    for cut in 0..wire.len() {
        let mut partial = BytesMut::from(&wire[..cut]);
        assert_eq!(
            new().decode(&mut partial),
            Ok(None),
            "prefix of {cut} bytes"
        );
        assert_eq!(partial.len(), cut, "a prefix of {cut} bytes was consumed");
    }
    let mut buf = BytesMut::from(wire);
    let item = new().decode(&mut buf).expect("vector must decode");
    assert!(buf.is_empty(), "{} bytes left after the frame", buf.len());
    match item {
        Some(Item::Frame(frame)) => frame,
        other => panic!("vector is not a frame: {other:?}"),
    }
}

fn encode(version: Version, frame: &Frame) -> Vec<u8> {
    let mut buf = BytesMut::new();
    frame.encode(version, &mut buf).expect("frame must encode");
    buf.to_vec()
}

/// The vector decodes to `expected`, and `expected` encodes to the vector.
#[track_caller]
fn vector(version: Version, wire: &[u8], expected: &Frame) {
    assert_eq!(&decode(Some(version), wire), expected, "decoded frame");
    assert_eq!(
        String::from_utf8_lossy(&encode(version, expected)),
        String::from_utf8_lossy(wire),
        "encoded bytes"
    );
}

/// A form the spec shows but our encoder does not write: `wire` decodes to `expected`,
/// which encodes to `canonical`, which decodes to `expected` again.
#[track_caller]
fn decode_vector(version: Version, wire: &[u8], expected: &Frame, canonical: &[u8]) {
    assert_eq!(&decode(Some(version), wire), expected, "decoded frame");
    vector(version, canonical, expected);
}

fn frame(command: Command, headers: &[(&'static str, &'static str)]) -> Frame {
    Frame {
        command,
        headers: headers
            .iter()
            .map(|&(n, v)| Header::from_static(n, v))
            .collect(),
        body: bytes::Bytes::new(),
    }
}

fn with_body(mut frame: Frame, body: &'static [u8]) -> Frame {
    frame.body = bytes::Bytes::from_static(body);
    frame
}

// ---------------------------------------------------------------------------------------
// STOMP 1.2

/// 1.2 "Connecting": CONNECT, with the CONNECTED that accepts it.
#[test]
fn v1_2_connecting() {
    let connect = frame(
        Command::Connect,
        &[("accept-version", "1.2"), ("host", "stomp.github.org")],
    );
    let wire = b"CONNECT\naccept-version:1.2\nhost:stomp.github.org\n\n\0";
    // A server reads CONNECT before any version is negotiated.
    assert_eq!(decode(None, wire), connect);
    vector(V1_2, wire, &connect);
    assert_eq!(connect.validate(V1_2), Ok(()));
    assert_eq!(
        Versions::ALL.negotiate(connect.accept_version().map(|v| &**v)),
        Some(V1_2)
    );

    let connected = frame(Command::Connected, &[("version", "1.2")]);
    let wire = b"CONNECTED\nversion:1.2\n\n\0";
    vector(V1_2, wire, &connected);
    let mut buf = BytesMut::new();
    ConnectedFrame {
        version: V1_2,
        heart_beat: None,
        session: None,
        server: None,
    }
    .encode(&mut buf)
    .unwrap();
    assert_eq!(&buf[..], wire);
}

/// 1.2 "Protocol Negotiation": a client accepting 1.0, 1.1 and 2.0 gets 1.1 from a
/// server without 1.2; a server sharing no version answers with this ERROR.
#[test]
fn v1_2_protocol_negotiation() {
    let connect = decode(
        None,
        b"CONNECT\naccept-version:1.0,1.1,2.0\nhost:stomp.github.org\n\n\0",
    );
    let accept = connect.accept_version().map(|v| &**v);
    assert_eq!(accept, Some("1.0,1.1,2.0"));
    assert_eq!(Versions::new(&[V1_0, V1_1]).negotiate(accept), Some(V1_1));
    let mut buf = BytesMut::new();
    ConnectedFrame {
        version: V1_1,
        heart_beat: None,
        session: None,
        server: None,
    }
    .encode(&mut buf)
    .unwrap();
    assert_eq!(&buf[..], b"CONNECTED\nversion:1.1\n\n\0");

    let error = with_body(
        frame(
            Command::Error,
            &[("version", "1.2,2.1"), ("content-type", "text/plain")],
        ),
        b"Supported protocol versions are 1.2 2.1",
    );
    decode_vector(
        V1_2,
        b"ERROR\nversion:1.2,2.1\ncontent-type:text/plain\n\nSupported protocol versions are 1.2 2.1\0",
        &error,
        b"ERROR\nversion:1.2,2.1\ncontent-type:text/plain\ncontent-length:39\n\nSupported protocol versions are 1.2 2.1\0",
    );
    assert_eq!(Versions::from(V1_2).negotiate(Some("1.0,1.1")), None);
}

/// 1.2 "Header receipt": a SEND asking for a receipt.
#[test]
fn v1_2_send_with_receipt() {
    let send = with_body(
        frame(
            Command::Send,
            &[("destination", "/queue/a"), ("receipt", "message-12345")],
        ),
        b"hello queue a",
    );
    decode_vector(
        V1_2,
        b"SEND\ndestination:/queue/a\nreceipt:message-12345\n\nhello queue a\0",
        &send,
        b"SEND\ndestination:/queue/a\nreceipt:message-12345\ncontent-length:13\n\nhello queue a\0",
    );
    assert_eq!(send.receipt().unwrap(), "message-12345");
    let mut buf = BytesMut::new();
    ReceiptFrame {
        receipt_id: "message-12345",
    }
    .encode(V1_2, &mut buf)
    .unwrap();
    // 1.2 "RECEIPT".
    vector(
        V1_2,
        &buf,
        &frame(Command::Receipt, &[("receipt-id", "message-12345")]),
    );
    assert_eq!(&buf[..], b"RECEIPT\nreceipt-id:message-12345\n\n\0");
}

/// 1.2 "Repeated Header Entries": the value of `foo` is just `World`.
#[test]
fn v1_2_repeated_header_entries() {
    let message = frame(Command::Message, &[("foo", "World"), ("foo", "Hello")]);
    vector(V1_2, b"MESSAGE\nfoo:World\nfoo:Hello\n\n\0", &message);
    assert_eq!(message.header("foo").unwrap(), "World");
    assert_eq!(
        message.headers.get_all("foo").collect::<Vec<_>>(),
        ["World", "Hello"]
    );
}

/// 1.2 "SEND": a body ending with a newline before the NUL.
#[test]
fn v1_2_send() {
    let send = with_body(
        frame(
            Command::Send,
            &[("destination", "/queue/a"), ("content-type", "text/plain")],
        ),
        b"hello queue a\n",
    );
    decode_vector(
        V1_2,
        b"SEND\ndestination:/queue/a\ncontent-type:text/plain\n\nhello queue a\n\0",
        &send,
        b"SEND\ndestination:/queue/a\ncontent-type:text/plain\ncontent-length:14\n\nhello queue a\n\0",
    );
    assert_eq!(send.content_type().unwrap(), "text/plain");
    assert_eq!(send.validate(V1_2), Ok(()));
}

/// 1.2 "SUBSCRIBE", "UNSUBSCRIBE", "ACK", "BEGIN", "COMMIT", "ABORT": frames without
/// body, which our encoder writes exactly as the spec does.
#[test]
fn v1_2_client_frames_without_body() {
    let cases: [(&[u8], Frame); 6] = [
        (
            b"SUBSCRIBE\nid:0\ndestination:/queue/foo\nack:client\n\n\0",
            frame(
                Command::Subscribe,
                &[
                    ("id", "0"),
                    ("destination", "/queue/foo"),
                    ("ack", "client"),
                ],
            ),
        ),
        (
            b"UNSUBSCRIBE\nid:0\n\n\0",
            frame(Command::Unsubscribe, &[("id", "0")]),
        ),
        (
            b"ACK\nid:12345\ntransaction:tx1\n\n\0",
            frame(Command::Ack, &[("id", "12345"), ("transaction", "tx1")]),
        ),
        (
            b"BEGIN\ntransaction:tx1\n\n\0",
            frame(Command::Begin, &[("transaction", "tx1")]),
        ),
        (
            b"COMMIT\ntransaction:tx1\n\n\0",
            frame(Command::Commit, &[("transaction", "tx1")]),
        ),
        (
            b"ABORT\ntransaction:tx1\n\n\0",
            frame(Command::Abort, &[("transaction", "tx1")]),
        ),
    ];
    for (wire, expected) in cases {
        vector(V1_2, wire, &expected);
        assert_eq!(expected.validate(V1_2), Ok(()), "{:?}", expected.command);
    }
    let subscribe = decode(
        Some(V1_2),
        b"SUBSCRIBE\nid:0\ndestination:/queue/foo\nack:client\n\n\0",
    );
    assert_eq!(subscribe.ack_mode(), Ok(switchyard_stomp::AckMode::Client));
}

/// 1.2 "DISCONNECT" and its "RECEIPT", printed without the blank line after the
/// headers: read as frames without body.
#[test]
fn v1_2_disconnect_and_receipt_without_blank_line() {
    let disconnect = frame(Command::Disconnect, &[("receipt", "77")]);
    decode_vector(
        V1_2,
        b"DISCONNECT\nreceipt:77\n\0",
        &disconnect,
        b"DISCONNECT\nreceipt:77\n\n\0",
    );
    let receipt = frame(Command::Receipt, &[("receipt-id", "77")]);
    decode_vector(
        V1_2,
        b"RECEIPT\nreceipt-id:77\n\0",
        &receipt,
        b"RECEIPT\nreceipt-id:77\n\n\0",
    );
}

/// 1.2 "MESSAGE", and the same frame from the MESSAGE builder.
#[test]
fn v1_2_message() {
    let message = with_body(
        frame(
            Command::Message,
            &[
                ("subscription", "0"),
                ("message-id", "007"),
                ("destination", "/queue/a"),
                ("content-type", "text/plain"),
            ],
        ),
        b"hello queue a",
    );
    decode_vector(
        V1_2,
        b"MESSAGE\nsubscription:0\nmessage-id:007\ndestination:/queue/a\ncontent-type:text/plain\n\nhello queue a\0",
        &message,
        b"MESSAGE\nsubscription:0\nmessage-id:007\ndestination:/queue/a\ncontent-type:text/plain\ncontent-length:13\n\nhello queue a\0",
    );
    assert_eq!(message.validate(V1_2), Ok(()));
    let mut buf = BytesMut::new();
    MessageFrame {
        destination: "/queue/a",
        message_id: "007",
        subscription: "0",
        ack: None,
        headers: &[Header::from_static("content-type", "text/plain")],
        body: b"hello queue a",
    }
    .encode(V1_2, &mut buf)
    .unwrap();
    assert_eq!(
        &buf[..],
        b"MESSAGE\ndestination:/queue/a\nmessage-id:007\nsubscription:0\ncontent-type:text/plain\ncontent-length:13\n\nhello queue a\0"
    );
    let built = decode(Some(V1_2), &buf);
    assert_eq!(
        (
            built.destination(),
            built.message_id(),
            built.subscription(),
            &built.body
        ),
        (
            message.destination(),
            message.message_id(),
            message.subscription(),
            &message.body
        )
    );
}

const V1_2_ERROR_BODY: &[u8] = b"The message:\n-----\nMESSAGE\ndestined:/queue/a\nreceipt:message-12345\n\nHello queue a!\n-----\nDid not contain a destination header, which is REQUIRED\nfor message propagation.\n";

/// 1.2 "ERROR": `content-length` (170, exact) between other headers, and a body that
/// holds a blank line of its own.
#[test]
fn v1_2_error() {
    let error = with_body(
        frame(
            Command::Error,
            &[
                ("receipt-id", "message-12345"),
                ("content-type", "text/plain"),
                ("message", "malformed frame received"),
            ],
        ),
        V1_2_ERROR_BODY,
    );
    let mut wire = b"ERROR\nreceipt-id:message-12345\ncontent-type:text/plain\ncontent-length:170\nmessage:malformed frame received\n\n".to_vec();
    wire.extend_from_slice(V1_2_ERROR_BODY);
    wire.push(0);
    let mut canonical = b"ERROR\nreceipt-id:message-12345\ncontent-type:text/plain\nmessage:malformed frame received\ncontent-length:170\n\n".to_vec();
    canonical.extend_from_slice(V1_2_ERROR_BODY);
    canonical.push(0);
    decode_vector(V1_2, &wire, &error, &canonical);
    assert_eq!(error.message().unwrap(), "malformed frame received");
    assert_eq!(error.content_length(), Some(170));

    let mut buf = BytesMut::new();
    ErrorFrame {
        message: "malformed frame received",
        receipt_id: Some("message-12345"),
        content_type: Some("text/plain"),
        headers: &[],
        body: V1_2_ERROR_BODY,
    }
    .encode(V1_2, &mut buf)
    .unwrap();
    let built = decode(Some(V1_2), &buf);
    assert_eq!(built.body, error.body);
    assert_eq!(built.receipt_id(), error.receipt_id());
}

// ---------------------------------------------------------------------------------------
// STOMP 1.1

/// 1.1 "Connecting" and "Protocol Negotiation".
#[test]
fn v1_1_connecting() {
    vector(
        V1_1,
        b"CONNECT\naccept-version:1.1\nhost:stomp.github.org\n\n\0",
        &frame(
            Command::Connect,
            &[("accept-version", "1.1"), ("host", "stomp.github.org")],
        ),
    );
    vector(
        V1_1,
        b"CONNECTED\nversion:1.1\n\n\0",
        &frame(Command::Connected, &[("version", "1.1")]),
    );
}

/// 1.1 "ACK": `subscription` and `message-id` (1.2 has `id` instead).
#[test]
fn v1_1_ack() {
    let ack = frame(
        Command::Ack,
        &[
            ("subscription", "0"),
            ("message-id", "007"),
            ("transaction", "tx1"),
        ],
    );
    vector(
        V1_1,
        b"ACK\nsubscription:0\nmessage-id:007\ntransaction:tx1\n\n\0",
        &ack,
    );
    assert_eq!(ack.validate(V1_1), Ok(()));
    assert!(ack.validate(V1_2).is_err());
}

const V1_1_ERROR_BODY: &[u8] = b"The message:\n-----\nMESSAGE\ndestined:/queue/a\nreceipt:message-12345\n\n\nHello queue a!\n-----\nDid not contain a destination header, which is REQUIRED\nfor message propagation.\n";

/// 1.1 "ERROR": `content-length:171`, and a `message` value with a leading space,
/// which 1.1 MUST NOT trim.
#[test]
fn v1_1_error_keeps_padding() {
    let error = with_body(
        frame(
            Command::Error,
            &[
                ("receipt-id", "message-12345"),
                ("content-type", "text/plain"),
                ("message", " malformed frame received"),
            ],
        ),
        V1_1_ERROR_BODY,
    );
    let mut wire = b"ERROR\nreceipt-id:message-12345\ncontent-type:text/plain\ncontent-length:171\nmessage: malformed frame received\n\n".to_vec();
    wire.extend_from_slice(V1_1_ERROR_BODY);
    wire.push(0);
    assert_eq!(decode(Some(V1_1), &wire), error);
    assert_eq!(decode(Some(V1_1), &encode(V1_1, &error)), error);
}

// ---------------------------------------------------------------------------------------
// STOMP 1.0

/// 1.0: every example of the spec. Padded values are kept as they are (only
/// `content-length` is read with padding).
#[test]
fn v1_0_examples() {
    let cases: [(&[u8], Frame); 10] = [
        (
            b"CONNECT\nlogin: <username>\npasscode:<passcode>\n\n\0",
            frame(
                Command::Connect,
                &[("login", " <username>"), ("passcode", "<passcode>")],
            ),
        ),
        (
            b"CONNECTED\nsession: <session-id>\n\n\0",
            frame(Command::Connected, &[("session", " <session-id>")]),
        ),
        (
            b"SUBSCRIBE\ndestination: /queue/foo\nack: client\n\n\0",
            frame(
                Command::Subscribe,
                &[("destination", " /queue/foo"), ("ack", " client")],
            ),
        ),
        (
            b"UNSUBSCRIBE\ndestination: /queue/a\n\n\0",
            frame(Command::Unsubscribe, &[("destination", " /queue/a")]),
        ),
        (
            b"BEGIN\ntransaction: <transaction-identifier>\n\n\0",
            frame(
                Command::Begin,
                &[("transaction", " <transaction-identifier>")],
            ),
        ),
        (
            b"COMMIT\ntransaction: <transaction-identifier>\n\n\0",
            frame(
                Command::Commit,
                &[("transaction", " <transaction-identifier>")],
            ),
        ),
        (
            b"ACK\nmessage-id: <message-identifier>\ntransaction: <transaction-identifier>\n\n\0",
            frame(
                Command::Ack,
                &[
                    ("message-id", " <message-identifier>"),
                    ("transaction", " <transaction-identifier>"),
                ],
            ),
        ),
        (
            b"ABORT\ntransaction: <transaction-identifier>\n\n\0",
            frame(
                Command::Abort,
                &[("transaction", " <transaction-identifier>")],
            ),
        ),
        (b"DISCONNECT\n\n\0", frame(Command::Disconnect, &[])),
        (
            b"RECEIPT\nreceipt-id:message-12345\n\n\0",
            frame(Command::Receipt, &[("receipt-id", "message-12345")]),
        ),
    ];
    for (wire, expected) in cases {
        vector(V1_0, wire, &expected);
        assert_eq!(expected.validate(V1_0), Ok(()), "{:?}", expected.command);
    }
    assert_eq!(
        decode(
            None,
            b"CONNECT\nlogin: <username>\npasscode:<passcode>\n\n\0"
        )
        .login()
        .unwrap(),
        " <username>"
    );
}

/// 1.0 frames with bodies and no `content-length`: the body ends at the first NUL.
#[test]
fn v1_0_bodies() {
    decode_vector(
        V1_0,
        b"SEND\ndestination:/queue/a\n\nhello queue a\n\0",
        &with_body(
            frame(Command::Send, &[("destination", "/queue/a")]),
            b"hello queue a\n",
        ),
        b"SEND\ndestination:/queue/a\ncontent-length:14\n\nhello queue a\n\0",
    );
    decode_vector(
        V1_0,
        b"SEND\ndestination:/queue/a\nreceipt:message-12345\n\nHello a!\0",
        &with_body(
            frame(
                Command::Send,
                &[("destination", "/queue/a"), ("receipt", "message-12345")],
            ),
            b"Hello a!",
        ),
        b"SEND\ndestination:/queue/a\nreceipt:message-12345\ncontent-length:8\n\nHello a!\0",
    );
    decode_vector(
        V1_0,
        b"MESSAGE\ndestination:/queue/a\nmessage-id: <message-identifier>\n\nhello queue a\0",
        &with_body(
            frame(
                Command::Message,
                &[("destination", "/queue/a"), ("message-id", " <message-identifier>")],
            ),
            b"hello queue a",
        ),
        b"MESSAGE\ndestination:/queue/a\nmessage-id: <message-identifier>\ncontent-length:13\n\nhello queue a\0",
    );
    let body: &[u8] = b"The message:\n-----\nMESSAGE\ndestined:/queue/a\n\nHello queue a!\n-----\nDid not contain a destination header, which is required \nfor message propagation.\n";
    let mut wire = b"ERROR\nmessage: malformed packet received\n\n".to_vec();
    wire.extend_from_slice(body);
    wire.push(0);
    let error = decode(Some(V1_0), &wire);
    assert_eq!(error.message().unwrap(), " malformed packet received");
    assert_eq!(&error.body[..], body);
    assert_eq!(decode(Some(V1_0), &encode(V1_0, &error)), error);
}

// ---------------------------------------------------------------------------------------
// Value encoding, line ends, heart-beats

/// 1.2 "Value Encoding": `\r`, `\n`, `\c`, `\\`; 1.1 has the last three. The encoder
/// writes them back; STOMP 1.0 writes raw text.
#[test]
fn value_encoding() {
    let expected = frame(Command::Message, &[("a:b", "1\n2\\3:4\r")]);
    vector(V1_2, b"MESSAGE\na\\cb:1\\n2\\\\3\\c4\\r\n\n\0", &expected);
    let expected = frame(Command::Message, &[("a:b", "1\n2\\3:4")]);
    vector(V1_1, b"MESSAGE\na\\cb:1\\n2\\\\3\\c4\n\n\0", &expected);
    // STOMP 1.0: a colon in a value needs no escape, a backslash is a backslash.
    let expected = frame(Command::Message, &[("ab", "1:2\\n")]);
    vector(V1_0, b"MESSAGE\nab:1:2\\n\n\n\0", &expected);
    // CONNECT and CONNECTED are never escaped, in any version.
    let expected = frame(Command::Connect, &[("passcode", "a\\cb")]);
    vector(V1_2, b"CONNECT\npasscode:a\\cb\n\n\0", &expected);
}

/// 1.2 "STOMP Frames": lines may end with CR LF, and EOLs may follow a frame's NUL;
/// each EOL between frames is a heart-beat item.
#[test]
fn crlf_and_heart_beats() {
    let wire: &[u8] =
        b"\r\n\nSEND\r\ndestination:/queue/a\r\ncontent-length:5\r\n\r\nhel\0o\0\r\n\n";
    for version in [None, Some(V1_0), Some(V1_1), Some(V1_2)] {
        let mut d = match version {
            Some(v) => Decoder::with_version(v, Limits::DEFAULT),
            None => Decoder::new(Limits::DEFAULT),
        };
        let mut buf = BytesMut::from(wire);
        let mut items = Vec::new();
        while let Some(item) = d.decode(&mut buf).unwrap() {
            items.push(item);
        }
        assert!(buf.is_empty());
        let send = with_body(
            frame(Command::Send, &[("destination", "/queue/a")]),
            b"hel\0o",
        );
        assert_eq!(
            items,
            [
                Item::HeartBeat,
                Item::HeartBeat,
                Item::Frame(send),
                Item::HeartBeat,
                Item::HeartBeat
            ],
            "{version:?}"
        );
    }
    // STOMP (1.2 "CONNECT or STOMP Frame") is a CONNECT.
    let stomp = decode(None, b"STOMP\r\naccept-version:1.2\r\nhost:h\r\n\r\n\0");
    assert_eq!(
        stomp,
        frame(Command::Stomp, &[("accept-version", "1.2"), ("host", "h")])
    );
}

/// 1.2 "Heart-beating": the intervals from CONNECT's and CONNECTED's headers.
#[test]
fn heart_beating() {
    let connect = decode(
        None,
        b"CONNECT\naccept-version:1.2\nhost:h\nheart-beat:5000,10000\n\n\0",
    );
    let client = connect.heart_beat().unwrap();
    let server = HeartBeat::new(8000, 4000);
    assert_eq!(
        HeartBeat::negotiate(client, server),
        HeartBeatIntervals {
            client_to_server: Some(std::time::Duration::from_millis(5000)),
            server_to_client: Some(std::time::Duration::from_millis(10_000)),
        }
    );
    let mut buf = BytesMut::new();
    ConnectedFrame {
        version: V1_2,
        heart_beat: Some(server),
        session: None,
        server: None,
    }
    .encode(&mut buf)
    .unwrap();
    assert_eq!(
        &buf[..],
        b"CONNECTED\nversion:1.2\nheart-beat:8000,4000\n\n\0"
    );
    // No header means 0,0.
    let connect = decode(None, b"CONNECT\n\n\0");
    assert_eq!(
        HeartBeat::negotiate(connect.heart_beat().unwrap(), server),
        HeartBeatIntervals::default()
    );
}
