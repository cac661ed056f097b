//! MQTT sessions: subscriptions, the outgoing inflight window and queue, incoming QoS 2
//! state, and packet-identifier allocation. Pure state: no I/O, no clock reads.

use std::collections::{HashMap, HashSet, VecDeque};
use std::num::{NonZeroU16, NonZeroU32};
use std::sync::Arc;

use bytestring::ByteString;
use switchyard_mqtt::{LastWill, PacketId, Protocol, QoS, SubscriptionOptions};

use crate::core::message::{Hold, Message};

/// One subscription of a session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscriptionEntry {
    /// Options as the client gave them.
    pub options: SubscriptionOptions,
    /// MQTT 5 subscription identifier.
    pub identifier: Option<NonZeroU32>,
}

/// A message waiting for the client, with the QoS and flags it goes out with.
#[derive(Debug, Clone)]
pub struct Delivery {
    /// The message.
    pub message: Arc<Message>,
    /// QoS granted for this subscriber: min(published, subscribed).
    pub qos: QoS,
    /// RETAIN flag to send.
    pub retain: bool,
    /// Subscription identifiers of the matching subscriptions.
    pub subscription_ids: Vec<NonZeroU32>,
    /// Its id in the shard's durable log, while a persistent session holds it there.
    pub log_id: Option<u64>,
}

/// Where an outgoing QoS 1/2 message stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutState {
    /// PUBLISH sent, waiting for PUBACK (QoS 1) or PUBREC (QoS 2).
    Published,
    /// PUBREC received, PUBREL sent, waiting for PUBCOMP.
    Released,
}

/// An outgoing QoS 1/2 message in the inflight window.
#[derive(Debug, Clone)]
pub struct Inflight {
    /// Its packet identifier.
    pub packet_id: PacketId,
    /// The delivery.
    pub delivery: Delivery,
    /// Its state.
    pub state: OutState,
}

/// A delivery waiting beyond the inflight window; `hold` is set while it is over the
/// queue limit and holds its publisher back.
#[derive(Debug)]
struct Queued {
    delivery: Delivery,
    hold: Option<Hold>,
}

/// Why a delivery was not accepted into the session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// The queue is at its limit.
    QueueFull,
}

/// The state MQTT keeps per client identifier, across connections for persistent
/// sessions.
#[derive(Debug)]
pub struct Session {
    /// Client identifier.
    pub client_id: ByteString,
    /// Protocol version of the last connection.
    pub protocol: Protocol,
    /// Subscriptions by topic filter (shared ones with their `$share/g/` prefix).
    pub subscriptions: HashMap<ByteString, SubscriptionEntry>,
    /// Session Expiry Interval in seconds (u32::MAX: never).
    pub expiry_interval: u32,
    /// The will of the current connection.
    pub will: Option<Box<LastWill>>,
    /// Incoming QoS 2 packet identifiers awaiting PUBREL.
    pub incoming_qos2: HashSet<u16>,
    /// Grows each time the session moves to another shard's log (recovery keeps the
    /// copy with the highest).
    pub epoch: u64,
    /// Whether this shard's durable log holds the session (it is persistent and the
    /// store is enabled).
    pub logged: bool,
    inflight: VecDeque<Inflight>,
    queue: VecDeque<Queued>,
    next_packet_id: u16,
    window: u32,
    max_queued: u32,
    hold_at: u32,
}

impl Session {
    /// A new, empty session that queues at most `max_queued` messages and holds the
    /// publishers of what it receives once `hold_at` are queued while it is connected.
    pub fn new(
        client_id: ByteString,
        protocol: Protocol,
        window: u16,
        max_queued: usize,
        hold_at: usize,
    ) -> Self {
        let max_queued = u32::try_from(max_queued).unwrap_or(u32::MAX);
        let hold_at = u32::try_from(hold_at).unwrap_or(u32::MAX).min(max_queued);
        Self {
            client_id,
            protocol,
            subscriptions: HashMap::new(),
            expiry_interval: 0,
            will: None,
            incoming_qos2: HashSet::new(),
            epoch: 0,
            logged: false,
            inflight: VecDeque::new(),
            queue: VecDeque::new(),
            next_packet_id: 1,
            window: u32::from(window.max(1)),
            max_queued,
            hold_at,
        }
    }

