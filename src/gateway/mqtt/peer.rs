//! The outbound half of an MQTT connection as the core sees it: encodes deliveries for
//! the connection's protocol version, topic aliases and maximum packet size.

use std::cell::RefCell;
use std::collections::HashMap;
use std::num::NonZeroU16;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Instant;

use bytes::BytesMut;
use bytestring::ByteString;
use switchyard_mqtt::{
    Ack, Disconnect, Packet, PacketId, Protocol, Publish, PublishProperties, QoS, ReasonCode,
    TopicName,
};

use crate::core::message::Message;
use crate::core::session::Delivery;
use crate::core::shard::Peer;
use crate::server::outbox::Outbox;

/// Outbound topic aliases (server to client), assigned first come, first served up to
/// the client's Topic Alias Maximum.
#[derive(Debug, Default)]
struct Aliases {
    maximum: u16,
    assigned: HashMap<ByteString, NonZeroU16, ahash::RandomState>,
}

/// An MQTT connection as a target for deliveries.
pub struct MqttPeer {
    protocol: Protocol,
    outbox: Rc<Outbox>,
    /// The client's Maximum Packet Size.
    max_packet_size: usize,
    max_outbound_bytes: usize,
    aliases: RefCell<Aliases>,
}

impl MqttPeer {
    /// A peer for a connection that completed CONNECT.
    pub fn new(
        protocol: Protocol,
        outbox: Rc<Outbox>,
        max_packet_size: Option<u32>,
        topic_alias_maximum: u16,
        max_outbound_bytes: usize,
    ) -> Self {
        Self {
            protocol,
            outbox,
            max_packet_size: max_packet_size.map_or(usize::MAX, |m| m as usize),
            max_outbound_bytes,
            aliases: RefCell::new(Aliases {
                maximum: topic_alias_maximum,
                ..Aliases::default()
            }),
        }
    }

    /// Encodes a packet into the outbox; false if it could not be (too large, closed).
    pub fn send(&self, packet: &Packet) -> bool {
        let (protocol, max) = (self.protocol, self.max_packet_size);
        self.outbox
            .push(|buf| packet.encode_limited(protocol, buf, max).is_ok())
            .unwrap_or(false)
    }

    fn alias_for(&self, topic: &ByteString) -> (bool, Option<NonZeroU16>) {
        let mut aliases = self.aliases.borrow_mut();
        if let Some(&alias) = aliases.assigned.get(topic) {
            return (true, Some(alias));
        }
        let next = aliases.assigned.len() + 1;
        if next <= usize::from(aliases.maximum) {
            let alias = NonZeroU16::new(u16::try_from(next).unwrap_or(0));
            if let Some(alias) = alias {
                aliases.assigned.insert(topic.clone(), alias);
            }
            return (false, alias);
        }
        (false, None)
    }
}

/// The PUBLISH last encoded on this shard: a fan-out encodes a message once per
/// (version, QoS, retain) and copies the bytes to each subscriber, patching the packet
/// identifier.
struct Encoded {
    message: Arc<Message>,
    protocol: Protocol,
    qos: QoS,
    retain: bool,
    bytes: BytesMut,
    /// Where the packet identifier sits in `bytes` (QoS 1 and 2).
    packet_id_at: Option<usize>,
}

thread_local! {
    static LAST_ENCODED: RefCell<Option<Encoded>> = const { RefCell::new(None) };
}

/// Where a PUBLISH's packet identifier is: after the fixed header and the topic.
fn packet_id_offset(bytes: &[u8]) -> Option<usize> {
    let mut at = 1;
    loop {
        let b = *bytes.get(at)?;
        at += 1;
        if b & 0x80 == 0 {
            break;
        }
    }
    let len = u16::from_be_bytes([*bytes.get(at)?, *bytes.get(at + 1)?]);
    Some(at + 2 + usize::from(len))
}

