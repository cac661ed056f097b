//! Tests of [`Queue`]: delivery, acknowledgement, consumers.

use std::sync::Arc;

use bytes::Bytes;
use switchyard_mqtt::QoS;

use super::*;
use crate::core::exchange::{FieldTable, FieldValue};
use crate::core::message::Message;

mod limits;
mod logged;

/// A test message: a number, a body size and an optional expiry of its own.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Msg {
    n: u32,
    size: usize,
    expires_at: Option<Instant>,
}

impl QueueMessage for Msg {
    fn body_size(&self) -> usize {
        self.size
    }

    fn expires_at(&self) -> Option<Instant> {
        self.expires_at
    }
}

fn m(n: u32) -> Msg {
    Msg {
        n,
        size: 10,
        expires_at: None,
    }
}

fn config(arguments: &[(&str, FieldValue)]) -> QueueConfig {
    let table: FieldTable = arguments.iter().cloned().collect();
    QueueConfig::new(false, false, false, &table).unwrap()
}

fn queue(arguments: &[(&str, FieldValue)]) -> (Queue<Msg>, Instant) {
    let now = Instant::now();
    (Queue::new(config(arguments), now), now)
}

fn dlx() -> (&'static str, FieldValue) {
    ("x-dead-letter-exchange", "dlx".into())
}

/// Publishes messages `ns` at `now`.
fn fill(q: &mut Queue<Msg>, ns: impl IntoIterator<Item = u32>, now: Instant) {
    for n in ns {
        assert_eq!(q.publish(m(n), now), Publish::Enqueued);
    }
}

/// Every delivery available now, as (consumer, message number, redelivered).
fn drain(q: &mut Queue<Msg>, now: Instant) -> Vec<(String, u32, bool)> {
    std::iter::from_fn(|| q.poll_delivery(now))
        .map(|d| (d.consumer.to_string(), d.message.n, d.redelivered))
        .collect()
}

/// The numbers of the ready messages, taken by basic.get with no-ack.
fn take_all(q: &mut Queue<Msg>, now: Instant) -> Vec<(u32, bool)> {
    std::iter::from_fn(|| q.get(true, now))
        .map(|g| (g.message.n, g.redelivered))
        .collect()
}

fn dead(q: &mut Queue<Msg>) -> Vec<(u32, DeadLetterReason)> {
    std::iter::from_fn(|| q.poll_dead_letter())
        .map(|d| (d.message.n, d.reason))
        .collect()
}

fn with_prefetch(tag: &str, prefetch: u32) -> Consume {
    Consume {
        prefetch,
        ..Consume::new(tag)
    }
}

#[test]
fn fifo_delivery_and_ack() {
    let (mut q, now) = queue(&[]);
    fill(&mut q, 0..3, now);
    assert_eq!(q.message_count(), 3);
    assert_eq!(q.message_bytes(), 30);
    assert!(q.poll_delivery(now).is_none(), "no consumer");
    q.consume(Consume::new("c"), now).unwrap();
    let deliveries: Vec<_> = std::iter::from_fn(|| q.poll_delivery(now)).collect();
    let ns: Vec<_> = deliveries.iter().map(|d| d.message.n).collect();
    assert_eq!(ns, [0, 1, 2]);
    assert!(
        deliveries
            .iter()
            .all(|d| !d.redelivered && d.consumer == "c")
    );
    let ids: Vec<_> = deliveries.iter().map(|d| d.delivery_id.unwrap()).collect();
    assert_eq!(ids.iter().map(|id| id.get()).collect::<Vec<_>>(), [1, 2, 3]);
    assert_eq!(q.message_count(), 0);
    assert_eq!(q.message_bytes(), 0);
    assert_eq!(q.unacked_count(), 3);
    q.ack(ids[1]).unwrap();
    assert_eq!(q.unacked_count(), 2);
    let error = q.ack(ids[1]).unwrap_err();
    assert_eq!(error, QueueError::UnknownDelivery(ids[1]));
    assert_eq!(error.reply_code(), 406);
    assert_eq!(q.reject(ids[1], true).unwrap_err().reply_code(), 406);
    q.ack(ids[0]).unwrap();
    q.ack(ids[2]).unwrap();
    assert_eq!(q.unacked_count(), 0);
    let stats = q.stats();
    assert_eq!((stats.published, stats.delivered, stats.acked), (3, 3, 3));
}