    /// Sets the inflight window for the connection that takes the session over.
    pub fn set_window(&mut self, window: u16) {
        self.window = u32::from(window.max(1));
    }

    /// Messages in the inflight window.
    pub fn inflight(&self) -> impl Iterator<Item = &Inflight> {
        self.inflight.iter()
    }

    /// Messages in the inflight window.
    pub fn inflight_len(&self) -> usize {
        self.inflight.len()
    }

    /// Messages queued beyond the inflight window.
    pub fn queued_len(&self) -> usize {
        self.queue.len()
    }

    /// Offers a QoS 1/2 delivery. When the window has room, it enters it and is
    /// returned with its packet identifier for sending now; otherwise it is queued.
    ///
    /// Over the queue limit, a connected client's delivery is still queued when its
    /// publisher can be held back (backpressure, not loss); otherwise it is refused
    /// (an offline session must not stall publishers: it drops, as Mosquitto does).
    pub fn offer(&mut self, delivery: Delivery, online: bool) -> Result<Option<Inflight>, Refused> {
        if online
            && self.queue.is_empty()
            && self.inflight.len() < self.window as usize
            && let Some(inflight) = self.admit(delivery.clone())
        {
            return Ok(Some(inflight));
        }
        let mut hold = None;
        let queued = self.queue.len();
        match &delivery.message.pressure {
            Some(pressure) if online && queued >= self.hold_at as usize => {
                hold = Some(pressure.hold());
            }
            _ if queued >= self.max_queued as usize => return Err(Refused::QueueFull),
            _ => {}
        }
        self.queue.push_back(Queued { delivery, hold });
        Ok(None)
    }

    /// Lets every held publisher go (the client went offline): the messages stay queued.
    pub fn release_holds(&mut self) {
        for queued in &mut self.queue {
            queued.hold = None;
        }
    }

    /// Moves queued deliveries into the window while it has room; returns those to send.
    pub fn fill_window(&mut self) -> Vec<Inflight> {
        let mut out = Vec::new();
        while self.inflight.len() < self.window as usize {
            let Some(Queued { delivery, hold }) = self.queue.pop_front() else {
                break;
            };
            match self.admit(delivery.clone()) {
                Some(inflight) => out.push(inflight),
                None => {
                    self.queue.push_front(Queued { delivery, hold });
                    break;
                }
            }
        }
        out
    }

    fn admit(&mut self, delivery: Delivery) -> Option<Inflight> {
        let packet_id = self.allocate_packet_id()?;
        let inflight = Inflight {
            packet_id,
            delivery,
            state: OutState::Published,
        };
        self.inflight.push_back(inflight.clone());
        Some(inflight)
    }

    /// A packet identifier not in use by the inflight window [MQTT-2.2.1-3].
    fn allocate_packet_id(&mut self) -> Option<PacketId> {
        for _ in 0..=u16::MAX {
            let id = self.next_packet_id;
            self.next_packet_id = self.next_packet_id.checked_add(1).unwrap_or(1);
            if let Some(id) = NonZeroU16::new(id)
                && !self.inflight.iter().any(|i| i.packet_id == id)
            {
                return Some(id);
            }
        }
        None
    }

    /// PUBACK (QoS 1) or PUBCOMP (QoS 2): the message leaves the window. Returns it if
    /// the identifier was known in the expected state.
    pub fn complete(&mut self, packet_id: PacketId, expect: OutState) -> Option<Inflight> {
        let pos = self.inflight.iter().position(|i| {
            i.packet_id == packet_id
                && i.state == expect
                && (expect == OutState::Released || i.delivery.qos == QoS::AtLeastOnce)
        });
        pos.and_then(|p| self.inflight.remove(p))
    }

