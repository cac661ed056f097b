//! The seed corpus: a few valid packets of every type for each version, encoded by our
//! encoder. `cargo test --manifest-path fuzz/Cargo.toml -- --ignored write_seeds`
//! rewrites `fuzz/seeds/<target>/`; a plain `cargo test` checks that the committed seeds
//! are the ones this file generates, and that every seed passes its target.

use std::num::{NonZeroU16, NonZeroU32};

use arbitrary::Unstructured;
use bytes::{Bytes, BytesMut};
use switchyard_mqtt::fuzzing::{arbitrary_packet, packet_types};
use switchyard_mqtt::{
    Ack, AckProperties, Auth, AuthProperties, ConnAck, ConnAckProperties, Connect,
    ConnectProperties, Disconnect, DisconnectProperties, LastWill, Packet, PacketId, PayloadFormat,
    Protocol, Publish, PublishProperties, QoS, ReasonCode, RetainHandling, SubAck, Subscribe,
    SubscribeProperties, Subscription, SubscriptionOptions, TopicFilter, TopicName, UnsubAck,
    Unsubscribe, UnsubscribeProperties, UserProperties, WillProperties,
};

/// The fuzz targets, as `cargo fuzz list` names them.
pub const TARGETS: &[&str] = &[
    "decode_v311",
    "decode_v5",
    "round_trip",
    "differential_mqttbytes",
];

fn id(n: u16) -> PacketId {
    NonZeroU16::new(n).unwrap_or(NonZeroU16::MIN)
}

fn topic(s: &str) -> TopicName {
    TopicName::new(s).expect("seed topic names are valid")
}

fn filter(s: &str) -> TopicFilter {
    TopicFilter::new(s).expect("seed topic filters are valid")
}

fn user(pairs: &[(&str, &str)]) -> UserProperties {
    pairs.iter().map(|&(k, v)| (k.into(), v.into())).collect()
}