impl MqttPeer {
    /// Sends a delivery whose bytes are the same for every subscriber of this version,
    /// QoS and retain flag (no alias, no subscription identifier, no expiry countdown):
    /// encoded once per fan-out. `None` when it is not such a delivery.
    fn send_shared(&self, delivery: &Delivery, packet_id: Option<PacketId>) -> Option<bool> {
        let message = &delivery.message;
        let v5 = self.protocol == Protocol::V5;
        if v5
            && (self.aliases.borrow().maximum > 0
                || !delivery.subscription_ids.is_empty()
                || message.properties.message_expiry_interval.is_some())
        {
            return None;
        }
        LAST_ENCODED.with(|last| {
            let mut last = last.borrow_mut();
            let hit = last.as_ref().is_some_and(|e| {
                Arc::ptr_eq(&e.message, message)
                    && e.protocol == self.protocol
                    && e.qos == delivery.qos
                    && e.retain == delivery.retain
            });
            if !hit {
                let topic = TopicName::new(message.topic.clone()).ok()?;
                let mut publish = Publish::new(topic, delivery.qos, message.payload.clone());
                publish.retain = delivery.retain;
                // A placeholder, patched per subscriber.
                publish.packet_id = packet_id;
                if v5 {
                    publish.properties = publish_properties(message, None, None, Vec::new()).into();
                }
                let mut bytes = BytesMut::new();
                Packet::Publish(publish)
                    .encode(self.protocol, &mut bytes)
                    .ok()?;
                let packet_id_at = packet_id.and_then(|_| packet_id_offset(&bytes));
                *last = Some(Encoded {
                    message: message.clone(),
                    protocol: self.protocol,
                    qos: delivery.qos,
                    retain: delivery.retain,
                    bytes,
                    packet_id_at,
                });
            }
            let encoded = last.as_ref()?;
            if encoded.bytes.len() > self.max_packet_size {
                return Some(false);
            }
            let pushed = self.outbox.push(|buf| {
                let start = buf.len();
                buf.extend_from_slice(&encoded.bytes);
                if let (Some(at), Some(id)) = (encoded.packet_id_at, packet_id)
                    && let Some(slot) = buf.get_mut(start + at..start + at + 2)
                {
                    slot.copy_from_slice(&id.get().to_be_bytes());
                }
            });
            Some(pushed.is_some())
        })
    }
}

/// The MQTT 5 properties a message goes out with.
fn publish_properties(
    message: &Message,
    expiry: Option<std::num::NonZeroU32>,
    topic_alias: Option<NonZeroU16>,
    subscription_identifiers: Vec<std::num::NonZeroU32>,
) -> PublishProperties {
    let p = &message.properties;
    PublishProperties {
        payload_format_indicator: p.payload_format,
        message_expiry_interval: expiry.map(|e| e.get()),
        topic_alias,
        response_topic: p
            .response_topic
            .clone()
            .and_then(|t| TopicName::new(t).ok()),
        correlation_data: p.correlation_data.clone(),
        user_properties: p.user_properties.clone(),
        subscription_identifiers,
        content_type: p.content_type.clone(),
    }
}

impl Peer for MqttPeer {
    fn send_publish(&self, delivery: &Delivery, packet_id: Option<PacketId>, dup: bool) -> bool {
        let message = &delivery.message;
        // The clock only for a message that can expire (a fan-out calls this per
        // subscriber).
        let expiry = match message.properties.message_expiry_interval {
            None => None,
            Some(_) => match message.remaining_expiry(Instant::now()) {
                Ok(expiry) => expiry,
                Err(_) => return false,
            },
        };
        if delivery.qos == QoS::AtMostOnce && self.outbox.backlog() >= self.max_outbound_bytes {
            return false;
        }
        if !dup && let Some(sent) = self.send_shared(delivery, packet_id) {
            return sent;
        }
        let Ok(topic) = TopicName::new(message.topic.clone()) else {
            return false;
        };
        let mut publish = Publish::new(topic, delivery.qos, message.payload.clone());
        publish.packet_id = packet_id;
        publish.dup = dup && packet_id.is_some();
        publish.retain = delivery.retain;
        if self.protocol == Protocol::V5 {
            let (known, topic_alias) = self.alias_for(&message.topic);
            if known {
                publish.topic = TopicName::empty();
            }
            let ids = delivery.subscription_ids.clone();
            publish.properties = publish_properties(message, expiry, topic_alias, ids).into();
        }
        self.send(&Packet::Publish(publish))
    }

    fn send_pubrel(&self, packet_id: PacketId) {
        self.send(&Packet::PubRel(Ack::new(packet_id)));
    }

    fn disconnect(&self, reason: ReasonCode) {
        if self.protocol == Protocol::V5 {
            self.send(&Packet::Disconnect(Disconnect::new(reason)));
        }
        self.outbox.close();
    }
}
