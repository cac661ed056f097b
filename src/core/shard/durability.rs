//! The shard's durable log at work: durable queues and their persistent messages are
//! appended as records ([`crate::core::durable::Record`]) as they change, a commit task
//! group-commits everything appended while the previous commit ran, and publisher
//! confirms for logged messages wait until the commit that covers them.
//!
//! What each shard logs: the durable queues homed on it (declare, delete, the persistent
//! messages that enter them and leave them); shard 0 also logs the durable exchanges and
//! the bindings of durable exchanges (every shard applies those changes; one logs them).

use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;

use bytes::{Bytes, BytesMut};

use super::{ConfirmTo, Shard, ShardMsg};
use crate::core::durable::Record;
use crate::core::exchange::QueueName;
use crate::core::message::Hold;
use crate::store::{Log, Lsn, RecordKind};

/// A shard's log, the confirms waiting on it, and what wakes its commit task.
pub struct Durability {
    log: RefCell<Log>,
    /// Confirms of logged messages, in LSN order: released once the LSN is durable.
    waiting: RefCell<VecDeque<(Lsn, ConfirmTo)>>,
    /// MQTT publishers' acknowledgements held until their message is durable.
    holds: RefCell<VecDeque<(Lsn, Hold)>>,
    /// Persistent messages appended but not yet committed, and who holds them, so that
    /// a failed commit can tell their queues and sessions they are not stored.
    uncommitted: RefCell<Vec<(Lsn, Logged)>>,
    scratch: RefCell<BytesMut>,
    kick: flume::Sender<()>,
    kicked: flume::Receiver<()>,
    /// Set while recovered definitions are applied: they are in the log already.
    quiet: std::cell::Cell<bool>,
    /// A compaction in progress: the LSN of the last definition carried forward, and
    /// the LSN below which nothing is needed once that one is durable.
    compaction: std::cell::Cell<Option<(Lsn, Lsn)>>,
    /// The log's segment size.
    segment_size: u64,
    /// Raised by a commit that found the disk full, cleared by the next that succeeds:
    /// meanwhile publishers of persistent messages are held (see [`Shard::alarm_hold`]).
    alarm: std::cell::Cell<bool>,
    /// One hold per publisher held by the alarm.
    alarm_holds: RefCell<Vec<Hold>>,
}

/// Who holds a logged message.
#[derive(Debug, Clone)]
pub(super) enum Logged {
    /// A durable queue homed on this shard.
    Queue(QueueName),
    /// An MQTT persistent session on this shard, by client identifier.
    Session(bytestring::ByteString),
}

/// Segments (the one being written included) past which the log carries its live
/// definitions forward and releases the segments before its oldest live message.
const COMPACT_AT_SEGMENTS: usize = 3;

impl Durability {
    /// Wraps an opened log whose segments hold `segment_size` bytes.
    pub fn new(log: Log, segment_size: u64) -> Self {
        let (kick, kicked) = flume::bounded(1);
        Self {
            log: RefCell::new(log),
            waiting: RefCell::new(VecDeque::new()),
            holds: RefCell::new(VecDeque::new()),
            uncommitted: RefCell::new(Vec::new()),
            scratch: RefCell::new(BytesMut::new()),
            kick,
            kicked,
            quiet: std::cell::Cell::new(false),
            compaction: std::cell::Cell::new(None),
            segment_size,
            alarm: std::cell::Cell::new(false),
            alarm_holds: RefCell::new(Vec::new()),
        }
    }

    fn raise_alarm(&self, why: &str) {
        if !self.alarm.replace(true) {
            tracing::error!(
                "disk alarm: the durable log cannot write ({why}); publishers of persistent messages are held until it can"
            );
        }
    }

    fn clear_alarm(&self, shard: u16) {
        if self.alarm.replace(false) {
            tracing::warn!(shard, "disk alarm cleared: the durable log writes again");
            self.alarm_holds.borrow_mut().clear();
        }
    }

