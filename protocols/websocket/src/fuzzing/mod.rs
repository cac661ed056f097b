//! Generators of valid messages and client streams, and the checks that the fuzz target
//! and the property tests run.
//!
//! Built with the `arbitrary` feature (and in this crate's tests). The fuzz target
//! `decode_websocket` in `fuzz/` is one call to [`check_fuzz_input`]; the logic lives
//! here so that it compiles, and is tested, with the crate.

#![expect(
    clippy::panic,
    reason = "fuzz and property checks report a failure by panicking"
)]

use std::num::NonZeroUsize;

use arbitrary::{Arbitrary, Result, Unstructured};
use bytes::{BufMut, Bytes, BytesMut};

use crate::close::CloseCode;
use crate::encode::{ClientEncoder, Encoder, write_frame};
use crate::error::{Error, HandshakeError};
use crate::frame::{FrameDecoder, MAX_CONTROL_PAYLOAD, OpCode, Role};
use crate::handshake::{Request, RequestDecoder};
use crate::message::{Message, MessageDecoder};
use crate::response::write_request;

pub mod seeds;

/// The request size limit of the handshake checks: small enough for fuzz inputs to
/// reach it.
pub const FUZZ_MAX_REQUEST_SIZE: usize = 1024;

/// The message size limit of [`check_decode_stream`]: small enough for fuzz inputs to
/// reach it.
pub const FUZZ_MAX_MESSAGE_SIZE: usize = 1024;

/// A valid message of any kind: UTF-8 text, binary, a Ping or Pong of at most 125 bytes,
/// or a Close with a valid code (or none) and a UTF-8 reason of at most 123 bytes.
pub fn arbitrary_message(u: &mut Unstructured<'_>) -> Result<Message> {
    Ok(match u.int_in_range(0..=4u8)? {
        0 => Message::Text(Bytes::from(String::arbitrary(u)?)),
        1 => Message::Binary(Bytes::from(Vec::<u8>::arbitrary(u)?)),
        2 => Message::Ping(control_payload(u)?),
        3 => Message::Pong(control_payload(u)?),
        _ => arbitrary_close(u)?,
    })
}

fn control_payload(u: &mut Unstructured<'_>) -> Result<Bytes> {
    let mut data = Vec::<u8>::arbitrary(u)?;
    data.truncate(MAX_CONTROL_PAYLOAD);
    Ok(Bytes::from(data))
}

fn arbitrary_close(u: &mut Unstructured<'_>) -> Result<Message> {
    if u.ratio(1, 8)? {
        return Ok(Message::Close {
            code: None,
            reason: Bytes::new(),
        });
    }
    let raw = match u.int_in_range(0..=2u8)? {
        0 => u.int_in_range(1000..=1003)?,
        1 => u.int_in_range(1007..=1014)?,
        _ => u.int_in_range(3000..=4999)?,
    };
    let mut reason = String::arbitrary(u)?;
    let mut end = reason.len().min(MAX_CONTROL_PAYLOAD - 2);
    while !reason.is_char_boundary(end) {
        end -= 1;
    }
    reason.truncate(end);
    Ok(Message::Close {
        code: CloseCode::new(raw),
        reason: Bytes::from(reason),
    })
}

/// Bytes a client may send, and the messages a server must decode from them.
#[derive(Debug, Clone, Default)]
pub struct ClientStream {
    /// Masked frames.
    pub bytes: Vec<u8>,
    /// The messages in the order the decoder returns them: a control frame sent between
    /// the fragments of a message comes before that message.
    pub messages: Vec<Message>,
}

