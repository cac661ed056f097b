//! SUBSCRIBE (MQTT 3.1.1 section 3.8, MQTT 5.0 section 3.8).

use std::num::NonZeroU32;

use crate::error::DecodeError;
use crate::properties::{self, WriteProperties, id};
use crate::reader::Reader;
use crate::types::{PacketId, Protocol, SubscriptionOptions, TopicFilter, UserProperties};
use crate::writer::Sink;

/// A request to subscribe to one or more topic filters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscribe {
    /// Packet identifier.
    pub packet_id: PacketId,
    /// The filters and their options; never empty.
    pub subscriptions: Vec<Subscription>,
    /// MQTT 5 SUBSCRIBE properties (default in 3.1.1).
    pub properties: SubscribeProperties,
}

/// One topic filter of a SUBSCRIBE with its options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscription {
    /// The topic filter.
    pub filter: TopicFilter,
    /// Its options.
    pub options: SubscriptionOptions,
}

/// MQTT 5 SUBSCRIBE properties (section 3.8.2.1).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SubscribeProperties {
    /// Subscription Identifier (1 to 268,435,455).
    pub subscription_identifier: Option<NonZeroU32>,
    /// User properties.
    pub user_properties: UserProperties,
}

impl Subscribe {
    pub(crate) fn decode(r: &mut Reader<'_>, protocol: Protocol) -> Result<Self, DecodeError> {
        let packet_id = r.packet_id()?;
        let properties = match protocol {
            Protocol::V311 => SubscribeProperties::default(),
            Protocol::V5 => SubscribeProperties::decode(r)?,
        };
        // An entry takes at least 4 bytes; a few slots up front spare the first
        // reallocations without letting a large packet reserve much more than it holds.
        let mut subscriptions = Vec::with_capacity((r.remaining() / 4).min(8));
        while !r.is_empty() {
            // TopicFilter::new checks for U+0000 in the same pass as the wildcards.
            let filter = TopicFilter::new(r.utf8()?)?;
            let options = SubscriptionOptions::from_byte(r.u8()?, protocol)?;
            if protocol == Protocol::V5 {
                filter.check_shared_v5()?;
                if options.no_local && filter.shared().is_some() {
                    return Err(DecodeError::NoLocalOnSharedSubscription);
                }
            }
            subscriptions.push(Subscription { filter, options });
        }
        if subscriptions.is_empty() {
            return Err(DecodeError::NoTopicFilter);
        }
        Ok(Self {
            packet_id,
            subscriptions,
            properties,
        })
    }

    #[inline]
    pub(crate) fn write<S: Sink>(&self, protocol: Protocol, s: &mut S) {
        s.put_u16(self.packet_id.get());
        if protocol == Protocol::V5 {
            self.properties.write_with_length(s);
        }
        for sub in &self.subscriptions {
            s.put_binary(sub.filter.as_str().as_bytes());
            s.put_u8(sub.options.to_byte(protocol));
        }
    }
}

impl SubscribeProperties {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let mut p = Self::default();
        properties::decode(r, false, |prop| {
            match prop.id() {
                id::SUBSCRIPTION_IDENTIFIER => {
                    p.subscription_identifier = Some(prop.nonzero_u32()?)
                }
                id::USER_PROPERTY => prop.user(&mut p.user_properties)?,
                _ => return Err(prop.not_allowed()),
            }
            Ok(())
        })?;
        Ok(p)
    }
}

impl WriteProperties for SubscribeProperties {
    #[inline]
    fn write_properties<S: Sink>(&self, s: &mut S) {
        properties::put_varint(
            s,
            id::SUBSCRIPTION_IDENTIFIER,
            self.subscription_identifier.map(NonZeroU32::get),
        );
        properties::put_user(s, &self.user_properties);
    }
}
