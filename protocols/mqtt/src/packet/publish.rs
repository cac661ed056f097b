//! PUBLISH (MQTT 3.1.1 section 3.3, MQTT 5.0 section 3.3).

use std::num::{NonZeroU16, NonZeroU32};

use bytes::{Buf, Bytes};
use bytestring::ByteString;

use crate::error::{DecodeError, EncodeError};
use crate::packet::Packet;
use crate::properties::{self, WriteProperties, id};
use crate::reader::Reader;
use crate::types::{PacketId, PayloadFormat, Protocol, QoS, TopicName, UserProperties};
use crate::writer::Sink;

/// An application message on its way to or from the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Publish {
    /// DUP: this may be a re-delivery. Never set at QoS 0.
    pub dup: bool,
    /// Quality of service.
    pub qos: QoS,
    /// RETAIN.
    pub retain: bool,
    /// Topic name; empty only in MQTT 5 with a topic alias.
    pub topic: TopicName,
    /// Packet identifier: present exactly when `qos` is 1 or 2.
    pub packet_id: Option<PacketId>,
    /// The application message, a view of the received packet.
    pub payload: Bytes,
    /// MQTT 5 PUBLISH properties (default in 3.1.1).
    pub properties: PublishProperties,
}

/// MQTT 5 PUBLISH properties (section 3.3.2.3).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PublishProperties {
    /// Payload Format Indicator.
    pub payload_format_indicator: Option<PayloadFormat>,
    /// Message Expiry Interval in seconds.
    pub message_expiry_interval: Option<u32>,
    /// Topic Alias.
    pub topic_alias: Option<NonZeroU16>,
    /// Response Topic.
    pub response_topic: Option<TopicName>,
    /// Correlation Data.
    pub correlation_data: Option<Bytes>,
    /// User properties.
    pub user_properties: UserProperties,
    /// Subscription Identifiers of the matching subscriptions (server to client).
    pub subscription_identifiers: Vec<NonZeroU32>,
    /// Content Type.
    pub content_type: Option<ByteString>,
}

impl Publish {
    /// A PUBLISH without packet identifier, flags or properties. Set `packet_id` before
    /// encoding a QoS 1 or 2 message.
    pub fn new(topic: TopicName, qos: QoS, payload: Bytes) -> Self {
        Self {
            dup: false,
            qos,
            retain: false,
            topic,
            packet_id: None,
            payload,
            properties: PublishProperties::default(),
        }
    }

    /// Decodes a PUBLISH from its body, which becomes the payload once the variable
    /// header is read. Returns the whole [`Packet`], built in place: moving a decoded
    /// packet from one return value into the next costs a copy of its every byte.
    #[inline]
    pub(crate) fn decode(
        header: u8,
        mut body: Bytes,
        protocol: Protocol,
    ) -> Result<Packet, DecodeError> {
        let dup = header & 0b1000 != 0;
        let qos = QoS::from_bits((header >> 1) & 0b11)?;
        let retain = header & 0b0001 != 0;
        if dup && qos == QoS::AtMostOnce {
            return Err(DecodeError::DupWithQoS0);
        }
        let mut r = Reader::new(&body);
        let topic = TopicName::new(r.utf8()?)?;
        let packet_id = match qos {
            QoS::AtMostOnce => None,
            _ => Some(r.packet_id()?),
        };
        let properties = match protocol {
            Protocol::V311 => PublishProperties::default(),
            Protocol::V5 => PublishProperties::decode(&mut r)?,
        };
        if topic.is_empty() && properties.topic_alias.is_none() {
            return Err(match protocol {
                Protocol::V311 => DecodeError::EmptyTopicName,
                Protocol::V5 => DecodeError::MissingTopicAlias,
            });
        }
        // The payload is the rest of the body: moving the body, rather than taking a
        // view of it, saves a reference-count increment and decrement.
        let header_len = r.position();
        body.advance(header_len);
        Ok(Packet::Publish(Self {
            dup,
            qos,
            retain,
            topic,
            packet_id,
            payload: body,
            properties,
        }))
    }

    /// Checks what the wire format requires and returns the flag bits.
    #[inline]
    pub(crate) fn check(&self, protocol: Protocol) -> Result<u8, EncodeError> {
        if (self.qos == QoS::AtMostOnce) != self.packet_id.is_none() {
            return Err(EncodeError::PacketIdMismatch);
        }
        let alias = protocol == Protocol::V5 && self.properties.topic_alias.is_some();
        if self.topic.is_empty() && !alias {
            return Err(EncodeError::EmptyTopicName);
        }
        let dup = self.dup && self.qos != QoS::AtMostOnce;
        Ok(u8::from(dup) << 3 | (self.qos as u8) << 1 | u8::from(self.retain))
    }

    #[inline]
    pub(crate) fn write<S: Sink>(&self, protocol: Protocol, s: &mut S) {
        s.put_binary(self.topic.as_str().as_bytes());
        if let Some(id) = self.packet_id {
            s.put_u16(id.get());
        }
        if protocol == Protocol::V5 {
            self.properties.write_with_length(s);
        }
        s.put_slice(&self.payload);
    }
}

impl PublishProperties {
    #[inline]
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let mut p = Self::default();
        properties::decode(r, true, |prop| {
            match prop.id() {
                id::PAYLOAD_FORMAT_INDICATOR => {
                    p.payload_format_indicator = Some(prop.payload_format()?);
                }
                id::MESSAGE_EXPIRY_INTERVAL => p.message_expiry_interval = Some(prop.u32()?),
                id::TOPIC_ALIAS => p.topic_alias = Some(prop.nonzero_u16()?),
                id::RESPONSE_TOPIC => p.response_topic = Some(prop.topic_name()?),
                id::CORRELATION_DATA => p.correlation_data = Some(prop.binary()?),
                id::USER_PROPERTY => prop.user(&mut p.user_properties)?,
                id::SUBSCRIPTION_IDENTIFIER => p.subscription_identifiers.push(prop.nonzero_u32()?),
                id::CONTENT_TYPE => p.content_type = Some(prop.string()?),
                _ => return Err(prop.not_allowed()),
            }
            Ok(())
        })?;
        Ok(p)
    }
}

impl WriteProperties for PublishProperties {
    #[inline]
    fn write_properties<S: Sink>(&self, s: &mut S) {
        properties::put_u8(
            s,
            id::PAYLOAD_FORMAT_INDICATOR,
            self.payload_format_indicator.map(|f| f as u8),
        );
        properties::put_u32(s, id::MESSAGE_EXPIRY_INTERVAL, self.message_expiry_interval);
        properties::put_u16(s, id::TOPIC_ALIAS, self.topic_alias.map(NonZeroU16::get));
        properties::put_str(
            s,
            id::RESPONSE_TOPIC,
            self.response_topic.as_ref().map(TopicName::as_byte_string),
        );
        properties::put_bytes(s, id::CORRELATION_DATA, self.correlation_data.as_deref());
        properties::put_user(s, &self.user_properties);
        for sub_id in &self.subscription_identifiers {
            properties::put_varint(s, id::SUBSCRIPTION_IDENTIFIER, Some(sub_id.get()));
        }
        properties::put_str(s, id::CONTENT_TYPE, self.content_type.as_ref());
    }
}