/// Valid packets of every type of `protocol`, the first one a CONNECT.
pub fn packets(protocol: Protocol) -> Vec<Packet> {
    let v5 = protocol == Protocol::V5;
    let mut out = Vec::new();

    // CONNECT: minimal, and with will and login.
    out.push(Packet::Connect(Box::new(Connect::new(
        protocol, "client-1",
    ))));
    let mut connect = Connect::new(protocol, "");
    connect.keep_alive = 30;
    connect.username = Some("user".into());
    connect.password = Some(Bytes::from_static(b"secret"));
    connect.will = Some(LastWill {
        topic: topic("clients/gone"),
        payload: Bytes::from_static(b"bye"),
        qos: QoS::AtLeastOnce,
        retain: true,
        properties: if v5 {
            WillProperties {
                will_delay_interval: Some(10),
                payload_format_indicator: Some(PayloadFormat::Utf8),
                content_type: Some("text/plain".into()),
                response_topic: Some(topic("replies")),
                user_properties: user(&[("k", "v")]),
                ..WillProperties::default()
            }
        } else {
            WillProperties::default()
        },
    });
    if v5 {
        connect.clean_start = false;
        connect.properties = ConnectProperties {
            session_expiry_interval: Some(3600),
            receive_maximum: NonZeroU16::new(100),
            maximum_packet_size: NonZeroU32::new(65536),
            topic_alias_maximum: Some(10),
            request_problem_information: Some(true),
            authentication_method: Some("SCRAM-SHA-1".into()),
            authentication_data: Some(Bytes::from_static(b"\x01\x02")),
            user_properties: user(&[("a", "1"), ("a", "2")]),
            ..ConnectProperties::default()
        };
    }
    out.push(Packet::Connect(Box::new(connect)));

    // CONNACK: accepted with a session, refused.
    let mut connack = ConnAck::new(ReasonCode::Success, true);
    if v5 {
        connack.properties = ConnAckProperties {
            receive_maximum: NonZeroU16::new(20),
            maximum_qos: Some(QoS::AtLeastOnce),
            assigned_client_identifier: Some("auto-7".into()),
            topic_alias_maximum: Some(5),
            wildcard_subscription_available: Some(true),
            server_keep_alive: Some(60),
            ..ConnAckProperties::default()
        };
    }
    out.push(Packet::ConnAck(Box::new(connack)));
    out.push(Packet::ConnAck(Box::new(ConnAck::new(
        ReasonCode::NotAuthorized,
        false,
    ))));

    // PUBLISH at each QoS.
    out.push(Packet::Publish(Publish::new(
        topic("sensors/1/temp"),
        QoS::AtMostOnce,
        Bytes::from_static(b"21.5"),
    )));
    let mut publish = Publish::new(topic("a/b"), QoS::AtLeastOnce, Bytes::from_static(b"x"));
    publish.packet_id = Some(id(1));
    publish.retain = true;
    publish.dup = true;
    if v5 {
        publish.properties = PublishProperties {
            payload_format_indicator: Some(PayloadFormat::Unspecified),
            message_expiry_interval: Some(60),
            topic_alias: NonZeroU16::new(3),
            response_topic: Some(topic("r/1")),
            correlation_data: Some(Bytes::from_static(b"c")),
            user_properties: user(&[("x", "y")]),
            subscription_identifiers: vec![
                NonZeroU32::MIN,
                NonZeroU32::new(300).unwrap_or(NonZeroU32::MIN),
            ],
            content_type: Some("json".into()),
        }
        .into();
    }
    out.push(Packet::Publish(publish));
    let mut publish = Publish::new(topic("q2"), QoS::ExactlyOnce, Bytes::new());
    publish.packet_id = Some(id(65535));
    if v5 {
        // Alias only: the empty topic name is valid in MQTT 5.
        publish.topic = TopicName::empty();
        publish.properties.topic_alias = NonZeroU16::new(3);
    }
    out.push(Packet::Publish(publish));

    // PUBACK, PUBREC, PUBREL, PUBCOMP.
    let failed = |code| Ack {
        packet_id: id(7),
        reason_code: if v5 { code } else { ReasonCode::Success },
        properties: if v5 {
            AckProperties {
                reason_string: Some("no".into()),
                user_properties: user(&[("why", "quota")]),
            }
        } else {
            AckProperties::default()
        },
    };
    out.push(Packet::PubAck(Ack::new(id(1))));
    out.push(Packet::PubAck(failed(ReasonCode::QuotaExceeded)));
    out.push(Packet::PubRec(Ack::new(id(2))));
    out.push(Packet::PubRec(failed(ReasonCode::NoMatchingSubscribers)));
    out.push(Packet::PubRel(Ack::new(id(2))));
    out.push(Packet::PubRel(failed(ReasonCode::PacketIdentifierNotFound)));
    out.push(Packet::PubComp(Ack::new(id(2))));

    // SUBSCRIBE, SUBACK.
    let mut options = SubscriptionOptions::new(QoS::AtLeastOnce);
    if v5 {
        options.no_local = true;
        options.retain_as_published = true;
        options.retain_handling = RetainHandling::DoNotSend;
    }
    let mut subscriptions = vec![
        Subscription {
            filter: filter("a/+/#"),
            options,
        },
        Subscription {
            filter: filter("b"),
            options: SubscriptionOptions::new(QoS::ExactlyOnce),
        },
    ];
    if v5 {
        subscriptions.push(Subscription {
            filter: filter("$share/group/c/+"),
            options: SubscriptionOptions::new(QoS::AtMostOnce),
        });
    }
    out.push(Packet::Subscribe(Subscribe {
        packet_id: id(10),
        subscriptions,
        properties: if v5 {
            SubscribeProperties {
                subscription_identifier: NonZeroU32::new(42),
                user_properties: user(&[("s", "1")]),
            }
        } else {
            SubscribeProperties::default()
        },
    }));
    let mut reason_codes = vec![
        ReasonCode::GrantedQoS1,
        ReasonCode::GrantedQoS2,
        ReasonCode::UnspecifiedError,
    ];
    if v5 {
        reason_codes.push(ReasonCode::SharedSubscriptionsNotSupported);
    }
    out.push(Packet::SubAck(SubAck {
        packet_id: id(10),
        reason_codes,
        properties: AckProperties::default(),
    }));

    // UNSUBSCRIBE, UNSUBACK.
    out.push(Packet::Unsubscribe(Unsubscribe {
        packet_id: id(11),
        filters: vec![filter("a/+/#"), filter("b")],
        properties: if v5 {
            UnsubscribeProperties {
                user_properties: user(&[("u", "2")]),
            }
        } else {
            UnsubscribeProperties::default()
        },
    }));
    out.push(Packet::UnsubAck(UnsubAck {
        packet_id: id(11),
        reason_codes: if v5 {
            vec![ReasonCode::Success, ReasonCode::NoSubscriptionExisted]
        } else {
            Vec::new()
        },
        properties: AckProperties::default(),
    }));

    // PINGREQ, PINGRESP, DISCONNECT (and AUTH).
    out.push(Packet::PingReq);
    out.push(Packet::PingResp);
    out.push(Packet::Disconnect(Disconnect::new(ReasonCode::Success)));
    if v5 {
        out.push(Packet::Disconnect(Disconnect {
            reason_code: ReasonCode::ServerMoved,
            properties: DisconnectProperties {
                session_expiry_interval: Some(0),
                reason_string: Some("moved".into()),
                user_properties: Vec::new(),
                server_reference: Some("other:1883".into()),
            },
        }));
        out.push(Packet::Auth(Box::new(Auth {
            reason_code: ReasonCode::ContinueAuthentication,
            properties: AuthProperties {
                authentication_method: Some("SCRAM-SHA-1".into()),
                authentication_data: Some(Bytes::from_static(b"r=abc")),
                reason_string: None,
                user_properties: Vec::new(),
            },
        })));
    }
    out
}

