//! The connection as a consumer of queues: encodes basic.deliver for its consumers and
//! keeps, per channel, the delivery tags that await basic.ack, .nack or .reject.

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::rc::Rc;

use bytestring::ByteString;
use switchyard_amqp::{
    BasicAck, BasicCancel, BasicDeliver, BasicNack, Encoder, Method, ShortString,
};

use super::convert::{exchange_of, properties_of, short};
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
    /// basic.consume-ok is out: deliveries may follow.
    pub(super) ready: bool,
}

/// A delivery that awaits an acknowledgement.
#[derive(Debug, Clone)]
pub(super) struct Unacked {
    pub(super) queue: QueueName,
    pub(super) id: DeliveryId,
}

/// One channel's delivery tags, its channel-wide prefetch and its publisher confirms
/// awaiting queues on other shards.
#[derive(Debug, Default)]
pub(super) struct Deliveries {
    next_tag: u64,
    /// Unacknowledged deliveries by delivery tag.
    pub(super) unacked: BTreeMap<u64, Unacked>,
    /// basic.qos with `global`: unacknowledged deliveries the whole channel may have
    /// (0: no limit).
    pub(super) global_prefetch: u16,
    /// Deliveries over the channel's limit, written as acknowledgements make room.
    pub(super) held: VecDeque<QueueDelivery>,
    /// Confirm sequence number -> (queues yet to answer, one refused it).
    pub(super) confirms: HashMap<u64, (usize, bool)>,
}

impl Deliveries {
    /// Whether the channel-wide prefetch lets one more delivery out now.
    fn has_room(&self) -> bool {
        self.global_prefetch == 0
            || (self.held.is_empty() && self.unacked.len() < usize::from(self.global_prefetch))
    }
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
            // As RabbitMQ: the tag itself must be outstanding (0 means all).
            if tag != 0 && !self.unacked.contains_key(&tag) {
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
    /// The client takes basic.cancel from the server (`consumer_cancel_notify`).
    pub(super) cancel_notify: Cell<bool>,
    /// Consumers by the core's tag.
    pub(super) consumers: RefCell<HashMap<ByteString, ConsumerEntry>>,
    /// Delivery tags by channel.
    pub(super) channels: RefCell<HashMap<u16, Deliveries>>,
    /// Deliveries to consumers whose consume-ok is not out yet.
    early: RefCell<Vec<QueueDelivery>>,
}

impl AmqpConsumer {
    pub(super) fn new(outbox: Rc<Outbox>, shard: Rc<Shard>, auto: Rc<AckOnWrite>) -> Self {
        Self {
            outbox,
            shard,
            auto,
            frame_max: Cell::new(switchyard_amqp::FRAME_MIN_SIZE),
            cancel_notify: Cell::new(false),
            consumers: RefCell::new(HashMap::new()),
            channels: RefCell::new(HashMap::new()),
            early: RefCell::new(Vec::new()),
        }
    }

    /// An encoder with the negotiated frame-max.
    pub(super) fn encoder(&self) -> Encoder {
        let mut encoder = Encoder::new();
        encoder.set_frame_max(self.frame_max.get());
        encoder
    }

    /// Whether the connection consumes with acknowledgements (a consumer that is not
    /// no-ack, or deliveries awaiting an ack).
    pub(super) fn acknowledges(&self) -> bool {
        self.consumers.borrow().values().any(|c| !c.no_ack)
            || self
                .channels
                .borrow()
                .values()
                .any(|d| !d.unacked.is_empty())
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
        if !entry.ready {
            self.early.borrow_mut().push(delivery);
            return;
        }
        if !entry.no_ack && delivery.id.is_some() {
            let mut channels = self.channels.borrow_mut();
            let deliveries = channels.entry(entry.channel).or_default();
            if !deliveries.has_room() {
                deliveries.held.push_back(delivery);
                return;
            }
        }
        self.write(&entry, delivery);
    }