/// A valid client stream: messages encoded with random masking keys, data messages cut
/// into random fragments (empty ones included) with Pings and Pongs between them.
pub fn arbitrary_client_stream(u: &mut Unstructured<'_>) -> Result<ClientStream> {
    let mut stream = ClientStream::default();
    let mut out = BytesMut::new();
    let count = u.int_in_range(0..=8u8)?;
    for _ in 0..count {
        let message = arbitrary_message(u)?;
        let (opcode, payload) = match &message {
            Message::Text(p) => (OpCode::Text, p.clone()),
            Message::Binary(p) => (OpCode::Binary, p.clone()),
            Message::Ping(p) => (OpCode::Ping, p.clone()),
            Message::Pong(p) => (OpCode::Pong, p.clone()),
            Message::Close { code, reason } => {
                let mut p = BytesMut::new();
                if let Some(code) = code {
                    p.put_u16(code.get());
                    p.put_slice(reason);
                }
                (OpCode::Close, p.freeze())
            }
        };
        if opcode.is_control() {
            write_frame(&mut out, true, opcode, &payload, Some(u.arbitrary()?));
            stream.messages.push(message);
            continue;
        }
        // Cut points, sorted; repeats make empty fragments.
        let mut cuts = Vec::new();
        for _ in 0..u.int_in_range(0..=4u8)? {
            cuts.push(u.int_in_range(0..=payload.len())?);
        }
        cuts.sort_unstable();
        cuts.push(payload.len());
        let mut start = 0;
        for (i, &end) in cuts.iter().enumerate() {
            let fin = i + 1 == cuts.len();
            let fragment_opcode = if i == 0 { opcode } else { OpCode::Continuation };
            let fragment = payload.get(start..end).unwrap_or_default();
            write_frame(
                &mut out,
                fin,
                fragment_opcode,
                fragment,
                Some(u.arbitrary()?),
            );
            start = end;
            if !fin && u.ratio(1, 3)? {
                let control = if u.arbitrary()? {
                    Message::Ping(control_payload(u)?)
                } else {
                    Message::Pong(control_payload(u)?)
                };
                let (op, p) = match &control {
                    Message::Ping(p) => (OpCode::Ping, p),
                    Message::Pong(p) => (OpCode::Pong, p),
                    _ => continue,
                };
                write_frame(&mut out, true, op, p, Some(u.arbitrary()?));
                stream.messages.push(control);
            }
        }
        stream.messages.push(message);
    }
    stream.bytes = out.to_vec();
    Ok(stream)
}

/// Decodes `data` with `decoder`, fed in parts split at the sorted offsets in `cuts`,
/// until it needs more bytes or fails. Checks the contract on the way: a message
/// consumes bytes; "need more bytes" consumes nothing, or whole frames of a message that
/// is then unfinished.
pub fn decode_messages(
    mut decoder: MessageDecoder,
    data: &[u8],
    cuts: &[usize],
) -> (Vec<Message>, Option<Error>, BytesMut) {
    let mut buf = BytesMut::new();
    let mut messages = Vec::new();
    let mut start = 0;
    for &cut in cuts.iter().chain([&data.len()]) {
        let end = cut.clamp(start, data.len());
        buf.extend_from_slice(data.get(start..end).unwrap_or_default());
        start = end;
        loop {
            let before = buf.len();
            match decoder.decode(&mut buf) {
                Ok(Some(message)) => {
                    assert!(buf.len() < before, "a message was decoded from nothing");
                    messages.push(message);
                }
                Ok(None) => {
                    assert!(
                        buf.len() == before || decoder.in_message(),
                        "need-more-bytes consumed input outside a fragmented message"
                    );
                    break;
                }
                Err(e) => return (messages, Some(e), buf),
            }
        }
    }
    (messages, None, buf)
}

/// A client stream decodes into its messages, wherever it is split, with nothing left.
pub fn check_client_stream(stream: &ClientStream, cuts: &[usize]) {
    let (messages, error, rest) =
        decode_messages(MessageDecoder::server(1 << 24), &stream.bytes, cuts);
    assert!(
        error.is_none() && messages == stream.messages && rest.is_empty(),
        "a valid stream split at {cuts:?} decoded to {messages:?} (error {error:?}, {} bytes left), \
         expected {:?}",
        rest.len(),
        stream.messages
    );
}

/// The server's encoder: each message, encoded with `encoder` (binary messages in place
/// with a payload length hint when `hint` is given), decodes back to itself in a client.
pub fn check_server_encoding(messages: &[Message], encoder: Encoder, hint: Option<usize>) {
    let mut out = BytesMut::new();
    for message in messages {
        let written = match message {
            Message::Text(p) => match std::str::from_utf8(p) {
                Ok(text) => {
                    encoder.text(text, &mut out);
                    Ok(())
                }
                Err(_) => panic!("a text message that is not UTF-8: {message:?}"),
            },
            Message::Binary(p) => match hint {
                Some(hint) => {
                    let frame = encoder.begin_binary(hint, &mut out);
                    out.put_slice(p);
                    frame.finish(&mut out)
                }
                None => {
                    encoder.binary(p, &mut out);
                    Ok(())
                }
            },
            Message::Ping(p) => encoder.ping(p, &mut out),
            Message::Pong(p) => encoder.pong(p, &mut out),
            Message::Close { code, reason } => match std::str::from_utf8(reason) {
                Ok(reason) => encoder.close(*code, reason, &mut out),
                Err(_) => panic!("a close reason that is not UTF-8: {message:?}"),
            },
        };
        if let Err(e) = written {
            panic!("a valid message failed to encode: {e}: {message:?}");
        }
    }
    let (decoded, error, rest) = decode_messages(MessageDecoder::client(1 << 24), &out, &[]);
    assert!(
        error.is_none() && decoded == messages && rest.is_empty(),
        "server encoding did not round-trip: {decoded:?} (error {error:?}) for {messages:?}"
    );
}

