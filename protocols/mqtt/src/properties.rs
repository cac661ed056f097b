//! MQTT 5 properties (section 2.2.2): identifiers, the wire decoding of a property list
//! with its duplicate rules, and encoding helpers. Which properties a packet may carry,
//! and their value ranges, live in each packet's own property struct.

use std::num::{NonZeroU16, NonZeroU32};

use bytes::Bytes;
use bytestring::ByteString;

use crate::error::DecodeError;
use crate::reader::Reader;
use crate::types::{PayloadFormat, QoS, TopicName, UserProperties};
use crate::writer::Sink;

/// Property identifiers, as the standard numbers them.
pub(crate) mod id {
    pub(crate) const PAYLOAD_FORMAT_INDICATOR: u8 = 0x01;
    pub(crate) const MESSAGE_EXPIRY_INTERVAL: u8 = 0x02;
    pub(crate) const CONTENT_TYPE: u8 = 0x03;
    pub(crate) const RESPONSE_TOPIC: u8 = 0x08;
    pub(crate) const CORRELATION_DATA: u8 = 0x09;
    pub(crate) const SUBSCRIPTION_IDENTIFIER: u8 = 0x0B;
    pub(crate) const SESSION_EXPIRY_INTERVAL: u8 = 0x11;
    pub(crate) const ASSIGNED_CLIENT_IDENTIFIER: u8 = 0x12;
    pub(crate) const SERVER_KEEP_ALIVE: u8 = 0x13;
    pub(crate) const AUTHENTICATION_METHOD: u8 = 0x15;
    pub(crate) const AUTHENTICATION_DATA: u8 = 0x16;
    pub(crate) const REQUEST_PROBLEM_INFORMATION: u8 = 0x17;
    pub(crate) const WILL_DELAY_INTERVAL: u8 = 0x18;
    pub(crate) const REQUEST_RESPONSE_INFORMATION: u8 = 0x19;
    pub(crate) const RESPONSE_INFORMATION: u8 = 0x1A;
    pub(crate) const SERVER_REFERENCE: u8 = 0x1C;
    pub(crate) const REASON_STRING: u8 = 0x1F;
    pub(crate) const RECEIVE_MAXIMUM: u8 = 0x21;
    pub(crate) const TOPIC_ALIAS_MAXIMUM: u8 = 0x22;
    pub(crate) const TOPIC_ALIAS: u8 = 0x23;
    pub(crate) const MAXIMUM_QOS: u8 = 0x24;
    pub(crate) const RETAIN_AVAILABLE: u8 = 0x25;
    pub(crate) const USER_PROPERTY: u8 = 0x26;
    pub(crate) const MAXIMUM_PACKET_SIZE: u8 = 0x27;
    pub(crate) const WILDCARD_SUBSCRIPTION_AVAILABLE: u8 = 0x28;
    pub(crate) const SUBSCRIPTION_IDENTIFIER_AVAILABLE: u8 = 0x29;
    pub(crate) const SHARED_SUBSCRIPTION_AVAILABLE: u8 = 0x2A;
}

/// The data types of property values (section 2.2.2.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Byte,
    U16,
    U32,
    VarInt,
    Str,
    Binary,
    Pair,
}

impl Kind {
    /// The data type of a property identifier, or `None` for an identifier the standard
    /// does not define.
    #[inline]
    const fn of(property: u8) -> Option<Self> {
        use id::*;
        Some(match property {
            PAYLOAD_FORMAT_INDICATOR
            | REQUEST_PROBLEM_INFORMATION
            | REQUEST_RESPONSE_INFORMATION
            | MAXIMUM_QOS
            | RETAIN_AVAILABLE
            | WILDCARD_SUBSCRIPTION_AVAILABLE
            | SUBSCRIPTION_IDENTIFIER_AVAILABLE
            | SHARED_SUBSCRIPTION_AVAILABLE => Self::Byte,
            SERVER_KEEP_ALIVE | RECEIVE_MAXIMUM | TOPIC_ALIAS_MAXIMUM | TOPIC_ALIAS => Self::U16,
            MESSAGE_EXPIRY_INTERVAL
            | SESSION_EXPIRY_INTERVAL
            | WILL_DELAY_INTERVAL
            | MAXIMUM_PACKET_SIZE => Self::U32,
            SUBSCRIPTION_IDENTIFIER => Self::VarInt,
            CONTENT_TYPE
            | RESPONSE_TOPIC
            | ASSIGNED_CLIENT_IDENTIFIER
            | AUTHENTICATION_METHOD
            | RESPONSE_INFORMATION
            | SERVER_REFERENCE
            | REASON_STRING => Self::Str,
            CORRELATION_DATA | AUTHENTICATION_DATA => Self::Binary,
            USER_PROPERTY => Self::Pair,
            _ => return None,
        })
    }
}

