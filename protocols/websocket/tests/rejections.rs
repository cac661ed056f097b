//! One rejection per validation rule: a minimal input that breaks only that rule, the
//! exact error, and the close code or HTTP status it yields, one line per case (after
//! ntex-mqtt's `test_case` tables). Each line becomes its own `#[test]`.
//!
//! Frames: `server` decodes client frames (masked), `client` decodes server frames, and
//! both refuse messages over 64 bytes. Client frames in the table use the mask
//! `00 00 00 00`, so their payloads read as they are.
//!
//! Below the tables: the allowed counterparts of rules that look alike.

use bytes::{Bytes, BytesMut};
use switchyard_websocket::{
    CloseCode, Error, HandshakeError, Message, MessageDecoder, RequestDecoder,
};

use Error as E;
use HandshakeError as H;

const MAX_MESSAGE_SIZE: usize = 64;

fn server() -> MessageDecoder {
    MessageDecoder::server(MAX_MESSAGE_SIZE)
}

fn client() -> MessageDecoder {
    MessageDecoder::client(MAX_MESSAGE_SIZE)
}

/// Decodes `wire` to its end; expects the last result to be `error`, with `close_code`.
#[track_caller]
fn check(mut decoder: MessageDecoder, wire: &[u8], error: Error, close_code: u16) {
    let mut buf = BytesMut::from(wire);
    let result = loop {
        match decoder.decode(&mut buf) {
            Ok(Some(_)) => continue,
            other => break other,
        }
    };
    assert_eq!(result, Err(error));
    assert_eq!(
        error.close_code().get(),
        close_code,
        "close code of {error:?}"
    );
}

macro_rules! rejects {
    ($($name:ident: $decoder:ident, $wire:expr, $error:expr, $code:expr;)*) => {
        $(
            #[test]
            fn $name() {
                check($decoder(), $wire, $error, $code);
            }
        )*
    };
}

