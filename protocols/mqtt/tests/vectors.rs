//! Byte-exact vectors from the standards: MQTT 3.1.1 (OASIS Standard, 29 October 2014) and
//! MQTT 5.0 (OASIS Standard, 7 March 2019).
//!
//! Each vector is written out by hand, field by field, with the figure or section it
//! comes from. A vector is decoded and compared with the whole expected packet (so every
//! field is asserted), every strict prefix of it must be "need more bytes", and the
//! expected packet must encode to the same bytes. Where the standard allows a longer form
//! than our encoder's canonical one (a PUBACK reason code 0x00 written out, an empty
//! property list), the vector is decoded and the canonical bytes are asserted beside it.
//!
//! MQTT 5 property coverage (identifier: vector):
//! 0x01 0x02 0x03 0x08 0x09 0x18 `v5_connect_with_every_connect_and_will_property` (will),
//! 0x01 0x02 0x03 0x08 0x09 0x0B 0x23 `v5_publish_qos2_with_every_publish_property`,
//! 0x0B `v5_subscribe_with_options_and_properties`,
//! 0x11 0x15 0x16 0x17 0x19 0x21 0x22 0x27 `v5_connect_with_every_connect_and_will_property`,
//! 0x11 0x12 0x13 0x15 0x16 0x1A 0x1C 0x1F 0x21 0x22 0x24 0x25 0x27 0x28 0x29 0x2A
//! `v5_connack_with_every_connack_property`, 0x11 0x1C 0x1F `v5_disconnect_*`,
//! 0x15 0x16 0x1F `v5_auth_continue_with_every_auth_property`; 0x1F (Reason String) and
//! 0x26 (User Property) also in PUBACK, PUBREC, PUBREL, PUBCOMP, SUBACK and UNSUBACK,
//! 0x26 in UNSUBSCRIBE: every property in every packet that allows it (5.0 Table 2-4).

use std::num::{NonZeroU16, NonZeroU32};

use bytes::{Bytes, BytesMut};
use switchyard_mqtt::{
    Ack, AckProperties, Auth, AuthProperties, ByteString, ConnAck, ConnAckProperties, Connect,
    ConnectProperties, Decoder, Disconnect, DisconnectProperties, LastWill, MAX_REMAINING_LENGTH,
    Packet, PacketId, PayloadFormat, Protocol, Publish, PublishProperties, QoS, ReasonCode,
    RetainHandling, SubAck, Subscribe, SubscribeProperties, Subscription, SubscriptionOptions,
    TopicFilter, TopicName, UnsubAck, Unsubscribe, UnsubscribeProperties, WillProperties,
};

use Protocol::{V5, V311};

// ---------------------------------------------------------------------------------------
// Helpers

/// Large enough for the biggest vector (remaining length 2,097,152).
const MAX_PACKET_SIZE: u32 = 4 * 1024 * 1024;

/// Decodes one whole packet from `wire`, checking the decoder's contract on the way:
/// every strict prefix is "need more bytes" and consumes nothing, and the whole vector
/// is consumed by exactly one packet.
fn decode(protocol: Protocol, wire: &[u8]) -> Packet {
    let mut decoder = Decoder::with_protocol(protocol, MAX_PACKET_SIZE);
    // Prefixes of the large remaining-length vectors are checked at the header only.
    let prefixes = if wire.len() > 1024 { 6 } else { wire.len() };
    for cut in 0..prefixes {
        let mut partial = BytesMut::from(&wire[..cut]);
        assert_eq!(
            decoder.decode(&mut partial),
            Ok(None),
            "prefix of {cut} bytes"
        );
        assert_eq!(partial.len(), cut, "a prefix of {cut} bytes was consumed");
    }
    let mut buf = BytesMut::from(wire);
    let packet = decoder
        .decode(&mut buf)
        .expect("vector must decode")
        .expect("vector is a whole packet");
    assert!(buf.is_empty(), "{} bytes left after the packet", buf.len());
    packet
}

fn encode(protocol: Protocol, packet: &Packet) -> Vec<u8> {
    let mut buf = BytesMut::new();
    packet
        .encode(protocol, &mut buf)
        .expect("packet must encode");
    buf.to_vec()
}

/// The vector decodes to `expected`, and `expected` encodes to the vector.
#[track_caller]
fn vector(protocol: Protocol, wire: &[u8], expected: &Packet) {
    assert_eq!(&decode(protocol, wire), expected, "decoded packet");
    assert_eq!(encode(protocol, expected), wire, "encoded bytes");
}

/// A form the standard allows but our encoder does not write: `wire` decodes to
/// `expected`, which encodes to `canonical`, which decodes to `expected` again.
#[track_caller]
fn decode_vector(protocol: Protocol, wire: &[u8], expected: &Packet, canonical: &[u8]) {
    assert_eq!(&decode(protocol, wire), expected, "decoded packet");
    vector(protocol, canonical, expected);
}

fn pid(id: u16) -> PacketId {
    NonZeroU16::new(id).unwrap()
}

fn topic(name: &'static str) -> TopicName {
    TopicName::new(name).unwrap()
}

fn filter(filter: &'static str) -> TopicFilter {
    TopicFilter::new(filter).unwrap()
}

fn s(text: &'static str) -> ByteString {
    ByteString::from_static(text)
}

fn b(bytes: &'static [u8]) -> Bytes {
    Bytes::from_static(bytes)
}

fn user(name: &'static str, value: &'static str) -> (ByteString, ByteString) {
    (s(name), s(value))
}

fn connect(c: Connect) -> Packet {
    Packet::Connect(Box::new(c))
}

fn publish(qos: QoS, packet_id: Option<u16>, payload: &'static [u8]) -> Publish {
    Publish {
        packet_id: packet_id.map(pid),
        ..Publish::new(topic("a/b"), qos, b(payload))
    }
}

fn ack(id: u16, reason_code: ReasonCode) -> Ack {
    Ack {
        reason_code,
        ..Ack::new(pid(id))
    }
}

fn sub(f: &'static str, qos: QoS) -> Subscription {
    Subscription {
        filter: filter(f),
        options: SubscriptionOptions::new(qos),
    }
}

// ---------------------------------------------------------------------------------------
// MQTT 3.1.1

/// 3.1.1 section 3.1.2.10, Figure 3.6 "Variable header non normative example": protocol
/// name "MQTT", level 4, flags 0xCE (user name, password, will QoS 1, will flag, clean
/// session), keep alive 10; with a payload in the order of section 3.1.3.
#[rustfmt::skip]
const V311_CONNECT_FIGURE_3_6: &[u8] = &[
    0x10, 0x1C,                         // CONNECT, remaining length 28
    0x00, 0x04, b'M', b'Q', b'T', b'T', // protocol name
    0x04,                               // protocol level 4
    0xCE,                               // connect flags 1100 1110
    0x00, 0x0A,                         // keep alive 10
    0x00, 0x02, b's', b'y',             // client identifier "sy"
    0x00, 0x01, b'w',                   // will topic "w"
    0x00, 0x03, b'b', b'y', b'e',       // will message "bye"
    0x00, 0x01, b'u',                   // user name "u"
    0x00, 0x01, b'p',                   // password "p"
];

