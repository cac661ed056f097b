//! MQTT persistent sessions in the shard's durable log (see `core::durable::session`).
//!
//! The shard that holds a persistent session (Session Expiry Interval > 0) logs it: a
//! snapshot of its state whenever it changes (attach, subscribe, unsubscribe, a new
//! expiry), each persistent QoS 1/2 message it takes, the packet identifier a QoS 2
//! message goes out with and its PUBREC, and each message's end (acknowledged, expired,
//! dropped). A session that moves to another shard is ended in this log and logged
//! again, whole, under a higher epoch in the other; recovery keeps the highest epoch.
//!
//! Publishers hear of a message a persistent session took only once it is on disk: an
//! MQTT publisher's PUBACK/PUBREC is held, an AMQP confirm or STOMP receipt waits (see
//! [`Shard::durable_ack`]).

use std::sync::atomic::Ordering;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use bytestring::ByteString;
use switchyard_mqtt::{PacketId, QoS};

use super::durability::Logged;
use super::{ConfirmTo, SessionSlot, Shard, ShardMsg};
use crate::core::durable::{Record, SessionMessage, SessionSnapshot};
use crate::core::message::{Hold, Message};
use crate::core::session::{Delivery, Inflight, OutState, Session};
use crate::core::stats::ShardStats;
use crate::store::Lsn;

/// Whether the log keeps a delivery of a logged session: QoS 1/2 and persistent.
fn keeps(delivery: &Delivery) -> bool {
    delivery.qos != QoS::AtMostOnce && delivery.message.persistent
}

/// A session's epoch when it enters a log: above its last, and above any epoch given
/// before now (the wall clock in microseconds), so that a session that was ended and
/// begun again, or moved back and forth, never comes back older.
fn next_epoch(previous: u64) -> u64 {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX));
    previous.saturating_add(1).max(now)
}

fn snapshot(session: &Session) -> Record {
    let mut subscriptions: Vec<_> = session
        .subscriptions
        .iter()
        .map(|(f, e)| (f.clone(), e.clone()))
        .collect();
    subscriptions.sort_by(|a, b| a.0.cmp(&b.0));
    let mut incoming: Vec<u16> = session.incoming_qos2.iter().copied().collect();
    incoming.sort_unstable();
    Record::SessionSaved(Box::new(SessionSnapshot {
        client_id: session.client_id.clone(),
        epoch: session.epoch,
        protocol: session.protocol,
        expiry: session.expiry_interval,
        subscriptions,
        incoming,
    }))
}

impl Shard {
    /// Whether any shard holds a logged persistent session now (publishers then wait
    /// for the shards they deliver to; see [`Shard::durable_ack`]).
    pub(super) fn durable_sessions(&self) -> bool {
        self.all_stats().durable_sessions.load(Ordering::Relaxed) > 0
    }

    fn count_durable_session(&self, add: bool) {
        let counter = &self.all_stats().durable_sessions;
        if add {
            counter.fetch_add(1, Ordering::Relaxed);
        } else {
            counter.fetch_sub(1, Ordering::Relaxed);
        }
    }

    /// Logs a session's state after a change: a snapshot while it is persistent (the
    /// first one, under a new epoch, with every message it holds), its end once it no
    /// longer is.
    pub(super) fn save_session(&self, key: u64) {
        if self.durability.get().is_none() {
            return;
        }
        let mut state = self.state.borrow_mut();
        let Some(slot) = state.slots.get_mut(&key) else {
            return;
        };
        let session = &mut slot.session;
        match (session.expiry_interval > 0, session.logged) {
            (false, false) => {}
            (false, true) => self.unlog_session(session),
            (true, true) => {
                self.log(&snapshot(session));
            }
            (true, false) => {
                session.epoch = next_epoch(session.epoch);
                session.logged = true;
                self.count_durable_session(true);
                self.log(&snapshot(session));
                let client_id = session.client_id.clone();
                for (delivery, packet) in session.deliveries_mut() {
                    if keeps(delivery) {
                        delivery.log_id = self.log_delivery(&client_id, delivery, packet);
                    }
                }
            }
        }
    }

