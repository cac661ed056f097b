//! Generators of valid packets, and the checks that fuzz targets and property tests run.
//!
//! Built with the `arbitrary` feature (and in this crate's tests). The fuzz targets in
//! `fuzz/` are a few lines each; the logic lives here so that it compiles, and is tested,
//! with the crate.

#![expect(
    clippy::panic,
    reason = "fuzz and property checks report a failure by panicking"
)]

use std::num::{NonZeroU16, NonZeroU32};

use arbitrary::{Arbitrary, Result, Unstructured};
use bytes::{Bytes, BytesMut};
use bytestring::ByteString;

use crate::codec::Decoder;
use crate::packet::{
    Ack, AckProperties, Auth, AuthProperties, ConnAck, ConnAckProperties, Connect,
    ConnectProperties, Disconnect, DisconnectProperties, LastWill, Packet, PacketType, Publish,
    PublishProperties, SubAck, Subscribe, SubscribeProperties, Subscription, UnsubAck, Unsubscribe,
    UnsubscribeProperties, WillProperties,
};
use crate::reason::ReasonCode;
use crate::types::{
    PacketId, PayloadFormat, Protocol, QoS, RetainHandling, SubscriptionOptions, TopicFilter,
    TopicName, UserProperties,
};
use crate::writer::MAX_VARINT;

/// Every packet type of a protocol version.
pub fn packet_types(protocol: Protocol) -> &'static [PacketType] {
    use PacketType::*;
    const ALL: &[PacketType] = &[
        Connect,
        ConnAck,
        Publish,
        PubAck,
        PubRec,
        PubRel,
        PubComp,
        Subscribe,
        SubAck,
        Unsubscribe,
        UnsubAck,
        PingReq,
        PingResp,
        Disconnect,
        Auth,
    ];
    match protocol {
        Protocol::V5 => ALL,
        Protocol::V311 => ALL.split_last().map_or(ALL, |(_, rest)| rest),
    }
}

/// A valid packet of any type for `protocol`, whose encoding decodes back to it exactly.
pub fn arbitrary_packet(u: &mut Unstructured<'_>, protocol: Protocol) -> Result<Packet> {
    let packet_type = *u.choose(packet_types(protocol))?;
    arbitrary_packet_of(u, protocol, packet_type)
}

/// A valid packet of the given type for `protocol` (AUTH only for MQTT 5).
pub fn arbitrary_packet_of(
    u: &mut Unstructured<'_>,
    protocol: Protocol,
    packet_type: PacketType,
) -> Result<Packet> {
    let g = Gen { protocol };
    Ok(match packet_type {
        PacketType::Connect => Packet::Connect(Box::new(g.connect(u)?)),
        PacketType::ConnAck => Packet::ConnAck(Box::new(g.connack(u)?)),
        PacketType::Publish => Packet::Publish(g.publish(u)?),
        PacketType::PubAck => Packet::PubAck(g.ack(u, PacketType::PubAck)?),
        PacketType::PubRec => Packet::PubRec(g.ack(u, PacketType::PubRec)?),
        PacketType::PubRel => Packet::PubRel(g.ack(u, PacketType::PubRel)?),
        PacketType::PubComp => Packet::PubComp(g.ack(u, PacketType::PubComp)?),
        PacketType::Subscribe => Packet::Subscribe(g.subscribe(u)?),
        PacketType::SubAck => Packet::SubAck(g.suback(u)?),
        PacketType::Unsubscribe => Packet::Unsubscribe(g.unsubscribe(u)?),
        PacketType::UnsubAck => Packet::UnsubAck(g.unsuback(u)?),
        PacketType::PingReq => Packet::PingReq,
        PacketType::PingResp => Packet::PingResp,
        PacketType::Disconnect => Packet::Disconnect(g.disconnect(u)?),
        PacketType::Auth if protocol == Protocol::V5 => Packet::Auth(Box::new(g.auth(u)?)),
        PacketType::Auth => Packet::PingReq,
    })
}

