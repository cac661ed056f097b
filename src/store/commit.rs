//! One commit's I/O: write the batch's records (creating segments on rollover), fsync
//! per the policy, and undo the writes when one fails.

use std::io;
use std::ops::Range;
use std::path::PathBuf;

use compio::BufResult;
use compio::buf::{IntoInner, IoBuf};
use compio::fs::File;
use compio::io::AsyncWriteAtExt;

use super::log::{Active, Sealed};
use super::record::RECORD_HEADER_LEN;
use super::segment;
use super::{FsyncPolicy, Lsn};

/// Encoded records bound for one segment, written with one positional write.
#[derive(Debug)]
pub(crate) struct Chunk {
    /// The segment's base LSN.
    pub(crate) base: Lsn,
    /// Where in the file `buf` goes.
    pub(crate) offset: u64,
    /// Whether the segment is new: `buf` then starts with its header, at offset 0.
    pub(crate) create: bool,
    pub(crate) buf: Vec<u8>,
}

/// The records of one commit, taken from the log by
/// [`Log::begin_commit`](super::Log::begin_commit). [`CommitBatch::run`] writes them.
#[derive(Debug)]
pub struct CommitBatch {
    dir: PathBuf,
    policy: FsyncPolicy,
    active_base: Lsn,
    active_file: File,
    active_len: u64,
    /// The active segment is a new log's first, not yet durable with its directory.
    active_unsynced: bool,
    chunks: Vec<Chunk>,
    range: Range<Lsn>,
}

/// What [`CommitBatch::run`] did, for [`Log::finish_commit`](super::Log::finish_commit).
#[derive(Debug)]
pub struct CommitOutcome {
    pub(crate) result: Result<(), Failure>,
    /// Segments the batch filled and left (on success).
    pub(crate) sealed: Vec<Sealed>,
    /// The segment written last, with its new length (on success).
    pub(crate) active: Option<Active>,
    /// The batch's buffers, for reuse.
    pub(crate) buffers: Vec<Vec<u8>>,
}

/// How a batch failed.
#[derive(Debug)]
pub(crate) enum Failure {
    /// A write failed and was undone: nothing of the batch is on disk.
    Write(io::Error),
    /// An fsync failed, or undoing a write did: the disk's state is unknown.
    Sync(io::Error),
}

impl CommitBatch {
    pub(crate) fn new(
        dir: PathBuf,
        policy: FsyncPolicy,
        active: &Active,
        chunks: Vec<Chunk>,
        range: Range<Lsn>,
    ) -> Self {
        Self {
            dir,
            policy,
            active_base: active.base,
            active_file: active.file.clone(),
            active_len: active.len,
            active_unsynced: active.unsynced,
            chunks,
            range,
        }
    }

    /// The LSNs of the records in this batch.
    pub fn lsns(&self) -> Range<Lsn> {
        self.range.clone()
    }

    /// Writes the batch: one positional write per segment, one fsync at the end under
    /// [`FsyncPolicy::Batch`], one per record under [`FsyncPolicy::Always`]. A segment
    /// left behind is fsynced before the next one is created, and the directory after.
    /// If a write fails, the batch truncates what it wrote and deletes what it created.
    pub async fn run(mut self) -> CommitOutcome {
        let chunks = std::mem::take(&mut self.chunks);
        let mut state = Progress {
            base: self.active_base,
            file: self.active_file.clone(),
            len: self.active_len,
            created: Vec::new(),
            sealed: Vec::new(),
        };
        let mut buffers = Vec::with_capacity(chunks.len());
        let mut result = Ok(());
        for chunk in chunks {
            let (step, buf) = self.write_chunk(&mut state, chunk).await;
            buffers.push(buf);
            if let Err(failure) = step {
                result = Err(failure);
                break;
            }
        }
        if result.is_ok() && self.policy == FsyncPolicy::Batch {
            result = state.file.sync_data().await.map_err(Failure::Sync);
        }
        // A new log's first commit also makes its first segment's directory entry, and
        // the shard directory's own, durable.
        if result.is_ok() && self.active_unsynced {
            result = self.sync_dirs().await.map_err(Failure::Sync);
        }
        let result = match result {
            Err(Failure::Write(error)) => match self.undo(&state).await {
                Ok(()) => Err(Failure::Write(error)),
                Err(undo) => Err(Failure::Sync(io::Error::new(
                    undo.kind(),
                    format!("{error}; then undoing the write failed: {undo}"),
                ))),
            },
            other => other,
        };
        let ok = result.is_ok();
        CommitOutcome {
            result,
            sealed: if ok { state.sealed } else { Vec::new() },
            active: ok.then_some(Active {
                base: state.base,
                file: state.file,
                len: state.len,
                unsynced: false,
            }),
            buffers,
        }
    }

