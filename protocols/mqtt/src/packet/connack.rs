//! CONNACK (MQTT 3.1.1 section 3.2, MQTT 5.0 section 3.2).

use std::num::{NonZeroU16, NonZeroU32};

use bytes::Bytes;
use bytestring::ByteString;

use crate::error::DecodeError;
use crate::packet::PacketType;
use crate::properties::{self, WriteProperties, id};
use crate::reader::Reader;
use crate::reason::ReasonCode;
use crate::types::{Protocol, QoS, UserProperties};
use crate::writer::Sink;

/// The server's answer to CONNECT.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnAck {
    /// Whether the server resumed a stored session.
    pub session_present: bool,
    /// The outcome; in MQTT 3.1.1 one of the six reason codes that stand for the return
    /// codes 0-5.
    pub reason_code: ReasonCode,
    /// MQTT 5 CONNACK properties (default in 3.1.1).
    pub properties: ConnAckProperties,
}

/// MQTT 5 CONNACK properties (section 3.2.2.3).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ConnAckProperties {
    /// Session Expiry Interval the server uses.
    pub session_expiry_interval: Option<u32>,
    /// Receive Maximum of the server.
    pub receive_maximum: Option<NonZeroU16>,
    /// Maximum QoS the server supports (0 or 1; absent means 2).
    pub maximum_qos: Option<QoS>,
    /// Retain Available.
    pub retain_available: Option<bool>,
    /// Maximum Packet Size the server accepts.
    pub maximum_packet_size: Option<NonZeroU32>,
    /// Assigned Client Identifier.
    pub assigned_client_identifier: Option<ByteString>,
    /// Topic Alias Maximum the server accepts.
    pub topic_alias_maximum: Option<u16>,
    /// Reason String.
    pub reason_string: Option<ByteString>,
    /// User properties.
    pub user_properties: UserProperties,
    /// Wildcard Subscription Available.
    pub wildcard_subscription_available: Option<bool>,
    /// Subscription Identifiers Available.
    pub subscription_identifiers_available: Option<bool>,
    /// Shared Subscription Available.
    pub shared_subscription_available: Option<bool>,
    /// Server Keep Alive, overriding the client's.
    pub server_keep_alive: Option<u16>,
    /// Response Information.
    pub response_information: Option<ByteString>,
    /// Server Reference.
    pub server_reference: Option<ByteString>,
    /// Authentication Method.
    pub authentication_method: Option<ByteString>,
    /// Authentication Data.
    pub authentication_data: Option<Bytes>,
}

impl ConnAck {
    /// A CONNACK with this outcome and no properties.
    pub fn new(reason_code: ReasonCode, session_present: bool) -> Self {
        Self {
            session_present,
            reason_code,
            properties: ConnAckProperties::default(),
        }
    }

    pub(crate) fn decode(r: &mut Reader<'_>, protocol: Protocol) -> Result<Self, DecodeError> {
        let flags = r.u8()?;
        if flags & 0xFE != 0 {
            return Err(DecodeError::InvalidConnAckFlags);
        }
        let session_present = flags & 1 != 0;
        let code = r.u8()?;
        let (reason_code, properties) = match protocol {
            Protocol::V311 => (
                ReasonCode::from_v3_connack(code)?,
                ConnAckProperties::default(),
            ),
            Protocol::V5 => (
                ReasonCode::decode(code, PacketType::ConnAck)?,
                ConnAckProperties::decode(r)?,
            ),
        };
        if session_present && reason_code != ReasonCode::Success {
            return Err(DecodeError::SessionPresentOnError);
        }
        Ok(Self {
            session_present,
            reason_code,
            properties,
        })
    }

    #[inline]
    pub(crate) fn write<S: Sink>(&self, protocol: Protocol, s: &mut S) {
        s.put_u8(u8::from(
            self.session_present && self.reason_code == ReasonCode::Success,
        ));
        match protocol {
            Protocol::V311 => s.put_u8(self.reason_code.to_v3_connack()),
            Protocol::V5 => {
                s.put_u8(self.reason_code as u8);
                self.properties.write_with_length(s);
            }
        }
    }
}