#[test]
fn v311_connect_figure_3_6() {
    let expected = Connect {
        protocol: V311,
        clean_start: true,
        keep_alive: 10,
        client_id: s("sy"),
        will: Some(LastWill {
            topic: topic("w"),
            payload: b(b"bye"),
            qos: QoS::AtLeastOnce,
            retain: false,
            properties: WillProperties::default(),
        }),
        username: Some(s("u")),
        password: Some(b(b"p")),
        properties: ConnectProperties::default(),
    };
    let Packet::Connect(decoded) = decode(V311, V311_CONNECT_FIGURE_3_6) else {
        panic!("not a CONNECT");
    };
    assert_eq!(decoded.protocol, V311);
    assert_eq!(decoded.keep_alive, 10);
    assert!(decoded.clean_start);
    assert_eq!(decoded.will.as_ref().map(|w| w.qos), Some(QoS::AtLeastOnce));
    vector(V311, V311_CONNECT_FIGURE_3_6, &connect(expected.clone()));

    // A server-side decoder learns the version from this CONNECT.
    let mut server = Decoder::new(MAX_PACKET_SIZE);
    let mut buf = BytesMut::from(V311_CONNECT_FIGURE_3_6);
    assert_eq!(server.decode(&mut buf), Ok(Some(connect(expected))));
    assert_eq!(server.protocol(), Some(V311));
}

#[test]
fn v311_connect_minimal() {
    // Clean session, keep alive 60, zero-length client identifier [MQTT-3.1.3-7].
    #[rustfmt::skip]
    let wire: &[u8] = &[
        0x10, 0x0C,
        0x00, 0x04, b'M', b'Q', b'T', b'T', 0x04,
        0x02,       // clean session
        0x00, 0x3C, // keep alive 60
        0x00, 0x00, // client identifier ""
    ];
    vector(V311, wire, &connect(Connect::new(V311, "")));
}

#[test]
fn v311_connect_will_qos2_retain_without_clean_session() {
    #[rustfmt::skip]
    let wire: &[u8] = &[
        0x10, 0x12,
        0x00, 0x04, b'M', b'Q', b'T', b'T', 0x04,
        0x34,       // will retain, will QoS 2, will flag; clean session 0
        0x00, 0x00, // keep alive off
        0x00, 0x01, b'c',
        0x00, 0x01, b'w',
        0x00, 0x00, // empty will message
    ];
    let expected = Connect {
        clean_start: false,
        keep_alive: 0,
        will: Some(LastWill {
            topic: topic("w"),
            payload: Bytes::new(),
            qos: QoS::ExactlyOnce,
            retain: true,
            properties: WillProperties::default(),
        }),
        ..Connect::new(V311, "c")
    };
    vector(V311, wire, &connect(expected));
}

/// 3.1.1 section 3.2.2.3, Table 3.1: the six connect return codes.
#[test]
fn v311_connack_return_codes() {
    let codes = [
        (0x00, ReasonCode::Success),
        (0x01, ReasonCode::UnsupportedProtocolVersion),
        (0x02, ReasonCode::ClientIdentifierNotValid),
        (0x03, ReasonCode::ServerUnavailable),
        (0x04, ReasonCode::BadUserNameOrPassword),
        (0x05, ReasonCode::NotAuthorized),
    ];
    for (byte, code) in codes {
        vector(
            V311,
            &[0x20, 0x02, 0x00, byte],
            &Packet::ConnAck(Box::new(ConnAck::new(code, false))),
        );
    }
    // Session present (section 3.2.2.2), only with return code 0.
    vector(
        V311,
        &[0x20, 0x02, 0x01, 0x00],
        &Packet::ConnAck(Box::new(ConnAck::new(ReasonCode::Success, true))),
    );
}

/// 3.1.1 section 3.3.2.3, Figure 3.11 "Publish Packet variable header non normative
/// example": topic name "a/b", packet identifier 10.
#[rustfmt::skip]
const V311_PUBLISH_FIGURE_3_11: &[u8] = &[
    0x32, 0x09,                   // PUBLISH, QoS 1, remaining length 9
    0x00, 0x03, b'a', b'/', b'b', // topic name "a/b"
    0x00, 0x0A,                   // packet identifier 10
    b'h', b'i',                   // payload
];

#[test]
fn v311_publish_qos1_figure_3_11() {
    let Packet::Publish(decoded) = decode(V311, V311_PUBLISH_FIGURE_3_11) else {
        panic!("not a PUBLISH");
    };
    assert_eq!(decoded.topic.as_str(), "a/b");
    assert_eq!(decoded.packet_id, Some(pid(10)));
    assert_eq!(decoded.qos, QoS::AtLeastOnce);
    assert!(!decoded.dup && !decoded.retain);
    assert_eq!(&decoded.payload[..], b"hi");
    vector(
        V311,
        V311_PUBLISH_FIGURE_3_11,
        &Packet::Publish(publish(QoS::AtLeastOnce, Some(10), b"hi")),
    );
}

#[test]
fn v311_publish_qos0_retain() {
    // No packet identifier at QoS 0 (section 3.3.2.2).
    let wire = b"\x31\x07\x00\x03a/bhi";
    let expected = Publish {
        retain: true,
        ..publish(QoS::AtMostOnce, None, b"hi")
    };
    vector(V311, wire, &Packet::Publish(expected));
}

#[test]
fn v311_publish_qos0_empty_payload() {
    // A zero-length payload is valid (section 3.3.3).
    vector(
        V311,
        b"\x30\x05\x00\x03a/b",
        &Packet::Publish(publish(QoS::AtMostOnce, None, b"")),
    );
}

#[test]
fn v311_publish_qos2_dup_retain() {
    // First byte 0x3D: DUP 1, QoS 2, RETAIN 1 (section 3.3.1).
    let wire = b"\x3D\x09\x00\x03a/b\x00\x0Ahi";
    let expected = Publish {
        dup: true,
        retain: true,
        ..publish(QoS::ExactlyOnce, Some(10), b"hi")
    };
    vector(V311, wire, &Packet::Publish(expected));
}

#[test]
fn v311_publish_keeps_a_byte_order_mark() {
    // 0xEF 0xBB 0xBF is U+FEFF and MUST NOT be skipped or stripped [MQTT-1.5.3-3].
    let wire = b"\x30\x06\x00\x04\xEF\xBB\xBFa";
    vector(
        V311,
        wire,
        &Packet::Publish(Publish::new(
            topic("\u{FEFF}a"),
            QoS::AtMostOnce,
            Bytes::new(),
        )),
    );
}

