//! Encoding helpers. A packet body is written through a [`Sink`] twice: once into a
//! [`Counter`] to learn its length, once into the caller's `BytesMut`. One description of
//! the wire layout therefore serves both, and lengths can never disagree with bytes.

use bytes::{BufMut, BytesMut};

/// Where encoded fields go.
pub(crate) trait Sink {
    fn put_u8(&mut self, v: u8);
    fn put_u16(&mut self, v: u16);
    fn put_u32(&mut self, v: u32);
    fn put_slice(&mut self, v: &[u8]);

    fn put_varint(&mut self, mut v: u32) {
        loop {
            let mut byte = (v & 0x7F) as u8;
            v >>= 7;
            if v > 0 {
                byte |= 0x80;
            }
            self.put_u8(byte);
            if v == 0 {
                break;
            }
        }
    }

    /// A two-byte length prefix and the bytes. Lengths over 65,535 are caught by the
    /// [`Counter`] pass, which runs before anything is written.
    fn put_binary(&mut self, v: &[u8]) {
        self.put_u16(u16::try_from(v.len()).unwrap_or(u16::MAX));
        self.put_slice(v);
    }
}

/// Counts bytes, and notes a string or binary field too long for its length prefix or a
/// variable byte integer over 268,435,455.
#[derive(Debug, Default)]
pub(crate) struct Counter {
    pub(crate) len: usize,
    pub(crate) too_long: bool,
}

/// The largest value a variable byte integer can hold.
pub(crate) const MAX_VARINT: u32 = 268_435_455;

impl Sink for Counter {
    fn put_u8(&mut self, _: u8) {
        self.len += 1;
    }
    fn put_u16(&mut self, _: u16) {
        self.len += 2;
    }
    fn put_u32(&mut self, _: u32) {
        self.len += 4;
    }
    fn put_slice(&mut self, v: &[u8]) {
        self.len += v.len();
    }
    fn put_binary(&mut self, v: &[u8]) {
        self.too_long |= v.len() > usize::from(u16::MAX);
        self.len += 2 + v.len();
    }
    fn put_varint(&mut self, v: u32) {
        self.too_long |= v > MAX_VARINT;
        self.len += varint_len(v);
    }
}

impl Sink for BytesMut {
    fn put_u8(&mut self, v: u8) {
        BufMut::put_u8(self, v);
    }
    fn put_u16(&mut self, v: u16) {
        BufMut::put_u16(self, v);
    }
    fn put_u32(&mut self, v: u32) {
        BufMut::put_u32(self, v);
    }
    fn put_slice(&mut self, v: &[u8]) {
        self.extend_from_slice(v);
    }
}

/// Bytes a variable byte integer takes.
pub(crate) const fn varint_len(v: u32) -> usize {
    match v {
        0..=127 => 1,
        128..=16_383 => 2,
        16_384..=2_097_151 => 3,
        _ => 4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reader::decode_varint;

    #[test]
    fn varint_round_trip() {
        for v in [
            0,
            1,
            127,
            128,
            16_383,
            16_384,
            2_097_151,
            2_097_152,
            268_435_455,
        ] {
            let mut buf = BytesMut::new();
            buf.put_varint(v);
            assert_eq!(buf.len(), varint_len(v));
            assert_eq!(decode_varint(&buf), Ok(Some((v, buf.len()))));
        }
    }
}