    /// PUBREC: the QoS 2 message moves to the released state. Returns its log id
    /// (`Some(None)` if not logged) if known.
    pub fn received(&mut self, packet_id: PacketId) -> Option<Option<u64>> {
        match self.inflight.iter_mut().find(|i| i.packet_id == packet_id) {
            Some(i) if i.delivery.qos == QoS::ExactlyOnce => {
                i.state = OutState::Released;
                Some(i.delivery.log_id)
            }
            _ => None,
        }
    }

    /// PUBREC with an error reason code: the QoS 2 exchange ends [MQTT-4.3.3]. Returns
    /// the message's log id.
    pub fn abandon(&mut self, packet_id: PacketId) -> Option<u64> {
        let pos = self
            .inflight
            .iter()
            .position(|i| i.packet_id == packet_id)?;
        self.inflight.remove(pos)?.delivery.log_id
    }

    /// Drops every queued and inflight message whose expiry passed (before resending
    /// on reconnect, as MQTT 5 section 3.3.2.3.3 asks). Returns the log ids of those
    /// the log held.
    pub fn drop_expired(&mut self, now: std::time::Instant) -> Vec<u64> {
        let mut gone = Vec::new();
        self.inflight.retain(|i| {
            let keep = i.state == OutState::Released || !i.delivery.message.is_expired(now);
            if !keep {
                gone.extend(i.delivery.log_id);
            }
            keep
        });
        self.queue.retain(|q| {
            let keep = !q.delivery.message.is_expired(now);
            if !keep {
                gone.extend(q.delivery.log_id);
            }
            keep
        });
        gone
    }

    /// Every delivery the session holds, in the window first (with its packet
    /// identifier and state), then queued, in order.
    pub fn deliveries_mut(
        &mut self,
    ) -> impl Iterator<Item = (&mut Delivery, Option<(PacketId, OutState)>)> {
        let inflight = self
            .inflight
            .iter_mut()
            .map(|i| (&mut i.delivery, Some((i.packet_id, i.state))));
        inflight.chain(self.queue.iter_mut().map(|q| (&mut q.delivery, None)))
    }

    /// The delivery queued last.
    pub fn last_queued(&self) -> Option<&Delivery> {
        self.queue.back().map(|q| &q.delivery)
    }

    /// Sets the log id of the delivery most recently offered (see [`Session::offer`]).
    pub fn set_last_log_id(&mut self, admitted: bool, log_id: u64) {
        let last = if admitted {
            self.inflight.back_mut().map(|i| &mut i.delivery)
        } else {
            self.queue.back_mut().map(|q| &mut q.delivery)
        };
        if let Some(delivery) = last {
            delivery.log_id = Some(log_id);
        }
    }

    /// The lowest log id the session holds.
    pub fn oldest_logged(&self) -> Option<u64> {
        let inflight = self.inflight.iter().filter_map(|i| i.delivery.log_id).min();
        let queued = self.queue.iter().find_map(|q| q.delivery.log_id);
        inflight.into_iter().chain(queued).min()
    }

    /// Forgets that the log holds the delivery with log id `id` (its record was lost).
    pub fn forget_logged(&mut self, id: u64) {
        for (delivery, _) in self.deliveries_mut() {
            if delivery.log_id == Some(id) {
                delivery.log_id = None;
            }
        }
    }

    /// Puts back a delivery the log held: into the window with its packet identifier
    /// and state when it had one (a QoS 2 message, whose identifier the client may
    /// know), else into the queue (a QoS 1 message gets a new identifier when sent).
    pub fn restore(&mut self, delivery: Delivery, packet: Option<(PacketId, OutState)>) {
        match packet {
            Some((packet_id, state)) if !self.inflight.iter().any(|i| i.packet_id == packet_id) => {
                self.inflight.push_back(Inflight {
                    packet_id,
                    delivery,
                    state,
                });
            }
            _ => self.queue.push_back(Queued {
                delivery,
                hold: None,
            }),
        }
    }

