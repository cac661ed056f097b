//! AUTH (MQTT 5.0 section 3.15): enhanced authentication exchanges.

use bytes::Bytes;
use bytestring::ByteString;

use crate::error::DecodeError;
use crate::packet::PacketType;
use crate::properties::{self, WriteProperties, id};
use crate::reader::Reader;
use crate::reason::ReasonCode;
use crate::types::UserProperties;
use crate::writer::Sink;

/// One step of an enhanced authentication exchange (MQTT 5 only).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Auth {
    /// Success, Continue authentication or Re-authenticate.
    pub reason_code: ReasonCode,
    /// AUTH properties.
    pub properties: AuthProperties,
}

/// AUTH properties (section 3.15.2.2).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AuthProperties {
    /// Authentication Method.
    pub authentication_method: Option<ByteString>,
    /// Authentication Data.
    pub authentication_data: Option<Bytes>,
    /// Reason String.
    pub reason_string: Option<ByteString>,
    /// User properties.
    pub user_properties: UserProperties,
}

impl Auth {
    pub(crate) fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let mut auth = Self {
            reason_code: ReasonCode::Success,
            properties: AuthProperties::default(),
        };
        // A remaining length of 0 means Success without properties; otherwise both the
        // reason code and the property length are present (section 3.15.2.1).
        if !r.is_empty() {
            auth.reason_code = ReasonCode::decode(r.u8()?, PacketType::Auth)?;
            auth.properties = AuthProperties::decode(r)?;
        }
        Ok(auth)
    }

    #[inline]
    pub(crate) fn write<S: Sink>(&self, s: &mut S) {
        if self.reason_code == ReasonCode::Success && self.properties == AuthProperties::default() {
            return;
        }
        s.put_u8(self.reason_code as u8);
        self.properties.write_with_length(s);
    }
}

impl AuthProperties {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let mut p = Self::default();
        properties::decode(r, false, |prop| {
            match prop.id() {
                id::AUTHENTICATION_METHOD => p.authentication_method = Some(prop.string()?),
                id::AUTHENTICATION_DATA => p.authentication_data = Some(prop.binary()?),
                id::REASON_STRING => p.reason_string = Some(prop.string()?),
                id::USER_PROPERTY => prop.user(&mut p.user_properties)?,
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

impl WriteProperties for AuthProperties {
    #[inline]
    fn write_properties<S: Sink>(&self, s: &mut S) {
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
        properties::put_str(s, id::REASON_STRING, self.reason_string.as_ref());
        properties::put_user(s, &self.user_properties);
    }
}