rejects! {
    // Section 5.2: RSV1-3 MUST be 0 unless an extension says otherwise (none is).
    rsv1: server, b"\xC1\x80\0\0\0\0", E::ReservedBits, 1002;
    rsv2: server, b"\xA1\x80\0\0\0\0", E::ReservedBits, 1002;
    rsv3: server, b"\x91\x80\0\0\0\0", E::ReservedBits, 1002;
    rsv_on_continuation: server, b"\x01\x80\0\0\0\0\xC0\x80\0\0\0\0", E::ReservedBits, 1002;
    // Section 5.2: reserved opcodes 0x3-0x7 and 0xB-0xF.
    opcode_3: server, b"\x83\x80\0\0\0\0", E::ReservedOpCode(0x3), 1002;
    opcode_7: server, b"\x87\x80\0\0\0\0", E::ReservedOpCode(0x7), 1002;
    opcode_b: server, b"\x8B\x80\0\0\0\0", E::ReservedOpCode(0xB), 1002;
    opcode_f: server, b"\x8F\x80\0\0\0\0", E::ReservedOpCode(0xF), 1002;
    // Section 5.1: client frames are masked, server frames are not.
    unmasked_client_frame: server, b"\x81\x05Hello", E::UnmaskedFrame, 1002;
    unmasked_client_ping: server, b"\x89\x00", E::UnmaskedFrame, 1002;
    masked_server_frame: client, b"\x81\x85\0\0\0\0Hello", E::MaskedFrame, 1002;
    // Section 5.2: "the minimal number of bytes MUST be used to encode the length";
    // a 64-bit length has its most significant bit 0.
    length_16_bit_not_minimal: server, b"\x82\xFE\x00\x7D\0\0\0\0", E::NonMinimalLength, 1002;
    length_64_bit_not_minimal: server, b"\x82\xFF\0\0\0\0\0\0\xFF\xFF\0\0\0\0", E::NonMinimalLength, 1002;
    length_64_bit_small: server, b"\x82\xFF\0\0\0\0\0\0\0\x05\0\0\0\0", E::NonMinimalLength, 1002;
    length_64_bit_msb: server, b"\x82\xFF\x80\0\0\0\0\0\0\0\0\0\0\0", E::LengthOverflow, 1002;
    // Section 5.5: control frames carry at most 125 bytes and are never fragmented.
    ping_126_bytes: server, b"\x89\xFE\x00\x7E", E::ControlFrameTooLong(126), 1002;
    close_127_length: server, b"\x88\xFF", E::ControlFrameTooLong(127), 1002;
    ping_without_fin: server, b"\x09\x80\0\0\0\0", E::FragmentedControlFrame, 1002;
    pong_without_fin: server, b"\x0A\x80\0\0\0\0", E::FragmentedControlFrame, 1002;
    close_without_fin: server, b"\x08\x80\0\0\0\0", E::FragmentedControlFrame, 1002;
    // Section 5.4: fragments of one message in order, not interleaved with another.
    continuation_first: server, b"\x80\x80\0\0\0\0", E::UnexpectedContinuation, 1002;
    continuation_after_message: server, b"\x81\x81\0\0\0\0a\x80\x80\0\0\0\0", E::UnexpectedContinuation, 1002;
    text_inside_fragmented_text: server, b"\x01\x81\0\0\0\0a\x81\x81\0\0\0\0b", E::ExpectedContinuation, 1002;
    binary_inside_fragmented_text: server, b"\x01\x81\0\0\0\0a\x02\x81\0\0\0\0b", E::ExpectedContinuation, 1002;
    // Section 7.4.1, 1009: the limit, checked from the header before the payload.
    message_too_big: server, b"\x82\xC1\0\0\0\0", E::MessageTooBig { size: 65, max: 64 }, 1009;
    message_too_big_16_bit: server, b"\x82\xFE\x01\x00\0\0\0\0", E::MessageTooBig { size: 256, max: 64 }, 1009;
    fragments_too_big: server, b"\x02\xA0\0\0\0\0aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\x80\xA1\0\0\0\0", E::MessageTooBig { size: 65, max: 64 }, 1009;
    // Section 8.1: text is UTF-8 (1007), checked fragment by fragment.
    text_not_utf8: server, b"\x81\x82\0\0\0\0\xC3\x28", E::InvalidUtf8, 1007;
    text_surrogate: server, b"\x81\x83\0\0\0\0\xED\xA0\x80", E::InvalidUtf8, 1007;
    text_overlong: server, b"\x81\x82\0\0\0\0\xC0\xAF", E::InvalidUtf8, 1007;
    fragment_not_utf8: server, b"\x01\x82\0\0\0\0\xFF\xFE", E::InvalidUtf8, 1007;
    text_ends_in_a_code_point: server, b"\x01\x81\0\0\0\0\xE2\x80\x81\0\0\0\0\x82", E::InvalidUtf8, 1007;
    // Section 5.5.1 and 7.4: a Close body is empty or a valid code and a UTF-8 reason.
    close_one_byte: server, b"\x88\x81\0\0\0\0\x03", E::InvalidClosePayload, 1002;
    close_code_0: server, b"\x88\x82\0\0\0\0\x00\x00", E::InvalidCloseCode(0), 1002;
    close_code_999: server, b"\x88\x82\0\0\0\0\x03\xE7", E::InvalidCloseCode(999), 1002;
    close_code_1004: server, b"\x88\x82\0\0\0\0\x03\xEC", E::InvalidCloseCode(1004), 1002;
    close_code_1005: server, b"\x88\x82\0\0\0\0\x03\xED", E::InvalidCloseCode(1005), 1002;
    close_code_1006: server, b"\x88\x82\0\0\0\0\x03\xEE", E::InvalidCloseCode(1006), 1002;
    close_code_1015: server, b"\x88\x82\0\0\0\0\x03\xF7", E::InvalidCloseCode(1015), 1002;
    close_code_1016: server, b"\x88\x82\0\0\0\0\x03\xF8", E::InvalidCloseCode(1016), 1002;
    close_code_2999: server, b"\x88\x82\0\0\0\0\x0B\xB7", E::InvalidCloseCode(2999), 1002;
    close_code_5000: server, b"\x88\x82\0\0\0\0\x13\x88", E::InvalidCloseCode(5000), 1002;
    close_code_65535: server, b"\x88\x82\0\0\0\0\xFF\xFF", E::InvalidCloseCode(65535), 1002;
    close_reason_not_utf8: server, b"\x88\x85\0\0\0\0\x03\xE8\xCE\xBA\xE1", E::InvalidCloseReason, 1007;
}

// ---------------------------------------------------------------------------------------
// Allowed counterparts

fn decode_one(mut decoder: MessageDecoder, wire: &[u8]) -> Message {
    let mut buf = BytesMut::from(wire);
    let message = decoder.decode(&mut buf).unwrap().expect("a whole message");
    assert!(buf.is_empty());
    message
}

