//! A bounded reader over one packet's bytes: every read checks the packet's end, and
//! strings and binary fields come out as views of the packet, never as copies.

use bytes::{Buf, Bytes};
use bytestring::ByteString;

use crate::error::DecodeError;
use crate::types::{PacketId, check_mqtt_string};

/// Reads the fields of one packet (or of one length-prefixed part of it).
#[derive(Debug)]
pub(crate) struct Reader {
    buf: Bytes,
}

impl Reader {
    pub(crate) fn new(buf: Bytes) -> Self {
        Self { buf }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    pub(crate) fn remaining(&self) -> usize {
        self.buf.len()
    }

    /// Fails with [`DecodeError::TrailingBytes`] unless every byte was read.
    pub(crate) fn finish(&self) -> Result<(), DecodeError> {
        if self.buf.is_empty() {
            Ok(())
        } else {
            Err(DecodeError::TrailingBytes)
        }
    }

    fn need(&self, n: usize) -> Result<(), DecodeError> {
        if self.buf.len() < n {
            Err(DecodeError::UnexpectedEnd)
        } else {
            Ok(())
        }
    }

    pub(crate) fn u8(&mut self) -> Result<u8, DecodeError> {
        self.need(1)?;
        Ok(self.buf.get_u8())
    }

    pub(crate) fn u16(&mut self) -> Result<u16, DecodeError> {
        self.need(2)?;
        Ok(self.buf.get_u16())
    }

    pub(crate) fn u32(&mut self) -> Result<u32, DecodeError> {
        self.need(4)?;
        Ok(self.buf.get_u32())
    }

    pub(crate) fn packet_id(&mut self) -> Result<PacketId, DecodeError> {
        PacketId::new(self.u16()?).ok_or(DecodeError::ZeroPacketId)
    }

    /// A variable byte integer; a field that runs past the packet's end is
    /// [`DecodeError::UnexpectedEnd`].
    pub(crate) fn varint(&mut self) -> Result<u32, DecodeError> {
        match decode_varint(&self.buf)? {
            Some((value, len)) => {
                self.buf.advance(len);
                Ok(value)
            }
            None => Err(DecodeError::UnexpectedEnd),
        }
    }

    /// The next `n` bytes, as a view.
    pub(crate) fn take(&mut self, n: usize) -> Result<Bytes, DecodeError> {
        self.need(n)?;
        Ok(self.buf.split_to(n))
    }

    /// Everything left, as a view.
    pub(crate) fn rest(&mut self) -> Bytes {
        std::mem::take(&mut self.buf)
    }

    /// Binary data: a two-byte length and that many bytes.
    pub(crate) fn binary(&mut self) -> Result<Bytes, DecodeError> {
        let len = usize::from(self.u16()?);
        self.take(len)
    }

    /// A UTF-8 encoded string: well-formed, no surrogates, no U+0000.
    pub(crate) fn string(&mut self) -> Result<ByteString, DecodeError> {
        let s = self.utf8()?;
        check_mqtt_string(&s)?;
        Ok(s)
    }

    /// A well-formed UTF-8 string whose U+0000 check is left to the caller (topic names
    /// check it in the same pass as wildcards).
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

    #[test]
    fn strings() {
        let mut r = Reader::new(Bytes::from_static(b"\x00\x03abc\x00\x02\xC3\xA9"));
        assert_eq!(r.string().unwrap(), "abc");
        assert_eq!(r.string().unwrap(), "é");
        assert!(r.finish().is_ok());
        // U+D800 encoded as if it were a scalar value (CESU-style surrogate).
        let mut r = Reader::new(Bytes::from_static(b"\x00\x03\xED\xA0\x80"));
        assert_eq!(r.string(), Err(DecodeError::InvalidUtf8));
        let mut r = Reader::new(Bytes::from_static(b"\x00\x02\xC0\x80")); // overlong NUL
        assert_eq!(r.string(), Err(DecodeError::InvalidUtf8));
        let mut r = Reader::new(Bytes::from_static(b"\x00\x01\x00"));
        assert_eq!(r.string(), Err(DecodeError::NullCharacter));
        let mut r = Reader::new(Bytes::from_static(b"\x00\x05ab"));
        assert_eq!(r.string(), Err(DecodeError::UnexpectedEnd));
    }
}
