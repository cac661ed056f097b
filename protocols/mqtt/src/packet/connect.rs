//! CONNECT (MQTT 3.1.1 section 3.1, MQTT 5.0 section 3.1), with the will message.

use std::num::{NonZeroU16, NonZeroU32};

use bytes::Bytes;
use bytestring::ByteString;

use crate::error::DecodeError;
use crate::properties::{self, WriteProperties, id};
use crate::reader::Reader;
use crate::types::{PayloadFormat, Protocol, QoS, TopicName, UserProperties};
use crate::writer::Sink;

/// A client's request to connect. The protocol version is the packet's own: the
/// `protocol` argument of [`crate::Packet::encode`] does not apply to CONNECT.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connect {
    /// Protocol version requested by the client.
    pub protocol: Protocol,
    /// Clean Session (3.1.1) / Clean Start (5.0).
    pub clean_start: bool,
    /// Keep alive in seconds; 0 turns it off.
    pub keep_alive: u16,
    /// Client identifier; may be empty.
    pub client_id: ByteString,
    /// The will message, if any.
    pub will: Option<LastWill>,
    /// User name, if the User Name Flag is set.
    pub username: Option<ByteString>,
    /// Password, if the Password Flag is set.
    pub password: Option<Bytes>,
    /// MQTT 5 CONNECT properties (default in 3.1.1).
    pub properties: ConnectProperties,
}

/// A will message: published by the server when the connection ends abnormally.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LastWill {
    /// Topic to publish to (never empty).
    pub topic: TopicName,
    /// Payload.
    pub payload: Bytes,
    /// QoS to publish with.
    pub qos: QoS,
    /// Whether to retain it.
    pub retain: bool,
    /// MQTT 5 will properties (default in 3.1.1).
    pub properties: WillProperties,
}

/// MQTT 5 CONNECT properties (section 3.1.2.11).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ConnectProperties {
    /// Session Expiry Interval in seconds.
    pub session_expiry_interval: Option<u32>,
    /// Receive Maximum: QoS 1/2 publications the client processes concurrently.
    pub receive_maximum: Option<NonZeroU16>,
    /// Maximum Packet Size the client accepts.
    pub maximum_packet_size: Option<NonZeroU32>,
    /// Topic Alias Maximum the client accepts.
    pub topic_alias_maximum: Option<u16>,
    /// Request Response Information.
    pub request_response_information: Option<bool>,
    /// Request Problem Information.
    pub request_problem_information: Option<bool>,
    /// User properties.
    pub user_properties: UserProperties,
    /// Authentication Method for enhanced authentication.
    pub authentication_method: Option<ByteString>,
    /// Authentication Data.
    pub authentication_data: Option<Bytes>,
}

/// MQTT 5 will properties (section 3.1.3.2).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct WillProperties {
    /// Will Delay Interval in seconds.
    pub will_delay_interval: Option<u32>,
    /// Payload Format Indicator.
    pub payload_format_indicator: Option<PayloadFormat>,
    /// Message Expiry Interval in seconds.
    pub message_expiry_interval: Option<u32>,
    /// Content Type.
    pub content_type: Option<ByteString>,
    /// Response Topic.
    pub response_topic: Option<TopicName>,
    /// Correlation Data.
    pub correlation_data: Option<Bytes>,
    /// User properties.
    pub user_properties: UserProperties,
}

const USERNAME: u8 = 0b1000_0000;
const PASSWORD: u8 = 0b0100_0000;
const WILL_RETAIN: u8 = 0b0010_0000;
const WILL_QOS: u8 = 0b0001_1000;
const WILL: u8 = 0b0000_0100;
const CLEAN_START: u8 = 0b0000_0010;
const RESERVED: u8 = 0b0000_0001;

impl Connect {
    /// A CONNECT with the given version and client identifier, clean start, a 60 s
    /// keep-alive and nothing else.
    pub fn new(protocol: Protocol, client_id: impl Into<ByteString>) -> Self {
        Self {
            protocol,
            clean_start: true,
            keep_alive: 60,
            client_id: client_id.into(),
            will: None,
            username: None,
            password: None,
            properties: ConnectProperties::default(),
        }
    }

