//! What the core keeps in its durable log, as records: durable queues and their
//! persistent messages, and exchange and binding definitions. A shard logs the queues
//! homed on it; replaying its records in order rebuilds them (see [`Replay`]).
//!
//! A message's id in the log is the log position (LSN) of its `Enqueued` record; a
//! `Removed` record with that id says it is gone (acknowledged, dropped, expired or
//! dead-lettered). Records are self-describing (a kind byte, then fields) so that a later
//! version can add kinds; an unknown kind is an error, not a guess.

mod replay;
mod session;
mod wire;

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::{Bytes, BytesMut};
use bytestring::ByteString;
use switchyard_mqtt::{PayloadFormat, QoS};

use crate::core::exchange::{
    Binding, Destination, ExchangeDeclare, ExchangeKind, ExchangeName, FieldTable, FieldValue,
    QueueName,
};
use crate::core::message::{Message, Origin, Properties};
use crate::core::queue::{Overflow, QueueConfig};

pub use replay::{Replay, ReplayedQueue, ReplayedSession};
pub use session::{SessionMessage, SessionSnapshot};
pub use wire::DecodeError;
use wire::{Reader, Writer};

/// One durable change.
#[derive(Debug, Clone)]
pub enum Record {
    /// A durable queue was declared.
    QueueDeclared {
        /// Its name.
        name: QueueName,
        /// What it was declared with.
        config: QueueConfig,
    },
    /// A durable queue was deleted, with its messages.
    QueueDeleted {
        /// Its name.
        name: QueueName,
    },
    /// A persistent message entered a durable queue; its id is this record's LSN.
    Enqueued {
        /// The queue.
        queue: QueueName,
        /// The message.
        message: Arc<Message>,
    },
    /// A message left a durable queue for good.
    Removed {
        /// The queue.
        queue: QueueName,
        /// The LSN of its `Enqueued` record.
        id: u64,
    },
    /// Every message a durable queue held was purged.
    Purged {
        /// The queue.
        queue: QueueName,
    },
    /// A durable exchange was declared.
    ExchangeDeclared(ExchangeDeclare),
    /// A durable exchange was deleted.
    ExchangeDeleted(ExchangeName),
    /// A binding between durable exchanges and queues was added.
    Bound {
        /// The source exchange.
        exchange: ExchangeName,
        /// The binding.
        binding: Binding,
    },
    /// A binding was removed.
    Unbound {
        /// The source exchange.
        exchange: ExchangeName,
        /// The binding.
        binding: Binding,
    },
    /// An MQTT retained message was set (an empty payload clears its topic).
    Retained(Arc<Message>),
    /// An MQTT persistent session's state was saved (its messages are records of their
    /// own).
    SessionSaved(Box<SessionSnapshot>),
    /// An MQTT persistent session ended here (expired, replaced by a clean start, or
    /// moved to another shard's log).
    SessionEnded {
        /// Client identifier.
        client_id: ByteString,
    },
    /// A QoS 1/2 message entered a persistent session; its id is this record's LSN.
    SessionQueued(Box<SessionMessage>),
    /// A session's QoS 2 message got its packet identifier, or (`released`) its PUBREC.
    SessionPacket {
        /// Client identifier.
        client_id: ByteString,
        /// The LSN of its `SessionQueued` record.
        id: u64,
        /// Its packet identifier.
        packet_id: switchyard_mqtt::PacketId,
        /// PUBREC received: PUBREL is what is left to send.
        released: bool,
    },
    /// Nothing: written to try the disk again while it is full.
    Probe,
    /// An incoming QoS 2 message's packet identifier was taken (PUBLISH), or freed
    /// (PUBREL).
    SessionIncoming {
        /// Client identifier.
        client_id: ByteString,
        /// The packet identifier.
        packet_id: switchyard_mqtt::PacketId,
        /// Taken (`true`) or freed.
        taken: bool,
    },
    /// A session's message is done (acknowledged, expired or dropped).
    SessionDone {
        /// Client identifier.
        client_id: ByteString,
        /// The LSN of its `SessionQueued` record.
        id: u64,
    },
}

