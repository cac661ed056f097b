//! A bounded reader over one packet's bytes: every read checks the end of its range, and
//! strings and binary fields come out as views of the packet, never as copies.

use bytes::Bytes;
use bytestring::ByteString;

use crate::error::DecodeError;
use crate::types::{PacketId, check_mqtt_string};

/// Reads the fields of one packet, or of one length-prefixed part of it ([`Reader::sub`]).
///
/// The reader borrows the packet's `Bytes` and reads from a slice of it; only a string
/// or binary field becomes a `Bytes` of its own (one reference-count increment). A
/// length-prefixed part such as a property list is read through a sub-reader over the
/// same packet, so it costs no `Bytes` handle.
#[derive(Debug)]
pub(crate) struct Reader<'a> {
    /// The whole packet body, which the views point into.
    frame: &'a Bytes,
    /// The bytes of this reader's range not read yet.
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    #[inline]
    pub(crate) fn new(frame: &'a Bytes) -> Self {
        Self {
            frame,
            rest: frame.as_ref(),
        }
    }

    #[inline]
    pub(crate) fn is_empty(&self) -> bool {
        self.rest.is_empty()
    }

    #[inline]
    pub(crate) fn remaining(&self) -> usize {
        self.rest.len()
    }

    /// How many bytes of the packet lie before the next unread byte (the offset of
    /// `rest` in `frame`, which it always points into).
    #[inline]
    pub(crate) fn position(&self) -> usize {
        self.rest.as_ptr().addr() - self.frame.as_ptr().addr()
    }

    /// Whether the next byte is there and is 0 (an empty property list, say).
    #[inline]
    pub(crate) fn next_is_zero(&self) -> bool {
        self.rest.first() == Some(&0)
    }

    /// Fails with [`DecodeError::TrailingBytes`] unless every byte was read.
    #[inline]
    pub(crate) fn finish(&self) -> Result<(), DecodeError> {
        if self.rest.is_empty() {
            Ok(())
        } else {
            Err(DecodeError::TrailingBytes)
        }
    }

    /// The next `n` bytes, as a slice.
    #[inline]
    fn slice(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        let (head, rest) = self
            .rest
            .split_at_checked(n)
            .ok_or(DecodeError::UnexpectedEnd)?;
        self.rest = rest;
        Ok(head)
    }

    /// A reader over the next `n` bytes, which this reader skips.
    #[inline]
    pub(crate) fn sub(&mut self, n: usize) -> Result<Self, DecodeError> {
        let rest = self.slice(n)?;
        Ok(Self {
            frame: self.frame,
            rest,
        })
    }

    #[inline]
    pub(crate) fn u8(&mut self) -> Result<u8, DecodeError> {
        let (&v, rest) = self.rest.split_first().ok_or(DecodeError::UnexpectedEnd)?;
        self.rest = rest;
        Ok(v)
    }

    #[inline]
    pub(crate) fn u16(&mut self) -> Result<u16, DecodeError> {
        let (v, rest) = self
            .rest
            .split_first_chunk()
            .ok_or(DecodeError::UnexpectedEnd)?;
        self.rest = rest;
        Ok(u16::from_be_bytes(*v))
    }

    #[inline]
    pub(crate) fn u32(&mut self) -> Result<u32, DecodeError> {
        let (v, rest) = self
            .rest
            .split_first_chunk()
            .ok_or(DecodeError::UnexpectedEnd)?;
        self.rest = rest;
        Ok(u32::from_be_bytes(*v))
    }

    #[inline]
    pub(crate) fn packet_id(&mut self) -> Result<PacketId, DecodeError> {
        PacketId::new(self.u16()?).ok_or(DecodeError::ZeroPacketId)
    }

    /// A variable byte integer; a field that runs past the end is
    /// [`DecodeError::UnexpectedEnd`].
    #[inline]
    pub(crate) fn varint(&mut self) -> Result<u32, DecodeError> {
        // One byte (values below 128) is the common case: lengths of small property
        // lists, property identifiers.
        if let Some((&byte, rest)) = self.rest.split_first()
            && byte < 0x80
        {
            self.rest = rest;
            return Ok(u32::from(byte));
        }
        match decode_varint(self.rest)? {
            Some((value, len)) => {
                self.rest = self.rest.get(len..).unwrap_or_default();
                Ok(value)
            }
            None => Err(DecodeError::UnexpectedEnd),
        }
    }

    /// The next `n` bytes, as a view.
    #[inline]
    pub(crate) fn take(&mut self, n: usize) -> Result<Bytes, DecodeError> {
        let start = self.position();
        self.slice(n)?;
        Ok(self.frame.slice(start..start + n))
    }

    /// Binary data: a two-byte length and that many bytes.
    #[inline]
    pub(crate) fn binary(&mut self) -> Result<Bytes, DecodeError> {
        let len = usize::from(self.u16()?);
        self.take(len)
    }

    /// A UTF-8 encoded string: well-formed, no surrogates, no U+0000.
    #[inline]
    pub(crate) fn string(&mut self) -> Result<ByteString, DecodeError> {
        let s = self.utf8()?;
        check_mqtt_string(&s)?;
        Ok(s)
    }

    /// A well-formed UTF-8 string whose U+0000 check is left to the caller (topic names
    /// and filters check it in the same pass as wildcards).
    #[inline]
    pub(crate) fn utf8(&mut self) -> Result<ByteString, DecodeError> {
        let bytes = self.binary()?;
        ByteString::try_from(bytes).map_err(|_| DecodeError::InvalidUtf8)
    }
}

