//! Byte-exact vectors, written out from the AMQP 0-9-1 specification's frame layout
//! (4.2.3), method field lists and RabbitMQ's field-type letters.
//!
//! A vector is decoded and compared with the whole expected frame, every strict prefix
//! of it must be "need more bytes", and the expected frame must encode to the same
//! bytes.

use bytes::{Bytes, BytesMut};
use switchyard_amqp::{
    BasicProperties, BasicPublish, ConnectionStart, ContentHeader, Decoder, Encoder, FieldTable,
    FieldValue, Frame, LongString, Method, PROTOCOL_HEADER, ProtocolHeaderStatus, QueueDeclare,
    ShortString, read_protocol_header,
};

/// A frame: type, channel, payload size, payload, frame-end.
fn frame(kind: u8, channel: u16, payload: &[u8]) -> Vec<u8> {
    let mut v = vec![kind];
    v.extend_from_slice(&channel.to_be_bytes());
    v.extend_from_slice(&u32::try_from(payload.len()).unwrap().to_be_bytes());
    v.extend_from_slice(payload);
    v.push(0xCE);
    v
}

/// Decodes one whole frame from `wire`: every strict prefix is "need more bytes" and
/// consumes nothing, and the frame consumes the whole vector.
#[track_caller]
fn decode(wire: &[u8]) -> Frame {
    for cut in 0..wire.len() {
        let mut partial = BytesMut::from(&wire[..cut]);
        assert_eq!(
            Decoder::new().decode(&mut partial),
            Ok(None),
            "prefix {cut}"
        );
        assert_eq!(partial.len(), cut);
    }
    let mut buf = BytesMut::from(wire);
    let frame = Decoder::new().decode(&mut buf).unwrap().unwrap();
    assert!(buf.is_empty());
    frame
}

#[track_caller]
fn vector(wire: &[u8], expected: &Frame) {
    assert_eq!(&decode(wire), expected);
    let mut out = BytesMut::new();
    Encoder::new().encode(expected, &mut out).unwrap();
    assert_eq!(&out[..], wire);
}

fn s(v: &'static str) -> ShortString {
    ShortString::from_static(v)
}

#[test]
fn protocol_header() {
    assert_eq!(&PROTOCOL_HEADER, b"AMQP\x00\x00\x09\x01");
    let mut out = BytesMut::new();
    Encoder::encode_protocol_header(&mut out);
    assert_eq!(&out[..], b"AMQP\x00\x00\x09\x01");

    let mut buf = BytesMut::from(&b"AMQP\x00\x00\x09\x01\x08"[..]);
    assert_eq!(
        read_protocol_header(&mut buf),
        ProtocolHeaderStatus::Accepted
    );
    assert_eq!(&buf[..], b"\x08");
    for cut in 0..8 {
        let mut buf = BytesMut::from(&PROTOCOL_HEADER[..cut]);
        assert_eq!(
            read_protocol_header(&mut buf),
            ProtocolHeaderStatus::Incomplete
        );
        assert_eq!(buf.len(), cut);
    }
}

#[test]
fn other_protocol_headers_are_rejected_early() {
    for wire in [
        &b"AMQP\x01\x01\x00\x09"[..], // 0-9 (old style)
        b"AMQP\x00\x00\x08\x00",      // 0-8
        b"AMQP\x00\x01\x00\x00",      // 1.0
        b"AMQP\x03\x01\x00\x00",      // 1.0 SASL
        b"GET / HTTP/1.1\r\n",
        b"\x01\x00\x00",
        b"AMQX",
    ] {
        let mut buf = BytesMut::from(wire);
        assert_eq!(
            read_protocol_header(&mut buf),
            ProtocolHeaderStatus::Rejected,
            "{wire:?}"
        );
        assert_eq!(buf.len(), wire.len(), "nothing consumed");
    }
}

#[test]
fn heartbeat() {
    vector(b"\x08\x00\x00\x00\x00\x00\x00\xCE", &Frame::Heartbeat);
}

