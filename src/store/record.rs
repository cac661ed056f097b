//! The record format and the scan over a segment's records, with resynchronisation past
//! a corrupted record. Sans-IO: bytes in, records and damaged ranges out.

use super::RecordKind;

/// Bytes before a record's payload: length (u32 LE), crc32c (u32 LE), kind (u8).
pub(crate) const RECORD_HEADER_LEN: usize = 9;

/// Appends one encoded record to `buf`. The caller has checked that the payload's length
/// fits a u32.
pub(crate) fn encode(buf: &mut Vec<u8>, kind: RecordKind, payload: &[u8]) {
    let len = u32::try_from(payload.len()).unwrap_or(u32::MAX);
    buf.reserve(RECORD_HEADER_LEN + payload.len());
    buf.extend_from_slice(&len.to_le_bytes());
    buf.extend_from_slice(&checksum(kind.get(), payload).to_le_bytes());
    buf.push(kind.get());
    buf.extend_from_slice(payload);
}

/// The crc32c of a record: its kind byte, then its payload.
fn checksum(kind: u8, payload: &[u8]) -> u32 {
    crc32c::crc32c_append(crc32c::crc32c(&[kind]), payload)
}

/// A record decoded from the front of a buffer.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Decoded<'a> {
    /// The record's kind.
    pub(crate) kind: RecordKind,
    /// The record's payload, borrowed from the buffer.
    pub(crate) payload: &'a [u8],
    /// Encoded length: header and payload.
    pub(crate) len: usize,
}

/// Decodes the record at the front of `buf`, if a whole, valid one is there: its length
/// fits the buffer, its kind is not 0 and its checksum matches.
pub(crate) fn decode(buf: &[u8]) -> Option<Decoded<'_>> {
    let len = u32::from_le_bytes(buf.get(0..4)?.try_into().ok()?);
    let crc = u32::from_le_bytes(buf.get(4..8)?.try_into().ok()?);
    let kind = RecordKind::new(*buf.get(8)?)?;
    let total = RECORD_HEADER_LEN.checked_add(usize::try_from(len).ok()?)?;
    let payload = buf.get(RECORD_HEADER_LEN..total)?;
    (checksum(kind.get(), payload) == crc).then_some(Decoded {
        kind,
        payload,
        len: total,
    })
}

/// One piece of a segment's record area, in order.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Piece<'a> {
    /// A valid record at `offset`.
    Record {
        /// Offset in the scanned buffer.
        offset: usize,
        /// The record.
        record: Decoded<'a>,
    },
    /// Bytes that are no valid record, followed by a valid record.
    Corrupt {
        /// Offset in the scanned buffer.
        offset: usize,
        /// How many bytes were skipped.
        len: usize,
    },
    /// Bytes that are no valid record and run to the end of the buffer: a torn write.
    Tail {
        /// Offset in the scanned buffer.
        offset: usize,
        /// How many bytes to the end.
        len: usize,
    },
}

/// Iterates over the records of a segment's record area (the bytes after its header).
///
/// At a bad record it looks for the next valid one: first where the bad record's own
/// length field says it ends (a damaged payload), then at every following byte (a
/// damaged length). A candidate must pass the same checks as any record (a length that
/// fits, a non-zero kind, a 32-bit checksum), so a false resynchronisation needs a
/// checksum collision. The byte-by-byte search costs a checksum per candidate whose
/// length field fits the segment; it runs only on damaged data.
pub(crate) struct Scanner<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Scanner<'a> {
    /// A scan over `buf`, from its start.
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        Self { buf, pos: 0 }
    }

    /// The next valid record at or after `from`, by the two rules above.
    fn resync(&self, from: usize) -> Option<usize> {
        let rest = self.buf.get(from..)?;
        let claimed = rest
            .get(0..4)
            .and_then(|b| b.try_into().ok())
            .map(u32::from_le_bytes)
            .and_then(|len| usize::try_from(len).ok())
            .and_then(|len| len.checked_add(RECORD_HEADER_LEN));
        if let Some(next) = claimed
            && next < rest.len()
            && rest.get(next..).and_then(decode).is_some()
        {
            return from.checked_add(next);
        }
        (1..rest.len())
            .find(|&at| rest.get(at..).and_then(decode).is_some())
            .and_then(|at| from.checked_add(at))
    }
}

impl<'a> Iterator for Scanner<'a> {
    type Item = Piece<'a>;

