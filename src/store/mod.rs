//! The durable log: one append-only, segmented, checksummed log per shard, with group
//! commit and crash recovery. Durable queues, persistent sessions and retained messages
//! are written to it as records; what a record means is the caller's business.
//!
//! # On disk
//!
//! A shard's log is a directory ([`shard_dir`]) of segment files named by the LSN of
//! their first record, `00000000000000000000.log`, `00000000000067108840.log`, ... Each
//! file starts with a 24-byte header (magic `SWYDLOG\0`, version, crc32c, base LSN) and
//! holds whole records, at most [`StoreConfig::segment_size`] bytes in all:
//!
//! ```text
//! length: u32 LE (payload bytes) | crc32c: u32 LE (over kind and payload) | kind: u8 | payload
//! ```
//!
//! A record's [`Lsn`] is its byte position in the log's record stream (segment headers
//! excluded), so LSNs increase with every append, a segment's file name is its first
//! LSN, and `lsn - base + 24` is the record's offset in its file.
//!
//! # Writing: append, then commit
//!
//! [`Log::append`] only encodes the record into memory and returns its LSN. A commit
//! writes everything appended since the last one with one positional write per segment
//! (through compio, so on the io_uring backend the write and the fsync are ring
//! operations) and, under the default [`FsyncPolicy::Batch`], one `fdatasync`: that is
//! the group commit, once per shard loop iteration. [`Log::durable_lsn`] then moves past
//! the records, and the caller releases the acknowledgements it held for them
//! ([`Log::is_durable`]). A shard that keeps appending while the commit's I/O runs uses
//! the split form, [`Log::begin_commit`], [`CommitBatch::run`], [`Log::finish_commit`]
//! (no borrow of the log is held across the I/O); [`Log::commit`] does all three.
//!
//! # Failures
//!
//! A commit whose write fails (disk full, file too large, any I/O error) truncates what
//! it wrote, deletes a segment it created, and discards every record appended since the
//! last successful commit: the error ([`CommitError`]) carries that LSN range, the
//! caller refuses those publishes, and the LSNs are handed out again. Nothing is retried
//! behind the caller's back. A failed fsync (or a failed clean-up) poisons the log: after
//! an fsync error the page cache may have dropped the data, so no later fsync can be
//! trusted; appends and commits are refused ([`AppendError::Poisoned`]) until the log is
//! reopened, which recovers what is really on disk.
//!
//! # Recovery
//!
//! [`open`] reads the segments in order, verifies every record's checksum and hands each
//! valid record to the caller. A bad record followed by a valid one is skipped, counted
//! and logged; bad bytes at the end of the last segment (a write torn by a crash) are
//! truncated, never trusted; [`RecoveryStats`] reports both.
//!
//! # Reclaiming space, and compaction later
//!
//! The caller says which prefix of the log it no longer needs, [`Log::release_before`]:
//! whole segments that end at or before that LSN are deleted (never the segment being
//! written). Records still live in an old segment (a message nobody acknowledged for
//! hours, a session's subscriptions, a retained message) are carried forward by the
//! caller: it appends them again as fresh records, commits, and then releases up to the
//! oldest LSN still referenced. Replay must therefore accept a record again when a later
//! copy supersedes it.

mod commit;
mod error;
mod log;
mod record;
mod recovery;
mod segment;

#[cfg(test)]
mod tests;

use std::fmt;
use std::num::NonZeroU8;
use std::path::{Path, PathBuf};

pub use crate::config::{FsyncPolicy, StoreConfig};
pub use commit::{CommitBatch, CommitOutcome};
pub use error::{AppendError, CommitError, OpenError};
pub use log::Log;
pub use recovery::{Record, RecoveryStats, open};

/// Smallest segment size the configuration accepts (64 KiB).
pub const MIN_SEGMENT_SIZE: u64 = 64 * 1024;
/// Largest segment size (4 GiB).
pub const MAX_SEGMENT_SIZE: u64 = 4 * 1024 * 1024 * 1024;

/// A log sequence number: a record's byte position in the log's record stream. LSNs grow
/// with every append; the first record of a fresh log is at 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Lsn(u64);

impl Lsn {
    /// The LSN at position `position`.
    pub const fn new(position: u64) -> Self {
        Self(position)
    }

    /// The position as a number.
    pub const fn get(self) -> u64 {
        self.0
    }

    /// `self + bytes`, saturating (a log never reaches 2^64 bytes).
    pub(crate) const fn add(self, bytes: u64) -> Self {
        Self(self.0.saturating_add(bytes))
    }
}

impl fmt::Display for Lsn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// What a record holds, as the caller defines it (a published message, an ack, a session,
/// ...). Zero is reserved: a run of zeros is never a valid record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RecordKind(NonZeroU8);

impl RecordKind {
    /// The kind numbered `kind`; `None` for 0, which is reserved.
    pub const fn new(kind: u8) -> Option<Self> {
        match NonZeroU8::new(kind) {
            Some(kind) => Some(Self(kind)),
            None => None,
        }
    }

    /// The kind's number.
    pub const fn get(self) -> u8 {
        self.0.get()
    }
}

/// The log directory of shard `shard` under the data directory: `<data_dir>/shard-<n>`.
pub fn shard_dir(data_dir: &Path, shard: usize) -> PathBuf {
    data_dir.join(format!("shard-{shard}"))
}