/// 3.1.1 sections 3.4-3.7: PUBACK, PUBREC, PUBREL (flags 0010) and PUBCOMP, each with
/// remaining length 2.
#[test]
fn v311_publish_acknowledgements() {
    let a = ack(10, ReasonCode::Success);
    vector(V311, b"\x40\x02\x00\x0A", &Packet::PubAck(a.clone()));
    vector(V311, b"\x50\x02\x00\x0A", &Packet::PubRec(a.clone()));
    vector(V311, b"\x62\x02\x00\x0A", &Packet::PubRel(a.clone()));
    vector(V311, b"\x70\x02\x00\x0A", &Packet::PubComp(a));
}

/// 3.1.1 section 3.8.2, Figure 3.21 (packet identifier 10) and section 3.8.3,
/// Figure 3.22 "Payload byte format non normative example": "a/b" QoS 1, "c/d" QoS 2.
#[rustfmt::skip]
const V311_SUBSCRIBE_FIGURE_3_22: &[u8] = &[
    0x82, 0x0E,                          // SUBSCRIBE, flags 0010, remaining length 14
    0x00, 0x0A,                          // packet identifier 10
    0x00, 0x03, b'a', b'/', b'b', 0x01,  // "a/b", requested QoS 1
    0x00, 0x03, b'c', b'/', b'd', 0x02,  // "c/d", requested QoS 2
];

#[test]
fn v311_subscribe_figure_3_22() {
    let expected = Subscribe {
        packet_id: pid(10),
        subscriptions: vec![sub("a/b", QoS::AtLeastOnce), sub("c/d", QoS::ExactlyOnce)],
        properties: SubscribeProperties::default(),
    };
    vector(
        V311,
        V311_SUBSCRIBE_FIGURE_3_22,
        &Packet::Subscribe(expected),
    );
}

/// 3.1.1 section 3.9.3, Figure 3.26 "Payload byte format non normative example":
/// success QoS 0, 1, 2 and failure 0x80.
#[rustfmt::skip]
const V311_SUBACK_FIGURE_3_26: &[u8] = &[
    0x90, 0x06,             // SUBACK, remaining length 6
    0x00, 0x0A,             // packet identifier 10
    0x00, 0x01, 0x02, 0x80, // return codes
];

#[test]
fn v311_suback_figure_3_26() {
    let expected = SubAck {
        packet_id: pid(10),
        reason_codes: vec![
            ReasonCode::Success,
            ReasonCode::GrantedQoS1,
            ReasonCode::GrantedQoS2,
            ReasonCode::UnspecifiedError,
        ],
        properties: AckProperties::default(),
    };
    vector(V311, V311_SUBACK_FIGURE_3_26, &Packet::SubAck(expected));
}

/// 3.1.1 section 3.10.2, Figure 3.29 (packet identifier 10) and section 3.10.3,
/// Figure 3.30 "Payload byte format non normative example": "a/b", "c/d".
#[rustfmt::skip]
const V311_UNSUBSCRIBE_FIGURE_3_30: &[u8] = &[
    0xA2, 0x0C,                    // UNSUBSCRIBE, flags 0010, remaining length 12
    0x00, 0x0A,                    // packet identifier 10
    0x00, 0x03, b'a', b'/', b'b',  // "a/b"
    0x00, 0x03, b'c', b'/', b'd',  // "c/d"
];

#[test]
fn v311_unsubscribe_figure_3_30() {
    let expected = Unsubscribe {
        packet_id: pid(10),
        filters: vec![filter("a/b"), filter("c/d")],
        properties: UnsubscribeProperties::default(),
    };
    vector(
        V311,
        V311_UNSUBSCRIBE_FIGURE_3_30,
        &Packet::Unsubscribe(expected),
    );
}

#[test]
fn v311_unsuback() {
    // Section 3.11: packet identifier only, no payload.
    let expected = UnsubAck {
        packet_id: pid(10),
        reason_codes: Vec::new(),
        properties: AckProperties::default(),
    };
    vector(V311, b"\xB0\x02\x00\x0A", &Packet::UnsubAck(expected));
}

/// 3.1.1 sections 3.12-3.14: PINGREQ, PINGRESP and DISCONNECT are two bytes each.
#[test]
fn v311_two_byte_packets() {
    vector(V311, b"\xC0\x00", &Packet::PingReq);
    vector(V311, b"\xD0\x00", &Packet::PingResp);
    vector(
        V311,
        b"\xE0\x00",
        &Packet::Disconnect(Disconnect::new(ReasonCode::Success)),
    );
}

/// 3.1.1 section 2.2.3, Table 2.4 (and 5.0 section 1.5.5, Table 1-1): the smallest and
/// largest remaining length of each encoded size, on a QoS 0 PUBLISH to "a" (3 bytes of
/// topic, the rest payload). Remaining length 0 is PINGREQ above.
#[test]
fn remaining_length_boundaries() {
    let cases: &[(usize, &[u8])] = &[
        (127, &[0x7F]),
        (128, &[0x80, 0x01]),
        (16_383, &[0xFF, 0x7F]),
        (16_384, &[0x80, 0x80, 0x01]),
        (2_097_151, &[0xFF, 0xFF, 0x7F]),
        (2_097_152, &[0x80, 0x80, 0x80, 0x01]),
    ];
    for &(remaining, length_bytes) in cases {
        for protocol in [V311, V5] {
            // MQTT 5 adds a property length byte (0) before the payload.
            let header_fields: &[u8] = match protocol {
                V311 => b"\x00\x01a",
                V5 => b"\x00\x01a\x00",
            };
            let payload = vec![0xA5; remaining - header_fields.len()];
            let mut wire = vec![0x30];
            wire.extend_from_slice(length_bytes);
            wire.extend_from_slice(header_fields);
            wire.extend_from_slice(&payload);
            let expected = Publish::new(topic("a"), QoS::AtMostOnce, Bytes::from(payload));
            vector(protocol, &wire, &Packet::Publish(expected));
        }
    }
    // 268,435,455 = 0xFF 0xFF 0xFF 0x7F, the largest: read from the header alone (the
    // packet is refused as too large before a byte of it is buffered).
    let mut decoder = Decoder::with_protocol(V311, MAX_PACKET_SIZE);
    let mut buf = BytesMut::from(&b"\x30\xFF\xFF\xFF\x7F"[..]);
    assert_eq!(
        decoder.decode(&mut buf),
        Err(switchyard_mqtt::DecodeError::PacketTooLarge {
            size: 1 + 4 + MAX_REMAINING_LENGTH as usize,
            max: MAX_PACKET_SIZE,
        })
    );
    assert_eq!(MAX_REMAINING_LENGTH, 268_435_455);
}

