//! The connection as a consumer of queues: formats MESSAGE frames for its
//! subscriptions and remembers what awaits an ACK.

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, HashMap};
use std::rc::Rc;

use bytestring::ByteString;
use switchyard_stomp::{AckMode, MessageFrame, Version};

use super::headers::message_headers;
use crate::core::exchange::QueueName;
use crate::core::mapping::mqtt_topic_to_routing_key;
use crate::core::queue::DeliveryId;
use crate::core::shard::{Consumer, QueueDelivery, Settle, Shard};
use crate::server::outbox::Outbox;
use crate::server::transport::AckOnWrite;

/// What a subscription names its messages' destination by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Naming {
    /// `/topic/{routing key of the message}`.
    Topic,
    /// The destination as subscribed (queues, exchanges, temp queues).
    Fixed(ByteString),
}

/// One SUBSCRIBE of the connection.
#[derive(Debug, Clone)]
pub(super) struct Subscription {
    /// The client's `id`.
    pub(super) id: ByteString,
    /// How MESSAGE frames name their destination.
    pub(super) naming: Naming,
    /// The ack mode.
    pub(super) ack: AckMode,
    /// The queue it consumes from.
    pub(super) queue: QueueName,
    /// Delete the queue when the subscription ends (a non-durable topic or exchange
    /// subscription's own queue).
    pub(super) owns_queue: bool,
}

/// A delivery waiting for ACK or NACK.
#[derive(Debug, Clone)]
pub(super) struct Pending {
    pub(super) tag: ByteString,
    pub(super) queue: QueueName,
    pub(super) id: DeliveryId,
}

/// The connection's side of its subscriptions, shared with the shard that delivers.
pub(super) struct StompConsumer {
    outbox: Rc<Outbox>,
    shard: Rc<Shard>,
    auto: Rc<AckOnWrite>,
    pub(super) version: Cell<Version>,
    /// Subscriptions by consumer tag.
    pub(super) subscriptions: RefCell<HashMap<ByteString, Subscription>>,
    /// Deliveries awaiting ACK/NACK, by message number.
    pub(super) unacked: RefCell<BTreeMap<u64, Pending>>,
    next: Cell<u64>,
    /// RECEIPTs of persistent SENDs waiting for their queues (and the durable log):
    /// confirm sequence number -> (queues yet to answer, one refused, receipt id).
    pub(super) receipts: RefCell<HashMap<u64, (usize, bool, ByteString)>>,
    next_receipt: Cell<u64>,
}

impl StompConsumer {
    pub(super) fn new(outbox: Rc<Outbox>, shard: Rc<Shard>, auto: Rc<AckOnWrite>) -> Self {
        Self {
            outbox,
            shard,
            auto,
            version: Cell::new(Version::V1_0),
            subscriptions: RefCell::new(HashMap::new()),
            unacked: RefCell::new(BTreeMap::new()),
            next: Cell::new(0),
            receipts: RefCell::new(HashMap::new()),
            next_receipt: Cell::new(0),
        }
    }

    /// The sequence number of the next persistent SEND awaiting its receipt.
    pub(super) fn next_receipt(&self) -> u64 {
        self.next_receipt.set(self.next_receipt.get() + 1);
        self.next_receipt.get()
    }

    /// Writes a RECEIPT, or for a refused message an ERROR, and then closes.
    fn send_receipt(&self, receipt: &str, accepted: bool) {
        let version = self.version.get();
        if accepted {
            self.outbox.push(|buf| {
                switchyard_stomp::ReceiptFrame {
                    receipt_id: receipt,
                }
                .encode(version, buf)
            });
        } else {
            super::error_frame(
                &self.outbox,
                version,
                "Message rejected",
                "a queue refused the message (x-overflow reject-publish), or it could not be stored",
                Some(receipt),
            );
            self.outbox.close();
        }
    }

    /// The deliveries an ACK or NACK of message `number` settles: that one alone, or
    /// (a `client` subscription) every earlier one of the same subscription too.
    pub(super) fn take_settled(&self, number: u64) -> Option<Vec<Pending>> {
        let mut unacked = self.unacked.borrow_mut();
        let tag = unacked.get(&number)?.tag.clone();
        let cumulative = self
            .subscriptions
            .borrow()
            .get(&tag)
            .is_some_and(|s| s.ack == AckMode::Client);
        if !cumulative {
            return unacked.remove(&number).map(|p| vec![p]);
        }
        let numbers: Vec<u64> = unacked
            .range(..=number)
            .filter(|(_, p)| p.tag == tag)
            .map(|(&n, _)| n)
            .collect();
        Some(numbers.iter().filter_map(|n| unacked.remove(n)).collect())
    }
}

impl Consumer for StompConsumer {
    fn confirmed(&self, _channel: u16, seq: u64, accepted: bool) {
        let done = {
            let mut receipts = self.receipts.borrow_mut();
            match receipts.get_mut(&seq) {
                Some((left, refused, _)) => {
                    *left = left.saturating_sub(1);
                    *refused |= !accepted;
                    if *left == 0 {
                        receipts.remove(&seq).map(|(_, refused, id)| (id, !refused))
                    } else {
                        None
                    }
                }
                None => None,
            }
        };
        if let Some((receipt, accepted)) = done {
            self.send_receipt(&receipt, accepted);
        }
    }

    fn deliver(&self, delivery: QueueDelivery) {
        let subscriptions = self.subscriptions.borrow();
        let Some(sub) = subscriptions.get(&delivery.tag) else {
            // Unsubscribed meanwhile: back to the queue.
            if let Some(id) = delivery.id {
                self.shard
                    .settle(delivery.queue, id, Settle::Reject { requeue: true });
            }
            return;
        };
        let number = self.next.get() + 1;
        self.next.set(number);
        let number_text = number.to_string();
        let destination = match &sub.naming {
            Naming::Topic => format!(
                "/topic/{}",
                mqtt_topic_to_routing_key(&delivery.message.topic)
            ),
            Naming::Fixed(d) => d.to_string(),
        };
        let headers = message_headers(&delivery.message, delivery.redelivered);
        let frame = MessageFrame {
            destination: &destination,
            message_id: &number_text,
            subscription: &sub.id,
            ack: (sub.ack != AckMode::Auto).then_some(number_text.as_str()),
            headers: &headers,
            body: &delivery.message.payload,
        };
        let version = self.version.get();
        let written = self.outbox.push(|buf| frame.encode(version, buf));
        let Some(id) = delivery.id else { return };
        match written {
            // The connection is closing: the queue gets it back when it cancels.
            None => {}
            // Not expressible in this version (a line break in a 1.0 header): dropped
            // to the dead-letter exchange, if the queue has one.
            Some(Err(_)) => {
                self.shard
                    .settle(delivery.queue, id, Settle::Reject { requeue: false })
            }
            Some(Ok(())) if sub.ack == AckMode::Auto => {
                self.auto.push(delivery.queue, id);
            }
            Some(Ok(())) => {
                self.unacked.borrow_mut().insert(
                    number,
                    Pending {
                        tag: delivery.tag,
                        queue: delivery.queue,
                        id,
                    },
                );
            }
        }
    }

    fn cancelled(&self, _queue: &QueueName, tag: &ByteString) {
        self.subscriptions.borrow_mut().remove(tag);
    }
}