#[test]
fn valid_close_codes() {
    for code in [
        1000u16, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 3999,
        4000, 4999,
    ] {
        let mut wire = vec![0x88, 0x82, 0, 0, 0, 0];
        wire.extend_from_slice(&code.to_be_bytes());
        let expected = Message::Close {
            code: CloseCode::new(code),
            reason: Bytes::new(),
        };
        assert_eq!(decode_one(server(), &wire), expected, "{code}");
    }
}

#[test]
fn control_frame_of_125_bytes_and_message_at_the_limit() {
    let mut ping = vec![0x89, 0xFD, 0, 0, 0, 0];
    ping.extend_from_slice(&[7; 125]);
    assert_eq!(
        decode_one(server(), &ping),
        Message::Ping(Bytes::from(vec![7; 125]))
    );
    let mut binary = vec![0x82, 0xC0, 0, 0, 0, 0];
    binary.extend_from_slice(&[1; 64]);
    assert_eq!(
        decode_one(server(), &binary),
        Message::Binary(Bytes::from(vec![1; 64]))
    );
}

#[test]
fn minimal_lengths() {
    let mut wire = vec![0x82, 0x7E, 0x00, 0x7E];
    wire.extend_from_slice(&[0; 126]);
    let message = decode_one(MessageDecoder::client(1 << 20), &wire);
    assert_eq!(message, Message::Binary(Bytes::from(vec![0; 126])));
}

// ---------------------------------------------------------------------------------------
// Handshake: section 4.2.1

const VALID: &[&str] = &[
    "Host: gw.example",
    "Upgrade: websocket",
    "Connection: Upgrade",
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
    "Sec-WebSocket-Version: 13",
];

/// A request: `line`, the valid header fields less those whose name starts with a
/// prefix in `drop`, then `add`.
fn request(line: &str, drop: &[&str], add: &[&str]) -> Vec<u8> {
    let mut out = format!("{line}\r\n");
    for field in VALID
        .iter()
        .filter(|f| !drop.iter().any(|d| f.starts_with(d)))
        .chain(add)
    {
        out.push_str(field);
        out.push_str("\r\n");
    }
    out.push_str("\r\n");
    out.into_bytes()
}

#[track_caller]
fn check_handshake(wire: &[u8], error: HandshakeError, status: u16) {
    let mut buf = BytesMut::from(wire);
    assert_eq!(RequestDecoder::default().decode(&mut buf), Err(error));
    assert_eq!(error.status().code(), status, "status of {error:?}");
    let mut response = BytesMut::new();
    error.write_response(&mut response);
    assert!(response.starts_with(format!("HTTP/1.1 {status} ").as_bytes()));
    assert!(
        response.windows(6).any(|w| w == b"close\r"),
        "Connection: close"
    );
}

macro_rules! refuses {
    ($($name:ident: $wire:expr, $error:expr, $status:expr;)*) => {
        $(
            #[test]
            fn $name() {
                check_handshake(&$wire, $error, $status);
            }
        )*
    };
}

const GET: &str = "GET /mqtt HTTP/1.1";