    /// Forgets everything a clean start forgets.
    pub fn clear(&mut self) {
        self.subscriptions.clear();
        self.incoming_qos2.clear();
        self.inflight.clear();
        self.queue.clear();
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;

    fn delivery(qos: QoS) -> Delivery {
        Delivery {
            message: Message::new(ByteString::from("t"), Bytes::new(), qos, false).shared(),
            qos,
            retain: false,
            subscription_ids: Vec::new(),
            log_id: None,
        }
    }

    #[test]
    fn window_then_queue_then_refusal() {
        let mut s = Session::new(ByteString::from("c"), Protocol::V5, 2, 1, 1);
        let a = s.offer(delivery(QoS::AtLeastOnce), true).unwrap().unwrap();
        let b = s.offer(delivery(QoS::AtLeastOnce), true).unwrap().unwrap();
        assert_ne!(a.packet_id, b.packet_id);
        assert!(s.offer(delivery(QoS::AtLeastOnce), true).unwrap().is_none());
        assert_eq!(
            s.offer(delivery(QoS::AtLeastOnce), true).unwrap_err(),
            Refused::QueueFull
        );
        assert!(s.complete(a.packet_id, OutState::Published).is_some());
        assert!(
            s.complete(a.packet_id, OutState::Published).is_none(),
            "acked twice"
        );
        let sent = s.fill_window();
        assert_eq!(sent.len(), 1);
        assert_eq!(s.queued_len(), 0);
        assert_eq!(s.inflight_len(), 2);
    }

    #[test]
    fn a_connected_session_holds_publishers_early_and_drops_only_offline() {
        let pressure = crate::core::message::Pressure::new();
        let held = |qos| {
            let mut d = delivery(qos);
            let mut m = (*d.message).clone();
            m.pressure = Some(pressure.clone());
            d.message = m.shared();
            d
        };
        let mut s = Session::new(ByteString::from("c"), Protocol::V5, 1, 4, 2);
        assert!(s.offer(held(QoS::AtLeastOnce), true).unwrap().is_some());
        for _ in 0..2 {
            assert!(s.offer(held(QoS::AtLeastOnce), true).unwrap().is_none());
        }
        assert_eq!(pressure.held(), 0, "under the hold mark");
        // From 2 queued: held, and queued past the limit of 4 (the publisher waits).
        for _ in 0..4 {
            assert!(s.offer(held(QoS::AtLeastOnce), true).unwrap().is_none());
        }
        assert_eq!((s.queued_len(), pressure.held()), (6, 4));
        s.release_holds();
        assert_eq!(pressure.held(), 0);
        // Offline: queued up to the limit, then refused.
        assert_eq!(
            s.offer(held(QoS::AtLeastOnce), false).unwrap_err(),
            Refused::QueueFull
        );
    }

    #[test]
    fn offline_sessions_queue() {
        let mut s = Session::new(ByteString::from("c"), Protocol::V311, 10, 10, 10);
        assert!(
            s.offer(delivery(QoS::AtLeastOnce), false)
                .unwrap()
                .is_none()
        );
        assert_eq!(s.queued_len(), 1);
        assert_eq!(s.fill_window().len(), 1);
    }

    #[test]
    fn qos2_flow() {
        let mut s = Session::new(ByteString::from("c"), Protocol::V5, 10, 10, 10);
        let i = s.offer(delivery(QoS::ExactlyOnce), true).unwrap().unwrap();
        assert!(
            s.complete(i.packet_id, OutState::Published).is_none(),
            "QoS 2 needs PUBREC first"
        );
        assert!(s.received(i.packet_id).is_some());
        assert!(s.complete(i.packet_id, OutState::Released).is_some());
        assert_eq!(s.inflight_len(), 0);
    }

    #[test]
    fn packet_ids_skip_those_in_use_and_wrap() {
        let mut s = Session::new(ByteString::from("c"), Protocol::V5, u16::MAX, 0, 0);
        s.next_packet_id = u16::MAX;
        let a = s.offer(delivery(QoS::AtLeastOnce), true).unwrap().unwrap();
        let b = s.offer(delivery(QoS::AtLeastOnce), true).unwrap().unwrap();
        assert_eq!((a.packet_id.get(), b.packet_id.get()), (u16::MAX, 1));
    }
}