    /// Reads the protocol level of a CONNECT body without decoding it, so that a server
    /// can answer a malformed CONNECT in the client's version.
    pub(crate) fn peek_protocol(body: &[u8]) -> Option<Protocol> {
        match body {
            [0, 4, b'M', b'Q', b'T', b'T', level, ..] => Protocol::from_level(*level),
            _ => None,
        }
    }

    pub(crate) fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let name = r.binary()?;
        let level = r.u8()?;
        if name.as_ref() != b"MQTT" {
            // MQTT 3.1 spoke "MQIsdp" at level 3: a version we do not support, which the
            // server may answer with return code 1 rather than silence.
            return Err(if name.as_ref() == b"MQIsdp" {
                DecodeError::UnsupportedProtocolVersion(level)
            } else {
                DecodeError::InvalidProtocolName
            });
        }
        let protocol =
            Protocol::from_level(level).ok_or(DecodeError::UnsupportedProtocolVersion(level))?;
        let flags = r.u8()?;
        if flags & RESERVED != 0 {
            return Err(DecodeError::InvalidConnectFlags);
        }
        let will_flag = flags & WILL != 0;
        let will_qos =
            QoS::from_bits((flags & WILL_QOS) >> 3).map_err(|_| DecodeError::InvalidWillFlags)?;
        let will_retain = flags & WILL_RETAIN != 0;
        if !will_flag && (will_qos != QoS::AtMostOnce || will_retain) {
            return Err(DecodeError::InvalidWillFlags);
        }
        if protocol == Protocol::V311 && flags & PASSWORD != 0 && flags & USERNAME == 0 {
            return Err(DecodeError::PasswordWithoutUsername);
        }
        let clean_start = flags & CLEAN_START != 0;
        let keep_alive = r.u16()?;
        let properties = match protocol {
            Protocol::V5 => ConnectProperties::decode(r)?,
            Protocol::V311 => ConnectProperties::default(),
        };
        let client_id = r.string()?;
        if protocol == Protocol::V311 && client_id.is_empty() && !clean_start {
            return Err(DecodeError::EmptyClientId);
        }
        let will = if will_flag {
            let properties = match protocol {
                Protocol::V5 => WillProperties::decode(r)?,
                Protocol::V311 => WillProperties::default(),
            };
            let topic = TopicName::new(r.string()?)?;
            if topic.is_empty() {
                return Err(DecodeError::EmptyTopicName);
            }
            let payload = r.binary()?;
            Some(LastWill {
                topic,
                payload,
                qos: will_qos,
                retain: will_retain,
                properties,
            })
        } else {
            None
        };
        let username = if flags & USERNAME != 0 {
            Some(r.string()?)
        } else {
            None
        };
        let password = if flags & PASSWORD != 0 {
            Some(r.binary()?)
        } else {
            None
        };
        Ok(Self {
            protocol,
            clean_start,
            keep_alive,
            client_id,
            will,
            username,
            password,
            properties,
        })
    }

    #[inline]
    pub(crate) fn write<S: Sink>(&self, s: &mut S) {
        s.put_binary(b"MQTT");
        s.put_u8(self.protocol.level());
        let mut flags = 0;
        if self.clean_start {
            flags |= CLEAN_START;
        }
        if let Some(will) = &self.will {
            flags |= WILL | (will.qos as u8) << 3;
            if will.retain {
                flags |= WILL_RETAIN;
            }
        }
        // 3.1.1 cannot send a password without a user name [MQTT-3.1.2-22]; an empty
        // user name keeps the password.
        let empty = ByteString::new();
        let username = match (&self.username, &self.password, self.protocol) {
            (None, Some(_), Protocol::V311) => Some(&empty),
            (username, _, _) => username.as_ref(),
        };
        if username.is_some() {
            flags |= USERNAME;
        }
        if self.password.is_some() {
            flags |= PASSWORD;
        }
        s.put_u8(flags);
        s.put_u16(self.keep_alive);
        if self.protocol == Protocol::V5 {
            self.properties.write_with_length(s);
        }
        s.put_binary(self.client_id.as_bytes());
        if let Some(will) = &self.will {
            if self.protocol == Protocol::V5 {
                will.properties.write_with_length(s);
            }
            s.put_binary(will.topic.as_str().as_bytes());
            s.put_binary(&will.payload);
        }
        if let Some(username) = username {
            s.put_binary(username.as_bytes());
        }
        if let Some(password) = &self.password {
            s.put_binary(password);
        }
    }
}

