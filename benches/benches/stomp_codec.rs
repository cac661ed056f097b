//! STOMP codec benches: `switchyard-stomp` decoding and encoding the frames a gateway
//! handles most, in STOMP 1.2 (CONNECT before negotiation, as a server reads it).
//!
//! - Decode: a buffer holding `n` copies of the frame is prepared outside the
//!   measurement (criterion's `iter_batched_ref`); the measured routine decodes all `n`
//!   frames and drops them. Time per frame = reported time / `n` (the benchmark id says
//!   `n`). Throughput is in bytes of wire data. SEND and MESSAGE come twice: `cl`, with
//!   `content-length` (the body is sliced off without being read), and `nul`, without
//!   (the decoder searches the body for its NUL, as for frames from clients that omit
//!   the header).
//! - Encode: one frame is appended to a cleared, reused buffer per iteration.
//!   `Frame::encode` always writes `content-length` for a non-empty body, so encoding
//!   has no `nul` variant. MESSAGE is also written by `MessageFrame`, the builder the
//!   gateway uses per subscriber (no `Frame`, no header list).
//!
//! Before measuring, each case checks that the wire bytes decode to the expected frame
//! and that the encoder writes bytes that decode to it again.
//!
//! Run: `cargo bench -p switchyard-benches --bench stomp_codec`, or a subset, e.g.
//! `cargo bench -p switchyard-benches --bench stomp_codec -- decode_send`.

