//! Delivery from a queue's home shard: ready messages go to consumers with credit
//! (here or through their shard's mailbox), dead letters to their exchange, and held
//! publishers go once the queue is down to its low-water mark.

use std::time::Instant;

use bytestring::ByteString;

use super::{QueueDelivery, Settle, Shard, ShardMsg};
use crate::core::exchange::QueueName;
use crate::core::mapping::mqtt_topic_to_routing_key;

impl Shard {
    /// Hands ready messages of a queue homed here to its consumers with credit, and
    /// republishes its dead letters.
    pub(super) fn pump(&self, name: &QueueName) {
        let now = Instant::now();
        self.release_publishers(name);
        loop {
            let (delivery, route, dead, gone) = {
                let mut state = self.state.borrow_mut();
                let Some(queue) = state.queues.get_mut(name.as_str()) else {
                    return;
                };
                let dead = queue.poll_dead_letter();
                let delivery = queue.poll_delivery(now);
                // Durable messages that left for good (acked, expired, ...) since the
                // last look: the log hears of it.
                let gone = queue.take_gone();
                let route = delivery
                    .as_ref()
                    .and_then(|d| state.routes.get(&(name.clone(), d.consumer.clone())))
                    .copied();
                (delivery, route, dead, gone)
            };
            if !gone.is_empty() {
                self.log_gone(name, gone);
            }
            let had_dead = dead.is_some();
            if let Some(dead) = dead {
                // The override, else the keys it was published with.
                let key: ByteString = match &dead.routing_key {
                    Some(key) => key.clone(),
                    None => mqtt_topic_to_routing_key(&dead.message.topic)
                        .as_ref()
                        .into(),
                };
                let message = super::dead_letter::dead_lettered(
                    &dead.message,
                    name.as_str(),
                    dead.reason,
                    dead.exchange.as_str(),
                    &key,
                );
                if let Ok(out) = self.publish_to_exchange(dead.exchange.as_str(), &key, message) {
                    for (shard, msg) in out {
                        self.send_now(shard, msg);
                    }
                }
            }
            let Some(delivery) = delivery else {
                if !had_dead {
                    return;
                }
                continue;
            };
            let delivery = QueueDelivery {
                queue: name.clone(),
                tag: delivery.consumer,
                id: delivery.delivery_id,
                message: delivery.message,
                redelivered: delivery.redelivered,
            };
            match route {
                Some((shard, key)) if shard == self.id => self.deliver_to_consumer(key, delivery),
                Some((shard, key)) => self.send_now(
                    shard,
                    ShardMsg::Consumed {
                        key,
                        delivery: Box::new(delivery),
                    },
                ),
                // A consumer without a route cannot be: it was cancelled meanwhile.
                None => {}
            }
        }
    }

    /// Lets the publishers held back by a queue go once it is down to its low-water
    /// mark (or gone).
    fn release_publishers(&self, name: &QueueName) {
        let mut state = self.state.borrow_mut();
        if state.holds.is_empty() || !state.holds.contains_key(name.as_str()) {
            return;
        }
        let low = state
            .queues
            .get(name.as_str())
            .is_none_or(|q| q.message_count() < self.limits.queue_high_water / 2);
        if low {
            state.holds.remove(name.as_str());
        }
    }

    /// Hands a delivery to a consumer's connection on this shard; a connection that is
    /// gone gets its delivery requeued.
    pub(super) fn deliver_to_consumer(&self, key: u64, delivery: QueueDelivery) {
        let consumer = self.state.borrow().consumers.get(&key).cloned();
        match consumer {
            Some(consumer) => consumer.deliver(delivery),
            None => {
                if let Some(id) = delivery.id {
                    self.settle(delivery.queue, id, Settle::Reject { requeue: true });
                }
            }
        }
    }
}
