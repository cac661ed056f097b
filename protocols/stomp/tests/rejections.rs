//! One rejection per rule: a minimal stream that breaks only that rule and the exact
//! [`DecodeError`] it yields, one line per case (after ntex-mqtt's `test_case` tables).
//! Each line becomes its own `#[test]`, so a failing case is named in the test output.
//!
//! Decoders: `v10`, `v11`, `v12` know their version; `none` is a decoder before
//! negotiation (CONNECT phase); `tight` is a 1.2 decoder with small limits (64-byte
//! frames, 3 headers, 32-byte lines, 16-byte bodies). Every case is also decoded split at
//! every byte boundary: the error must not depend on how the stream arrives.
//!
//! Below the table: the rules [`Frame::validate`] checks on a decoded frame, the header
//! value parsers, and the allowed counterparts of rules that look alike.

use bytes::BytesMut;
use switchyard_stomp::{
    AckMode, Command, DecodeError, Decoder, Frame, HeartBeat, Item, Limits, Version,
};

use DecodeError as E;

/// A decoder factory of the table.
type NewDecoder = fn() -> Decoder;

fn v10() -> Decoder {
    Decoder::with_version(Version::V1_0, Limits::DEFAULT)
}

fn v11() -> Decoder {
    Decoder::with_version(Version::V1_1, Limits::DEFAULT)
}

fn v12() -> Decoder {
    Decoder::with_version(Version::V1_2, Limits::DEFAULT)
}

fn none() -> Decoder {
    Decoder::new(Limits::DEFAULT)
}

const TIGHT: Limits = Limits::DEFAULT
    .with_max_frame_size(64)
    .with_max_headers(3)
    .with_max_header_line(32)
    .with_max_body_size(16);

fn tight() -> Decoder {
    Decoder::with_version(Version::V1_2, TIGHT)
}

/// Decodes `wire` until the decoder fails or needs more, fed whole and split at every
/// byte boundary; returns the error, which must be the same each time.
fn error_of(new: NewDecoder, wire: &[u8]) -> Option<DecodeError> {
    let run = |cut: usize| {
        let mut d = new();
        let mut buf = BytesMut::new();
        for part in [&wire[..cut], &wire[cut..]] {
            buf.extend_from_slice(part);
            loop {
                match d.decode(&mut buf) {
                    Ok(Some(_)) => {}
                    Ok(None) => break,
                    Err(e) => return Some(e),
                }
            }
        }
        None
    };
    let whole = run(wire.len());
    for cut in 0..wire.len() {
        assert_eq!(run(cut), whole, "split at {cut}");
    }
    whole
}

#[track_caller]
fn check(new: NewDecoder, wire: &[u8], error: DecodeError) {
    assert_eq!(error_of(new, wire), Some(error));
    assert!(!error.message().is_empty());
}