/// One property of a list whose identifier has been read: the packet's decoder reads
/// the value with the method for the property's data type, straight into its field.
///
/// Each method reads the value first (a malformed value is reported as such), then
/// rejects a second occurrence of a property that may appear once, then checks the
/// value's range: the order in which the errors of one property are reported.
#[derive(Debug)]
pub(crate) struct Property<'r, 'a> {
    r: &'r mut Reader<'a>,
    id: u8,
    kind: Kind,
    duplicate: bool,
}

impl Property<'_, '_> {
    /// The property identifier.
    #[inline]
    pub(crate) fn id(&self) -> u8 {
        self.id
    }

    /// Fails unless the property has the data type the caller reads it as (which holds
    /// for every caller: the check folds away once the identifier is a constant).
    #[inline]
    fn expect(&self, kind: Kind) -> Result<(), DecodeError> {
        if self.kind == kind {
            Ok(())
        } else {
            Err(DecodeError::InvalidPropertyValue(self.id))
        }
    }

    /// Passes a value read, unless the property is a duplicate.
    #[inline]
    fn once<T>(&self, value: T) -> Result<T, DecodeError> {
        if self.duplicate {
            Err(DecodeError::DuplicateProperty(self.id))
        } else {
            Ok(value)
        }
    }

    #[inline]
    pub(crate) fn u8(self) -> Result<u8, DecodeError> {
        self.expect(Kind::Byte)?;
        let v = self.r.u8()?;
        self.once(v)
    }

    /// A Byte property that must be 0 or 1.
    #[inline]
    pub(crate) fn bool(self) -> Result<bool, DecodeError> {
        let id = self.id;
        match self.u8()? {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(DecodeError::InvalidPropertyValue(id)),
        }
    }

    #[inline]
    pub(crate) fn u16(self) -> Result<u16, DecodeError> {
        self.expect(Kind::U16)?;
        let v = self.r.u16()?;
        self.once(v)
    }

    #[inline]
    pub(crate) fn nonzero_u16(self) -> Result<NonZeroU16, DecodeError> {
        let id = self.id;
        NonZeroU16::new(self.u16()?).ok_or(DecodeError::InvalidPropertyValue(id))
    }

    /// A Four Byte Integer or a Variable Byte Integer property.
    #[inline]
    pub(crate) fn u32(self) -> Result<u32, DecodeError> {
        let v = match self.kind {
            Kind::U32 => self.r.u32()?,
            Kind::VarInt => self.r.varint()?,
            _ => return Err(DecodeError::InvalidPropertyValue(self.id)),
        };
        self.once(v)
    }

    #[inline]
    pub(crate) fn nonzero_u32(self) -> Result<NonZeroU32, DecodeError> {
        let id = self.id;
        NonZeroU32::new(self.u32()?).ok_or(DecodeError::InvalidPropertyValue(id))
    }

    #[inline]
    pub(crate) fn string(self) -> Result<ByteString, DecodeError> {
        self.expect(Kind::Str)?;
        let v = self.r.string()?;
        self.once(v)
    }

    #[inline]
    pub(crate) fn binary(self) -> Result<Bytes, DecodeError> {
        self.expect(Kind::Binary)?;
        let v = self.r.binary()?;
        self.once(v)
    }

    #[inline]
    pub(crate) fn payload_format(self) -> Result<PayloadFormat, DecodeError> {
        Ok(if self.bool()? {
            PayloadFormat::Utf8
        } else {
            PayloadFormat::Unspecified
        })
    }

    /// Response Topic: a topic name, so no wildcards and not empty [MQTT-3.3.2-14].
    #[inline]
    pub(crate) fn topic_name(self) -> Result<TopicName, DecodeError> {
        let name = TopicName::new(self.string()?)?;
        if name.is_empty() {
            return Err(DecodeError::EmptyTopicName);
        }
        Ok(name)
    }

