//! The records of MQTT persistent sessions: a session's state (subscriptions, expiry,
//! epoch) as a snapshot, and its QoS 1/2 messages as they enter, get a packet
//! identifier, are released (QoS 2 PUBREC) and are done. A session is logged by the
//! shard that holds it; when it moves to another shard, the old shard logs its end and
//! the new one logs it again under a higher epoch, so that recovery can tell which copy
//! is the live one if both logs still hold it.

use std::num::{NonZeroU16, NonZeroU32};
use std::sync::Arc;

use bytestring::ByteString;
use switchyard_mqtt::{PacketId, Protocol, QoS, RetainHandling, SubscriptionOptions};

use super::wire::{DecodeError, Reader, Writer};
use super::{decode_message, encode_message};
use crate::core::message::Message;
use crate::core::session::SubscriptionEntry;

/// A persistent session's state, without its messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionSnapshot {
    /// Client identifier.
    pub client_id: ByteString,
    /// Grows each time the session moves to another shard (see the module's text).
    pub epoch: u64,
    /// Protocol version of its last connection.
    pub protocol: Protocol,
    /// Session Expiry Interval in seconds (u32::MAX: never).
    pub expiry: u32,
    /// Its subscriptions.
    pub subscriptions: Vec<(ByteString, SubscriptionEntry)>,
    /// Incoming QoS 2 packet identifiers whose PUBREL has not come yet (a resent
    /// PUBLISH with one of them is not a new message).
    pub incoming: Vec<u16>,
}

/// A QoS 1/2 message that entered a persistent session.
#[derive(Debug, Clone)]
pub struct SessionMessage {
    /// Client identifier.
    pub client_id: ByteString,
    /// QoS it goes out with.
    pub qos: QoS,
    /// RETAIN flag it goes out with.
    pub retain: bool,
    /// Subscription identifiers it goes out with.
    pub subscription_ids: Vec<NonZeroU32>,
    /// The message.
    pub message: Arc<Message>,
}

pub(super) fn encode_snapshot(w: &mut Writer<'_>, s: &SessionSnapshot) {
    w.str(&s.client_id);
    w.u64(s.epoch);
    w.u8(match s.protocol {
        Protocol::V311 => 4,
        Protocol::V5 => 5,
    });
    w.u32(s.expiry);
    w.u32(u32::try_from(s.subscriptions.len()).unwrap_or(u32::MAX));
    for (filter, entry) in &s.subscriptions {
        let o = &entry.options;
        w.str(filter);
        w.u8(o.qos as u8);
        w.bool(o.no_local);
        w.bool(o.retain_as_published);
        w.u8(o.retain_handling as u8);
        w.u32(entry.identifier.map_or(0, NonZeroU32::get));
    }
    w.u32(u32::try_from(s.incoming.len()).unwrap_or(u32::MAX));
    for id in &s.incoming {
        w.u32(u32::from(*id));
    }
}

pub(super) fn decode_snapshot(r: &mut Reader) -> Result<SessionSnapshot, DecodeError> {
    let client_id = r.str()?;
    let epoch = r.u64()?;
    let protocol = match r.u8()? {
        4 => Protocol::V311,
        5 => Protocol::V5,
        tag => return Err(DecodeError::UnknownTag(tag)),
    };
    let expiry = r.u32()?;
    let count = r.u32()?;
    let mut subscriptions = Vec::new();
    for _ in 0..count {
        let filter = r.str()?;
        let qos = qos(r.u8()?)?;
        let no_local = r.bool()?;
        let retain_as_published = r.bool()?;
        let retain_handling = match r.u8()? {
            0 => RetainHandling::SendAtSubscribe,
            1 => RetainHandling::SendAtNewSubscribe,
            2 => RetainHandling::DoNotSend,
            tag => return Err(DecodeError::UnknownTag(tag)),
        };
        let mut options = SubscriptionOptions::new(qos);
        options.no_local = no_local;
        options.retain_as_published = retain_as_published;
        options.retain_handling = retain_handling;
        let identifier = NonZeroU32::new(r.u32()?);
        subscriptions.push((
            filter,
            SubscriptionEntry {
                options,
                identifier,
            },
        ));
    }
    let count = r.u32()?;
    let mut incoming = Vec::new();
    for _ in 0..count {
        incoming.push(packet_id(r)?.get());
    }
    Ok(SessionSnapshot {
        client_id,
        epoch,
        protocol,
        expiry,
        subscriptions,
        incoming,
    })
}

pub(super) fn encode_session_message(w: &mut Writer<'_>, m: &SessionMessage) {
    w.str(&m.client_id);
    w.u8(m.qos as u8);
    w.bool(m.retain);
    w.u32(u32::try_from(m.subscription_ids.len()).unwrap_or(u32::MAX));
    for id in &m.subscription_ids {
        w.u32(id.get());
    }
    encode_message(w, &m.message);
}

pub(super) fn decode_session_message(r: &mut Reader) -> Result<SessionMessage, DecodeError> {
    let client_id = r.str()?;
    let qos = qos(r.u8()?)?;
    let retain = r.bool()?;
    let count = r.u32()?;
    let mut subscription_ids = Vec::new();
    for _ in 0..count {
        subscription_ids.push(NonZeroU32::new(r.u32()?).ok_or(DecodeError::UnknownTag(0))?);
    }
    let message = Arc::new(decode_message(r)?);
    Ok(SessionMessage {
        client_id,
        qos,
        retain,
        subscription_ids,
        message,
    })
}

pub(super) fn packet_id(r: &mut Reader) -> Result<PacketId, DecodeError> {
    let id = u16::try_from(r.u32()?).map_err(|_| DecodeError::InvalidDefinition)?;
    NonZeroU16::new(id).ok_or(DecodeError::InvalidDefinition)
}

fn qos(bits: u8) -> Result<QoS, DecodeError> {
    QoS::from_bits(bits).map_err(|_| DecodeError::UnknownTag(bits))
}
