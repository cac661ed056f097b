//! SUBACK (MQTT 3.1.1 section 3.9, MQTT 5.0 section 3.9).

use crate::error::{DecodeError, EncodeError};
use crate::packet::{AckProperties, PacketType};
use crate::properties::WriteProperties;
use crate::reader::Reader;
use crate::reason::ReasonCode;
use crate::types::{PacketId, Protocol};
use crate::writer::Sink;

/// The server's answer to SUBSCRIBE: one reason code per topic filter, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubAck {
    /// Packet identifier of the SUBSCRIBE.
    pub packet_id: PacketId,
    /// Granted QoS or failure per filter. MQTT 3.1.1 knows only the granted QoS codes
    /// and [`ReasonCode::UnspecifiedError`] (0x80).
    pub reason_codes: Vec<ReasonCode>,
    /// MQTT 5 properties (default in 3.1.1).
    pub properties: AckProperties,
}

impl SubAck {
    pub(crate) fn decode(r: &mut Reader<'_>, protocol: Protocol) -> Result<Self, DecodeError> {
        let packet_id = r.packet_id()?;
        let properties = match protocol {
            Protocol::V311 => AckProperties::default(),
            Protocol::V5 => AckProperties::decode(r)?,
        };
        let mut reason_codes = Vec::with_capacity(r.remaining());
        while !r.is_empty() {
            let code = r.u8()?;
            reason_codes.push(match protocol {
                Protocol::V311 => ReasonCode::from_v3_suback(code)?,
                Protocol::V5 => ReasonCode::decode(code, PacketType::SubAck)?,
            });
        }
        if reason_codes.is_empty() {
            return Err(DecodeError::NoReasonCodes);
        }
        Ok(Self {
            packet_id,
            reason_codes,
            properties,
        })
    }

    pub(crate) fn check(&self, protocol: Protocol) -> Result<(), EncodeError> {
        let allowed = ReasonCode::allowed_in(PacketType::SubAck);
        if protocol == Protocol::V5 && self.reason_codes.iter().any(|c| !allowed.contains(c)) {
            return Err(EncodeError::InvalidReasonCode);
        }
        Ok(())
    }

    #[inline]
    pub(crate) fn write<S: Sink>(&self, protocol: Protocol, s: &mut S) {
        s.put_u16(self.packet_id.get());
        match protocol {
            Protocol::V311 => {
                for code in &self.reason_codes {
                    s.put_u8(code.to_v3_suback());
                }
            }
            Protocol::V5 => {
                self.properties.write_with_length(s);
                for code in &self.reason_codes {
                    s.put_u8(*code as u8);
                }
            }
        }
    }
}
