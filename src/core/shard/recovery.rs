//! Starting a shard from its durable log: the log is opened and replayed, the durable
//! queues homed here come back with their messages (marked redelivered), and what every
//! shard must know (queue names, shard 0's durable exchanges and bindings) is handed to
//! the start-up sequence in `server::worker`, which shares it before any connection is
//! accepted.

use std::path::Path;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Instant;

use super::durability::{Durability, record_bytes};
use super::{Shard, VhostChange};
use crate::core::durable::{Record, Replay};
use crate::core::exchange::{Binding, ExchangeDeclare, ExchangeName, QueueName};
use crate::core::mapping::TOPIC_EXCHANGE;
use crate::core::message::Message;
use crate::core::queue::Queue;
use crate::store::{self, OpenError, RecoveryStats, StoreConfig};

/// What a shard found in its log.
#[derive(Debug, Default)]
pub struct Recovered {
    /// The durable queues now homed here: every shard's vhost must learn of them.
    pub queues: Vec<QueueName>,
    /// Durable exchanges (shard 0's log), to declare on every shard.
    pub exchanges: Vec<ExchangeDeclare>,
    /// Bindings of durable exchanges (shard 0's log), to make on every shard once every
    /// queue is known.
    pub bindings: Vec<(ExchangeName, Binding)>,
    /// MQTT retained messages (shard 0's log), to hand to every shard.
    pub retained: Vec<Arc<Message>>,
    /// Messages restored into the queues.
    pub messages: usize,
    /// MQTT persistent sessions restored (a stale copy among them is discarded later).
    pub sessions: usize,
    /// What the log's recovery found (damage skipped, torn tail cut).
    pub stats: RecoveryStats,
    /// Records with a valid checksum that this version could not read (skipped).
    pub undecodable: u64,
}

impl Shard {
    /// Opens this shard's log in `dir`, replays it and restores the durable queues homed
    /// here; from now on the shard logs what changes. Run once, before the shard serves.
    pub async fn open_store(
        &self,
        dir: &Path,
        config: &StoreConfig,
    ) -> Result<Recovered, OpenError> {
        let mut replay = Replay::default();
        let mut undecodable = 0;
        let (log, stats) = store::open(dir, config, |record| {
            match Record::decode(record_bytes(record.kind, record.payload)) {
                Ok(decoded) => replay.apply(record.lsn.get(), decoded),
                Err(error) => {
                    undecodable += 1;
                    tracing::warn!(lsn = %record.lsn, %error, "durable record skipped");
                }
            }
        })
        .await?;
        replay.finish();
        let _ = self
            .durability
            .set(Rc::new(Durability::new(log, config.segment_size)));
        let mut recovered = Recovered {
            stats,
            undecodable,
            exchanges: replay.exchanges.into_values().collect(),
            bindings: replay.bindings,
            retained: replay.retained.into_values().collect(),
            ..Recovered::default()
        };
        recovered.sessions = replay.sessions.len();
        for (_, session) in std::mem::take(&mut replay.sessions) {
            self.restore_session(session);
        }
        let now = Instant::now();
        let mut state = self.state.borrow_mut();
        for (name, replayed) in replay.queues {
            // An exclusive queue belonged to a connection that is gone (RabbitMQ does not
            // recover them either); the next compaction drops its records.
            if replayed.config.exclusive {
                continue;
            }
            if self.home_of(name.as_str()) != self.id {
                // The shard count changed: the queue's home is elsewhere now. Its records
                // stay in this log; it is not served until the count is set back.
                tracing::error!(queue = %name, shard = self.id, "durable queue logged on another shard than its home: not restored (was the shard count changed?)");
                continue;
            }
            let mut queue = Queue::new(replayed.config, now);
            recovered.messages += replayed.messages.len();
            for (lsn, message) in replayed.messages {
                queue.restore(message, lsn);
            }
            state.queues.insert(name.clone(), queue);
            recovered.queues.push(name);
        }
        Ok(recovered)
    }

