//! One shard: the sessions, subscriptions and retained replica of one core, and the
//! messages shards exchange through their bounded mailboxes.
//!
//! A shard is owned by one thread; its state sits in a `RefCell` that is never borrowed
//! across an `.await`. The subscription index is two tries: `local` holds this shard's
//! own subscribers, `interest` (replicated on every shard) says which shards have
//! subscribers for which filters, so that a publish is sent only to shards that want it.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Instant;

use bytestring::ByteString;
use switchyard_mqtt::{PacketId, QoS, ReasonCode};

use crate::core::exchange::{QueueName, Vhost};
use crate::core::message::Message;
use crate::core::queue::Queue;
use crate::core::retained::Retained;
use crate::core::session::{Delivery, Session, SubscriptionEntry};
use crate::core::stats::{ShardStats, Stats};
use crate::core::topic::{Pattern, TopicTrie};

mod dead_letter;
mod delivery;
mod durability;
mod exchanges;
mod fanout;
mod mailbox;
mod queue_life;
mod queues;
mod recovery;
mod session_log;
mod sessions;

pub use durability::{Durability, commit_loop, final_commit, record_bytes};
pub use exchanges::{ConfirmTo, PublishError, Routed, VhostChange};
pub use queues::{Consumer, Declared, Owner, QueueDelivery, QueueOp, QueueReply, Settle};
pub use recovery::Recovered;
pub use sessions::Opened;

/// What a shard can ask of a connected client. The gateway implements it for its
/// protocol; the core never encodes a frame.
pub trait Peer {
    /// Sends a message. `packet_id` is set for QoS 1/2. Returns false if the message
    /// was dropped (QoS 0 over the outbound limit, or larger than the client accepts).
    fn send_publish(&self, delivery: &Delivery, packet_id: Option<PacketId>, dup: bool) -> bool;
    /// Sends PUBREL for an outgoing QoS 2 message (resent on reconnect).
    fn send_pubrel(&self, packet_id: PacketId);
    /// Closes the connection from the server side with a reason (MQTT 5 DISCONNECT).
    fn disconnect(&self, reason: ReasonCode);
}

/// Messages between shards.
#[derive(Debug)]
pub enum ShardMsg {
    /// Deliver a message to this shard's subscribers: the non-shared ones if `plain`,
    /// and one member of each shared-subscription group in `groups`.
    Deliver {
        /// The message.
        message: Arc<Message>,
        /// Deliver to non-shared subscriptions.
        plain: bool,
        /// Shared groups (`$share/{group}/{filter}` keys) this shard serves for it.
        groups: Vec<ByteString>,
        /// An MQTT publisher's acknowledgement, held until a persistent session here
        /// has the message on disk (dropped once delivered if none logs it).
        hold: Option<crate::core::message::Hold>,
        /// Where to report once a persistent session here has it on disk (or none
        /// logs it): publisher confirms and STOMP receipts.
        confirm: Option<ConfirmTo>,
    },
    /// A shard gained its first / lost its last subscriber on a filter.
    Interest {
        /// The filter, with its `$share/{group}/` prefix if shared.
        filter: ByteString,
        /// The shard.
        shard: u16,
        /// Gained (true) or lost.
        add: bool,
        /// Acknowledged once applied.
        ack: Option<flume::Sender<()>>,
    },
    /// A retained message (an empty payload clears the topic).
    Retain(Arc<Message>),
    /// A change to the vhost (queues, bindings), replicated on every shard.
    Vhost {
        /// The change (boxed: mailbox messages stay small).
        change: Box<VhostChange>,
        /// Acknowledged once applied.
        ack: Option<flume::Sender<()>>,
    },
    /// An operation on a queue homed on this shard; the answer goes to `reply`.
    Queue {
        /// The queue.
        queue: QueueName,
        /// The operation (boxed: mailbox messages stay small).
        op: Box<QueueOp>,
        /// Where the answer goes, if anywhere.
        reply: Option<flume::Sender<QueueReply>>,
        /// The connection asking, for exclusive queues (`None`: the server).
        owner: Option<Owner>,
    },
    /// A queue's home shard cancelled a consumer registered on this shard (its queue
    /// was deleted).
    Cancelled {
        /// The consumer's connection's key.
        key: u64,
        /// The queue.
        queue: QueueName,
        /// The consumer tag.
        tag: ByteString,
    },
    /// A delivery from a queue to a consumer registered on this shard.
    Consumed {
        /// The consumer's key.
        key: u64,
        /// The delivery (boxed: mailbox messages stay small).
        delivery: Box<QueueDelivery>,
    },
    /// A message for a queue homed on this shard.
    Enqueue {
        /// The queue.
        queue: QueueName,
        /// The message.
        message: Arc<Message>,
        /// Where to report whether the queue took it (publisher confirms).
        confirm: Option<ConfirmTo>,
        /// An MQTT publisher's acknowledgement, held until the queue's log has the
        /// message (dropped at once if the queue does not log it).
        hold: Option<crate::core::message::Hold>,
    },
    /// A queue's answer to an [`ShardMsg::Enqueue`] with `confirm`.
    Confirmed {
        /// The publisher's connection's key (as registered with
        /// [`Shard::register_consumer`]).
        key: u64,
        /// The publisher's channel.
        channel: u16,
        /// The publish's confirm sequence number.
        seq: u64,
        /// Whether the queue took it (`false`: refused by `x-overflow` reject-publish).
        accepted: bool,
    },
    /// To a client id's home shard: `shard` now holds the client's session; the reply
    /// names the shard that held it before.
    Claim {
        /// Client identifier.
        client_id: ByteString,
        /// The claiming shard.
        shard: u16,
        /// Previous holder.
        reply: flume::Sender<Option<u16>>,
    },
    /// To a client id's home shard: `shard` no longer holds the session.
    Release {
        /// Client identifier.
        client_id: ByteString,
        /// The releasing shard.
        shard: u16,
    },
    /// Hand a session over to another shard, disconnecting its current connection.
    Takeover {
        /// Client identifier.
        client_id: ByteString,
        /// The session, if this shard had it.
        reply: flume::Sender<Option<Box<Session>>>,
    },
    /// To a client id's home shard, at start: `shard` recovered the client's
    /// persistent session from its log under `epoch`.
    Recovered {
        /// Client identifier.
        client_id: ByteString,
        /// The session's epoch in that log.
        epoch: u64,
        /// The shard.
        shard: u16,
    },
    /// From a client id's home shard, at start: the session this shard recovered is a
    /// stale copy (another shard's log has a later one); drop it.
    Discard {
        /// Client identifier.
        client_id: ByteString,
    },
    /// Close every connection and stop.
    Shutdown,
}

