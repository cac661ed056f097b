//! One rejection per rule: a minimal stream that breaks only that rule, the exact
//! [`DecodeError`] it yields and the AMQP reply code the server closes with, one line
//! per case (after ntex-mqtt's `test_case` tables). Each line becomes its own `#[test]`.
//!
//! Decoders: `fresh` is a decoder before tune-ok (frame-max 4096, no channel-max);
//! `tuned` has frame-max 131072 and channel-max 7. Every case is also decoded split at
//! every byte boundary: the error must not depend on how the stream arrives.
//!
//! Below the table: the allowed counterparts of rules that look alike.

use bytes::BytesMut;
use switchyard_amqp::{DecodeError, Decoder, Frame, ReplyCode};

use DecodeError as E;

type NewDecoder = fn() -> Decoder;

fn fresh() -> Decoder {
    Decoder::new()
}

fn tuned() -> Decoder {
    let mut d = Decoder::new();
    d.set_frame_max(131_072);
    d.set_channel_max(7);
    d
}

/// A frame: type, channel, payload size, payload, frame-end.
fn frame(kind: u8, channel: u16, payload: &[u8]) -> Vec<u8> {
    let mut v = vec![kind];
    v.extend_from_slice(&channel.to_be_bytes());
    v.extend_from_slice(&u32::try_from(payload.len()).unwrap().to_be_bytes());
    v.extend_from_slice(payload);
    v.push(0xCE);
    v
}

fn method(channel: u16, payload: &[u8]) -> Vec<u8> {
    frame(1, channel, payload)
}

/// queue.declare "q" with an arguments table holding `table`.
fn declare_with(table: &[u8]) -> Vec<u8> {
    let mut p = b"\x00\x32\x00\x0A\x00\x00\x01q\x00".to_vec();
    p.extend_from_slice(&u32::try_from(table.len()).unwrap().to_be_bytes());
    p.extend_from_slice(table);
    method(1, &p)
}

