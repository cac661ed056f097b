//! Generators of valid frames, and the checks that fuzz targets and property tests run.
//!
//! Built with the `arbitrary` feature (and in this crate's tests). The fuzz target
//! `decode_amqp` in `fuzz/` is one call to [`check_decode`]; the logic lives here so
//! that it compiles, and is tested, with the crate.

#![expect(
    clippy::panic,
    reason = "fuzz and property checks report a failure by panicking"
)]

use arbitrary::{Arbitrary, Result, Unstructured};
use bytes::{Bytes, BytesMut};

use crate::codec::{Decoder, Encoder};
use crate::error::DecodeError;
use crate::frame::{FRAME_MIN_SIZE, Frame, PROTOCOL_HEADER, ProtocolHeaderStatus};
use crate::method::{BasicDeliver, Method, class};
use crate::properties::{BasicProperties, ContentHeader};
use crate::table::{FieldTable, FieldValue};
use crate::types::{LongString, ShortString};

/// Nesting depth of generated tables (well inside [`MAX_NESTING`](crate::MAX_NESTING)).
const GEN_DEPTH: usize = 3;

/// The frame-max settings [`check_decode`] picks from (0: no limit).
pub const FRAME_MAXES: [u32; 4] = [FRAME_MIN_SIZE, 0, 64, 131_072];

impl<'a> Arbitrary<'a> for ShortString {
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        let len = u.int_in_range(0..=Self::MAX_LEN)?.min(u.len());
        Ok(Self::from_checked(Bytes::copy_from_slice(u.bytes(len)?)))
    }
}

impl<'a> Arbitrary<'a> for LongString {
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        Ok(Self::from(u.arbitrary::<Vec<u8>>()?))
    }
}

impl<'a> Arbitrary<'a> for FieldTable {
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        arbitrary_table(u, GEN_DEPTH)
    }
}

impl<'a> Arbitrary<'a> for FieldValue {
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        arbitrary_value(u, GEN_DEPTH)
    }
}

/// A table of up to 6 entries whose nested tables go `depth` levels further at most.
pub fn arbitrary_table(u: &mut Unstructured<'_>, depth: usize) -> Result<FieldTable> {
    let n = u.int_in_range(0..=6)?;
    let mut t = FieldTable::with_capacity(n);
    for _ in 0..n {
        let key = ShortString::arbitrary(u)?;
        let value = arbitrary_value(u, depth)?;
        t.push(key, value);
    }
    Ok(t)
}

/// A value of any of the 17 types; arrays and tables only while `depth > 0`.
pub fn arbitrary_value(u: &mut Unstructured<'_>, depth: usize) -> Result<FieldValue> {
    let kinds = if depth == 0 { 15 } else { 17 };
    Ok(match u.int_in_range(0..=kinds - 1)? {
        0 => FieldValue::Boolean(u.arbitrary()?),
        1 => FieldValue::ShortShortInt(u.arbitrary()?),
        2 => FieldValue::ShortShortUInt(u.arbitrary()?),
        3 => FieldValue::ShortInt(u.arbitrary()?),
        4 => FieldValue::ShortUInt(u.arbitrary()?),
        5 => FieldValue::LongInt(u.arbitrary()?),
        6 => FieldValue::LongUInt(u.arbitrary()?),
        7 => FieldValue::LongLongInt(u.arbitrary()?),
        8 => FieldValue::Float(u.arbitrary()?),
        9 => FieldValue::Double(u.arbitrary()?),
        10 => FieldValue::Decimal {
            scale: u.arbitrary()?,
            value: u.arbitrary()?,
        },
        11 => FieldValue::LongString(u.arbitrary()?),
        12 => FieldValue::ByteArray(Bytes::from(u.arbitrary::<Vec<u8>>()?)),
        13 => FieldValue::Timestamp(u.arbitrary()?),
        14 => FieldValue::Void,
        15 => {
            let n = u.int_in_range(0..=4)?;
            let mut values = Vec::with_capacity(n);
            for _ in 0..n {
                values.push(arbitrary_value(u, depth - 1)?);
            }
            FieldValue::Array(values)
        }
        _ => FieldValue::Table(arbitrary_table(u, depth - 1)?),
    })
}

