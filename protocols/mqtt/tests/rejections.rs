//! One rejection per validation rule: a minimal packet that breaks only that rule, the
//! exact [`DecodeError`] and the [`ReasonCode`] it yields, one line per case (after
//! ntex-mqtt's `test_case` tables). Each line becomes its own `#[test]`, so a failing
//! case is named in the test output.
//!
//! Decoders: `v3` and `v5` know their version (client side, or a server after CONNECT);
//! `server` is a fresh server-side decoder whose first packet must be CONNECT. All refuse
//! packets over 1024 bytes.
//!
//! Below the table: the cases that need more than one line (maximum packet size), and the
//! allowed counterparts of rules that differ between versions or look alike.
//!
//! Where a reason code depends on more than the error variant, the table row asserts the
//! variant only (`_`) and the code is checked under "Reason codes".

use std::num::{NonZeroU16, NonZeroU32};

use bytes::{Bytes, BytesMut};
use switchyard_mqtt::{
    Ack, AckProperties, ByteString, Connect, DecodeError, Decoder, Packet, Protocol, Publish,
    PublishProperties, QoS, ReasonCode, Subscription, SubscriptionOptions, TopicFilter, TopicName,
};

use DecodeError as E;
use ReasonCode as R;

const MAX_PACKET_SIZE: u32 = 1024;

fn v3() -> Decoder {
    Decoder::with_protocol(Protocol::V311, MAX_PACKET_SIZE)
}

fn v5() -> Decoder {
    Decoder::with_protocol(Protocol::V5, MAX_PACKET_SIZE)
}

fn server() -> Decoder {
    Decoder::new(MAX_PACKET_SIZE)
}

/// Decodes `wire`, which must be one whole packet (its remaining length matches its
/// size, unless the case is about the fixed header itself), and expects `error`.
#[track_caller]
fn check(mut decoder: Decoder, wire: &[u8], error: DecodeError, reason: Option<ReasonCode>) {
    let header_case = matches!(
        error,
        E::PacketTooLarge { .. } | E::MalformedVariableInteger | E::NonMinimalVariableInteger
    );
    if !header_case {
        // Single-byte remaining lengths only: the table's packets are all small.
        assert!(wire.len() >= 2 && wire[1] < 0x80, "test vector header");
        assert_eq!(
            usize::from(wire[1]),
            wire.len() - 2,
            "test vector remaining length"
        );
    }
    let mut buf = BytesMut::from(wire);
    assert_eq!(decoder.decode(&mut buf), Err(error));
    if let Some(reason) = reason {
        assert_eq!(error.reason_code(), reason, "reason code of {error:?}");
    }
}

/// The reason column: a reason code, or `_` where the standard names no code for the
/// case, or names one that the variant cannot carry for every case it covers (those are
/// checked under "Reason codes" below).
macro_rules! reason {
    (_) => {
        None
    };
    ($reason:ident) => {
        Some(R::$reason)
    };
}