/// Encodes `packet` and decodes it again; panics unless the result is the same packet and
/// the decoder consumed exactly the encoded bytes.
pub fn check_encode_decode(packet: &Packet, protocol: Protocol) {
    let mut buf = BytesMut::new();
    if let Err(e) = packet.encode(protocol, &mut buf) {
        panic!("valid packet failed to encode: {e}: {packet:?}");
    }
    let len = buf.len();
    // The exact size passes the limit, one byte less does not.
    let mut limited = BytesMut::new();
    assert!(packet.encode_limited(protocol, &mut limited, len).is_ok());
    assert!(
        packet
            .encode_limited(protocol, &mut limited, len - 1)
            .is_err()
    );
    assert_eq!(limited.len(), len, "a refused encode must not write");
    let mut decoder = Decoder::with_protocol(protocol, u32::try_from(len).unwrap_or(u32::MAX));
    match decoder.decode(&mut buf) {
        Ok(Some(decoded)) => assert_eq!(&decoded, packet, "round trip changed the packet"),
        other => panic!("encoded packet did not decode: {other:?}: {packet:?}"),
    }
    assert!(
        buf.is_empty(),
        "decoder left {} bytes of a whole packet",
        buf.len()
    );
}

/// Decodes `data` as a stream of `protocol` packets, fed in two parts split at `cut`.
/// Panics if the decoder breaks its contract, or if a decoded packet does not survive
/// encode + decode unchanged.
pub fn check_decode_stream(data: &[u8], protocol: Option<Protocol>, cut: usize) {
    let mut decoder = match protocol {
        Some(p) => Decoder::with_protocol(p, 1 << 20),
        None => Decoder::new(1 << 20),
    };
    let cut = cut.min(data.len());
    let mut buf = BytesMut::new();
    for part in [data.get(..cut), data.get(cut..)].into_iter().flatten() {
        buf.extend_from_slice(part);
        loop {
            let before = buf.len();
            match decoder.decode(&mut buf) {
                Ok(Some(packet)) => {
                    assert!(buf.len() < before, "a packet was decoded from nothing");
                    let version = match &packet {
                        Packet::Connect(c) => c.protocol,
                        _ => decoder.protocol().unwrap_or(Protocol::V5),
                    };
                    check_encode_decode(&packet, version);
                }
                Ok(None) => {
                    assert_eq!(buf.len(), before, "need-more-bytes consumed input");
                    break;
                }
                Err(_) => return,
            }
        }
    }
}

/// Draws packets of one version from fuzz input and checks each round trip.
pub fn check_structured(data: &[u8]) {
    let mut u = Unstructured::new(data);
    // `arbitrary` keeps answering with defaults once the data runs out: stop there.
    while !u.is_empty() {
        let Ok(v5) = bool::arbitrary(&mut u) else {
            return;
        };
        let protocol = if v5 { Protocol::V5 } else { Protocol::V311 };
        match arbitrary_packet(&mut u, protocol) {
            Ok(packet) => check_encode_decode(&packet, protocol),
            Err(_) => return,
        }
    }
}

/// Generates packets that are valid for one protocol version.
struct Gen {
    protocol: Protocol,
}

impl Gen {
    fn v5(&self) -> bool {
        self.protocol == Protocol::V5
    }

