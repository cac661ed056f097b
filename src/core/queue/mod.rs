//! A queue's state: ready messages, consumers, unacknowledged deliveries, limits and
//! dead-lettering, with AMQP 0-9-1 semantics as RabbitMQ's classic queues have them.
//!
//! [`Queue`] is pure state: no I/O, and time comes in as `now`. Inputs are the
//! `publish`/`consume`/`ack`/`reject`/`cancel`/`get`/`purge` calls; outputs are polled:
//! [`Queue::poll_delivery`] until `None` after anything that may free a message or a
//! consumer's credit, [`Queue::poll_dead_letter`] for messages to republish to the
//! dead-letter exchange, [`Queue::poll_timeout`] for when to call [`Queue::expire`] (and
//! [`Queue::is_expired`]) next.
//!
//! Messages wait in a `VecDeque` in publish order; each keeps its publish sequence number,
//! so a requeued message goes back to its old place (at or near the head) with
//! `redelivered` set. Consumers are served round-robin while they have credit (prefetch
//! minus unacknowledged). A delivery to a consumer that acknowledges is remembered by a
//! queue-local [`DeliveryId`] until ack, reject or cancel; channel delivery tags are the
//! gateway's. Nothing is allocated per message beyond what the collections amortise.

mod config;
mod types;

use std::collections::{BTreeMap, VecDeque};
use std::num::NonZeroU64;
use std::time::{Duration, Instant};

use bytestring::ByteString;

pub use config::{
    ArgumentError, Overflow, QueueArguments, QueueConfig, QueueError, check_new_queue_name,
};
pub use types::{
    Cancelled, Consume, DeadLetter, DeadLetterReason, Delivery, DeliveryId, GetOk, Publish,
    QueueMessage, QueueStats,
};

/// One queue's state. `M` is the message, shared cheaply (`Arc<Message>`) since an
/// acknowledging consumer's deliveries are kept until acked.
#[derive(Debug)]
pub struct Queue<M> {
    /// Boxed: read on publish, and a third of the queue's size inline.
    config: Box<QueueConfig>,
    ready: VecDeque<Entry<M>>,
    /// Body bytes of the ready messages.
    ready_bytes: u64,
    unacked: BTreeMap<DeliveryId, Unacked<M>>,
    consumers: Vec<Consumer>,
    /// Where the round-robin search for the next consumer starts.
    cursor: usize,
    next_seq: u64,
    next_delivery: u64,
    next_consumer: u64,
    dead_letters: VecDeque<DeadLetter<M>>,
    /// When the queue was last declared, consumed from or read by basic.get, or lost its
    /// last consumer: the start of its `x-expires` countdown.
    last_used: Instant,
    stats: QueueStats,
    /// Log ids of durable messages that left for good since the last
    /// [`Queue::take_gone`].
    /// Boxed when in use: most queues never log (and every queue's size counts).
    #[allow(clippy::box_collection)] // 8 bytes in every queue rather than 24
    gone: Option<Box<Vec<u64>>>,
}

#[derive(Debug)]
struct Entry<M> {
    message: M,
    /// Publish order; a requeued entry goes back between its neighbours by it.
    seq: u64,
    /// The message expires once `now` is past this.
    expires_at: Option<Instant>,
    redelivered: bool,
    /// Its id in the durable log plus one, for a persistent message in a durable queue
    /// (an entry stays 48 bytes).
    lsn: Option<NonZeroU64>,
}

impl<M> Entry<M> {
    /// Its id in the durable log.
    fn log_id(&self) -> Option<u64> {
        self.lsn.map(|l| l.get() - 1)
    }
}

#[derive(Debug)]
struct Unacked<M> {
    entry: Entry<M>,
    /// The consumer it went to; `None` for basic.get and after a cancel that kept it.
    consumer: Option<u64>,
}

#[derive(Debug)]
struct Consumer {
    id: u64,
    tag: ByteString,
    prefetch: u32,
    no_ack: bool,
    exclusive: bool,
    paused: bool,
    unacked: u32,
}

impl Consumer {
    fn has_credit(&self) -> bool {
        !self.paused && (self.no_ack || self.prefetch == 0 || self.unacked < self.prefetch)
    }
}

