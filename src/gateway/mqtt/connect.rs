//! Connection state of the MQTT gateway, and CONNECT: authentication, client
//! identifiers, session open and takeover, CONNACK with the server's limits.

use std::collections::HashMap;
use std::num::NonZeroU16;
use std::rc::Rc;
use std::sync::Arc;

use super::backpressure::Backpressure;
use std::time::Duration;

use bytestring::ByteString;
use switchyard_mqtt::{
    ConnAck, ConnAckProperties, Connect, DecodeError, Decoder, Disconnect, Packet, Protocol,
    ReasonCode,
};

use super::{Flow, MqttContext, MqttPeer};
use crate::core::message::Pressure;
use crate::server::outbox::Outbox;

/// The built-in user that exists on the embedded defaults (as RabbitMQ's guest).
const GUEST: (&str, &[u8]) = ("guest", b"guest");

/// A connection after CONNACK.
pub(super) struct Established {
    pub(super) key: u64,
    pub(super) protocol: Protocol,
    pub(super) keep_alive: u16,
    /// Session expiry from CONNECT (MQTT 5 forbids raising it from 0 at DISCONNECT).
    pub(super) expiry: u32,
    /// Inbound topic aliases (client to server).
    pub(super) aliases: HashMap<NonZeroU16, ByteString>,
}

/// Acknowledgements held back from a publisher before its connection stops being read.
const MAX_HELD_ACKS: usize = 1024;

/// One MQTT connection's protocol state.
pub(super) struct Connection {
    pub(super) ctx: Rc<MqttContext>,
    pub(super) outbox: Rc<Outbox>,
    pub(super) id: u64,
    pub(super) state: Option<Established>,
    /// Created by the first QoS 1/2 publish: holds acknowledgements back while a
    /// subscriber holds this client's messages over its queue limit.
    backpressure: Option<Rc<Backpressure>>,
}

impl Connection {
    pub(super) fn new(ctx: Rc<MqttContext>, outbox: Rc<Outbox>, id: u64) -> Self {
        Self {
            ctx,
            outbox,
            id,
            state: None,
            backpressure: None,
        }
    }

    /// This connection's backpressure, created on first use.
    pub(super) fn backpressure(&mut self) -> &Rc<Backpressure> {
        self.backpressure.get_or_insert_with(Backpressure::new)
    }

    /// The gauge to wait on before reading more: a client with more acknowledgements
    /// held back than any windowed client has (paho and Mosquitto's clients keep at most
    /// 20 unacknowledged, whatever Receive Maximum says), or than a subscriber may queue.
    /// Reading stops only then, since it also stops this client's acks for what it
    /// receives.
    pub(super) fn must_stop_reading(&self) -> Option<&Arc<Pressure>> {
        let limit = self
            .ctx
            .shared
            .config
            .mqtt
            .max_queued_messages
            .max(MAX_HELD_ACKS);
        self.backpressure
            .as_ref()
            .filter(|b| b.is_held() && b.held_acks() >= limit)
            .map(|b| b.pressure())
    }

    /// How long to wait for the next bytes once connected: 1.5 times the keep-alive
    /// [MQTT-3.1.2-24], `Some(None)` for no limit; `None` before CONNECT.
    pub(super) fn read_timeout(&self) -> Option<Option<Duration>> {
        let state = self.state.as_ref()?;
        Some(
            (state.keep_alive > 0)
                .then(|| Duration::from_millis(u64::from(state.keep_alive) * 1500)),
        )
    }

    /// Sends a packet in the connection's version (before CONNACK: the given one).
    pub(super) fn send(&self, protocol: Protocol, packet: &Packet) {
        self.outbox.push(|buf| packet.encode(protocol, buf));
    }

    /// Ends the connection from the server side (MQTT 5: DISCONNECT with `reason`).
    pub(super) fn close_with(&self, reason: ReasonCode) {
        if let Some(state) = &self.state
            && state.protocol == Protocol::V5
        {
            self.send(Protocol::V5, &Packet::Disconnect(Disconnect::new(reason)));
        }
        self.outbox.close();
    }

    /// Answers a stream that is not valid MQTT: CONNACK (before CONNACK) or DISCONNECT
    /// (MQTT 5, after) with the error's reason code; MQTT 3.1.1 has only the CONNACK
    /// return codes 1 and 2, otherwise the connection just closes.
    pub(super) fn decode_error(&self, error: DecodeError, protocol: Option<Protocol>) {
        let reason = error.reason_code();
        match (&self.state, protocol) {
            (None, Some(Protocol::V5)) => {
                self.send(
                    Protocol::V5,
                    &Packet::ConnAck(Box::new(ConnAck::new(reason, false))),
                );
            }
            (None, _)
                if matches!(
                    reason,
                    ReasonCode::UnsupportedProtocolVersion | ReasonCode::ClientIdentifierNotValid
                ) =>
            {
                self.send(
                    Protocol::V311,
                    &Packet::ConnAck(Box::new(ConnAck::new(reason, false))),
                );
            }
            (Some(_), _) => self.close_with(reason),
            _ => {}
        }
        self.outbox.close();
    }

