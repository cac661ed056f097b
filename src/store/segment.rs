//! Segment files: their names, their header, listing a log directory, and the file
//! operations the log needs (through compio's file API).

use std::io;
use std::path::{Path, PathBuf};

use compio::fs::{File, OpenOptions};

use super::Lsn;

/// Bytes of a segment header: magic (8), version (u32 LE), crc32c of the other fields
/// (u32 LE), base LSN (u64 LE).
pub(crate) const SEGMENT_HEADER_LEN: u64 = 24;

/// The first bytes of every segment file.
const MAGIC: [u8; 8] = *b"SWYDLOG\0";

/// The segment format this code writes and reads.
pub(crate) const VERSION: u32 = 1;

/// A segment header's bytes for a segment whose first record is at `base`.
pub(crate) fn encode_header(base: Lsn) -> [u8; SEGMENT_HEADER_LEN as usize] {
    let mut header = [0; SEGMENT_HEADER_LEN as usize];
    let (magic, rest) = header.split_at_mut(8);
    magic.copy_from_slice(&MAGIC);
    let (version, rest) = rest.split_at_mut(4);
    version.copy_from_slice(&VERSION.to_le_bytes());
    let (crc, base_bytes) = rest.split_at_mut(4);
    base_bytes.copy_from_slice(&base.get().to_le_bytes());
    crc.copy_from_slice(&header_crc(VERSION, base).to_le_bytes());
    header
}

fn header_crc(version: u32, base: Lsn) -> u32 {
    let crc = crc32c::crc32c_append(crc32c::crc32c(&MAGIC), &version.to_le_bytes());
    crc32c::crc32c_append(crc, &base.get().to_le_bytes())
}

/// What a segment's first bytes say.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Header {
    /// A valid header of this version for the expected base.
    Valid,
    /// A valid header of another version: this code cannot read the segment.
    Unsupported(u32),
    /// Missing, short, damaged, or for another base.
    Invalid,
}

/// Checks the header at the start of `file` (the whole file's bytes or more than a
/// header's worth of them) against the base the file's name gives.
pub(crate) fn check_header(file: &[u8], base: Lsn) -> Header {
    let field = |at: usize| -> Option<[u8; 4]> { file.get(at..at + 4)?.try_into().ok() };
    let (Some(magic), Some(version), Some(crc), Some(stored_base)) = (
        file.get(0..8),
        field(8).map(u32::from_le_bytes),
        field(12).map(u32::from_le_bytes),
        file.get(16..24)
            .and_then(|b| b.try_into().ok())
            .map(u64::from_le_bytes),
    ) else {
        return Header::Invalid;
    };
    if magic != MAGIC || crc != header_crc(version, Lsn::new(stored_base)) {
        Header::Invalid
    } else if version != VERSION {
        Header::Unsupported(version)
    } else if stored_base != base.get() {
        Header::Invalid
    } else {
        Header::Valid
    }
}

/// The file name of the segment whose first record is at `base`.
pub(crate) fn file_name(base: Lsn) -> String {
    format!("{:020}.log", base.get())
}

/// The path of that segment in `dir`.
pub(crate) fn path(dir: &Path, base: Lsn) -> PathBuf {
    dir.join(file_name(base))
}

/// The base LSN a segment file name states, if it is one.
pub(crate) fn parse_file_name(name: &str) -> Option<Lsn> {
    let digits = name.strip_suffix(".log")?;
    if digits.len() != 20 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok().map(Lsn::new)
}

/// The segments in `dir` with their file lengths, oldest first. Other files are ignored.
/// Listing a directory has no io_uring operation; it happens once, at open.
pub(crate) fn list(dir: &Path) -> io::Result<Vec<(Lsn, u64)>> {
    let mut segments = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let Some(base) = entry.file_name().to_str().and_then(parse_file_name) else {
            continue;
        };
        segments.push((base, entry.metadata()?.len()));
    }
    segments.sort_unstable();
    Ok(segments)
}

/// Creates (or empties) the segment file for `base` and opens it for writing.
pub(crate) async fn create(dir: &Path, base: Lsn) -> io::Result<File> {
    OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(path(dir, base))
        .await
}

/// Opens an existing segment file for writing.
pub(crate) async fn open_for_append(dir: &Path, base: Lsn) -> io::Result<File> {
    OpenOptions::new().write(true).open(path(dir, base)).await
}

/// Makes the directory's entries (segments created or deleted) durable.
pub(crate) async fn sync_dir(dir: &Path) -> io::Result<()> {
    let handle = OpenOptions::new().read(true).open(dir).await?;
    handle.sync_all().await?;
    handle.close().await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_round_trips_and_rejects_damage() {
        let base = Lsn::new(67_108_840);
        let header = encode_header(base);
        assert_eq!(&header[..8], b"SWYDLOG\0");
        assert_eq!(check_header(&header, base), Header::Valid);
        assert_eq!(check_header(&header, Lsn::new(0)), Header::Invalid);
        assert_eq!(check_header(&header[..23], base), Header::Invalid);
        for at in 0..header.len() {
            let mut bad = header;
            bad[at] ^= 4;
            assert_eq!(check_header(&bad, base), Header::Invalid, "flip at {at}");
        }
        let mut future = header;
        future[8..12].copy_from_slice(&2u32.to_le_bytes());
        let crc = header_crc(2, base);
        future[12..16].copy_from_slice(&crc.to_le_bytes());
        assert_eq!(check_header(&future, base), Header::Unsupported(2));
    }

    #[test]
    fn names_sort_by_base() {
        assert_eq!(file_name(Lsn::new(42)), "00000000000000000042.log");
        assert_eq!(
            parse_file_name("00000000000000000042.log"),
            Some(Lsn::new(42))
        );
        for bad in [
            "42.log",
            "0000000000000000004x.log",
            "00000000000000000042.tmp",
        ] {
            assert_eq!(parse_file_name(bad), None, "{bad}");
        }
        assert_eq!(parse_file_name("99999999999999999999.log"), None);
    }
}