impl ConnAckProperties {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let mut p = Self::default();
        properties::decode(r, false, |prop| {
            match prop.id() {
                id::SESSION_EXPIRY_INTERVAL => p.session_expiry_interval = Some(prop.u32()?),
                id::RECEIVE_MAXIMUM => p.receive_maximum = Some(prop.nonzero_u16()?),
                id::MAXIMUM_QOS => p.maximum_qos = Some(prop.maximum_qos()?),
                id::RETAIN_AVAILABLE => p.retain_available = Some(prop.bool()?),
                id::MAXIMUM_PACKET_SIZE => p.maximum_packet_size = Some(prop.nonzero_u32()?),
                id::ASSIGNED_CLIENT_IDENTIFIER => {
                    p.assigned_client_identifier = Some(prop.string()?);
                }
                id::TOPIC_ALIAS_MAXIMUM => p.topic_alias_maximum = Some(prop.u16()?),
                id::REASON_STRING => p.reason_string = Some(prop.string()?),
                id::USER_PROPERTY => prop.user(&mut p.user_properties)?,
                id::WILDCARD_SUBSCRIPTION_AVAILABLE => {
                    p.wildcard_subscription_available = Some(prop.bool()?);
                }
                id::SUBSCRIPTION_IDENTIFIER_AVAILABLE => {
                    p.subscription_identifiers_available = Some(prop.bool()?);
                }
                id::SHARED_SUBSCRIPTION_AVAILABLE => {
                    p.shared_subscription_available = Some(prop.bool()?);
                }
                id::SERVER_KEEP_ALIVE => p.server_keep_alive = Some(prop.u16()?),
                id::RESPONSE_INFORMATION => p.response_information = Some(prop.string()?),
                id::SERVER_REFERENCE => p.server_reference = Some(prop.string()?),
                id::AUTHENTICATION_METHOD => p.authentication_method = Some(prop.string()?),
                id::AUTHENTICATION_DATA => p.authentication_data = Some(prop.binary()?),
                _ => return Err(prop.not_allowed()),
            }
            Ok(())
        })?;
        if p.authentication_data.is_some() && p.authentication_method.is_none() {
            return Err(DecodeError::AuthDataWithoutMethod);
        }
        Ok(p)
    }
}

impl WriteProperties for ConnAckProperties {
    #[inline]
    fn write_properties<S: Sink>(&self, s: &mut S) {
        properties::put_u32(s, id::SESSION_EXPIRY_INTERVAL, self.session_expiry_interval);
        properties::put_u16(
            s,
            id::RECEIVE_MAXIMUM,
            self.receive_maximum.map(NonZeroU16::get),
        );
        properties::put_u8(s, id::MAXIMUM_QOS, self.maximum_qos.map(|q| q as u8));
        properties::put_bool(s, id::RETAIN_AVAILABLE, self.retain_available);
        properties::put_u32(
            s,
            id::MAXIMUM_PACKET_SIZE,
            self.maximum_packet_size.map(NonZeroU32::get),
        );
        properties::put_str(
            s,
            id::ASSIGNED_CLIENT_IDENTIFIER,
            self.assigned_client_identifier.as_ref(),
        );
        properties::put_u16(s, id::TOPIC_ALIAS_MAXIMUM, self.topic_alias_maximum);
        properties::put_str(s, id::REASON_STRING, self.reason_string.as_ref());
        properties::put_user(s, &self.user_properties);
        properties::put_bool(
            s,
            id::WILDCARD_SUBSCRIPTION_AVAILABLE,
            self.wildcard_subscription_available,
        );
        properties::put_bool(
            s,
            id::SUBSCRIPTION_IDENTIFIER_AVAILABLE,
            self.subscription_identifiers_available,
        );
        properties::put_bool(
            s,
            id::SHARED_SUBSCRIPTION_AVAILABLE,
            self.shared_subscription_available,
        );
        properties::put_u16(s, id::SERVER_KEEP_ALIVE, self.server_keep_alive);
        properties::put_str(
            s,
            id::RESPONSE_INFORMATION,
            self.response_information.as_ref(),
        );
        properties::put_str(s, id::SERVER_REFERENCE, self.server_reference.as_ref());
        properties::put_str(
            s,
            id::AUTHENTICATION_METHOD,
            self.authentication_method.as_ref(),
        );
        properties::put_bytes(
            s,
            id::AUTHENTICATION_DATA,
            self.authentication_data.as_deref(),
        );
    }
}