    /// Fsyncs the log's directory and the one holding it.
    async fn sync_dirs(&self) -> io::Result<()> {
        if self.policy == FsyncPolicy::Always {
            self.active_file.sync_data().await?;
        }
        segment::sync_dir(&self.dir).await?;
        match self.dir.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => segment::sync_dir(parent).await,
            _ => Ok(()),
        }
    }

    /// Writes one chunk (creating its segment first if it is new); gives the buffer back.
    async fn write_chunk(
        &self,
        state: &mut Progress,
        chunk: Chunk,
    ) -> (Result<(), Failure>, Vec<u8>) {
        let sync = self.policy != FsyncPolicy::Never;
        if chunk.create {
            if sync && let Err(e) = state.file.sync_data().await {
                return (Err(Failure::Sync(e)), chunk.buf);
            }
            let file = match segment::create(&self.dir, chunk.base).await {
                Ok(file) => file,
                Err(e) => return (Err(Failure::Write(e)), chunk.buf),
            };
            state.created.push(chunk.base);
            state.sealed.push(Sealed {
                base: state.base,
                end: chunk.base,
            });
            state.base = chunk.base;
            state.file = file;
            state.len = 0;
            if sync && let Err(e) = segment::sync_dir(&self.dir).await {
                return (Err(Failure::Sync(e)), chunk.buf);
            }
        }
        let (result, buf) = if self.policy == FsyncPolicy::Always {
            write_each_record(&state.file, chunk.buf, chunk.offset, chunk.create).await
        } else {
            let mut file = &state.file;
            let BufResult(result, buf) = file.write_all_at(chunk.buf, chunk.offset).await;
            (result.map_err(Failure::Write), buf)
        };
        if result.is_ok() {
            state.len = chunk.offset + buf.len() as u64;
        }
        (result, buf)
    }

    /// Undoes a failed batch: the segment active at its start goes back to its length,
    /// segments it created are deleted, and that is made durable.
    async fn undo(&self, state: &Progress) -> io::Result<()> {
        self.active_file.set_len(self.active_len).await?;
        for base in &state.created {
            compio::fs::remove_file(segment::path(&self.dir, *base)).await?;
        }
        if self.policy != FsyncPolicy::Never {
            self.active_file.sync_data().await?;
            if !state.created.is_empty() {
                segment::sync_dir(&self.dir).await?;
            }
        }
        Ok(())
    }
}

/// Where a running batch has got to.
struct Progress {
    base: Lsn,
    file: File,
    len: u64,
    created: Vec<Lsn>,
    sealed: Vec<Sealed>,
}

/// [`FsyncPolicy::Always`]: writes and fsyncs the records of `buf` one at a time (a new
/// segment's header goes with its first record).
async fn write_each_record(
    file: &File,
    mut buf: Vec<u8>,
    offset: u64,
    header: bool,
) -> (Result<(), Failure>, Vec<u8>) {
    let mut start = 0;
    let mut end = if header {
        segment::SEGMENT_HEADER_LEN as usize
    } else {
        0
    };
    while end < buf.len() {
        let len = buf
            .get(end..end + 4)
            .and_then(|b| b.try_into().ok())
            .map_or(0, u32::from_le_bytes) as usize;
        end = (end + RECORD_HEADER_LEN + len).min(buf.len());
        let mut writer = file;
        let BufResult(result, slice) = writer
            .write_all_at(buf.slice(start..end), offset + start as u64)
            .await;
        buf = slice.into_inner();
        if let Err(e) = result {
            return (Err(Failure::Write(e)), buf);
        }
        if let Err(e) = file.sync_data().await {
            return (Err(Failure::Sync(e)), buf);
        }
        start = end;
    }
    (Ok(()), buf)
}