#[test]
fn connection_start_with_server_properties() {
    let payload = [
        &b"\x00\x0A\x00\x0A"[..], // connection.start
        b"\x00\x09",              // version 0-9
        b"\x00\x00\x00\x3C",      // server-properties: 60 octets
        b"\x07product",
        b"S\x00\x00\x00\x08RabbitMQ",
        b"\x0Ccapabilities",
        b"F\x00\x00\x00\x15",
        b"\x12publisher_confirms",
        b"t\x01",
        b"\x00\x00\x00\x0EPLAIN AMQPLAIN", // mechanisms
        b"\x00\x00\x00\x05en_US",          // locales
    ]
    .concat();
    assert_eq!(payload.len(), 0x61);
    let wire = frame(1, 0, &payload);
    assert_eq!(&wire[..7], b"\x01\x00\x00\x00\x00\x00\x61");
    let capabilities = FieldTable::new().with(s("publisher_confirms"), true);
    let expected = Frame::Method {
        channel: 0,
        method: Method::ConnectionStart(ConnectionStart {
            version_major: 0,
            version_minor: 9,
            server_properties: FieldTable::new()
                .with(s("product"), LongString::from_static("RabbitMQ"))
                .with(s("capabilities"), capabilities),
            mechanisms: LongString::from_static("PLAIN AMQPLAIN"),
            locales: LongString::from_static("en_US"),
        }),
    };
    vector(&wire, &expected);
    let Frame::Method {
        method: Method::ConnectionStart(start),
        ..
    } = expected
    else {
        unreachable!()
    };
    assert!(switchyard_amqp::capabilities::has(
        &start.server_properties,
        "publisher_confirms"
    ));
}

/// One value of each of the 17 letters, in the vector's order.
fn every_field_type() -> FieldTable {
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
        .with(s("S"), LongString::from_static("long"))
        .with(
            s("x"),
            FieldValue::ByteArray(Bytes::from_static(b"\x00\xff")),
        )
        .with(
            s("A"),
            FieldValue::Array(vec![FieldValue::LongInt(1), FieldValue::Void]),
        )
        .with(s("T"), FieldValue::Timestamp(1_700_000_000))
        .with(s("F"), FieldTable::new().with(s("nested"), true))
        .with(s("V"), FieldValue::Void)
}

#[test]
fn every_field_type_letter() {
    // queue.declare arguments holding one value of each letter RabbitMQ uses.
    let table = [
        &b"\x01tt\x01"[..],
        b"\x01bb\xFF",
        b"\x01BB\xFF",
        b"\x01ss\xFF\xFE",
        b"\x01uu\xFF\xFF",
        b"\x01II\xFF\xFF\xFF\xFD",
        b"\x01ii\xEE\x6B\x28\x00",
        b"\x01ll\xFF\xFF\xFF\xFF\xFF\xFF\xFF\xFC",
        b"\x01ff\x3F\xC0\x00\x00",
        b"\x01dd\xC0\x02\x00\x00\x00\x00\x00\x00",
        b"\x01DD\x02\x00\x00\x01\x3A",
        b"\x01SS\x00\x00\x00\x04long",
        b"\x01xx\x00\x00\x00\x02\x00\xFF",
        b"\x01AA\x00\x00\x00\x06I\x00\x00\x00\x01V",
        b"\x01TT\x00\x00\x00\x00\x65\x53\xF1\x00",
        b"\x01FF\x00\x00\x00\x09\x06nestedt\x01",
        b"\x01VV",
    ]
    .concat();
    let mut payload = b"\x00\x32\x00\x0A\x00\x00\x01q\x02".to_vec(); // durable
    payload.extend_from_slice(&u32::try_from(table.len()).unwrap().to_be_bytes());
    payload.extend_from_slice(&table);
    let expected = Frame::Method {
        channel: 1,
        method: Method::QueueDeclare(QueueDeclare {
            queue: s("q"),
            durable: true,
            arguments: every_field_type(),
            ..Default::default()
        }),
    };
    vector(&frame(1, 1, &payload), &expected);
}

#[test]
fn bits_share_an_octet_low_bit_first() {
    // queue.declare: passive, durable, exclusive, auto-delete, no-wait in one octet.
    let payload = b"\x00\x32\x00\x0A\x00\x00\x01q\x0A\x00\x00\x00\x00";
    vector(
        &frame(1, 5, payload),
        &Frame::Method {
            channel: 5,
            method: Method::QueueDeclare(QueueDeclare {
                queue: s("q"),
                durable: true,
                auto_delete: true,
                ..Default::default()
            }),
        },
    );
}

