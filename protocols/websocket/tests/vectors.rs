//! Byte-exact vectors from RFC 6455: the opening handshake of section 1.3 and the frames
//! of section 5.7, written out by hand. A frame vector is decoded (every strict prefix
//! must be "need more bytes" and consume nothing) and compared with the whole expected
//! message, and our encoder must write the same bytes.

use std::num::NonZeroUsize;

use bytes::{Bytes, BytesMut};
use switchyard_websocket::{
    ClientEncoder, CloseCode, Encoder, Frame, FrameDecoder, Message, MessageDecoder, OpCode,
    RequestDecoder, Role, Status, accept_key, write_frame,
};

/// Decodes one whole message from `wire` with a decoder of `role`, checking that every
/// strict prefix is "need more bytes" and that the vector is consumed exactly.
fn decode(role: Role, wire: &[u8]) -> Message {
    let prefixes = if wire.len() > 1024 { 12 } else { wire.len() };
    for cut in 0..prefixes {
        let mut partial = BytesMut::from(&wire[..cut]);
        let mut decoder = MessageDecoder::new(role, 1 << 20);
        assert_eq!(
            decoder.decode(&mut partial),
            Ok(None),
            "prefix of {cut} bytes"
        );
    }
    let mut decoder = MessageDecoder::new(role, 1 << 20);
    let mut buf = BytesMut::from(wire);
    let message = decoder.decode(&mut buf).unwrap().expect("a whole message");
    assert!(buf.is_empty(), "{} bytes left", buf.len());
    message
}

const HELLO: Bytes = Bytes::from_static(b"Hello");

// ---------------------------------------------------------------------------------------
// Section 1.3: the opening handshake

const RFC_REQUEST: &[u8] = b"GET /chat HTTP/1.1\r\n\
    Host: server.example.com\r\n\
    Upgrade: websocket\r\n\
    Connection: Upgrade\r\n\
    Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
    Origin: http://example.com\r\n\
    Sec-WebSocket-Protocol: chat, superchat\r\n\
    Sec-WebSocket-Version: 13\r\n\
    \r\n";

const RFC_RESPONSE: &[u8] = b"HTTP/1.1 101 Switching Protocols\r\n\
    Upgrade: websocket\r\n\
    Connection: Upgrade\r\n\
    Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\
    Sec-WebSocket-Protocol: chat\r\n\
    \r\n";