    /// `Some` only in MQTT 5, and then only sometimes.
    fn opt<T>(
        &self,
        u: &mut Unstructured<'_>,
        f: impl FnOnce(&mut Unstructured<'_>) -> Result<T>,
    ) -> Result<Option<T>> {
        if self.v5() && u.arbitrary()? {
            f(u).map(Some)
        } else {
            Ok(None)
        }
    }

    fn user(&self, u: &mut Unstructured<'_>) -> Result<UserProperties> {
        if !self.v5() {
            return Ok(Vec::new());
        }
        let n = u.int_in_range(0..=3)?;
        (0..n).map(|_| Ok((string(u)?, string(u)?))).collect()
    }

    fn connect(&self, u: &mut Unstructured<'_>) -> Result<Connect> {
        let client_id = string(u)?;
        let clean_start = u.arbitrary()? || (!self.v5() && client_id.is_empty());
        let will = if u.arbitrary()? {
            Some(LastWill {
                topic: topic_name(u)?,
                payload: bytes(u)?,
                qos: qos(u)?,
                retain: u.arbitrary()?,
                properties: WillProperties {
                    will_delay_interval: self.opt(u, |u| u.arbitrary())?,
                    payload_format_indicator: self.opt(u, payload_format)?,
                    message_expiry_interval: self.opt(u, |u| u.arbitrary())?,
                    content_type: self.opt(u, string)?,
                    response_topic: self.opt(u, topic_name)?,
                    correlation_data: self.opt(u, bytes)?,
                    user_properties: self.user(u)?,
                },
            })
        } else {
            None
        };
        let mut username = if u.arbitrary()? {
            Some(string(u)?)
        } else {
            None
        };
        let password = if u.arbitrary()? {
            Some(bytes(u)?)
        } else {
            None
        };
        if !self.v5() && password.is_some() && username.is_none() {
            username = Some(string(u)?);
        }
        let authentication_method = self.opt(u, string)?;
        let authentication_data = if authentication_method.is_some() {
            self.opt(u, bytes)?
        } else {
            None
        };
        Ok(Connect {
            protocol: self.protocol,
            clean_start,
            keep_alive: u.arbitrary()?,
            client_id,
            will,
            username,
            password,
            properties: ConnectProperties {
                session_expiry_interval: self.opt(u, |u| u.arbitrary())?,
                receive_maximum: self.opt(u, nonzero_u16)?,
                maximum_packet_size: self.opt(u, nonzero_u32)?,
                topic_alias_maximum: self.opt(u, |u| u.arbitrary())?,
                request_response_information: self.opt(u, |u| u.arbitrary())?,
                request_problem_information: self.opt(u, |u| u.arbitrary())?,
                user_properties: self.user(u)?,
                authentication_method,
                authentication_data,
            },
        })
    }

    fn connack(&self, u: &mut Unstructured<'_>) -> Result<ConnAck> {
        let reason_code = if self.v5() {
            *u.choose(ReasonCode::allowed_in(PacketType::ConnAck))?
        } else {
            ReasonCode::from_v3_connack(u.int_in_range(0..=5)?).unwrap_or(ReasonCode::Success)
        };
        let authentication_method = self.opt(u, string)?;
        let authentication_data = if authentication_method.is_some() {
            self.opt(u, bytes)?
        } else {
            None
        };
        Ok(ConnAck {
            session_present: reason_code == ReasonCode::Success && u.arbitrary()?,
            reason_code,
            properties: ConnAckProperties {
                session_expiry_interval: self.opt(u, |u| u.arbitrary())?,
                receive_maximum: self.opt(u, nonzero_u16)?,
                maximum_qos: self.opt(u, |u| {
                    Ok(if u.arbitrary()? {
                        QoS::AtLeastOnce
                    } else {
                        QoS::AtMostOnce
                    })
                })?,
                retain_available: self.opt(u, |u| u.arbitrary())?,
                maximum_packet_size: self.opt(u, nonzero_u32)?,
                assigned_client_identifier: self.opt(u, string)?,
                topic_alias_maximum: self.opt(u, |u| u.arbitrary())?,
                reason_string: self.opt(u, string)?,
                user_properties: self.user(u)?,
                wildcard_subscription_available: self.opt(u, |u| u.arbitrary())?,
                subscription_identifiers_available: self.opt(u, |u| u.arbitrary())?,
                shared_subscription_available: self.opt(u, |u| u.arbitrary())?,
                server_keep_alive: self.opt(u, |u| u.arbitrary())?,
                response_information: self.opt(u, string)?,
                server_reference: self.opt(u, string)?,
                authentication_method,
                authentication_data,
            },
        })
    }

    fn publish(&self, u: &mut Unstructured<'_>) -> Result<Publish> {
        let qos = qos(u)?;
        let packet_id = if qos == QoS::AtMostOnce {
            None
        } else {
            Some(packet_id(u)?)
        };
        let topic_alias = self.opt(u, nonzero_u16)?;
        let topic = if topic_alias.is_some() && u.arbitrary()? {
            TopicName::empty()
        } else {
            topic_name(u)?
        };
        let subscription_identifiers = if self.v5() {
            let n = u.int_in_range(0..=3)?;
            (0..n).map(|_| subscription_id(u)).collect::<Result<_>>()?
        } else {
            Vec::new()
        };
        Ok(Publish {
            dup: qos != QoS::AtMostOnce && u.arbitrary()?,
            qos,
            retain: u.arbitrary()?,
            topic,
            packet_id,
            properties: PublishProperties {
                payload_format_indicator: self.opt(u, payload_format)?,
                message_expiry_interval: self.opt(u, |u| u.arbitrary())?,
                topic_alias,
                response_topic: self.opt(u, topic_name)?,
                correlation_data: self.opt(u, bytes)?,
                user_properties: self.user(u)?,
                subscription_identifiers,
                content_type: self.opt(u, string)?,
            }
            .into(),
            payload: bytes(u)?,
        })
    }

    fn ack_properties(&self, u: &mut Unstructured<'_>) -> Result<AckProperties> {
        Ok(AckProperties {
            reason_string: self.opt(u, string)?,
            user_properties: self.user(u)?,
        })
    }

    fn ack(&self, u: &mut Unstructured<'_>, packet_type: PacketType) -> Result<Ack> {
        let reason_code = if self.v5() {
            *u.choose(ReasonCode::allowed_in(packet_type))?
        } else {
            ReasonCode::Success
        };
        Ok(Ack {
            packet_id: packet_id(u)?,
            reason_code,
            properties: self.ack_properties(u)?,
        })
    }

    fn subscribe(&self, u: &mut Unstructured<'_>) -> Result<Subscribe> {
        let n = u.int_in_range(1..=4)?;
        let mut subscriptions = Vec::with_capacity(n);
        for _ in 0..n {
            let filter = self.topic_filter(u)?;
            let mut options = SubscriptionOptions::new(qos(u)?);
            if self.v5() {
                options.no_local = filter.shared().is_none() && u.arbitrary()?;
                options.retain_as_published = u.arbitrary()?;
                options.retain_handling = *u.choose(&[
                    RetainHandling::SendAtSubscribe,
                    RetainHandling::SendAtNewSubscribe,
                    RetainHandling::DoNotSend,
                ])?;
            }
            subscriptions.push(Subscription { filter, options });
        }
        Ok(Subscribe {
            packet_id: packet_id(u)?,
            subscriptions,
            properties: SubscribeProperties {
                subscription_identifier: self.opt(u, subscription_id)?,
                user_properties: self.user(u)?,
            },
        })
    }

    fn suback(&self, u: &mut Unstructured<'_>) -> Result<SubAck> {
        let codes: &[ReasonCode] = if self.v5() {
            ReasonCode::allowed_in(PacketType::SubAck)
        } else {
            &[
                ReasonCode::Success,
                ReasonCode::GrantedQoS1,
                ReasonCode::GrantedQoS2,
                ReasonCode::UnspecifiedError,
            ]
        };
        let n = u.int_in_range(1..=4)?;
        let reason_codes = (0..n)
            .map(|_| u.choose(codes).copied())
            .collect::<Result<_>>()?;
        Ok(SubAck {
            packet_id: packet_id(u)?,
            reason_codes,
            properties: self.ack_properties(u)?,
        })
    }

    fn unsubscribe(&self, u: &mut Unstructured<'_>) -> Result<Unsubscribe> {
        let n = u.int_in_range(1..=4)?;
        let filters = (0..n)
            .map(|_| self.topic_filter(u))
            .collect::<Result<_>>()?;
        Ok(Unsubscribe {
            packet_id: packet_id(u)?,
            filters,
            properties: UnsubscribeProperties {
                user_properties: self.user(u)?,
            },
        })
    }

    fn unsuback(&self, u: &mut Unstructured<'_>) -> Result<UnsubAck> {
        let reason_codes = if self.v5() {
            let n = u.int_in_range(1..=4)?;
            let codes = ReasonCode::allowed_in(PacketType::UnsubAck);
            (0..n)
                .map(|_| u.choose(codes).copied())
                .collect::<Result<_>>()?
        } else {
            Vec::new()
        };
        Ok(UnsubAck {
            packet_id: packet_id(u)?,
            reason_codes,
            properties: self.ack_properties(u)?,
        })
    }

    fn disconnect(&self, u: &mut Unstructured<'_>) -> Result<Disconnect> {
        if !self.v5() {
            return Ok(Disconnect::new(ReasonCode::Success));
        }
        Ok(Disconnect {
            reason_code: *u.choose(ReasonCode::allowed_in(PacketType::Disconnect))?,
            properties: DisconnectProperties {
                session_expiry_interval: self.opt(u, |u| u.arbitrary())?,
                reason_string: self.opt(u, string)?,
                user_properties: self.user(u)?,
                server_reference: self.opt(u, string)?,
            },
        })
    }

    fn auth(&self, u: &mut Unstructured<'_>) -> Result<Auth> {
        let authentication_method = self.opt(u, string)?;
        let authentication_data = if authentication_method.is_some() {
            self.opt(u, bytes)?
        } else {
            None
        };
        Ok(Auth {
            reason_code: *u.choose(ReasonCode::allowed_in(PacketType::Auth))?,
            properties: AuthProperties {
                authentication_method,
                authentication_data,
                reason_string: self.opt(u, string)?,
                user_properties: self.user(u)?,
            },
        })
    }

    /// A valid filter: levels of text, `+` and a final `#`, sometimes shared in MQTT 5.
    fn topic_filter(&self, u: &mut Unstructured<'_>) -> Result<TopicFilter> {
        let mut filter = String::new();
        if self.v5() && u.ratio(1, 4)? {
            filter.push_str("$share/");
            filter.push_str(&level(u, "g")?);
            filter.push('/');
        }
        let levels = u.int_in_range(1..=4)?;
        for i in 0..levels {
            if i > 0 {
                filter.push('/');
            }
            match u.int_in_range(0..=5)? {
                0 => filter.push('+'),
                1 if i + 1 == levels => filter.push('#'),
                _ => filter.push_str(&level(u, "")?),
            }
        }
        let fallback = || TopicFilter::new("a/+/#");
        let filter = match TopicFilter::new(filter) {
            Ok(f) if !self.v5() || f.check_shared_v5().is_ok() => f,
            _ => fallback().map_err(|_| arbitrary::Error::IncorrectFormat)?,
        };
        Ok(filter)
    }
}

/// A string valid in MQTT: no U+0000, at most 256 bytes.
fn string(u: &mut Unstructured<'_>) -> Result<ByteString> {
    let s: &str = u.arbitrary()?;
    let mut s: String = s.chars().filter(|&c| c != '\0').collect();
    while s.len() > 256 {
        s.pop();
    }
    Ok(ByteString::from(s))
}

/// One topic level: no `/`, `+`, `#`, not `$share`; `fallback` when empty.
fn level(u: &mut Unstructured<'_>, fallback: &str) -> Result<String> {
    let s = string(u)?;
    let s: String = s
        .chars()
        .filter(|c| !matches!(c, '/' | '+' | '#'))
        .collect();
    Ok(if s.is_empty() || s == "$share" {
        fallback.to_owned()
    } else {
        s
    })
}

fn topic_name(u: &mut Unstructured<'_>) -> Result<TopicName> {
    let s = string(u)?;
    let s: String = s.chars().filter(|c| !matches!(c, '+' | '#')).collect();
    TopicName::new(if s.is_empty() { "t".to_owned() } else { s })
        .map_err(|_| arbitrary::Error::IncorrectFormat)
}

fn bytes(u: &mut Unstructured<'_>) -> Result<Bytes> {
    let b: &[u8] = u.arbitrary()?;
    Ok(Bytes::copy_from_slice(
        b.get(..b.len().min(1024)).unwrap_or_default(),
    ))
}

fn qos(u: &mut Unstructured<'_>) -> Result<QoS> {
    u.choose(&[QoS::AtMostOnce, QoS::AtLeastOnce, QoS::ExactlyOnce])
        .copied()
}

fn payload_format(u: &mut Unstructured<'_>) -> Result<PayloadFormat> {
    u.choose(&[PayloadFormat::Unspecified, PayloadFormat::Utf8])
        .copied()
}

fn packet_id(u: &mut Unstructured<'_>) -> Result<PacketId> {
    nonzero_u16(u)
}

fn nonzero_u16(u: &mut Unstructured<'_>) -> Result<NonZeroU16> {
    Ok(NonZeroU16::new(u.int_in_range(1..=u16::MAX)?).unwrap_or(NonZeroU16::MIN))
}

fn nonzero_u32(u: &mut Unstructured<'_>) -> Result<NonZeroU32> {
    Ok(NonZeroU32::new(u.int_in_range(1..=u32::MAX)?).unwrap_or(NonZeroU32::MIN))
}

fn subscription_id(u: &mut Unstructured<'_>) -> Result<NonZeroU32> {
    Ok(NonZeroU32::new(u.int_in_range(1..=MAX_VARINT)?).unwrap_or(NonZeroU32::MIN))
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn round_trip(protocol: Protocol, packet_type: PacketType, data: &[u8]) {
        let mut u = Unstructured::new(data);
        if let Ok(packet) = arbitrary_packet_of(&mut u, protocol, packet_type) {
            assert_eq!(packet.packet_type(), packet_type);
            check_encode_decode(&packet, protocol);
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// Every packet type of both versions survives encode + decode unchanged.
        #[test]
        fn every_packet_round_trips(
            v5 in any::<bool>(),
            index in 0usize..15,
            data in proptest::collection::vec(any::<u8>(), 0..2048),
        ) {
            let protocol = if v5 { Protocol::V5 } else { Protocol::V311 };
            let types = packet_types(protocol);
            let packet_type = types[index % types.len()];
            round_trip(protocol, packet_type, &data);
        }

        /// Arbitrary bytes never break the decoder's contract, whatever the split.
        #[test]
        fn arbitrary_streams_keep_the_contract(
            data in proptest::collection::vec(any::<u8>(), 0..512),
            cut in 0usize..512,
            version in 0u8..3,
        ) {
            let protocol = match version { 0 => None, 1 => Some(Protocol::V311), _ => Some(Protocol::V5) };
            check_decode_stream(&data, protocol, cut);
        }
    }

    /// The structured checker ends when its input does (it looped forever on any input
    /// before: `arbitrary` answers with defaults once the data runs out).
    #[test]
    fn structured_check_ends_with_its_input() {
        check_structured(&[]);
        check_structured(&[1, 0, 7, 3, 9]);
        check_structured(&[0xFF; 300]);
    }

    /// Each (version, type) pair gets its own cases, so no type can be skipped by chance.
    #[test]
    fn each_type_of_each_version_round_trips() {
        let mut runner = proptest::test_runner::TestRunner::default();
        for protocol in [Protocol::V311, Protocol::V5] {
            for &packet_type in packet_types(protocol) {
                runner
                    .run(&proptest::collection::vec(any::<u8>(), 0..1024), |data| {
                        round_trip(protocol, packet_type, &data);
                        Ok(())
                    })
                    .unwrap();
            }
        }
    }
}