    /// Saves a session's state if the log holds it (after a subscription changed).
    pub(super) fn resave_session(&self, key: u64) {
        let logged = self.with_session(key, |s| s.logged).unwrap_or(false);
        if logged {
            self.save_session(key);
        }
    }

    /// Logs that `session` (taken out of its slot) is no longer in this log.
    pub(super) fn unlog_session(&self, session: &mut Session) {
        if !session.logged {
            return;
        }
        session.logged = false;
        self.count_durable_session(false);
        self.log(&Record::SessionEnded {
            client_id: session.client_id.clone(),
        });
        for (delivery, _) in session.deliveries_mut() {
            delivery.log_id = None;
        }
    }

    /// Logs a message a logged session holds; returns its log id.
    fn log_delivery(
        &self,
        client_id: &ByteString,
        delivery: &Delivery,
        packet: Option<(PacketId, OutState)>,
    ) -> Option<u64> {
        let record = Record::SessionQueued(Box::new(SessionMessage {
            client_id: client_id.clone(),
            qos: delivery.qos,
            retain: delivery.retain,
            subscription_ids: delivery.subscription_ids.clone(),
            message: delivery.message.clone(),
        }));
        let lsn = self.log_tracked(&record, Logged::Session(client_id.clone()))?;
        if let Some((packet_id, state)) = packet
            && delivery.qos == QoS::ExactlyOnce
        {
            self.log(&Record::SessionPacket {
                client_id: client_id.clone(),
                id: lsn.get(),
                packet_id,
                released: state == OutState::Released,
            });
        }
        Some(lsn.get())
    }

    /// Logs a delivery that session `slot` just took (see [`Session::offer`]): `admitted`
    /// with its window entry, else queued. Returns its LSN.
    pub(super) fn log_offered(
        &self,
        slot: &mut SessionSlot,
        admitted: Option<&Inflight>,
        delivery_qos: QoS,
        message: &Message,
    ) -> Option<Lsn> {
        let session = &mut slot.session;
        if !session.logged || delivery_qos == QoS::AtMostOnce || !message.persistent {
            return None;
        }
        let (delivery, packet) = match admitted {
            Some(i) => (i.delivery.clone(), Some((i.packet_id, i.state))),
            None => (session.last_queued()?.clone(), None),
        };
        let logged = self.log_delivery(&session.client_id, &delivery, packet);
        // While the disk alarm is raised (or was just raised by a refused append), the
        // publisher is held: no acknowledgement for what the log does not have.
        self.alarm_hold(message);
        let id = logged?;
        session.set_last_log_id(admitted.is_some(), id);
        Some(Lsn::new(id))
    }

    /// Logs that a session's message is done.
    pub(super) fn log_session_done(&self, client_id: &ByteString, id: Option<u64>) {
        if let Some(id) = id {
            self.log(&Record::SessionDone {
                client_id: client_id.clone(),
                id,
            });
        }
    }

    /// Logs the packet identifiers of logged QoS 2 messages that entered the window.
    pub(super) fn log_admitted(&self, client_id: &ByteString, admitted: &[Inflight]) {
        for inflight in admitted {
            if let Some(id) = inflight.delivery.log_id
                && inflight.delivery.qos == QoS::ExactlyOnce
            {
                self.log(&Record::SessionPacket {
                    client_id: client_id.clone(),
                    id,
                    packet_id: inflight.packet_id,
                    released: false,
                });
            }
        }
    }

    /// Logs a QoS 2 message's PUBREC.
    pub(super) fn log_released(&self, client_id: &ByteString, id: u64, packet_id: PacketId) {
        self.log(&Record::SessionPacket {
            client_id: client_id.clone(),
            id,
            packet_id,
            released: true,
        });
    }

    /// A message's record was lost (a failed commit): the session keeps it in memory.
    pub(super) fn forget_session_logged(&self, client_id: &ByteString, id: u64) {
        let mut state = self.state.borrow_mut();
        let Some(&key) = state.by_client.get(client_id) else {
            return;
        };
        if let Some(slot) = state.slots.get_mut(&key) {
            slot.session.forget_logged(id);
        }
    }