    fn next(&mut self) -> Option<Piece<'a>> {
        let offset = self.pos;
        let rest = self.buf.get(offset..).filter(|rest| !rest.is_empty())?;
        if let Some(record) = decode(rest) {
            self.pos = offset.saturating_add(record.len);
            return Some(Piece::Record { offset, record });
        }
        match self.resync(offset) {
            Some(next) => {
                self.pos = next;
                Some(Piece::Corrupt {
                    offset,
                    len: next - offset,
                })
            }
            None => {
                self.pos = self.buf.len();
                Some(Piece::Tail {
                    offset,
                    len: rest.len(),
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(k: u8) -> RecordKind {
        RecordKind::new(k).unwrap()
    }

    fn encoded(records: &[(u8, &[u8])]) -> (Vec<u8>, Vec<usize>) {
        let mut buf = Vec::new();
        let mut offsets = Vec::new();
        for (k, payload) in records {
            offsets.push(buf.len());
            encode(&mut buf, kind(*k), payload);
        }
        (buf, offsets)
    }

    fn payloads<'a>(pieces: &[Piece<'a>]) -> Vec<&'a [u8]> {
        pieces
            .iter()
            .filter_map(|p| match p {
                Piece::Record { record, .. } => Some(record.payload),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn encodes_the_documented_layout() {
        let mut buf = Vec::new();
        encode(&mut buf, kind(7), b"hello");
        assert_eq!(&buf[0..4], &5u32.to_le_bytes());
        let crc = crc32c::crc32c(&[7, b'h', b'e', b'l', b'l', b'o']);
        assert_eq!(&buf[4..8], &crc.to_le_bytes());
        assert_eq!(buf[8], 7);
        assert_eq!(&buf[9..], b"hello");
        let decoded = decode(&buf).unwrap();
        assert_eq!(
            (decoded.kind, decoded.payload, decoded.len),
            (kind(7), &b"hello"[..], 14)
        );
    }

    #[test]
    fn rejects_short_zero_and_damaged_records() {
        let (buf, _) = encoded(&[(1, b"payload")]);
        for cut in 0..buf.len() {
            assert!(decode(&buf[..cut]).is_none(), "cut at {cut}");
        }
        assert!(decode(&[0; 64]).is_none());
        for at in 0..buf.len() {
            let mut bad = buf.clone();
            bad[at] ^= 0x10;
            assert!(decode(&bad).is_none(), "flip at {at}");
        }
        let (empty, _) = encoded(&[(3, b"")]);
        assert_eq!(decode(&empty).unwrap().len, RECORD_HEADER_LEN);
    }

    #[test]
    fn skips_a_damaged_payload_by_its_length() {
        let (mut buf, offsets) = encoded(&[(1, b"one"), (2, b"two!"), (3, b"three")]);
        buf[offsets[1] + RECORD_HEADER_LEN] ^= 0xff;
        let pieces: Vec<_> = Scanner::new(&buf).collect();
        assert_eq!(payloads(&pieces), [&b"one"[..], b"three"]);
        assert!(pieces.contains(&Piece::Corrupt {
            offset: offsets[1],
            len: offsets[2] - offsets[1]
        }));
    }

    #[test]
    fn skips_a_damaged_length_byte_by_byte() {
        let (mut buf, offsets) = encoded(&[(1, b"one"), (2, &[0x55; 300]), (3, b"three")]);
        buf[offsets[1] + 1] = 0xee; // the length now claims far more than the buffer
        let pieces: Vec<_> = Scanner::new(&buf).collect();
        assert_eq!(payloads(&pieces), [&b"one"[..], b"three"]);
    }

    #[test]
    fn damage_at_the_end_is_a_tail() {
        let (buf, offsets) = encoded(&[(1, b"one"), (2, b"two")]);
        for cut in offsets[1] + 1..buf.len() {
            let pieces: Vec<_> = Scanner::new(&buf[..cut]).collect();
            assert_eq!(
                pieces.last(),
                Some(&Piece::Tail {
                    offset: offsets[1],
                    len: cut - offsets[1]
                })
            );
            assert_eq!(payloads(&pieces), [&b"one"[..]]);
        }
        let mut flipped = buf;
        *flipped.last_mut().unwrap() ^= 1;
        let pieces: Vec<_> = Scanner::new(&flipped).collect();
        assert!(matches!(pieces.last(), Some(Piece::Tail { .. })));
    }
}
