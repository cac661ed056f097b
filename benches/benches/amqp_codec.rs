//! AMQP 0-9-1 codec benches: `switchyard-amqp` decoding and encoding what a gateway
//! handles most.
//!
//! - `publish/{16B,1KiB,64KiB}`: basic.publish + content header (content-type,
//!   delivery-mode, a small headers table) + body, at frame-max 131072 (RabbitMQ's
//!   default), so 64 KiB is one body frame. Decode: a buffer holding `n` messages is
//!   prepared outside the measurement (`iter_batched_ref`); the routine decodes every
//!   frame of all `n` messages. Time per message = reported time / `n`. Encode:
//!   `Encoder::encode_message` into a cleared, reused buffer.
//! - `deliver/{16B,1KiB,64KiB}`: the server's hot path, `Encoder::encode_deliver`
//!   (method, header, body frames from borrowed parts); and decoding it (a client or a
//!   bridge).
//! - `start_ok`: connection.start-ok with a client-properties table as the Java and
//!   .NET clients send it (product, version, platform, a capabilities table of five
//!   booleans, connection_name).
//!
//! Before measuring, each case checks that the wire decodes to the expected frames.
//!
//! Run: `cargo bench -p switchyard-benches --bench amqp_codec -- --warm-up-time 1
//! --measurement-time 2`.

use std::hint::black_box;
use std::time::Duration;