impl<M: QueueMessage> Queue<M> {
    /// An empty queue, declared at `now`.
    pub fn new(config: QueueConfig, now: Instant) -> Self {
        Self {
            config: Box::new(config),
            ready: VecDeque::new(),
            ready_bytes: 0,
            unacked: BTreeMap::new(),
            consumers: Vec::new(),
            cursor: 0,
            next_seq: 0,
            next_delivery: 0,
            next_consumer: 0,
            dead_letters: VecDeque::new(),
            last_used: now,
            stats: QueueStats::default(),
            gone: None,
        }
    }

    /// What the queue was declared with.
    pub fn config(&self) -> &QueueConfig {
        &self.config
    }

    /// Ready messages (queue.declare-ok's message count).
    pub fn message_count(&self) -> usize {
        self.ready.len()
    }

    /// Body bytes of the ready messages.
    pub fn message_bytes(&self) -> u64 {
        self.ready_bytes
    }

    /// Deliveries waiting for ack or reject.
    pub fn unacked_count(&self) -> usize {
        self.unacked.len()
    }

    /// Consumers (queue.declare-ok's consumer count).
    pub fn consumer_count(&self) -> usize {
        self.consumers.len()
    }

    /// The counters.
    pub fn stats(&self) -> QueueStats {
        self.stats
    }

    /// Takes a published message. Expired messages at the head go first. Then, at a
    /// length limit, `reject-publish` refuses the message (and `reject-publish-dlx`
    /// dead-letters it), while `drop-head` takes it and drops the oldest messages until
    /// the queue is within its limits again.
    ///
    /// Limits count the ready messages at publish, before [`Queue::poll_delivery`] hands
    /// any out: with `x-max-length` 0 every message is dropped, where RabbitMQ would give
    /// it to a consumer waiting with credit.
    pub fn publish(&mut self, message: M, now: Instant) -> Publish {
        self.publish_logged(message, now, None)
    }

