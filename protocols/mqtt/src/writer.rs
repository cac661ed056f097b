//! Encoding helpers. A packet body is written through a [`Sink`] twice: once into a
//! [`Counter`] to learn its length, once through a [`Writer`] into the caller's
//! `BytesMut`. One description of the wire layout therefore serves both, and lengths can
//! never disagree with bytes.
//!
//! A property list is prefixed with its own length. The [`Counter`] notes each list's
//! length as it passes, and the [`Writer`] takes the lengths from it in the same order,
//! so that every list is walked once per pass, not once more for its prefix.

use bytes::BytesMut;

use crate::properties::WriteProperties;

/// Where encoded fields go.
pub(crate) trait Sink {
    fn put_u8(&mut self, v: u8);
    fn put_u16(&mut self, v: u16);
    fn put_u32(&mut self, v: u32);
    fn put_slice(&mut self, v: &[u8]);

    /// A variable byte integer (values over 268,435,455 are caught by the [`Counter`]).
    fn put_varint(&mut self, v: u32);

    /// A two-byte length prefix and the bytes. Lengths over 65,535 are caught by the
    /// [`Counter`] pass, which runs before anything is written.
    #[inline]
    fn put_binary(&mut self, v: &[u8]) {
        self.put_u16(u16::try_from(v.len()).unwrap_or(u16::MAX));
        self.put_slice(v);
    }

    /// A property list: its length as a variable byte integer, then the properties.
    fn put_properties<P: WriteProperties + ?Sized>(&mut self, properties: &P);
}

/// Counts bytes, and notes a string or binary field too long for its length prefix or a
/// variable byte integer over 268,435,455.
#[derive(Debug, Default)]
pub(crate) struct Counter {
    pub(crate) len: usize,
    pub(crate) too_long: bool,
    /// The lengths of the property lists met so far, for the [`Writer`].
    property_lens: PropertyLens,
}

/// The lengths of a packet's property lists, in the order the body holds them. A packet
/// has at most two (CONNECT: its own and the will's); a list past those is counted again
/// by the [`Writer`].
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct PropertyLens {
    lens: [u32; 2],
    count: usize,
}

/// The largest value a variable byte integer can hold.
pub(crate) const MAX_VARINT: u32 = 268_435_455;

impl Counter {
    /// What the [`Writer`] needs from this pass.
    pub(crate) fn property_lens(&self) -> PropertyLens {
        self.property_lens
    }
}

impl Sink for Counter {
    #[inline]
    fn put_u8(&mut self, _: u8) {
        self.len += 1;
    }
    #[inline]
    fn put_u16(&mut self, _: u16) {
        self.len += 2;
    }
    #[inline]
    fn put_u32(&mut self, _: u32) {
        self.len += 4;
    }
    #[inline]
    fn put_slice(&mut self, v: &[u8]) {
        self.len += v.len();
    }
    #[inline]
    fn put_binary(&mut self, v: &[u8]) {
        self.too_long |= v.len() > usize::from(u16::MAX);
        self.len += 2 + v.len();
    }
    #[inline]
    fn put_varint(&mut self, v: u32) {
        self.too_long |= v > MAX_VARINT;
        self.len += varint_len(v);
    }
    #[inline]
    fn put_properties<P: WriteProperties + ?Sized>(&mut self, properties: &P) {
        let mut list = Self::default();
        properties.write_properties(&mut list);
        self.too_long |= list.too_long;
        let len = u32::try_from(list.len).unwrap_or(u32::MAX);
        if let Some(slot) = self.property_lens.lens.get_mut(self.property_lens.count) {
            *slot = len;
        }
        self.property_lens.count += 1;
        self.put_varint(len);
        self.len += list.len;
    }
}

/// Appends to the caller's buffer, which the caller has reserved room in.
#[derive(Debug)]
pub(crate) struct Writer<'a> {
    buf: &'a mut BytesMut,
    property_lens: PropertyLens,
    /// The next property list's index.
    next: usize,
}

impl<'a> Writer<'a> {
    /// A writer with the property-list lengths that the [`Counter`] pass found.
    pub(crate) fn new(buf: &'a mut BytesMut, property_lens: PropertyLens) -> Self {
        Self {
            buf,
            property_lens,
            next: 0,
        }
    }

    /// The fixed header: the first byte and the remaining length (at most
    /// [`MAX_VARINT`]), in one append.
    #[inline]
    pub(crate) fn put_fixed_header(&mut self, first: u8, remaining: u32) {
        if let Ok(len @ 0..0x80) = u8::try_from(remaining) {
            // A small packet: two bytes, a fixed-size append.
            self.buf.extend_from_slice(&[first, len]);
            return;
        }
        let mut header = [first, 0, 0, 0, 0];
        let len = 1 + encode_varint(remaining, header.get_mut(1..).unwrap_or_default());
        self.put_slice(header.get(..len).unwrap_or_default());
    }
}

impl Sink for Writer<'_> {
    #[inline]
    fn put_u8(&mut self, v: u8) {
        self.buf.extend_from_slice(&[v]);
    }
    #[inline]
    fn put_u16(&mut self, v: u16) {
        self.buf.extend_from_slice(&v.to_be_bytes());
    }
    #[inline]
    fn put_u32(&mut self, v: u32) {
        self.buf.extend_from_slice(&v.to_be_bytes());
    }
    #[inline]
    fn put_slice(&mut self, v: &[u8]) {
        self.buf.extend_from_slice(v);
    }
    #[inline]
    fn put_varint(&mut self, v: u32) {
        if let Ok(byte @ 0..0x80) = u8::try_from(v) {
            self.put_u8(byte);
            return;
        }
        let mut bytes = [0; 4];
        let len = encode_varint(v, &mut bytes);
        self.put_slice(bytes.get(..len).unwrap_or_default());
    }
    #[inline]
    fn put_properties<P: WriteProperties + ?Sized>(&mut self, properties: &P) {
        let len = match self.property_lens.lens.get(self.next) {
            Some(&len) if self.next < self.property_lens.count => len,
            _ => {
                let mut list = Counter::default();
                properties.write_properties(&mut list);
                u32::try_from(list.len).unwrap_or(u32::MAX)
            }
        };
        self.next += 1;
        self.put_varint(len);
        properties.write_properties(self);
    }
}

/// Writes `v` as a variable byte integer into `out` (which has room for its four
/// bytes) and returns the number of bytes written.
#[inline]
fn encode_varint(mut v: u32, out: &mut [u8]) -> usize {
    let mut len = 0;
    for slot in out.iter_mut() {
        let mut byte = (v & 0x7F) as u8;
        v >>= 7;
        if v > 0 {
            byte |= 0x80;
        }
        *slot = byte;
        len += 1;
        if v == 0 {
            break;
        }
    }
    len
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
            Writer::new(&mut buf, PropertyLens::default()).put_varint(v);
            assert_eq!(buf.len(), varint_len(v));
            assert_eq!(decode_varint(&buf), Ok(Some((v, buf.len()))));
        }
    }
}
