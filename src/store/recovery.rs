//! Opening a log: read every segment in order, verify every record, hand the valid ones
//! to the caller, skip (and count) damaged records, truncate a torn tail.

use std::collections::VecDeque;
use std::io;
use std::path::Path;

use compio::BufResult;
use compio::fs::File;
use compio::io::{AsyncReadAtExt, AsyncWriteAtExt};

use super::error::OpenError;
use super::log::{Active, Log, Sealed};
use super::record::{Piece, RECORD_HEADER_LEN, Scanner};
use super::segment::{self, Header, SEGMENT_HEADER_LEN};
use super::{FsyncPolicy, Lsn, RecordKind, StoreConfig};

/// A record found by recovery, borrowed from the segment being read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Record<'a> {
    /// Where it is in the log.
    pub lsn: Lsn,
    /// What it holds, as the caller defined when appending it.
    pub kind: RecordKind,
    /// Its payload.
    pub payload: &'a [u8],
}

/// What recovery found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecoveryStats {
    /// Segment files read.
    pub segments: usize,
    /// Valid records handed to the caller.
    pub records: u64,
    /// Their bytes (headers included).
    pub record_bytes: u64,
    /// Damaged stretches skipped because a valid record followed (each logged).
    pub corrupt_records: u64,
    /// Bytes in those stretches.
    pub corrupt_bytes: u64,
    /// Bytes of a torn tail cut off the last segment.
    pub truncated_bytes: u64,
    /// Segment headers that were missing or damaged (the file name gave the base).
    pub bad_headers: u64,
}

