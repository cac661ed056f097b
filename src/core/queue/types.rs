//! What goes into a queue and what comes out: the message trait, consume options,
//! deliveries, dead letters and counters.

use std::num::NonZeroU64;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytestring::ByteString;

use crate::core::exchange::ExchangeName;
use crate::core::message::Message;

/// What a queue needs to know about the messages it holds.
pub trait QueueMessage {
    /// The body size in bytes, as `x-max-length-bytes` counts it. Must not change while
    /// the message is in a queue.
    fn body_size(&self) -> usize;

    /// When the message's own expiry passes (AMQP `expiration`, MQTT message expiry
    /// interval), if it has one. The queue's `x-message-ttl` may cut it shorter.
    fn expires_at(&self) -> Option<Instant> {
        None
    }
}

impl QueueMessage for Message {
    fn body_size(&self) -> usize {
        self.payload.len()
    }

    fn expires_at(&self) -> Option<Instant> {
        if let Some(ms) = self.expiration_ms {
            return self.received_at.checked_add(Duration::from_millis(ms));
        }
        let seconds = self.properties.message_expiry_interval?;
        self.received_at
            .checked_add(Duration::from_secs(u64::from(seconds)))
    }
}

impl<M: QueueMessage + ?Sized> QueueMessage for Arc<M> {
    fn body_size(&self) -> usize {
        (**self).body_size()
    }

    fn expires_at(&self) -> Option<Instant> {
        (**self).expires_at()
    }
}

/// A queue-local delivery number, from 1 up, to ack or reject a delivery by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DeliveryId(NonZeroU64);

impl DeliveryId {
    /// The id of the `count`th delivery (counting from 1; 0 saturates to 1).
    pub(super) fn nth(count: u64) -> Self {
        Self(NonZeroU64::new(count).unwrap_or(NonZeroU64::MIN))
    }

    /// The number.
    pub fn get(self) -> u64 {
        self.0.get()
    }
}

/// basic.consume: how a consumer takes messages.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Consume {
    /// The consumer's tag, unique within the queue (the gateway makes channel tags so).
    pub tag: ByteString,
    /// Most unacknowledged deliveries at a time; 0 for no limit. Ignored with `no_ack`.
    pub prefetch: u32,
    /// Whether deliveries count as acknowledged when sent.
    pub no_ack: bool,
    /// Whether this consumer must be the queue's only one.
    pub exclusive: bool,
}

impl Consume {
    /// A consumer that acknowledges, with no prefetch limit, not exclusive.
    pub fn new(tag: &str) -> Self {
        Self {
            tag: tag.into(),
            prefetch: 0,
            no_ack: false,
            exclusive: false,
        }
    }
}

/// A message handed to a consumer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delivery<M> {
    /// The consumer it goes to.
    pub consumer: ByteString,
    /// What to ack or reject it by; `None` for a no-ack consumer.
    pub delivery_id: Option<DeliveryId>,
    /// The message.
    pub message: M,
    /// Whether it was delivered before and requeued.
    pub redelivered: bool,
}

/// The answer to basic.get when the queue had a message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GetOk<M> {
    /// What to ack or reject it by; `None` for a no-ack get.
    pub delivery_id: Option<DeliveryId>,
    /// The message.
    pub message: M,
    /// Whether it was delivered before and requeued.
    pub redelivered: bool,
    /// Messages still ready.
    pub message_count: usize,
}

/// Why a message was dead-lettered (the `reason` of its `x-death` entry).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DeadLetterReason {
    /// Rejected or nacked without requeue.
    Rejected,
    /// Its TTL passed in the queue.
    Expired,
    /// Dropped from the head, or refused, by the queue's length limits.
    MaxLen,
}

impl DeadLetterReason {
    /// The name RabbitMQ gives it in `x-death`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Rejected => "rejected",
            Self::Expired => "expired",
            Self::MaxLen => "maxlen",
        }
    }
}

/// A message leaving the queue for its dead-letter exchange. The caller republishes it
/// there (adding `x-death`), with `routing_key` if set, else the message's own keys.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeadLetter<M> {
    /// The message.
    pub message: M,
    /// Why.
    pub reason: DeadLetterReason,
    /// The queue's `x-dead-letter-exchange`.
    pub exchange: ExchangeName,
    /// The queue's `x-dead-letter-routing-key`.
    pub routing_key: Option<ByteString>,
}

/// Whether a publish was taken.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Publish {
    /// Enqueued (with `drop-head`, possibly dropping older messages, or this one).
    Enqueued,
    /// Refused by `reject-publish` or `reject-publish-dlx`: a publisher confirm nacks it.
    Rejected,
}

/// What cancelling a consumer did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cancelled {
    /// Unacknowledged deliveries of the consumer put back as ready.
    pub requeued: usize,
    /// The queue is auto-delete and this was its last consumer: the caller deletes it.
    pub auto_delete: bool,
}

/// Counters of what the queue did, for metrics.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct QueueStats {
    /// Messages taken by publish.
    pub published: u64,
    /// Deliveries to consumers and basic.get, redeliveries included.
    pub delivered: u64,
    /// Acknowledgements.
    pub acked: u64,
    /// Deliveries put back as ready (reject/nack with requeue, cancel).
    pub requeued: u64,
    /// Deliveries rejected or nacked without requeue.
    pub rejected: u64,
    /// Messages whose TTL passed.
    pub expired: u64,
    /// Messages dropped from the head or refused at publish by the length limits.
    pub overflowed: u64,
    /// Messages put in the dead-letter outbox
    /// ([`Queue::poll_dead_letter`](super::Queue::poll_dead_letter)); the other rejected,
    /// expired and overflowed ones were discarded, for want of a dead-letter exchange.
    pub dead_lettered: u64,
}