#[test]
fn prefetch_limits_each_consumer_and_round_robin_serves_them() {
    let (mut q, now) = queue(&[]);
    q.consume(with_prefetch("a", 1), now).unwrap();
    q.consume(with_prefetch("b", 1), now).unwrap();
    fill(&mut q, 0..4, now);
    let first: Vec<_> = std::iter::from_fn(|| q.poll_delivery(now)).collect();
    assert_eq!(
        first
            .iter()
            .map(|d| (d.consumer.to_string(), d.message.n))
            .collect::<Vec<_>>(),
        [("a".to_owned(), 0), ("b".to_owned(), 1)]
    );
    assert_eq!(q.message_count(), 2, "both at their prefetch");
    q.ack(first[1].delivery_id.unwrap()).unwrap();
    assert_eq!(drain(&mut q, now), [("b".to_owned(), 2, false)]);
    q.ack(first[0].delivery_id.unwrap()).unwrap();
    assert_eq!(drain(&mut q, now), [("a".to_owned(), 3, false)]);
}

#[test]
fn round_robin_without_limits() {
    let (mut q, now) = queue(&[]);
    for tag in ["a", "b", "c"] {
        q.consume(Consume::new(tag), now).unwrap();
    }
    fill(&mut q, 0..4, now);
    let tags: Vec<_> = drain(&mut q, now).into_iter().map(|d| d.0).collect();
    assert_eq!(tags, ["a", "b", "c", "a"]);
    // The turn passes on from where it stopped, across polls and a cancel.
    q.cancel("c", false, now).unwrap();
    fill(&mut q, 4..7, now);
    let tags: Vec<_> = drain(&mut q, now).into_iter().map(|d| d.0).collect();
    assert_eq!(tags, ["b", "a", "b"]);
}

#[test]
fn no_ack_consumers_settle_at_once() {
    let (mut q, now) = queue(&[]);
    q.consume(
        Consume {
            no_ack: true,
            prefetch: 1,
            ..Consume::new("fire")
        },
        now,
    )
    .unwrap();
    fill(&mut q, 0..3, now);
    let deliveries: Vec<_> = std::iter::from_fn(|| q.poll_delivery(now)).collect();
    assert_eq!(deliveries.len(), 3, "prefetch does not apply to no-ack");
    assert!(deliveries.iter().all(|d| d.delivery_id.is_none()));
    assert_eq!(q.unacked_count(), 0);
}

#[test]
fn paused_consumers_are_skipped() {
    let (mut q, now) = queue(&[]);
    q.consume(Consume::new("a"), now).unwrap();
    q.consume(Consume::new("b"), now).unwrap();
    assert!(q.set_paused("a", true));
    assert!(!q.set_paused("zz", true));
    fill(&mut q, 0..2, now);
    let tags: Vec<_> = drain(&mut q, now).into_iter().map(|d| d.0).collect();
    assert_eq!(tags, ["b", "b"]);
    q.set_paused("b", true);
    fill(&mut q, 2..3, now);
    assert!(q.poll_delivery(now).is_none());
    q.set_paused("a", false);
    assert_eq!(drain(&mut q, now), [("a".to_owned(), 2, false)]);
}

#[test]
fn requeue_restores_the_original_position() {
    let (mut q, now) = queue(&[]);
    fill(&mut q, 0..5, now);
    let g0 = q.get(false, now).unwrap();
    let g1 = q.get(false, now).unwrap();
    assert_eq!((g0.message.n, g1.message.n), (0, 1));
    assert_eq!(g1.message_count, 3);
    // 0 back first, then 1 lands between 0 and 2.
    q.reject(g0.delivery_id.unwrap(), true).unwrap();
    q.reject(g1.delivery_id.unwrap(), true).unwrap();
    assert_eq!(q.message_bytes(), 50);
    assert_eq!(
        take_all(&mut q, now),
        [(0, true), (1, true), (2, false), (3, false), (4, false)]
    );
    assert_eq!(q.stats().requeued, 2);
}