/// Opens (creating if needed) the log in `dir` and replays it: `replay` gets every valid
/// record, oldest first. Returns the log, ready to append after the last valid record,
/// and what recovery found.
///
/// Each segment is read whole into memory (at most one segment at a time). A damaged
/// record followed by a valid one is skipped, counted and logged (`warn`); bad bytes
/// at the end of the last segment are a torn write and are truncated (`warn`); bad bytes
/// at the end of an older segment are skipped and counted as damage.
pub async fn open(
    dir: &Path,
    config: &StoreConfig,
    mut replay: impl FnMut(Record<'_>),
) -> Result<(Log, RecoveryStats), OpenError> {
    let min = SEGMENT_HEADER_LEN + RECORD_HEADER_LEN as u64 + 1;
    if !(min..=super::MAX_SEGMENT_SIZE).contains(&config.segment_size) {
        return Err(OpenError::SegmentSize(config.segment_size));
    }
    let io_err = |path: &Path| {
        let path = path.to_owned();
        move |source| OpenError::Io { path, source }
    };
    compio::fs::create_dir_all(dir).await.map_err(io_err(dir))?;
    let segments = segment::list(dir).map_err(io_err(dir))?;
    let mut stats = RecoveryStats::default();
    let mut sealed = VecDeque::new();
    let Some((&(last_base, _), older)) = segments.split_last() else {
        let active = create_first(dir, config.fsync).await.map_err(io_err(dir))?;
        let log = Log::recovered(dir.to_owned(), config.clone(), sealed, active);
        return Ok((log, stats));
    };
    for (index, &(base, len)) in older.iter().enumerate() {
        let path = segment::path(dir, base);
        let data = read_segment(&path, len).await.map_err(io_err(&path))?;
        scan_segment(&path, base, &data, false, &mut stats, &mut replay)?;
        let end = segments.get(index + 1).map_or(last_base, |(next, _)| *next);
        sealed.push_back(Sealed { base, end });
    }
    let path = segment::path(dir, last_base);
    let len = segments.last().map_or(0, |(_, len)| *len);
    let data = read_segment(&path, len).await.map_err(io_err(&path))?;
    let scan = scan_segment(&path, last_base, &data, true, &mut stats, &mut replay)?;
    let active = reopen_last(dir, last_base, &data, scan, config.fsync)
        .await
        .map_err(io_err(&path))?;
    if stats.corrupt_records > 0 || stats.truncated_bytes > 0 || stats.bad_headers > 0 {
        tracing::warn!(
            "durable log {}: recovered with damage: {stats:?}",
            dir.display()
        );
    }
    Ok((
        Log::recovered(dir.to_owned(), config.clone(), sealed, active),
        stats,
    ))
}

/// What scanning a segment found that reopening it for appends needs.
struct Scan {
    header_valid: bool,
    /// The file length to keep: everything after it is a torn tail.
    keep: u64,
}

/// Reads a whole segment file.
async fn read_segment(path: &Path, len: u64) -> io::Result<Vec<u8>> {
    let file = File::open(path).await?;
    let buf = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
    let BufResult(result, buf) = file.read_to_end_at(buf, 0).await;
    result?;
    file.close().await?;
    Ok(buf)
}

/// Checks a segment's header and replays its records.
fn scan_segment(
    path: &Path,
    base: Lsn,
    data: &[u8],
    last: bool,
    stats: &mut RecoveryStats,
    replay: &mut impl FnMut(Record<'_>),
) -> Result<Scan, OpenError> {
    stats.segments += 1;
    let header_valid = match segment::check_header(data, base) {
        Header::Valid => true,
        Header::Unsupported(version) => {
            return Err(OpenError::UnsupportedVersion {
                path: path.to_owned(),
                version,
            });
        }
        Header::Invalid => {
            // A segment created just before a crash may have no header yet; elsewhere
            // the name still gives the base, so the records are read all the same.
            if !(last && data.len() as u64 <= SEGMENT_HEADER_LEN) {
                tracing::warn!("durable log {}: damaged segment header", path.display());
                stats.bad_headers += 1;
            }
            false
        }
    };
    let body = data.get(SEGMENT_HEADER_LEN as usize..).unwrap_or_default();
    let mut keep = SEGMENT_HEADER_LEN + body.len() as u64;
    for piece in Scanner::new(body) {
        match piece {
            Piece::Record { offset, record } => {
                stats.records += 1;
                stats.record_bytes += record.len as u64;
                replay(Record {
                    lsn: base.add(offset as u64),
                    kind: record.kind,
                    payload: record.payload,
                });
            }
            Piece::Corrupt { offset, len } => {
                stats.corrupt_records += 1;
                stats.corrupt_bytes += len as u64;
                tracing::warn!(
                    "durable log {}: skipped {len} damaged bytes at LSN {}",
                    path.display(),
                    base.add(offset as u64)
                );
            }
            Piece::Tail { offset, len } if last => {
                stats.truncated_bytes += len as u64;
                keep = SEGMENT_HEADER_LEN + offset as u64;
                tracing::warn!(
                    "durable log {}: truncating a torn tail of {len} bytes at LSN {}",
                    path.display(),
                    base.add(offset as u64)
                );
            }
            Piece::Tail { offset, len } => {
                stats.corrupt_records += 1;
                stats.corrupt_bytes += len as u64;
                tracing::warn!(
                    "durable log {}: skipped {len} damaged bytes at the end, LSN {}",
                    path.display(),
                    base.add(offset as u64)
                );
            }
        }
    }
    Ok(Scan { header_valid, keep })
}

/// Opens the last segment for appends: cuts a torn tail, rewrites a missing header, and
/// makes both durable before anything new is written after them.
async fn reopen_last(
    dir: &Path,
    base: Lsn,
    data: &[u8],
    scan: Scan,
    policy: FsyncPolicy,
) -> io::Result<Active> {
    let file = segment::open_for_append(dir, base).await?;
    let mut repaired = false;
    if scan.keep < data.len() as u64 {
        file.set_len(scan.keep).await?;
        repaired = true;
    }
    if !scan.header_valid {
        let mut writer = &file;
        let BufResult(result, _) = writer
            .write_all_at(segment::encode_header(base).to_vec(), 0)
            .await;
        result?;
        repaired = true;
    }
    if repaired && policy != FsyncPolicy::Never {
        file.sync_data().await?;
    }
    Ok(Active {
        base,
        file,
        len: scan.keep,
        unsynced: false,
    })
}

/// Creates the first segment of a new log, at LSN 0 (made durable by the first commit).
async fn create_first(dir: &Path, policy: FsyncPolicy) -> io::Result<Active> {
    let base = Lsn::new(0);
    let file = segment::create(dir, base).await?;
    let mut writer = &file;
    let BufResult(result, _) = writer
        .write_all_at(segment::encode_header(base).to_vec(), 0)
        .await;
    result?;
    Ok(Active {
        base,
        file,
        len: SEGMENT_HEADER_LEN,
        unsynced: policy != FsyncPolicy::Never,
    })
}