/// A valid frame: methods on the channel their class requires, content frames on a
/// channel other than 0.
pub fn arbitrary_frame(u: &mut Unstructured<'_>) -> Result<Frame> {
    let channel = u.int_in_range(1..=u16::MAX)?;
    Ok(match u.int_in_range(0..=7)? {
        0..=3 => {
            let index = u.arbitrary::<u8>()?;
            let method = Method::arbitrary_of(usize::from(index), u)?;
            let channel = if method.class_id() == class::CONNECTION {
                0
            } else {
                channel
            };
            Frame::Method { channel, method }
        }
        4 | 5 => Frame::Header {
            channel,
            header: u.arbitrary()?,
        },
        6 => Frame::Body {
            channel,
            body: Bytes::from(u.arbitrary::<Vec<u8>>()?),
        },
        _ => Frame::Heartbeat,
    })
}

/// Encodes `frame` without frame-max and checks that it decodes back to itself, alone
/// and consuming every octet, and that every strict prefix is "need more".
pub fn check_round_trip(frame: &Frame) -> BytesMut {
    let mut encoder = Encoder::new();
    encoder.set_frame_max(0);
    let mut wire = BytesMut::new();
    if let Err(e) = encoder.encode(frame, &mut wire) {
        panic!("a valid frame failed to encode: {e}: {frame:?}");
    }
    let encoded = wire.clone();
    let mut decoder = Decoder::new();
    decoder.set_frame_max(0);
    match decoder.decode(&mut wire) {
        Ok(Some(decoded)) => assert_eq!(&decoded, frame, "round trip changed the frame"),
        other => panic!("encoded frame did not decode: {other:?}"),
    }
    assert!(
        wire.is_empty(),
        "{} octets left after the frame",
        wire.len()
    );
    for cut in [0, 1, 6, 7, encoded.len() / 2, encoded.len() - 1] {
        let Some(prefix) = encoded.get(..cut.min(encoded.len() - 1)) else {
            continue;
        };
        let mut partial = BytesMut::from(prefix);
        assert_eq!(decoder.decode(&mut partial), Ok(None), "prefix of {cut}");
        assert_eq!(partial.len(), prefix.len(), "a prefix was consumed");
    }
    encoded
}

/// What a decoder made of a stream: the frames, then the error that ended it, if any.
pub type Decoded = (Vec<Frame>, Option<DecodeError>);

/// Decodes `parts` in turn (appended to one buffer) with `new_decoder()`, checking the
/// contract, and returns the frames and the error that ended the stream.
pub fn decode_stream(new_decoder: impl Fn() -> Decoder, parts: &[&[u8]]) -> Decoded {
    let mut decoder = new_decoder();
    let mut buf = BytesMut::new();
    let mut frames = Vec::new();
    for part in parts {
        buf.extend_from_slice(part);
        loop {
            let before = buf.len();
            match decoder.decode(&mut buf) {
                Ok(Some(frame)) => {
                    let consumed = before - buf.len();
                    assert!(consumed >= 8, "a frame consumed {consumed} octets");
                    let canonical = check_round_trip(&frame);
                    assert!(
                        canonical.len() <= consumed,
                        "canonical encoding ({}) longer than the input ({consumed})",
                        canonical.len()
                    );
                    if decoder.frame_max() != 0 {
                        // The canonical encoding passes the limit the input passed.
                        let mut again = canonical.clone();
                        assert_eq!(
                            decoder.decode(&mut again).map(|f| f.is_some()),
                            Ok(true),
                            "canonical encoding refused at the input's limits"
                        );
                    }
                    frames.push(frame);
                }
                Ok(None) => {
                    assert_eq!(buf.len(), before, "Ok(None) consumed octets");
                    break;
                }
                Err(e) => {
                    assert_ne!(e.reply_code().code(), 0);
                    return (frames, Some(e));
                }
            }
        }
    }
    (frames, None)
}