#[test]
fn section_1_3_handshake() {
    let mut buf = BytesMut::from(RFC_REQUEST);
    let request = RequestDecoder::default().decode(&mut buf).unwrap().unwrap();
    assert!(buf.is_empty());
    assert_eq!(request.path(), "/chat");
    assert_eq!(request.query(), None);
    assert_eq!(request.host(), "server.example.com");
    assert_eq!(request.key(), "dGhlIHNhbXBsZSBub25jZQ==");
    assert_eq!(request.origin(), Some("http://example.com"));
    assert_eq!(request.protocols(), ["chat", "superchat"]);
    assert_eq!(request.accept_key(), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    assert_eq!(
        accept_key("dGhlIHNhbXBsZSBub25jZQ=="),
        "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
    );

    let protocol = request.choose_subprotocol(&["superchat", "chat"]);
    assert_eq!(protocol, Some("chat"), "the client's order wins");
    let mut response = BytesMut::new();
    request.write_accept(protocol, &mut response).unwrap();
    assert_eq!(&response[..], RFC_RESPONSE);

    let mut response = BytesMut::new();
    request.write_accept(None, &mut response).unwrap();
    assert_eq!(
        &response[..],
        &b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
           Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n"[..]
    );
}

#[test]
fn section_1_3_request_with_pipelined_frame() {
    let mut buf = BytesMut::from(RFC_REQUEST);
    buf.extend_from_slice(b"\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58");
    let mut decoder = RequestDecoder::default();
    for cut in 0..RFC_REQUEST.len() {
        let mut partial = BytesMut::from(&RFC_REQUEST[..cut]);
        assert_eq!(
            decoder.decode(&mut partial),
            Ok(None),
            "prefix of {cut} bytes"
        );
        assert_eq!(partial.len(), cut);
    }
    assert!(decoder.decode(&mut buf).unwrap().is_some());
    assert_eq!(decode(Role::Server, &buf), Message::Text(HELLO));
}

#[test]
fn error_responses() {
    let cases: &[(Status, &[u8])] = &[
        (
            Status::BadRequest,
            b"HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\
              Content-Type: text/plain; charset=utf-8\r\nContent-Length: 12\r\n\r\nBad Request\n",
        ),
        (
            Status::NotFound,
            b"HTTP/1.1 404 Not Found\r\nConnection: close\r\n\
              Content-Type: text/plain; charset=utf-8\r\nContent-Length: 10\r\n\r\nNot Found\n",
        ),
        (
            Status::UpgradeRequired,
            b"HTTP/1.1 426 Upgrade Required\r\nUpgrade: websocket\r\n\
              Connection: Upgrade, close\r\nSec-WebSocket-Version: 13\r\n\
              Content-Type: text/plain; charset=utf-8\r\nContent-Length: 17\r\n\r\nUpgrade Required\n",
        ),
    ];
    for &(status, expected) in cases {
        let mut dst = BytesMut::new();
        status.write_response(&mut dst);
        assert_eq!(&dst[..], expected, "{status:?}");
    }
}

// ---------------------------------------------------------------------------------------
// Section 5.7: frames

/// "A single-frame unmasked text message (contains "Hello")".
#[test]
fn unmasked_text() {
    let wire = b"\x81\x05\x48\x65\x6c\x6c\x6f";
    assert_eq!(decode(Role::Client, wire), Message::Text(HELLO));
    let mut out = BytesMut::new();
    Encoder::new().text("Hello", &mut out);
    assert_eq!(&out[..], wire);
    // The same frame from a client is refused: it is not masked.
    let mut buf = BytesMut::from(&wire[..]);
    assert!(MessageDecoder::server(1024).decode(&mut buf).is_err());
}

/// "A single-frame masked text message (contains "Hello")".
#[test]
fn masked_text() {
    let wire = b"\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58";
    assert_eq!(decode(Role::Server, wire), Message::Text(HELLO));
    let mut out = BytesMut::new();
    write_frame(
        &mut out,
        true,
        OpCode::Text,
        b"Hello",
        Some([0x37, 0xfa, 0x21, 0x3d]),
    );
    assert_eq!(&out[..], wire);
    let mut frames = FrameDecoder::new(Role::Server, 125);
    let frame = frames.decode(&mut BytesMut::from(&wire[..])).unwrap();
    let expected = Frame {
        fin: true,
        opcode: OpCode::Text,
        payload: HELLO,
    };
    assert_eq!(frame, Some(expected));
}

/// "A fragmented unmasked text message": "Hel", then "lo".
#[test]
fn fragmented_unmasked_text() {
    let wire = b"\x01\x03\x48\x65\x6c\x80\x02\x6c\x6f";
    assert_eq!(decode(Role::Client, wire), Message::Text(HELLO));
    let mut out = BytesMut::new();
    Encoder::fragmented(NonZeroUsize::new(3).unwrap()).text("Hello", &mut out);
    assert_eq!(&out[..], wire);
}

/// "Unmasked Ping request and masked Ping response": the RFC's response is a Pong.
#[test]
fn ping_and_masked_pong() {
    let ping = b"\x89\x05\x48\x65\x6c\x6c\x6f";
    assert_eq!(decode(Role::Client, ping), Message::Ping(HELLO));
    let mut out = BytesMut::new();
    Encoder::new().ping(b"Hello", &mut out).unwrap();
    assert_eq!(&out[..], ping);

    let pong = b"\x8a\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58";
    assert_eq!(decode(Role::Server, pong), Message::Pong(HELLO));
    let mut out = BytesMut::new();
    write_frame(
        &mut out,
        true,
        OpCode::Pong,
        b"Hello",
        Some([0x37, 0xfa, 0x21, 0x3d]),
    );
    assert_eq!(&out[..], pong);
}

/// "256 bytes binary message in a single unmasked frame": 16-bit length.
#[test]
fn binary_256_bytes() {
    let payload: Vec<u8> = (0..=255).collect();
    let mut wire = b"\x82\x7E\x01\x00".to_vec();
    wire.extend_from_slice(&payload);
    assert_eq!(
        decode(Role::Client, &wire),
        Message::Binary(payload.clone().into())
    );
    let mut out = BytesMut::new();
    Encoder::new().binary(&payload, &mut out);
    assert_eq!(&out[..], &wire[..]);
}

/// "64KiB binary message in a single unmasked frame": 64-bit length.
#[test]
fn binary_64_kib() {
    let payload: Vec<u8> = (0..65_536u32).map(|i| (i % 251) as u8).collect();
    let mut wire = b"\x82\x7F\x00\x00\x00\x00\x00\x01\x00\x00".to_vec();
    wire.extend_from_slice(&payload);
    assert_eq!(
        decode(Role::Client, &wire),
        Message::Binary(payload.clone().into())
    );
    let mut out = BytesMut::new();
    Encoder::new().binary(&payload, &mut out);
    assert_eq!(&out[..], &wire[..]);
    // The same from a client, masked, with the 64-bit length.
    let mut masked = BytesMut::new();
    ClientEncoder::new(5).binary(&payload, &mut masked);
    assert_eq!(&masked[..2], b"\x82\xFF");
    assert_eq!(
        decode(Role::Server, &masked),
        Message::Binary(payload.into())
    );
}

/// Section 5.5.1: a Close body is a code in network byte order, then a UTF-8 reason.
#[test]
fn close_frames() {
    let wire = b"\x88\x05\x03\xE8bye";
    let expected = Message::Close {
        code: Some(CloseCode::NORMAL_CLOSURE),
        reason: Bytes::from_static(b"bye"),
    };
    assert_eq!(decode(Role::Client, wire), expected);
    let mut out = BytesMut::new();
    Encoder::new()
        .close(Some(CloseCode::NORMAL_CLOSURE), "bye", &mut out)
        .unwrap();
    assert_eq!(&out[..], wire);

    let empty = b"\x88\x80\x01\x02\x03\x04";
    let expected = Message::Close {
        code: None,
        reason: Bytes::new(),
    };
    assert_eq!(decode(Role::Server, empty), expected);
}