    /// Stops (`true`) or resumes logging vhost changes.
    pub(super) fn quiet(&self, quiet: bool) {
        self.quiet.set(quiet);
    }

    /// Whether vhost changes are not logged now.
    pub(super) fn is_quiet(&self) -> bool {
        self.quiet.get()
    }

    /// Appends a record; `None` if the log refused it (logged).
    fn append(&self, record: &Record) -> Option<Lsn> {
        let mut scratch = self.scratch.borrow_mut();
        scratch.clear();
        record.encode(&mut scratch);
        let (kind, payload) = scratch.split_first()?;
        let kind = RecordKind::new(*kind)?;
        let appended = self.log.borrow_mut().append(kind, payload);
        match appended {
            Ok(lsn) => {
                let _ = self.kick.try_send(());
                Some(lsn)
            }
            Err(error) => {
                if !self.alarm.get() {
                    tracing::error!(%error, "durable log refused a record");
                }
                self.raise_alarm("it refuses records");
                None
            }
        }
    }
}

/// A stored record as [`Record::decode`] reads it: its kind byte, then its payload.
pub fn record_bytes(kind: RecordKind, payload: &[u8]) -> Bytes {
    let mut bytes = BytesMut::with_capacity(payload.len() + 1);
    bytes.extend_from_slice(&[kind.get()]);
    bytes.extend_from_slice(payload);
    bytes.freeze()
}

impl Shard {
    /// Logs a record if this shard keeps a log. Returns its LSN.
    pub(super) fn log(&self, record: &Record) -> Option<Lsn> {
        self.durability.get()?.append(record)
    }

    /// Logs a persistent message entering durable queue `queue`.
    pub(super) fn log_enqueued(&self, record: &Record, queue: &QueueName) -> Option<Lsn> {
        self.log_tracked(record, Logged::Queue(queue.clone()))
    }

    /// Logs a persistent message that `holder` keeps by its LSN.
    pub(super) fn log_tracked(&self, record: &Record, holder: Logged) -> Option<Lsn> {
        let durability = self.durability.get()?;
        let lsn = durability.append(record)?;
        durability.uncommitted.borrow_mut().push((lsn, holder));
        Some(lsn)
    }

    /// Logs the removals a durable queue reported.
    pub(super) fn log_gone(&self, queue: &QueueName, gone: Vec<u64>) {
        for id in gone {
            self.log(&Record::Removed {
                queue: queue.clone(),
                id,
            });
        }
    }

    /// Holds the publisher of `message` while the disk alarm is raised (AMQP and STOMP
    /// publishers stop being read, MQTT ones get no acknowledgement) until a commit
    /// succeeds again.
    pub(super) fn alarm_hold(&self, message: &crate::core::message::Message) {
        let Some(durability) = self.durability.get() else {
            return;
        };
        if !durability.alarm.get() {
            return;
        }
        let Some(pressure) = &message.pressure else {
            return;
        };
        let mut holds = durability.alarm_holds.borrow_mut();
        if !holds.iter().any(|h| h.is_on(pressure)) {
            holds.push(pressure.hold());
        }
    }

    /// While the disk alarm is raised, appends a record to try the disk again (called
    /// about once a second): the commit that succeeds clears the alarm.
    pub fn probe_disk(&self) {
        if let Some(durability) = self.durability.get()
            && durability.alarm.get()
        {
            durability.append(&Record::Probe);
        }
    }

    /// Sends the confirm for a logged message once the commit that covers `lsn` is done.
    pub(super) fn confirm_when_durable(&self, lsn: Lsn, to: ConfirmTo) {
        if let Some(durability) = self.durability.get() {
            durability.waiting.borrow_mut().push_back((lsn, to));
        } else {
            self.send_confirm(to, true);
        }
    }