    /// Handles CONNECT.
    pub(super) async fn connect(&mut self, connect: Connect, decoder: &mut Decoder) -> Flow {
        let protocol = connect.protocol;
        let config = &self.ctx.shared.config.mqtt;
        let refuse = |this: &Self, reason: ReasonCode| {
            this.send(
                protocol,
                &Packet::ConnAck(Box::new(ConnAck::new(reason, false))),
            );
            this.outbox.close();
            Flow::Close { graceful: true }
        };
        // Enhanced authentication is not offered [MQTT-4.12.0-1].
        if connect.properties.authentication_method.is_some() {
            return refuse(self, ReasonCode::BadAuthenticationMethod);
        }
        match (&connect.username, &connect.password) {
            (None, None) if !config.allow_anonymous => {
                return refuse(self, ReasonCode::NotAuthorized);
            }
            (None, None) => {}
            (Some(user), Some(pass)) if (&**user, &pass[..]) == GUEST => {}
            _ => return refuse(self, ReasonCode::BadUserNameOrPassword),
        }
        // A server that is stopping takes no new session (its sessions' home shards
        // may have stopped answering).
        if self.ctx.shard.is_stopping() {
            return refuse(self, ReasonCode::ServerUnavailable);
        }
        let mut props = ConnAckProperties::default();
        let client_id = if connect.client_id.is_empty() {
            let id = ByteString::from(format!(
                "auto-{:x}-{:x}-{:x}",
                self.ctx.shard.id(),
                self.id,
                self.ctx.shared.started.elapsed().as_nanos()
            ));
            if protocol == Protocol::V5 {
                props.assigned_client_identifier = Some(id.clone());
            }
            id
        } else {
            // Its own allocation: a slice would keep the whole read buffer alive for as
            // long as the session lives.
            ByteString::from(String::from(&*connect.client_id))
        };
        let expiry = match protocol {
            // 3.1.1: a persistent session never expires (Mosquitto's default).
            Protocol::V311 if connect.clean_start => 0,
            Protocol::V311 => u32::MAX,
            Protocol::V5 => connect.properties.session_expiry_interval.unwrap_or(0),
        };
        let expiry = if expiry > config.max_session_expiry {
            props.session_expiry_interval = Some(config.max_session_expiry);
            config.max_session_expiry
        } else {
            expiry
        };
        let mut keep_alive = connect.keep_alive;
        if config.max_keep_alive > 0 && (keep_alive == 0 || keep_alive > config.max_keep_alive) {
            keep_alive = config.max_keep_alive;
            props.server_keep_alive = Some(keep_alive);
        }
        let client_window = connect
            .properties
            .receive_maximum
            .map_or(u16::MAX, NonZeroU16::get);
        let window = client_window.min(config.max_inflight);
        let shard = self.ctx.shard.clone();
        let opened = shard
            .open_session(&client_id, connect.clean_start, protocol, window)
            .await;
        let peer = Rc::new(MqttPeer::new(
            protocol,
            self.outbox.clone(),
            connect.properties.maximum_packet_size.map(|m| m.get()),
            connect.properties.topic_alias_maximum.unwrap_or(0),
            config.max_outbound_bytes,
        ));
        if protocol == Protocol::V5 {
            props.maximum_packet_size = std::num::NonZeroU32::new(config.max_packet_size);
            props.topic_alias_maximum = Some(config.topic_alias_maximum).filter(|&m| m > 0);
            props.retain_available = (!config.retain_available).then_some(false);
        }
        let connack = ConnAck {
            session_present: opened.present,
            reason_code: ReasonCode::Success,
            properties: props,
        };
        peer.send(&Packet::ConnAck(Box::new(connack)));
        decoder.set_max_packet_size(config.max_packet_size);
        // A retained will cannot be kept where retain is unavailable.
        let will = connect
            .will
            .filter(|w| !w.retain || config.retain_available)
            .map(|mut will| {
                // As the client id: not a slice of the read buffer.
                will.payload = bytes::Bytes::copy_from_slice(&will.payload);
                let own: &str = will.topic.as_byte_string();
                if let Ok(topic) = switchyard_mqtt::TopicName::new(ByteString::from(own.to_owned()))
                {
                    will.topic = topic;
                }
                will
            });
        shard.attach(opened.key, self.id, peer, will, expiry);
        self.state = Some(Established {
            key: opened.key,
            protocol,
            keep_alive,
            expiry,
            aliases: HashMap::new(),
        });
        Flow::Continue
    }

    /// The connection is over: detach from the session (publishing the will unless the
    /// client disconnected gracefully).
    pub(super) async fn finish(&mut self, graceful: bool) {
        if let Some(state) = self.state.take() {
            self.ctx.shard.detach(state.key, self.id, graceful).await;
        }
    }
}