/// Structured input: a client stream split at random points must decode into its
/// messages, and the server's encoder must round-trip them too.
pub fn check_round_trip(data: &[u8]) {
    let mut u = Unstructured::new(data);
    let Ok(stream) = arbitrary_client_stream(&mut u) else {
        return;
    };
    let mut cuts: Vec<usize> = (0..u.int_in_range(0..=4u8).unwrap_or(0))
        .map(|_| u.int_in_range(0..=stream.bytes.len()).unwrap_or(0))
        .collect();
    cuts.sort_unstable();
    check_client_stream(&stream, &cuts);
    let encoder = match u.int_in_range(0..=64usize).ok().and_then(NonZeroUsize::new) {
        Some(size) => Encoder::fragmented(size),
        None => Encoder::new(),
    };
    let hint = u
        .arbitrary::<Option<u32>>()
        .unwrap_or(None)
        .map(|h| h as usize % 70_000);
    check_server_encoding(&stream.messages, encoder, hint);
}

/// Arbitrary bytes into a decoder of `role`, split at `cut`: the contract holds
/// ([`decode_messages`]), the split changes neither the messages nor the error, every
/// message survives client encode + server decode, and the frame decoder never consumes
/// on "need more bytes".
pub fn check_decode_stream(data: &[u8], role: Role, cut: usize) {
    let decoder = MessageDecoder::new(role, FUZZ_MAX_MESSAGE_SIZE);
    let (whole, whole_error, _) = decode_messages(decoder.clone(), data, &[]);
    let (split, split_error, _) = decode_messages(decoder, data, &[cut]);
    assert!(
        whole == split && whole_error == split_error,
        "splitting at {cut} changed the result: {whole:?} / {whole_error:?} vs {split:?} / {split_error:?}"
    );
    if !whole.is_empty() {
        let mut client = ClientEncoder::new(cut as u64);
        let stream = ClientStream {
            bytes: encode_as_client(&whole, &mut client),
            messages: whole,
        };
        check_client_stream(&stream, &[cut]);
    }
    let mut frames = FrameDecoder::new(role, FUZZ_MAX_MESSAGE_SIZE);
    let mut buf = BytesMut::from(data);
    loop {
        let before = buf.len();
        match frames.decode(&mut buf) {
            Ok(Some(_)) => assert!(buf.len() < before, "a frame was decoded from nothing"),
            Ok(None) => {
                assert_eq!(buf.len(), before, "need-more-bytes consumed input");
                break;
            }
            Err(_) => break,
        }
    }
}

/// `messages` as a client sends them, one frame each.
fn encode_as_client(messages: &[Message], client: &mut ClientEncoder) -> Vec<u8> {
    let mut out = BytesMut::new();
    for message in messages {
        let written = match message {
            Message::Text(p) | Message::Binary(p) => {
                let mask = client.next_mask();
                let opcode = match message {
                    Message::Text(_) => OpCode::Text,
                    _ => OpCode::Binary,
                };
                write_frame(&mut out, true, opcode, p, Some(mask));
                Ok(())
            }
            Message::Ping(p) => client.ping(p, &mut out),
            Message::Pong(p) => client.pong(p, &mut out),
            Message::Close { code, reason } => match std::str::from_utf8(reason) {
                Ok(reason) => client.close(*code, reason, &mut out),
                Err(_) => panic!("a decoded close reason is not UTF-8: {message:?}"),
            },
        };
        if let Err(e) = written {
            panic!("a decoded message failed to encode: {e}: {message:?}");
        }
    }
    out.to_vec()
}

