//! The log's state: appends (in memory), the commit bookkeeping around
//! [`CommitBatch`], and the release of old segments.

use std::collections::VecDeque;
use std::future::Future;
use std::io;
use std::path::PathBuf;

use compio::fs::File;

use super::commit::{Chunk, CommitBatch, CommitOutcome, Failure};
use super::error::{AppendError, CommitError, is_full};
use super::record::{self, RECORD_HEADER_LEN};
use super::segment::{self, SEGMENT_HEADER_LEN};
use super::{FsyncPolicy, Lsn, RecordKind, StoreConfig};

/// Largest buffer kept for reuse after a commit.
const MAX_SPARE_CAPACITY: usize = 4 * 1024 * 1024;

/// One shard's durable log. Open it with [`open`](super::open).
///
/// Single-threaded like the shard that owns it; no method blocks or does I/O except the
/// futures of [`Log::commit`], [`CommitBatch::run`] and [`Log::release_before`].
#[derive(Debug)]
pub struct Log {
    dir: PathBuf,
    config: StoreConfig,
    /// Segments no longer written to, oldest first.
    sealed: VecDeque<Sealed>,
    /// The segment the last successful commit wrote to.
    active: Active,
    /// Every record below this LSN is durable (per the fsync policy).
    durable: Lsn,
    /// The LSN the next append gets.
    next: Lsn,
    /// The segment the next append goes to, and that segment's length after it.
    tail_base: Lsn,
    tail_len: u64,
    /// Records appended and not yet handed to a commit, per segment.
    pending: Vec<Chunk>,
    /// The LSN range of the commit in flight, if any.
    in_flight: Option<std::ops::Range<Lsn>>,
    poisoned: bool,
    /// Buffers of earlier commits, kept for reuse.
    spare: Vec<Vec<u8>>,
}

/// A segment that is full: its first LSN and the first LSN after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Sealed {
    pub(crate) base: Lsn,
    pub(crate) end: Lsn,
}

/// The segment being written: its base, its open file and its length on disk.
#[derive(Debug)]
pub(crate) struct Active {
    pub(crate) base: Lsn,
    pub(crate) file: File,
    pub(crate) len: u64,
    /// A new log's first segment, not fsynced yet (nor its directory entries): the
    /// first commit does it, so that opening a new log waits for no fsync. Recovery
    /// takes a lost or torn first segment as an empty log.
    pub(crate) unsynced: bool,
}

impl Log {
    /// The log recovered by [`open`](super::open): its sealed segments and the active
    /// one, whose length (after truncation) fixes the next LSN.
    pub(crate) fn recovered(
        dir: PathBuf,
        config: StoreConfig,
        sealed: VecDeque<Sealed>,
        active: Active,
    ) -> Self {
        let next = active
            .base
            .add(active.len.saturating_sub(SEGMENT_HEADER_LEN));
        Self {
            dir,
            config,
            sealed,
            tail_base: active.base,
            tail_len: active.len,
            active,
            durable: next,
            next,
            pending: Vec::new(),
            in_flight: None,
            poisoned: false,
            spare: Vec::new(),
        }
    }

    /// The largest payload one record can carry with this segment size.
    pub fn max_payload(&self) -> usize {
        let room = self
            .config
            .segment_size
            .saturating_sub(SEGMENT_HEADER_LEN + RECORD_HEADER_LEN as u64);
        usize::try_from(room.min(u64::from(u32::MAX))).unwrap_or(usize::MAX)
    }

    /// Adds a record to the log in memory and returns its LSN. Nothing is written until
    /// a commit; the record is durable once [`Log::is_durable`] says so.
    pub fn append(&mut self, kind: RecordKind, payload: &[u8]) -> Result<Lsn, AppendError> {
        if self.poisoned {
            return Err(AppendError::Poisoned);
        }
        let max = self.max_payload();
        if payload.len() > max {
            return Err(AppendError::TooLarge {
                len: payload.len(),
                max,
            });
        }
        let len = (RECORD_HEADER_LEN + payload.len()) as u64;
        if self.tail_len.saturating_add(len) > self.config.segment_size
            && self.tail_len > SEGMENT_HEADER_LEN
        {
            // Roll over: the record opens a new segment named by its LSN.
            self.tail_base = self.next;
            self.tail_len = SEGMENT_HEADER_LEN;
            let mut buf = self.spare.pop().unwrap_or_default();
            buf.extend_from_slice(&segment::encode_header(self.next));
            self.pending.push(Chunk {
                base: self.next,
                offset: 0,
                create: true,
                buf,
            });
        } else if self.pending.last().is_none_or(|c| c.base != self.tail_base) {
            self.pending.push(Chunk {
                base: self.tail_base,
                offset: self.tail_len,
                create: false,
                buf: self.spare.pop().unwrap_or_default(),
            });
        }
        if let Some(chunk) = self.pending.last_mut() {
            record::encode(&mut chunk.buf, kind, payload);
        }
        let lsn = self.next;
        self.next = lsn.add(len);
        self.tail_len += len;
        Ok(lsn)
    }

    /// Every record below this LSN is durable: written and, unless the policy is
    /// [`FsyncPolicy::Never`], fsynced. Hold a record's acknowledgement until
    /// [`Log::is_durable`] is true for its LSN.
    pub fn durable_lsn(&self) -> Lsn {
        self.durable
    }

    /// Whether the record appended at `lsn` is durable.
    pub fn is_durable(&self, lsn: Lsn) -> bool {
        lsn < self.durable
    }

