//! MQTT 5 properties (section 2.2.2): identifiers, the wire decoding of a property list
//! with its duplicate rules, and encoding helpers. Which properties a packet may carry,
//! and their value ranges, live in each packet's own property struct.

use std::num::{NonZeroU16, NonZeroU32};

use bytes::Bytes;
use bytestring::ByteString;

use crate::error::DecodeError;
use crate::reader::Reader;
use crate::types::{PayloadFormat, QoS, TopicName, UserProperties};
use crate::writer::{Counter, Sink};

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

/// A property value, typed by the identifier's data type.
#[derive(Debug)]
pub(crate) enum Value {
    Byte(u8),
    U16(u16),
    U32(u32),
    VarInt(u32),
    Str(ByteString),
    Binary(Bytes),
    Pair(ByteString, ByteString),
}

impl Value {
    /// A Byte property that must be 0 or 1.
    pub(crate) fn bool(self, id: u8) -> Result<bool, DecodeError> {
        match self {
            Self::Byte(0) => Ok(false),
            Self::Byte(1) => Ok(true),
            _ => Err(DecodeError::InvalidPropertyValue(id)),
        }
    }

    pub(crate) fn u8(self, id: u8) -> Result<u8, DecodeError> {
        match self {
            Self::Byte(v) => Ok(v),
            _ => Err(DecodeError::InvalidPropertyValue(id)),
        }
    }

    pub(crate) fn u16(self, id: u8) -> Result<u16, DecodeError> {
        match self {
            Self::U16(v) => Ok(v),
            _ => Err(DecodeError::InvalidPropertyValue(id)),
        }
    }

    pub(crate) fn nonzero_u16(self, id: u8) -> Result<NonZeroU16, DecodeError> {
        NonZeroU16::new(self.u16(id)?).ok_or(DecodeError::InvalidPropertyValue(id))
    }

    pub(crate) fn u32(self, id: u8) -> Result<u32, DecodeError> {
        match self {
            Self::U32(v) | Self::VarInt(v) => Ok(v),
            _ => Err(DecodeError::InvalidPropertyValue(id)),
        }
    }

    pub(crate) fn nonzero_u32(self, id: u8) -> Result<NonZeroU32, DecodeError> {
        NonZeroU32::new(self.u32(id)?).ok_or(DecodeError::InvalidPropertyValue(id))
    }

    pub(crate) fn string(self, id: u8) -> Result<ByteString, DecodeError> {
        match self {
            Self::Str(v) => Ok(v),
            _ => Err(DecodeError::InvalidPropertyValue(id)),
        }
    }

    pub(crate) fn binary(self, id: u8) -> Result<Bytes, DecodeError> {
        match self {
            Self::Binary(v) => Ok(v),
            _ => Err(DecodeError::InvalidPropertyValue(id)),
        }
    }

    pub(crate) fn payload_format(self, id: u8) -> Result<PayloadFormat, DecodeError> {
        Ok(if self.bool(id)? {
            PayloadFormat::Utf8
        } else {
            PayloadFormat::Unspecified
        })
    }

    /// Response Topic: a topic name, so no wildcards and not empty [MQTT-3.3.2-14].
    pub(crate) fn topic_name(self, id: u8) -> Result<TopicName, DecodeError> {
        let name = TopicName::new(self.string(id)?)?;
        if name.is_empty() {
            return Err(DecodeError::EmptyTopicName);
        }
        Ok(name)
    }

    /// Maximum QoS: 0 or 1 [MQTT-3.2.2-9].
    pub(crate) fn maximum_qos(self, id: u8) -> Result<QoS, DecodeError> {
        match self.u8(id)? {
            0 => Ok(QoS::AtMostOnce),
            1 => Ok(QoS::AtLeastOnce),
            _ => Err(DecodeError::InvalidPropertyValue(id)),
        }
    }
}

/// Reads a property list (its variable-byte length, then the properties) and hands
/// each property to `apply`, which rejects those the packet may not carry. A property
/// may appear once, except User Property, and Subscription Identifier where
/// `repeat_subscription_id` allows it (PUBLISH).
pub(crate) fn decode(
    r: &mut Reader,
    repeat_subscription_id: bool,
    mut apply: impl FnMut(u8, Value) -> Result<(), DecodeError>,
) -> Result<(), DecodeError> {
    let len = r.varint()? as usize;
    let mut props = Reader::new(r.take(len)?);
    let mut seen: u64 = 0;
    while !props.is_empty() {
        let raw_id = props.varint()?;
        let id = u8::try_from(raw_id).map_err(|_| DecodeError::UnknownProperty(u8::MAX))?;
        let value = read_value(&mut props, id)?;
        let repeatable = id == id::USER_PROPERTY
            || (repeat_subscription_id && id == id::SUBSCRIPTION_IDENTIFIER);
        let bit = 1u64 << (id & 63);
        if !repeatable && seen & bit != 0 {
            return Err(DecodeError::DuplicateProperty(id));
        }
        seen |= bit;
        apply(id, value)?;
    }
    Ok(())
}