    /// As [`Queue::publish`], for a message the durable log holds as `lsn`: when it
    /// leaves for good (acked, dropped, expired, dead-lettered, purged), `lsn` comes out
    /// of [`Queue::take_gone`]. A refused message is not taken, and not reported.
    pub fn publish_logged(&mut self, message: M, now: Instant, lsn: Option<u64>) -> Publish {
        self.expire(now);
        let size = size_of_body(&message);
        let arguments = &self.config.arguments;
        let overflow = arguments.overflow();
        if overflow != Overflow::DropHead {
            let count = self.ready.len().saturating_add(1);
            let full = arguments.max_length.is_some_and(|max| count as u64 > max)
                || arguments
                    .max_length_bytes
                    .is_some_and(|max| self.ready_bytes.saturating_add(size) > max);
            if full {
                self.stats.overflowed += 1;
                if overflow == Overflow::RejectPublishDlx {
                    self.dead_letter(message, DeadLetterReason::MaxLen);
                }
                return Publish::Rejected;
            }
        }
        let ttl_end = arguments.message_ttl.and_then(|ttl| now.checked_add(ttl));
        let expires_at = match (ttl_end, message.expires_at()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let seq = self.next_seq;
        self.next_seq += 1;
        self.ready.push_back(Entry {
            message,
            seq,
            expires_at,
            redelivered: false,
            lsn: lsn.and_then(|l| NonZeroU64::new(l.wrapping_add(1))),
        });
        self.ready_bytes = self.ready_bytes.saturating_add(size);
        self.stats.published += 1;
        self.drop_head_over_limits();
        Publish::Enqueued
    }

    /// basic.consume. A consumer tag in use is 530; an exclusive consumer on a queue with
    /// consumers, or any consumer on a queue with an exclusive one, is 403.
    pub fn consume(&mut self, consume: Consume, now: Instant) -> Result<(), QueueError> {
        if self.consumers.iter().any(|c| c.tag == consume.tag) {
            return Err(QueueError::ConsumerTagInUse(consume.tag));
        }
        if (consume.exclusive && !self.consumers.is_empty())
            || self.consumers.iter().any(|c| c.exclusive)
        {
            return Err(QueueError::ExclusiveConsumer);
        }
        let id = self.next_consumer;
        self.next_consumer += 1;
        self.consumers.push(Consumer {
            id,
            tag: consume.tag,
            prefetch: consume.prefetch,
            no_ack: consume.no_ack,
            exclusive: consume.exclusive,
            paused: false,
            unacked: 0,
        });
        self.last_used = now;
        Ok(())
    }

    /// Stops or resumes deliveries to a consumer without cancelling it (channel.flow, or
    /// a connection whose outbound buffer is full). Returns whether the consumer exists.
    pub fn set_paused(&mut self, tag: &str, paused: bool) -> bool {
        match self.consumers.iter_mut().find(|c| c.tag == tag) {
            Some(consumer) => {
                consumer.paused = paused;
                true
            }
            None => false,
        }
    }

    /// basic.cancel, or the consumer's channel closing. With `requeue_unacked` (channel
    /// closed) its unacknowledged deliveries go back as ready, redelivered; without
    /// (basic.cancel) they stay, and may still be acked or rejected. `None` for an unknown
    /// tag, which AMQP answers with cancel-ok all the same.
    pub fn cancel(&mut self, tag: &str, requeue_unacked: bool, now: Instant) -> Option<Cancelled> {
        let at = self.consumers.iter().position(|c| c.tag == tag)?;
        let consumer = self.consumers.remove(at);
        if at < self.cursor {
            self.cursor -= 1;
        }
        let mut requeued = 0;
        if requeue_unacked {
            let ids: Vec<DeliveryId> = self
                .unacked
                .iter()
                .filter(|(_, u)| u.consumer == Some(consumer.id))
                .map(|(id, _)| *id)
                .collect();
            let mut entries: Vec<Entry<M>> = ids
                .iter()
                .filter_map(|id| self.unacked.remove(id))
                .map(|u| u.entry)
                .collect();
            requeued = entries.len();
            // Newest first, so that each lands at or near the front.
            entries.sort_unstable_by_key(|e| std::cmp::Reverse(e.seq));
            for entry in entries {
                self.requeue(entry);
            }
            self.drop_head_over_limits();
        } else {
            for unacked in self.unacked.values_mut() {
                if unacked.consumer == Some(consumer.id) {
                    unacked.consumer = None;
                }
            }
        }
        if self.consumers.is_empty() {
            self.last_used = now;
        }
        Some(Cancelled {
            requeued,
            auto_delete: self.config.auto_delete && self.consumers.is_empty(),
        })
    }

    /// The next delivery to a consumer with credit, round-robin, or `None` when no
    /// message is ready or no consumer can take one. Expired messages met at the head are
    /// dead-lettered on the way. Call until `None`.
    pub fn poll_delivery(&mut self, now: Instant) -> Option<Delivery<M>>
    where
        M: Clone,
    {
        self.expire(now);
        if self.ready.is_empty() {
            return None;
        }
        let count = self.consumers.len();
        let at = (0..count)
            .map(|k| (self.cursor + k) % count)
            .find(|&i| self.consumers.get(i).is_some_and(Consumer::has_credit))?;
        let entry = self.pop_ready()?;
        let consumer = self.consumers.get_mut(at)?;
        self.cursor = at + 1;
        self.stats.delivered += 1;
        let tag = consumer.tag.clone();
        if consumer.no_ack {
            self.note_gone(entry.log_id());
            return Some(Delivery {
                consumer: tag,
                delivery_id: None,
                redelivered: entry.redelivered,
                message: entry.message,
            });
        }
        consumer.unacked += 1;
        let owner = consumer.id;
        let id = self.next_delivery_id();
        let delivery = Delivery {
            consumer: tag,
            delivery_id: Some(id),
            redelivered: entry.redelivered,
            message: entry.message.clone(),
        };
        self.unacked.insert(
            id,
            Unacked {
                entry,
                consumer: Some(owner),
            },
        );
        Some(delivery)
    }

    /// basic.get: the message at the head, if any (expired ones dead-lettered first).
    /// With `no_ack` it is settled at once; otherwise it waits for ack or reject.
    pub fn get(&mut self, no_ack: bool, now: Instant) -> Option<GetOk<M>>
    where
        M: Clone,
    {
        self.last_used = now;
        self.expire(now);
        let entry = self.pop_ready()?;
        self.stats.delivered += 1;
        let message_count = self.ready.len();
        if no_ack {
            self.note_gone(entry.log_id());
            return Some(GetOk {
                delivery_id: None,
                redelivered: entry.redelivered,
                message: entry.message,
                message_count,
            });
        }
        let id = self.next_delivery_id();
        let get = GetOk {
            delivery_id: Some(id),
            redelivered: entry.redelivered,
            message: entry.message.clone(),
            message_count,
        };
        self.unacked.insert(
            id,
            Unacked {
                entry,
                consumer: None,
            },
        );
        Some(get)
    }

    /// basic.ack of one delivery (the gateway expands `multiple`). An unknown id is 406.
    pub fn ack(&mut self, id: DeliveryId) -> Result<(), QueueError> {
        let entry = self.settle(id)?;
        self.note_gone(entry.log_id());
        self.stats.acked += 1;
        Ok(())
    }

    /// basic.reject, or basic.nack of one delivery. With `requeue` the message goes back
    /// to its place among the ready ones, redelivered; without, it is dead-lettered with
    /// reason `rejected`. An unknown id is 406.
    pub fn reject(&mut self, id: DeliveryId, requeue: bool) -> Result<(), QueueError> {
        let entry = self.settle(id)?;
        if requeue {
            self.requeue(entry);
            self.drop_head_over_limits();
        } else {
            self.stats.rejected += 1;
            self.note_gone(entry.log_id());
            self.dead_letter(entry.message, DeadLetterReason::Rejected);
        }
        Ok(())
    }

    /// queue.purge: drops the ready messages (not the unacknowledged ones, and without
    /// dead-lettering). Returns how many.
    pub fn purge(&mut self) -> usize {
        let count = self.ready.len();
        let purged = std::mem::take(&mut self.ready);
        purged.iter().for_each(|e| self.note_gone(e.log_id()));
        self.ready_bytes = 0;
        count
    }

    /// Dead-letters the expired messages at the head. Returns how many. A message behind
    /// a live one waits until it reaches the head, as in RabbitMQ.
    pub fn expire(&mut self, now: Instant) -> usize {
        let mut count = 0;
        while self
            .ready
            .front()
            .and_then(|e| e.expires_at)
            .is_some_and(|at| now > at)
        {
            let Some(entry) = self.pop_ready() else { break };
            count += 1;
            self.stats.expired += 1;
            self.note_gone(entry.log_id());
            self.dead_letter(entry.message, DeadLetterReason::Expired);
        }
        count
    }

    /// The next dead letter to republish, oldest first. Only queues with an
    /// `x-dead-letter-exchange` have any; others discard what they dead-letter.
    pub fn poll_dead_letter(&mut self) -> Option<DeadLetter<M>> {
        self.dead_letters.pop_front()
    }

    /// When to call [`Queue::expire`] (the head message's expiry) or check
    /// [`Queue::is_expired`] next, whichever is first; `None` when nothing will expire.
    pub fn poll_timeout(&self) -> Option<Instant> {
        // A message expires once `now` is past its instant: the next nanosecond.
        let head = self
            .ready
            .front()
            .and_then(|e| e.expires_at)
            .and_then(|at| at.checked_add(Duration::from_nanos(1)));
        match (head, self.expires_at()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Restarts the `x-expires` countdown: the gateway calls this on a redeclare.
    pub fn touch(&mut self, now: Instant) {
        self.last_used = now;
    }

    /// When the queue expires by `x-expires`, if it has it and no consumers.
    pub fn expires_at(&self) -> Option<Instant> {
        let expires = self.config.arguments.expires?;
        if !self.consumers.is_empty() {
            return None;
        }
        self.last_used.checked_add(expires)
    }

    /// Whether the queue has gone unused for its `x-expires` at `now`: the caller deletes
    /// it.
    pub fn is_expired(&self, now: Instant) -> bool {
        self.expires_at().is_some_and(|at| now >= at)
    }

    /// Checks queue.delete's conditions: with `if_unused`, no consumers (406); with
    /// `if_empty`, no ready messages (406). Returns the message count for delete-ok.
    pub fn check_delete(&self, if_unused: bool, if_empty: bool) -> Result<usize, QueueError> {
        if if_unused && !self.consumers.is_empty() {
            return Err(QueueError::InUse);
        }
        if if_empty && !self.ready.is_empty() {
            return Err(QueueError::NotEmpty);
        }
        Ok(self.ready.len())
    }

    /// A new delivery id: 1, 2, 3...
    fn next_delivery_id(&mut self) -> DeliveryId {
        self.next_delivery = self.next_delivery.saturating_add(1);
        DeliveryId::nth(self.next_delivery)
    }

    /// Removes an unacknowledged delivery and gives its consumer the credit back.
    fn settle(&mut self, id: DeliveryId) -> Result<Entry<M>, QueueError> {
        let unacked = self
            .unacked
            .remove(&id)
            .ok_or(QueueError::UnknownDelivery(id))?;
        if let Some(owner) = unacked.consumer
            && let Some(consumer) = self.consumers.iter_mut().find(|c| c.id == owner)
        {
            consumer.unacked = consumer.unacked.saturating_sub(1);
        }
        Ok(unacked.entry)
    }

    /// Puts a delivered entry back among the ready ones, by its publish order.
    fn requeue(&mut self, mut entry: Entry<M>) {
        entry.redelivered = true;
        self.ready_bytes = self
            .ready_bytes
            .saturating_add(size_of_body(&entry.message));
        let at = self.ready.partition_point(|e| e.seq < entry.seq);
        self.ready.insert(at, entry);
        self.stats.requeued += 1;
    }

    fn pop_ready(&mut self) -> Option<Entry<M>> {
        let entry = self.ready.pop_front()?;
        self.ready_bytes = self
            .ready_bytes
            .saturating_sub(size_of_body(&entry.message));
        Some(entry)
    }

    /// With `drop-head`, drops from the head until within `x-max-length` and
    /// `x-max-length-bytes`.
    fn drop_head_over_limits(&mut self) {
        let arguments = &self.config.arguments;
        if arguments.overflow() != Overflow::DropHead {
            return;
        }
        let (max_length, max_bytes) = (arguments.max_length, arguments.max_length_bytes);
        while max_length.is_some_and(|max| self.ready.len() as u64 > max)
            || max_bytes.is_some_and(|max| self.ready_bytes > max)
        {
            let Some(entry) = self.pop_ready() else { break };
            self.stats.overflowed += 1;
            self.note_gone(entry.log_id());
            self.dead_letter(entry.message, DeadLetterReason::MaxLen);
        }
    }

    /// A durable message back from the log after a restart, at the tail, marked
    /// redelivered (it may have reached a consumer before the restart).
    pub fn restore(&mut self, message: M, lsn: u64) {
        let size = size_of_body(&message);
        let expires_at = message.expires_at();
        let seq = self.next_seq;
        self.next_seq += 1;
        self.ready.push_back(Entry {
            message,
            seq,
            expires_at,
            redelivered: true,
            lsn: NonZeroU64::new(lsn.wrapping_add(1)),
        });
        self.ready_bytes = self.ready_bytes.saturating_add(size);
    }

    /// The durable log did not keep message `lsn` after all (a failed commit): it stays
    /// here, in memory only.
    pub fn forget_logged(&mut self, lsn: u64) {
        let entries = self
            .ready
            .iter_mut()
            .chain(self.unacked.values_mut().map(|u| &mut u.entry));
        for entry in entries.filter(|e| e.log_id() == Some(lsn)) {
            entry.lsn = None;
        }
    }

    /// The log ids of the durable messages that left for good since the last call.
    pub fn take_gone(&mut self) -> Vec<u64> {
        self.gone.take().map(|g| *g).unwrap_or_default()
    }

    fn note_gone(&mut self, id: Option<u64>) {
        if let Some(id) = id {
            self.gone.get_or_insert_default().push(id);
        }
    }

    /// The log id of the oldest durable message the queue holds: the first logged ready
    /// one (ready messages are in publish order, and so are their log ids) or an older
    /// unacknowledged one, without a scan of the whole backlog.
    pub fn oldest_logged(&self) -> Option<u64> {
        let ready = self.ready.iter().find_map(Entry::log_id);
        let unacked = self.unacked.values().filter_map(|u| u.entry.log_id()).min();
        match (ready, unacked) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// The log ids of every durable message the queue still holds, ready or not.
    pub fn logged(&self) -> impl Iterator<Item = u64> + '_ {
        self.ready
            .iter()
            .chain(self.unacked.values().map(|u| &u.entry))
            .filter_map(Entry::log_id)
    }

    /// Hands a message to the dead-letter outbox, or discards it without a dead-letter
    /// exchange.
    fn dead_letter(&mut self, message: M, reason: DeadLetterReason) {
        let arguments = &self.config.arguments;
        if let Some(exchange) = &arguments.dead_letter_exchange {
            self.dead_letters.push_back(DeadLetter {
                message,
                reason,
                exchange: exchange.clone(),
                routing_key: arguments.dead_letter_routing_key.clone(),
            });
            self.stats.dead_lettered += 1;
        }
    }
}

fn size_of_body<M: QueueMessage>(message: &M) -> u64 {
    u64::try_from(message.body_size()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests;