    /// Applies a recovered definition here (without logging it again) and sends it to
    /// every other shard. A binding whose queue or exchange did not survive (it was not
    /// durable) is dropped, with a debug line.
    pub fn announce_recovered(&self, change: VhostChange) {
        if let VhostChange::Bind { exchange, binding } = &change {
            let bound = self
                .state
                .borrow_mut()
                .vhost
                .bind(exchange.as_str(), binding.clone());
            if let Err(error) = bound {
                tracing::debug!(%error, %exchange, "recovered binding dropped");
                return;
            }
        }
        // (A binding made above is made again: a no-op that keeps the replica's flags.)
        self.apply_recovered(&change);
        for shard in (0..self.shard_count()).filter(|&s| s != self.id) {
            self.send_now(
                shard,
                super::ShardMsg::Vhost {
                    change: Box::new(change.clone()),
                    ack: None,
                },
            );
        }
    }

    /// What this shard's log must keep: its durable queues' declarations and, on shard
    /// 0, the durable exchanges and the bindings of durable sources.
    pub(super) fn live_definitions(&self) -> Vec<Record> {
        let mut state = self.state.borrow_mut();
        let mut records: Vec<Record> = state
            .queues
            .iter()
            .filter(|(_, q)| q.config().durable)
            .map(|(name, q)| Record::QueueDeclared {
                name: name.clone(),
                config: q.config().clone(),
            })
            .collect();
        if self.id == 0 {
            let now = Instant::now();
            records.extend(
                state
                    .retained
                    .matching("#", now)
                    .into_iter()
                    .map(Record::Retained),
            );
            for exchange in state.vhost.exchanges() {
                let durable = exchange.durable() || exchange.name().as_str().starts_with("amq.");
                if exchange.durable() {
                    records.push(Record::ExchangeDeclared(exchange.declaration().clone()));
                }
                if durable {
                    records.extend(exchange.bindings().map(|binding| Record::Bound {
                        exchange: exchange.name().clone(),
                        binding: binding.clone(),
                    }));
                }
            }
        }
        records
    }

    /// The log id of the oldest durable message a queue homed here still holds.
    pub(super) fn oldest_logged_message(&self) -> Option<u64> {
        let state = self.state.borrow();
        state
            .queues
            .values()
            .filter_map(|q| q.oldest_logged())
            .min()
    }

    /// Hands a recovered retained message to this shard (without logging it again) and
    /// to every other shard.
    pub fn announce_retained(&self, message: Arc<Message>) {
        self.quietly(|| self.apply_retained(message.clone()));
        for shard in (0..self.shard_count()).filter(|&s| s != self.id) {
            self.send_now(shard, super::ShardMsg::Retain(message.clone()));
        }
    }

    /// Runs `f` with the logging of vhost changes and retained messages off (what
    /// recovery applies is in the log already).
    fn quietly(&self, f: impl FnOnce()) {
        let durability = self.durability.get();
        durability.inspect(|d| d.quiet(true));
        f();
        durability.inspect(|d| d.quiet(false));
    }

    /// Applies recovered definitions here without logging them again.
    pub fn apply_recovered(&self, change: &VhostChange) {
        self.quietly(|| self.apply_vhost(change));
    }

    /// Logs a vhost change on shard 0, if it concerns durable exchanges: declarations and
    /// deletions, and bindings whose source is durable (built-in exchanges are). A
    /// binding to a queue that is not durable is dropped at recovery, as the queue is.
    pub(super) fn log_vhost(&self, change: &VhostChange) {
        let Some(durability) = self.durability.get() else {
            return;
        };
        if self.id != 0 || durability.is_quiet() {
            return;
        }
        let durable_source = |name: &ExchangeName| {
            name.as_str().starts_with("amq.")
                || name.as_str() == TOPIC_EXCHANGE
                || self
                    .state
                    .borrow()
                    .vhost
                    .exchange(name.as_str())
                    .is_some_and(|e| e.durable())
        };
        let record = match change {
            VhostChange::DeclareExchange(d) if d.durable => Record::ExchangeDeclared(d.clone()),
            VhostChange::DeleteExchange(name) => Record::ExchangeDeleted(name.clone()),
            VhostChange::Bind { exchange, binding } if durable_source(exchange) => Record::Bound {
                exchange: exchange.clone(),
                binding: binding.clone(),
            },
            VhostChange::Unbind { exchange, binding } => Record::Unbound {
                exchange: exchange.clone(),
                binding: binding.clone(),
            },
            _ => return,
        };
        self.log(&record);
    }
}