#[test]
fn requeued_messages_go_ahead_of_newer_ones() {
    let (mut q, now) = queue(&[]);
    q.consume(with_prefetch("c", 2), now).unwrap();
    fill(&mut q, 0..4, now);
    let got: Vec<_> = std::iter::from_fn(|| q.poll_delivery(now)).collect();
    assert_eq!(got.len(), 2);
    q.reject(got[1].delivery_id.unwrap(), true).unwrap();
    q.reject(got[0].delivery_id.unwrap(), true).unwrap();
    assert_eq!(
        drain(&mut q, now),
        [("c".to_owned(), 0, true), ("c".to_owned(), 1, true)]
    );
}

#[test]
fn reject_without_requeue_dead_letters() {
    let (mut q, now) = queue(&[dlx(), ("x-dead-letter-routing-key", "dead".into())]);
    fill(&mut q, 0..2, now);
    let g = q.get(false, now).unwrap();
    q.reject(g.delivery_id.unwrap(), false).unwrap();
    let letter = q.poll_dead_letter().unwrap();
    assert_eq!(letter.message.n, 0);
    assert_eq!(letter.reason, DeadLetterReason::Rejected);
    assert_eq!(letter.exchange, "dlx");
    assert_eq!(letter.routing_key.as_deref(), Some("dead"));
    assert!(q.poll_dead_letter().is_none());
    assert_eq!(q.message_count(), 1, "not requeued");
    assert_eq!(q.stats().dead_lettered, 1);
    // Without a dead-letter exchange the message is discarded.
    let (mut q, now) = queue(&[]);
    fill(&mut q, 0..1, now);
    let g = q.get(false, now).unwrap();
    q.reject(g.delivery_id.unwrap(), false).unwrap();
    assert!(q.poll_dead_letter().is_none());
    assert_eq!(q.message_count(), 0);
    assert_eq!((q.stats().rejected, q.stats().dead_lettered), (1, 0));
}

#[test]
fn cancel_with_requeue_returns_unacked_as_redelivered() {
    let (mut q, now) = queue(&[]);
    q.consume(with_prefetch("a", 2), now).unwrap();
    fill(&mut q, 0..4, now);
    let got: Vec<_> = std::iter::from_fn(|| q.poll_delivery(now)).collect();
    assert_eq!(got.len(), 2);
    assert_eq!(
        q.cancel("a", true, now),
        Some(Cancelled {
            requeued: 2,
            auto_delete: false
        })
    );
    assert_eq!(q.consumer_count(), 0);
    assert_eq!(q.unacked_count(), 0);
    let error = q.ack(got[0].delivery_id.unwrap()).unwrap_err();
    assert_eq!(error.reply_code(), 406);
    q.consume(Consume::new("b"), now).unwrap();
    assert_eq!(
        drain(&mut q, now),
        [
            ("b".to_owned(), 0, true),
            ("b".to_owned(), 1, true),
            ("b".to_owned(), 2, false),
            ("b".to_owned(), 3, false)
        ]
    );
    assert_eq!(q.cancel("nobody", true, now), None);
}

#[test]
fn cancel_without_requeue_keeps_deliveries_ackable() {
    let (mut q, now) = queue(&[]);
    q.consume(with_prefetch("a", 2), now).unwrap();
    fill(&mut q, 0..2, now);
    let got: Vec<_> = std::iter::from_fn(|| q.poll_delivery(now)).collect();
    let cancelled = q.cancel("a", false, now).unwrap();
    assert_eq!(cancelled.requeued, 0);
    assert_eq!(q.unacked_count(), 2);
    q.ack(got[0].delivery_id.unwrap()).unwrap();
    q.reject(got[1].delivery_id.unwrap(), true).unwrap();
    assert_eq!(take_all(&mut q, now), [(1, true)]);
}

#[test]
fn auto_delete_after_the_last_consumer() {
    let now = Instant::now();
    let auto = QueueConfig {
        auto_delete: true,
        ..QueueConfig::default()
    };
    let mut q: Queue<Msg> = Queue::new(auto, now);
    q.consume(Consume::new("a"), now).unwrap();
    q.consume(Consume::new("b"), now).unwrap();
    assert!(!q.cancel("a", true, now).unwrap().auto_delete);
    assert!(q.cancel("b", true, now).unwrap().auto_delete);
    let (mut plain, now) = queue(&[]);
    plain.consume(Consume::new("a"), now).unwrap();
    assert!(!plain.cancel("a", true, now).unwrap().auto_delete);
}

