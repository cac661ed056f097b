//! MQTT codec benches: `switchyard-mqtt` beside `mqttbytes` 0.6, on the same bytes.
//!
//! Every benchmark group holds one case (a packet, a protocol version, a direction) and
//! two functions, `switchyard` and `mqttbytes`, so that criterion prints them together;
//! the ratio of their times is what we report.
//!
//! - Decode: a buffer holding `n` copies of the packet is prepared outside the
//!   measurement (criterion's `iter_batched_ref`); the measured routine decodes all `n`
//!   packets and drops them. Time per packet = reported time / `n` (the benchmark id
//!   says `n`). Throughput is in bytes of wire data; neither crate reads a payload
//!   while decoding (both return it as a view), so the large-payload cases show the
//!   per-packet cost, and their GiB/s is not a memory bandwidth.
//! - Encode: one packet is appended to a cleared, reused buffer per iteration.
//!
//! Before measuring, each case checks that both crates encode the packet to identical
//! bytes and decode those bytes to the expected packet, so both sides do the same work.
//!
//! Run: `cargo bench -p switchyard-benches` (about five minutes), or a subset, e.g.
//! `cargo bench -p switchyard-benches -- decode_v311_publish`.

use std::hint::black_box;
use std::num::{NonZeroU16, NonZeroU32};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use criterion::{BatchSize, BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use mqttbytes::{v4, v5};
use switchyard_mqtt::{
    ByteString, Connect, ConnectProperties, Decoder, LastWill, Packet, Protocol, Publish,
    PublishProperties, QoS, RetainHandling, Subscribe, SubscribeProperties, Subscription,
    SubscriptionOptions, TopicFilter, TopicName, WillProperties,
};

/// The maximum packet size given to both decoders (mqttbytes compares it with the
/// remaining length, we with the whole packet; both accept every case).
const MAX_PACKET_SIZE: usize = 1 << 20;

/// About how many bytes a decode buffer holds; it holds at least 4 and at most 1,024
/// packets. (The buffer is copied before every iteration, outside the measurement but
/// not outside the suite's running time.)
const DECODE_BUFFER_BYTES: usize = 256 * 1024;

const TOPIC: &str = "sensors/building-7/floor-3/temperature";
const PACKET_ID: u16 = 42;

const CLIENT_ID: &str = "switchyard-bench-client-0001";
const WILL_TOPIC: &str = "clients/switchyard-bench-client-0001/status";
const WILL_PAYLOAD: &[u8] = b"offline";
const USERNAME: &str = "device-0001";
const PASSWORD: &str = "s3cr3t-p4ssw0rd";
const KEEP_ALIVE: u16 = 30;
const SESSION_EXPIRY: u32 = 3_600;
const RECEIVE_MAXIMUM: u16 = 100;
const WILL_DELAY: u32 = 10;

const MESSAGE_EXPIRY: u32 = 300;
const CONTENT_TYPE: &str = "application/json";

const SUBSCRIPTION_ID: u32 = 7;
/// Topic filters of the SUBSCRIBE case with their QoS.
const FILTERS: [(&str, u8); 5] = [
    ("sensors/+/temperature", 1),
    ("devices/abc-123/#", 2),
    ("home/livingroom/lights/status", 0),
    ("$SYS/broker/load/#", 0),
    ("fleet/+/+/telemetry", 1),
];

fn benches(c: &mut Criterion) {
    for (version, protocol) in [("v311", Protocol::V311), ("v5", Protocol::V5)] {
        for (size_name, size) in [("16B", 16), ("1KiB", 1024), ("64KiB", 64 * 1024)] {
            for qos in [QoS::AtMostOnce, QoS::AtLeastOnce] {
                let name = format!("publish_qos{}_{size_name}", qos as u8);
                publish_case(c, version, protocol, &name, size, qos);
            }
        }
        connect_case(c, version, protocol);
        subscribe_case(c, version, protocol);
    }
}

/// The two crates' views of one benchmark case.
struct Case<'a, T, E, D> {
    /// `v311` or `v5`.
    version: &'a str,
    /// The case's name, e.g. `publish_qos0_16B`.
    name: &'a str,
    protocol: Protocol,
    /// Our packet.
    ours: Packet,
    /// mqttbytes' packet, as its `read` returns it.
    theirs: T,
    /// mqttbytes' encoder for that packet.
    their_encode: E,
    /// mqttbytes' `v4::read` or `v5::read`.
    their_decode: D,
}