macro_rules! rejects {
    ($($(#[$attr:meta])* $name:ident: $decoder:ident, $wire:expr, $error:expr;)*) => {
        $(
            #[test]
            $(#[$attr])*
            fn $name() {
                check($decoder, $wire, $error);
            }
        )*
    };
}

rejects! {
    // Commands are case sensitive and exact (1.2 "STOMP Frames", "Augmented BNF").
    unknown_command: v12, b"FOO\n\n\0", E::UnknownCommand;
    lowercase_command: v12, b"send\ndestination:/q\n\n\0", E::UnknownCommand;
    command_with_trailing_space: v12, b"SEND \n\n\0", E::UnknownCommand;
    command_with_cr_inside: v12, b"SE\rND\n\n\0", E::UnknownCommand;
    empty_command_line_before_headers: v12, b"\r\rSEND\n\n\0", E::UnknownCommand;
    unknown_command_before_negotiation: none, b"HELLO\n\n\0", E::UnknownCommand;
    // header = header-name ":" header-value.
    missing_colon: v12, b"SEND\ndestination\n\n\0", E::MissingColon;
    missing_colon_v10: v10, b"SEND\ndestination /q\n\n\0", E::MissingColon;
    // header-name = 1*<any OCTET except CR or LF or ":">.
    empty_header_name: v12, b"SEND\n:/queue/a\n\n\0", E::EmptyHeaderName;
    empty_header_name_v10: v10, b"SEND\n:\n\n\0", E::EmptyHeaderName;
    // "Undefined escape sequences such as \t ... MUST be treated as a fatal protocol error".
    undefined_escape_v12: v12, b"SEND\nk:a\\tb\n\n\0", E::InvalidEscape;
    undefined_escape_in_name: v12, b"SEND\nk\\x:v\n\n\0", E::InvalidEscape;
    escape_at_end_of_value: v12, b"SEND\nk:v\\\n\n\0", E::InvalidEscape;
    escape_at_end_of_name: v11, b"SEND\nk\\:v\n\n\0", E::InvalidEscape;
    // 1.1 has no \r ("Undefined escape sequences such as \r ... MUST be treated as a fatal
    // protocol error", 1.1 "Value Encoding").
    cr_escape_v11: v11, b"MESSAGE\nk:a\\rb\n\n\0", E::InvalidEscape;
    // "The commands and headers are encoded in UTF-8".
    invalid_utf8_value: v12, b"SEND\nk:\xFF\n\n\0", E::InvalidUtf8;
    invalid_utf8_name: v12, b"SEND\n\xC3(:v\n\n\0", E::InvalidUtf8;
    invalid_utf8_after_unescape: v12, b"SEND\nk:\xC3\\n\xA9\n\n\0", E::InvalidUtf8;
    invalid_utf8_in_connect: none, b"CONNECT\nlogin:\xED\xA0\x80\n\n\0", E::InvalidUtf8;
    invalid_utf8_v10: v10, b"SEND\nk:\xC0\xAF\n\n\0", E::InvalidUtf8;
    // header-value = *<any OCTET except CR or LF or ":">; EOL = [CR] LF.
    bare_cr_in_value: v12, b"SEND\nk:a\rb\n\n\0", E::BareCarriageReturn;
    bare_cr_in_name: v10, b"SEND\nk\r:v\n\n\0", E::BareCarriageReturn;
    two_crs_before_lf: v12, b"SEND\nk:v\r\r\n\n\0", E::BareCarriageReturn;
    // A NUL inside a header line (one at the start of a line ends a bodiless frame).
    nul_in_value: v12, b"SEND\nk:a\0b\n\n\0", E::NulInHeader;
    nul_in_name: v10, b"SEND\nk\0:v\n\n\0", E::NulInHeader;
    nul_line_with_declared_body: v12, b"SEND\ncontent-length:1\n\0", E::NulInHeader;
    // content-length: "an octet count for the length of the message body".
    content_length_not_a_number: v12, b"SEND\ncontent-length:abc\n\n\0", E::InvalidContentLength;
    content_length_empty: v12, b"SEND\ncontent-length:\n\n\0", E::InvalidContentLength;
    content_length_negative: v12, b"SEND\ncontent-length:-1\n\n\0", E::InvalidContentLength;
    content_length_signed: v11, b"SEND\ncontent-length:+1\n\nx\0", E::InvalidContentLength;
    content_length_padded_v12: v12, b"SEND\ncontent-length: 1\n\nx\0", E::InvalidContentLength;
    content_length_fraction: v10, b"SEND\ncontent-length:1.0\n\nx\0", E::InvalidContentLength;
    content_length_hex: none, b"SEND\ncontent-length:0x1\n\nx\0", E::InvalidContentLength;
    // "The frame still needs to be terminated with a NULL octet".
    missing_nul_after_body: v12, b"SEND\ncontent-length:2\n\nabc\0", E::MissingNul;
    missing_nul_short_length: v10, b"SEND\ncontent-length:0\n\nx\0", E::MissingNul;
    // "Size Limits".
    frame_too_large: tight, b"SEND\nk:012345678901234567890123456789\nl:01234567890123456789\n\n0123\0", E::FrameTooLarge { max: 64 };
    frame_too_large_by_content_length: tight, b"SEND\nk:012345678901234567890\ncontent-length:16\n\n", E::FrameTooLarge { max: 64 };
    line_limit_comes_before_frame_limit: tight, &[b'x'; 65], E::HeaderTooLong { max: 32 };
    too_many_headers: tight, b"SEND\na:1\nb:2\nc:3\nd:4\n\n\0", E::TooManyHeaders { max: 3 };
    too_many_headers_repeated: tight, b"SEND\na:1\na:2\na:3\na:4\n", E::TooManyHeaders { max: 3 };
    header_too_long: tight, b"SEND\nk:0123456789012345678901234567890\n\n\0", E::HeaderTooLong { max: 32 };
    header_too_long_with_crlf: tight, b"SEND\nk:0123456789012345678901234567890\r\n\n\0", E::HeaderTooLong { max: 32 };
    header_too_long_without_lf: tight, b"SEND\nk:0123456789012345678901234567890123", E::HeaderTooLong { max: 32 };
    command_line_too_long: tight, b"SENDSENDSENDSENDSENDSENDSENDSENDSEND\n", E::HeaderTooLong { max: 32 };
    body_too_large_by_content_length: tight, b"SEND\ncontent-length:17\n", E::BodyTooLarge { max: 16 };
    body_too_large_without_content_length: tight, b"SEND\n\n01234567890123456", E::BodyTooLarge { max: 16 };
}

// ---------------------------------------------------------------------------------------
// Limits: the edges

/// Each limit accepts a frame exactly at it.
#[test]
fn limits_accept_their_edge() {
    let at_limits: &[&[u8]] = &[
        b"SEND\na:1\nb:2\nc:3\n\n\0",
        b"SEND\nk:012345678901234567890123456789\n\n\0",
        b"SEND\nk:012345678901234567890123456789\r\n\r\n\0",
        b"SEND\ncontent-length:16\n\n0123456789abcdef\0",
        b"SEND\n\n0123456789abcdef\0",
        b"SEND\nk:01234567890123456789012\nl:0123456789\ncontent-length:1\n\nx\0",
    ];
    for wire in at_limits {
        assert_eq!(
            error_of(tight, wire),
            None,
            "{}",
            String::from_utf8_lossy(wire)
        );
        let mut buf = BytesMut::from(*wire);
        assert!(matches!(tight().decode(&mut buf), Ok(Some(Item::Frame(_)))));
    }
    assert_eq!(
        b"SEND\nk:01234567890123456789012\nl:0123456789\ncontent-length:1\n\nx\0".len(),
        64
    );
}

// ---------------------------------------------------------------------------------------
// Frame::validate: per-version rules on a decoded frame

fn frame(wire: &[u8], version: Version) -> Frame {
    let mut buf = BytesMut::from(wire);
    match Decoder::with_version(version, Limits::DEFAULT).decode(&mut buf) {
        Ok(Some(Item::Frame(f))) => f,
        other => panic!("{other:?}"),
    }
}

macro_rules! invalid {
    ($($name:ident: $version:ident, $wire:expr, $error:expr;)*) => {
        $(
            #[test]
            fn $name() {
                let f = frame($wire, Version::$version);
                assert_eq!(f.validate(Version::$version), Err($error));
            }
        )*
    };
}

invalid! {
    // "Only the SEND, MESSAGE, and ERROR frames MAY have a body" (1.1, 1.2).
    body_on_subscribe: V1_2, b"SUBSCRIBE\nid:0\ndestination:/q\n\nx\0", E::BodyNotAllowed(Command::Subscribe);
    body_on_ack_v11: V1_1, b"ACK\nmessage-id:1\nsubscription:0\n\nx\0", E::BodyNotAllowed(Command::Ack);
    body_on_receipt: V1_2, b"RECEIPT\nreceipt-id:1\ncontent-length:1\n\n\0\0", E::BodyNotAllowed(Command::Receipt);
    // "Frames and Headers": REQUIRED headers.
    send_without_destination: V1_2, b"SEND\n\nx\0", E::MissingHeader("destination");
    subscribe_without_id: V1_2, b"SUBSCRIBE\ndestination:/q\n\n\0", E::MissingHeader("id");
    unsubscribe_without_id: V1_1, b"UNSUBSCRIBE\n\n\0", E::MissingHeader("id");
    ack_without_id: V1_2, b"ACK\nmessage-id:1\n\n\0", E::MissingHeader("id");
    nack_without_subscription_v11: V1_1, b"NACK\nmessage-id:1\n\n\0", E::MissingHeader("subscription");
    ack_without_message_id_v10: V1_0, b"ACK\n\n\0", E::MissingHeader("message-id");
    begin_without_transaction: V1_2, b"BEGIN\n\n\0", E::MissingHeader("transaction");
    commit_without_transaction: V1_0, b"COMMIT\n\n\0", E::MissingHeader("transaction");
    abort_without_transaction: V1_1, b"ABORT\n\n\0", E::MissingHeader("transaction");
    message_without_subscription: V1_2, b"MESSAGE\ndestination:/q\nmessage-id:1\n\n\0", E::MissingHeader("subscription");
    message_without_message_id_v10: V1_0, b"MESSAGE\ndestination:/q\n\n\0", E::MissingHeader("message-id");
    receipt_without_receipt_id: V1_2, b"RECEIPT\n\n\0", E::MissingHeader("receipt-id");
    connected_without_version: V1_1, b"CONNECTED\n\n\0", E::MissingHeader("version");
    // NACK is new in 1.1.
    nack_in_v10: V1_0, b"NACK\nmessage-id:1\n\n\0", E::CommandNotInVersion(Command::Nack);
}

/// The allowed counterparts: the same frames are fine where the rule does not apply.
#[test]
fn validate_allows() {
    let ok: &[(&[u8], Version)] = &[
        (
            b"SUBSCRIBE\ndestination:/q\n\nignored body\0",
            Version::V1_0,
        ),
        (b"UNSUBSCRIBE\ndestination:/q\n\n\0", Version::V1_0),
        (b"ACK\nmessage-id:1\nsubscription:0\n\n\0", Version::V1_1),
        (b"NACK\nid:1\n\n\0", Version::V1_2),
        (b"ERROR\n\nanything\0", Version::V1_2),
        (b"DISCONNECT\n\n\0", Version::V1_2),
        (b"CONNECT\n\n\0", Version::V1_2),
        (
            b"RECEIPT\nreceipt-id:1\ncontent-length:0\n\n\0",
            Version::V1_2,
        ),
    ];
    for (wire, version) in ok {
        assert_eq!(
            frame(wire, *version).validate(*version),
            Ok(()),
            "{}",
            String::from_utf8_lossy(wire)
        );
    }
}

// ---------------------------------------------------------------------------------------
// Header values

#[test]
fn invalid_heart_beat() {
    let f = frame(b"CONNECT\nheart-beat:10\n\n\0", Version::V1_2);
    assert_eq!(f.heart_beat(), Err(E::InvalidHeartBeat));
    assert_eq!(HeartBeat::parse("1,-1"), Err(E::InvalidHeartBeat));
}

#[test]
fn invalid_ack_mode() {
    let f = frame(
        b"SUBSCRIBE\nid:0\ndestination:/q\nack:individual\n\n\0",
        Version::V1_2,
    );
    assert_eq!(f.ack_mode(), Err(E::InvalidAckMode));
    assert_eq!(
        AckMode::parse("client-individual"),
        Ok(AckMode::ClientIndividual)
    );
}

// ---------------------------------------------------------------------------------------
// Look-alikes that are allowed

#[test]
fn allowed_look_alikes() {
    let cases: &[(NewDecoder, &[u8])] = &[
        // A raw colon in a value (split at the first colon).
        (v12, b"SEND\ndestination:/queue/a:b\n\n\0"),
        // A backslash in 1.0 and in CONNECT is a backslash.
        (v10, b"SEND\nk:a\\tb\n\n\0"),
        (v12, b"CONNECT\npasscode:a\\tb\n\n\0"),
        // \r is an escape in 1.2.
        (v12, b"SEND\nk:a\\rb\n\n\0"),
        // CR LF line ends in 1.0 and 1.1 too.
        (v10, b"SEND\r\nk:v\r\n\r\n\0"),
        (v11, b"SEND\r\nk:v\r\n\r\n\0"),
        // Padding around content-length in 1.0 and before negotiation.
        (v10, b"SEND\ncontent-length: 1 \n\nx\0"),
        (none, b"SEND\ncontent-length:1 \n\nx\0"),
        // An empty header value.
        (v12, b"SEND\nk:\n\n\0"),
        // A later content-length is history: not read.
        (v12, b"SEND\ncontent-length:1\ncontent-length:zz\n\nx\0"),
        // Commands the decoder knows whatever the version (validate decides).
        (v10, b"NACK\n\n\0"),
        (v10, b"STOMP\n\n\0"),
    ];
    for &(new, wire) in cases {
        assert_eq!(
            error_of(new, wire),
            None,
            "{}",
            String::from_utf8_lossy(wire)
        );
    }
}