// ---------------------------------------------------------------------------------------
// MQTT 5.0

/// 5.0 section 3.1.2.12, Figure 3-6 "Variable Header example": protocol name "MQTT",
/// version 5, flags 0xCE, keep alive 10, properties length 5, Session Expiry Interval
/// (identifier 17) 10; with a payload in the order of section 3.1.3.
#[rustfmt::skip]
const V5_CONNECT_FIGURE_3_6: &[u8] = &[
    0x10, 0x23,                         // CONNECT, remaining length 35
    0x00, 0x04, b'M', b'Q', b'T', b'T', // protocol name
    0x05,                               // protocol version 5
    0xCE,                               // connect flags 1100 1110
    0x00, 0x0A,                         // keep alive 10
    0x05,                               // properties length 5
    0x11, 0x00, 0x00, 0x00, 0x0A,       // session expiry interval 10
    0x00, 0x02, b's', b'y',             // client identifier "sy"
    0x00,                               // will properties length 0
    0x00, 0x01, b'w',                   // will topic "w"
    0x00, 0x03, b'b', b'y', b'e',       // will payload "bye"
    0x00, 0x01, b'u',                   // user name "u"
    0x00, 0x01, b'p',                   // password "p"
];

#[test]
fn v5_connect_figure_3_6() {
    let expected = Connect {
        protocol: V5,
        clean_start: true,
        keep_alive: 10,
        client_id: s("sy"),
        will: Some(LastWill {
            topic: topic("w"),
            payload: b(b"bye"),
            qos: QoS::AtLeastOnce,
            retain: false,
            properties: WillProperties::default(),
        }),
        username: Some(s("u")),
        password: Some(b(b"p")),
        properties: ConnectProperties {
            session_expiry_interval: Some(10),
            ..ConnectProperties::default()
        },
    };
    let Packet::Connect(decoded) = decode(V5, V5_CONNECT_FIGURE_3_6) else {
        panic!("not a CONNECT");
    };
    assert_eq!(decoded.protocol, V5);
    assert_eq!(decoded.keep_alive, 10);
    assert_eq!(decoded.properties.session_expiry_interval, Some(10));
    vector(V5, V5_CONNECT_FIGURE_3_6, &connect(expected.clone()));

    let mut server = Decoder::new(MAX_PACKET_SIZE);
    let mut buf = BytesMut::from(V5_CONNECT_FIGURE_3_6);
    assert_eq!(server.decode(&mut buf), Ok(Some(connect(expected))));
    assert_eq!(server.protocol(), Some(V5));
}

/// 5.0 sections 3.1.2.11 and 3.1.3.2: every CONNECT property and every will property,
/// in our encoder's order.
#[rustfmt::skip]
const V5_CONNECT_ALL_PROPERTIES: &[u8] = &[
    0x10, 0x61,                               // CONNECT, remaining length 97
    0x00, 0x04, b'M', b'Q', b'T', b'T', 0x05,
    0x34,                                     // will retain, will QoS 2, will flag
    0x00, 0x3C,                               // keep alive 60
    0x27,                                     // properties length 39
    0x11, 0x00, 0x00, 0x00, 0x78,             // session expiry interval 120
    0x21, 0x00, 0x14,                         // receive maximum 20
    0x27, 0x00, 0x00, 0x10, 0x00,             // maximum packet size 4096
    0x22, 0x00, 0x0A,                         // topic alias maximum 10
    0x19, 0x01,                               // request response information 1
    0x17, 0x00,                               // request problem information 0
    0x26, 0x00, 0x01, b'k', 0x00, 0x01, b'v', // user property ("k", "v")
    0x15, 0x00, 0x04, b's', b'a', b's', b'l', // authentication method "sasl"
    0x16, 0x00, 0x02, 0x01, 0x02,             // authentication data 01 02
    0x00, 0x01, b'c',                         // client identifier "c"
    0x25,                                     // will properties length 37
    0x18, 0x00, 0x00, 0x00, 0x05,             // will delay interval 5
    0x01, 0x01,                               // payload format indicator 1 (UTF-8)
    0x02, 0x00, 0x00, 0x0E, 0x10,             // message expiry interval 3600
    0x03, 0x00, 0x04, b't', b'e', b'x', b't', // content type "text"
    0x08, 0x00, 0x03, b'r', b'/', b'1',       // response topic "r/1"
    0x09, 0x00, 0x02, 0xAB, 0xCD,             // correlation data AB CD
    0x26, 0x00, 0x01, b'a', 0x00, 0x01, b'b', // user property ("a", "b")
    0x00, 0x01, b'w',                         // will topic "w"
    0x00, 0x01, b'x',                         // will payload "x"
];

#[test]
fn v5_connect_with_every_connect_and_will_property() {
    let expected = Connect {
        protocol: V5,
        clean_start: false,
        keep_alive: 60,
        client_id: s("c"),
        will: Some(LastWill {
            topic: topic("w"),
            payload: b(b"x"),
            qos: QoS::ExactlyOnce,
            retain: true,
            properties: WillProperties {
                will_delay_interval: Some(5),
                payload_format_indicator: Some(PayloadFormat::Utf8),
                message_expiry_interval: Some(3600),
                content_type: Some(s("text")),
                response_topic: Some(topic("r/1")),
                correlation_data: Some(b(b"\xAB\xCD")),
                user_properties: vec![user("a", "b")],
            },
        }),
        username: None,
        password: None,
        properties: ConnectProperties {
            session_expiry_interval: Some(120),
            receive_maximum: NonZeroU16::new(20),
            maximum_packet_size: NonZeroU32::new(4096),
            topic_alias_maximum: Some(10),
            request_response_information: Some(true),
            request_problem_information: Some(false),
            user_properties: vec![user("k", "v")],
            authentication_method: Some(s("sasl")),
            authentication_data: Some(b(b"\x01\x02")),
        },
    };
    vector(V5, V5_CONNECT_ALL_PROPERTIES, &connect(expected));
}

#[test]
fn v5_connect_password_without_user_name() {
    // Allowed in 5.0 (section 3.1.2.9), unlike 3.1.1 [MQTT-3.1.2-22].
    #[rustfmt::skip]
    let wire: &[u8] = &[
        0x10, 0x10,
        0x00, 0x04, b'M', b'Q', b'T', b'T', 0x05,
        0x42,             // password flag, clean start
        0x00, 0x3C,
        0x00,             // properties length 0
        0x00, 0x00,       // client identifier ""
        0x00, 0x01, b'p', // password "p"
    ];
    let expected = Connect {
        password: Some(b(b"p")),
        ..Connect::new(V5, "")
    };
    vector(V5, wire, &connect(expected));
}