macro_rules! rejects {
    ($($(#[$attr:meta])* $name:ident: $decoder:ident, $wire:expr, $error:expr, $reason:tt;)*) => {
        $(
            #[test]
            $(#[$attr])*
            fn $name() {
                check($decoder(), $wire, $error, reason!($reason));
            }
        )*
    };
}

rejects! {
    // Fixed-header flags: fixed for every packet type but PUBLISH; 0010 for PUBREL,
    // SUBSCRIBE and UNSUBSCRIBE, 0000 for the rest. 3.1.1 [MQTT-2.2.2-1], [MQTT-2.2.2-2];
    // 5.0 section 2.1.3 ("If invalid flags are received it is a Malformed Packet").
    flags_connect_v3: v3, b"\x11\x0C\x00\x04MQTT\x04\x02\x00\x3C\x00\x00", E::InvalidHeaderFlags, MalformedPacket;
    flags_connack_v3: v3, b"\x21\x02\x00\x00", E::InvalidHeaderFlags, MalformedPacket;
    flags_puback_v3: v3, b"\x42\x02\x00\x01", E::InvalidHeaderFlags, MalformedPacket;
    flags_pubrec_v3: v3, b"\x51\x02\x00\x01", E::InvalidHeaderFlags, MalformedPacket;
    flags_pubrel_v3: v3, b"\x60\x02\x00\x01", E::InvalidHeaderFlags, MalformedPacket;
    flags_pubcomp_v3: v3, b"\x78\x02\x00\x01", E::InvalidHeaderFlags, MalformedPacket;
    flags_subscribe_v3: v3, b"\x80\x06\x00\x01\x00\x01a\x00", E::InvalidHeaderFlags, MalformedPacket;
    flags_suback_v3: v3, b"\x94\x03\x00\x01\x00", E::InvalidHeaderFlags, MalformedPacket;
    flags_unsubscribe_v3: v3, b"\xA3\x05\x00\x01\x00\x01a", E::InvalidHeaderFlags, MalformedPacket;
    flags_unsuback_v3: v3, b"\xB2\x02\x00\x01", E::InvalidHeaderFlags, MalformedPacket;
    flags_pingreq_v3: v3, b"\xC1\x00", E::InvalidHeaderFlags, MalformedPacket;
    flags_pingresp_v3: v3, b"\xD8\x00", E::InvalidHeaderFlags, MalformedPacket;
    flags_disconnect_v3: v3, b"\xE4\x00", E::InvalidHeaderFlags, MalformedPacket;
    flags_connect_v5: v5, b"\x11\x0D\x00\x04MQTT\x05\x02\x00\x3C\x00\x00\x00", E::InvalidHeaderFlags, MalformedPacket;
    flags_connack_v5: v5, b"\x22\x03\x00\x00\x00", E::InvalidHeaderFlags, MalformedPacket;
    flags_puback_v5: v5, b"\x41\x02\x00\x01", E::InvalidHeaderFlags, MalformedPacket;
    flags_pubrec_v5: v5, b"\x52\x02\x00\x01", E::InvalidHeaderFlags, MalformedPacket;
    flags_pubrel_v5: v5, b"\x66\x02\x00\x01", E::InvalidHeaderFlags, MalformedPacket;
    flags_pubcomp_v5: v5, b"\x74\x02\x00\x01", E::InvalidHeaderFlags, MalformedPacket;
    flags_subscribe_v5: v5, b"\x8A\x07\x00\x01\x00\x00\x01a\x00", E::InvalidHeaderFlags, MalformedPacket;
    flags_suback_v5: v5, b"\x98\x04\x00\x01\x00\x00", E::InvalidHeaderFlags, MalformedPacket;
    flags_unsubscribe_v5: v5, b"\xA0\x06\x00\x01\x00\x00\x01a", E::InvalidHeaderFlags, MalformedPacket;
    flags_unsuback_v5: v5, b"\xB1\x04\x00\x01\x00\x00", E::InvalidHeaderFlags, MalformedPacket;
    flags_pingreq_v5: v5, b"\xC2\x00", E::InvalidHeaderFlags, MalformedPacket;
    flags_pingresp_v5: v5, b"\xD1\x00", E::InvalidHeaderFlags, MalformedPacket;
    flags_disconnect_v5: v5, b"\xE1\x00", E::InvalidHeaderFlags, MalformedPacket;
    flags_auth_v5: v5, b"\xF2\x00", E::InvalidHeaderFlags, MalformedPacket;
    // A CONNECT with bad flags is still a CONNECT: malformed, not "expected CONNECT".
    flags_connect_first_packet: server, b"\x11\x0C\x00\x04MQTT\x04\x02\x00\x3C\x00\x00", E::InvalidHeaderFlags, MalformedPacket;

    // Packet types: 0 is reserved (both versions); 15 is AUTH in 5.0 and reserved in 3.1.1.
    packet_type_0_v3: v3, b"\x00\x00", E::InvalidPacketType(0), MalformedPacket;
    packet_type_0_v5: v5, b"\x00\x00", E::InvalidPacketType(0), MalformedPacket;
    auth_in_v311: v3, b"\xF0\x00", E::InvalidPacketType(15), MalformedPacket;

    // Remaining length: at most four bytes, in its shortest form [MQTT-1.5.5-1]; a packet
    // over the maximum packet size is refused from its header.
    remaining_length_5_bytes: v3, b"\x30\xFF\xFF\xFF\xFF\x7F", E::MalformedVariableInteger, MalformedPacket;
    remaining_length_not_minimal: v3, b"\xC0\x80\x00", E::NonMinimalVariableInteger, MalformedPacket;
    remaining_length_not_minimal_4_bytes: v5, b"\xC0\x80\x80\x80\x00", E::NonMinimalVariableInteger, MalformedPacket;
    property_length_not_minimal: v5, b"\x40\x05\x00\x01\x00\x80\x00", E::NonMinimalVariableInteger, MalformedPacket;
    packet_too_large: v3, b"\x30\xFF\x7F", E::PacketTooLarge { size: 16_386, max: MAX_PACKET_SIZE }, PacketTooLarge;

    // A field that runs past the end of the packet.
    truncated_topic_name: v3, b"\x30\x03\x00\x05a", E::UnexpectedEnd, MalformedPacket;
    truncated_packet_id: v3, b"\x40\x01\x00", E::UnexpectedEnd, MalformedPacket;
    truncated_connect: v3, b"\x10\x08\x00\x04MQTT\x04\x02", E::UnexpectedEnd, MalformedPacket;
    truncated_property_value: v5, b"\x40\x06\x00\x01\x00\x02\x1F\x00", E::UnexpectedEnd, MalformedPacket;
    property_length_past_packet_end: v5, b"\x40\x05\x00\x01\x00\x05\x1F", E::UnexpectedEnd, MalformedPacket;
    // 5.0 CONNACK has no short form: the property length is required (section 3.2.2.3.1).
    connack_v5_without_property_length: v5, b"\x20\x02\x00\x00", E::UnexpectedEnd, MalformedPacket;
    // 5.0 section 3.15.2.1: only Success without properties may omit the reason code and
    // the property length (remaining length 0); unlike DISCONNECT (3.14.2.2.1) and PUBACK
    // (3.4.2.2.1), AUTH has no rule that lets the property length alone be left out.
    auth_without_property_length: v5, b"\xF0\x01\x18", E::UnexpectedEnd, MalformedPacket;

    // Bytes after the last field.
    trailing_pingreq: v3, b"\xC0\x01\x00", E::TrailingBytes, MalformedPacket;
    trailing_puback_v3: v3, b"\x40\x03\x00\x01\x00", E::TrailingBytes, MalformedPacket;
    trailing_unsuback_v3: v3, b"\xB0\x03\x00\x01\x00", E::TrailingBytes, MalformedPacket;
    trailing_connack_v3: v3, b"\x20\x03\x00\x00\x00", E::TrailingBytes, MalformedPacket;
    trailing_disconnect_v3: v3, b"\xE0\x01\x00", E::TrailingBytes, MalformedPacket;
    trailing_connect_v3: v3, b"\x10\x0D\x00\x04MQTT\x04\x02\x00\x3C\x00\x00\x00", E::TrailingBytes, MalformedPacket;
    trailing_connack_v5: v5, b"\x20\x04\x00\x00\x00\x00", E::TrailingBytes, MalformedPacket;
    trailing_disconnect_v5: v5, b"\xE0\x03\x00\x00\x00", E::TrailingBytes, MalformedPacket;
    trailing_auth_v5: v5, b"\xF0\x03\x18\x00\x00", E::TrailingBytes, MalformedPacket;

    // UTF-8 strings must be well-formed, without surrogates: 3.1.1 [MQTT-1.5.3-1],
    // 5.0 [MQTT-1.5.4-1].
    invalid_utf8_topic: v3, b"\x30\x03\x00\x01\xFF", E::InvalidUtf8, MalformedPacket;
    truncated_utf8_sequence: v3, b"\x30\x03\x00\x01\xC3", E::InvalidUtf8, MalformedPacket;
    overlong_nul_topic: v3, b"\x30\x04\x00\x02\xC0\x80", E::InvalidUtf8, MalformedPacket;
    surrogate_topic: v3, b"\x30\x05\x00\x03\xED\xA0\x80", E::InvalidUtf8, MalformedPacket;
    surrogate_client_id_v5: server, b"\x10\x10\x00\x04MQTT\x05\x02\x00\x3C\x00\x00\x03\xED\xA0\x80", E::InvalidUtf8, MalformedPacket;
    invalid_utf8_topic_filter: v3, b"\x82\x06\x00\x01\x00\x01\xFF\x00", E::InvalidUtf8, MalformedPacket;
    invalid_utf8_reason_string: v5, b"\x40\x08\x00\x01\x80\x04\x1F\x00\x01\xFF", E::InvalidUtf8, MalformedPacket;

    // No U+0000: 3.1.1 [MQTT-1.5.3-2], 5.0 [MQTT-1.5.4-2].
    null_in_topic_v3: v3, b"\x30\x04\x00\x02a\x00", E::NullCharacter, MalformedPacket;
    null_in_topic_v5: v5, b"\x30\x05\x00\x02a\x00\x00", E::NullCharacter, MalformedPacket;
    null_in_client_id: server, b"\x10\x0D\x00\x04MQTT\x04\x02\x00\x3C\x00\x01\x00", E::NullCharacter, MalformedPacket;
    null_in_user_name: server, b"\x10\x0F\x00\x04MQTT\x04\x82\x00\x3C\x00\x00\x00\x01\x00", E::NullCharacter, MalformedPacket;
    null_in_topic_filter: v3, b"\x82\x06\x00\x01\x00\x01\x00\x00", E::NullCharacter, MalformedPacket;
    null_in_user_property: v5, b"\x40\x0B\x00\x01\x00\x07\x26\x00\x01k\x00\x01\x00", E::NullCharacter, MalformedPacket;

    // CONNECT: protocol name [MQTT-3.1.2-1] and level [MQTT-3.1.2-2] (answered with
    // return code 1 / reason code 0x84); "MQIsdp" is MQTT 3.1, a version we do not speak.
    protocol_name_not_mqtt: server, b"\x10\x0C\x00\x04MQTX\x04\x02\x00\x3C\x00\x00", E::InvalidProtocolName, UnsupportedProtocolVersion;
    protocol_name_lowercase: server, b"\x10\x0C\x00\x04mqtt\x04\x02\x00\x3C\x00\x00", E::InvalidProtocolName, UnsupportedProtocolVersion;
    protocol_mqisdp_level_3: server, b"\x10\x0E\x00\x06MQIsdp\x03\x02\x00\x3C\x00\x00", E::UnsupportedProtocolVersion(3), UnsupportedProtocolVersion;
    protocol_level_3: server, b"\x10\x0C\x00\x04MQTT\x03\x02\x00\x3C\x00\x00", E::UnsupportedProtocolVersion(3), UnsupportedProtocolVersion;
    protocol_level_6: server, b"\x10\x0C\x00\x04MQTT\x06\x02\x00\x3C\x00\x00", E::UnsupportedProtocolVersion(6), UnsupportedProtocolVersion;
    // Reserved connect flag [MQTT-3.1.2-3].
    connect_reserved_flag_v3: server, b"\x10\x0C\x00\x04MQTT\x04\x03\x00\x3C\x00\x00", E::InvalidConnectFlags, MalformedPacket;
    connect_reserved_flag_v5: server, b"\x10\x0D\x00\x04MQTT\x05\x03\x00\x3C\x00\x00\x00", E::InvalidConnectFlags, MalformedPacket;
    // Will QoS 0 and Will Retain 0 without the Will Flag: 3.1.1 [MQTT-3.1.2-13],
    // [MQTT-3.1.2-15]; 5.0 [MQTT-3.1.2-11], [MQTT-3.1.2-13].
    will_qos_without_will_v3: server, b"\x10\x0C\x00\x04MQTT\x04\x0A\x00\x3C\x00\x00", E::InvalidWillFlags, MalformedPacket;
    will_qos_without_will_v5: server, b"\x10\x0D\x00\x04MQTT\x05\x12\x00\x3C\x00\x00\x00", E::InvalidWillFlags, MalformedPacket;
    will_retain_without_will_v3: server, b"\x10\x0C\x00\x04MQTT\x04\x22\x00\x3C\x00\x00", E::InvalidWillFlags, MalformedPacket;
    will_retain_without_will_v5: server, b"\x10\x0D\x00\x04MQTT\x05\x22\x00\x3C\x00\x00\x00", E::InvalidWillFlags, MalformedPacket;
    // Will QoS 3: 3.1.1 [MQTT-3.1.2-14], 5.0 [MQTT-3.1.2-12].
    will_qos_3_v3: server, b"\x10\x12\x00\x04MQTT\x04\x1E\x00\x3C\x00\x00\x00\x01w\x00\x01x", E::InvalidWillFlags, MalformedPacket;
    will_qos_3_v5: server, b"\x10\x14\x00\x04MQTT\x05\x1E\x00\x3C\x00\x00\x00\x00\x00\x01w\x00\x01x", E::InvalidWillFlags, MalformedPacket;
    // The will topic is a topic name [MQTT-3.1.3-11]: no wildcards, not empty.
    will_topic_wildcard: server, b"\x10\x12\x00\x04MQTT\x04\x06\x00\x3C\x00\x00\x00\x01#\x00\x01x", E::WildcardInTopicName, TopicNameInvalid;
    will_topic_empty: server, b"\x10\x11\x00\x04MQTT\x04\x06\x00\x3C\x00\x00\x00\x00\x00\x01x", E::EmptyTopicName, _;
    // 3.1.1 only (allowed in 5.0, see below): password without user name
    // [MQTT-3.1.2-22], empty client identifier with Clean Session 0 [MQTT-3.1.3-8].
    password_without_user_name_v3: server, b"\x10\x0F\x00\x04MQTT\x04\x42\x00\x3C\x00\x00\x00\x01p", E::PasswordWithoutUsername, MalformedPacket;
    empty_client_id_without_clean_session_v3: server, b"\x10\x0C\x00\x04MQTT\x04\x00\x00\x3C\x00\x00", E::EmptyClientId, ClientIdentifierNotValid;

    // PUBLISH: QoS 3 [MQTT-3.3.1-4]; DUP on QoS 0 [MQTT-3.3.1-2].
    publish_qos_3_v3: v3, b"\x36\x07\x00\x03a/b\x00\x01", E::InvalidQoS, MalformedPacket;
    publish_qos_3_v5: v5, b"\x36\x08\x00\x03a/b\x00\x01\x00", E::InvalidQoS, MalformedPacket;
    publish_dup_qos_0_v3: v3, b"\x38\x05\x00\x03a/b", E::DupWithQoS0, MalformedPacket;
    publish_dup_qos_0_v5: v5, b"\x38\x06\x00\x03a/b\x00", E::DupWithQoS0, MalformedPacket;

    // Packet identifier 0: 3.1.1 [MQTT-2.3.1-1], 5.0 [MQTT-2.2.1-3].
    packet_id_0_publish_v3: v3, b"\x32\x07\x00\x03a/b\x00\x00", E::ZeroPacketId, MalformedPacket;
    packet_id_0_publish_v5: v5, b"\x34\x08\x00\x03a/b\x00\x00\x00", E::ZeroPacketId, MalformedPacket;
    packet_id_0_puback_v3: v3, b"\x40\x02\x00\x00", E::ZeroPacketId, MalformedPacket;
    packet_id_0_puback_v5: v5, b"\x40\x02\x00\x00", E::ZeroPacketId, MalformedPacket;
    packet_id_0_pubrec: v3, b"\x50\x02\x00\x00", E::ZeroPacketId, MalformedPacket;
    packet_id_0_pubrel: v3, b"\x62\x02\x00\x00", E::ZeroPacketId, MalformedPacket;
    packet_id_0_pubcomp: v5, b"\x70\x02\x00\x00", E::ZeroPacketId, MalformedPacket;
    packet_id_0_subscribe_v3: v3, b"\x82\x06\x00\x00\x00\x01a\x00", E::ZeroPacketId, MalformedPacket;
    packet_id_0_subscribe_v5: v5, b"\x82\x07\x00\x00\x00\x00\x01a\x00", E::ZeroPacketId, MalformedPacket;
    packet_id_0_suback_v3: v3, b"\x90\x03\x00\x00\x00", E::ZeroPacketId, MalformedPacket;
    packet_id_0_suback_v5: v5, b"\x90\x04\x00\x00\x00\x00", E::ZeroPacketId, MalformedPacket;
    packet_id_0_unsubscribe_v3: v3, b"\xA2\x05\x00\x00\x00\x01a", E::ZeroPacketId, MalformedPacket;
    packet_id_0_unsubscribe_v5: v5, b"\xA2\x06\x00\x00\x00\x00\x01a", E::ZeroPacketId, MalformedPacket;
    packet_id_0_unsuback_v3: v3, b"\xB0\x02\x00\x00", E::ZeroPacketId, MalformedPacket;
    packet_id_0_unsuback_v5: v5, b"\xB0\x04\x00\x00\x00\x00", E::ZeroPacketId, MalformedPacket;

    // Topic names: no wildcards [MQTT-3.3.2-2]; at least one character [MQTT-4.7.3-1]
    // (5.0: unless a Topic Alias stands in for it, section 3.3.2.1; the reason code is
    // under "Reason codes" below).
    topic_name_plus_v3: v3, b"\x30\x05\x00\x03a/+", E::WildcardInTopicName, TopicNameInvalid;
    topic_name_hash_v3: v3, b"\x30\x05\x00\x03a/#", E::WildcardInTopicName, TopicNameInvalid;
    topic_name_plus_inside_level: v3, b"\x30\x05\x00\x03a+b", E::WildcardInTopicName, TopicNameInvalid;
    topic_name_plus_v5: v5, b"\x30\x06\x00\x03a/+\x00", E::WildcardInTopicName, TopicNameInvalid;
    topic_name_hash_v5: v5, b"\x30\x06\x00\x03a/#\x00", E::WildcardInTopicName, TopicNameInvalid;
    topic_name_empty_v3: v3, b"\x30\x02\x00\x00", E::EmptyTopicName, _;
    topic_name_empty_qos_1_v3: v3, b"\x32\x04\x00\x00\x00\x01", E::EmptyTopicName, _;
    topic_name_empty_without_alias_v5: v5, b"\x30\x03\x00\x00\x00", E::MissingTopicAlias, ProtocolError;
    topic_name_empty_with_other_property_v5: v5, b"\x30\x05\x00\x00\x02\x01\x01", E::MissingTopicAlias, ProtocolError;

    // Topic filters: '#' only as the whole last level [MQTT-4.7.1-2], '+' only as a
    // whole level [MQTT-4.7.1-3], not empty [MQTT-4.7.3-1].
    filter_a_hash_v3: v3, b"\x82\x07\x00\x01\x00\x02a#\x00", E::InvalidTopicFilter, TopicFilterInvalid;
    filter_hash_not_last_v3: v3, b"\x82\x0A\x00\x01\x00\x05a/#/b\x00", E::InvalidTopicFilter, TopicFilterInvalid;
    filter_a_plus_v3: v3, b"\x82\x07\x00\x01\x00\x02a+\x00", E::InvalidTopicFilter, TopicFilterInvalid;
    filter_empty_v3: v3, b"\x82\x05\x00\x01\x00\x00\x00", E::InvalidTopicFilter, TopicFilterInvalid;
    filter_a_hash_v5: v5, b"\x82\x08\x00\x01\x00\x00\x02a#\x00", E::InvalidTopicFilter, TopicFilterInvalid;
    filter_empty_v5: v5, b"\x82\x06\x00\x01\x00\x00\x00\x00", E::InvalidTopicFilter, TopicFilterInvalid;
    unsubscribe_filter_a_hash_v3: v3, b"\xA2\x06\x00\x01\x00\x02a#", E::InvalidTopicFilter, TopicFilterInvalid;
    unsubscribe_filter_empty_v5: v5, b"\xA2\x05\x00\x01\x00\x00\x00", E::InvalidTopicFilter, TopicFilterInvalid;

    // 5.0 shared subscriptions: "$share/" + a non-empty ShareName without '/', '+', '#'
    // + '/' + a topic filter [MQTT-4.8.2-1], [MQTT-4.8.2-2]. Valid ordinary filters in
    // 3.1.1 (see below).
    shared_without_filter: v5, b"\x82\x0E\x00\x01\x00\x00\x08$share/g\x00", E::InvalidSharedSubscription, TopicFilterInvalid;
    shared_empty_filter: v5, b"\x82\x0F\x00\x01\x00\x00\x09$share/g/\x00", E::InvalidSharedSubscription, TopicFilterInvalid;
    shared_empty_share_name: v5, b"\x82\x0F\x00\x01\x00\x00\x09$share//a\x00", E::InvalidSharedSubscription, TopicFilterInvalid;
    shared_wildcard_share_name: v5, b"\x82\x10\x00\x01\x00\x00\x0A$share/+/a\x00", E::InvalidSharedSubscription, TopicFilterInvalid;
    shared_unsubscribe_without_filter: v5, b"\xA2\x0D\x00\x01\x00\x00\x08$share/g", E::InvalidSharedSubscription, TopicFilterInvalid;
    // No Local on a shared subscription [MQTT-3.8.3-4].
    no_local_on_shared_subscription: v5, b"\x82\x10\x00\x01\x00\x00\x0A$share/g/a\x04", E::NoLocalOnSharedSubscription, ProtocolError;

    // Subscription options: 3.1.1 bits 2-7 reserved [MQTT-3-8.3-4]; 5.0 bits 6-7 reserved
    // [MQTT-3.8.3-5]; Retain Handling 3 is a Protocol Error (5.0 section 3.8.3.1).
    options_reserved_bit_2_v3: v3, b"\x82\x06\x00\x01\x00\x01a\x04", E::InvalidSubscriptionOptions, MalformedPacket;
    options_reserved_bit_7_v3: v3, b"\x82\x06\x00\x01\x00\x01a\x80", E::InvalidSubscriptionOptions, MalformedPacket;
    options_reserved_bit_6_v5: v5, b"\x82\x07\x00\x01\x00\x00\x01a\x40", E::InvalidSubscriptionOptions, MalformedPacket;
    options_reserved_bit_7_v5: v5, b"\x82\x07\x00\x01\x00\x00\x01a\x80", E::InvalidSubscriptionOptions, MalformedPacket;
    options_retain_handling_3: v5, b"\x82\x07\x00\x01\x00\x00\x01a\x30", E::InvalidRetainHandling, ProtocolError;
    // Requested QoS 3: malformed in 3.1.1 [MQTT-3-8.3-4]; a Protocol Error in 5.0 (see
    // "Reason codes" below).
    options_qos_3_v3: v3, b"\x82\x06\x00\x01\x00\x01a\x03", E::InvalidSubscriptionQoS, _;
    options_qos_3_v5: v5, b"\x82\x07\x00\x01\x00\x00\x01a\x03", E::InvalidSubscriptionQoS, ProtocolError;

    // SUBSCRIBE / UNSUBSCRIBE without any topic filter: 3.1.1 [MQTT-3.8.3-3],
    // [MQTT-3.10.3-2]; 5.0 [MQTT-3.8.3-2], [MQTT-3.10.3-2] (reason code below).
    subscribe_without_filters_v3: v3, b"\x82\x02\x00\x01", E::NoTopicFilter, _;
    subscribe_without_filters_v5: v5, b"\x82\x03\x00\x01\x00", E::NoTopicFilter, _;
    unsubscribe_without_filters_v3: v3, b"\xA2\x02\x00\x01", E::NoTopicFilter, _;
    unsubscribe_without_filters_v5: v5, b"\xA2\x03\x00\x01\x00", E::NoTopicFilter, _;

    // SUBACK (and 5.0 UNSUBACK) without reason codes [MQTT-3.9.3-1], [MQTT-3.11.3-1].
    suback_without_codes_v3: v3, b"\x90\x02\x00\x01", E::NoReasonCodes, MalformedPacket;
    suback_without_codes_v5: v5, b"\x90\x03\x00\x01\x00", E::NoReasonCodes, MalformedPacket;
    unsuback_without_codes_v5: v5, b"\xB0\x03\x00\x01\x00", E::NoReasonCodes, MalformedPacket;

    // Reason and return codes a packet may not carry: 3.1.1 SUBACK 0, 1, 2, 0x80
    // [MQTT-3.9.3-2]; 3.1.1 CONNACK 0-5 (Table 3.1); 5.0 the tables of each packet.
    suback_v3_code_3: v3, b"\x90\x03\x00\x01\x03", E::InvalidReasonCode, MalformedPacket;
    suback_v3_code_0x87: v3, b"\x90\x03\x00\x01\x87", E::InvalidReasonCode, MalformedPacket;
    suback_v5_code_0x10: v5, b"\x90\x04\x00\x01\x00\x10", E::InvalidReasonCode, MalformedPacket;
    connack_v3_return_code_6: v3, b"\x20\x02\x00\x06", E::InvalidReasonCode, MalformedPacket;
    connack_v5_reason_0x04: v5, b"\x20\x03\x00\x04\x00", E::InvalidReasonCode, MalformedPacket;
    puback_v5_reason_0x92: v5, b"\x40\x03\x00\x01\x92", E::InvalidReasonCode, MalformedPacket;
    pubrec_v5_reason_0x11: v5, b"\x50\x03\x00\x01\x11", E::InvalidReasonCode, MalformedPacket;
    pubrel_v5_reason_0x10: v5, b"\x62\x03\x00\x01\x10", E::InvalidReasonCode, MalformedPacket;
    pubcomp_v5_reason_0x80: v5, b"\x70\x03\x00\x01\x80", E::InvalidReasonCode, MalformedPacket;
    unsuback_v5_reason_0x02: v5, b"\xB0\x04\x00\x01\x00\x02", E::InvalidReasonCode, MalformedPacket;
    disconnect_v5_reason_0x03: v5, b"\xE0\x01\x03", E::InvalidReasonCode, MalformedPacket;
    disconnect_v5_reason_0x18: v5, b"\xE0\x01\x18", E::InvalidReasonCode, MalformedPacket;
    auth_reason_0x80: v5, b"\xF0\x02\x80\x00", E::InvalidReasonCode, MalformedPacket;

    // CONNACK: reserved acknowledge flags [MQTT-3.2.2-1]; Session Present 0 on a refused
    // connection (3.1.1 [MQTT-3.2.2-4], 5.0 [MQTT-3.2.2-6]).
    connack_reserved_flags_v3: v3, b"\x20\x02\x02\x00", E::InvalidConnAckFlags, MalformedPacket;
    connack_reserved_flags_v5: v5, b"\x20\x03\x80\x00\x00", E::InvalidConnAckFlags, MalformedPacket;
    connack_session_present_with_error_v3: v3, b"\x20\x02\x01\x05", E::SessionPresentOnError, MalformedPacket;
    connack_session_present_with_error_v5: v5, b"\x20\x03\x01\x87\x00", E::SessionPresentOnError, MalformedPacket;

    // Properties (5.0 section 2.2.2.2): an identifier the packet type does not define is
    // a Malformed Packet; each property but User Property (and Subscription Identifier in
    // PUBLISH) at most once, else a Protocol Error.
    unknown_property_0x00: v5, b"\x40\x05\x00\x01\x00\x01\x00", E::UnknownProperty(0x00), MalformedPacket;
    unknown_property_0x04: v5, b"\x40\x05\x00\x01\x00\x01\x04", E::UnknownProperty(0x04), MalformedPacket;
    unknown_property_two_byte_id: v5, b"\x40\x06\x00\x01\x00\x02\x80\x01", E::UnknownProperty(0x80), MalformedPacket;
    duplicate_session_expiry_interval: server, b"\x10\x17\x00\x04MQTT\x05\x02\x00\x3C\x0A\x11\x00\x00\x00\x0A\x11\x00\x00\x00\x0A\x00\x00", E::DuplicateProperty(0x11), ProtocolError;
    duplicate_reason_string: v5, b"\x40\x0C\x00\x01\x80\x08\x1F\x00\x01a\x1F\x00\x01b", E::DuplicateProperty(0x1F), ProtocolError;
    duplicate_topic_alias: v5, b"\x30\x0C\x00\x03a/b\x06\x23\x00\x01\x23\x00\x02", E::DuplicateProperty(0x23), ProtocolError;
    duplicate_subscription_identifier_in_subscribe: v5, b"\x82\x0B\x00\x01\x04\x0B\x01\x0B\x02\x00\x01a\x00", E::DuplicateProperty(0x0B), ProtocolError;
    // A property the packet may not carry (5.0 Table 2-4).
    topic_alias_in_connect: server, b"\x10\x10\x00\x04MQTT\x05\x02\x00\x3C\x03\x23\x00\x01\x00\x00", E::PropertyNotAllowed(0x23), MalformedPacket;
    server_keep_alive_in_connect: server, b"\x10\x10\x00\x04MQTT\x05\x02\x00\x3C\x03\x13\x00\x0A\x00\x00", E::PropertyNotAllowed(0x13), MalformedPacket;
    will_delay_in_connect_properties: server, b"\x10\x12\x00\x04MQTT\x05\x02\x00\x3C\x05\x18\x00\x00\x00\x05\x00\x00", E::PropertyNotAllowed(0x18), MalformedPacket;
    session_expiry_in_will_properties: server, b"\x10\x18\x00\x04MQTT\x05\x06\x00\x3C\x00\x00\x00\x05\x11\x00\x00\x00\x01\x00\x01w\x00\x00", E::PropertyNotAllowed(0x11), MalformedPacket;
    session_expiry_in_publish: v5, b"\x30\x0B\x00\x03a/b\x05\x11\x00\x00\x00\x0A", E::PropertyNotAllowed(0x11), MalformedPacket;
    reason_string_in_subscribe: v5, b"\x82\x0B\x00\x01\x04\x1F\x00\x01a\x00\x01a\x00", E::PropertyNotAllowed(0x1F), MalformedPacket;
    reason_string_in_unsubscribe: v5, b"\xA2\x0A\x00\x01\x04\x1F\x00\x01a\x00\x01a", E::PropertyNotAllowed(0x1F), MalformedPacket;
    topic_alias_in_disconnect: v5, b"\xE0\x05\x00\x03\x23\x00\x01", E::PropertyNotAllowed(0x23), MalformedPacket;
    // Property values out of range: "It is a Protocol Error to ... have a value other
    // than 0 or 1" (3.1.2.11.6-7, 3.2.2.3.5, 3.2.2.3.11-13), Maximum QoS 0 or 1
    // (3.2.2.3.4), Receive Maximum 0 (3.1.2.11.3), Maximum Packet Size 0 (3.1.2.11.4),
    // Topic Alias 0 [MQTT-3.3.2-8], Subscription Identifier 0 (3.3.2.3.8, 3.8.2.1.2).
    payload_format_indicator_2: v5, b"\x30\x08\x00\x03a/b\x02\x01\x02", E::InvalidPropertyValue(0x01), ProtocolError;
    receive_maximum_0_connect: server, b"\x10\x10\x00\x04MQTT\x05\x02\x00\x3C\x03\x21\x00\x00\x00\x00", E::InvalidPropertyValue(0x21), ProtocolError;
    receive_maximum_0_connack: v5, b"\x20\x06\x00\x00\x03\x21\x00\x00", E::InvalidPropertyValue(0x21), ProtocolError;
    maximum_packet_size_0_connect: server, b"\x10\x12\x00\x04MQTT\x05\x02\x00\x3C\x05\x27\x00\x00\x00\x00\x00\x00", E::InvalidPropertyValue(0x27), ProtocolError;
    maximum_packet_size_0_connack: v5, b"\x20\x08\x00\x00\x05\x27\x00\x00\x00\x00", E::InvalidPropertyValue(0x27), ProtocolError;
    topic_alias_0: v5, b"\x30\x09\x00\x03a/b\x03\x23\x00\x00", E::InvalidPropertyValue(0x23), _;
    subscription_identifier_0_subscribe: v5, b"\x82\x09\x00\x01\x02\x0B\x00\x00\x01a\x00", E::InvalidPropertyValue(0x0B), ProtocolError;
    subscription_identifier_0_publish: v5, b"\x30\x08\x00\x03a/b\x02\x0B\x00", E::InvalidPropertyValue(0x0B), ProtocolError;
    maximum_qos_2: v5, b"\x20\x05\x00\x00\x02\x24\x02", E::InvalidPropertyValue(0x24), ProtocolError;
    request_problem_information_2: server, b"\x10\x0F\x00\x04MQTT\x05\x02\x00\x3C\x02\x17\x02\x00\x00", E::InvalidPropertyValue(0x17), ProtocolError;
    request_response_information_2: server, b"\x10\x0F\x00\x04MQTT\x05\x02\x00\x3C\x02\x19\x02\x00\x00", E::InvalidPropertyValue(0x19), ProtocolError;
    retain_available_2: v5, b"\x20\x05\x00\x00\x02\x25\x02", E::InvalidPropertyValue(0x25), ProtocolError;
    wildcard_subscription_available_2: v5, b"\x20\x05\x00\x00\x02\x28\x02", E::InvalidPropertyValue(0x28), ProtocolError;
    subscription_identifiers_available_2: v5, b"\x20\x05\x00\x00\x02\x29\x02", E::InvalidPropertyValue(0x29), ProtocolError;
    shared_subscription_available_2: v5, b"\x20\x05\x00\x00\x02\x2A\x02", E::InvalidPropertyValue(0x2A), ProtocolError;
    // Response Topic is a topic name: no wildcards (PUBLISH [MQTT-3.3.2-14], will
    // section 3.1.3.2.6), and not empty.
    response_topic_wildcard_in_publish: v5, b"\x30\x0C\x00\x03a/b\x06\x08\x00\x03r/#", E::WildcardInTopicName, TopicNameInvalid;
    response_topic_wildcard_in_will: server, b"\x10\x19\x00\x04MQTT\x05\x06\x00\x3C\x00\x00\x00\x06\x08\x00\x03r/+\x00\x01w\x00\x00", E::WildcardInTopicName, TopicNameInvalid;
    response_topic_empty: v5, b"\x30\x09\x00\x03a/b\x03\x08\x00\x00", E::EmptyTopicName, _;
    // "It is a Protocol Error to include Authentication Data if there is no
    // Authentication Method" (3.1.2.11.10, 3.2.2.3.18, 3.15.2.2.3).
    auth_data_without_method_in_connect: server, b"\x10\x11\x00\x04MQTT\x05\x02\x00\x3C\x04\x16\x00\x01\x01\x00\x00", E::AuthDataWithoutMethod, ProtocolError;
    auth_data_without_method_in_connack: v5, b"\x20\x07\x00\x00\x04\x16\x00\x01\x01", E::AuthDataWithoutMethod, ProtocolError;
    auth_data_without_method_in_auth: v5, b"\xF0\x06\x18\x04\x16\x00\x01\x01", E::AuthDataWithoutMethod, ProtocolError;

    // The first packet a server reads must be CONNECT [MQTT-3.1.0-1].
    first_packet_pingreq: server, b"\xC0\x00", E::ExpectedConnect, ProtocolError;
    first_packet_publish: server, b"\x30\x05\x00\x03a/b", E::ExpectedConnect, ProtocolError;
    first_packet_auth: server, b"\xF0\x00", E::ExpectedConnect, ProtocolError;
}

// ---------------------------------------------------------------------------------------
// Maximum packet size

/// The limit counts the whole packet, fixed header included, and is checked as soon as
/// the remaining length is read: nothing of a refused packet is buffered or reserved.
#[test]
fn packet_too_large_is_refused_from_the_header() {
    let mut decoder = Decoder::with_protocol(Protocol::V5, 100);
    let mut buf = BytesMut::from(&b"\x30\x62"[..]); // 2 + 98 = 100 bytes: allowed
    assert_eq!(decoder.decode(&mut buf), Ok(None));
    assert!(
        buf.capacity() >= 100,
        "room reserved for the announced packet"
    );

    let mut buf = BytesMut::from(&b"\x30\x63"[..]); // 101 bytes
    assert_eq!(
        decoder.decode(&mut buf),
        Err(E::PacketTooLarge {
            size: 101,
            max: 100
        })
    );

    // 256 MB announced by five bytes: refused without growing the buffer.
    let mut buf = BytesMut::with_capacity(8);
    buf.extend_from_slice(b"\x30\xFF\xFF\xFF\x7F");
    assert_eq!(
        decoder.decode(&mut buf),
        Err(E::PacketTooLarge {
            size: 268_435_460,
            max: 100
        })
    );
    assert!(buf.capacity() < 64, "capacity {}", buf.capacity());
    assert_eq!(
        E::PacketTooLarge { size: 0, max: 0 }.reason_code(),
        R::PacketTooLarge
    );

    // An incomplete remaining length is "need more bytes", not an error.
    let mut buf = BytesMut::from(&b"\x30\xFF\xFF"[..]);
    assert_eq!(decoder.decode(&mut buf), Ok(None));
    assert_eq!(buf.len(), 3);

    // The server's CONNECT counts too.
    let mut server = Decoder::new(12);
    let mut buf = BytesMut::from(&b"\x10\x0C\x00\x04MQTT\x04\x02\x00\x3C\x00\x00"[..]);
    assert_eq!(
        server.decode(&mut buf),
        Err(E::PacketTooLarge { size: 14, max: 12 })
    );
}

// ---------------------------------------------------------------------------------------
// Reason codes the standard names for a case whose error variant is shared with cases
// that need another code. These check only that the packet is refused and the code the
// peer is told, so that a fix may add an error variant.

#[track_caller]
fn refused_with(mut decoder: Decoder, wire: &[u8], reason: ReasonCode) {
    let mut buf = BytesMut::from(wire);
    let error = decoder
        .decode(&mut buf)
        .expect_err("packet must be refused");
    assert_eq!(error.reason_code(), reason, "reason code of {error:?}");
}

/// 5.0 section 3.3.2.1: "It is a Protocol Error if the Topic Name is zero length and
/// there is no Topic Alias." (0x90 Topic Name invalid is for a name that is "not
/// malformed, but is not accepted".)
#[test]
fn v5_empty_topic_without_alias_is_a_protocol_error() {
    refused_with(v5(), b"\x30\x03\x00\x00\x00", R::ProtocolError);
}

/// 5.0 section 3.3.4: "A Topic Alias value of 0 or greater than the Maximum Topic Alias
/// is a Protocol Error, the receiver uses DISCONNECT with Reason Code of 0x94 (Topic
/// Alias invalid)".
#[test]
fn v5_topic_alias_0_is_topic_alias_invalid() {
    refused_with(
        v5(),
        b"\x30\x09\x00\x03a/b\x03\x23\x00\x00",
        R::TopicAliasInvalid,
    );
}

/// 5.0 section 3.8.3.1: "It is a Protocol Error if the Maximum QoS field has the value
/// 3." (PUBLISH QoS 3 stays a Malformed Packet, [MQTT-3.3.1-4].)
#[test]
fn v5_subscription_maximum_qos_3_is_a_protocol_error() {
    refused_with(v5(), b"\x82\x07\x00\x01\x00\x00\x01a\x03", R::ProtocolError);
}

/// 5.0 [MQTT-3.8.3-2]: "The Payload MUST contain at least one Topic Filter and
/// Subscription Options pair. A SUBSCRIBE packet with no Payload is a Protocol Error."
#[test]
fn v5_subscribe_without_filters_is_a_protocol_error() {
    refused_with(v5(), b"\x82\x03\x00\x01\x00", R::ProtocolError);
}

/// 5.0 [MQTT-3.10.3-2]: "The Payload of an UNSUBSCRIBE packet MUST contain at least one
/// Topic Filter. An UNSUBSCRIBE packet with no Payload is a Protocol Error."
#[test]
fn v5_unsubscribe_without_filters_is_a_protocol_error() {
    refused_with(v5(), b"\xA2\x03\x00\x01\x00", R::ProtocolError);
}

/// The codes the standard does name for the same variants, which a fix must keep:
/// PUBLISH QoS 3 is a Malformed Packet [MQTT-3.3.1-4]; Subscription Identifier 0 and
/// Receive Maximum 0 are Protocol Errors (3.8.2.1.2, 3.1.2.11.3).
#[test]
fn reason_codes_that_must_not_change() {
    refused_with(v5(), b"\x36\x08\x00\x03a/b\x00\x01\x00", R::MalformedPacket);
    refused_with(
        v5(),
        b"\x82\x09\x00\x01\x02\x0B\x00\x00\x01a\x00",
        R::ProtocolError,
    );
    refused_with(
        server(),
        b"\x10\x10\x00\x04MQTT\x05\x02\x00\x3C\x03\x21\x00\x00\x00\x00",
        R::ProtocolError,
    );
}

// ---------------------------------------------------------------------------------------
// The allowed counterparts

fn decode_ok(mut decoder: Decoder, wire: &[u8]) -> Packet {
    let mut buf = BytesMut::from(wire);
    let packet = decoder
        .decode(&mut buf)
        .expect("valid packet")
        .expect("whole packet");
    assert!(buf.is_empty());
    packet
}

#[test]
fn publish_flags_every_combination() {
    // PUBLISH is the one packet whose flags are DUP, QoS and RETAIN (section 3.3.1): of
    // the 16 combinations, QoS 3 (4) and DUP with QoS 0 (2) are refused.
    for flags in 0u8..16 {
        let qos = (flags >> 1) & 3;
        let mut wire = vec![0x30 | flags];
        let body: &[u8] = if qos == 0 {
            b"\x00\x03a/b"
        } else {
            b"\x00\x03a/b\x00\x01"
        };
        wire.push(body.len() as u8);
        wire.extend_from_slice(body);
        let mut buf = BytesMut::from(&wire[..]);
        let result = v3().decode(&mut buf);
        match (qos, flags & 0b1000 != 0) {
            (3, _) => assert_eq!(result, Err(E::InvalidQoS), "{flags:04b}"),
            (0, true) => assert_eq!(result, Err(E::DupWithQoS0), "{flags:04b}"),
            _ => {
                let Ok(Some(Packet::Publish(p))) = result else {
                    panic!("{flags:04b}: {result:?}");
                };
                assert_eq!(p.qos as u8, qos);
                assert_eq!(p.dup, flags & 0b1000 != 0);
                assert_eq!(p.retain, flags & 1 != 0);
            }
        }
    }
}

#[test]
fn password_without_user_name_is_allowed_in_v5() {
    // 5.0 section 3.1.2.9 drops the 3.1.1 rule [MQTT-3.1.2-22].
    let packet = decode_ok(
        server(),
        b"\x10\x10\x00\x04MQTT\x05\x42\x00\x3C\x00\x00\x00\x00\x01p",
    );
    let Packet::Connect(c) = packet else {
        panic!("{packet:?}")
    };
    assert_eq!(c.username, None);
    assert_eq!(c.password, Some(Bytes::from_static(b"p")));
}

#[test]
fn empty_client_id_without_clean_start_is_allowed_in_v5() {
    // 5.0 [MQTT-3.1.3-7] lets the server assign an identifier whatever Clean Start says.
    let packet = decode_ok(
        server(),
        b"\x10\x0D\x00\x04MQTT\x05\x00\x00\x3C\x00\x00\x00",
    );
    let expected = Connect {
        clean_start: false,
        ..Connect::new(Protocol::V5, "")
    };
    assert_eq!(packet, Packet::Connect(Box::new(expected)));
}

#[test]
fn empty_topic_with_topic_alias_is_allowed_in_v5() {
    let packet = decode_ok(v5(), b"\x30\x06\x00\x00\x03\x23\x00\x07");
    let Packet::Publish(p) = packet else {
        panic!("{packet:?}")
    };
    assert!(p.topic.is_empty());
    assert_eq!(p.properties.topic_alias, NonZeroU16::new(7));
}

#[test]
fn repeated_user_property_is_allowed() {
    let packet = decode_ok(
        v5(),
        b"\x40\x12\x00\x01\x00\x0E\x26\x00\x01k\x00\x01a\x26\x00\x01k\x00\x01a",
    );
    let pair = (ByteString::from_static("k"), ByteString::from_static("a"));
    let expected = Ack {
        properties: AckProperties {
            reason_string: None,
            user_properties: vec![pair.clone(), pair],
        },
        ..Ack::new(NonZeroU16::new(1).unwrap())
    };
    assert_eq!(packet, Packet::PubAck(expected));
}

#[test]
fn repeated_subscription_identifier_is_allowed_in_publish() {
    // 5.0 section 3.3.2.3.8: "Multiple Subscription Identifiers will be included if the
    // publication is the result of a match to more than one subscription".
    let packet = decode_ok(v5(), b"\x30\x0A\x00\x03a/b\x04\x0B\x01\x0B\x02");
    let expected = Publish {
        properties: PublishProperties {
            subscription_identifiers: vec![
                NonZeroU32::new(1).unwrap(),
                NonZeroU32::new(2).unwrap(),
            ],
            ..PublishProperties::default()
        }
        .into(),
        ..Publish::new(
            TopicName::new("a/b").unwrap(),
            QoS::AtMostOnce,
            Bytes::new(),
        )
    };
    assert_eq!(packet, Packet::Publish(expected));
}

#[test]
fn shared_subscription_forms_are_ordinary_filters_in_v311() {
    // "$share" has no meaning in 3.1.1: these are valid filters there.
    for filter in ["$share/g", "$share//a", "$share/+/a", "$share/g/"] {
        let mut wire = vec![0x82, (2 + 2 + filter.len() + 1) as u8, 0x00, 0x01, 0x00];
        wire.push(filter.len() as u8);
        wire.extend_from_slice(filter.as_bytes());
        wire.push(0x01);
        let packet = decode_ok(v3(), &wire);
        let Packet::Subscribe(s) = packet else {
            panic!("{packet:?}")
        };
        assert_eq!(
            s.subscriptions,
            [Subscription {
                filter: TopicFilter::new(filter).unwrap(),
                options: SubscriptionOptions::new(QoS::AtLeastOnce),
            }],
            "{filter}"
        );
    }
}

#[test]
fn shared_subscription_without_no_local_is_allowed_in_v5() {
    // Retain As Published and Retain Handling may be set on a shared subscription.
    let packet = decode_ok(v5(), b"\x82\x10\x00\x01\x00\x00\x0A$share/g/a\x29");
    let Packet::Subscribe(s) = packet else {
        panic!("{packet:?}")
    };
    assert_eq!(s.subscriptions[0].filter.shared(), Some(("g", "a")));
    assert!(s.subscriptions[0].options.retain_as_published);
    assert!(!s.subscriptions[0].options.no_local);
}

#[test]
fn every_reason_code_a_packet_allows_decodes() {
    // The complement of the invalid-reason-code rows: every byte, against each 5.0 table.
    use switchyard_mqtt::PacketType as T;
    for (packet_type, prefix) in [
        (T::PubAck, &b"\x40\x03\x00\x01"[..]),
        (T::PubRec, b"\x50\x03\x00\x01"),
        (T::PubRel, b"\x62\x03\x00\x01"),
        (T::PubComp, b"\x70\x03\x00\x01"),
        (T::Disconnect, b"\xE0\x01"),
    ] {
        for byte in 0..=u8::MAX {
            let mut wire = prefix.to_vec();
            wire.push(byte);
            let mut buf = BytesMut::from(&wire[..]);
            let result = v5().decode(&mut buf);
            let code = ReasonCode::from_u8(byte);
            if code.is_some_and(|c| ReasonCode::allowed_in(packet_type).contains(&c)) {
                assert!(matches!(result, Ok(Some(_))), "{packet_type:?} {byte:#04x}");
            } else {
                assert_eq!(
                    result,
                    Err(E::InvalidReasonCode),
                    "{packet_type:?} {byte:#04x}"
                );
            }
        }
    }
}