use bytes::BytesMut;
use criterion::{BatchSize, BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use switchyard_amqp::{
    BasicDeliver, BasicProperties, BasicPublish, ConnectionStartOk, Decoder, Encoder, FieldTable,
    FieldValue, Frame, LongString, Method, ShortString,
};

const FRAME_MAX: u32 = 131_072;

/// About how many bytes a decode buffer holds (at least 4 messages).
const DECODE_BUFFER_BYTES: usize = 256 * 1024;

fn s(v: &'static str) -> ShortString {
    ShortString::from_static(v)
}

fn encoder() -> Encoder {
    let mut e = Encoder::new();
    e.set_frame_max(FRAME_MAX);
    e
}

fn decoder() -> Decoder {
    let mut d = Decoder::new();
    d.set_frame_max(FRAME_MAX);
    d
}

fn properties() -> BasicProperties {
    BasicProperties {
        content_type: Some(s("application/json")),
        delivery_mode: Some(2),
        headers: Some(FieldTable::new().with(s("x-tenant"), LongString::from_static("eu-west"))),
        message_id: Some(s("5f2a9c-184467")),
        ..Default::default()
    }
}

/// Decodes every frame in `buf`; returns how many.
fn decode_all(decoder: &mut Decoder, buf: &mut BytesMut) -> usize {
    let mut n = 0;
    while let Ok(Some(frame)) = decoder.decode(buf) {
        black_box(frame);
        n += 1;
    }
    n
}

fn decode_case(c: &mut Criterion, group: &str, name: &str, message: &[u8], frames_each: usize) {
    let n = (DECODE_BUFFER_BYTES / message.len()).clamp(4, 1024);
    let stream: Vec<u8> = message.repeat(n);
    assert_eq!(
        decode_all(&mut decoder(), &mut BytesMut::from(&stream[..])),
        n * frames_each
    );
    let mut g = c.benchmark_group(group);
    g.throughput(Throughput::Bytes(stream.len() as u64));
    g.bench_function(BenchmarkId::new(name, format!("n={n}")), |b| {
        b.iter_batched_ref(
            || BytesMut::from(&stream[..]),
            |buf| decode_all(&mut decoder(), buf),
            BatchSize::SmallInput,
        );
    });
    g.finish();
}

fn publish_cases(c: &mut Criterion, size_name: &str, size: usize) {
    let body = vec![b'x'; size];
    let publish = Method::BasicPublish(BasicPublish {
        exchange: s("amq.topic"),
        routing_key: s("orders.eu-west.priority"),
        mandatory: false,
        immediate: false,
    });
    let props = properties();
    let e = encoder();
    let mut wire = BytesMut::new();
    e.encode_message(1, &publish, &props, &body, &mut wire)
        .unwrap();
    let mut check = wire.clone();
    let mut d = decoder();
    assert_eq!(
        d.decode(&mut check).unwrap(),
        Some(Frame::Method {
            channel: 1,
            method: publish.clone()
        })
    );
    decode_case(c, "amqp_decode_publish", size_name, &wire, 3);

    let mut g = c.benchmark_group("amqp_encode_publish");
    g.throughput(Throughput::Bytes(wire.len() as u64));
    let mut buf = BytesMut::with_capacity(wire.len() * 2);
    g.bench_function(size_name, |b| {
        b.iter(|| {
            buf.clear();
            e.encode_message(1, &publish, &props, black_box(&body), &mut buf)
                .unwrap();
            black_box(buf.len())
        });
    });
    g.finish();
}

fn deliver_cases(c: &mut Criterion, size_name: &str, size: usize) {
    let body = vec![b'x'; size];
    let deliver = BasicDeliver {
        consumer_tag: s("amq.ctag-mWkJ3yDn0sTz8nA1bYgX7Q"),
        delivery_tag: 184_467,
        redelivered: false,
        exchange: s("amq.topic"),
        routing_key: s("orders.eu-west.priority"),
    };
    let props = properties();
    let e = encoder();
    let mut wire = BytesMut::new();
    e.encode_deliver(1, &deliver, &props, &body, &mut wire)
        .unwrap();

    let mut g = c.benchmark_group("amqp_encode_deliver");
    g.throughput(Throughput::Bytes(wire.len() as u64));
    let mut buf = BytesMut::with_capacity(wire.len() * 2);
    g.bench_function(size_name, |b| {
        b.iter(|| {
            buf.clear();
            e.encode_deliver(1, &deliver, &props, black_box(&body), &mut buf)
                .unwrap();
            black_box(buf.len())
        });
    });
    g.finish();
    decode_case(c, "amqp_decode_deliver", size_name, &wire, 3);
}

fn start_ok_case(c: &mut Criterion) {
    let capabilities: FieldTable = [
        "publisher_confirms",
        "exchange_exchange_bindings",
        "basic.nack",
        "consumer_cancel_notify",
        "connection.blocked",
        "authentication_failure_close",
    ]
    .into_iter()
    .map(|n| (s(n), FieldValue::Boolean(true)))
    .collect();
    let client_properties = FieldTable::new()
        .with(s("product"), LongString::from_static("RabbitMQ"))
        .with(s("version"), LongString::from_static("5.21.0"))
        .with(s("platform"), LongString::from_static("Java"))
        .with(
            s("copyright"),
            LongString::from_static(
                "Copyright (c) 2007-2024 Broadcom Inc. and/or its subsidiaries.",
            ),
        )
        .with(
            s("information"),
            LongString::from_static("Licensed under the MPL. See https://www.rabbitmq.com/"),
        )
        .with(s("capabilities"), capabilities)
        .with(
            s("connection_name"),
            LongString::from_static("orders-service-7f9c"),
        );
    let start_ok = Method::ConnectionStartOk(ConnectionStartOk {
        client_properties,
        mechanism: s("PLAIN"),
        response: LongString::from_static("\0device-0001\0s3cr3t-p4ssw0rd"),
        locale: s("en_US"),
    });
    let e = encoder();
    let mut wire = BytesMut::new();
    e.encode_method(0, &start_ok, &mut wire).unwrap();
    let mut check = wire.clone();
    assert_eq!(
        decoder().decode(&mut check).unwrap(),
        Some(Frame::Method {
            channel: 0,
            method: start_ok.clone()
        })
    );
    decode_case(c, "amqp_decode_start_ok", "start_ok", &wire, 1);
    let mut g = c.benchmark_group("amqp_encode_start_ok");
    g.throughput(Throughput::Bytes(wire.len() as u64));
    let mut buf = BytesMut::with_capacity(wire.len() * 2);
    g.bench_function("start_ok", |b| {
        b.iter(|| {
            buf.clear();
            e.encode_method(0, black_box(&start_ok), &mut buf).unwrap();
            black_box(buf.len())
        });
    });
    g.finish();
}

fn benches(c: &mut Criterion) {
    for (size_name, size) in [("16B", 16), ("1KiB", 1024), ("64KiB", 64 * 1024)] {
        publish_cases(c, size_name, size);
        deliver_cases(c, size_name, size);
    }
    start_ok_case(c);
}

criterion_group! {
    name = amqp;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(2));
    targets = benches
}
criterion_main!(amqp);