fn read_value(r: &mut Reader, property: u8) -> Result<Value, DecodeError> {
    use id::*;
    Ok(match property {
        PAYLOAD_FORMAT_INDICATOR
        | REQUEST_PROBLEM_INFORMATION
        | REQUEST_RESPONSE_INFORMATION
        | MAXIMUM_QOS
        | RETAIN_AVAILABLE
        | WILDCARD_SUBSCRIPTION_AVAILABLE
        | SUBSCRIPTION_IDENTIFIER_AVAILABLE
        | SHARED_SUBSCRIPTION_AVAILABLE => Value::Byte(r.u8()?),
        SERVER_KEEP_ALIVE | RECEIVE_MAXIMUM | TOPIC_ALIAS_MAXIMUM | TOPIC_ALIAS => {
            Value::U16(r.u16()?)
        }
        MESSAGE_EXPIRY_INTERVAL
        | SESSION_EXPIRY_INTERVAL
        | WILL_DELAY_INTERVAL
        | MAXIMUM_PACKET_SIZE => Value::U32(r.u32()?),
        SUBSCRIPTION_IDENTIFIER => Value::VarInt(r.varint()?),
        CONTENT_TYPE
        | RESPONSE_TOPIC
        | ASSIGNED_CLIENT_IDENTIFIER
        | AUTHENTICATION_METHOD
        | RESPONSE_INFORMATION
        | SERVER_REFERENCE
        | REASON_STRING => Value::Str(r.string()?),
        CORRELATION_DATA | AUTHENTICATION_DATA => Value::Binary(r.binary()?),
        USER_PROPERTY => Value::Pair(r.string()?, r.string()?),
        other => return Err(DecodeError::UnknownProperty(other)),
    })
}

/// Appends a User Property value to a list.
pub(crate) fn push_user(list: &mut UserProperties, v: Value, prop: u8) -> Result<(), DecodeError> {
    match v {
        Value::Pair(name, value) => {
            list.push((name, value));
            Ok(())
        }
        _ => Err(DecodeError::InvalidPropertyValue(prop)),
    }
}

/// Writes one packet's properties: implemented by each packet's property struct.
pub(crate) trait WriteProperties {
    /// Writes every property present, without the length prefix.
    fn write_properties<S: Sink>(&self, s: &mut S);

    /// The length prefix and the properties.
    fn write_with_length<S: Sink>(&self, s: &mut S) {
        let mut counter = Counter::default();
        self.write_properties(&mut counter);
        s.put_varint(u32::try_from(counter.len).unwrap_or(u32::MAX));
        self.write_properties(s);
    }
}

/// Property writers: each writes the identifier and the value when the value is present.
pub(crate) fn put_u8<S: Sink>(s: &mut S, id: u8, v: Option<u8>) {
    if let Some(v) = v {
        s.put_u8(id);
        s.put_u8(v);
    }
}

pub(crate) fn put_bool<S: Sink>(s: &mut S, id: u8, v: Option<bool>) {
    put_u8(s, id, v.map(u8::from));
}

pub(crate) fn put_u16<S: Sink>(s: &mut S, id: u8, v: Option<u16>) {
    if let Some(v) = v {
        s.put_u8(id);
        s.put_u16(v);
    }
}

pub(crate) fn put_u32<S: Sink>(s: &mut S, id: u8, v: Option<u32>) {
    if let Some(v) = v {
        s.put_u8(id);
        s.put_u32(v);
    }
}

pub(crate) fn put_varint<S: Sink>(s: &mut S, id: u8, v: Option<u32>) {
    if let Some(v) = v {
        s.put_u8(id);
        s.put_varint(v);
    }
}

pub(crate) fn put_bytes<S: Sink>(s: &mut S, id: u8, v: Option<&[u8]>) {
    if let Some(v) = v {
        s.put_u8(id);
        s.put_binary(v);
    }
}

pub(crate) fn put_str<S: Sink>(s: &mut S, id: u8, v: Option<&ByteString>) {
    put_bytes(s, id, v.map(|v| v.as_bytes().as_ref()));
}

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
        let mut r = Reader::new(Bytes::from_static(bytes));
        let mut ids = Vec::new();
        decode(&mut r, repeat, |id, _| {
            ids.push(id);
            Ok(())
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
}
