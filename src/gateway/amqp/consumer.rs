//! The connection as a consumer of queues: encodes basic.deliver for its consumers and
//! keeps, per channel, the delivery tags that await basic.ack, .nack or .reject.

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, HashMap};
use std::rc::Rc;

use bytestring::ByteString;
use switchyard_amqp::{BasicCancel, BasicDeliver, Encoder, Method, ShortString};

use super::convert::{properties_of, short};
use crate::core::exchange::QueueName;
use crate::core::mapping::mqtt_topic_to_routing_key;
use crate::core::message::Message;
use crate::core::queue::DeliveryId;
use crate::core::shard::{Consumer, QueueDelivery, Settle, Shard};
use crate::server::outbox::Outbox;
use crate::server::transport::AckOnWrite;

/// One basic.consume, by the core's consumer tag.
#[derive(Debug, Clone)]
pub(super) struct ConsumerEntry {
    /// The channel it was made on.
    pub(super) channel: u16,
    /// The client's tag.
    pub(super) tag: ShortString,
    /// The queue.
    pub(super) queue: QueueName,
    /// Deliveries count as acknowledged once written.
    pub(super) no_ack: bool,
}

/// A delivery that awaits an acknowledgement.
#[derive(Debug, Clone)]
pub(super) struct Unacked {
    pub(super) queue: QueueName,
    pub(super) id: DeliveryId,
}

/// One channel's delivery tags.
#[derive(Debug, Default)]
pub(super) struct Deliveries {
    next_tag: u64,
    /// Unacknowledged deliveries by delivery tag.
    pub(super) unacked: BTreeMap<u64, Unacked>,
}

impl Deliveries {
    /// The next delivery tag of the channel.
    pub(super) fn next_tag(&mut self) -> u64 {
        self.next_tag += 1;
        self.next_tag
    }

    /// What an ack/nack/reject of `tag` settles: that delivery, or with `multiple`
    /// every one up to it (tag 0: all). `None` for an unknown tag.
    pub(super) fn take(&mut self, tag: u64, multiple: bool) -> Option<Vec<Unacked>> {
        if multiple {
            let tags: Vec<u64> = if tag == 0 {
                self.unacked.keys().copied().collect()
            } else {
                self.unacked.range(..=tag).map(|(&t, _)| t).collect()
            };
            if tags.is_empty() && tag != 0 {
                return None;
            }
            return Some(tags.iter().filter_map(|t| self.unacked.remove(t)).collect());
        }
        self.unacked.remove(&tag).map(|u| vec![u])
    }
}

/// The connection's side of its consumers, shared with the shard that delivers.
pub(super) struct AmqpConsumer {
    outbox: Rc<Outbox>,
    shard: Rc<Shard>,
    auto: Rc<AckOnWrite>,
    /// The negotiated frame-max.
    pub(super) frame_max: Cell<u32>,
    /// Consumers by the core's tag.
    pub(super) consumers: RefCell<HashMap<ByteString, ConsumerEntry>>,
    /// Delivery tags by channel.
    pub(super) channels: RefCell<HashMap<u16, Deliveries>>,
}

impl AmqpConsumer {
    pub(super) fn new(outbox: Rc<Outbox>, shard: Rc<Shard>, auto: Rc<AckOnWrite>) -> Self {
        Self {
            outbox,
            shard,
            auto,
            frame_max: Cell::new(switchyard_amqp::FRAME_MIN_SIZE),
            consumers: RefCell::new(HashMap::new()),
            channels: RefCell::new(HashMap::new()),
        }
    }

    /// An encoder with the negotiated frame-max.
    pub(super) fn encoder(&self) -> Encoder {
        let mut encoder = Encoder::new();
        encoder.set_frame_max(self.frame_max.get());
        encoder
    }

    /// Records an unacknowledged delivery on `channel`; returns its delivery tag.
    pub(super) fn track(&self, channel: u16, unacked: Option<Unacked>) -> u64 {
        let mut channels = self.channels.borrow_mut();
        let deliveries = channels.entry(channel).or_default();
        let tag = deliveries.next_tag();
        if let Some(unacked) = unacked {
            deliveries.unacked.insert(tag, unacked);
        }
        tag
    }
}

/// The routing key a delivery shows: the message's topic in AMQP form.
pub(super) fn routing_key_of(message: &Message) -> ShortString {
    short(&mqtt_topic_to_routing_key(&message.topic))
}

impl Consumer for AmqpConsumer {
    fn deliver(&self, delivery: QueueDelivery) {
        let entry = self.consumers.borrow().get(&delivery.tag).cloned();
        let Some(entry) = entry else {
            // Cancelled meanwhile: back to the queue.
            if let Some(id) = delivery.id {
                self.shard
                    .settle(delivery.queue, id, Settle::Reject { requeue: true });
            }
            return;
        };
        let unacked = match (delivery.id, entry.no_ack) {
            (Some(id), false) => Some(Unacked {
                queue: delivery.queue.clone(),
                id,
            }),
            _ => None,
        };
        let delivery_tag = self.track(entry.channel, unacked);
        let deliver = BasicDeliver {
            consumer_tag: entry.tag.clone(),
            delivery_tag,
            redelivered: delivery.redelivered,
            exchange: ShortString::EMPTY,
            routing_key: routing_key_of(&delivery.message),
        };
        let properties = properties_of(&delivery.message);
        let encoder = self.encoder();
        let written = self.outbox.push(|buf| {
            encoder.encode_deliver(
                entry.channel,
                &deliver,
                &properties,
                &delivery.message.payload,
                buf,
            )
        });
        let Some(id) = delivery.id else { return };
        match written {
            // The connection is closing: the queue gets it back when the channel goes.
            None => {}
            Some(Err(_)) => {
                self.forget(entry.channel, delivery_tag);
                self.shard
                    .settle(delivery.queue, id, Settle::Reject { requeue: false });
            }
            Some(Ok(())) if entry.no_ack => self.auto.push(delivery.queue, id),
            Some(Ok(())) => {}
        }
    }

    fn cancelled(&self, _queue: &QueueName, tag: &ByteString) {
        let Some(entry) = self.consumers.borrow_mut().remove(tag) else {
            return;
        };
        // consumer_cancel_notify: the client learns that its queue went away.
        let cancel = Method::from(BasicCancel {
            consumer_tag: entry.tag,
            no_wait: true,
        });
        let encoder = self.encoder();
        self.outbox
            .push(|buf| encoder.encode_method(entry.channel, &cancel, buf));
    }
}

impl AmqpConsumer {
    fn forget(&self, channel: u16, tag: u64) {
        if let Some(d) = self.channels.borrow_mut().get_mut(&channel) {
            d.unacked.remove(&tag);
        }
    }
}
