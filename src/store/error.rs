//! What can go wrong: opening (recovering) a log, appending to it, committing it.

use std::io;
use std::ops::Range;
use std::path::PathBuf;

use super::Lsn;

/// Why [`open`](super::open) could not recover a log.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OpenError {
    /// A file or the directory could not be read, written or created.
    #[error("durable log: I/O error on {path}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// What went wrong.
        source: io::Error,
    },
    /// A segment was written by a version of the format this code cannot read.
    #[error("durable log: {path} has segment format version {version}, this build reads 1")]
    UnsupportedVersion {
        /// The segment file.
        path: PathBuf,
        /// Its version.
        version: u32,
    },
    /// The segment size cannot hold a record.
    #[error("durable log: segment size {0} is out of range")]
    SegmentSize(u64),
}

/// Why [`Log::append`](super::Log::append) refused a record.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AppendError {
    /// The record cannot fit in one segment.
    #[error("durable log: a {len}-byte record exceeds the largest, {max} bytes")]
    TooLarge {
        /// The payload's length.
        len: usize,
        /// The largest payload a segment holds.
        max: usize,
    },
    /// An earlier fsync or clean-up failed; the log must be reopened.
    #[error("durable log: poisoned by an earlier I/O failure; nothing more is accepted")]
    Poisoned,
}

/// Why a commit failed. Every variant but [`CommitError::InFlight`] names the records
/// the failure concerns; the caller refuses what it held for them.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CommitError {
    /// The file system is full (ENOSPC, EDQUOT) or the segment reached the file size
    /// limit (EFBIG). What the commit wrote was truncated: the records in `discarded`
    /// are gone, and their LSNs will be handed out again. The log stays usable.
    #[error("durable log: disk full; records {discarded:?} were not stored")]
    DiskFull {
        /// The records that were not stored.
        discarded: Range<Lsn>,
        /// The kernel's error.
        source: io::Error,
    },
    /// Another write error. As for [`CommitError::DiskFull`], the records in
    /// `discarded` were not stored and the log stays usable.
    #[error("durable log: write failed; records {discarded:?} were not stored")]
    Write {
        /// The records that were not stored.
        discarded: Range<Lsn>,
        /// The kernel's error.
        source: io::Error,
    },
    /// An fsync failed, or undoing a failed write did: the records in `unknown` may or
    /// may not be on disk, and the log is poisoned: reopen it to learn what survived.
    #[error("durable log: fsync failed, log poisoned; records {unknown:?} may be lost")]
    Sync {
        /// The records whose fate is unknown.
        unknown: Range<Lsn>,
        /// The kernel's error.
        source: io::Error,
    },
    /// An earlier failure poisoned the log.
    #[error("durable log: poisoned by an earlier I/O failure; reopen it")]
    Poisoned,
    /// A commit is in flight: finish it first. (If its future was dropped, the log
    /// cannot know what reached the disk: reopen it.)
    #[error("durable log: a commit is already in flight")]
    InFlight,
}

impl CommitError {
    /// The records this failure concerns: not stored, or of unknown fate.
    pub fn lost(&self) -> Option<Range<Lsn>> {
        match self {
            Self::DiskFull { discarded, .. } | Self::Write { discarded, .. } => {
                Some(discarded.clone())
            }
            Self::Sync { unknown, .. } => Some(unknown.clone()),
            Self::Poisoned | Self::InFlight => None,
        }
    }
}

/// Whether a write error means "no space": ENOSPC, EDQUOT or EFBIG.
pub(crate) fn is_full(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::StorageFull | io::ErrorKind::QuotaExceeded | io::ErrorKind::FileTooLarge
    )
}