/// A table entry nested `depth` tables deep.
fn nested(depth: usize) -> Vec<u8> {
    let mut inner = b"\x01vV".to_vec();
    for _ in 0..depth {
        let mut t = b"\x01kF".to_vec();
        t.extend_from_slice(&u32::try_from(inner.len()).unwrap().to_be_bytes());
        t.extend_from_slice(&inner);
        inner = t;
    }
    inner
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

macro_rules! rejects {
    ($( $name:ident: $new:expr, $wire:expr => $error:expr, $code:expr; )*) => {
        $(
            #[test]
            fn $name() {
                let error = $error;
                assert_eq!(error_of($new, &$wire), Some(error));
                assert_eq!(error.reply_code(), $code);
                assert!(error.reply_code().is_hard_error());
            }
        )*
    };
}

rejects! {
    // Framing (spec 4.2.3): frame type, frame-end, frame-max, channel-max.
    frame_over_frame_max_before_tune: fresh, [1, 0, 1, 0, 0, 0x0F, 0xF9]
        => E::FrameTooLarge { size: 4097, max: 4096 }, ReplyCode::FrameError;
    frame_over_negotiated_frame_max: tuned, [3, 0, 1, 0, 2, 0, 0]
        => E::FrameTooLarge { size: 131_080, max: 131_072 }, ReplyCode::FrameError;
    unknown_frame_type: fresh, [4, 0, 0, 0, 0, 0, 0, 0xCE]
        => E::UnknownFrameType(4), ReplyCode::FrameError;
    bad_frame_end: fresh, [8, 0, 0, 0, 0, 0, 0, 0x00]
        => E::InvalidFrameEnd(0), ReplyCode::FrameError;
    channel_over_channel_max: tuned, frame(3, 8, b"x")
        => E::ChannelTooHigh { channel: 8, max: 7 }, ReplyCode::NotAllowed;
    // Heartbeats (4.2.7) and the channel rules RabbitMQ applies to single frames.
    heartbeat_with_payload: fresh, frame(8, 0, b"\x00")
        => E::InvalidHeartbeat, ReplyCode::FrameError;
    heartbeat_on_channel: fresh, frame(8, 1, b"")
        => E::HeartbeatOnChannel(1), ReplyCode::UnexpectedFrame;
    body_on_channel_zero: fresh, frame(3, 0, b"x")
        => E::ContentOnChannelZero, ReplyCode::UnexpectedFrame;
    header_on_channel_zero: fresh, frame(2, 0, b"\x00\x3C\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00")
        => E::ContentOnChannelZero, ReplyCode::UnexpectedFrame;
    connection_method_on_channel: fresh, method(1, b"\x00\x0A\x00\x33")
        => E::ConnectionMethodOnChannel(1), ReplyCode::CommandInvalid;
    channel_method_on_channel_zero: fresh, method(0, b"\x00\x14\x00\x0A\x00")
        => E::ChannelMethodOnChannelZero { class_id: 20, method_id: 10 }, ReplyCode::ChannelError;
    // Methods (4.2.4).
    unknown_method: fresh, method(1, b"\x00\x3C\x03\xE7")
        => E::UnknownMethod { class_id: 60, method_id: 999 }, ReplyCode::NotImplemented;
    unknown_class: fresh, method(1, b"\x00\x1E\x00\x0A")
        => E::UnknownMethod { class_id: 30, method_id: 10 }, ReplyCode::NotImplemented;
    method_frame_without_ids: fresh, method(1, b"\x00\x14")
        => E::UnexpectedEnd, ReplyCode::FrameError;
    field_past_the_payload: fresh, method(1, b"\x00\x14\x00\x0A")
        => E::UnexpectedEnd, ReplyCode::FrameError;
    short_string_past_the_payload: fresh, method(1, b"\x00\x14\x00\x0A\x05ab")
        => E::UnexpectedEnd, ReplyCode::FrameError;
    bytes_after_the_last_field: fresh, method(1, b"\x00\x14\x00\x0A\x00\x00")
        => E::TrailingBytes, ReplyCode::FrameError;
    // Field tables (4.2.5.5 and RabbitMQ's errata).
    spec_letter_unsigned_64: fresh, declare_with(b"\x01kL\x00\x00\x00\x00\x00\x00\x00\x01")
        => E::UnknownFieldType(b'L'), ReplyCode::FrameError;
    spec_letter_signed_16: fresh, declare_with(b"\x01kU\x00\x01")
        => E::UnknownFieldType(b'U'), ReplyCode::FrameError;
    table_entry_past_the_table: fresh, declare_with(b"\x01kI\x00\x01")
        => E::UnexpectedEnd, ReplyCode::FrameError;
    tables_nested_too_deep: fresh, declare_with(&nested(32))
        => E::NestingTooDeep, ReplyCode::FrameError;
    // Content headers (4.2.6).
    header_of_another_class: fresh, frame(2, 1, b"\x00\x32\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00")
        => E::ContentHeaderClass(50), ReplyCode::UnexpectedFrame;
    unused_property_flag: fresh, frame(2, 1, b"\x00\x3C\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02")
        => E::InvalidPropertyFlags, ReplyCode::SyntaxError;
    property_in_continuation_word: fresh, frame(2, 1, b"\x00\x3C\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01\x80\x00")
        => E::InvalidPropertyFlags, ReplyCode::SyntaxError;
    property_past_the_payload: fresh, frame(2, 1, b"\x00\x3C\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80\x00\x05ab")
        => E::UnexpectedEnd, ReplyCode::FrameError;
}

// ---------------------------------------------------------------------------------------
// Allowed counterparts

#[test]
fn frame_of_exactly_frame_max_is_accepted() {
    assert_eq!(error_of(fresh, &frame(3, 1, &[0; 4088])), None);
}

#[test]
fn frame_max_zero_means_no_limit() {
    let unlimited = || {
        let mut d = Decoder::new();
        d.set_frame_max(0);
        d
    };
    assert_eq!(error_of(unlimited, &frame(3, 1, &[0; 5000])), None);
}

#[test]
fn channel_max_itself_is_allowed() {
    assert_eq!(error_of(tuned, &frame(3, 7, b"x")), None);
}

#[test]
fn nesting_up_to_the_limit_is_accepted() {
    assert_eq!(error_of(fresh, &declare_with(&nested(31))), None);
}

#[test]
fn empty_continuation_words_and_non_zero_weight_are_accepted() {
    let wire = frame(
        2,
        1,
        b"\x00\x3C\x00\x07\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01\x00\x01\x00\x00",
    );
    let mut buf = BytesMut::from(&wire[..]);
    let Some(Frame::Header { header, .. }) = Decoder::new().decode(&mut buf).unwrap() else {
        panic!()
    };
    assert_eq!(header.weight, 7);
}

#[test]
fn non_zero_boolean_octets_read_as_true() {
    let wire = declare_with(b"\x01kt\x02");
    assert_eq!(error_of(fresh, &wire), None);
}

#[test]
fn the_frame_header_is_judged_before_the_payload_arrives() {
    // Seven octets are enough to refuse a frame over frame-max: nothing is buffered.
    let mut buf = BytesMut::from(&[3u8, 0, 1, 0x7F, 0xFF, 0xFF, 0xFF][..]);
    assert!(matches!(
        Decoder::new().decode(&mut buf),
        Err(E::FrameTooLarge { .. })
    ));
}