impl ConnectProperties {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let mut p = Self::default();
        properties::decode(r, false, |prop| {
            match prop.id() {
                id::SESSION_EXPIRY_INTERVAL => p.session_expiry_interval = Some(prop.u32()?),
                id::RECEIVE_MAXIMUM => p.receive_maximum = Some(prop.nonzero_u16()?),
                id::MAXIMUM_PACKET_SIZE => p.maximum_packet_size = Some(prop.nonzero_u32()?),
                id::TOPIC_ALIAS_MAXIMUM => p.topic_alias_maximum = Some(prop.u16()?),
                id::REQUEST_RESPONSE_INFORMATION => {
                    p.request_response_information = Some(prop.bool()?);
                }
                id::REQUEST_PROBLEM_INFORMATION => {
                    p.request_problem_information = Some(prop.bool()?);
                }
                id::USER_PROPERTY => prop.user(&mut p.user_properties)?,
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

impl WriteProperties for ConnectProperties {
    #[inline]
    fn write_properties<S: Sink>(&self, s: &mut S) {
        properties::put_u32(s, id::SESSION_EXPIRY_INTERVAL, self.session_expiry_interval);
        properties::put_u16(
            s,
            id::RECEIVE_MAXIMUM,
            self.receive_maximum.map(NonZeroU16::get),
        );
        properties::put_u32(
            s,
            id::MAXIMUM_PACKET_SIZE,
            self.maximum_packet_size.map(NonZeroU32::get),
        );
        properties::put_u16(s, id::TOPIC_ALIAS_MAXIMUM, self.topic_alias_maximum);
        properties::put_bool(
            s,
            id::REQUEST_RESPONSE_INFORMATION,
            self.request_response_information,
        );
        properties::put_bool(
            s,
            id::REQUEST_PROBLEM_INFORMATION,
            self.request_problem_information,
        );
        properties::put_user(s, &self.user_properties);
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

impl WillProperties {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let mut p = Self::default();
        properties::decode(r, false, |prop| {
            match prop.id() {
                id::WILL_DELAY_INTERVAL => p.will_delay_interval = Some(prop.u32()?),
                id::PAYLOAD_FORMAT_INDICATOR => {
                    p.payload_format_indicator = Some(prop.payload_format()?);
                }
                id::MESSAGE_EXPIRY_INTERVAL => p.message_expiry_interval = Some(prop.u32()?),
                id::CONTENT_TYPE => p.content_type = Some(prop.string()?),
                id::RESPONSE_TOPIC => p.response_topic = Some(prop.topic_name()?),
                id::CORRELATION_DATA => p.correlation_data = Some(prop.binary()?),
                id::USER_PROPERTY => prop.user(&mut p.user_properties)?,
                _ => return Err(prop.not_allowed()),
            }
            Ok(())
        })?;
        Ok(p)
    }
}

impl WriteProperties for WillProperties {
    #[inline]
    fn write_properties<S: Sink>(&self, s: &mut S) {
        properties::put_u32(s, id::WILL_DELAY_INTERVAL, self.will_delay_interval);
        properties::put_u8(
            s,
            id::PAYLOAD_FORMAT_INDICATOR,
            self.payload_format_indicator.map(|f| f as u8),
        );
        properties::put_u32(s, id::MESSAGE_EXPIRY_INTERVAL, self.message_expiry_interval);
        properties::put_str(s, id::CONTENT_TYPE, self.content_type.as_ref());
        properties::put_str(
            s,
            id::RESPONSE_TOPIC,
            self.response_topic.as_ref().map(TopicName::as_byte_string),
        );
        properties::put_bytes(s, id::CORRELATION_DATA, self.correlation_data.as_deref());
        properties::put_user(s, &self.user_properties);
    }
}