/// Decodes a variable byte integer from the front of `buf`: `Ok(None)` when `buf` ends
/// before the integer does, else the value and the number of bytes it took.
pub(crate) fn decode_varint(buf: &[u8]) -> Result<Option<(u32, usize)>, DecodeError> {
    let mut value: u32 = 0;
    for (i, &byte) in buf.iter().take(4).enumerate() {
        value |= u32::from(byte & 0x7F) << (7 * i);
        if byte & 0x80 == 0 {
            let len = i + 1;
            if len > 1 && byte == 0 {
                return Err(DecodeError::NonMinimalVariableInteger);
            }
            return Ok(Some((value, len)));
        }
    }
    if buf.len() >= 4 {
        Err(DecodeError::MalformedVariableInteger)
    } else {
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_from_the_standard_table() {
        // MQTT 5.0 table 1-1 (and 3.1.1 table 2.4): the bounds of each length.
        let cases: &[(&[u8], u32)] = &[
            (&[0x00], 0),
            (&[0x7F], 127),
            (&[0x80, 0x01], 128),
            (&[0xFF, 0x7F], 16_383),
            (&[0x80, 0x80, 0x01], 16_384),
            (&[0xFF, 0xFF, 0x7F], 2_097_151),
            (&[0x80, 0x80, 0x80, 0x01], 2_097_152),
            (&[0xFF, 0xFF, 0xFF, 0x7F], 268_435_455),
        ];
        for &(bytes, value) in cases {
            assert_eq!(decode_varint(bytes), Ok(Some((value, bytes.len()))));
        }
    }

    #[test]
    fn varint_errors() {
        assert_eq!(decode_varint(&[]), Ok(None));
        assert_eq!(decode_varint(&[0x80, 0x80]), Ok(None));
        assert_eq!(
            decode_varint(&[0x80, 0x80, 0x80, 0x80, 0x01]),
            Err(DecodeError::MalformedVariableInteger)
        );
        assert_eq!(
            decode_varint(&[0x80, 0x00]),
            Err(DecodeError::NonMinimalVariableInteger)
        );
        assert_eq!(
            decode_varint(&[0xFF, 0x80, 0x00]),
            Err(DecodeError::NonMinimalVariableInteger)
        );
    }

    fn string(bytes: &'static [u8]) -> Result<ByteString, DecodeError> {
        Reader::new(&Bytes::from_static(bytes)).string()
    }

    #[test]
    fn strings() {
        let frame = Bytes::from_static(b"\x00\x03abc\x00\x02\xC3\xA9");
        let mut r = Reader::new(&frame);
        assert_eq!(r.string().unwrap(), "abc");
        assert_eq!(r.string().unwrap(), "é");
        assert!(r.finish().is_ok());
        // U+D800 encoded as if it were a scalar value (CESU-style surrogate).
        assert_eq!(
            string(b"\x00\x03\xED\xA0\x80"),
            Err(DecodeError::InvalidUtf8)
        );
        // Overlong NUL.
        assert_eq!(string(b"\x00\x02\xC0\x80"), Err(DecodeError::InvalidUtf8));
        assert_eq!(string(b"\x00\x01\x00"), Err(DecodeError::NullCharacter));
        assert_eq!(string(b"\x00\x05ab"), Err(DecodeError::UnexpectedEnd));
    }

    #[test]
    fn views_point_into_the_packet() {
        let frame = Bytes::from_static(b"\x00\x02ab\x03\x00\x01c\x01");
        let mut r = Reader::new(&frame);
        let s = r.string().unwrap();
        assert_eq!(s.as_bytes().as_ptr(), frame[2..].as_ptr());
        let len = r.varint().unwrap() as usize;
        let mut sub = r.sub(len).unwrap();
        assert_eq!(sub.position(), 5);
        let c = sub.string().unwrap();
        assert_eq!(c.as_bytes().as_ptr(), frame[7..].as_ptr());
        assert!(sub.finish().is_ok());
        assert_eq!(r.position(), 8);
        assert_eq!(r.u8(), Ok(1));
        assert_eq!(r.u8(), Err(DecodeError::UnexpectedEnd));
        assert!(r.finish().is_ok());
    }
}