/// The fuzz target `decode_amqp`. Byte 0 picks the decoder's frame-max
/// ([`FRAME_MAXES`], bits 0-1) and channel-max (bit 2: none or 7); byte 1 says where
/// to split the rest; the rest is the stream (and, when bit 7 of byte 0 is set, also
/// the input of [`check_structured`]). Checks: the protocol-header reader's
/// answer, the decoder contract, that every frame re-encodes canonically and decodes
/// back to itself, and that the split changes nothing.
pub fn check_decode(data: &[u8]) {
    let [mode, cut, stream @ ..] = data else {
        return;
    };
    check_protocol_header(stream);
    if mode & 0x80 != 0 {
        check_structured(stream);
    }
    let frame_max = FRAME_MAXES.get(usize::from(mode & 3)).copied().unwrap_or(0);
    let channel_max = if mode & 4 == 0 { 0 } else { 7 };
    let new_decoder = || {
        let mut d = Decoder::new();
        d.set_frame_max(frame_max);
        d.set_channel_max(channel_max);
        d
    };
    let whole = decode_stream(new_decoder, &[stream]);
    let cut = usize::from(*cut) * stream.len() / 256;
    let (a, b) = stream.split_at(cut.min(stream.len()));
    let split = decode_stream(new_decoder, &[a, b]);
    assert_eq!(
        whole, split,
        "splitting the stream at {cut} changed the result"
    );
}

/// [`read_protocol_header`](crate::read_protocol_header) accepts exactly the 0-9-1
/// header, answers as soon as an octet differs, and consumes only what it accepts.
pub fn check_protocol_header(data: &[u8]) {
    let mut buf = BytesMut::from(data);
    let status = crate::read_protocol_header(&mut buf);
    let n = data.len().min(8);
    let expected = if data.get(..n) != PROTOCOL_HEADER.get(..n) {
        ProtocolHeaderStatus::Rejected
    } else if n < 8 {
        ProtocolHeaderStatus::Incomplete
    } else {
        ProtocolHeaderStatus::Accepted
    };
    assert_eq!(status, expected);
    let consumed = if status == ProtocolHeaderStatus::Accepted {
        8
    } else {
        0
    };
    assert_eq!(buf.len(), data.len() - consumed);
}

/// Structured input: up to 8 valid frames in one stream decode back to themselves; a
/// message encoded at a small frame-max comes back as method, header and body frames
/// within the limit; [`Encoder::encode_deliver`] writes what
/// [`Encoder::encode_message`] writes.
pub fn check_structured(data: &[u8]) {
    let mut u = Unstructured::new(data);
    let mut frames = Vec::new();
    let mut wire = BytesMut::new();
    let mut encoder = Encoder::new();
    encoder.set_frame_max(0);
    while frames.len() < 8 && !u.is_empty() {
        let Ok(frame) = arbitrary_frame(&mut u) else {
            break;
        };
        if let Err(e) = encoder.encode(&frame, &mut wire) {
            panic!("valid frame failed to encode: {e}");
        }
        frames.push(frame);
    }
    let decoded = decode_stream(
        || {
            let mut d = Decoder::new();
            d.set_frame_max(0);
            d
        },
        &[&wire],
    );
    assert_eq!(decoded, (frames, None));

    let Ok((deliver, properties, body, frame_max)) = arbitrary_message(&mut u) else {
        return;
    };
    check_message(&deliver, &properties, &body, frame_max);
}