#[test]
fn v5_connack_minimal() {
    // 5.0 section 3.2: flags, reason code, properties length 0.
    vector(
        V5,
        b"\x20\x03\x00\x00\x00",
        &Packet::ConnAck(Box::new(ConnAck::new(ReasonCode::Success, false))),
    );
    vector(
        V5,
        b"\x20\x03\x01\x00\x00",
        &Packet::ConnAck(Box::new(ConnAck::new(ReasonCode::Success, true))),
    );
    vector(
        V5,
        b"\x20\x03\x00\x87\x00",
        &Packet::ConnAck(Box::new(ConnAck::new(ReasonCode::NotAuthorized, false))),
    );
}

/// 5.0 section 3.2.2.3: every CONNACK property, in our encoder's order.
#[rustfmt::skip]
const V5_CONNACK_ALL_PROPERTIES: &[u8] = &[
    0x20, 0x47,                               // CONNACK, remaining length 71
    0x00,                                     // session present 0
    0x00,                                     // reason code Success
    0x44,                                     // properties length 68
    0x11, 0x00, 0x00, 0x00, 0x3C,             // session expiry interval 60
    0x21, 0x00, 0x0A,                         // receive maximum 10
    0x24, 0x01,                               // maximum QoS 1
    0x25, 0x00,                               // retain available 0
    0x27, 0x00, 0x01, 0x00, 0x00,             // maximum packet size 65536
    0x12, 0x00, 0x03, b'a', b'b', b'c',       // assigned client identifier "abc"
    0x22, 0x00, 0x05,                         // topic alias maximum 5
    0x1F, 0x00, 0x02, b'o', b'k',             // reason string "ok"
    0x26, 0x00, 0x01, b'k', 0x00, 0x01, b'v', // user property ("k", "v")
    0x28, 0x01,                               // wildcard subscription available 1
    0x29, 0x00,                               // subscription identifiers available 0
    0x2A, 0x01,                               // shared subscription available 1
    0x13, 0x00, 0x1E,                         // server keep alive 30
    0x1A, 0x00, 0x02, b'r', b'/',             // response information "r/"
    0x1C, 0x00, 0x02, b's', b'2',             // server reference "s2"
    0x15, 0x00, 0x04, b's', b'a', b's', b'l', // authentication method "sasl"
    0x16, 0x00, 0x01, 0xFF,                   // authentication data FF
];

#[test]
fn v5_connack_with_every_connack_property() {
    let expected = ConnAck {
        session_present: false,
        reason_code: ReasonCode::Success,
        properties: ConnAckProperties {
            session_expiry_interval: Some(60),
            receive_maximum: NonZeroU16::new(10),
            maximum_qos: Some(QoS::AtLeastOnce),
            retain_available: Some(false),
            maximum_packet_size: NonZeroU32::new(65_536),
            assigned_client_identifier: Some(s("abc")),
            topic_alias_maximum: Some(5),
            reason_string: Some(s("ok")),
            user_properties: vec![user("k", "v")],
            wildcard_subscription_available: Some(true),
            subscription_identifiers_available: Some(false),
            shared_subscription_available: Some(true),
            server_keep_alive: Some(30),
            response_information: Some(s("r/")),
            server_reference: Some(s("s2")),
            authentication_method: Some(s("sasl")),
            authentication_data: Some(b(b"\xFF")),
        },
    };
    vector(
        V5,
        V5_CONNACK_ALL_PROPERTIES,
        &Packet::ConnAck(Box::new(expected)),
    );
}

/// 5.0 section 3.3.2, Figure 3-9 "PUBLISH packet Variable Header non-normative
/// example": topic name "a/b", packet identifier 10, no properties.
#[rustfmt::skip]
const V5_PUBLISH_FIGURE_3_9: &[u8] = &[
    0x32, 0x0A,                   // PUBLISH, QoS 1, remaining length 10
    0x00, 0x03, b'a', b'/', b'b', // topic name "a/b"
    0x00, 0x0A,                   // packet identifier 10
    0x00,                         // properties length 0
    b'h', b'i',                   // payload
];

#[test]
fn v5_publish_qos1_figure_3_9() {
    vector(
        V5,
        V5_PUBLISH_FIGURE_3_9,
        &Packet::Publish(publish(QoS::AtLeastOnce, Some(10), b"hi")),
    );
}

#[test]
fn v5_publish_qos0() {
    vector(
        V5,
        b"\x30\x08\x00\x03a/b\x00hi",
        &Packet::Publish(publish(QoS::AtMostOnce, None, b"hi")),
    );
}

/// 5.0 section 3.3.2.3: every PUBLISH property, two Subscription Identifiers (allowed
/// more than once in PUBLISH, section 3.3.2.3.8), in our encoder's order.
#[rustfmt::skip]
const V5_PUBLISH_ALL_PROPERTIES: &[u8] = &[
    0x34, 0x33,                               // PUBLISH, QoS 2, remaining length 51
    0x00, 0x03, b'a', b'/', b'b',             // topic name "a/b"
    0x00, 0x0B,                               // packet identifier 11
    0x29,                                     // properties length 41
    0x01, 0x01,                               // payload format indicator 1
    0x02, 0x00, 0x00, 0x00, 0x3C,             // message expiry interval 60
    0x23, 0x00, 0x07,                         // topic alias 7
    0x08, 0x00, 0x03, b'r', b'/', b'1',       // response topic "r/1"
    0x09, 0x00, 0x03, 0x01, 0x02, 0x03,       // correlation data 01 02 03
    0x26, 0x00, 0x01, b'k', 0x00, 0x01, b'v', // user property ("k", "v")
    0x0B, 0x05,                               // subscription identifier 5
    0x0B, 0x80, 0x01,                         // subscription identifier 128
    0x03, 0x00, 0x04, b'j', b's', b'o', b'n', // content type "json"
    b'{', b'}',                               // payload
];

#[test]
fn v5_publish_qos2_with_every_publish_property() {
    let expected = Publish {
        properties: PublishProperties {
            payload_format_indicator: Some(PayloadFormat::Utf8),
            message_expiry_interval: Some(60),
            topic_alias: NonZeroU16::new(7),
            response_topic: Some(topic("r/1")),
            correlation_data: Some(b(b"\x01\x02\x03")),
            user_properties: vec![user("k", "v")],
            subscription_identifiers: vec![
                NonZeroU32::new(5).unwrap(),
                NonZeroU32::new(128).unwrap(),
            ],
            content_type: Some(s("json")),
        }
        .into(),
        ..publish(QoS::ExactlyOnce, Some(11), b"{}")
    };
    vector(V5, V5_PUBLISH_ALL_PROPERTIES, &Packet::Publish(expected));
}

