//! PUBLISH (MQTT 3.1.1 section 3.3, MQTT 5.0 section 3.3).

use std::fmt;
use std::num::{NonZeroU16, NonZeroU32};
use std::ops::{Deref, DerefMut};

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
    /// MQTT 5 PUBLISH properties (none in 3.1.1); read and set them as the fields of
    /// [`PublishProperties`] (`publish.properties.topic_alias`).
    pub properties: PublishPropertiesBox,
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

/// [`PublishProperties`] as a [`Publish`] holds them: on the heap when any is set, and
/// nothing at all when none is (every MQTT 3.1.1 PUBLISH, and many MQTT 5 ones). This
/// keeps `Publish`, and so every [`Packet`], small: a decoded packet is moved a few
/// times on its way out of the decoder.
///
/// It reads and writes as the properties themselves, through `Deref` and `DerefMut`
/// (`publish.properties.topic_alias = NonZeroU16::new(1)`); the first write through
/// `DerefMut` allocates. A whole set converts with `From` in both directions, and
/// comparison is by value: no properties boxed equals none.
#[derive(Clone, Default)]
pub struct PublishPropertiesBox(Option<Box<PublishProperties>>);

/// What an empty [`PublishPropertiesBox`] dereferences to.
static NO_PROPERTIES: PublishProperties = PublishProperties {
    payload_format_indicator: None,
    message_expiry_interval: None,
    topic_alias: None,
    response_topic: None,
    correlation_data: None,
    user_properties: Vec::new(),
    subscription_identifiers: Vec::new(),
    content_type: None,
};

impl PublishPropertiesBox {
    /// The properties, out of their box.
    pub fn into_inner(self) -> PublishProperties {
        self.0.map(|p| *p).unwrap_or_default()
    }

    /// Whether nothing is boxed: then no property is set.
    fn is_unboxed(&self) -> bool {
        self.0.is_none()
    }
}

impl Deref for PublishPropertiesBox {
    type Target = PublishProperties;

    #[inline]
    fn deref(&self) -> &PublishProperties {
        self.0.as_deref().unwrap_or(&NO_PROPERTIES)
    }
}

impl DerefMut for PublishPropertiesBox {
    fn deref_mut(&mut self) -> &mut PublishProperties {
        self.0.get_or_insert_with(Box::default)
    }
}

impl From<PublishProperties> for PublishPropertiesBox {
    /// Boxes the properties unless none is set.
    fn from(properties: PublishProperties) -> Self {
        if properties.is_empty() {
            Self(None)
        } else {
            Self(Some(Box::new(properties)))
        }
    }
}

impl From<PublishPropertiesBox> for PublishProperties {
    fn from(properties: PublishPropertiesBox) -> Self {
        properties.into_inner()
    }
}

impl PartialEq for PublishPropertiesBox {
    fn eq(&self, other: &Self) -> bool {
        **self == **other
    }
}

impl Eq for PublishPropertiesBox {}

impl fmt::Debug for PublishPropertiesBox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
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
            properties: PublishPropertiesBox::default(),
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
        let topic = TopicName::from_packet(r.binary()?)?;
        let packet_id = match qos {
            QoS::AtMostOnce => None,
            _ => Some(r.packet_id()?),
        };
        let properties = match protocol {
            Protocol::V311 => PublishPropertiesBox::default(),
            Protocol::V5 => PublishProperties::decode_boxed(&mut r)?,
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
            if self.properties.is_unboxed() {
                s.put_u8(0);
            } else {
                self.properties.write_with_length(s);
            }
        }
        s.put_slice(&self.payload);
    }
}

impl PublishProperties {
    /// Whether no property is set.
    pub fn is_empty(&self) -> bool {
        self == &NO_PROPERTIES
    }

    /// Decodes the properties, boxed unless the list is empty.
    #[inline]
    fn decode_boxed(r: &mut Reader<'_>) -> Result<PublishPropertiesBox, DecodeError> {
        if r.next_is_zero() {
            r.u8()?;
            return Ok(PublishPropertiesBox::default());
        }
        // Decoded in place: the struct is too large to move for free. A list that is
        // not empty sets at least one property, so the box is never an empty one.
        let mut p = Box::<Self>::default();
        p.decode(r)?;
        Ok(PublishPropertiesBox(Some(p)))
    }

    #[inline]
    fn decode(&mut self, r: &mut Reader<'_>) -> Result<(), DecodeError> {
        let p = self;
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
        })
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

#[cfg(test)]
mod tests {
    use super::*;

    fn with_alias() -> PublishProperties {
        PublishProperties {
            topic_alias: NonZeroU16::new(1),
            ..PublishProperties::default()
        }
    }

    #[test]
    fn no_properties_are_not_boxed() {
        let empty = PublishPropertiesBox::from(PublishProperties::default());
        assert!(empty.is_unboxed());
        assert!(empty.is_empty());
        assert_eq!(empty.topic_alias, None);
        assert!(!PublishPropertiesBox::from(with_alias()).is_unboxed());
        // Every variant of the packet is small enough to move cheaply; PUBLISH the most.
        assert!(size_of::<Publish>() <= 80, "{}", size_of::<Publish>());
        assert!(size_of::<Packet>() <= 104, "{}", size_of::<Packet>());
    }

    #[test]
    fn boxed_properties_read_write_and_compare_by_value() {
        let mut publish = Publish::new(TopicName::empty(), QoS::AtMostOnce, Bytes::new());
        publish.properties.topic_alias = NonZeroU16::new(1);
        assert_eq!(publish.properties.topic_alias, NonZeroU16::new(1));
        assert_eq!(publish.properties, with_alias().into());
        assert_eq!(publish.properties.clone().into_inner(), with_alias());
        // An emptied box equals no box.
        publish.properties.topic_alias = None;
        assert!(!publish.properties.is_unboxed());
        assert_eq!(publish.properties, PublishPropertiesBox::default());
        assert_eq!(
            format!("{:?}", PublishPropertiesBox::default()),
            format!("{:?}", PublishProperties::default())
        );
    }

    #[test]
    fn an_empty_property_list_decodes_unboxed() {
        let body = Bytes::from_static(b"\x00\x01a\x00hi");
        let Ok(Packet::Publish(publish)) = Publish::decode(0x30, body, Protocol::V5) else {
            panic!("valid PUBLISH");
        };
        assert!(publish.properties.is_unboxed());
        assert_eq!(publish.payload, "hi");
        let body = Bytes::from_static(b"\x00\x00\x03\x23\x00\x01hi");
        let Ok(Packet::Publish(publish)) = Publish::decode(0x30, body, Protocol::V5) else {
            panic!("valid PUBLISH");
        };
        assert_eq!(publish.properties.topic_alias, NonZeroU16::new(1));
    }
}
