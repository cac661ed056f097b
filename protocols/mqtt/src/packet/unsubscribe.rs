//! UNSUBSCRIBE (MQTT 3.1.1 section 3.10, MQTT 5.0 section 3.10).

use crate::error::DecodeError;
use crate::properties::{self, WriteProperties, id};
use crate::reader::Reader;
use crate::types::{PacketId, Protocol, TopicFilter, UserProperties};
use crate::writer::Sink;

/// A request to remove subscriptions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unsubscribe {
    /// Packet identifier.
    pub packet_id: PacketId,
    /// The topic filters to remove; never empty.
    pub filters: Vec<TopicFilter>,
    /// MQTT 5 properties (default in 3.1.1).
    pub properties: UnsubscribeProperties,
}

/// MQTT 5 UNSUBSCRIBE properties (section 3.10.2.1).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct UnsubscribeProperties {
    /// User properties.
    pub user_properties: UserProperties,
}

impl Unsubscribe {
    pub(crate) fn decode(r: &mut Reader<'_>, protocol: Protocol) -> Result<Self, DecodeError> {
        let packet_id = r.packet_id()?;
        let properties = match protocol {
            Protocol::V311 => UnsubscribeProperties::default(),
            Protocol::V5 => UnsubscribeProperties::decode(r)?,
        };
        // An entry takes at least 3 bytes; see Subscribe::decode.
        let mut filters = Vec::with_capacity((r.remaining() / 3).min(8));
        while !r.is_empty() {
            // TopicFilter::new checks for U+0000 in the same pass as the wildcards.
            let filter = TopicFilter::new(r.utf8()?)?;
            if protocol == Protocol::V5 {
                filter.check_shared_v5()?;
            }
            filters.push(filter);
        }
        if filters.is_empty() {
            return Err(DecodeError::NoTopicFilter);
        }
        Ok(Self {
            packet_id,
            filters,
            properties,
        })
    }

    #[inline]
    pub(crate) fn write<S: Sink>(&self, protocol: Protocol, s: &mut S) {
        s.put_u16(self.packet_id.get());
        if protocol == Protocol::V5 {
            self.properties.write_with_length(s);
        }
        for filter in &self.filters {
            s.put_binary(filter.as_str().as_bytes());
        }
    }
}

impl UnsubscribeProperties {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let mut p = Self::default();
        properties::decode(r, false, |prop| {
            match prop.id() {
                id::USER_PROPERTY => prop.user(&mut p.user_properties)?,
                _ => return Err(prop.not_allowed()),
            }
            Ok(())
        })?;
        Ok(p)
    }
}

impl WriteProperties for UnsubscribeProperties {
    #[inline]
    fn write_properties<S: Sink>(&self, s: &mut S) {
        properties::put_user(s, &self.user_properties);
    }
}