    /// Maximum QoS: 0 or 1 [MQTT-3.2.2-9].
    #[inline]
    pub(crate) fn maximum_qos(self) -> Result<QoS, DecodeError> {
        let id = self.id;
        match self.u8()? {
            0 => Ok(QoS::AtMostOnce),
            1 => Ok(QoS::AtLeastOnce),
            _ => Err(DecodeError::InvalidPropertyValue(id)),
        }
    }

    /// A User Property, appended to `list` (it may appear any number of times).
    #[inline]
    pub(crate) fn user(self, list: &mut UserProperties) -> Result<(), DecodeError> {
        self.expect(Kind::Pair)?;
        let name = self.r.string()?;
        let value = self.r.string()?;
        list.push((name, value));
        Ok(())
    }

    /// The error for a property the packet may not carry, once its value has been read
    /// (a malformed value is reported as such).
    #[cold]
    pub(crate) fn not_allowed(self) -> DecodeError {
        let id = self.id;
        match self.skip() {
            Err(e) => e,
            Ok(()) => DecodeError::PropertyNotAllowed(id),
        }
    }

    /// Reads the value, whatever its type, and drops it.
    fn skip(self) -> Result<(), DecodeError> {
        match self.kind {
            Kind::Byte => self.r.u8().map(drop)?,
            Kind::U16 => self.r.u16().map(drop)?,
            Kind::U32 => self.r.u32().map(drop)?,
            Kind::VarInt => self.r.varint().map(drop)?,
            Kind::Str => self.r.string().map(drop)?,
            Kind::Binary => self.r.binary().map(drop)?,
            Kind::Pair => {
                self.r.string()?;
                self.r.string().map(drop)?;
            }
        }
        self.once(())
    }
}

/// Reads a property list (its variable-byte length, then the properties) and hands
/// each property to `apply`, which reads its value or rejects it with
/// [`Property::not_allowed`]. A property may appear once, except User Property, and
/// Subscription Identifier where `repeat_subscription_id` allows it (PUBLISH).
#[inline]
pub(crate) fn decode<'a>(
    r: &mut Reader<'a>,
    repeat_subscription_id: bool,
    mut apply: impl FnMut(Property<'_, 'a>) -> Result<(), DecodeError>,
) -> Result<(), DecodeError> {
    let len = r.varint()? as usize;
    // The list is read in place, through a reader bounded by its length.
    let mut props = r.sub(len)?;
    let mut seen: u64 = 0;
    while !props.is_empty() {
        let raw_id = props.varint()?;
        let id = u8::try_from(raw_id).map_err(|_| DecodeError::UnknownProperty(u8::MAX))?;
        let kind = Kind::of(id).ok_or(DecodeError::UnknownProperty(id))?;
        let repeatable = id == id::USER_PROPERTY
            || (repeat_subscription_id && id == id::SUBSCRIPTION_IDENTIFIER);
        // Every defined identifier is below 64.
        let bit = 1u64 << (id & 63);
        let duplicate = !repeatable && seen & bit != 0;
        seen |= bit;
        apply(Property {
            r: &mut props,
            id,
            kind,
            duplicate,
        })?;
    }
    Ok(())
}

/// Writes one packet's properties: implemented by each packet's property struct.
pub(crate) trait WriteProperties {
    /// Writes every property present, without the length prefix.
    fn write_properties<S: Sink>(&self, s: &mut S);

    /// The length prefix and the properties.
    #[inline]
    fn write_with_length<S: Sink>(&self, s: &mut S) {
        s.put_properties(self);
    }
}

/// Property writers: each writes the identifier and the value when the value is present.
#[inline]
pub(crate) fn put_u8<S: Sink>(s: &mut S, id: u8, v: Option<u8>) {
    if let Some(v) = v {
        s.put_u8(id);
        s.put_u8(v);
    }
}

#[inline]
pub(crate) fn put_bool<S: Sink>(s: &mut S, id: u8, v: Option<bool>) {
    put_u8(s, id, v.map(u8::from));
}