fn run<T, E, D>(c: &mut Criterion, case: Case<'_, T, E, D>)
where
    T: PartialEq + std::fmt::Debug,
    E: Fn(&T, &mut BytesMut) -> Result<usize, mqttbytes::Error>,
    D: Fn(&mut BytesMut, usize) -> Result<T, mqttbytes::Error>,
{
    let Case {
        version,
        name,
        protocol,
        ours,
        theirs,
        their_encode,
        their_decode,
    } = case;

    // Same bytes on both sides, and both decode them to the packet we started from.
    let mut wire = BytesMut::new();
    ours.encode(protocol, &mut wire)
        .expect("switchyard encodes");
    let mut their_wire = BytesMut::new();
    their_encode(&theirs, &mut their_wire).expect("mqttbytes encodes");
    assert_eq!(wire, their_wire, "{version} {name}: encodings differ");
    let decoded = Decoder::with_protocol(protocol, MAX_PACKET_SIZE as u32)
        .decode(&mut wire.clone())
        .expect("switchyard decodes");
    assert_eq!(decoded.as_ref(), Some(&ours), "{version} {name}");
    let their_decoded =
        their_decode(&mut wire.clone(), MAX_PACKET_SIZE).expect("mqttbytes decodes");
    assert_eq!(their_decoded, theirs, "{version} {name}");

    let n = (DECODE_BUFFER_BYTES / wire.len()).clamp(4, 1024);
    let mut stream = BytesMut::with_capacity(n * wire.len());
    for _ in 0..n {
        stream.extend_from_slice(&wire);
    }
    let packets = u64::try_from(n).expect("n fits");
    let wire_len = u64::try_from(wire.len()).expect("length fits");

    let mut group = c.benchmark_group(format!("decode_{version}_{name}"));
    group.throughput(Throughput::Bytes(packets * wire_len));
    let mut decoder = Decoder::with_protocol(protocol, MAX_PACKET_SIZE as u32);
    // Check once that the whole buffer decodes, so that no error path is measured.
    let (mut check, mut their_check) = (stream.clone(), stream.clone());
    for _ in 0..n {
        assert!(matches!(decoder.decode(&mut check), Ok(Some(_))));
        assert!(their_decode(&mut their_check, MAX_PACKET_SIZE).is_ok());
    }
    assert!(check.is_empty() && their_check.is_empty());
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
    group.bench_function(BenchmarkId::new("mqttbytes", format!("x{n}")), |b| {
        b.iter_batched_ref(
            || stream.clone(),
            |buf| {
                for _ in 0..n {
                    let _ = black_box(their_decode(buf, MAX_PACKET_SIZE));
                }
            },
            BatchSize::PerIteration,
        );
    });
    group.finish();

    let mut group = c.benchmark_group(format!("encode_{version}_{name}"));
    group.throughput(Throughput::Bytes(wire_len));
    let mut buf = BytesMut::with_capacity(wire.len());
    group.bench_function("switchyard", |b| {
        b.iter(|| {
            buf.clear();
            black_box(black_box(&ours).encode(protocol, &mut buf)).expect("encodes");
        });
    });
    group.bench_function("mqttbytes", |b| {
        b.iter(|| {
            // mqttbytes' CONNECT writer patches the flags at a fixed offset, so it must
            // start from an empty buffer, as ours does here.
            buf.clear();
            black_box(their_encode(black_box(&theirs), &mut buf)).expect("encodes");
        });
    });
    group.finish();
}

fn publish_case(
    c: &mut Criterion,
    version: &str,
    protocol: Protocol,
    name: &str,
    size: usize,
    qos: QoS,
) {
    let payload = Bytes::from((0..size).map(|i| (i % 251) as u8).collect::<Vec<u8>>());
    let mut ours = Publish::new(topic_name(TOPIC), qos, payload.clone());
    let their_qos = their_qos(qos);
    let pkid = if qos == QoS::AtMostOnce { 0 } else { PACKET_ID };
    if qos != QoS::AtMostOnce {
        ours.packet_id = NonZeroU16::new(PACKET_ID);
    }
    match protocol {
        Protocol::V311 => {
            let mut theirs = v4::Publish::from_bytes(TOPIC, their_qos, payload);
            theirs.pkid = pkid;
            run(
                c,
                Case {
                    version,
                    name,
                    protocol,
                    ours: Packet::Publish(ours),
                    theirs: v4::Packet::Publish(theirs),
                    their_encode: |p: &v4::Packet, buf: &mut BytesMut| match p {
                        v4::Packet::Publish(p) => p.write(buf),
                        _ => unreachable!(),
                    },
                    their_decode: v4::read,
                },
            );
        }
        Protocol::V5 => {
            ours.properties = PublishProperties {
                message_expiry_interval: Some(MESSAGE_EXPIRY),
                content_type: Some(ByteString::from_static(CONTENT_TYPE)),
                ..PublishProperties::default()
            }
            .into();
            let mut theirs = v5::Publish::from_bytes(TOPIC, their_qos, payload);
            theirs.pkid = pkid;
            theirs.properties = Some(v5::PublishProperties {
                payload_format_indicator: None,
                message_expiry_interval: Some(MESSAGE_EXPIRY),
                topic_alias: None,
                response_topic: None,
                correlation_data: None,
                user_properties: Vec::new(),
                subscription_identifiers: Vec::new(),
                content_type: Some(CONTENT_TYPE.to_owned()),
            });
            run(
                c,
                Case {
                    version,
                    name,
                    protocol,
                    ours: Packet::Publish(ours),
                    theirs: v5::Packet::Publish(theirs),
                    their_encode: |p: &v5::Packet, buf: &mut BytesMut| match p {
                        v5::Packet::Publish(p) => p.write(buf),
                        _ => unreachable!(),
                    },
                    their_decode: v5::read,
                },
            );
        }
    }
}

/// CONNECT with a will (QoS 1, retained), a user name and a password; in MQTT 5 also a
/// session expiry interval, a receive maximum and a will delay interval.
fn connect_case(c: &mut Criterion, version: &str, protocol: Protocol) {
    let mut ours = Connect::new(protocol, CLIENT_ID);
    ours.keep_alive = KEEP_ALIVE;
    ours.will = Some(LastWill {
        topic: topic_name(WILL_TOPIC),
        payload: Bytes::from_static(WILL_PAYLOAD),
        qos: QoS::AtLeastOnce,
        retain: true,
        properties: WillProperties::default(),
    });
    ours.username = Some(ByteString::from_static(USERNAME));
    ours.password = Some(Bytes::from_static(PASSWORD.as_bytes()));
    let name = "connect";
    match protocol {
        Protocol::V311 => {
            let mut theirs = v4::Connect::new(CLIENT_ID);
            theirs.keep_alive = KEEP_ALIVE;
            theirs.last_will = Some(v4::LastWill::new(
                WILL_TOPIC,
                WILL_PAYLOAD,
                mqttbytes::QoS::AtLeastOnce,
                true,
            ));
            theirs.set_login(USERNAME, PASSWORD);
            run(
                c,
                Case {
                    version,
                    name,
                    protocol,
                    ours: Packet::Connect(Box::new(ours)),
                    theirs: v4::Packet::Connect(theirs),
                    their_encode: |p: &v4::Packet, buf: &mut BytesMut| match p {
                        v4::Packet::Connect(p) => p.write(buf),
                        _ => unreachable!(),
                    },
                    their_decode: v4::read,
                },
            );
        }
        Protocol::V5 => {
            ours.properties = ConnectProperties {
                session_expiry_interval: Some(SESSION_EXPIRY),
                receive_maximum: NonZeroU16::new(RECEIVE_MAXIMUM),
                ..ConnectProperties::default()
            };
            if let Some(will) = &mut ours.will {
                will.properties.will_delay_interval = Some(WILL_DELAY);
            }
            let mut theirs = v5::Connect::new(CLIENT_ID);
            theirs.keep_alive = KEEP_ALIVE;
            theirs.properties = Some(v5::ConnectProperties {
                session_expiry_interval: Some(SESSION_EXPIRY),
                receive_maximum: Some(RECEIVE_MAXIMUM),
                max_packet_size: None,
                topic_alias_max: None,
                request_response_info: None,
                request_problem_info: None,
                user_properties: Vec::new(),
                authentication_method: None,
                authentication_data: None,
            });
            let mut will =
                v5::LastWill::new(WILL_TOPIC, WILL_PAYLOAD, mqttbytes::QoS::AtLeastOnce, true);
            will.properties = Some(v5::WillProperties {
                delay_interval: Some(WILL_DELAY),
                payload_format_indicator: None,
                message_expiry_interval: None,
                content_type: None,
                response_topic: None,
                correlation_data: None,
                user_properties: Vec::new(),
            });
            theirs.last_will = Some(will);
            theirs.set_login(USERNAME, PASSWORD);
            run(
                c,
                Case {
                    version,
                    name,
                    protocol,
                    ours: Packet::Connect(Box::new(ours)),
                    theirs: v5::Packet::Connect(theirs),
                    their_encode: |p: &v5::Packet, buf: &mut BytesMut| match p {
                        v5::Packet::Connect(p) => p.write(buf),
                        _ => unreachable!(),
                    },
                    their_decode: v5::read,
                },
            );
        }
    }
}

/// SUBSCRIBE with five filters; in MQTT 5 also a subscription identifier and
/// non-default options on two filters.
fn subscribe_case(c: &mut Criterion, version: &str, protocol: Protocol) {
    let packet_id = NonZeroU16::new(PACKET_ID).expect("non-zero");
    let name = "subscribe";
    match protocol {
        Protocol::V311 => {
            let ours = Subscribe {
                packet_id,
                subscriptions: FILTERS
                    .iter()
                    .map(|&(filter, qos)| Subscription {
                        filter: topic_filter(filter),
                        options: SubscriptionOptions::new(our_qos(qos)),
                    })
                    .collect(),
                properties: SubscribeProperties::default(),
            };
            let mut theirs = v4::Subscribe::empty_subscribe();
            theirs.pkid = PACKET_ID;
            for &(filter, qos) in &FILTERS {
                theirs.add(filter.to_owned(), their_qos(our_qos(qos)));
            }
            run(
                c,
                Case {
                    version,
                    name,
                    protocol,
                    ours: Packet::Subscribe(ours),
                    theirs: v4::Packet::Subscribe(theirs),
                    their_encode: |p: &v4::Packet, buf: &mut BytesMut| match p {
                        v4::Packet::Subscribe(p) => p.write(buf),
                        _ => unreachable!(),
                    },
                    their_decode: v4::read,
                },
            );
        }
        Protocol::V5 => {
            let mut ours = Subscribe {
                packet_id,
                subscriptions: FILTERS
                    .iter()
                    .map(|&(filter, qos)| Subscription {
                        filter: topic_filter(filter),
                        options: SubscriptionOptions::new(our_qos(qos)),
                    })
                    .collect(),
                properties: SubscribeProperties {
                    subscription_identifier: NonZeroU32::new(SUBSCRIPTION_ID),
                    ..SubscribeProperties::default()
                },
            };
            ours.subscriptions[0].options.no_local = true;
            ours.subscriptions[1].options.retain_as_published = true;
            ours.subscriptions[1].options.retain_handling = RetainHandling::SendAtNewSubscribe;
            let mut theirs = v5::Subscribe::empty_subscribe();
            theirs.pkid = PACKET_ID;
            for &(filter, qos) in &FILTERS {
                theirs.add(filter.to_owned(), their_qos(our_qos(qos)));
            }
            theirs.filters[0].nolocal = true;
            theirs.filters[1].preserve_retain = true;
            theirs.filters[1].retain_forward_rule = v5::RetainForwardRule::OnNewSubscribe;
            theirs.properties = Some(v5::SubscribeProperties {
                id: Some(SUBSCRIPTION_ID as usize),
                user_properties: Vec::new(),
            });
            run(
                c,
                Case {
                    version,
                    name,
                    protocol,
                    ours: Packet::Subscribe(ours),
                    theirs: v5::Packet::Subscribe(theirs),
                    their_encode: |p: &v5::Packet, buf: &mut BytesMut| match p {
                        v5::Packet::Subscribe(p) => p.write(buf),
                        _ => unreachable!(),
                    },
                    their_decode: v5::read,
                },
            );
        }
    }
}

fn topic_name(name: &'static str) -> TopicName {
    TopicName::new(ByteString::from_static(name)).expect("valid topic name")
}

fn topic_filter(filter: &'static str) -> TopicFilter {
    TopicFilter::new(ByteString::from_static(filter)).expect("valid topic filter")
}

fn our_qos(qos: u8) -> QoS {
    QoS::from_bits(qos).expect("valid QoS")
}

fn their_qos(qos: QoS) -> mqttbytes::QoS {
    match qos {
        QoS::AtMostOnce => mqttbytes::QoS::AtMostOnce,
        QoS::AtLeastOnce => mqttbytes::QoS::AtLeastOnce,
        QoS::ExactlyOnce => mqttbytes::QoS::ExactlyOnce,
    }
}

criterion_group! {
    name = mqtt_codec;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = benches
}
criterion_main!(mqtt_codec);