fn encode(packet: &Packet, protocol: Protocol) -> Vec<u8> {
    let mut buf = BytesMut::new();
    packet
        .encode(protocol, &mut buf)
        .expect("seed packets encode");
    buf.to_vec()
}

/// Every seed packet of `protocol`, encoded back to back.
pub fn stream(protocol: Protocol) -> Vec<u8> {
    packets(protocol)
        .iter()
        .flat_map(|p| encode(p, protocol))
        .collect()
}

fn short_name(packet: &Packet) -> String {
    format!("{:?}", packet.packet_type()).to_lowercase()
}

/// Inputs for `round_trip` that make `arbitrary_packet` start with each packet type: the
/// first one found among inputs of a fixed shape.
fn round_trip_seeds() -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for (v5, protocol) in [(0u8, Protocol::V311), (1, Protocol::V5)] {
        for &wanted in packet_types(protocol) {
            let found = (0..=u16::MAX).find_map(|n| {
                let [a, b] = n.to_le_bytes();
                // selector of check_structured, a u16 split point for the stream check,
                // then bytes for the generator.
                let mut input = vec![v5, a, b];
                input.extend((0u8..96).map(|i| i.wrapping_mul(37).wrapping_add(a ^ b)));
                let mut u = Unstructured::new(&input);
                let _: Option<(bool, u16)> = u.arbitrary().ok();
                let packet = arbitrary_packet(&mut u, protocol).ok()?;
                (packet.packet_type() == wanted).then_some(input)
            });
            if let Some(input) = found {
                let name = format!("v{}-{}", protocol.level(), short_name_of(wanted));
                out.push((name, input));
            }
        }
    }
    out
}

fn short_name_of(t: switchyard_mqtt::PacketType) -> String {
    format!("{t:?}").to_lowercase()
}

