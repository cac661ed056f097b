//! Appends fields to a caller's `BytesMut`: integers in network order, `bit` fields
//! packed as the reader expects, length prefixes back-patched once the value is
//! written (so nothing is measured twice and nothing is copied into a scratch buffer).

use bytes::{BufMut, BytesMut};

use crate::error::EncodeError;
use crate::reader::MAX_NESTING;
use crate::table::{FieldTable, FieldValue};
use crate::types::{LongString, ShortString};

/// Writes the fields of one frame payload.
#[derive(Debug)]
pub(crate) struct Writer<'a> {
    buf: &'a mut BytesMut,
    /// Where the octet of the last `bit` lies, and how many of its bits are used;
    /// `bits_used == 8` means that the next bit starts a new octet.
    bit_at: usize,
    bits_used: u8,
}

impl<'a> Writer<'a> {
    #[inline]
    pub(crate) fn new(buf: &'a mut BytesMut) -> Self {
        Self {
            buf,
            bit_at: 0,
            bits_used: 8,
        }
    }

    #[inline]
    pub(crate) fn u8(&mut self, v: u8) {
        self.bits_used = 8;
        self.buf.put_u8(v);
    }

    #[inline]
    pub(crate) fn u16(&mut self, v: u16) {
        self.bits_used = 8;
        self.buf.put_u16(v);
    }

    #[inline]
    pub(crate) fn u32(&mut self, v: u32) {
        self.bits_used = 8;
        self.buf.put_u32(v);
    }

    #[inline]
    pub(crate) fn u64(&mut self, v: u64) {
        self.bits_used = 8;
        self.buf.put_u64(v);
    }

    #[inline]
    pub(crate) fn bit(&mut self, v: bool) {
        if self.bits_used == 8 {
            self.bit_at = self.buf.len();
            self.buf.put_u8(0);
            self.bits_used = 0;
        }
        if v && let Some(octet) = self.buf.get_mut(self.bit_at) {
            *octet |= 1 << self.bits_used;
        }
        self.bits_used += 1;
    }

    #[inline]
    pub(crate) fn bytes(&mut self, v: &[u8]) {
        self.bits_used = 8;
        self.buf.put_slice(v);
    }

    #[inline]
    pub(crate) fn short_string(&mut self, s: &ShortString) {
        // A ShortString is at most 255 octets by construction.
        self.u8(u8::try_from(s.len()).unwrap_or(u8::MAX));
        self.bytes(s.as_bytes());
    }

    #[inline]
    pub(crate) fn long_bytes(&mut self, v: &[u8]) -> Result<(), EncodeError> {
        self.u32(u32::try_from(v.len()).map_err(|_| EncodeError::TooLong)?);
        self.bytes(v);
        Ok(())
    }

    #[inline]
    pub(crate) fn long_string(&mut self, s: &LongString) -> Result<(), EncodeError> {
        self.long_bytes(s.as_bytes())
    }

    /// Writes a 32-bit length placeholder; [`Writer::end_length`] fills it in.
    fn begin_length(&mut self) -> usize {
        let at = self.buf.len();
        self.u32(0);
        at
    }

    fn end_length(&mut self, at: usize) -> Result<(), EncodeError> {
        let len = self.buf.len() - at - 4;
        let len = u32::try_from(len).map_err(|_| EncodeError::TooLong)?;
        patch_u32(self.buf, at, len);
        Ok(())
    }

    /// A field table at nesting `depth` (1 for a method's or property's table).
    pub(crate) fn table(&mut self, table: &FieldTable, depth: usize) -> Result<(), EncodeError> {
        if depth > MAX_NESTING {
            return Err(EncodeError::NestingTooDeep);
        }
        let at = self.begin_length();
        for (key, value) in table.iter() {
            self.short_string(key);
            self.value(value, depth)?;
        }
        self.end_length(at)
    }

    fn value(&mut self, value: &FieldValue, depth: usize) -> Result<(), EncodeError> {
        self.u8(value.type_letter());
        match value {
            FieldValue::Boolean(v) => self.u8(u8::from(*v)),
            FieldValue::ShortShortInt(v) => self.bytes(&v.to_be_bytes()),
            FieldValue::ShortShortUInt(v) => self.u8(*v),
            FieldValue::ShortInt(v) => self.bytes(&v.to_be_bytes()),
            FieldValue::ShortUInt(v) => self.u16(*v),
            FieldValue::LongInt(v) => self.bytes(&v.to_be_bytes()),
            FieldValue::LongUInt(v) => self.u32(*v),
            FieldValue::LongLongInt(v) => self.bytes(&v.to_be_bytes()),
            FieldValue::Float(v) => self.bytes(&v.to_be_bytes()),
            FieldValue::Double(v) => self.bytes(&v.to_be_bytes()),
            FieldValue::Decimal { scale, value } => {
                self.u8(*scale);
                self.u32(*value);
            }
            FieldValue::LongString(v) => self.long_string(v)?,
            FieldValue::ByteArray(v) => self.long_bytes(v)?,
            FieldValue::Array(values) => {
                if depth + 1 > MAX_NESTING {
                    return Err(EncodeError::NestingTooDeep);
                }
                let at = self.begin_length();
                for v in values {
                    self.value(v, depth + 1)?;
                }
                self.end_length(at)?;
            }
            FieldValue::Timestamp(v) => self.u64(*v),
            FieldValue::Table(t) => self.table(t, depth + 1)?,
            FieldValue::Void => {}
        }
        Ok(())
    }
}

/// Overwrites the four octets at `at` (written earlier as a placeholder) with `v`.
#[inline]
pub(crate) fn patch_u32(buf: &mut BytesMut, at: usize, v: u32) {
    if let Some(slot) = buf.get_mut(at..at + 4) {
        slot.copy_from_slice(&v.to_be_bytes());
    }
}