    /// What a publisher of `message` waits for from a shard it sends the message to,
    /// when a persistent session there may log it: its MQTT acknowledgement's hold, or
    /// (AMQP, STOMP) its confirm. `None`s when no shard holds a logged session.
    pub(super) fn durable_ack(
        &self,
        message: &Message,
        confirm: Option<ConfirmTo>,
    ) -> (Option<Hold>, Option<ConfirmTo>) {
        if !message.persistent || !self.durable_sessions() {
            return (None, None);
        }
        (self.ack_hold(message), confirm)
    }

    /// A hold on an MQTT publisher's acknowledgement, for a persistent message while
    /// the store is enabled.
    pub(super) fn ack_hold(&self, message: &Message) -> Option<Hold> {
        let pressure = message.pressure.as_ref()?;
        let mqtt = message.origin.session != 0;
        (mqtt && message.persistent && self.durability.get().is_some()).then(|| pressure.hold())
    }

    /// Settles what a publisher waits for once this shard delivered its message: after
    /// the commit that covers `logged`, or now.
    pub(super) fn settle_delivered(
        &self,
        logged: Option<Lsn>,
        hold: Option<Hold>,
        confirm: Option<ConfirmTo>,
    ) {
        match logged {
            Some(lsn) => {
                if let Some(hold) = hold {
                    self.hold_until_durable(lsn, hold);
                }
                if let Some(to) = confirm {
                    self.confirm_when_durable(lsn, to);
                }
            }
            None => {
                if let Some(to) = confirm {
                    self.send_confirm(to, true);
                }
            }
        }
    }

    /// An incoming QoS 2 PUBLISH took packet identifier `id`: returns whether it is new
    /// (else a resend, not a new message). A logged session logs it, and the PUBREC
    /// (held by `pressure`) waits until the log has it, so that a resend after a crash
    /// is still known as one.
    pub fn take_incoming(
        &self,
        key: u64,
        id: PacketId,
        pressure: Option<&std::sync::Arc<crate::core::message::Pressure>>,
    ) -> bool {
        let Some((new, logged)) = self.with_session(key, |s| {
            let new = s.incoming_qos2.insert(id.get());
            (new, (new && s.logged).then(|| s.client_id.clone()))
        }) else {
            return false;
        };
        if let Some(client_id) = logged {
            let record = Record::SessionIncoming {
                client_id,
                packet_id: id,
                taken: true,
            };
            if let Some(lsn) = self.log(&record)
                && let Some(pressure) = pressure
            {
                self.hold_until_durable(lsn, pressure.hold());
            }
        }
        new
    }

    /// PUBREL (or a refused PUBLISH) freed incoming packet identifier `id`: returns
    /// whether it was taken.
    pub fn free_incoming(&self, key: u64, id: PacketId) -> bool {
        let Some((known, logged)) = self.with_session(key, |s| {
            let known = s.incoming_qos2.remove(&id.get());
            (known, (known && s.logged).then(|| s.client_id.clone()))
        }) else {
            return false;
        };
        if let Some(client_id) = logged {
            self.log(&Record::SessionIncoming {
                client_id,
                packet_id: id,
                taken: false,
            });
        }
        known
    }

    /// Sessions' state for compaction to carry forward.
    pub(super) fn live_sessions(&self) -> Vec<Record> {
        let state = self.state.borrow();
        state
            .slots
            .values()
            .filter(|slot| slot.session.logged)
            .map(|slot| snapshot(&slot.session))
            .collect()
    }

    /// The oldest log id a session here holds.
    pub(super) fn oldest_session_message(&self) -> Option<u64> {
        let state = self.state.borrow();
        state
            .slots
            .values()
            .filter(|slot| slot.session.logged)
            .filter_map(|slot| slot.session.oldest_logged())
            .min()
    }