/// A delivery with properties, a body and a frame-max (0, or 4096 and up).
pub fn arbitrary_message(
    u: &mut Unstructured<'_>,
) -> Result<(BasicDeliver, BasicProperties, Vec<u8>, u32)> {
    let deliver = BasicDeliver::arbitrary(u)?;
    let properties = BasicProperties::arbitrary(u)?;
    let body: Vec<u8> = u.arbitrary()?;
    let frame_max = if u.ratio(1, 4)? {
        0
    } else {
        u.int_in_range(FRAME_MIN_SIZE..=FRAME_MIN_SIZE * 4)?
    };
    Ok((deliver, properties, body, frame_max))
}

/// Encodes a delivery at `frame_max` both ways and decodes it back frame by frame.
pub fn check_message(
    deliver: &BasicDeliver,
    properties: &BasicProperties,
    body: &[u8],
    frame_max: u32,
) {
    let mut encoder = Encoder::new();
    encoder.set_frame_max(frame_max);
    let method = Method::BasicDeliver(deliver.clone());
    let mut a = BytesMut::new();
    let mut b = BytesMut::new();
    let ra = encoder.encode_message(3, &method, properties, body, &mut a);
    let rb = encoder.encode_deliver(3, deliver, properties, body, &mut b);
    assert_eq!(ra, rb);
    assert_eq!(a, b, "encode_deliver and encode_message differ");
    if ra.is_err() {
        // Only a header larger than a small frame-max fails; nothing is left behind.
        assert!(a.is_empty());
        return;
    }
    let mut decoder = Decoder::new();
    decoder.set_frame_max(frame_max);
    let mut frames = Vec::new();
    loop {
        let before = a.len();
        match decoder.decode(&mut a) {
            Ok(Some(f)) => {
                assert!(frame_max == 0 || before - a.len() <= frame_max as usize);
                frames.push(f);
            }
            Ok(None) => break,
            Err(e) => panic!("encoded message failed to decode: {e}"),
        }
    }
    assert!(a.is_empty());
    let mut frames = frames.into_iter();
    assert_eq!(frames.next(), Some(Frame::Method { channel: 3, method }));
    assert_eq!(
        frames.next(),
        Some(Frame::Header {
            channel: 3,
            header: ContentHeader::new(body.len() as u64, properties.clone()),
        })
    );
    let mut joined = Vec::new();
    for f in frames {
        let Frame::Body { channel: 3, body } = f else {
            panic!("expected a body frame, got {f:?}");
        };
        assert!(!body.is_empty());
        joined.extend_from_slice(&body);
    }
    assert_eq!(joined, body);
}

/// The seeds of `fuzz/seeds/decode_amqp`: a name and the fuzz input (mode byte, cut
/// byte, stream) of each. One method frame per method, fields drawn from a fixed
/// pattern; connection.start with a server-properties table holding every field type;
/// a publish with header and body split in three frames; a heartbeat; and a stream of
/// all of them.
pub fn seeds() -> Vec<(String, Vec<u8>)> {
    let pattern: Vec<u8> = (0u32..4096)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let mut encoder = Encoder::new();
    encoder.set_frame_max(0);
    let mut out = Vec::new();
    let mut all = BytesMut::new();
    for (index, &(_, _, name)) in Method::ALL.iter().enumerate() {
        let offset = index * 37 % 2048;
        let mut u = Unstructured::new(pattern.get(offset..).unwrap_or_default());
        let Ok(method) = Method::arbitrary_of(index, &mut u) else {
            continue;
        };
        let channel = if method.class_id() == class::CONNECTION {
            0
        } else {
            1
        };
        let mut wire = BytesMut::new();
        if encoder.encode_method(channel, &method, &mut wire).is_err() {
            continue;
        }
        all.extend_from_slice(&wire);
        out.push((format!("method-{name}"), seed(0x01, &wire)));
    }
    let mut wire = BytesMut::new();
    let start = Method::ConnectionStart(crate::method::ConnectionStart {
        version_major: 0,
        version_minor: 9,
        server_properties: every_field_type(),
        mechanisms: LongString::from_static("PLAIN AMQPLAIN"),
        locales: LongString::from_static("en_US"),
    });
    let _ = encoder.encode_method(0, &start, &mut wire);
    all.extend_from_slice(&wire);
    out.push(("connection-start-every-field-type".into(), seed(0, &wire)));
    let mut wire = BytesMut::new();
    let mut small = Encoder::new();
    small.set_frame_max(64);
    let publish = Method::BasicPublish(crate::method::BasicPublish {
        exchange: ShortString::from_static("amq.topic"),
        routing_key: ShortString::from_static("a.b"),
        mandatory: true,
        immediate: false,
    });
    let properties = BasicProperties {
        content_type: Some(ShortString::from_static("text/plain")),
        delivery_mode: Some(2),
        headers: Some(FieldTable::new().with(ShortString::from_static("x"), 1)),
        ..BasicProperties::default()
    };
    let _ = small.encode_message(1, &publish, &properties, &[b'x'; 120], &mut wire);
    all.extend_from_slice(&wire);
    out.push(("publish-header-three-bodies".into(), seed(0x02, &wire)));
    let mut wire = BytesMut::new();
    Encoder::encode_heartbeat(&mut wire);
    all.extend_from_slice(&wire);
    out.push(("heartbeat".into(), seed(0, &wire)));
    out.push(("all".into(), seed(0x01, &all)));
    out.push(("protocol-header".into(), seed(0, &PROTOCOL_HEADER)));
    out
}