refuses! {
    method_post: request("POST /mqtt HTTP/1.1", &[], &[]), H::MethodNotGet, 400;
    method_lowercase: request("get /mqtt HTTP/1.1", &[], &[]), H::MethodNotGet, 400;
    http_1_0: request("GET /mqtt HTTP/1.0", &[], &[]), H::UnsupportedHttpVersion, 400;
    not_http: *b"GET /mqtt SPDY/3\r\n\r\n", H::MalformedRequest, 400;
    leading_empty_lines: *b"\r\n\r\nGET / HTTP/1.1\r\n\r\n", H::MalformedRequest, 400;
    target_asterisk: request("GET * HTTP/1.1", &[], &[]), H::InvalidRequestTarget, 400;
    target_fragment: request("GET /mqtt#x HTTP/1.1", &[], &[]), H::InvalidRequestTarget, 400;
    target_scheme: request("GET ftp://gw/mqtt HTTP/1.1", &[], &[]), H::InvalidRequestTarget, 400;
    no_host: request(GET, &["Host"], &[]), H::InvalidHost, 400;
    empty_host: request(GET, &["Host"], &["Host:  "]), H::InvalidHost, 400;
    two_hosts: request(GET, &[], &["Host: other"]), H::InvalidHost, 400;
    no_upgrade: request(GET, &["Upgrade"], &[]), H::MissingUpgrade, 400;
    upgrade_h2c: request(GET, &["Upgrade"], &["Upgrade: h2c"]), H::MissingUpgrade, 400;
    no_connection: request(GET, &["Connection"], &[]), H::MissingConnectionUpgrade, 400;
    connection_keep_alive: request(GET, &["Connection"], &["Connection: keep-alive"]), H::MissingConnectionUpgrade, 400;
    connection_upgraded: request(GET, &["Connection"], &["Connection: upgraded"]), H::MissingConnectionUpgrade, 400;
    no_version: request(GET, &["Sec-WebSocket-Version"], &[]), H::UnsupportedVersion, 426;
    version_8: request(GET, &["Sec-WebSocket-Version"], &["Sec-WebSocket-Version: 8"]), H::UnsupportedVersion, 426;
    version_list: request(GET, &["Sec-WebSocket-Version"], &["Sec-WebSocket-Version: 13, 8"]), H::UnsupportedVersion, 426;
    version_twice: request(GET, &[], &["Sec-WebSocket-Version: 13"]), H::UnsupportedVersion, 426;
    no_key: request(GET, &["Sec-WebSocket-Key"], &[]), H::InvalidKey, 400;
    key_15_bytes: request(GET, &["Sec-WebSocket-Key"], &["Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25j"]), H::InvalidKey, 400;
    key_17_bytes: request(GET, &["Sec-WebSocket-Key"], &["Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZWU="]), H::InvalidKey, 400;
    key_not_base64: request(GET, &["Sec-WebSocket-Key"], &["Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ!!"]), H::InvalidKey, 400;
    key_twice: request(GET, &[], &["Sec-WebSocket-Key: AQIDBAUGBwgJCgsMDQ4PEA=="]), H::InvalidKey, 400;
    subprotocol_not_a_token: request(GET, &[], &["Sec-WebSocket-Protocol: mqtt;v=5"]), H::InvalidSubprotocol, 400;
    subprotocol_with_space: request(GET, &[], &["Sec-WebSocket-Protocol: v12 stomp"]), H::InvalidSubprotocol, 400;
    two_origins: request(GET, &[], &["Origin: https://a", "Origin: https://b"]), H::InvalidOrigin, 400;
    too_many_headers: request(GET, &[], &["X: y"; 60]), H::TooManyHeaders, 431;
}

#[test]
fn request_too_large_is_refused_before_buffering_more() {
    let mut decoder = RequestDecoder::new(256);
    let mut buf = BytesMut::from(&request(GET, &[], &[])[..]);
    assert!(decoder.decode(&mut buf).unwrap().is_some());
    // 255 bytes without the end of the block: need more; 256: refused.
    let mut buf = BytesMut::from(&[b'a'; 255][..]);
    assert_eq!(decoder.decode(&mut buf), Ok(None));
    buf.extend_from_slice(b"a");
    let error = decoder.decode(&mut buf).unwrap_err();
    assert_eq!(error, H::RequestTooLarge { max: 256 });
    assert_eq!(error.status().code(), 431);
    // A block that ends just past the limit is refused too.
    let long = request(GET, &[], &[&format!("X-Pad: {}", "p".repeat(200))]);
    let mut buf = BytesMut::from(&long[..]);
    assert_eq!(
        decoder.decode(&mut buf),
        Err(H::RequestTooLarge { max: 256 })
    );
    let mut decoder = RequestDecoder::new(long.len());
    assert!(
        decoder
            .decode(&mut BytesMut::from(&long[..]))
            .unwrap()
            .is_some()
    );
}

#[test]
fn lenient_where_the_rfc_is() {
    let wire = request(
        "GET ws://gw.example/mqtt?client=7 HTTP/1.1",
        &["Upgrade", "Connection"],
        &[
            "upgrade: WebSocket",
            "connection: keep-alive, UPGRADE",
            "Sec-WebSocket-Protocol: mqttv3.1, ,mqtt",
            "sec-websocket-protocol: v12.stomp",
        ],
    );
    let mut buf = BytesMut::from(&wire[..]);
    let request = RequestDecoder::default().decode(&mut buf).unwrap().unwrap();
    assert_eq!(request.path(), "/mqtt");
    assert_eq!(request.query(), Some("client=7"));
    assert_eq!(request.protocols(), ["mqttv3.1", "mqtt", "v12.stomp"]);
    assert_eq!(
        request.choose_subprotocol(&["v12.stomp", "mqtt"]),
        Some("mqtt")
    );
    assert_eq!(request.origin(), None);
}