#[test]
fn basic_publish_header_and_body() {
    let method = frame(1, 1, b"\x00\x3C\x00\x28\x00\x00\x00\x05hello\x01");
    let header = frame(
        2,
        1,
        b"\x00\x3C\x00\x00\x00\x00\x00\x00\x00\x00\x00\x05\x90\x00\x0Atext/plain\x02",
    );
    let body = frame(3, 1, b"hello");
    let publish = Method::BasicPublish(BasicPublish {
        exchange: ShortString::EMPTY,
        routing_key: s("hello"),
        mandatory: true,
        immediate: false,
    });
    let properties = BasicProperties {
        content_type: Some(s("text/plain")),
        delivery_mode: Some(2),
        ..Default::default()
    };
    vector(
        &method,
        &Frame::Method {
            channel: 1,
            method: publish.clone(),
        },
    );
    vector(
        &header,
        &Frame::Header {
            channel: 1,
            header: ContentHeader::new(5, properties.clone()),
        },
    );
    vector(
        &body,
        &Frame::Body {
            channel: 1,
            body: Bytes::from_static(b"hello"),
        },
    );
    let mut out = BytesMut::new();
    Encoder::new()
        .encode_message(1, &publish, &properties, b"hello", &mut out)
        .unwrap();
    assert_eq!(&out[..], [method, header, body].concat());
}

#[test]
fn bodies_are_split_at_frame_max_minus_eight() {
    let mut encoder = Encoder::new();
    encoder.set_frame_max(4096);
    let mut out = BytesMut::new();
    encoder.encode_body(2, &[7; 10_000], &mut out).unwrap();
    let mut decoder = Decoder::new();
    let mut sizes = Vec::new();
    while let Some(f) = decoder.decode(&mut out).unwrap() {
        let Frame::Body { channel: 2, body } = f else {
            panic!()
        };
        sizes.push(body.len());
    }
    assert_eq!(sizes, [4088, 4088, 1824]);
    let mut out = BytesMut::new();
    encoder.encode_body(2, &[], &mut out).unwrap();
    assert!(out.is_empty(), "an empty body has no body frame");
}

#[test]
fn every_basic_property_in_flag_order() {
    let properties = BasicProperties {
        content_type: Some(s("a")),
        content_encoding: Some(s("b")),
        headers: Some(FieldTable::new()),
        delivery_mode: Some(1),
        priority: Some(9),
        correlation_id: Some(s("c")),
        reply_to: Some(s("d")),
        expiration: Some(s("60000")),
        message_id: Some(s("e")),
        timestamp: Some(0x0102_0304_0506_0708),
        kind: Some(s("f")),
        user_id: Some(s("g")),
        app_id: Some(s("h")),
        cluster_id: Some(s("i")),
    };
    assert_eq!(properties.flags(), 0xFFFC);
    let payload = [
        &b"\x00\x3C\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\xFF\xFC"[..],
        b"\x01a\x01b\x00\x00\x00\x00\x01\x09\x01c\x01d\x0560000\x01e",
        b"\x01\x02\x03\x04\x05\x06\x07\x08\x01f\x01g\x01h\x01i",
    ]
    .concat();
    vector(
        &frame(2, 1, &payload),
        &Frame::Header {
            channel: 1,
            header: ContentHeader::new(0, properties),
        },
    );
}

#[test]
fn deliver_hot_path_matches_the_generic_encoder() {
    let deliver = switchyard_amqp::BasicDeliver {
        consumer_tag: s("ctag-1"),
        delivery_tag: 42,
        redelivered: true,
        exchange: s("amq.topic"),
        routing_key: s("a.b"),
    };
    let props = BasicProperties {
        delivery_mode: Some(2),
        ..Default::default()
    };
    let mut a = BytesMut::new();
    let mut b = BytesMut::new();
    let encoder = Encoder::new();
    encoder
        .encode_deliver(7, &deliver, &props, &[1; 9000], &mut a)
        .unwrap();
    encoder
        .encode_message(
            7,
            &Method::BasicDeliver(deliver),
            &props,
            &[1; 9000],
            &mut b,
        )
        .unwrap();
    assert_eq!(a, b);
    let method = [
        &b"\x01\x00\x07\x00\x00\x00\x22\x00\x3C\x00\x3C\x06ctag-1"[..],
        b"\x00\x00\x00\x00\x00\x00\x00\x2A\x01\x09amq.topic\x03a.b\xCE",
    ]
    .concat();
    assert_eq!(&a[..method.len()], &method[..]);
}

#[test]
fn decoded_strings_and_bodies_are_views_of_the_input() {
    let wire = frame(3, 1, b"payload");
    let mut buf = BytesMut::from(&wire[..]);
    let base = buf.as_ptr() as usize;
    let Some(Frame::Body { body, .. }) = Decoder::new().decode(&mut buf).unwrap() else {
        panic!()
    };
    assert_eq!(body.as_ptr() as usize, base + 7);
}