    /// Keeps an MQTT publisher's acknowledgement held until `lsn` is durable.
    pub(super) fn hold_until_durable(&self, lsn: Lsn, hold: Hold) {
        if let Some(durability) = self.durability.get() {
            durability.holds.borrow_mut().push_back((lsn, hold));
        }
    }

    /// Tells a publisher's connection whether its publish was taken.
    pub(super) fn send_confirm(&self, to: ConfirmTo, accepted: bool) {
        self.send_now(
            to.shard,
            ShardMsg::Confirmed {
                key: to.key,
                channel: to.channel,
                seq: to.seq,
                accepted,
            },
        );
    }
}

/// Reclaims space after a commit. Definitions (queues, exchanges, bindings) would pin the
/// oldest segments forever, so once the log has [`COMPACT_AT_SEGMENTS`] segments the
/// live ones are appended again; when the commit that covers them is done, every segment
/// wholly before the oldest message still held (or before the carried definitions, if
/// older) is deleted. Replay takes the later copy of a definition as the same one.
async fn compact(shard: &Shard, durability: &Durability) {
    if let Some((last, release)) = durability.compaction.get() {
        if !durability.log.borrow().is_durable(last) {
            return;
        }
        durability.compaction.set(None);
        let release = durability.log.borrow_mut().release_before(release);
        match release.await {
            Ok(n) if n > 0 => {
                tracing::debug!(shard = shard.id(), segments = n, "log segments released")
            }
            Ok(_) => {}
            Err(error) => tracing::warn!(%error, "releasing log segments failed"),
        }
        return;
    }
    if durability.log.borrow().segment_count() < COMPACT_AT_SEGMENTS {
        return;
    }
    // Worth it only if it frees more than it writes: the prefix that would go must hold
    // more than a segment beyond twice the definitions carried (a large retained set
    // must not be rewritten on every commit). The cheap test first.
    let oldest_message = [
        shard.oldest_logged_message(),
        shard.oldest_session_message(),
    ]
    .into_iter()
    .flatten()
    .min();
    let (first_lsn, next_lsn) = {
        let log = durability.log.borrow();
        (log.first_lsn().get(), log.next_lsn().get())
    };
    let freeable = oldest_message.unwrap_or(next_lsn).saturating_sub(first_lsn);
    if freeable <= durability.segment_size {
        return;
    }
    let mut definitions = shard.live_definitions();
    definitions.extend(shard.live_sessions());
    let mut encoded = BytesMut::new();
    definitions.iter().for_each(|r| r.encode(&mut encoded));
    let carried = (encoded.len() + 9 * definitions.len()) as u64;
    if freeable
        <= durability
            .segment_size
            .saturating_add(carried.saturating_mul(2))
    {
        return;
    }
    let mut first = None;
    let mut last = None;
    for record in &definitions {
        let Some(lsn) = durability.append(record) else {
            return;
        };
        first.get_or_insert(lsn);
        last = Some(lsn);
    }
    let next = durability.log.borrow().next_lsn();
    let release = [first, oldest_message.map(Lsn::new)]
        .into_iter()
        .flatten()
        .min()
        .unwrap_or(next);
    durability
        .compaction
        .set(Some((last.unwrap_or(release), release)));
    let _ = durability.kick.try_send(());
}