/// Decodes an upgrade request fed in two parts split at `cut`.
fn decode_request(data: &[u8], cut: usize) -> (Result<Option<Request>, HandshakeError>, BytesMut) {
    let mut decoder = RequestDecoder::new(FUZZ_MAX_REQUEST_SIZE);
    let (head, tail) = data.split_at(cut.min(data.len()));
    let mut buf = BytesMut::from(head);
    let result = decoder.decode(&mut buf);
    if !matches!(result, Ok(None)) {
        // The rest of the stream arrives after the request, as frames.
        buf.extend_from_slice(tail);
        return (result, buf);
    }
    assert_eq!(buf.len(), head.len(), "need-more-bytes consumed input");
    assert!(
        buf.len() < FUZZ_MAX_REQUEST_SIZE,
        "need-more-bytes over the limit"
    );
    buf.extend_from_slice(tail);
    let result = decoder.decode(&mut buf);
    if matches!(result, Ok(None)) {
        assert_eq!(buf.len(), data.len(), "need-more-bytes consumed input");
        assert!(
            buf.len() < FUZZ_MAX_REQUEST_SIZE,
            "need-more-bytes over the limit"
        );
    }
    (result, buf)
}

/// Arbitrary bytes as an upgrade request, split at `cut`: the contract holds, the split
/// changes nothing, the bytes after a request are left for the frame decoder (and
/// returned), an accepted request survives being written again by [`write_request`],
/// and every response can be written.
pub fn check_handshake(data: &[u8], cut: usize) -> Option<BytesMut> {
    let (whole, rest) = decode_request(data, data.len());
    let (split, split_rest) = decode_request(data, cut);
    assert!(
        whole == split,
        "splitting at {cut} changed the result: {whole:?} vs {split:?}"
    );
    let mut response = BytesMut::new();
    match whole {
        Ok(Some(request)) => {
            assert_eq!(rest, split_rest, "the bytes after the request differ");
            assert!(
                data.ends_with(&rest),
                "the bytes after the request were changed"
            );
            check_request_round_trip(&request);
            let protocol = request.protocols().first().map(String::as_str);
            if request.write_accept(protocol, &mut response).is_err() {
                panic!("an offered subprotocol was refused: {request:?}");
            }
            assert!(response.starts_with(b"HTTP/1.1 101 Switching Protocols\r\n"));
            Some(rest)
        }
        Ok(None) => None,
        Err(e) => {
            e.write_response(&mut response);
            let status = format!("HTTP/1.1 {} ", e.status().code());
            assert!(response.starts_with(status.as_bytes()));
            None
        }
    }
}

/// A request written again from its parts parses into the same parts.
fn check_request_round_trip(request: &Request) {
    let target = match request.query() {
        Some(query) => format!("{}?{query}", request.path()),
        None => request.path().to_owned(),
    };
    let protocols: Vec<&str> = request.protocols().iter().map(String::as_str).collect();
    let mut wire = BytesMut::new();
    write_request(
        request.host(),
        &target,
        request.key(),
        &protocols,
        request.origin(),
        &mut wire,
    );
    let again = match RequestDecoder::new(usize::MAX).decode(&mut wire) {
        Ok(Some(again)) => again,
        other => panic!("a rewritten request did not parse: {other:?} from {request:?}"),
    };
    assert!(wire.is_empty());
    let parts = |r: &Request| {
        (
            r.path().to_owned(),
            r.query().map(str::to_owned),
            r.host().to_owned(),
            r.key().to_owned(),
            r.protocols().to_vec(),
            r.origin().map(str::to_owned),
        )
    };
    assert_eq!(parts(&again), parts(request), "rewritten request changed");
}

