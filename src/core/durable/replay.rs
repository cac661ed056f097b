//! Rebuilding the durable state from the log: records replayed in LSN order leave the
//! durable queues with the messages still in them (in publish order), the durable
//! exchanges and bindings, the retained messages and the MQTT persistent sessions.
//!
//! Compaction carries definitions forward (re-appends them) and releases the segments
//! before the oldest message still held, so a message's record can come before the
//! only surviving record of its queue's or session's definition: such messages wait
//! for it (`pending`) rather than being dropped.

use std::collections::BTreeMap;
use std::sync::Arc;

use bytestring::ByteString;

use crate::core::exchange::{Binding, Destination, ExchangeDeclare, ExchangeName, QueueName};
use crate::core::message::Message;
use crate::core::queue::QueueConfig;

use super::{Record, SessionMessage, SessionSnapshot};

/// A durable queue as the log left it.
#[derive(Debug, Clone)]
pub struct ReplayedQueue {
    /// What it was declared with.
    pub config: QueueConfig,
    /// Its messages by id (the LSN of their `Enqueued` record), in publish order.
    pub messages: BTreeMap<u64, Arc<Message>>,
}

/// An MQTT persistent session as the log left it.
#[derive(Debug, Clone, Default)]
pub struct ReplayedSession {
    /// Its last saved state (`None` if the log held only messages of it: dropped).
    pub snapshot: Option<SessionSnapshot>,
    /// Its messages by id (the LSN of their `SessionQueued` record), in the order they
    /// entered, each with its packet identifier (QoS 2) and whether PUBREC came.
    pub messages: BTreeMap<u64, (SessionMessage, Option<(switchyard_mqtt::PacketId, bool)>)>,
    /// Incoming QoS 2 packet identifiers awaiting PUBREL.
    pub incoming: std::collections::BTreeSet<u16>,
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
    /// MQTT persistent sessions by client identifier.
    pub sessions: BTreeMap<ByteString, ReplayedSession>,
    /// Messages of queues not (yet) declared in the log, by queue.
    pending: BTreeMap<QueueName, BTreeMap<u64, Arc<Message>>>,
    /// Records that named a queue the log does not hold (counted, not fatal: a queue
    /// deleted while its last records were being written).
    pub orphans: u64,
}

impl Replay {
    /// Applies the record at `lsn`.
    pub fn apply(&mut self, lsn: u64, record: Record) {
        match record {
            Record::QueueDeclared { name, config } => {
                let pending = self.pending.remove(name.as_str()).unwrap_or_default();
                let queue = self.queues.entry(name).or_insert_with(|| ReplayedQueue {
                    config,
                    messages: BTreeMap::new(),
                });
                queue.messages.extend(pending);
            }
            Record::QueueDeleted { name } => {
                self.pending.remove(name.as_str());
                self.queues.remove(name.as_str());
                let gone = Destination::Queue(name);
                self.bindings.retain(|(_, b)| b.destination != gone);
            }
            Record::Enqueued { queue, message } => match self.queues.get_mut(queue.as_str()) {
                Some(q) => {
                    q.messages.insert(lsn, message);
                }
                None => {
                    self.pending.entry(queue).or_default().insert(lsn, message);
                }
            },
            Record::Removed { queue, id } => {
                if let Some(q) = self.queues.get_mut(queue.as_str()) {
                    q.messages.remove(&id);
                } else if let Some(p) = self.pending.get_mut(queue.as_str()) {
                    p.remove(&id);
                } else {
                    self.orphans += 1;
                }
            }
            Record::Purged { queue } => {
                if let Some(q) = self.queues.get_mut(queue.as_str()) {
                    q.messages.clear();
                }
                self.pending.remove(queue.as_str());
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
            Record::SessionSaved(snapshot) => {
                let session = self.sessions.entry(snapshot.client_id.clone()).or_default();
                // Another epoch: the session left this log and came back; what it held
                // before was ended with it.
                if session
                    .snapshot
                    .as_ref()
                    .is_some_and(|s| s.epoch != snapshot.epoch)
                {
                    session.messages.clear();
                }
                session.incoming = snapshot.incoming.iter().copied().collect();
                session.snapshot = Some(*snapshot);
            }
            Record::SessionEnded { client_id } => {
                self.sessions.remove(&client_id);
            }
            Record::SessionQueued(message) => {
                let session = self.sessions.entry(message.client_id.clone()).or_default();
                session.messages.insert(lsn, (*message, None));
            }
            Record::SessionPacket {
                client_id,
                id,
                packet_id,
                released,
            } => {
                if let Some((_, packet)) = self
                    .sessions
                    .get_mut(&client_id)
                    .and_then(|s| s.messages.get_mut(&id))
                {
                    *packet = Some((packet_id, released));
                }
            }
            Record::Probe => {}
            Record::SessionIncoming {
                client_id,
                packet_id,
                taken,
            } => {
                if let Some(session) = self.sessions.get_mut(&client_id) {
                    if taken {
                        session.incoming.insert(packet_id.get());
                    } else {
                        session.incoming.remove(&packet_id.get());
                    }
                }
            }
            Record::SessionDone { client_id, id } => {
                if let Some(session) = self.sessions.get_mut(&client_id) {
                    session.messages.remove(&id);
                }
            }
        }
    }

    /// Ends the replay: messages whose queue or session never got a definition are
    /// counted as orphans and dropped.
    pub fn finish(&mut self) {
        let pending: usize = self.pending.values().map(BTreeMap::len).sum();
        self.orphans += pending as u64;
        self.pending.clear();
        self.sessions.retain(|_, s| {
            if s.snapshot.is_none() {
                self.orphans += s.messages.len() as u64;
            }
            s.snapshot.is_some()
        });
    }

    /// The lowest LSN the state still needs (the oldest message held), if any: log
    /// segments wholly before it hold nothing live but definitions, which the caller
    /// re-appends before releasing them.
    pub fn oldest_message(&self) -> Option<u64> {
        let sessions = self.sessions.values();
        self.queues
            .values()
            .filter_map(|q| q.messages.keys().next().copied())
            .chain(sessions.filter_map(|s| s.messages.keys().next().copied()))
            .min()
    }
}