#[test]
fn v5_publish_empty_topic_with_topic_alias() {
    // 5.0 section 3.3.2.3.4: a zero-length topic name with a Topic Alias.
    #[rustfmt::skip]
    let wire: &[u8] = &[
        0x30, 0x06,
        0x00, 0x00,       // topic name ""
        0x03,             // properties length 3
        0x23, 0x00, 0x07, // topic alias 7
    ];
    let expected = Publish {
        properties: PublishProperties {
            topic_alias: NonZeroU16::new(7),
            ..PublishProperties::default()
        }
        .into(),
        ..Publish::new(TopicName::empty(), QoS::AtMostOnce, Bytes::new())
    };
    vector(V5, wire, &Packet::Publish(expected));
}

/// 5.0 section 3.4.2.1: "The Reason Code and Property Length can be omitted if the
/// Reason Code is 0x00 (Success) and there are no Properties. In this case the PUBACK has
/// a Remaining Length of 2." and section 3.4.2.2.1: "If the Remaining Length is less than
/// 4 there is no Property Length and the value of 0 is used."
#[test]
fn v5_puback_remaining_length_2_3_4_and_with_properties() {
    let success = Packet::PubAck(ack(10, ReasonCode::Success));
    vector(V5, b"\x40\x02\x00\x0A", &success);
    // Remaining length 3 with an explicit Success, and 4 with an empty property list.
    decode_vector(V5, b"\x40\x03\x00\x0A\x00", &success, b"\x40\x02\x00\x0A");
    decode_vector(
        V5,
        b"\x40\x04\x00\x0A\x00\x00",
        &success,
        b"\x40\x02\x00\x0A",
    );

    let no_subscribers = Packet::PubAck(ack(10, ReasonCode::NoMatchingSubscribers));
    vector(V5, b"\x40\x03\x00\x0A\x10", &no_subscribers);
    decode_vector(
        V5,
        b"\x40\x04\x00\x0A\x10\x00",
        &no_subscribers,
        b"\x40\x03\x00\x0A\x10",
    );

    #[rustfmt::skip]
    let with_properties: &[u8] = &[
        0x40, 0x10,                               // PUBACK, remaining length 16
        0x00, 0x0A,                               // packet identifier 10
        0x10,                                     // No matching subscribers
        0x0C,                                     // properties length 12
        0x1F, 0x00, 0x02, b'n', b'o',             // reason string "no"
        0x26, 0x00, 0x01, b'k', 0x00, 0x01, b'v', // user property ("k", "v")
    ];
    let expected = Ack {
        properties: AckProperties {
            reason_string: Some(s("no")),
            user_properties: vec![user("k", "v")],
        },
        ..ack(10, ReasonCode::NoMatchingSubscribers)
    };
    vector(V5, with_properties, &Packet::PubAck(expected));

    // Success with properties keeps the reason code byte.
    #[rustfmt::skip]
    let success_with_properties: &[u8] = &[
        0x40, 0x09, 0x00, 0x0A, 0x00, 0x05, 0x1F, 0x00, 0x02, b'o', b'k',
    ];
    let expected = Ack {
        properties: AckProperties {
            reason_string: Some(s("ok")),
            user_properties: Vec::new(),
        },
        ..ack(10, ReasonCode::Success)
    };
    vector(V5, success_with_properties, &Packet::PubAck(expected));
}

/// 5.0 sections 3.5-3.7: PUBREC, PUBREL and PUBCOMP share PUBACK's layout.
#[test]
fn v5_pubrec_pubrel_pubcomp() {
    vector(
        V5,
        b"\x50\x02\x00\x0A",
        &Packet::PubRec(ack(10, ReasonCode::Success)),
    );
    vector(
        V5,
        b"\x50\x03\x00\x0A\x80",
        &Packet::PubRec(ack(10, ReasonCode::UnspecifiedError)),
    );
    vector(
        V5,
        b"\x62\x02\x00\x0A",
        &Packet::PubRel(ack(10, ReasonCode::Success)),
    );
    vector(
        V5,
        b"\x62\x03\x00\x0A\x92",
        &Packet::PubRel(ack(10, ReasonCode::PacketIdentifierNotFound)),
    );
    vector(
        V5,
        b"\x70\x02\x00\x0A",
        &Packet::PubComp(ack(10, ReasonCode::Success)),
    );
    #[rustfmt::skip]
    let pubcomp_with_properties: &[u8] = &[
        0x70, 0x10, 0x00, 0x0A, 0x92,
        0x0C,
        0x1F, 0x00, 0x02, b'n', b'o',             // reason string "no"
        0x26, 0x00, 0x01, b'k', 0x00, 0x01, b'v', // user property ("k", "v")
    ];
    let expected = Ack {
        properties: AckProperties {
            reason_string: Some(s("no")),
            user_properties: vec![user("k", "v")],
        },
        ..ack(10, ReasonCode::PacketIdentifierNotFound)
    };
    vector(V5, pubcomp_with_properties, &Packet::PubComp(expected));

    #[rustfmt::skip]
    let pubrec_with_properties: &[u8] = &[
        0x50, 0x10, 0x00, 0x0A, 0x80,
        0x0C,
        0x1F, 0x00, 0x02, b'n', b'o',             // reason string "no"
        0x26, 0x00, 0x01, b'k', 0x00, 0x01, b'v', // user property ("k", "v")
    ];
    let expected = Ack {
        properties: AckProperties {
            reason_string: Some(s("no")),
            user_properties: vec![user("k", "v")],
        },
        ..ack(10, ReasonCode::UnspecifiedError)
    };
    vector(V5, pubrec_with_properties, &Packet::PubRec(expected));

    #[rustfmt::skip]
    let pubrel_with_properties: &[u8] = &[
        0x62, 0x10, 0x00, 0x0A, 0x92,
        0x0C,
        0x1F, 0x00, 0x02, b'n', b'o',             // reason string "no"
        0x26, 0x00, 0x01, b'k', 0x00, 0x01, b'v', // user property ("k", "v")
    ];
    let expected = Ack {
        properties: AckProperties {
            reason_string: Some(s("no")),
            user_properties: vec![user("k", "v")],
        },
        ..ack(10, ReasonCode::PacketIdentifierNotFound)
    };
    vector(V5, pubrel_with_properties, &Packet::PubRel(expected));
}

/// 5.0 section 3.8.2, Figure 3-19 "SUBSCRIBE Variable Header example" (packet identifier
/// 10, properties length 0) and section 3.8.3, Figure 3-21 "Payload byte format
/// non-normative example": "a/b" with options 1, "c/d" with options 2.
#[rustfmt::skip]
const V5_SUBSCRIBE_FIGURE_3_21: &[u8] = &[
    0x82, 0x0F,                         // SUBSCRIBE, flags 0010, remaining length 15
    0x00, 0x0A,                         // packet identifier 10
    0x00,                               // properties length 0
    0x00, 0x03, b'a', b'/', b'b', 0x01, // "a/b", QoS 1
    0x00, 0x03, b'c', b'/', b'd', 0x02, // "c/d", QoS 2
];

