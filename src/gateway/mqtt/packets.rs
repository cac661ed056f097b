//! Packets after CONNECT: PUBLISH and its acknowledgements, SUBSCRIBE, UNSUBSCRIBE,
//! PINGREQ, DISCONNECT.

use std::sync::Arc;
use std::time::Instant;

use switchyard_mqtt::{
    Ack, Decoder, Disconnect, Packet, Protocol, Publish, QoS, ReasonCode, SubAck, Subscribe,
    UnsubAck, Unsubscribe,
};

use super::Flow;
use super::connect::Connection;
use crate::core::message::{Message, Origin, Properties};
use crate::core::session::{OutState, SubscriptionEntry};
use crate::core::shard::split_shared;
use crate::core::stats::ShardStats;

/// A PUBLISH checked and turned into its core message, waiting to be routed.
struct Prepared {
    message: Option<Arc<Message>>,
    qos: QoS,
    packet_id: Option<switchyard_mqtt::PacketId>,
    allowed: bool,
}

impl Connection {
    /// Handles one decoded packet.
    pub(super) async fn handle(&mut self, packet: Packet, decoder: &mut Decoder) -> Flow {
        let Some(state) = &self.state else {
            return match packet {
                // Rare and large futures are boxed, to keep every idle connection's task small.
                Packet::Connect(connect) => Box::pin(self.connect(*connect, decoder)).await,
                // The decoder lets only CONNECT through first.
                _ => Flow::Close { graceful: false },
            };
        };
        let (key, protocol) = (state.key, state.protocol);
        let shard = self.ctx.shard.clone();
        match packet {
            Packet::Publish(publish) => return self.publish(publish).await,
            Packet::PubAck(ack) => {
                shard.acknowledge(key, ack.packet_id, OutState::Published);
            }
            Packet::PubRec(ack) => {
                let mut rel = Ack::new(ack.packet_id);
                if !shard.received(key, ack.packet_id, ack.reason_code) {
                    if ack.reason_code.is_error() {
                        return Flow::Continue;
                    }
                    rel.reason_code = ReasonCode::PacketIdentifierNotFound;
                }
                self.send(protocol, &Packet::PubRel(rel));
            }
            Packet::PubComp(ack) => {
                shard.acknowledge(key, ack.packet_id, OutState::Released);
            }
            Packet::PubRel(ack) => {
                let known = shard.free_incoming(key, ack.packet_id);
                let mut comp = Ack::new(ack.packet_id);
                if !known {
                    comp.reason_code = ReasonCode::PacketIdentifierNotFound;
                }
                self.send(protocol, &Packet::PubComp(comp));
            }
            Packet::Subscribe(subscribe) => Box::pin(self.subscribe(subscribe)).await,
            Packet::Unsubscribe(unsubscribe) => Box::pin(self.unsubscribe(unsubscribe)).await,
            Packet::PingReq => self.send(protocol, &Packet::PingResp),
            Packet::Disconnect(disconnect) => return self.disconnect(disconnect),
            // A second CONNECT is a protocol error [MQTT-3.1.0-2]; AUTH without enhanced
            // authentication too; the rest are server-to-client packets.
            _ => {
                self.close_with(ReasonCode::ProtocolError);
                return Flow::Close { graceful: false };
            }
        }
        Flow::Continue
    }

    /// PUBLISH: routed, then acknowledged as its QoS asks. The await holds only what
    /// [`Connection::prepare_publish`] left (a connection's task is as large as its
    /// largest await, and PUBLISH is what every connection awaits).
    async fn publish(&mut self, publish: Publish) -> Flow {
        let prepared = match self.prepare_publish(publish) {
            Ok(prepared) => prepared,
            Err(flow) => return flow,
        };
        let shard = self.ctx.shard.clone();
        let blocked = prepared
            .message
            .clone()
            .and_then(|message| shard.route_or_wait(message));
        if let Some(blocked) = blocked {
            blocked.await;
        }
        self.acknowledge_publish(prepared);
        Flow::Continue
    }

    /// Checks a PUBLISH and builds its core message (`None`: a resent QoS 2 message or
    /// a topic the client may not publish to), or says to close.
    fn prepare_publish(&mut self, publish: Publish) -> Result<Prepared, Flow> {
        let Some(state) = &mut self.state else {
            return Err(Flow::Close { graceful: false });
        };
        let key = state.key;
        let config = &self.ctx.shared.config.mqtt;
        let shard = self.ctx.shard.clone();
        ShardStats::add(&shard.stats().messages_received, 1);
        // Topic aliases [MQTT-3.3.2-7] .. [MQTT-3.3.2-12].
        let mut topic = publish.topic.as_byte_string().clone();
        if let Some(alias) = publish.properties.topic_alias {
            if alias.get() > config.topic_alias_maximum {
                self.close_with(ReasonCode::TopicAliasInvalid);
                return Err(Flow::Close { graceful: false });
            }
            if topic.is_empty() {
                match state.aliases.get(&alias) {
                    Some(known) => topic = known.clone(),
                    None => {
                        self.close_with(ReasonCode::ProtocolError);
                        return Err(Flow::Close { graceful: false });
                    }
                }
            } else {
                state.aliases.insert(alias, topic.clone());
            }
        }
        if publish.retain && !config.retain_available {
            self.close_with(ReasonCode::RetainNotSupported);
            return Err(Flow::Close { graceful: false });
        }
        let qos = publish.qos;
        let packet_id = publish.packet_id;
        // QoS 2: a PUBLISH whose id awaits PUBREL is a resend, not a new message.
        let duplicate = match (qos, packet_id) {
            (QoS::ExactlyOnce, Some(id)) => {
                let pressure = self.backpressure().pressure().clone();
                !shard.take_incoming(key, id, Some(&pressure))
            }
            _ => false,
        };
        // Topics starting with $ are the server's to publish [MQTT-4.7.2-1 note].
        let allowed = !topic.starts_with('$');
        let message = if !duplicate && allowed {
            let p = publish.properties.into_inner();
            let message = Message {
                topic,
                payload: publish.payload,
                qos,
                retain: publish.retain,
                properties: Properties {
                    payload_format: p.payload_format_indicator,
                    message_expiry_interval: p.message_expiry_interval,
                    content_type: p.content_type,
                    response_topic: p.response_topic.map(|t| t.as_byte_string().clone()),
                    correlation_data: p.correlation_data,
                    user_properties: p.user_properties,
                },
                origin: Origin {
                    shard: shard.id(),
                    session: key,
                },
                received_at: Instant::now(),
                pressure: (qos != QoS::AtMostOnce).then(|| self.backpressure().pressure().clone()),
                exchange: bytestring::ByteString::from_static(crate::core::mapping::TOPIC_EXCHANGE),
                headers: None,
                expiration_ms: None,
                persistent: qos != QoS::AtMostOnce,
            };
            Some(Arc::new(message))
        } else {
            None
        };
        Ok(Prepared {
            message,
            qos,
            packet_id,
            allowed,
        })
    }