const QUEUE_DECLARED: u8 = 1;
const QUEUE_DELETED: u8 = 2;
const ENQUEUED: u8 = 3;
const REMOVED: u8 = 4;
const PURGED: u8 = 5;
const EXCHANGE_DECLARED: u8 = 6;
const EXCHANGE_DELETED: u8 = 7;
const BOUND: u8 = 8;
const UNBOUND: u8 = 9;
const RETAINED: u8 = 10;
const SESSION_SAVED: u8 = 11;
const SESSION_ENDED: u8 = 12;
const SESSION_QUEUED: u8 = 13;
const SESSION_PACKET: u8 = 14;
const SESSION_DONE: u8 = 15;
const PROBE: u8 = 16;
const SESSION_INCOMING: u8 = 17;

impl Record {
    /// Appends the record's bytes (kind first) to `out`.
    pub fn encode(&self, out: &mut BytesMut) {
        let mut w = Writer(out);
        match self {
            Self::QueueDeclared { name, config } => {
                w.u8(QUEUE_DECLARED);
                w.str(name.as_str());
                w.bool(config.durable);
                w.bool(config.exclusive);
                w.bool(config.auto_delete);
                w.table(&arguments_table(config));
            }
            Self::QueueDeleted { name } => {
                w.u8(QUEUE_DELETED);
                w.str(name.as_str());
            }
            Self::Enqueued { queue, message } => {
                w.u8(ENQUEUED);
                w.str(queue.as_str());
                encode_message(&mut w, message);
            }
            Self::Removed { queue, id } => {
                w.u8(REMOVED);
                w.str(queue.as_str());
                w.u64(*id);
            }
            Self::Purged { queue } => {
                w.u8(PURGED);
                w.str(queue.as_str());
            }
            Self::ExchangeDeclared(d) => {
                w.u8(EXCHANGE_DECLARED);
                w.str(d.name.as_str());
                w.str(d.kind.as_str());
                w.bool(d.durable);
                w.bool(d.auto_delete);
                w.bool(d.internal);
                w.table(&d.arguments);
            }
            Self::ExchangeDeleted(name) => {
                w.u8(EXCHANGE_DELETED);
                w.str(name.as_str());
            }
            Self::Bound { exchange, binding } | Self::Unbound { exchange, binding } => {
                w.u8(if matches!(self, Self::Bound { .. }) {
                    BOUND
                } else {
                    UNBOUND
                });
                w.str(exchange.as_str());
                match &binding.destination {
                    Destination::Queue(q) => {
                        w.u8(0);
                        w.str(q.as_str());
                    }
                    Destination::Exchange(e) => {
                        w.u8(1);
                        w.str(e.as_str());
                    }
                }
                w.str(&binding.routing_key);
                w.table(&binding.arguments);
            }
            Self::Retained(message) => {
                w.u8(RETAINED);
                encode_message(&mut w, message);
            }
            Self::SessionSaved(snapshot) => {
                w.u8(SESSION_SAVED);
                session::encode_snapshot(&mut w, snapshot);
            }
            Self::SessionEnded { client_id } => {
                w.u8(SESSION_ENDED);
                w.str(client_id);
            }
            Self::SessionQueued(message) => {
                w.u8(SESSION_QUEUED);
                session::encode_session_message(&mut w, message);
            }
            Self::SessionPacket {
                client_id,
                id,
                packet_id,
                released,
            } => {
                w.u8(SESSION_PACKET);
                w.str(client_id);
                w.u64(*id);
                w.u32(u32::from(packet_id.get()));
                w.bool(*released);
            }
            Self::Probe => w.u8(PROBE),
            Self::SessionIncoming {
                client_id,
                packet_id,
                taken,
            } => {
                w.u8(SESSION_INCOMING);
                w.str(client_id);
                w.u32(u32::from(packet_id.get()));
                w.bool(*taken);
            }
            Self::SessionDone { client_id, id } => {
                w.u8(SESSION_DONE);
                w.str(client_id);
                w.u64(*id);
            }
        }
    }

