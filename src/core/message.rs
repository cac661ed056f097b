//! The message as the routing core carries it: one allocation shared by every
//! subscriber and every shard it reaches.

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use bytestring::ByteString;
use switchyard_mqtt::{PayloadFormat, QoS, UserProperties};

/// A published message. Immutable once routed; shared as `Arc<Message>`.
#[derive(Debug, Clone)]
pub struct Message {
    /// The topic in MQTT form (`a/b/c`); AMQP routing keys map onto it later.
    pub topic: ByteString,
    /// The body, shared with the packet it arrived in.
    pub payload: Bytes,
    /// QoS it was published with.
    pub qos: QoS,
    /// Whether the publisher asked for it to be retained.
    pub retain: bool,
    /// Metadata carried end to end.
    pub properties: Properties,
    /// Who published it, for no-local and statistics.
    pub origin: Origin,
    /// When it entered the gateway, for message expiry.
    pub received_at: Instant,
}

/// Metadata that travels with a message (MQTT 5 properties, later STOMP/AMQP headers).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Properties {
    /// Payload format indicator.
    pub payload_format: Option<PayloadFormat>,
    /// Seconds the message lives after `received_at`.
    pub message_expiry_interval: Option<u32>,
    /// Content type.
    pub content_type: Option<ByteString>,
    /// Response topic for request/response.
    pub response_topic: Option<ByteString>,
    /// Correlation data for request/response.
    pub correlation_data: Option<Bytes>,
    /// User properties, in order.
    pub user_properties: UserProperties,
}

/// The publishing connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Origin {
    /// Shard the publisher is on.
    pub shard: u16,
    /// The publisher's session key on that shard (0 for the server itself: wills, `$SYS`).
    pub session: u64,
}

impl Message {
    /// A message with no properties, published by the server itself.
    pub fn new(topic: ByteString, payload: Bytes, qos: QoS, retain: bool) -> Self {
        Self {
            topic,
            payload,
            qos,
            retain,
            properties: Properties::default(),
            origin: Origin::default(),
            received_at: Instant::now(),
        }
    }

    /// Wraps it for sharing.
    pub fn shared(self) -> Arc<Self> {
        Arc::new(self)
    }

    /// Seconds of life left at `now`, rounded up: `None` for a message without expiry,
    /// [`Expired`] for one that must no longer be delivered.
    pub fn remaining_expiry(&self, now: Instant) -> Result<Option<NonZeroU32>, Expired> {
        let Some(interval) = self.properties.message_expiry_interval else {
            return Ok(None);
        };
        let elapsed = now.saturating_duration_since(self.received_at);
        let total = Duration::from_secs(u64::from(interval));
        match total.checked_sub(elapsed) {
            // Round up, so that a message with time left never shows 0.
            Some(left) if !left.is_zero() => {
                let secs = left.as_secs() + u64::from(left.subsec_nanos() > 0);
                Ok(NonZeroU32::new(u32::try_from(secs).unwrap_or(u32::MAX)))
            }
            _ => Err(Expired),
        }
    }

    /// Whether the message's expiry interval has passed at `now`.
    pub fn is_expired(&self, now: Instant) -> bool {
        self.remaining_expiry(now).is_err()
    }
}

/// A message whose expiry interval has passed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Expired;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiry_counts_down_and_rounds_up() {
        let mut m = Message::new(ByteString::from("t"), Bytes::new(), QoS::AtMostOnce, false);
        let t0 = m.received_at;
        assert_eq!(m.remaining_expiry(t0 + Duration::from_secs(1000)), Ok(None));
        m.properties.message_expiry_interval = Some(10);
        assert_eq!(m.remaining_expiry(t0), Ok(NonZeroU32::new(10)));
        assert_eq!(
            m.remaining_expiry(t0 + Duration::from_millis(9_500)),
            Ok(NonZeroU32::new(1))
        );
        assert_eq!(
            m.remaining_expiry(t0 + Duration::from_secs(10)),
            Err(Expired)
        );
        assert!(m.is_expired(t0 + Duration::from_secs(11)));
    }
}
