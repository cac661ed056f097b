//! How queues end and age on their home shard: a deleted queue tells its consumers
//! (AMQP's consumer cancel notification), and the sweep expires messages past their
//! TTL (dead-lettering them) and deletes queues unused for their `x-expires`.

use std::time::Instant;

use bytestring::ByteString;

use super::{Shard, ShardMsg, VhostChange};
use crate::core::durable::Record;
use crate::core::exchange::QueueName;

impl Shard {
    /// Removes a queue homed here with its exclusive owner, lets its held publishers
    /// go, and tells each of its consumers that the server cancelled it. The caller
    /// announces the vhost change.
    pub(super) fn delete_queue_here(&self, name: &QueueName) {
        let consumers: Vec<(ByteString, (u16, u64))> = {
            let mut state = self.state.borrow_mut();
            let removed = state.queues.remove(name.as_str());
            if removed.is_some_and(|q| q.config().durable) {
                self.log(&Record::QueueDeleted { name: name.clone() });
            }
            state.owners.remove(name.as_str());
            state.holds.remove(name.as_str());
            let tags: Vec<(QueueName, ByteString)> = state
                .routes
                .keys()
                .filter(|(queue, _)| queue == name)
                .cloned()
                .collect();
            tags.into_iter()
                .filter_map(|key| {
                    let route = state.routes.remove(&key)?;
                    Some((key.1, route))
                })
                .collect()
        };
        for (tag, (shard, key)) in consumers {
            if shard == self.id {
                self.consumer_cancelled(key, name, &tag);
            } else {
                self.send_now(
                    shard,
                    ShardMsg::Cancelled {
                        key,
                        queue: name.clone(),
                        tag,
                    },
                );
            }
        }
    }

    /// A commit failed: the log does not hold the message it logged as `lsn` in
    /// `queue` (its publisher was refused); the queue keeps it, in memory only.
    pub(super) fn forget_logged(&self, queue: &QueueName, lsn: u64) {
        if let Some(q) = self.state.borrow_mut().queues.get_mut(queue.as_str()) {
            q.forget_logged(lsn);
        }
    }

    /// Tells a consumer's connection on this shard that its consumer `tag` of `queue`
    /// is gone.
    pub(super) fn consumer_cancelled(&self, key: u64, queue: &QueueName, tag: &ByteString) {
        let consumer = self.state.borrow().consumers.get(&key).cloned();
        if let Some(consumer) = consumer {
            consumer.cancelled(queue, tag);
        }
    }

    /// Expires the messages past their TTL in the queues homed here (dead-lettering
    /// them) and deletes the queues unused for their `x-expires`.
    pub fn sweep_queues(&self, now: Instant) {
        let (timed, unused): (Vec<QueueName>, Vec<QueueName>) = {
            let mut state = self.state.borrow_mut();
            let mut timed = Vec::new();
            let mut unused = Vec::new();
            for (name, queue) in state.queues.iter_mut() {
                if queue.is_expired(now) {
                    unused.push(name.clone());
                } else if queue.poll_timeout().is_some_and(|at| at <= now) {
                    queue.expire(now);
                    timed.push(name.clone());
                }
            }
            (timed, unused)
        };
        for name in timed {
            self.pump(&name);
        }
        for name in unused {
            tracing::debug!(queue = %name, "queue unused for its x-expires: deleted");
            self.delete_queue_here(&name);
            self.announce_vhost(VhostChange::DeleteQueue(name));
        }
    }
}