    /// The LSN the next append will get.
    pub fn next_lsn(&self) -> Lsn {
        self.next
    }

    /// The first LSN still on disk: the base of the oldest segment kept.
    pub fn first_lsn(&self) -> Lsn {
        self.sealed.front().map_or(self.active.base, |s| s.base)
    }

    /// Bytes appended and not yet handed to a commit.
    pub fn pending_bytes(&self) -> usize {
        self.pending.iter().map(|c| c.buf.len()).sum()
    }

    /// Whether there are records that no commit has taken yet.
    pub fn has_pending(&self) -> bool {
        !self.pending.is_empty()
    }

    /// Whether an earlier failure poisoned the log (see [`CommitError::Sync`]).
    pub fn is_poisoned(&self) -> bool {
        self.poisoned
    }

    /// The fsync policy in force.
    pub fn fsync_policy(&self) -> FsyncPolicy {
        self.config.fsync
    }

    /// Number of segment files, the active one included.
    pub fn segment_count(&self) -> usize {
        self.sealed.len() + 1
    }

    /// Writes every record appended so far and fsyncs per the policy; returns the new
    /// [`Log::durable_lsn`]. With nothing appended it returns at once. The future must
    /// be run to completion: dropped half-way, it leaves the log refusing commits
    /// ([`CommitError::InFlight`]) until reopened.
    pub async fn commit(&mut self) -> Result<Lsn, CommitError> {
        let Some(batch) = self.begin_commit()? else {
            return Ok(self.durable);
        };
        let outcome = batch.run().await;
        self.finish_commit(outcome)
    }

    /// The first step of a commit: takes every record appended so far into a
    /// [`CommitBatch`], whose [`CommitBatch::run`] does the I/O without borrowing the log,
    /// so appends go on meanwhile (they join the next commit). Hand its outcome to
    /// [`Log::finish_commit`]. `None` when nothing is pending; one batch at a time.
    pub fn begin_commit(&mut self) -> Result<Option<CommitBatch>, CommitError> {
        if self.poisoned {
            return Err(CommitError::Poisoned);
        }
        if self.in_flight.is_some() {
            return Err(CommitError::InFlight);
        }
        if self.pending.is_empty() {
            return Ok(None);
        }
        let range = self.durable..self.next;
        self.in_flight = Some(range.clone());
        Ok(Some(CommitBatch::new(
            self.dir.clone(),
            self.config.fsync,
            &self.active,
            std::mem::take(&mut self.pending),
            range,
        )))
    }

    /// The last step of a commit: applies the outcome of [`CommitBatch::run`] and returns
    /// the new [`Log::durable_lsn`].
    ///
    /// After a failed write, every record appended since the last successful commit
    /// (those appended while the batch ran too) is discarded: the error names their
    /// range, and the next append reuses the first of those LSNs.
    pub fn finish_commit(&mut self, outcome: CommitOutcome) -> Result<Lsn, CommitError> {
        let Some(range) = self.in_flight.take() else {
            return Err(CommitError::InFlight);
        };
        let CommitOutcome {
            result,
            sealed,
            active,
            mut buffers,
        } = outcome;
        // Keep the batch's buffers for the next appends, but not a burst's worth.
        buffers.retain(|buf| buf.capacity() <= MAX_SPARE_CAPACITY);
        for buf in &mut buffers {
            buf.clear();
        }
        self.spare = buffers;
        match result {
            Ok(()) => {
                self.sealed.extend(sealed);
                if let Some(active) = active {
                    self.active = active;
                }
                self.durable = range.end;
                Ok(self.durable)
            }
            Err(Failure::Write(source)) => {
                let discarded = self.durable..self.next;
                self.pending.clear();
                self.next = self.durable;
                self.tail_base = self.active.base;
                self.tail_len = self.active.len;
                tracing::warn!(
                    "durable log {}: write failed ({source}); records {}..{} discarded",
                    self.dir.display(),
                    discarded.start,
                    discarded.end
                );
                Err(if is_full(&source) {
                    CommitError::DiskFull { discarded, source }
                } else {
                    CommitError::Write { discarded, source }
                })
            }
            Err(Failure::Sync(source)) => {
                self.poisoned = true;
                self.pending.clear();
                let unknown = self.durable..self.next;
                tracing::error!(
                    "durable log {}: fsync or clean-up failed ({source}); log poisoned",
                    self.dir.display()
                );
                Err(CommitError::Sync { unknown, source })
            }
        }
    }

    /// Deletes the segments whose records all lie before `lsn`: the caller no longer
    /// needs anything below it. The segment being written is never deleted. Returns a
    /// future (not borrowing the log) that unlinks the files, oldest first, fsyncs the
    /// directory and yields how many were deleted; on an error it stops, and the files
    /// left are found again at the next open.
    pub fn release_before(&mut self, lsn: Lsn) -> impl Future<Output = io::Result<usize>> + use<> {
        let mut doomed = Vec::new();
        while let Some(oldest) = self.sealed.front()
            && oldest.end <= lsn
        {
            doomed.push(segment::path(&self.dir, oldest.base));
            self.sealed.pop_front();
        }
        let dir = self.dir.clone();
        let sync = self.config.fsync != FsyncPolicy::Never;
        async move {
            for path in &doomed {
                compio::fs::remove_file(path).await?;
            }
            if sync && !doomed.is_empty() {
                segment::sync_dir(&dir).await?;
            }
            Ok(doomed.len())
        }
    }
}