#[test]
fn v5_subscribe_figure_3_21() {
    let expected = Subscribe {
        packet_id: pid(10),
        subscriptions: vec![sub("a/b", QoS::AtLeastOnce), sub("c/d", QoS::ExactlyOnce)],
        properties: SubscribeProperties::default(),
    };
    vector(V5, V5_SUBSCRIBE_FIGURE_3_21, &Packet::Subscribe(expected));
}

/// 5.0 sections 3.8.2.1 and 3.8.3.1: Subscription Identifier, User Property, every
/// subscription option, and a shared subscription.
#[rustfmt::skip]
const V5_SUBSCRIBE_OPTIONS: &[u8] = &[
    0x82, 0x23,                               // SUBSCRIBE, remaining length 35
    0x12, 0x34,                               // packet identifier 0x1234
    0x0B,                                     // properties length 11
    0x0B, 0x80, 0x80, 0x01,                   // subscription identifier 16384
    0x26, 0x00, 0x01, b'k', 0x00, 0x01, b'v', // user property ("k", "v")
    0x00, 0x03, b'x', b'/', b'+',             // "x/+"
    0x2E,                                     // retain handling 2, RAP, NL, QoS 2
    0x00, 0x0C, b'$', b's', b'h', b'a', b'r', b'e', b'/', b'g', b'/', b'a', b'/', b'#',
    0x19,                                     // retain handling 1, RAP, QoS 1
];

#[test]
fn v5_subscribe_with_options_and_properties() {
    let expected = Subscribe {
        packet_id: pid(0x1234),
        subscriptions: vec![
            Subscription {
                filter: filter("x/+"),
                options: SubscriptionOptions {
                    qos: QoS::ExactlyOnce,
                    no_local: true,
                    retain_as_published: true,
                    retain_handling: RetainHandling::DoNotSend,
                },
            },
            Subscription {
                filter: filter("$share/g/a/#"),
                options: SubscriptionOptions {
                    qos: QoS::AtLeastOnce,
                    no_local: false,
                    retain_as_published: true,
                    retain_handling: RetainHandling::SendAtNewSubscribe,
                },
            },
        ],
        properties: SubscribeProperties {
            subscription_identifier: NonZeroU32::new(16_384),
            user_properties: vec![user("k", "v")],
        },
    };
    assert_eq!(
        expected.subscriptions[1].filter.shared(),
        Some(("g", "a/#"))
    );
    vector(V5, V5_SUBSCRIBE_OPTIONS, &Packet::Subscribe(expected));
}

#[test]
fn v5_suback() {
    // Section 3.9.3, the codes of 3.1.1 Figure 3.26 after a properties length of 0.
    let expected = SubAck {
        packet_id: pid(10),
        reason_codes: vec![
            ReasonCode::Success,
            ReasonCode::GrantedQoS1,
            ReasonCode::GrantedQoS2,
            ReasonCode::UnspecifiedError,
        ],
        properties: AckProperties::default(),
    };
    vector(
        V5,
        b"\x90\x07\x00\x0A\x00\x00\x01\x02\x80",
        &Packet::SubAck(expected),
    );

    #[rustfmt::skip]
    let with_properties: &[u8] = &[
        0x90, 0x13, 0x00, 0x0A,
        0x0C,                                     // properties length 12
        0x1F, 0x00, 0x02, b'n', b'o',             // reason string "no"
        0x26, 0x00, 0x01, b'k', 0x00, 0x01, b'v', // user property ("k", "v")
        0x00, 0x8F, 0xA2, 0x9E, // granted 0, filter invalid, no wildcards, no shared
    ];
    let expected = SubAck {
        packet_id: pid(10),
        reason_codes: vec![
            ReasonCode::Success,
            ReasonCode::TopicFilterInvalid,
            ReasonCode::WildcardSubscriptionsNotSupported,
            ReasonCode::SharedSubscriptionsNotSupported,
        ],
        properties: AckProperties {
            reason_string: Some(s("no")),
            user_properties: vec![user("k", "v")],
        },
    };
    vector(V5, with_properties, &Packet::SubAck(expected));
}

/// 5.0 section 3.10.3 "Payload byte format non-normative example": "a/b", "c/d", after
/// packet identifier 10 and properties length 0 (section 3.10.2).
#[rustfmt::skip]
const V5_UNSUBSCRIBE_3_10_3: &[u8] = &[
    0xA2, 0x0D,                   // UNSUBSCRIBE, flags 0010, remaining length 13
    0x00, 0x0A,                   // packet identifier 10
    0x00,                         // properties length 0
    0x00, 0x03, b'a', b'/', b'b', // "a/b"
    0x00, 0x03, b'c', b'/', b'd', // "c/d"
];

#[test]
fn v5_unsubscribe_3_10_3() {
    let expected = Unsubscribe {
        packet_id: pid(10),
        filters: vec![filter("a/b"), filter("c/d")],
        properties: UnsubscribeProperties::default(),
    };
    vector(V5, V5_UNSUBSCRIBE_3_10_3, &Packet::Unsubscribe(expected));

    #[rustfmt::skip]
    let with_user_property: &[u8] = &[
        0xA2, 0x0F, 0x00, 0x0A,
        0x07, 0x26, 0x00, 0x01, b'k', 0x00, 0x01, b'v',
        0x00, 0x03, b'a', b'/', b'b',
    ];
    let expected = Unsubscribe {
        packet_id: pid(10),
        filters: vec![filter("a/b")],
        properties: UnsubscribeProperties {
            user_properties: vec![user("k", "v")],
        },
    };
    vector(V5, with_user_property, &Packet::Unsubscribe(expected));
}

#[test]
fn v5_unsuback() {
    // Section 3.11: properties, then one reason code per filter.
    let expected = UnsubAck {
        packet_id: pid(10),
        reason_codes: vec![ReasonCode::Success, ReasonCode::NoSubscriptionExisted],
        properties: AckProperties::default(),
    };
    vector(
        V5,
        b"\xB0\x05\x00\x0A\x00\x00\x11",
        &Packet::UnsubAck(expected),
    );
    let expected = UnsubAck {
        packet_id: pid(10),
        reason_codes: vec![ReasonCode::NotAuthorized],
        properties: AckProperties {
            reason_string: Some(s("no")),
            user_properties: vec![user("k", "v")],
        },
    };
    #[rustfmt::skip]
    let with_properties: &[u8] = &[
        0xB0, 0x10, 0x00, 0x0A,
        0x0C,                                     // properties length 12
        0x1F, 0x00, 0x02, b'n', b'o',             // reason string "no"
        0x26, 0x00, 0x01, b'k', 0x00, 0x01, b'v', // user property ("k", "v")
        0x87,                                     // Not authorized
    ];
    vector(V5, with_properties, &Packet::UnsubAck(expected));
}