/// A subscriber on this shard, as stored in the local trie.
#[derive(Debug, Clone)]
struct LocalSub {
    session: u64,
    filter: ByteString,
    group: Option<ByteString>,
    entry: SubscriptionEntry,
}

impl PartialEq for LocalSub {
    fn eq(&self, other: &Self) -> bool {
        self.session == other.session && self.filter == other.filter
    }
}

/// A matched subscriber: session key, subscribed QoS, retain-as-published, identifier.
type Target = (u64, QoS, bool, Option<std::num::NonZeroU32>);

/// A shard with subscribers for a filter, as stored in the interest trie.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Interest {
    shard: u16,
    /// For a shared subscription, its `$share/{group}/{filter}` key.
    group: Option<ByteString>,
}

/// A session and the connection it is attached to, if any.
pub struct SessionSlot {
    /// The session.
    pub session: Session,
    /// Its connection, while connected.
    pub peer: Option<Rc<dyn Peer>>,
    /// Identifies the attached connection, so that a connection that was taken over
    /// cannot detach its successor.
    pub conn: u64,
    /// When an offline session expires (`None`: never, or while connected).
    pub expires_at: Option<Instant>,
    /// A will waiting for its delay to pass.
    pub pending_will: Option<(Instant, Box<switchyard_mqtt::LastWill>)>,
}

/// Limits that apply to sessions.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Most queued QoS 1/2 messages per session.
    pub max_queued_messages: usize,
    /// Queued messages of a connected session at which its publishers are held.
    pub backpressure_queued: usize,
    /// Ready messages at which a queue holds back its publishers (0: never).
    pub queue_high_water: usize,
}

#[derive(Default)]
struct State {
    /// Sessions by key, boxed: a map grows by doubling, and its spare room costs a
    /// pointer per slot rather than a whole session.
    slots: HashMap<u64, Box<SessionSlot>>,
    by_client: HashMap<ByteString, u64, ahash::RandomState>,
    next_key: u64,
    local: TopicTrie<LocalSub>,
    interest: TopicTrie<Interest>,
    local_counts: HashMap<ByteString, usize, ahash::RandomState>,
    retained: Retained,
    registry: HashMap<ByteString, u16, ahash::RandomState>,
    round_robin: HashMap<ByteString, usize, ahash::RandomState>,
    /// This shard's replica of the vhost: exchanges, bindings, queue names.
    vhost: Vhost,
    /// Whether any queue is bound to `amq.topic` (else an MQTT publish skips the vhost).
    topic_bound: bool,
    /// The queues homed on this shard.
    queues: HashMap<QueueName, Queue<Arc<Message>>, ahash::RandomState>,
    /// Where each consumer of a queue homed here is: (queue, tag) -> (shard, key).
    routes: HashMap<(QueueName, ByteString), (u16, u64), ahash::RandomState>,
    /// Publishers held back by a queue over its high-water mark, by queue.
    holds: HashMap<QueueName, Vec<crate::core::message::Hold>, ahash::RandomState>,
    /// The consumers whose connections are on this shard.
    consumers: HashMap<u64, Rc<dyn Consumer>>,
    /// The owning connections of the exclusive queues homed here.
    owners: HashMap<QueueName, Owner, ahash::RandomState>,
    /// At start, on a client id's home shard: the epoch of the recovered session that
    /// `registry` names (see [`ShardMsg::Recovered`]).
    recovered_epochs: HashMap<ByteString, u64, ahash::RandomState>,
}

