//! The message as the routing core carries it: one allocation shared by every
//! subscriber and every shard it reaches.

use std::num::NonZeroU32;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Poll, Waker};
use std::time::{Duration, Instant};

use bytes::Bytes;
use bytestring::ByteString;
use switchyard_mqtt::{PayloadFormat, QoS, UserProperties};

use crate::core::exchange::FieldTable;

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
    /// The publisher's backpressure gauge (QoS 1/2 publishes from a client): a
    /// subscriber whose queue is over its limit holds the message instead of dropping
    /// it, and the publisher reads nothing more until every hold is released.
    pub pressure: Option<Arc<Pressure>>,
    /// The exchange it was published to (`amq.topic` for MQTT publishes), as AMQP
    /// deliveries and basic.get-ok show it.
    pub exchange: ByteString,
    /// The AMQP `headers` table as an AMQP client published it, with its value types
    /// (AMQP deliveries show it as it was; `properties.user_properties` holds the text of
    /// its values for MQTT and STOMP). `None` for messages from other protocols.
    pub headers: Option<Arc<FieldTable>>,
    /// The AMQP/STOMP `expiration` in milliseconds as published: the message expires
    /// that long after `received_at`, to the millisecond, and AMQP deliveries show it
    /// (`properties.message_expiry_interval` holds it rounded up to seconds for MQTT).
    pub expiration_ms: Option<u64>,
    /// The publisher asked for it to survive a restart (AMQP delivery mode 2, STOMP
    /// `persistent:true`, MQTT QoS 1 and 2, as RabbitMQ's plugins map them): a durable
    /// queue logs it.
    pub persistent: bool,
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
            pressure: None,
            exchange: ByteString::from_static(crate::core::mapping::TOPIC_EXCHANGE),
            headers: None,
            expiration_ms: None,
            persistent: qos != QoS::AtMostOnce,
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

/// How many of one publisher's messages sit in subscriber queues over their limit, and
/// the publisher's connection task, waiting for that to reach zero. Shared across
/// shards: the holds are taken and released where the subscribers are.
#[derive(Debug, Default)]
pub struct Pressure {
    held: AtomicUsize,
    waiter: Mutex<Option<Waker>>,
    /// A message held until the durable log had it was not stored (a failed commit):
    /// the publisher must not be acknowledged for what it holds.
    failed: std::sync::atomic::AtomicBool,
}

impl Pressure {
    /// A gauge with nothing held.
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// Counts one more message over a subscriber's limit until the [`Hold`] is dropped.
    pub fn hold(self: &Arc<Self>) -> Hold {
        self.held.fetch_add(1, Ordering::AcqRel);
        Hold(self.clone())
    }

    /// Whether a held message failed to be stored since the last call (and clears it).
    pub fn take_failed(&self) -> bool {
        self.failed.swap(false, Ordering::AcqRel)
    }

    /// Messages currently held over a limit.
    pub fn held(&self) -> usize {
        self.held.load(Ordering::Acquire)
    }

    /// Waits until nothing is held.
    pub async fn released(&self) {
        std::future::poll_fn(|cx| {
            if self.held() == 0 {
                return Poll::Ready(());
            }
            if let Ok(mut waiter) = self.waiter.lock() {
                *waiter = Some(cx.waker().clone());
            }
            // Released between the check and the registration: no wake-up will come.
            if self.held() == 0 {
                Poll::Ready(())
            } else {
                Poll::Pending
            }
        })
        .await;
    }
}

/// One message held over a subscriber's queue limit; releases its publisher on drop.
#[derive(Debug)]
pub struct Hold(Arc<Pressure>);

impl Hold {
    /// Releases the hold, telling the publisher that its message was not stored.
    pub fn fail(self) {
        self.0.failed.store(true, Ordering::Release);
    }

    /// Whether this hold is on `pressure`.
    pub fn is_on(&self, pressure: &Arc<Pressure>) -> bool {
        Arc::ptr_eq(&self.0, pressure)
    }
}

impl Drop for Hold {
    fn drop(&mut self) {
        if self.0.held.fetch_sub(1, Ordering::AcqRel) == 1
            && let Ok(mut waiter) = self.0.waiter.lock()
            && let Some(waker) = waiter.take()
        {
            waker.wake();
        }
    }
}

/// A message whose expiry interval has passed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Expired;

#[cfg(test)]
mod tests {
    use std::future::Future;

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

    #[test]
    fn pressure_counts_holds_and_wakes_when_all_are_released() {
        let pressure = Pressure::new();
        let a = pressure.hold();
        let b = pressure.hold();
        assert_eq!(pressure.held(), 2);
        let woken = Arc::new(AtomicUsize::new(0));
        struct Count(Arc<AtomicUsize>);
        impl std::task::Wake for Count {
            fn wake(self: Arc<Self>) {
                self.0.fetch_add(1, Ordering::SeqCst);
            }
        }
        let waker = Waker::from(Arc::new(Count(woken.clone())));
        let mut cx = std::task::Context::from_waker(&waker);
        let mut released = std::pin::pin!(pressure.released());
        assert!(released.as_mut().poll(&mut cx).is_pending());
        drop(a);
        assert_eq!(woken.load(Ordering::SeqCst), 0, "one hold is left");
        drop(b);
        assert_eq!(woken.load(Ordering::SeqCst), 1);
        assert!(released.as_mut().poll(&mut cx).is_ready());
    }
}