    /// Puts back a session the log held, offline, with its subscriptions and messages,
    /// and claims it at its client id's home shard (which settles, if two logs held it,
    /// which copy lives). Run at start, before any connection.
    pub(super) fn restore_session(&self, replayed: crate::core::durable::ReplayedSession) {
        let Some(saved) = replayed.snapshot else {
            return;
        };
        let mut session = Session::new(
            saved.client_id.clone(),
            saved.protocol,
            1,
            self.limits.max_queued_messages,
            self.limits.backpressure_queued,
        );
        session.epoch = saved.epoch;
        session.expiry_interval = saved.expiry;
        session.logged = true;
        session.incoming_qos2 = replayed.incoming.iter().copied().collect();
        for (id, (m, packet)) in replayed.messages {
            let delivery = Delivery {
                message: m.message,
                qos: m.qos,
                retain: m.retain,
                subscription_ids: m.subscription_ids,
                log_id: Some(id),
            };
            let packet = packet.map(|(packet_id, released)| {
                let state = if released {
                    OutState::Released
                } else {
                    OutState::Published
                };
                (packet_id, state)
            });
            session.restore(delivery, packet);
        }
        let now = Instant::now();
        let expires_at = match saved.expiry {
            u32::MAX => None,
            secs => Some(now + std::time::Duration::from_secs(u64::from(secs))),
        };
        let client_id = saved.client_id;
        let key = {
            let mut state = self.state.borrow_mut();
            state.next_key += 1;
            let key = state.next_key;
            state.by_client.insert(client_id.clone(), key);
            state.slots.insert(
                key,
                Box::new(SessionSlot {
                    session,
                    peer: None,
                    conn: 0,
                    expires_at,
                    pending_will: None,
                }),
            );
            key
        };
        self.count_durable_session(true);
        ShardStats::add(&self.stats().sessions, 1);
        for (filter, entry) in saved.subscriptions {
            self.restore_subscription(key, filter, entry);
        }
        let home = self.home_of(&client_id);
        if home == self.id {
            self.claim_recovered(client_id, saved.epoch, self.id);
        } else {
            self.send_now(
                home,
                ShardMsg::Recovered {
                    client_id,
                    epoch: saved.epoch,
                    shard: self.id,
                },
            );
        }
    }

    /// At a client id's home shard: `shard` recovered the session under `epoch`. The
    /// highest epoch is the live session; a shard holding another copy discards it.
    pub(super) fn claim_recovered(&self, client_id: ByteString, epoch: u64, shard: u16) {
        let loser = {
            let mut state = self.state.borrow_mut();
            match state.recovered_epochs.get(&client_id).copied() {
                Some(best) if best >= epoch => Some(shard),
                previous => {
                    state.recovered_epochs.insert(client_id.clone(), epoch);
                    let before = state.registry.insert(client_id.clone(), shard);
                    previous.and(before)
                }
            }
        };
        if let Some(loser) = loser {
            tracing::info!(client_id = %client_id, shard = loser, "stale copy of a recovered session discarded");
            if loser == self.id {
                self.discard_session(&client_id);
            } else {
                self.send_now(loser, ShardMsg::Discard { client_id });
            }
        }
    }

    /// Drops a session without a will (a stale recovered copy, or one taken over),
    /// removing its subscriptions here and, without waiting, the interest of the other
    /// shards. Returns it.
    pub(super) fn discard_session(&self, client_id: &ByteString) -> Option<Session> {
        let mut session = self.take_session(client_id)?;
        self.unlog_session(&mut session);
        for filter in session.subscriptions.keys() {
            if !self.state.borrow().local_counts.contains_key(filter) {
                self.apply_interest(filter, self.id, false);
                for shard in (0..self.shard_count()).filter(|&s| s != self.id) {
                    self.send_now(
                        shard,
                        ShardMsg::Interest {
                            filter: filter.clone(),
                            shard: self.id,
                            add: false,
                            ack: None,
                        },
                    );
                }
            }
        }
        Some(session)
    }

    /// Start-up is over: what only recovery needed goes.
    pub fn recovery_done(&self) {
        self.state.borrow_mut().recovered_epochs = Default::default();
    }
}