#[test]
fn v5_ping() {
    vector(V5, b"\xC0\x00", &Packet::PingReq);
    vector(V5, b"\xD0\x00", &Packet::PingResp);
}

/// 5.0 section 3.14.2.1: "If the Remaining Length is less than 1 the value of 0x00
/// (Normal disconnection) is used"; section 3.14.2.2.1: "If the Remaining Length is less
/// than 2, a value of 0 is used."
#[test]
fn v5_disconnect_remaining_length_0_1_2() {
    let normal = Packet::Disconnect(Disconnect::new(ReasonCode::Success));
    vector(V5, b"\xE0\x00", &normal);
    decode_vector(V5, b"\xE0\x01\x00", &normal, b"\xE0\x00");
    decode_vector(V5, b"\xE0\x02\x00\x00", &normal, b"\xE0\x00");
    let with_will = Packet::Disconnect(Disconnect::new(ReasonCode::DisconnectWithWillMessage));
    vector(V5, b"\xE0\x01\x04", &with_will);
    decode_vector(V5, b"\xE0\x02\x04\x00", &with_will, b"\xE0\x01\x04");
}

#[test]
fn v5_disconnect_from_client_with_properties() {
    #[rustfmt::skip]
    let wire: &[u8] = &[
        0xE0, 0x13,                               // DISCONNECT, remaining length 19
        0x00,                                     // Normal disconnection
        0x11,                                     // properties length 17
        0x11, 0x00, 0x00, 0x00, 0x00,             // session expiry interval 0
        0x1F, 0x00, 0x02, b'n', b'o',             // reason string "no"
        0x26, 0x00, 0x01, b'k', 0x00, 0x01, b'v', // user property ("k", "v")
    ];
    let expected = Disconnect {
        reason_code: ReasonCode::Success,
        properties: DisconnectProperties {
            session_expiry_interval: Some(0),
            reason_string: Some(s("no")),
            user_properties: vec![user("k", "v")],
            server_reference: None,
        },
    };
    vector(V5, wire, &Packet::Disconnect(expected));
}

#[test]
fn v5_disconnect_from_server_with_server_reference() {
    #[rustfmt::skip]
    let wire: &[u8] = &[
        0xE0, 0x09,
        0x9C,                                     // Use another server
        0x07,
        0x1C, 0x00, 0x04, b'h', b'o', b's', b't', // server reference "host"
    ];
    let expected = Disconnect {
        reason_code: ReasonCode::UseAnotherServer,
        properties: DisconnectProperties {
            server_reference: Some(s("host")),
            ..DisconnectProperties::default()
        },
    };
    vector(V5, wire, &Packet::Disconnect(expected));
}

/// 5.0 section 3.15.2.1: "The Reason Code and Property Length can be omitted if the
/// Reason Code is 0x00 (Success) and there are no Properties. In this case the AUTH has
/// a Remaining Length of 0."
#[test]
fn v5_auth_remaining_length_0() {
    let success = Packet::Auth(Box::new(Auth {
        reason_code: ReasonCode::Success,
        properties: AuthProperties::default(),
    }));
    vector(V5, b"\xF0\x00", &success);
    decode_vector(V5, b"\xF0\x02\x00\x00", &success, b"\xF0\x00");
    // Any other reason code comes with a property length.
    let reauthenticate = Packet::Auth(Box::new(Auth {
        reason_code: ReasonCode::ReAuthenticate,
        properties: AuthProperties::default(),
    }));
    vector(V5, b"\xF0\x02\x19\x00", &reauthenticate);
}

/// 5.0 section 3.15.2.2: every AUTH property.
#[rustfmt::skip]
const V5_AUTH_ALL_PROPERTIES: &[u8] = &[
    0xF0, 0x1A,                               // AUTH, remaining length 26
    0x18,                                     // Continue authentication
    0x18,                                     // properties length 24
    0x15, 0x00, 0x04, b's', b'a', b's', b'l', // authentication method "sasl"
    0x16, 0x00, 0x02, 0x01, 0x02,             // authentication data 01 02
    0x1F, 0x00, 0x02, b'n', b'o',             // reason string "no"
    0x26, 0x00, 0x01, b'k', 0x00, 0x01, b'v', // user property ("k", "v")
];

#[test]
fn v5_auth_continue_with_every_auth_property() {
    let expected = Auth {
        reason_code: ReasonCode::ContinueAuthentication,
        properties: AuthProperties {
            authentication_method: Some(s("sasl")),
            authentication_data: Some(b(b"\x01\x02")),
            reason_string: Some(s("no")),
            user_properties: vec![user("k", "v")],
        },
    };
    vector(
        V5,
        V5_AUTH_ALL_PROPERTIES,
        &Packet::Auth(Box::new(expected)),
    );
}

#[test]
fn user_properties_keep_order_and_repeats() {
    // 5.0 section 3.4.2.2.3: "The User Property is allowed to appear multiple times to
    // represent multiple name, value pairs. The same name is allowed to appear more than
    // once."
    #[rustfmt::skip]
    let wire: &[u8] = &[
        0x40, 0x12, 0x00, 0x0A, 0x00,
        0x0E,
        0x26, 0x00, 0x01, b'k', 0x00, 0x01, b'2',
        0x26, 0x00, 0x01, b'k', 0x00, 0x01, b'1',
    ];
    let expected = Ack {
        properties: AckProperties {
            reason_string: None,
            user_properties: vec![user("k", "2"), user("k", "1")],
        },
        ..ack(10, ReasonCode::Success)
    };
    vector(V5, wire, &Packet::PubAck(expected));
}

/// Several packets back to back in one buffer come out one at a time, in order.
#[test]
fn a_stream_of_vectors() {
    let mut stream = BytesMut::new();
    stream.extend_from_slice(V5_CONNECT_FIGURE_3_6);
    stream.extend_from_slice(V5_PUBLISH_FIGURE_3_9);
    stream.extend_from_slice(V5_SUBSCRIBE_FIGURE_3_21);
    stream.extend_from_slice(b"\xC0\x00\xE0\x00");
    let mut server = Decoder::new(MAX_PACKET_SIZE);
    let mut types = Vec::new();
    while let Some(packet) = server.decode(&mut stream).unwrap() {
        types.push(packet.packet_type());
    }
    assert!(stream.is_empty());
    use switchyard_mqtt::PacketType as T;
    assert_eq!(
        types,
        [
            T::Connect,
            T::Publish,
            T::Subscribe,
            T::PingReq,
            T::Disconnect
        ]
    );
}
