//! A bounded reader over one frame payload: every read checks the end of its range,
//! strings come out as views of the frame, and `bit` fields are packed as the spec's
//! "4.2.5.2 Bits" says (consecutive bits share octets, low bit first).

use bytes::Bytes;

use crate::error::DecodeError;
use crate::table::{FieldTable, FieldValue};
use crate::types::{LongString, ShortString};

/// The deepest nesting of field tables and arrays the codec accepts (a table inside
/// a table is depth 2). Deeper input is [`DecodeError::NestingTooDeep`]: recursion on
/// hostile input stays bounded.
pub const MAX_NESTING: usize = 32;

/// Reads the fields of one frame payload.
#[derive(Debug)]
pub(crate) struct Reader<'a> {
    /// The whole payload, which views point into.
    frame: &'a Bytes,
    /// The bytes not read yet.
    rest: &'a [u8],
    /// The octet that the last `bit` came from, and how many of its bits were used;
    /// `bits_used == 8` means that the next bit starts a new octet.
    bit_octet: u8,
    bits_used: u8,
}

impl<'a> Reader<'a> {
    #[inline]
    pub(crate) fn new(frame: &'a Bytes) -> Self {
        Self {
            frame,
            rest: frame.as_ref(),
            bit_octet: 0,
            bits_used: 8,
        }
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

    #[inline]
    fn slice(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        self.bits_used = 8;
        let (head, rest) = self
            .rest
            .split_at_checked(n)
            .ok_or(DecodeError::UnexpectedEnd)?;
        self.rest = rest;
        Ok(head)
    }

    #[inline]
    fn array<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        self.bits_used = 8;
        let (v, rest) = self
            .rest
            .split_first_chunk::<N>()
            .ok_or(DecodeError::UnexpectedEnd)?;
        self.rest = rest;
        Ok(*v)
    }

    #[inline]
    pub(crate) fn u8(&mut self) -> Result<u8, DecodeError> {
        Ok(u8::from_be_bytes(self.array()?))
    }

    #[inline]
    pub(crate) fn u16(&mut self) -> Result<u16, DecodeError> {
        Ok(u16::from_be_bytes(self.array()?))
    }

    #[inline]
    pub(crate) fn u32(&mut self) -> Result<u32, DecodeError> {
        Ok(u32::from_be_bytes(self.array()?))
    }

    #[inline]
    pub(crate) fn u64(&mut self) -> Result<u64, DecodeError> {
        Ok(u64::from_be_bytes(self.array()?))
    }

    /// A `bit` field: the next bit of the current octet, or the low bit of a new one.
    #[inline]
    pub(crate) fn bit(&mut self) -> Result<bool, DecodeError> {
        if self.bits_used == 8 {
            let (&octet, rest) = self.rest.split_first().ok_or(DecodeError::UnexpectedEnd)?;
            self.rest = rest;
            self.bit_octet = octet;
            self.bits_used = 0;
        }
        let bit = (self.bit_octet >> self.bits_used) & 1 == 1;
        self.bits_used += 1;
        Ok(bit)
    }

    /// `n` octets as a view of the frame.
    #[inline]
    pub(crate) fn bytes(&mut self, n: usize) -> Result<Bytes, DecodeError> {
        let s = self.slice(n)?;
        Ok(self.frame.slice_ref(s))
    }

    #[inline]
    pub(crate) fn short_string(&mut self) -> Result<ShortString, DecodeError> {
        let n = self.u8()?;
        Ok(ShortString::from_checked(self.bytes(usize::from(n))?))
    }

    #[inline]
    pub(crate) fn long_bytes(&mut self) -> Result<Bytes, DecodeError> {
        let n = self.u32()?;
        let n = usize::try_from(n).map_err(|_| DecodeError::UnexpectedEnd)?;
        self.bytes(n)
    }

    #[inline]
    pub(crate) fn long_string(&mut self) -> Result<LongString, DecodeError> {
        Ok(LongString::new(self.long_bytes()?))
    }

    /// A reader over the next `n` octets (a table's or array's body).
    fn sub(&mut self, n: usize) -> Result<Self, DecodeError> {
        let rest = self.slice(n)?;
        Ok(Self {
            frame: self.frame,
            rest,
            bit_octet: 0,
            bits_used: 8,
        })
    }

    /// A field table at nesting `depth` (1 for a method's or property's table).
    pub(crate) fn table(&mut self, depth: usize) -> Result<FieldTable, DecodeError> {
        if depth > MAX_NESTING {
            return Err(DecodeError::NestingTooDeep);
        }
        let n = usize::try_from(self.u32()?).map_err(|_| DecodeError::UnexpectedEnd)?;
        let mut sub = self.sub(n)?;
        let mut table = FieldTable::new();
        while !sub.rest.is_empty() {
            let key = sub.short_string()?;
            let value = sub.value(depth)?;
            table.push(key, value);
        }
        Ok(table)
    }

    /// A field array at nesting `depth`.
    fn array_value(&mut self, depth: usize) -> Result<Vec<FieldValue>, DecodeError> {
        if depth > MAX_NESTING {
            return Err(DecodeError::NestingTooDeep);
        }
        let n = usize::try_from(self.u32()?).map_err(|_| DecodeError::UnexpectedEnd)?;
        let mut sub = self.sub(n)?;
        let mut values = Vec::new();
        while !sub.rest.is_empty() {
            values.push(sub.value(depth)?);
        }
        Ok(values)
    }

    /// A type letter and its value, RabbitMQ's letters (module `table`).
    fn value(&mut self, depth: usize) -> Result<FieldValue, DecodeError> {
        let letter = self.u8()?;
        Ok(match letter {
            b't' => FieldValue::Boolean(self.u8()? != 0),
            b'b' => FieldValue::ShortShortInt(i8::from_be_bytes(self.array()?)),
            b'B' => FieldValue::ShortShortUInt(self.u8()?),
            b's' => FieldValue::ShortInt(i16::from_be_bytes(self.array()?)),
            b'u' => FieldValue::ShortUInt(self.u16()?),
            b'I' => FieldValue::LongInt(i32::from_be_bytes(self.array()?)),
            b'i' => FieldValue::LongUInt(self.u32()?),
            b'l' => FieldValue::LongLongInt(i64::from_be_bytes(self.array()?)),
            b'f' => FieldValue::Float(f32::from_be_bytes(self.array()?)),
            b'd' => FieldValue::Double(f64::from_be_bytes(self.array()?)),
            b'D' => FieldValue::Decimal {
                scale: self.u8()?,
                value: self.u32()?,
            },
            b'S' => FieldValue::LongString(self.long_string()?),
            b'x' => FieldValue::ByteArray(self.long_bytes()?),
            b'A' => FieldValue::Array(self.array_value(depth + 1)?),
            b'T' => FieldValue::Timestamp(self.u64()?),
            b'F' => FieldValue::Table(self.table(depth + 1)?),
            b'V' => FieldValue::Void,
            other => return Err(DecodeError::UnknownFieldType(other)),
        })
    }
}
