//! PUBACK, PUBREC, PUBREL and PUBCOMP (sections 3.4-3.7 of both standards): one layout,
//! four packet types.

use bytestring::ByteString;

use crate::error::DecodeError;
use crate::packet::PacketType;
use crate::properties::{self, WriteProperties, id};
use crate::reader::Reader;
use crate::reason::ReasonCode;
use crate::types::{PacketId, Protocol, UserProperties};
use crate::writer::Sink;

/// The body of PUBACK, PUBREC, PUBREL and PUBCOMP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ack {
    /// Packet identifier of the PUBLISH (or PUBREL) being acknowledged.
    pub packet_id: PacketId,
    /// MQTT 5 reason code (always Success in 3.1.1).
    pub reason_code: ReasonCode,
    /// MQTT 5 properties (default in 3.1.1).
    pub properties: AckProperties,
}

/// The properties of acknowledgements: PUBACK, PUBREC, PUBREL, PUBCOMP, SUBACK, UNSUBACK
/// (MQTT 5.0 sections 3.4.2.2, 3.9.2.1, ...).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AckProperties {
    /// Reason String.
    pub reason_string: Option<ByteString>,
    /// User properties.
    pub user_properties: UserProperties,
}

impl Ack {
    /// A successful acknowledgement of a packet identifier.
    pub fn new(packet_id: PacketId) -> Self {
        Self {
            packet_id,
            reason_code: ReasonCode::Success,
            properties: AckProperties::default(),
        }
    }

    pub(crate) fn decode(
        r: &mut Reader<'_>,
        protocol: Protocol,
        packet_type: PacketType,
    ) -> Result<Self, DecodeError> {
        let packet_id = r.packet_id()?;
        let mut ack = Self::new(packet_id);
        // MQTT 5: a remaining length of 2 means Success without properties, 3 means a
        // reason code without properties [MQTT-3.4.2.1].
        if protocol == Protocol::V5 && !r.is_empty() {
            ack.reason_code = ReasonCode::decode(r.u8()?, packet_type)?;
            if !r.is_empty() {
                ack.properties = AckProperties::decode(r)?;
            }
        }
        Ok(ack)
    }

    #[inline]
    pub(crate) fn write<S: Sink>(&self, protocol: Protocol, s: &mut S) {
        s.put_u16(self.packet_id.get());
        if protocol == Protocol::V5 {
            let no_properties = self.properties.is_empty();
            if self.reason_code != ReasonCode::Success || !no_properties {
                s.put_u8(self.reason_code as u8);
            }
            if !no_properties {
                self.properties.write_with_length(s);
            }
        }
    }
}

impl AckProperties {
    /// Whether no property is set.
    pub fn is_empty(&self) -> bool {
        self.reason_string.is_none() && self.user_properties.is_empty()
    }

    pub(crate) fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let mut p = Self::default();
        properties::decode(r, false, |prop| {
            match prop.id() {
                id::REASON_STRING => p.reason_string = Some(prop.string()?),
                id::USER_PROPERTY => prop.user(&mut p.user_properties)?,
                _ => return Err(prop.not_allowed()),
            }
            Ok(())
        })?;
        Ok(p)
    }
}

impl WriteProperties for AckProperties {
    #[inline]
    fn write_properties<S: Sink>(&self, s: &mut S) {
        properties::put_str(s, id::REASON_STRING, self.reason_string.as_ref());
        properties::put_user(s, &self.user_properties);
    }
}