/// One shard's state and its mailboxes to every shard.
pub struct Shard {
    id: u16,
    mesh: Vec<flume::Sender<ShardMsg>>,
    limits: Limits,
    stats: Arc<Stats>,
    state: RefCell<State>,
    /// Set at shutdown: connections closing then need no cross-shard bookkeeping.
    stopping: std::cell::Cell<bool>,
    /// The durable log, when the store is enabled (set once, at start).
    durability: std::cell::OnceCell<Rc<Durability>>,
    /// Messages that [`Shard::send_now`] handed to a task (a full mailbox) and that are
    /// not delivered yet.
    sends_in_flight: Rc<std::cell::Cell<usize>>,
}

/// Splits an MQTT filter into its share group (if `$share/{group}/...`) and the filter.
pub fn split_shared(filter: &str) -> (Option<&str>, &str) {
    match filter
        .strip_prefix("$share/")
        .and_then(|rest| rest.split_once('/'))
    {
        Some((group, inner)) => (Some(group), inner),
        None => (None, filter),
    }
}

fn pattern(filter: &str) -> Option<Pattern> {
    Pattern::mqtt(split_shared(filter).1).ok()
}

impl Shard {
    /// A shard with mailboxes to every shard (`mesh[id]` is its own). `None` unless
    /// `id` indexes both `mesh` and `stats`.
    pub fn new(
        id: u16,
        mesh: Vec<flume::Sender<ShardMsg>>,
        limits: Limits,
        stats: Arc<Stats>,
    ) -> Option<Self> {
        let i = usize::from(id);
        (i < mesh.len() && i < stats.shards.len()).then(|| Self {
            id,
            mesh,
            limits,
            stats,
            state: RefCell::new(State::default()),
            stopping: std::cell::Cell::new(false),
            durability: std::cell::OnceCell::new(),
            sends_in_flight: Rc::new(std::cell::Cell::new(0)),
        })
    }

    /// Whether the shard was told to stop.
    pub fn is_stopping(&self) -> bool {
        self.stopping.get()
    }

    /// This shard's index.
    pub fn id(&self) -> u16 {
        self.id
    }

    /// Number of shards.
    pub fn shard_count(&self) -> u16 {
        u16::try_from(self.mesh.len()).unwrap_or(u16::MAX)
    }