#[test]
fn consumer_tags_and_exclusivity() {
    let (mut q, now) = queue(&[]);
    q.consume(Consume::new("a"), now).unwrap();
    let error = q.consume(Consume::new("a"), now).unwrap_err();
    assert_eq!(error, QueueError::ConsumerTagInUse("a".into()));
    assert_eq!(error.reply_code(), 530);
    let exclusive = Consume {
        exclusive: true,
        ..Consume::new("x")
    };
    let error = q.consume(exclusive.clone(), now).unwrap_err();
    assert_eq!(error, QueueError::ExclusiveConsumer);
    assert_eq!(error.reply_code(), 403);
    q.cancel("a", false, now).unwrap();
    q.consume(exclusive, now).unwrap();
    let error = q.consume(Consume::new("b"), now).unwrap_err();
    assert_eq!(error.reply_code(), 403);
    assert_eq!(q.consumer_count(), 1);
}

#[test]
fn basic_get() {
    let (mut q, now) = queue(&[]);
    assert!(q.get(false, now).is_none());
    fill(&mut q, 0..2, now);
    let first = q.get(false, now).unwrap();
    assert_eq!(first.message.n, 0);
    assert_eq!(first.message_count, 1);
    assert!(first.delivery_id.is_some());
    let second = q.get(true, now).unwrap();
    assert_eq!((second.message.n, second.message_count), (1, 0));
    assert!(second.delivery_id.is_none());
    assert_eq!(q.unacked_count(), 1);
    q.ack(first.delivery_id.unwrap()).unwrap();
    assert!(q.get(true, now).is_none());
}

#[test]
fn purge_drops_ready_messages_only() {
    let (mut q, now) = queue(&[dlx()]);
    fill(&mut q, 0..4, now);
    let g = q.get(false, now).unwrap();
    assert_eq!(q.purge(), 3);
    assert_eq!(q.message_count(), 0);
    assert_eq!(q.message_bytes(), 0);
    assert_eq!(q.unacked_count(), 1);
    assert!(q.poll_dead_letter().is_none(), "purge does not dead-letter");
    assert_eq!(q.purge(), 0);
    q.reject(g.delivery_id.unwrap(), true).unwrap();
    assert_eq!(take_all(&mut q, now), [(0, true)]);
}

#[test]
fn delete_conditions() {
    let (mut q, now) = queue(&[]);
    assert_eq!(q.check_delete(true, true), Ok(0));
    fill(&mut q, 0..2, now);
    assert_eq!(q.check_delete(false, true), Err(QueueError::NotEmpty));
    assert_eq!(q.check_delete(true, false), Ok(2));
    q.consume(Consume::new("c"), now).unwrap();
    let error = q.check_delete(true, false).unwrap_err();
    assert_eq!(error, QueueError::InUse);
    assert_eq!(error.reply_code(), 406);
    assert_eq!(QueueError::NotEmpty.reply_code(), 406);
}

#[test]
fn core_messages_work_as_queue_messages() {
    let mut message = Message::new(
        "t".into(),
        Bytes::from_static(b"hello"),
        QoS::AtLeastOnce,
        false,
    );
    message.properties.message_expiry_interval = Some(2);
    let t0 = message.received_at;
    let shared = message.shared();
    assert_eq!(shared.body_size(), 5);
    assert_eq!(
        QueueMessage::expires_at(&shared),
        Some(t0 + Duration::from_secs(2))
    );
    let mut q: Queue<Arc<Message>> = Queue::new(QueueConfig::default(), t0);
    q.publish(shared.clone(), t0);
    q.publish(shared, t0);
    assert_eq!(q.message_bytes(), 10);
    assert_eq!(q.expire(t0 + Duration::from_secs(3)), 2);
}

#[test]
fn entries_are_small() {
    // A ready message costs its slot in the VecDeque and nothing else (its durable-log
    // id included).
    assert!(size_of::<Entry<Arc<Message>>>() <= 48);
    // An idle queue (an MQTT session's, say) costs this and no heap but its config.
    assert!(size_of::<Queue<Arc<Message>>>() <= 256);
    assert_eq!(DeadLetterReason::MaxLen.as_str(), "maxlen");
    assert_eq!(DeadLetterReason::Expired.as_str(), "expired");
    assert_eq!(DeadLetterReason::Rejected.as_str(), "rejected");
}