/// The `decode_websocket` fuzz target. Byte 0 picks the check (modulo 4): 0 the
/// handshake, then frames from whatever follows the request; 1 a server's message
/// decoder; 2 a client's message decoder; 3 structured round trips. Bytes 1-2 (little
/// endian) give where the rest is split.
pub fn check_fuzz_input(data: &[u8]) {
    let [selector, lo, hi, rest @ ..] = data else {
        return;
    };
    let cut = usize::from(u16::from_le_bytes([*lo, *hi]));
    match selector % 4 {
        0 => {
            if let Some(frames) = check_handshake(rest, cut) {
                check_decode_stream(&frames, Role::Server, cut);
            }
        }
        1 => check_decode_stream(rest, Role::Server, cut),
        2 => check_decode_stream(rest, Role::Client, cut),
        _ => check_round_trip(rest),
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn bytes(max: usize) -> impl Strategy<Value = Vec<u8>> {
        proptest::collection::vec(any::<u8>(), 0..max)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        /// Client streams (random masks, random fragments, control frames in between)
        /// decode into their messages wherever they are split; the server's encoder
        /// round-trips the same messages.
        #[test]
        fn client_streams_round_trip(data in bytes(4096)) {
            check_round_trip(&data);
        }

        /// The same stream, split at every one of several random points at once.
        #[test]
        fn split_anywhere(data in bytes(2048), cuts in proptest::collection::vec(any::<usize>(), 0..16)) {
            let mut u = Unstructured::new(&data);
            if let Ok(stream) = arbitrary_client_stream(&mut u) {
                let mut cuts: Vec<usize> = cuts.iter().map(|c| c % (stream.bytes.len() + 1)).collect();
                cuts.sort_unstable();
                check_client_stream(&stream, &cuts);
            }
        }

        /// Arbitrary bytes keep the decoders' contracts, whatever the split.
        #[test]
        fn arbitrary_frames_keep_the_contract(data in bytes(512), cut in 0usize..512, server in any::<bool>()) {
            check_decode_stream(&data, if server { Role::Server } else { Role::Client }, cut);
        }

        /// Arbitrary bytes after a valid request line keep the handshake's contract.
        #[test]
        fn arbitrary_requests_keep_the_contract(data in bytes(512), cut in 0usize..600) {
            let mut input = b"GET /mqtt HTTP/1.1\r\n".to_vec();
            input.extend_from_slice(&data);
            check_handshake(&input, cut);
            check_handshake(&data, cut);
        }

        /// Every valid request, written by `write_request`, is accepted with its parts.
        #[test]
        fn written_requests_parse(
            path in "/[a-z0-9/._~-]{0,20}",
            query in proptest::option::of("[a-z0-9=&%]{0,20}"),
            host in "[a-z0-9.-]{1,20}(:[0-9]{1,5})?",
            nonce in any::<[u8; 16]>(),
            protocols in proptest::collection::vec("[a-z0-9.]{1,12}", 0..4),
            origin in proptest::option::of("https?://[a-z.]{1,20}"),
            extra in bytes(64),
            cut in 0usize..400,
        ) {
            let target = match &query { Some(q) => format!("{path}?{q}"), None => path.clone() };
            let key = crate::response::encode_key(nonce);
            let offered: Vec<&str> = protocols.iter().map(String::as_str).collect();
            let mut wire = BytesMut::new();
            write_request(&host, &target, &key, &offered, origin.as_deref(), &mut wire);
            wire.extend_from_slice(&extra);
            let mut input = vec![0, 0, 0];
            input.extend_from_slice(&wire);
            let rest = check_handshake(&input[3..], cut);
            prop_assert_eq!(rest.as_deref(), Some(&extra[..]));
            let request = RequestDecoder::default().decode(&mut wire).unwrap().unwrap();
            prop_assert_eq!(request.path(), path.as_str());
            prop_assert_eq!(request.query(), query.as_deref());
            prop_assert_eq!(request.host(), host.as_str());
            prop_assert_eq!(request.key(), key.as_str());
            prop_assert_eq!(request.protocols(), protocols.as_slice());
            prop_assert_eq!(request.origin(), origin.as_deref());
            check_fuzz_input(&input);
        }
    }

    /// Each message kind gets its own cases, so none is skipped by chance.
    #[test]
    fn each_message_kind_round_trips() {
        let mut runner = proptest::test_runner::TestRunner::default();
        for kind in 0..=4u8 {
            runner
                .run(&bytes(1024), |data| {
                    let mut input = vec![kind];
                    input.extend_from_slice(&data);
                    let mut u = Unstructured::new(&input);
                    if let Ok(message) = arbitrary_message(&mut u) {
                        let stream = ClientStream {
                            bytes: encode_as_client(
                                std::slice::from_ref(&message),
                                &mut ClientEncoder::new(9),
                            ),
                            messages: vec![message],
                        };
                        check_client_stream(&stream, &[1]);
                        check_server_encoding(&stream.messages, Encoder::new(), Some(3));
                    }
                    Ok(())
                })
                .unwrap();
        }
    }

    /// The checks end when their input does (`arbitrary` answers with defaults once the
    /// data runs out).
    #[test]
    fn checks_end_with_their_input() {
        for input in [
            &[][..],
            &[3],
            &[3, 0, 0],
            &[3, 0, 0, 255, 255, 255],
            &[0xFF; 300],
        ] {
            check_fuzz_input(input);
        }
    }
}
