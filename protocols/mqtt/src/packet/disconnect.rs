//! DISCONNECT (MQTT 3.1.1 section 3.14, MQTT 5.0 section 3.14).

use bytestring::ByteString;

use crate::error::DecodeError;
use crate::packet::PacketType;
use crate::properties::{self, WriteProperties, id};
use crate::reader::Reader;
use crate::reason::ReasonCode;
use crate::types::{Protocol, UserProperties};
use crate::writer::Sink;

/// The last packet of a connection, from either side (server-sent only in MQTT 5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Disconnect {
    /// MQTT 5 reason code (Success, "normal disconnection", in 3.1.1).
    pub reason_code: ReasonCode,
    /// MQTT 5 properties (default in 3.1.1).
    pub properties: DisconnectProperties,
}

/// MQTT 5 DISCONNECT properties (section 3.14.2.2).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DisconnectProperties {
    /// Session Expiry Interval, from the client only.
    pub session_expiry_interval: Option<u32>,
    /// Reason String.
    pub reason_string: Option<ByteString>,
    /// User properties.
    pub user_properties: UserProperties,
    /// Server Reference, from the server only.
    pub server_reference: Option<ByteString>,
}

impl Disconnect {
    /// A DISCONNECT with this reason and no properties.
    pub fn new(reason_code: ReasonCode) -> Self {
        Self {
            reason_code,
            properties: DisconnectProperties::default(),
        }
    }

    pub(crate) fn decode(r: &mut Reader<'_>, protocol: Protocol) -> Result<Self, DecodeError> {
        let mut disconnect = Self::new(ReasonCode::Success);
        // MQTT 5: remaining length 0 means Normal disconnection, 1 means no properties.
        if protocol == Protocol::V5 && !r.is_empty() {
            disconnect.reason_code = ReasonCode::decode(r.u8()?, PacketType::Disconnect)?;
            if !r.is_empty() {
                disconnect.properties = DisconnectProperties::decode(r)?;
            }
        }
        Ok(disconnect)
    }

    #[inline]
    pub(crate) fn write<S: Sink>(&self, protocol: Protocol, s: &mut S) {
        if protocol == Protocol::V311 {
            return;
        }
        let no_properties = self.properties == DisconnectProperties::default();
        if self.reason_code != ReasonCode::Success || !no_properties {
            s.put_u8(self.reason_code as u8);
        }
        if !no_properties {
            self.properties.write_with_length(s);
        }
    }
}

impl DisconnectProperties {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let mut p = Self::default();
        properties::decode(r, false, |prop| {
            match prop.id() {
                id::SESSION_EXPIRY_INTERVAL => p.session_expiry_interval = Some(prop.u32()?),
                id::REASON_STRING => p.reason_string = Some(prop.string()?),
                id::USER_PROPERTY => prop.user(&mut p.user_properties)?,
                id::SERVER_REFERENCE => p.server_reference = Some(prop.string()?),
                _ => return Err(prop.not_allowed()),
            }
            Ok(())
        })?;
        Ok(p)
    }
}

impl WriteProperties for DisconnectProperties {
    #[inline]
    fn write_properties<S: Sink>(&self, s: &mut S) {
        properties::put_u32(s, id::SESSION_EXPIRY_INTERVAL, self.session_expiry_interval);
        properties::put_str(s, id::REASON_STRING, self.reason_string.as_ref());
        properties::put_user(s, &self.user_properties);
        properties::put_str(s, id::SERVER_REFERENCE, self.server_reference.as_ref());
    }
}