#[inline]
pub(crate) fn put_u16<S: Sink>(s: &mut S, id: u8, v: Option<u16>) {
    if let Some(v) = v {
        s.put_u8(id);
        s.put_u16(v);
    }
}

#[inline]
pub(crate) fn put_u32<S: Sink>(s: &mut S, id: u8, v: Option<u32>) {
    if let Some(v) = v {
        s.put_u8(id);
        s.put_u32(v);
    }
}

#[inline]
pub(crate) fn put_varint<S: Sink>(s: &mut S, id: u8, v: Option<u32>) {
    if let Some(v) = v {
        s.put_u8(id);
        s.put_varint(v);
    }
}

#[inline]
pub(crate) fn put_bytes<S: Sink>(s: &mut S, id: u8, v: Option<&[u8]>) {
    if let Some(v) = v {
        s.put_u8(id);
        s.put_binary(v);
    }
}

#[inline]
pub(crate) fn put_str<S: Sink>(s: &mut S, id: u8, v: Option<&ByteString>) {
    put_bytes(s, id, v.map(|v| v.as_bytes().as_ref()));
}

#[inline]
pub(crate) fn put_user<S: Sink>(s: &mut S, user: &UserProperties) {
    for (name, value) in user {
        s.put_u8(id::USER_PROPERTY);
        s.put_binary(name.as_bytes());
        s.put_binary(value.as_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collect(bytes: &'static [u8], repeat: bool) -> Result<Vec<u8>, DecodeError> {
        let frame = Bytes::from_static(bytes);
        let mut r = Reader::new(&frame);
        let mut ids = Vec::new();
        decode(&mut r, repeat, |prop| {
            ids.push(prop.id());
            prop.skip()
        })?;
        r.finish()?;
        Ok(ids)
    }

    #[test]
    fn decodes_a_list() {
        assert_eq!(collect(b"\x00", false), Ok(vec![]));
        assert_eq!(collect(b"\x05\x11\x00\x00\x00\x0A", false), Ok(vec![0x11]));
        assert_eq!(
            collect(b"\x0E\x26\x00\x01a\x00\x01b\x26\x00\x01a\x00\x01c", false),
            Ok(vec![0x26, 0x26])
        );
    }

    #[test]
    fn rejects_duplicates_unknown_and_overruns() {
        assert_eq!(
            collect(b"\x04\x01\x00\x01\x01", false),
            Err(DecodeError::DuplicateProperty(1))
        );
        assert_eq!(
            collect(b"\x04\x0B\x01\x0B\x02", false),
            Err(DecodeError::DuplicateProperty(0x0B))
        );
        assert_eq!(collect(b"\x04\x0B\x01\x0B\x02", true), Ok(vec![0x0B, 0x0B]));
        assert_eq!(
            collect(b"\x02\x04\x00", false),
            Err(DecodeError::UnknownProperty(4))
        );
        assert_eq!(
            collect(b"\x02\x80\x01", false),
            Err(DecodeError::UnknownProperty(0x80))
        );
        assert_eq!(
            collect(b"\x03\x11\x00\x00", false),
            Err(DecodeError::UnexpectedEnd)
        );
        assert_eq!(
            collect(b"\x09\x11\x00", false),
            Err(DecodeError::UnexpectedEnd)
        );
    }

    #[test]
    fn errors_of_one_property_come_in_order() {
        let frame = Bytes::from_static(b"\x06\x23\x00\x05\x23\x00\x00");
        let decode_alias = |frame| {
            let mut r = Reader::new(frame);
            decode(&mut r, false, |prop| match prop.id() {
                id::TOPIC_ALIAS => prop.nonzero_u16().map(drop),
                _ => Err(prop.not_allowed()),
            })
        };
        // A second Topic Alias is a duplicate before its value 0 is out of range.
        assert_eq!(
            decode_alias(&frame),
            Err(DecodeError::DuplicateProperty(0x23))
        );
        // A property not allowed is reported once its value is read...
        let frame = Bytes::from_static(b"\x02\x01\x01");
        assert_eq!(
            decode_alias(&frame),
            Err(DecodeError::PropertyNotAllowed(0x01))
        );
        // ... so a malformed one is malformed first.
        let frame = Bytes::from_static(b"\x04\x03\x00\x01\x00");
        assert_eq!(decode_alias(&frame), Err(DecodeError::NullCharacter));
    }
}
