//! Rebuilding the durable state from the log: records replayed in LSN order leave the
//! durable queues with the messages still in them (in publish order), and the durable
//! exchanges and bindings.

use std::collections::BTreeMap;
use std::sync::Arc;

use bytestring::ByteString;

use crate::core::exchange::{Binding, Destination, ExchangeDeclare, ExchangeName, QueueName};
use crate::core::message::Message;
use crate::core::queue::QueueConfig;

use super::Record;

/// A durable queue as the log left it.
#[derive(Debug, Clone)]
pub struct ReplayedQueue {
    /// What it was declared with.
    pub config: QueueConfig,
    /// Its messages by id (the LSN of their `Enqueued` record), in publish order.
    pub messages: BTreeMap<u64, Arc<Message>>,
}

/// The durable state so far, as records are applied in order.
#[derive(Debug, Default)]
pub struct Replay {
    /// Durable queues by name.
    pub queues: BTreeMap<QueueName, ReplayedQueue>,
    /// Durable exchanges by name, in declaration order of their last declare.
    pub exchanges: BTreeMap<ExchangeName, ExchangeDeclare>,
    /// Bindings, in the order they were made.
    pub bindings: Vec<(ExchangeName, Binding)>,
    /// MQTT retained messages by topic.
    pub retained: BTreeMap<ByteString, Arc<Message>>,
    /// Records that named a queue the log does not hold (counted, not fatal: a queue
    /// deleted while its last records were being written).
    pub orphans: u64,
}

impl Replay {
    /// Applies the record at `lsn`.
    pub fn apply(&mut self, lsn: u64, record: Record) {
        match record {
            Record::QueueDeclared { name, config } => {
                self.queues.entry(name).or_insert_with(|| ReplayedQueue {
                    config,
                    messages: BTreeMap::new(),
                });
            }
            Record::QueueDeleted { name } => {
                self.queues.remove(name.as_str());
                let gone = Destination::Queue(name);
                self.bindings.retain(|(_, b)| b.destination != gone);
            }
            Record::Enqueued { queue, message } => match self.queues.get_mut(queue.as_str()) {
                Some(q) => {
                    q.messages.insert(lsn, message);
                }
                None => self.orphans += 1,
            },
            Record::Removed { queue, id } => match self.queues.get_mut(queue.as_str()) {
                Some(q) => {
                    q.messages.remove(&id);
                }
                None => self.orphans += 1,
            },
            Record::Purged { queue } => {
                if let Some(q) = self.queues.get_mut(queue.as_str()) {
                    q.messages.clear();
                }
            }
            Record::ExchangeDeclared(declare) => {
                self.exchanges.insert(declare.name.clone(), declare);
            }
            Record::ExchangeDeleted(name) => {
                self.exchanges.remove(name.as_str());
                let gone = Destination::Exchange(name.clone());
                self.bindings
                    .retain(|(source, b)| source != &name && b.destination != gone);
            }
            Record::Bound { exchange, binding } => {
                if !self
                    .bindings
                    .iter()
                    .any(|(e, b)| e == &exchange && b == &binding)
                {
                    self.bindings.push((exchange, binding));
                }
            }
            Record::Retained(message) => {
                if message.payload.is_empty() {
                    self.retained.remove(&message.topic);
                } else {
                    self.retained.insert(message.topic.clone(), message);
                }
            }
            Record::Unbound { exchange, binding } => {
                self.bindings
                    .retain(|(e, b)| !(e == &exchange && b == &binding));
            }
        }
    }

    /// The lowest LSN the state still needs (the oldest message held), if any: log
    /// segments wholly before it hold nothing live but definitions, which the caller
    /// re-appends before releasing them.
    pub fn oldest_message(&self) -> Option<u64> {
        self.queues
            .values()
            .filter_map(|q| q.messages.keys().next().copied())
            .min()
    }
}