/// Every seed file: `(target, file name, contents)`.
pub fn files() -> Vec<(&'static str, String, Vec<u8>)> {
    let mut out = Vec::new();
    for (target, protocol) in [("decode_v311", Protocol::V311), ("decode_v5", Protocol::V5)] {
        for (i, packet) in packets(protocol).iter().enumerate() {
            // No split, client-side decoder.
            let mut data = vec![0];
            data.extend(encode(packet, protocol));
            out.push((target, format!("{i:02}-{}", short_name(packet)), data));
        }
        let stream = stream(protocol);
        let mut data = vec![0x05];
        data.extend_from_slice(&stream);
        out.push((target, "stream".to_owned(), data));
        // Server-side decoder: CONNECT first, split inside the second packet.
        let mut data = vec![0x80 | 0x20];
        data.extend_from_slice(&stream);
        out.push((target, "server-stream".to_owned(), data));
    }
    for protocol in [Protocol::V311, Protocol::V5] {
        let selector = u8::from(protocol == Protocol::V5);
        for (i, packet) in packets(protocol).iter().enumerate() {
            let mut data = vec![selector];
            data.extend(encode(packet, protocol));
            let name = format!("v{}-{i:02}-{}", protocol.level(), short_name(packet));
            out.push(("differential_mqttbytes", name, data));
        }
        let mut data = vec![selector];
        data.extend(stream(protocol));
        let name = format!("v{}-stream", protocol.level());
        out.push(("differential_mqttbytes", name, data));
    }
    for (name, data) in round_trip_seeds() {
        out.push(("round_trip", name, data));
    }
    out
}

/// Runs one input through a target's function.
pub fn run_target(target: &str, data: &[u8]) {
    match target {
        "decode_v311" => crate::decode(data, Protocol::V311),
        "decode_v5" => crate::decode(data, Protocol::V5),
        "round_trip" => crate::round_trip(data),
        "differential_mqttbytes" => {
            crate::differential::run(data);
        }
        other => panic!("no target {other}"),
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    fn dir(kind: &str, target: &str) -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join(kind)
            .join(target)
    }

    /// Rewrites fuzz/seeds/ from `files()`.
    #[test]
    #[ignore = "writes fuzz/seeds/; run by hand after changing the seed packets"]
    fn write_seeds() {
        for target in TARGETS {
            let dir = dir("seeds", target);
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).unwrap();
        }
        for (target, name, data) in files() {
            std::fs::write(dir("seeds", target).join(name), data).unwrap();
        }
    }

    #[test]
    fn every_type_of_each_version_has_a_seed() {
        for protocol in [Protocol::V311, Protocol::V5] {
            let seeded: Vec<_> = packets(protocol).iter().map(Packet::packet_type).collect();
            for t in packet_types(protocol) {
                assert!(seeded.contains(t), "{protocol:?} {t:?}");
            }
        }
        assert_eq!(round_trip_seeds().len(), 14 + 15);
    }

    #[test]
    fn committed_seeds_are_current_and_pass() {
        let files = files();
        for (target, name, data) in &files {
            let path = dir("seeds", target).join(name);
            let committed = std::fs::read(&path).unwrap_or_default();
            assert!(
                committed == *data,
                "{} is stale: run the write_seeds test",
                path.display()
            );
            run_target(target, data);
        }
        for target in TARGETS {
            let count = std::fs::read_dir(dir("seeds", target)).unwrap().count();
            let expected = files.iter().filter(|(t, _, _)| t == target).count();
            assert_eq!(count, expected, "stray files in seeds/{target}");
        }
    }

    /// Every input saved under fuzz/regressions/<target>/ passes its target.
    #[test]
    fn regressions() {
        for target in TARGETS {
            let Ok(entries) = std::fs::read_dir(dir("regressions", target)) else {
                continue;
            };
            for entry in entries {
                let path = entry.unwrap().path();
                run_target(target, &std::fs::read(&path).unwrap());
            }
        }
    }
}