fn seed(mode: u8, wire: &[u8]) -> Vec<u8> {
    let mut v = vec![mode, 128];
    v.extend_from_slice(wire);
    v
}

/// A table with one value of each of the 17 types, a nested table and an array.
pub fn every_field_type() -> FieldTable {
    let s = ShortString::from_static;
    FieldTable::new()
        .with(s("t"), FieldValue::Boolean(true))
        .with(s("b"), FieldValue::ShortShortInt(-1))
        .with(s("B"), FieldValue::ShortShortUInt(255))
        .with(s("s"), FieldValue::ShortInt(-2))
        .with(s("u"), FieldValue::ShortUInt(65_535))
        .with(s("I"), FieldValue::LongInt(-3))
        .with(s("i"), FieldValue::LongUInt(4_000_000_000))
        .with(s("l"), FieldValue::LongLongInt(-4))
        .with(s("f"), FieldValue::Float(1.5))
        .with(s("d"), FieldValue::Double(-2.25))
        .with(
            s("D"),
            FieldValue::Decimal {
                scale: 2,
                value: 314,
            },
        )
        .with(
            s("S"),
            FieldValue::LongString(LongString::from_static("long")),
        )
        .with(
            s("x"),
            FieldValue::ByteArray(Bytes::from_static(b"\x00\xff")),
        )
        .with(
            s("A"),
            FieldValue::Array(vec![FieldValue::LongInt(1), FieldValue::Void]),
        )
        .with(s("T"), FieldValue::Timestamp(1_700_000_000))
        .with(
            s("F"),
            FieldValue::Table(FieldTable::new().with(s("nested"), true)),
        )
        .with(s("V"), FieldValue::Void)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn method_round_trip(index: usize, data: &[u8]) {
        let mut u = Unstructured::new(data);
        if let Ok(method) = Method::arbitrary_of(index, &mut u) {
            let (class_id, method_id, _) = Method::ALL[index % Method::ALL.len()];
            assert_eq!(
                (method.class_id(), method.method_id()),
                (class_id, method_id)
            );
            let channel = if class_id == class::CONNECTION { 0 } else { 9 };
            check_round_trip(&Frame::Method { channel, method });
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// Every method survives encode + decode unchanged.
        #[test]
        fn every_method_round_trips(
            index in 0usize..64,
            data in proptest::collection::vec(any::<u8>(), 0..1024),
        ) {
            method_round_trip(index, &data);
        }

        /// Field tables of every type, nested, survive a round trip (inside a
        /// connection.start-ok's client properties).
        #[test]
        fn field_tables_round_trip(data in proptest::collection::vec(any::<u8>(), 0..2048)) {
            let mut u = Unstructured::new(&data);
            if let Ok(table) = arbitrary_table(&mut u, GEN_DEPTH) {
                let method = Method::ConnectionStartOk(crate::method::ConnectionStartOk {
                    client_properties: table,
                    ..Default::default()
                });
                check_round_trip(&Frame::Method { channel: 0, method });
            }
        }

        /// Content headers with any subset of the 14 properties survive a round trip.
        #[test]
        fn content_headers_round_trip(
            channel in 1u16..,
            data in proptest::collection::vec(any::<u8>(), 0..2048),
        ) {
            let mut u = Unstructured::new(&data);
            if let Ok(header) = <ContentHeader as arbitrary::Arbitrary>::arbitrary(&mut u) {
                check_round_trip(&Frame::Header { channel, header });
            }
        }

        /// Messages split by frame-max decode back to method, header and body.
        #[test]
        fn messages_split_by_frame_max(data in proptest::collection::vec(any::<u8>(), 0..8192)) {
            let mut u = Unstructured::new(&data);
            if let Ok((d, p, body, frame_max)) = arbitrary_message(&mut u) {
                check_message(&d, &p, &body, frame_max);
            }
        }

        /// Arbitrary bytes never break the decoder's contract, whatever the split.
        #[test]
        fn arbitrary_streams_keep_the_contract(data in proptest::collection::vec(any::<u8>(), 0..512)) {
            check_decode(&data);
        }

        /// Streams of valid frames decode back to them.
        #[test]
        fn structured_streams_round_trip(data in proptest::collection::vec(any::<u8>(), 0..4096)) {
            check_structured(&data);
        }
    }

    /// Each method gets its own cases, so no method can be skipped by chance.
    #[test]
    fn each_method_round_trips() {
        let mut runner = proptest::test_runner::TestRunner::default();
        for index in 0..Method::ALL.len() {
            runner
                .run(&proptest::collection::vec(any::<u8>(), 0..512), |data| {
                    method_round_trip(index, &data);
                    Ok(())
                })
                .unwrap();
        }
        assert_eq!(Method::ALL.len(), 64);
    }

    /// Every seed passes the fuzz target.
    #[test]
    fn seeds_pass_the_target() {
        let seeds = seeds();
        assert!(seeds.len() > Method::ALL.len());
        for (name, data) in &seeds {
            check_decode(data);
            let (frames, error) = decode_stream(
                || {
                    let mut d = Decoder::new();
                    d.set_frame_max(0);
                    d
                },
                &[data.get(2..).unwrap()],
            );
            if name != "protocol-header" {
                assert_eq!(error, None, "{name}");
                assert!(!frames.is_empty(), "{name}");
            }
        }
    }

    /// The committed seeds in `fuzz/seeds/decode_amqp` are the ones [`seeds`] makes.
    #[test]
    fn committed_seeds_are_current() {
        let dir =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/seeds/decode_amqp");
        if !dir.exists() {
            return;
        }
        for (name, data) in seeds() {
            let on_disk = std::fs::read(dir.join(&name)).unwrap_or_default();
            assert_eq!(
                on_disk, data,
                "seed {name} is stale: run the ignored write_fuzz_seeds"
            );
        }
    }

    /// Rewrites `fuzz/seeds/decode_amqp`:
    /// `cargo test -p switchyard-amqp -- --ignored write_fuzz_seeds`.
    #[test]
    #[ignore = "writes files"]
    fn write_fuzz_seeds() {
        let dir =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/seeds/decode_amqp");
        std::fs::create_dir_all(&dir).unwrap();
        for (name, data) in seeds() {
            std::fs::write(dir.join(name), data).unwrap();
        }
    }

    /// The structured checker ends with its input.
    #[test]
    fn structured_check_ends_with_its_input() {
        check_structured(&[]);
        check_structured(&[0xFF; 300]);
        check_structured(&[0; 300]);
    }
}