    fn confirmed(&self, channel: u16, seq: u64, accepted: bool) {
        let done = {
            let mut channels = self.channels.borrow_mut();
            let Some(confirms) = channels.get_mut(&channel).map(|d| &mut d.confirms) else {
                return;
            };
            match confirms.get_mut(&seq) {
                Some((left, refused)) => {
                    *left = left.saturating_sub(1);
                    *refused |= !accepted;
                    let done = (*left == 0).then_some(!*refused);
                    if done.is_some() {
                        confirms.remove(&seq);
                    }
                    done
                }
                None => None,
            }
        };
        if let Some(accepted) = done {
            self.send_confirm(channel, seq, accepted);
        }
    }

    fn cancelled(&self, _queue: &QueueName, tag: &ByteString) {
        let Some(entry) = self.consumers.borrow_mut().remove(tag) else {
            return;
        };
        // consumer_cancel_notify: the client learns that its queue went away (one that
        // did not ask is not told, as RabbitMQ does).
        if !self.cancel_notify.get() {
            return;
        }
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
    /// Writes basic.deliver for `delivery` to `entry`'s channel.
    fn write(&self, entry: &ConsumerEntry, delivery: QueueDelivery) {
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
            exchange: exchange_of(&delivery.message),
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

    /// Writes the deliveries a channel's prefetch held back, as far as it now allows;
    /// those of consumers cancelled meanwhile go back to their queues.
    pub(super) fn release_held(&self, channel: u16) {
        loop {
            let next = {
                let mut channels = self.channels.borrow_mut();
                let Some(deliveries) = channels.get_mut(&channel) else {
                    return;
                };
                let limit = usize::from(deliveries.global_prefetch);
                if limit != 0 && deliveries.unacked.len() >= limit {
                    return;
                }
                deliveries.held.pop_front()
            };
            let Some(delivery) = next else { return };
            let entry = self.consumers.borrow().get(&delivery.tag).cloned();
            match entry {
                Some(entry) => self.write(&entry, delivery),
                None => self.requeue(delivery),
            }
        }
    }

    /// consume-ok for `core` is out (or the consume failed): the deliveries that came
    /// first go out now (or back to the queue).
    pub(super) fn start(&self, core: &ByteString) {
        if let Some(entry) = self.consumers.borrow_mut().get_mut(core) {
            entry.ready = true;
        }
        let early: Vec<QueueDelivery> = {
            let mut early = self.early.borrow_mut();
            if early.is_empty() {
                return;
            }
            let (mine, others) = early.drain(..).partition(|d| d.tag == *core);
            *early = others;
            mine
        };
        for delivery in early {
            self.deliver(delivery);
        }
    }

    /// Puts a delivery that never reached the client back in its queue.
    fn requeue(&self, delivery: QueueDelivery) {
        if let Some(id) = delivery.id {
            self.shard
                .settle(delivery.queue, id, Settle::Reject { requeue: true });
        }
    }

    /// A channel closes: what its prefetch held goes back to the queues.
    pub(super) fn drop_channel(&self, channel: u16) {
        let removed = self.channels.borrow_mut().remove(&channel);
        if let Some(deliveries) = removed {
            deliveries.held.into_iter().for_each(|d| self.requeue(d));
        }
    }

    /// Sends basic.ack, or basic.nack if a queue refused it, for confirm `seq`.
    pub(super) fn send_confirm(&self, channel: u16, seq: u64, accepted: bool) {
        let method = if accepted {
            Method::from(BasicAck {
                delivery_tag: seq,
                multiple: false,
            })
        } else {
            Method::from(BasicNack {
                delivery_tag: seq,
                multiple: false,
                requeue: false,
            })
        };
        let encoder = self.encoder();
        self.outbox
            .push(|buf| encoder.encode_method(channel, &method, buf));
    }

    fn forget(&self, channel: u16, tag: u64) {
        if let Some(d) = self.channels.borrow_mut().get_mut(&channel) {
            d.unacked.remove(&tag);
        }
    }
}
