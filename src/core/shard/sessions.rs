//! Session life cycle on a shard: opening (with takeover across shards), attaching and
//! detaching connections, subscriptions, acknowledgements, wills, expiry, and the
//! mailbox handler.

use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytestring::ByteString;
use switchyard_mqtt::{LastWill, PacketId, Protocol, ReasonCode};

use super::{Interest, LocalSub, Peer, SessionSlot, Shard, ShardMsg, pattern, split_shared};
use crate::core::message::{Message, Origin, Properties};
use crate::core::session::{OutState, Session, SubscriptionEntry};
use crate::core::stats::ShardStats;

/// The outcome of opening a session for a new connection.
#[derive(Debug, Clone, Copy)]
pub struct Opened {
    /// The session's key on this shard.
    pub key: u64,
    /// Whether an existing session was resumed (CONNACK's Session Present).
    pub present: bool,
}

impl Shard {
    /// Finds or creates the session of `client_id` for a connection on this shard,
    /// taking it over from whichever shard held it, and disconnecting the connection
    /// it had [MQTT-3.1.4-3].
    pub async fn open_session(
        &self,
        client_id: &ByteString,
        clean_start: bool,
        protocol: Protocol,
        window: u16,
    ) -> Opened {
        let home = self.home_of(client_id);
        let previous = if home == self.id {
            self.claim(client_id.clone(), self.id)
        } else {
            let (reply, rx) = flume::bounded(1);
            self.send(
                home,
                ShardMsg::Claim {
                    client_id: client_id.clone(),
                    shard: self.id,
                    reply,
                },
            )
            .await;
            rx.recv_async().await.ok().flatten()
        };
        let mut taken = match previous {
            Some(shard) if shard == self.id => self.take_session(client_id),
            Some(shard) => {
                let (reply, rx) = flume::bounded(1);
                self.send(
                    shard,
                    ShardMsg::Takeover {
                        client_id: client_id.clone(),
                        reply,
                    },
                )
                .await;
                rx.recv_async().await.ok().flatten().map(|s| *s)
            }
            None => None,
        };
        // A taken-over session ends with its connection when that connection's Session
        // Expiry Interval is 0 (MQTT 5: also when it set 0 at DISCONNECT and is still
        // closing), as it does under a clean start.
        let ends = clean_start || taken.as_ref().is_some_and(|s| s.expiry_interval == 0);
        // The will of a taken-over connection: published unless its delay is pending
        // and the session goes on [MQTT-3.1.3-9], [MQTT-3.1.2-8].
        if let Some(session) = taken.as_mut()
            && let Some(will) = session.will.take()
        {
            let delayed = will.properties.will_delay_interval.unwrap_or(0) > 0;
            if ends || !delayed {
                self.publish_will(*will).await;
            }
        }
        if ends && let Some(session) = taken.as_mut() {
            self.unlog_session(session);
        }
        let present = taken.is_some() && !ends;
        let mut session = match taken {
            Some(mut s) if !ends => {
                s.protocol = protocol;
                s.set_window(window);
                s
            }
            _ => Session::new(
                client_id.clone(),
                protocol,
                window,
                self.limits.max_queued_messages,
                self.limits.backpressure_queued,
            ),
        };
        let subscriptions: Vec<_> = session.subscriptions.drain().collect();
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
                    expires_at: None,
                    pending_will: None,
                }),
            );
            key
        };
        ShardStats::add(&self.stats().sessions, 1);
        for (filter, entry) in subscriptions {
            self.subscribe(key, filter, entry).await;
        }
        Opened { key, present }
    }

    /// Removes a session from this shard (for a takeover), with its subscriptions.
    pub(super) fn take_session(&self, client_id: &ByteString) -> Option<Session> {
        let key = self.state.borrow_mut().by_client.remove(client_id)?;
        let slot = self.state.borrow_mut().slots.remove(&key)?;
        if let Some(peer) = &slot.peer {
            peer.disconnect(ReasonCode::SessionTakenOver);
            ShardStats::sub(&self.stats().clients_connected, 1);
        }
        ShardStats::sub(&self.stats().sessions, 1);
        let mut session = slot.session;
        for (filter, entry) in &session.subscriptions {
            self.remove_local(key, filter, entry);
        }
        if let Some((_, will)) = slot.pending_will {
            session.will.get_or_insert(will);
        }
        Some(session)
    }

    /// Records at the home shard that `shard` holds the session; returns the previous
    /// holder.
    pub(super) fn claim(&self, client_id: ByteString, shard: u16) -> Option<u16> {
        self.state.borrow_mut().registry.insert(client_id, shard)
    }

    /// Attaches a connection to its session: sets the will and resends what was in
    /// flight (PUBLISH with DUP, PUBREL), then what was queued [MQTT-4.4.0-1].
    pub fn attach(
        &self,
        key: u64,
        conn: u64,
        peer: Rc<dyn Peer>,
        will: Option<LastWill>,
        expiry: u32,
    ) {
        let stats = self.stats();
        let mut state = self.state.borrow_mut();
        let Some(slot) = state.slots.get_mut(&key) else {
            return;
        };
        slot.session.will = will.map(Box::new);
        slot.session.expiry_interval = expiry;
        slot.pending_will = None;
        slot.expires_at = None;
        slot.conn = conn;
        let expired = slot.session.drop_expired(Instant::now());
        for id in expired {
            self.log_session_done(&slot.session.client_id, Some(id));
        }
        for inflight in slot.session.inflight() {
            match inflight.state {
                OutState::Published => {
                    peer.send_publish(&inflight.delivery, Some(inflight.packet_id), true);
                }
                OutState::Released => peer.send_pubrel(inflight.packet_id),
            }
        }
        let admitted = slot.session.fill_window();
        self.log_admitted(&slot.session.client_id, &admitted);
        for inflight in admitted {
            if peer.send_publish(&inflight.delivery, Some(inflight.packet_id), false) {
                ShardStats::add(&stats.messages_sent, 1);
            }
        }
        slot.peer = Some(peer);
        ShardStats::add(&stats.clients_connected, 1);
        drop(state);
        self.save_session(key);
    }

    /// Sets the Session Expiry Interval a client gave at DISCONNECT (MQTT 5).
    pub fn set_expiry(&self, key: u64, expiry: u32) {
        self.with_session(key, |s| s.expiry_interval = expiry);
        self.save_session(key);
    }

    /// Detaches connection `conn` from its session when the connection ends. A will is
    /// published unless `graceful`; a session with expiry 0 ends now.
    pub async fn detach(&self, key: u64, conn: u64, graceful: bool) {
        let now = Instant::now();
        let (will_now, ends) = {
            let mut state = self.state.borrow_mut();
            let Some(slot) = state.slots.get_mut(&key) else {
                return;
            };
            if slot.conn != conn || slot.peer.is_none() {
                return;
            }
            slot.peer = None;
            slot.session.release_holds();
            ShardStats::sub(&self.stats().clients_connected, 1);
            let expiry = slot.session.expiry_interval;
            let will = slot.session.will.take().filter(|_| !graceful);
            let mut will_now = None;
            if let Some(will) = will {
                let delay = will.properties.will_delay_interval.unwrap_or(0).min(expiry);
                if delay == 0 {
                    will_now = Some(will);
                } else {
                    let at = now + Duration::from_secs(u64::from(delay));
                    slot.pending_will = Some((at, will));
                }
            }
            slot.expires_at = match expiry {
                u32::MAX => None,
                secs => Some(now + Duration::from_secs(u64::from(secs))),
            };
            (will_now, expiry == 0)
        };
        if let Some(will) = will_now {
            self.publish_will(*will).await;
        }
        if ends {
            self.end_session(key).await;
        }
    }

    /// Ends a session: publishes a pending will, removes subscriptions and tells the
    /// client id's home shard.
    async fn end_session(&self, key: u64) {
        let slot = {
            let mut state = self.state.borrow_mut();
            let Some(slot) = state.slots.remove(&key) else {
                return;
            };
            if state.by_client.get(&slot.session.client_id) == Some(&key) {
                state.by_client.remove(&slot.session.client_id);
            }
            slot
        };
        ShardStats::sub(&self.stats().sessions, 1);
        let mut slot = slot;
        self.unlog_session(&mut slot.session);
        for (filter, entry) in &slot.session.subscriptions {
            if let Some(update) = self.remove_local(key, filter, entry) {
                self.broadcast_interest(update, false).await;
            }
        }
        if let Some((_, will)) = slot.pending_will {
            self.publish_will(*will).await;
        }
        let client_id = slot.session.client_id;
        let home = self.home_of(&client_id);
        if home == self.id {
            self.release(&client_id, self.id);
        } else {
            self.send(
                home,
                ShardMsg::Release {
                    client_id,
                    shard: self.id,
                },
            )
            .await;
        }
    }

    pub(super) fn release(&self, client_id: &ByteString, shard: u16) {
        let mut state = self.state.borrow_mut();
        if state.registry.get(client_id) == Some(&shard) {
            state.registry.remove(client_id);
        }
    }

    /// Publishes a will message.
    pub async fn publish_will(&self, will: LastWill) {
        let p = will.properties;
        let message = Message {
            topic: will.topic.as_byte_string().clone(),
            payload: will.payload,
            qos: will.qos,
            retain: will.retain,
            properties: Properties {
                payload_format: p.payload_format_indicator,
                message_expiry_interval: p.message_expiry_interval,
                content_type: p.content_type,
                response_topic: p.response_topic.map(|t| t.as_byte_string().clone()),
                correlation_data: p.correlation_data,
                user_properties: p.user_properties,
            },
            origin: Origin::default(),
            received_at: Instant::now(),
            pressure: None,
            exchange: ByteString::from_static(crate::core::mapping::TOPIC_EXCHANGE),
            headers: None,
            expiration_ms: None,
            persistent: will.qos != switchyard_mqtt::QoS::AtMostOnce,
        };
        self.route(message.shared()).await;
    }

    /// Publishes a message on this shard and sends it to the other shards that want it.
    /// A full mailbox makes the publisher wait.
    pub async fn route(&self, message: Arc<Message>) {
        if let Some(blocked) = self.route_or_wait(message) {
            blocked.await;
        }
    }

    /// [`Shard::route`] without a future in the common case: what a full mailbox did
    /// not take is returned as a boxed future that sends it (in order per shard), for
    /// the publisher to await. A connection's task is as large as its largest await,
    /// so the PUBLISH path, which every connection awaits, holds only a pointer.
    pub fn route_or_wait(
        &self,
        message: Arc<Message>,
    ) -> Option<std::pin::Pin<Box<dyn Future<Output = ()> + '_>>> {
        let mut blocked: Vec<(u16, ShardMsg)> = Vec::new();
        for (shard, msg) in self.publish(message) {
            let Some(tx) = self.mesh.get(usize::from(shard)) else {
                continue;
            };
            // Once a shard's mailbox is full, what follows for it waits behind.
            if blocked.iter().any(|(s, _)| *s == shard) {
                blocked.push((shard, msg));
            } else if let Err(flume::TrySendError::Full(msg)) = tx.try_send(msg) {
                blocked.push((shard, msg));
            }
        }
        if blocked.is_empty() {
            return None;
        }
        Some(Box::pin(async move {
            for (shard, msg) in blocked {
                self.send(shard, msg).await;
            }
        }))
    }

    /// Runs `f` on a session.
    pub fn with_session<R>(&self, key: u64, f: impl FnOnce(&mut Session) -> R) -> Option<R> {
        self.state
            .borrow_mut()
            .slots
            .get_mut(&key)
            .map(|slot| f(&mut slot.session))
    }

    // ---- subscriptions ----------------------------------------------------------------

    /// Adds or replaces a subscription; returns whether it is new (for retain handling
    /// 1). Completes only when every shard routes to it.
    pub async fn subscribe(&self, key: u64, filter: ByteString, entry: SubscriptionEntry) -> bool {
        let Some(pattern) = pattern(&filter) else {
            return false;
        };
        let group = split_shared(&filter).0.map(ByteString::from);
        let (new, first) = {
            let mut state = self.state.borrow_mut();
            let Some(slot) = state.slots.get_mut(&key) else {
                return false;
            };
            let new = slot
                .session
                .subscriptions
                .insert(filter.clone(), entry.clone())
                .is_none();
            let sub = LocalSub {
                session: key,
                filter: filter.clone(),
                group,
                entry,
            };
            state.local.remove(&pattern, &sub);
            state.local.insert(&pattern, sub);
            let mut first = false;
            if new {
                let count = state.local_counts.entry(filter.clone()).or_insert(0);
                *count += 1;
                first = *count == 1;
            }
            (new, first)
        };
        if new {
            ShardStats::add(&self.stats().subscriptions, 1);
        }
        self.resave_session(key);
        if first {
            self.broadcast_interest(filter, true).await;
        }
        new
    }

    /// Puts back a subscription of a recovered session (at start, without waiting for
    /// the other shards, which apply the interest before any connection is accepted).
    pub(super) fn restore_subscription(
        &self,
        key: u64,
        filter: ByteString,
        entry: SubscriptionEntry,
    ) {
        let Some(pattern) = pattern(&filter) else {
            return;
        };
        let group = split_shared(&filter).0.map(ByteString::from);
        let first = {
            let mut state = self.state.borrow_mut();
            let Some(slot) = state.slots.get_mut(&key) else {
                return;
            };
            slot.session
                .subscriptions
                .insert(filter.clone(), entry.clone());
            let sub = LocalSub {
                session: key,
                filter: filter.clone(),
                group,
                entry,
            };
            state.local.insert(&pattern, sub);
            let count = state.local_counts.entry(filter.clone()).or_insert(0);
            *count += 1;
            *count == 1
        };
        ShardStats::add(&self.stats().subscriptions, 1);
        if first {
            self.apply_interest(&filter, self.id, true);
            for shard in (0..self.shard_count()).filter(|&s| s != self.id) {
                self.send_now(
                    shard,
                    ShardMsg::Interest {
                        filter: filter.clone(),
                        shard: self.id,
                        add: true,
                        ack: None,
                    },
                );
            }
        }
    }

    /// Removes a subscription; returns whether it existed.
    pub async fn unsubscribe(&self, key: u64, filter: &ByteString) -> bool {
        let removed = self
            .with_session(key, |s| s.subscriptions.remove(filter))
            .flatten();
        let Some(entry) = removed else { return false };
        self.resave_session(key);
        if let Some(update) = self.remove_local(key, filter, &entry) {
            self.broadcast_interest(update, false).await;
        }
        true
    }

    /// Removes a subscriber from the local trie; returns the filter if this shard lost
    /// its last subscriber on it (the interest update to broadcast).
    fn remove_local(
        &self,
        key: u64,
        filter: &ByteString,
        entry: &SubscriptionEntry,
    ) -> Option<ByteString> {
        let pattern = pattern(filter)?;
        let mut state = self.state.borrow_mut();
        let sub = LocalSub {
            session: key,
            filter: filter.clone(),
            group: None,
            entry: entry.clone(),
        };
        if !state.local.remove(&pattern, &sub) {
            return None;
        }
        ShardStats::sub(&self.stats().subscriptions, 1);
        let count = state.local_counts.get_mut(filter)?;
        *count -= 1;
        if *count > 0 {
            return None;
        }
        state.local_counts.remove(filter);
        Some(filter.clone())
    }

    /// Applies an interest change here and on every other shard, and waits until all
    /// have applied it, so that a publish anywhere after SUBACK reaches the subscriber.
    async fn broadcast_interest(&self, filter: ByteString, add: bool) {
        self.apply_interest(&filter, self.id, add);
        let others = self.shard_count().saturating_sub(1);
        if others == 0 || self.stopping.get() {
            return;
        }
        let (ack, acks) = flume::bounded(usize::from(others));
        for shard in (0..self.shard_count()).filter(|&s| s != self.id) {
            let msg = ShardMsg::Interest {
                filter: filter.clone(),
                shard: self.id,
                add,
                ack: Some(ack.clone()),
            };
            self.send(shard, msg).await;
        }
        drop(ack);
        for _ in 0..others {
            if acks.recv_async().await.is_err() {
                break;
            }
        }
    }

    pub(super) fn apply_interest(&self, filter: &str, shard: u16, add: bool) {
        let Some(pattern) = pattern(filter) else {
            return;
        };
        // A shared subscription is identified by its whole `$share/{group}/{filter}`, the
        // key that deliveries name and local subscribers carry.
        let interest = Interest {
            shard,
            group: split_shared(filter).0.map(|_| ByteString::from(filter)),
        };
        let mut state = self.state.borrow_mut();
        if add {
            state.interest.insert(&pattern, interest);
        } else {
            state.interest.remove(&pattern, &interest);
        }
    }

    // ---- acknowledgements from the client ---------------------------------------------

    /// PUBACK or PUBCOMP from the client: frees a window slot and sends what waited.
    pub fn acknowledge(&self, key: u64, packet_id: PacketId, state: OutState) -> bool {
        let stats = self.stats();
        let mut shard_state = self.state.borrow_mut();
        let Some(slot) = shard_state.slots.get_mut(&key) else {
            return false;
        };
        let done = slot.session.complete(packet_id, state);
        let known = done.is_some();
        if let Some(done) = done {
            self.log_session_done(&slot.session.client_id, done.delivery.log_id);
        }
        if let Some(peer) = &slot.peer {
            let admitted = slot.session.fill_window();
            self.log_admitted(&slot.session.client_id, &admitted);
            for inflight in admitted {
                if peer.send_publish(&inflight.delivery, Some(inflight.packet_id), false) {
                    ShardStats::add(&stats.messages_sent, 1);
                }
            }
        }
        known
    }

    /// PUBREC from the client: returns whether the packet id was an outgoing QoS 2
    /// message (then PUBREL follows).
    pub fn received(&self, key: u64, packet_id: PacketId, reason: ReasonCode) -> bool {
        let mut state = self.state.borrow_mut();
        let Some(slot) = state.slots.get_mut(&key) else {
            return false;
        };
        if reason.is_error() {
            let id = slot.session.abandon(packet_id);
            self.log_session_done(&slot.session.client_id, id);
            return false;
        }
        match slot.session.received(packet_id) {
            Some(Some(id)) => {
                self.log_released(&slot.session.client_id, id, packet_id);
                true
            }
            Some(None) => true,
            None => false,
        }
    }

    // ---- timers -----------------------------------------------------------------------

    /// Disconnects every connection (shutdown).
    pub fn disconnect_all(&self, reason: ReasonCode) {
        let peers: Vec<_> = self
            .state
            .borrow()
            .slots
            .values()
            .filter_map(|s| s.peer.clone())
            .collect();
        for peer in peers {
            peer.disconnect(reason);
        }
    }

    /// Expires offline sessions and publishes wills whose delay passed. Called about
    /// once a second.
    pub async fn sweep(&self, now: Instant) {
        let (wills, expired) = {
            let mut state = self.state.borrow_mut();
            let mut wills = Vec::new();
            let mut expired = Vec::new();
            for (&key, slot) in state.slots.iter_mut() {
                if slot.pending_will.as_ref().is_some_and(|(at, _)| *at <= now)
                    && let Some((_, will)) = slot.pending_will.take()
                {
                    wills.push(will);
                }
                if slot.peer.is_none() && slot.expires_at.is_some_and(|at| at <= now) {
                    expired.push(key);
                }
            }
            (wills, expired)
        };
        for will in wills {
            self.publish_will(*will).await;
        }
        for key in expired {
            self.end_session(key).await;
        }
    }

    /// Sends the retained messages matching a new subscription, as the client's
    /// subscription allows.
    pub fn send_retained(&self, key: u64, filter: &str, entry: &SubscriptionEntry) {
        for message in self.retained_matching(filter) {
            let delivery = crate::core::session::Delivery {
                qos: message.qos.min(entry.options.qos),
                message,
                retain: true,
                subscription_ids: entry.identifier.into_iter().collect(),
                log_id: None,
            };
            self.deliver_to(key, delivery);
        }
    }
}