use std::hint::black_box;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use criterion::{BatchSize, BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use switchyard_stomp::{Command, Decoder, Frame, Header, Item, Limits, MessageFrame, Version};

/// The version of every case but CONNECT.
const VERSION: Version = Version::V1_2;

/// About how many bytes a decode buffer holds; it holds at least 4 and at most 1,024
/// frames.
const DECODE_BUFFER_BYTES: usize = 256 * 1024;

const DESTINATION: &str = "/queue/orders.eu-west.priority";
const CONTENT_TYPE: &str = "application/json;charset=utf-8";
const MESSAGE_ID: &str = "T_sub-0@@session-5f2a9c@@1@@184467";
const SUBSCRIPTION: &str = "sub-0";
const ACK: &str = "ack-5f2a9c-184467";

fn benches(c: &mut Criterion) {
    for (size_name, size) in [("16B", 16), ("1KiB", 1024), ("64KiB", 64 * 1024)] {
        send_case(c, size_name, size);
        message_case(c, size_name, size);
    }
    let connect = Frame::new(Command::Connect)
        .with_header("accept-version", "1.0,1.1,1.2")
        .with_header("host", "broker.example.com")
        .with_header("login", "device-0001")
        .with_header("passcode", "s3cr3t-p4ssw0rd")
        .with_header("heart-beat", "10000,10000");
    let wire = encoded(&connect);
    decode_case(c, "connect", None, &wire, &connect);
    encode_case(c, "connect", &connect);

    let subscribe = Frame::new(Command::Subscribe)
        .with_header("id", SUBSCRIPTION)
        .with_header("destination", DESTINATION)
        .with_header("ack", "client-individual")
        .with_header("receipt", "r-17")
        .with_header("selector", "region = 'eu-west' AND priority > 3");
    let wire = encoded(&subscribe);
    decode_case(c, "subscribe", Some(VERSION), &wire, &subscribe);
    encode_case(c, "subscribe", &subscribe);
}

/// A body of `size` bytes: with NULs for `content-length` frames, without for the
/// others (whose body ends at the first NUL).
fn body(size: usize, with_nul: bool) -> Bytes {
    (0..size)
        .map(|i| {
            if with_nul {
                (i % 251) as u8
            } else {
                (i % 251) as u8 + 1
            }
        })
        .collect::<Vec<u8>>()
        .into()
}

fn send_case(c: &mut Criterion, size_name: &str, size: usize) {
    let send = |body| {
        Frame::new(Command::Send)
            .with_header("destination", DESTINATION)
            .with_header("content-type", CONTENT_TYPE)
            .with_header("persistent", "true")
            .with_body(body)
    };
    let with_cl = send(body(size, true));
    decode_case(
        c,
        &format!("send_{size_name}_cl"),
        Some(VERSION),
        &encoded(&with_cl),
        &with_cl,
    );
    encode_case(c, &format!("send_{size_name}"), &with_cl);
    let without = send(body(size, false));
    let wire = without_content_length(&without);
    decode_case(
        c,
        &format!("send_{size_name}_nul"),
        Some(VERSION),
        &wire,
        &without,
    );
}

fn message_case(c: &mut Criterion, size_name: &str, size: usize) {
    let extra = [
        Header::from_static("content-type", CONTENT_TYPE),
        Header::from_static("persistent", "true"),
        Header::from_static("x-trace-id", "4bf92f3577b34da6a3ce929d0e0e4736"),
    ];
    let message = |body: Bytes| {
        let mut frame = Frame::new(Command::Message)
            .with_header("destination", DESTINATION)
            .with_header("message-id", MESSAGE_ID)
            .with_header("subscription", SUBSCRIPTION)
            .with_header("ack", ACK)
            .with_body(body);
        frame.headers.extend(extra.iter().cloned());
        frame
    };
    let with_cl = message(body(size, true));
    let wire = encoded(&with_cl);
    decode_case(
        c,
        &format!("message_{size_name}_cl"),
        Some(VERSION),
        &wire,
        &with_cl,
    );
    encode_case(c, &format!("message_{size_name}"), &with_cl);
    let without = message(body(size, false));
    let nul_wire = without_content_length(&without);
    decode_case(
        c,
        &format!("message_{size_name}_nul"),
        Some(VERSION),
        &nul_wire,
        &without,
    );

    // The builder writes the same bytes as `Frame::encode`.
    let builder = MessageFrame {
        destination: DESTINATION,
        message_id: MESSAGE_ID,
        subscription: SUBSCRIPTION,
        ack: Some(ACK),
        headers: &extra,
        body: &with_cl.body,
    };
    let mut built = BytesMut::new();
    builder
        .encode(VERSION, &mut built)
        .expect("builder encodes");
    assert_eq!(built, wire, "MessageFrame and Frame::encode differ");
    let mut group = c.benchmark_group(format!("encode_message_{size_name}"));
    group.throughput(Throughput::Bytes(wire.len() as u64));
    let mut buf = BytesMut::with_capacity(wire.len());
    group.bench_function("message_frame", |b| {
        b.iter(|| {
            buf.clear();
            black_box(black_box(&builder).encode(VERSION, &mut buf)).expect("encodes");
        });
    });
    group.finish();
}

fn encoded(frame: &Frame) -> BytesMut {
    let mut wire = BytesMut::new();
    frame.encode(VERSION, &mut wire).expect("frame encodes");
    wire
}

/// `frame` written without `content-length` (its body has no NUL).
fn without_content_length(frame: &Frame) -> BytesMut {
    assert!(!frame.body.contains(&0));
    let mut wire = BytesMut::new();
    wire.extend_from_slice(frame.command.as_str().as_bytes());
    wire.extend_from_slice(b"\n");
    for h in &frame.headers {
        wire.extend_from_slice(h.name.as_bytes());
        wire.extend_from_slice(b":");
        wire.extend_from_slice(h.value.as_bytes());
        wire.extend_from_slice(b"\n");
    }
    wire.extend_from_slice(b"\n");
    wire.extend_from_slice(&frame.body);
    wire.extend_from_slice(b"\0");
    wire
}

fn new_decoder(version: Option<Version>) -> Decoder {
    match version {
        Some(v) => Decoder::with_version(v, Limits::DEFAULT),
        None => Decoder::new(Limits::DEFAULT),
    }
}

fn decode_case(
    c: &mut Criterion,
    name: &str,
    version: Option<Version>,
    wire: &[u8],
    expected: &Frame,
) {
    let decoded = new_decoder(version).decode(&mut BytesMut::from(wire));
    assert_eq!(decoded, Ok(Some(Item::Frame(expected.clone()))), "{name}");

    let n = (DECODE_BUFFER_BYTES / wire.len()).clamp(4, 1024);
    let mut stream = BytesMut::with_capacity(n * wire.len());
    for _ in 0..n {
        stream.extend_from_slice(wire);
    }
    let mut decoder = new_decoder(version);
    // Check once that the whole buffer decodes, so that no error path is measured.
    let mut check = stream.clone();
    for _ in 0..n {
        assert!(matches!(
            decoder.decode(&mut check),
            Ok(Some(Item::Frame(_)))
        ));
    }
    assert!(check.is_empty());

    let mut group = c.benchmark_group(format!("decode_{name}"));
    group.throughput(Throughput::Bytes((n * wire.len()) as u64));
    group.bench_function(BenchmarkId::new("switchyard", format!("x{n}")), |b| {
        b.iter_batched_ref(
            || stream.clone(),
            |buf| {
                for _ in 0..n {
                    let _ = black_box(decoder.decode(buf));
                }
            },
            BatchSize::PerIteration,
        );
    });
    group.finish();
}

fn encode_case(c: &mut Criterion, name: &str, frame: &Frame) {
    let wire = encoded(frame);
    let version = if frame.command == Command::Connect {
        None
    } else {
        Some(VERSION)
    };
    let decoded = new_decoder(version).decode(&mut wire.clone());
    assert_eq!(decoded, Ok(Some(Item::Frame(frame.clone()))), "{name}");

    let mut group = c.benchmark_group(format!("encode_{name}"));
    group.throughput(Throughput::Bytes(wire.len() as u64));
    let mut buf = BytesMut::with_capacity(wire.len());
    group.bench_function("frame_encode", |b| {
        b.iter(|| {
            buf.clear();
            black_box(black_box(frame).encode(VERSION, &mut buf)).expect("encodes");
        });
    });
    group.finish();
}

criterion_group! {
    name = stomp_codec;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = benches
}
criterion_main!(stomp_codec);