    /// Reads a record written by [`Record::encode`], sharing `bytes`.
    pub fn decode(bytes: Bytes) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes);
        let record = match r.u8()? {
            QUEUE_DECLARED => {
                let name = r.str()?;
                let (durable, exclusive, auto_delete) = (r.bool()?, r.bool()?, r.bool()?);
                let arguments = r.table()?;
                let config = QueueConfig::new(durable, exclusive, auto_delete, &arguments)
                    .map_err(|_| DecodeError::InvalidDefinition)?;
                Self::QueueDeclared {
                    name: QueueName::from(&*name),
                    config,
                }
            }
            QUEUE_DELETED => Self::QueueDeleted {
                name: named(&mut r)?,
            },
            ENQUEUED => Self::Enqueued {
                queue: named(&mut r)?,
                message: Arc::new(decode_message(&mut r)?),
            },
            REMOVED => Self::Removed {
                queue: named(&mut r)?,
                id: r.u64()?,
            },
            PURGED => Self::Purged {
                queue: named(&mut r)?,
            },
            EXCHANGE_DECLARED => {
                let name = r.str()?;
                let kind =
                    ExchangeKind::parse(&r.str()?).map_err(|_| DecodeError::InvalidDefinition)?;
                Self::ExchangeDeclared(ExchangeDeclare {
                    durable: r.bool()?,
                    auto_delete: r.bool()?,
                    internal: r.bool()?,
                    arguments: r.table()?,
                    ..ExchangeDeclare::new(&name, kind)
                })
            }
            EXCHANGE_DELETED => Self::ExchangeDeleted(named(&mut r)?),
            kind @ (BOUND | UNBOUND) => {
                let exchange: ExchangeName = named(&mut r)?;
                let destination = match r.u8()? {
                    0 => Destination::queue(&r.str()?),
                    1 => Destination::exchange(&r.str()?),
                    tag => return Err(DecodeError::UnknownTag(tag)),
                };
                let binding = Binding::new(destination, &r.str()?).with_arguments(r.table()?);
                if kind == BOUND {
                    Self::Bound { exchange, binding }
                } else {
                    Self::Unbound { exchange, binding }
                }
            }
            RETAINED => Self::Retained(Arc::new(decode_message(&mut r)?)),
            SESSION_SAVED => Self::SessionSaved(Box::new(session::decode_snapshot(&mut r)?)),
            SESSION_ENDED => Self::SessionEnded {
                client_id: r.str()?,
            },
            SESSION_QUEUED => {
                Self::SessionQueued(Box::new(session::decode_session_message(&mut r)?))
            }
            SESSION_PACKET => Self::SessionPacket {
                client_id: r.str()?,
                id: r.u64()?,
                packet_id: session::packet_id(&mut r)?,
                released: r.bool()?,
            },
            PROBE => Self::Probe,
            SESSION_INCOMING => Self::SessionIncoming {
                client_id: r.str()?,
                packet_id: session::packet_id(&mut r)?,
                taken: r.bool()?,
            },
            SESSION_DONE => Self::SessionDone {
                client_id: r.str()?,
                id: r.u64()?,
            },
            kind => return Err(DecodeError::UnknownTag(kind)),
        };
        if !r.is_empty() {
            return Err(DecodeError::TrailingBytes);
        }
        Ok(record)
    }
}

/// A queue or exchange name.
fn named<T: for<'a> From<&'a str>>(r: &mut Reader) -> Result<T, DecodeError> {
    Ok(T::from(&*r.str()?))
}

