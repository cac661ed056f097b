//! UNSUBACK (MQTT 3.1.1 section 3.11, MQTT 5.0 section 3.11).

use crate::error::{DecodeError, EncodeError};
use crate::packet::{AckProperties, PacketType};
use crate::properties::WriteProperties;
use crate::reader::Reader;
use crate::reason::ReasonCode;
use crate::types::{PacketId, Protocol};
use crate::writer::Sink;

/// The server's answer to UNSUBSCRIBE.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnsubAck {
    /// Packet identifier of the UNSUBSCRIBE.
    pub packet_id: PacketId,
    /// MQTT 5: one reason code per topic filter, in order. Always empty in 3.1.1.
    pub reason_codes: Vec<ReasonCode>,
    /// MQTT 5 properties (default in 3.1.1).
    pub properties: AckProperties,
}

impl UnsubAck {
    pub(crate) fn decode(r: &mut Reader<'_>, protocol: Protocol) -> Result<Self, DecodeError> {
        let packet_id = r.packet_id()?;
        let mut ack = Self {
            packet_id,
            reason_codes: Vec::new(),
            properties: AckProperties::default(),
        };
        if protocol == Protocol::V5 {
            ack.properties = AckProperties::decode(r)?;
            ack.reason_codes.reserve(r.remaining());
            while !r.is_empty() {
                ack.reason_codes
                    .push(ReasonCode::decode(r.u8()?, PacketType::UnsubAck)?);
            }
            if ack.reason_codes.is_empty() {
                return Err(DecodeError::NoReasonCodes);
            }
        }
        Ok(ack)
    }

    pub(crate) fn check(&self, protocol: Protocol) -> Result<(), EncodeError> {
        if protocol == Protocol::V5 {
            let allowed = ReasonCode::allowed_in(PacketType::UnsubAck);
            if self.reason_codes.is_empty() {
                return Err(EncodeError::NoEntries);
            }
            if self.reason_codes.iter().any(|c| !allowed.contains(c)) {
                return Err(EncodeError::InvalidReasonCode);
            }
        }
        Ok(())
    }

    #[inline]
    pub(crate) fn write<S: Sink>(&self, protocol: Protocol, s: &mut S) {
        s.put_u16(self.packet_id.get());
        if protocol == Protocol::V5 {
            self.properties.write_with_length(s);
            for code in &self.reason_codes {
                s.put_u8(*code as u8);
            }
        }
    }
}