    /// PUBACK or PUBREC for a routed PUBLISH (held while subscribers or the log hold
    /// its message).
    fn acknowledge_publish(&mut self, prepared: Prepared) {
        let Prepared {
            qos,
            packet_id,
            allowed,
            ..
        } = prepared;
        let Some(state) = &self.state else { return };
        let (key, protocol) = (state.key, state.protocol);
        let shard = self.ctx.shard.clone();
        let reason = if allowed {
            ReasonCode::Success
        } else {
            ReasonCode::NotAuthorized
        };
        match (qos, packet_id) {
            (QoS::AtLeastOnce, Some(id)) => {
                let mut ack = Ack::new(id);
                ack.reason_code = reason;
                let outbox = self.outbox.clone();
                self.backpressure()
                    .acknowledge(&outbox, protocol, &Packet::PubAck(ack));
            }
            (QoS::ExactlyOnce, Some(id)) => {
                let mut ack = Ack::new(id);
                ack.reason_code = reason;
                if !allowed {
                    shard.free_incoming(key, id);
                }
                let outbox = self.outbox.clone();
                self.backpressure()
                    .acknowledge(&outbox, protocol, &Packet::PubRec(ack));
            }
            _ => {}
        }
    }

    async fn subscribe(&mut self, subscribe: Subscribe) {
        let Some(state) = &self.state else { return };
        let (key, protocol) = (state.key, state.protocol);
        let shard = self.ctx.shard.clone();
        let identifier = subscribe.properties.subscription_identifier;
        let mut reason_codes = Vec::with_capacity(subscribe.subscriptions.len());
        let mut retained = Vec::new();
        for sub in subscribe.subscriptions {
            let filter = sub.filter.as_byte_string().clone();
            let entry = SubscriptionEntry {
                options: sub.options,
                identifier,
            };
            let shared = protocol == Protocol::V5 && split_shared(&filter).0.is_some();
            let new = shard.subscribe(key, filter.clone(), entry.clone()).await;
            reason_codes.push(ReasonCode::granted(sub.options.qos));
            // Retained messages: never for shared subscriptions; per Retain Handling.
            let send = !shared
                && match sub.options.retain_handling {
                    switchyard_mqtt::RetainHandling::SendAtSubscribe => true,
                    switchyard_mqtt::RetainHandling::SendAtNewSubscribe => new,
                    switchyard_mqtt::RetainHandling::DoNotSend => false,
                };
            if send {
                retained.push((filter, entry));
            }
        }
        let suback = SubAck {
            packet_id: subscribe.packet_id,
            reason_codes,
            properties: Default::default(),
        };
        self.send(protocol, &Packet::SubAck(suback));
        for (filter, entry) in retained {
            let inner = if protocol == Protocol::V5 {
                split_shared(&filter).1
            } else {
                &filter
            };
            shard.send_retained(key, inner, &entry);
        }
    }

    async fn unsubscribe(&mut self, unsubscribe: Unsubscribe) {
        let Some(state) = &self.state else { return };
        let (key, protocol) = (state.key, state.protocol);
        let shard = self.ctx.shard.clone();
        let mut reason_codes = Vec::with_capacity(unsubscribe.filters.len());
        for filter in &unsubscribe.filters {
            let existed = shard.unsubscribe(key, filter.as_byte_string()).await;
            reason_codes.push(if existed {
                ReasonCode::Success
            } else {
                ReasonCode::NoSubscriptionExisted
            });
        }
        let unsuback = UnsubAck {
            packet_id: unsubscribe.packet_id,
            reason_codes,
            properties: Default::default(),
        };
        self.send(protocol, &Packet::UnsubAck(unsuback));
    }

    fn disconnect(&mut self, disconnect: Disconnect) -> Flow {
        let Some(state) = &self.state else {
            return Flow::Close { graceful: false };
        };
        // MQTT 5: a session that had expiry 0 cannot get one at DISCONNECT [MQTT-3.14.2-2].
        if let Some(expiry) = disconnect.properties.session_expiry_interval {
            if state.expiry == 0 && expiry != 0 {
                self.close_with(ReasonCode::ProtocolError);
                return Flow::Close { graceful: false };
            }
            let max = self.ctx.shared.config.mqtt.max_session_expiry;
            self.ctx.shard.set_expiry(state.key, expiry.min(max));
        }
        self.outbox.close();
        // 0x04: disconnect with will message.
        Flow::Close {
            graceful: disconnect.reason_code != ReasonCode::DisconnectWithWillMessage,
        }
    }
}
