//! The outbound half of an MQTT connection as the core sees it: encodes deliveries for
//! the connection's protocol version, topic aliases and maximum packet size.

use std::cell::RefCell;
use std::collections::HashMap;
use std::num::NonZeroU16;
use std::rc::Rc;
use std::time::Instant;

use bytestring::ByteString;
use switchyard_mqtt::{
    Ack, Disconnect, Packet, PacketId, Protocol, Publish, PublishProperties, QoS, ReasonCode,
    TopicName,
};

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

impl Peer for MqttPeer {
    fn send_publish(&self, delivery: &Delivery, packet_id: Option<PacketId>, dup: bool) -> bool {
        let message = &delivery.message;
        let Ok(expiry) = message.remaining_expiry(Instant::now()) else {
            return false;
        };
        if delivery.qos == QoS::AtMostOnce && self.outbox.backlog() >= self.max_outbound_bytes {
            return false;
        }
        let Ok(topic) = TopicName::new(message.topic.clone()) else {
            return false;
        };
        let mut publish = Publish::new(topic, delivery.qos, message.payload.clone());
        publish.packet_id = packet_id;
        publish.dup = dup && packet_id.is_some();
        publish.retain = delivery.retain;
        if self.protocol == Protocol::V5 {
            let p = &message.properties;
            let (known, topic_alias) = self.alias_for(&message.topic);
            if known {
                publish.topic = TopicName::empty();
            }
            publish.properties = PublishProperties {
                payload_format_indicator: p.payload_format,
                message_expiry_interval: expiry.map(|e| e.get()),
                topic_alias,
                response_topic: p
                    .response_topic
                    .clone()
                    .and_then(|t| TopicName::new(t).ok()),
                correlation_data: p.correlation_data.clone(),
                user_properties: p.user_properties.clone(),
                subscription_identifiers: delivery.subscription_ids.clone(),
                content_type: p.content_type.clone(),
            }
            .into();
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