/// Commits what is still pending as the shard stops: after the commit task's commit in
/// flight, if any (waited for, at most a second), one more.
pub async fn final_commit(shard: &Shard) {
    let Some(durability) = shard.durability.get() else {
        return;
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(1);
    loop {
        let batch = durability.log.borrow_mut().begin_commit();
        match batch {
            Ok(None) => return,
            Ok(Some(batch)) => {
                let outcome = batch.run().await;
                if let Err(error) = durability.log.borrow_mut().finish_commit(outcome) {
                    tracing::error!(%error, shard = shard.id(), "durable log: final commit failed");
                }
                return;
            }
            Err(crate::store::CommitError::InFlight) if std::time::Instant::now() < deadline => {
                compio::time::sleep(std::time::Duration::from_millis(1)).await;
            }
            Err(error) => {
                tracing::error!(%error, shard = shard.id(), "durable log: final commit failed");
                return;
            }
        }
    }
}

/// Commits the shard's log whenever records were appended: one commit (one fsync under
/// the batch policy) covers everything appended while the previous one ran. Confirms
/// waiting on committed records go out; after a failed commit, those waiting on lost
/// records are nacked and their queues forget that the log held them.
pub async fn commit_loop(shard: Rc<Shard>) {
    let Some(durability) = shard.durability.get().cloned() else {
        return;
    };
    while durability.kicked.recv_async().await.is_ok() {
        let batch = durability.log.borrow_mut().begin_commit();
        let result = match batch {
            Ok(None) => continue,
            // Another commit (the final one, as the shard stops) is running: it covers
            // these records.
            Err(crate::store::CommitError::InFlight) => continue,
            Ok(Some(batch)) => {
                let outcome = batch.run().await;
                durability.log.borrow_mut().finish_commit(outcome)
            }
            Err(e) => Err(e),
        };
        match result {
            Ok(_) => {
                durability.clear_alarm(shard.id());
                compact(&shard, &durability).await;
                let log = durability.log.borrow();
                durability
                    .uncommitted
                    .borrow_mut()
                    .retain(|(lsn, _)| !log.is_durable(*lsn));
                let mut released = Vec::new();
                {
                    let mut waiting = durability.waiting.borrow_mut();
                    while waiting.front().is_some_and(|(lsn, _)| log.is_durable(*lsn)) {
                        released.extend(waiting.pop_front().map(|(_, to)| to));
                    }
                }
                {
                    let mut holds = durability.holds.borrow_mut();
                    while holds.front().is_some_and(|(lsn, _)| log.is_durable(*lsn)) {
                        holds.pop_front();
                    }
                }
                drop(log);
                for to in released {
                    shard.send_confirm(to, true);
                }
            }
            Err(error) => {
                tracing::error!(%error, shard = shard.id(), "durable log commit failed");
                if matches!(error, crate::store::CommitError::DiskFull { .. }) {
                    durability.raise_alarm("disk full");
                }
                let lost = error.lost();
                let in_lost = |lsn: &Lsn| lost.as_ref().is_none_or(|r| r.contains(lsn));
                let refused: Vec<ConfirmTo> = {
                    let mut waiting = durability.waiting.borrow_mut();
                    let (out, keep) = waiting.drain(..).partition(|(lsn, _)| in_lost(lsn));
                    *waiting = keep;
                    out.into_iter().map(|(_, to)| to).collect::<Vec<_>>()
                };
                let forgotten: Vec<(Lsn, Logged)> = {
                    let mut uncommitted = durability.uncommitted.borrow_mut();
                    let (out, keep) = uncommitted.drain(..).partition(|(lsn, _)| in_lost(lsn));
                    *uncommitted = keep;
                    out
                };
                for (lsn, holder) in forgotten {
                    match holder {
                        Logged::Queue(queue) => shard.forget_logged(&queue, lsn.get()),
                        Logged::Session(client_id) => {
                            shard.forget_session_logged(&client_id, lsn.get())
                        }
                    }
                }
                // MQTT has no negative PUBACK in 3.1.1: the publisher's connection closes
                // without its held acknowledgements, and the client sends again.
                let failed: Vec<Hold> = {
                    let mut holds = durability.holds.borrow_mut();
                    let (out, keep) = holds.drain(..).partition(|(lsn, _)| in_lost(lsn));
                    *holds = keep;
                    out.into_iter().map(|(_, hold)| hold).collect::<Vec<_>>()
                };
                failed.into_iter().for_each(Hold::fail);
                for to in refused {
                    shard.send_confirm(to, false);
                }
            }
        }
    }
}