    /// This shard's counters.
    #[expect(
        clippy::indexing_slicing,
        reason = "Shard::new checks that id < stats.shards.len()"
    )]
    pub fn stats(&self) -> &ShardStats {
        &self.stats.shards[usize::from(self.id)]
    }

    /// Every shard's counters.
    pub fn all_stats(&self) -> &Arc<Stats> {
        &self.stats
    }

    /// The limits sessions run with.
    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// The home shard of a client identifier, which records where its session lives.
    pub fn home_of(&self, client_id: &str) -> u16 {
        let hash = client_id.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        });
        u16::try_from(hash % self.mesh.len().max(1) as u64).unwrap_or(0)
    }

    /// Sends to a shard's mailbox, waiting while it is full.
    pub async fn send(&self, shard: u16, msg: ShardMsg) {
        if let Some(tx) = self.mesh.get(usize::from(shard)) {
            // A closed mailbox means that shard has stopped: nothing left to deliver to.
            let _ = tx.send_async(msg).await;
        }
    }

    /// Sends without waiting (from mailbox handlers, which must never block on another
    /// shard). A full mailbox gets the message from a spawned task instead.
    pub fn send_now(&self, shard: u16, msg: ShardMsg) {
        let Some(tx) = self.mesh.get(usize::from(shard)) else {
            return;
        };
        if let Err(flume::TrySendError::Full(msg)) = tx.try_send(msg) {
            let tx = tx.clone();
            let in_flight = self.sends_in_flight.clone();
            in_flight.set(in_flight.get() + 1);
            compio::runtime::spawn(async move {
                let _ = tx.send_async(msg).await;
                in_flight.set(in_flight.get().saturating_sub(1));
            })
            .detach();
        }
    }

    /// Messages [`Shard::send_now`] has not delivered yet (their mailbox was full).
    pub fn sends_in_flight(&self) -> usize {
        self.sends_in_flight.get()
    }

    // ---- publishing -------------------------------------------------------------------

    /// Routes a message published on this shard: stores it if retained, delivers it to
    /// local subscribers and returns what to send to other shards.
    pub fn publish(&self, message: Arc<Message>) -> Vec<(u16, ShardMsg)> {
        let mut routed = Routed::default();
        self.publish_into(message, None, &mut routed);
        routed.out
    }

    /// [`Shard::publish`] into `routed`; queues bound to `amq.topic` report to `confirm`
    /// (see [`Shard::publish_routed`]).
    pub(super) fn publish_into(
        &self,
        message: Arc<Message>,
        confirm: Option<ConfirmTo>,
        routed: &mut Routed,
    ) {
        let out = &mut routed.out;
        if message.retain {
            self.apply_retained(message.clone());
            for shard in (0..self.shard_count()).filter(|&s| s != self.id) {
                out.push((shard, ShardMsg::Retain(message.clone())));
            }
        }
        let mut plain = vec![false; self.mesh.len()];
        let mut groups: Vec<(ByteString, Vec<u16>)> = Vec::new();
        {
            let state = self.state.borrow();
            let dollar = message.topic.starts_with('$');
            state.interest.for_each_match(
                message.topic.split('/'),
                dollar,
                |i: &Interest| match &i.group {
                    None => {
                        if let Some(p) = plain.get_mut(usize::from(i.shard)) {
                            *p = true;
                        }
                    }
                    Some(g) => match groups.iter_mut().find(|(name, _)| name == g) {
                        Some((_, shards)) => shards.push(i.shard),
                        None => groups.push((g.clone(), vec![i.shard])),
                    },
                },
            );
        }
        // Each shared group is served by one shard, in turn.
        let mut assigned: Vec<Vec<ByteString>> = vec![Vec::new(); self.mesh.len()];
        {
            let mut state = self.state.borrow_mut();
            for (group, mut shards) in groups {
                shards.sort_unstable();
                shards.dedup();
                let turn = state.round_robin.entry(group.clone()).or_insert(0);
                *turn = turn.wrapping_add(1);
                if let Some(&shard) = shards.get(*turn % shards.len().max(1))
                    && let Some(list) = assigned.get_mut(usize::from(shard))
                {
                    list.push(group);
                }
            }
        }
        let queues = self.topic_queues(&message);
        self.enqueue_routed(queues, &message, confirm, routed);
        for (shard, (plain, groups)) in plain.into_iter().zip(assigned).enumerate() {
            if !plain && groups.is_empty() {
                continue;
            }
            let shard = u16::try_from(shard).unwrap_or(u16::MAX);
            if shard == self.id {
                // A persistent session here that logs the message holds its
                // publisher's acknowledgement until the commit.
                if let Some(lsn) = self.deliver_local(&message, plain, &groups) {
                    routed.pending += usize::from(confirm.is_some());
                    self.settle_delivered(Some(lsn), self.ack_hold(&message), confirm);
                }
            } else {
                let (hold, confirm) = self.durable_ack(&message, confirm);
                routed.pending += usize::from(confirm.is_some());
                routed.out.push((
                    shard,
                    ShardMsg::Deliver {
                        message: message.clone(),
                        plain,
                        groups,
                        hold,
                        confirm,
                    },
                ));
            }
        }
    }

    /// Whether any shard has an MQTT subscriber (or session) whose filter matches `topic`.
    fn has_interest(&self, state: &State, topic: &str) -> bool {
        let mut found = false;
        state
            .interest
            .for_each_match(topic.split('/'), topic.starts_with('$'), |_: &Interest| {
                found = true;
            });
        found
    }

    /// Stores or clears a retained message in this shard's replica.
    pub fn apply_retained(&self, message: Arc<Message>) {
        // Shard 0 logs retained messages (every shard holds them; one logs them).
        if self.id == 0
            && !message.topic.starts_with('$')
            && self.durability.get().is_some_and(|d| !d.is_quiet())
        {
            self.log(&crate::core::durable::Record::Retained(message.clone()));
        }
        let mut state = self.state.borrow_mut();
        state.retained.apply(message);
        if self.id == 0 {
            self.stats.retained.store(
                state.retained.len() as u64,
                std::sync::atomic::Ordering::Relaxed,
            );
        }
    }

    /// Retained messages matching a filter.
    pub fn retained_matching(&self, filter: &str) -> Vec<Arc<Message>> {
        self.state
            .borrow_mut()
            .retained
            .matching(filter, Instant::now())
    }
}
