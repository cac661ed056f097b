//! The byte-level encoding of what the core keeps in its log: little-endian integers,
//! length-prefixed byte strings, optional fields behind a presence byte, and AMQP field
//! tables. Decoding checks every length against what is left and returns
//! [`DecodeError`]; it never panics on any input (the log is checksummed, but a record
//! written by another version must still fail cleanly).

use bytes::{BufMut, Bytes, BytesMut};
use bytestring::ByteString;

use crate::core::exchange::{FieldTable, FieldValue};

/// Why a stored record could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// It ends before a field does.
    #[error("record truncated")]
    Truncated,
    /// A tag or kind byte this version does not know.
    #[error("unknown tag {0}")]
    UnknownTag(u8),
    /// A string that is not UTF-8.
    #[error("a string that is not UTF-8")]
    NotUtf8,
    /// Bytes left over after the record's last field.
    #[error("bytes after the record's end")]
    TrailingBytes,
    /// A stored definition this version refuses (a queue argument, an exchange type).
    #[error("a stored definition is invalid")]
    InvalidDefinition,
    /// Nesting deeper than any field table this gateway accepts.
    #[error("field tables nested too deep")]
    TooDeep,
}

/// Deepest nesting of tables and arrays decoded (the AMQP codec refuses deeper input).
const MAX_DEPTH: usize = 64;

/// Appends fields to a buffer.
pub(super) struct Writer<'a>(pub(super) &'a mut BytesMut);

impl Writer<'_> {
    pub(super) fn u8(&mut self, v: u8) {
        self.0.put_u8(v);
    }

    pub(super) fn bool(&mut self, v: bool) {
        self.0.put_u8(u8::from(v));
    }

    pub(super) fn u32(&mut self, v: u32) {
        self.0.put_u32_le(v);
    }

    pub(super) fn u64(&mut self, v: u64) {
        self.0.put_u64_le(v);
    }

    pub(super) fn bytes(&mut self, v: &[u8]) {
        self.0
            .put_u32_le(u32::try_from(v.len()).unwrap_or(u32::MAX));
        self.0.put_slice(v);
    }

    pub(super) fn str(&mut self, v: &str) {
        self.bytes(v.as_bytes());
    }

    pub(super) fn opt<T>(&mut self, v: Option<T>, put: impl FnOnce(&mut Self, T)) {
        match v {
            None => self.u8(0),
            Some(v) => {
                self.u8(1);
                put(self, v);
            }
        }
    }

    pub(super) fn table(&mut self, table: &FieldTable) {
        self.u32(u32::try_from(table.len()).unwrap_or(u32::MAX));
        for (name, value) in table.iter() {
            self.str(name);
            self.value(value);
        }
    }

    fn value(&mut self, value: &FieldValue) {
        match value {
            FieldValue::Bool(b) => {
                self.u8(1);
                self.bool(*b);
            }
            FieldValue::Int(n) => {
                self.u8(2);
                self.0.put_i64_le(*n);
            }
            FieldValue::Float(f) => {
                self.u8(3);
                self.0.put_f64_le(*f);
            }
            FieldValue::Decimal { scale, value } => {
                self.u8(4);
                self.u8(*scale);
                self.u32(*value);
            }
            FieldValue::Str(s) => {
                self.u8(5);
                self.bytes(s);
            }
            FieldValue::Bytes(b) => {
                self.u8(6);
                self.bytes(b);
            }
            FieldValue::Timestamp(t) => {
                self.u8(7);
                self.u64(*t);
            }
            FieldValue::Array(items) => {
                self.u8(8);
                self.u32(u32::try_from(items.len()).unwrap_or(u32::MAX));
                items.iter().for_each(|item| self.value(item));
            }
            FieldValue::Table(t) => {
                self.u8(9);
                self.table(t);
            }
            FieldValue::Void => self.u8(10),
        }
    }
}

/// Reads fields from a record, sharing its bytes.
pub(super) struct Reader {
    buf: Bytes,
}

impl Reader {
    pub(super) fn new(buf: Bytes) -> Self {
        Self { buf }
    }

    /// Whether every byte was read.
    pub(super) fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    fn take(&mut self, n: usize) -> Result<Bytes, DecodeError> {
        if self.buf.len() < n {
            return Err(DecodeError::Truncated);
        }
        Ok(self.buf.split_to(n))
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let bytes = self.take(N)?;
        <[u8; N]>::try_from(&bytes[..]).map_err(|_| DecodeError::Truncated)
    }

    pub(super) fn u8(&mut self) -> Result<u8, DecodeError> {
        Ok(self.array::<1>()?[0])
    }

    pub(super) fn bool(&mut self) -> Result<bool, DecodeError> {
        Ok(self.u8()? != 0)
    }

    pub(super) fn u32(&mut self) -> Result<u32, DecodeError> {
        Ok(u32::from_le_bytes(self.array()?))
    }

    pub(super) fn u64(&mut self) -> Result<u64, DecodeError> {
        Ok(u64::from_le_bytes(self.array()?))
    }

    pub(super) fn bytes(&mut self) -> Result<Bytes, DecodeError> {
        let len = usize::try_from(self.u32()?).map_err(|_| DecodeError::Truncated)?;
        self.take(len)
    }

    pub(super) fn str(&mut self) -> Result<ByteString, DecodeError> {
        ByteString::try_from(self.bytes()?).map_err(|_| DecodeError::NotUtf8)
    }

    pub(super) fn opt<T>(
        &mut self,
        get: impl FnOnce(&mut Self) -> Result<T, DecodeError>,
    ) -> Result<Option<T>, DecodeError> {
        match self.u8()? {
            0 => Ok(None),
            1 => get(self).map(Some),
            tag => Err(DecodeError::UnknownTag(tag)),
        }
    }

    pub(super) fn table(&mut self) -> Result<FieldTable, DecodeError> {
        self.table_at(0)
    }

    fn table_at(&mut self, depth: usize) -> Result<FieldTable, DecodeError> {
        if depth > MAX_DEPTH {
            return Err(DecodeError::TooDeep);
        }
        let count = self.u32()?;
        let mut table = FieldTable::default();
        for _ in 0..count {
            let name = self.str()?;
            let value = self.value(depth)?;
            table.insert(name, value);
        }
        Ok(table)
    }

    fn value(&mut self, depth: usize) -> Result<FieldValue, DecodeError> {
        Ok(match self.u8()? {
            1 => FieldValue::Bool(self.bool()?),
            2 => FieldValue::Int(i64::from_le_bytes(self.array()?)),
            3 => FieldValue::Float(f64::from_le_bytes(self.array()?)),
            4 => FieldValue::Decimal {
                scale: self.u8()?,
                value: self.u32()?,
            },
            5 => FieldValue::Str(self.bytes()?),
            6 => FieldValue::Bytes(self.bytes()?),
            7 => FieldValue::Timestamp(self.u64()?),
            8 => {
                if depth >= MAX_DEPTH {
                    return Err(DecodeError::TooDeep);
                }
                let count = self.u32()?;
                // Each item takes at least its tag byte: a count beyond what is left is
                // a lie, refused before allocating for it.
                if count as usize > self.buf.len() {
                    return Err(DecodeError::Truncated);
                }
                let mut items = Vec::with_capacity(count as usize);
                for _ in 0..count {
                    items.push(self.value(depth + 1)?);
                }
                FieldValue::Array(items)
            }
            9 => FieldValue::Table(self.table_at(depth + 1)?),
            10 => FieldValue::Void,
            tag => return Err(DecodeError::UnknownTag(tag)),
        })
    }
}