/// A queue's parsed arguments as the table they were declared with.
fn arguments_table(config: &QueueConfig) -> FieldTable {
    let a = &config.arguments;
    let mut t = FieldTable::default();
    let int = |n: u64| FieldValue::Int(i64::try_from(n).unwrap_or(i64::MAX));
    let millis = |d: Duration| int(u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
    if let Some(n) = a.max_length {
        t.insert("x-max-length", int(n));
    }
    if let Some(n) = a.max_length_bytes {
        t.insert("x-max-length-bytes", int(n));
    }
    if let Some(o) = a.overflow {
        let name = match o {
            Overflow::DropHead => "drop-head",
            Overflow::RejectPublish => "reject-publish",
            Overflow::RejectPublishDlx => "reject-publish-dlx",
        };
        t.insert("x-overflow", FieldValue::str(name));
    }
    if let Some(d) = a.message_ttl {
        t.insert("x-message-ttl", millis(d));
    }
    if let Some(d) = a.expires {
        t.insert("x-expires", millis(d));
    }
    if let Some(e) = &a.dead_letter_exchange {
        t.insert("x-dead-letter-exchange", FieldValue::str(e.as_str()));
    }
    if let Some(k) = &a.dead_letter_routing_key {
        t.insert("x-dead-letter-routing-key", FieldValue::str(k));
    }
    t
}

/// Milliseconds since the epoch of `instant` (a message's `received_at`), by the wall
/// clock now.
fn wall_millis(instant: Instant) -> u64 {
    let age = Instant::now().saturating_duration_since(instant);
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    u64::try_from(now.saturating_sub(age).as_millis()).unwrap_or(u64::MAX)
}

/// The `Instant` that was `millis` since the epoch by the wall clock (now at the latest).
fn instant_of(millis: u64) -> Instant {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let age = now.saturating_sub(Duration::from_millis(millis));
    let now = Instant::now();
    now.checked_sub(age).unwrap_or(now)
}

fn encode_message(w: &mut Writer<'_>, m: &Message) {
    w.str(&m.topic);
    w.bytes(&m.payload);
    w.u8(m.qos as u8);
    w.bool(m.retain);
    w.str(&m.exchange);
    w.u64(wall_millis(m.received_at));
    let p = &m.properties;
    w.opt(p.payload_format, |w, f| w.u8(f as u8));
    w.opt(p.message_expiry_interval, Writer::u32);
    w.opt(p.content_type.as_deref(), Writer::str);
    w.opt(p.response_topic.as_deref(), Writer::str);
    w.opt(p.correlation_data.as_deref(), Writer::bytes);
    w.u32(u32::try_from(p.user_properties.len()).unwrap_or(u32::MAX));
    for (name, value) in &p.user_properties {
        w.str(name);
        w.str(value);
    }
    w.opt(m.headers.as_deref(), Writer::table);
    w.opt(m.expiration_ms, Writer::u64);
    w.bool(m.persistent);
}

fn decode_message(r: &mut Reader) -> Result<Message, DecodeError> {
    let topic = r.str()?;
    let payload = r.bytes()?;
    let qos = QoS::from_bits(r.u8()?).map_err(|_| DecodeError::UnknownTag(ENQUEUED))?;
    let retain = r.bool()?;
    let exchange = r.str()?;
    let received_at = instant_of(r.u64()?);
    let payload_format = r.opt(|r| match r.u8()? {
        0 => Ok(PayloadFormat::Unspecified),
        1 => Ok(PayloadFormat::Utf8),
        tag => Err(DecodeError::UnknownTag(tag)),
    })?;
    let message_expiry_interval = r.opt(Reader::u32)?;
    let content_type = r.opt(Reader::str)?;
    let response_topic = r.opt(Reader::str)?;
    let correlation_data = r.opt(Reader::bytes)?;
    let count = r.u32()?;
    let mut user_properties = Vec::new();
    for _ in 0..count {
        user_properties.push((r.str()?, r.str()?));
    }
    let headers = r.opt(Reader::table)?.map(Arc::new);
    let expiration_ms = r.opt(Reader::u64)?;
    let persistent = r.bool()?;
    Ok(Message {
        topic,
        payload,
        qos,
        retain,
        properties: Properties {
            payload_format,
            message_expiry_interval,
            content_type,
            response_topic,
            correlation_data,
            user_properties,
        },
        origin: Origin::default(),
        received_at,
        pressure: None,
        exchange,
        headers,
        expiration_ms,
        persistent,
    })
}

#[cfg(test)]
mod tests;
