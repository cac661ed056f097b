//! Delivering a message to this shard's MQTT subscribers: one delivery per session with
//! the highest QoS of its matching subscriptions, QoS 0 sent at once (sharing one
//! `Delivery` per fan-out), QoS 1/2 offered to the session (and logged when it is
//! persistent).

use std::sync::Arc;

use bytestring::ByteString;
use switchyard_mqtt::QoS;

use super::{LocalSub, Shard, Target};
use crate::core::message::Message;
use crate::core::session::Delivery;
use crate::core::stats::ShardStats;

impl Shard {
    /// Delivers to this shard's subscribers. Returns the log position of the last
    /// record a persistent session here logged for it, if any.
    pub fn deliver_local(
        &self,
        message: &Arc<Message>,
        plain: bool,
        groups: &[ByteString],
    ) -> Option<crate::store::Lsn> {
        // Collect targets first: delivering borrows the state mutably.
        let mut targets: Vec<Target> = Vec::new();
        let mut group_members: Vec<(ByteString, Vec<Target>)> = Vec::new();
        {
            let state = self.state.borrow();
            let dollar = message.topic.starts_with('$');
            let origin_here = message.origin.shard == self.id && message.origin.session != 0;
            state
                .local
                .for_each_match(message.topic.split('/'), dollar, |sub: &LocalSub| {
                    let o = &sub.entry.options;
                    let target = (
                        sub.session,
                        o.qos,
                        o.retain_as_published,
                        sub.entry.identifier,
                    );
                    match &sub.group {
                        None if plain => {
                            if o.no_local && origin_here && message.origin.session == sub.session {
                                return;
                            }
                            targets.push(target);
                        }
                        None => {}
                        Some(_) => {
                            let key = &sub.filter;
                            if !groups.iter().any(|g| g == key) {
                                return;
                            }
                            match group_members.iter_mut().find(|(k, _)| k == key) {
                                Some((_, members)) => members.push(target),
                                None => group_members.push((key.clone(), vec![target])),
                            }
                        }
                    }
                });
        }
        if !group_members.is_empty() {
            let mut state = self.state.borrow_mut();
            for (key, mut members) in group_members {
                members.sort_unstable_by_key(|m| m.0);
                let turn = state.round_robin.entry(key).or_insert(0);
                *turn = turn.wrapping_add(1);
                if let Some(&member) = members.get(*turn % members.len().max(1)) {
                    targets.push(member);
                }
            }
        }
        // One delivery per session: the highest QoS of its matching subscriptions and
        // every subscription identifier [MQTT-3.3.4-2], [MQTT-3.3.4-3].
        targets.sort_unstable_by_key(|t| t.0);
        let mut logged = None;
        // QoS 0 deliveries are sent at once and share one `Delivery` (one clone of the
        // message per fan-out: a clone per subscriber made every subscriber's delivery
        // bounce the message's reference count between the cores); the counters are
        // added once.
        let mut shared: Option<Delivery> = None;
        let (mut sent, mut dropped) = (0u64, 0u64);
        let mut ids = Vec::new();
        let mut i = 0;
        while let Some(&(session, first_qos, rap, id)) = targets.get(i) {
            let (mut qos, mut retain) = (first_qos, message.retain && rap);
            ids.clear();
            ids.extend(id);
            i += 1;
            while let Some(&(s, q, r, id)) = targets.get(i) {
                if s != session {
                    break;
                }
                qos = qos.max(q);
                retain |= message.retain && r;
                ids.extend(id);
                i += 1;
            }
            qos = qos.min(message.qos);
            if qos == QoS::AtMostOnce {
                let delivery = shared.get_or_insert_with(|| Delivery {
                    message: message.clone(),
                    qos,
                    retain,
                    subscription_ids: Vec::new(),
                    log_id: None,
                });
                delivery.retain = retain;
                delivery.subscription_ids.clone_from(&ids);
                if self.send_now_qos0(session, delivery) {
                    sent += 1;
                } else {
                    dropped += 1;
                }
                continue;
            }
            let delivery = Delivery {
                message: message.clone(),
                qos,
                retain,
                subscription_ids: std::mem::take(&mut ids),
                log_id: None,
            };
            logged = self.deliver_to(session, delivery).or(logged);
        }
        let stats = self.stats();
        if sent > 0 {
            ShardStats::add(&stats.messages_sent, sent);
        }
        if dropped > 0 {
            ShardStats::add(&stats.messages_dropped, dropped);
        }
        logged
    }

    /// Sends a QoS 0 delivery to a session's connection, if it has one (QoS 0 is not
    /// queued for offline sessions, as Mosquitto's default); returns whether it went.
    fn send_now_qos0(&self, key: u64, delivery: &Delivery) -> bool {
        let state = self.state.borrow();
        state
            .slots
            .get(&key)
            .and_then(|slot| slot.peer.as_ref())
            .is_some_and(|p| p.send_publish(delivery, None, false))
    }

    /// Hands a delivery to a session: straight to its connection when the window allows,
    /// else into its queue. Returns the log position of its record if a persistent
    /// session logged it.
    pub fn deliver_to(&self, key: u64, delivery: Delivery) -> Option<crate::store::Lsn> {
        let stats = self.stats();
        let mut state = self.state.borrow_mut();
        let slot = state.slots.get_mut(&key)?;
        if delivery.qos == QoS::AtMostOnce {
            drop(state);
            let sent = self.send_now_qos0(key, &delivery);
            ShardStats::add(
                if sent {
                    &stats.messages_sent
                } else {
                    &stats.messages_dropped
                },
                1,
            );
            return None;
        }
        // What a persistent session's log needs (only then: an Arc clone per delivery).
        let logs = slot
            .session
            .logged
            .then(|| (delivery.qos, delivery.message.clone()));
        match slot.session.offer(delivery, slot.peer.is_some()) {
            Ok(Some(inflight)) => {
                let logged = logs.and_then(|(qos, message)| {
                    self.log_offered(slot, Some(&inflight), qos, &message)
                });
                if let Some(peer) = &slot.peer
                    && peer.send_publish(&inflight.delivery, Some(inflight.packet_id), false)
                {
                    ShardStats::add(&stats.messages_sent, 1);
                }
                logged
            }
            Ok(None) => logs.and_then(|(qos, message)| self.log_offered(slot, None, qos, &message)),
            Err(_) => {
                ShardStats::add(&stats.messages_dropped, 1);
                None
            }
        }
    }
}
