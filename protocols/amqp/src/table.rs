//! Field tables and field values, with the type letters RabbitMQ (and Qpid) use.
//!
//! The 0-9-1 spec's own table of letters disagrees with every broker; RabbitMQ's errata
//! ("Field types") list what is used on the wire, and this module follows them:
//!
//! | letter | type | | letter | type |
//! |---|---|---|---|---|
//! | `t` | boolean | | `l` | signed 64-bit |
//! | `b` | signed 8-bit | | `f` | 32-bit float |
//! | `B` | unsigned 8-bit | | `d` | 64-bit float |
//! | `s` | signed 16-bit | | `D` | decimal (scale octet, 32-bit value) |
//! | `u` | unsigned 16-bit | | `S` | long string |
//! | `I` | signed 32-bit | | `x` | byte array |
//! | `i` | unsigned 32-bit | | `A` | array |
//! | `T` | timestamp (u64) | | `F` | nested table |
//! | `V` | void | | | |
//!
//! Not accepted, as RabbitMQ does not: the spec's `U` (signed 16), `L` (unsigned 64)
//! and `s` as short string (RabbitMQ reads `s` as a signed 16-bit integer); there is
//! no unsigned 64-bit type. Decoding one is [`DecodeError::UnknownFieldType`].
//!
//! [`DecodeError::UnknownFieldType`]: crate::DecodeError::UnknownFieldType

use bytes::Bytes;

use crate::types::{LongString, ShortString};

/// A field table: name/value pairs in wire order. Order and repeated names are kept,
/// so a decoded table encodes to the same octets; [`FieldTable::get`] finds the first
/// entry of a name, as RabbitMQ's lookups do.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FieldTable(Vec<(ShortString, FieldValue)>);

impl FieldTable {
    /// An empty table.
    pub const fn new() -> Self {
        Self(Vec::new())
    }

    /// An empty table with room for `n` entries.
    pub fn with_capacity(n: usize) -> Self {
        Self(Vec::with_capacity(n))
    }

    /// Appends an entry (a name already present is not replaced: see [`insert`]).
    ///
    /// [`insert`]: FieldTable::insert
    pub fn push(&mut self, name: ShortString, value: impl Into<FieldValue>) {
        self.0.push((name, value.into()));
    }

    /// Sets `name` to `value`, replacing the first entry of that name or appending.
    pub fn insert(&mut self, name: ShortString, value: impl Into<FieldValue>) {
        let value = value.into();
        match self.0.iter_mut().find(|(k, _)| *k == name) {
            Some((_, v)) => *v = value,
            None => self.0.push((name, value)),
        }
    }

    /// This table with `name` appended (builder style, for constant-like tables).
    #[must_use]
    pub fn with(mut self, name: ShortString, value: impl Into<FieldValue>) -> Self {
        self.push(name, value);
        self
    }

    /// The value of the first entry named `name`.
    pub fn get(&self, name: &str) -> Option<&FieldValue> {
        self.0
            .iter()
            .find(|(k, _)| k.as_bytes() == name.as_bytes())
            .map(|(_, v)| v)
    }

    /// The entries in wire order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = &(ShortString, FieldValue)> {
        self.0.iter()
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the table has no entries.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl FromIterator<(ShortString, FieldValue)> for FieldTable {
    fn from_iter<I: IntoIterator<Item = (ShortString, FieldValue)>>(iter: I) -> Self {
        Self(iter.into_iter().collect())
    }
}

impl From<Vec<(ShortString, FieldValue)>> for FieldTable {
    fn from(entries: Vec<(ShortString, FieldValue)>) -> Self {
        Self(entries)
    }
}

impl IntoIterator for FieldTable {
    type Item = (ShortString, FieldValue);
    type IntoIter = std::vec::IntoIter<(ShortString, FieldValue)>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

/// A field-table or field-array value. Names follow the spec's domain names; the
/// letter of each is in the module documentation.
///
/// Equality compares floats by their bits, so that every value, NaN included, equals
/// itself after a round trip (and `Eq` holds).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum FieldValue {
    /// `t`: boolean (any non-zero octet decodes as true).
    Boolean(bool),
    /// `b`: signed 8-bit integer.
    ShortShortInt(i8),
    /// `B`: unsigned 8-bit integer.
    ShortShortUInt(u8),
    /// `s`: signed 16-bit integer.
    ShortInt(i16),
    /// `u`: unsigned 16-bit integer.
    ShortUInt(u16),
    /// `I`: signed 32-bit integer.
    LongInt(i32),
    /// `i`: unsigned 32-bit integer.
    LongUInt(u32),
    /// `l`: signed 64-bit integer.
    LongLongInt(i64),
    /// `f`: IEEE 754 single.
    Float(f32),
    /// `d`: IEEE 754 double.
    Double(f64),
    /// `D`: decimal, `value / 10^scale`.
    Decimal {
        /// Number of decimal digits after the point.
        scale: u8,
        /// The unscaled value.
        value: u32,
    },
    /// `S`: long string.
    LongString(LongString),
    /// `x`: byte array (RabbitMQ's extension).
    ByteArray(Bytes),
    /// `A`: array of values.
    Array(Vec<Self>),
    /// `T`: timestamp, seconds since the epoch.
    Timestamp(u64),
    /// `F`: nested table.
    Table(FieldTable),
    /// `V`: no value.
    Void,
}

impl FieldValue {
    /// The type letter this value is written with.
    pub const fn type_letter(&self) -> u8 {
        match self {
            Self::Boolean(_) => b't',
            Self::ShortShortInt(_) => b'b',
            Self::ShortShortUInt(_) => b'B',
            Self::ShortInt(_) => b's',
            Self::ShortUInt(_) => b'u',
            Self::LongInt(_) => b'I',
            Self::LongUInt(_) => b'i',
            Self::LongLongInt(_) => b'l',
            Self::Float(_) => b'f',
            Self::Double(_) => b'd',
            Self::Decimal { .. } => b'D',
            Self::LongString(_) => b'S',
            Self::ByteArray(_) => b'x',
            Self::Array(_) => b'A',
            Self::Timestamp(_) => b'T',
            Self::Table(_) => b'F',
            Self::Void => b'V',
        }
    }

    /// The boolean, if this is one.
    pub const fn as_bool(&self) -> Option<bool> {
        match self {
            Self::Boolean(b) => Some(*b),
            _ => None,
        }
    }

    /// The integer value of any of the integer types, widened.
    pub const fn as_i64(&self) -> Option<i64> {
        Some(match *self {
            Self::ShortShortInt(v) => v as i64,
            Self::ShortShortUInt(v) => v as i64,
            Self::ShortInt(v) => v as i64,
            Self::ShortUInt(v) => v as i64,
            Self::LongInt(v) => v as i64,
            Self::LongUInt(v) => v as i64,
            Self::LongLongInt(v) => v,
            _ => return None,
        })
    }

    /// The table, if this is one.
    pub const fn as_table(&self) -> Option<&FieldTable> {
        match self {
            Self::Table(t) => Some(t),
            _ => None,
        }
    }

    /// The octets of a long string or byte array.
    pub fn as_bytes(&self) -> Option<&[u8]> {
        match self {
            Self::LongString(s) => Some(s.as_bytes()),
            Self::ByteArray(b) => Some(b),
            _ => None,
        }
    }
}

impl PartialEq for FieldValue {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Self::Boolean(a), Self::Boolean(b)) => a == b,
            (Self::ShortShortInt(a), Self::ShortShortInt(b)) => a == b,
            (Self::ShortShortUInt(a), Self::ShortShortUInt(b)) => a == b,
            (Self::ShortInt(a), Self::ShortInt(b)) => a == b,
            (Self::ShortUInt(a), Self::ShortUInt(b)) => a == b,
            (Self::LongInt(a), Self::LongInt(b)) => a == b,
            (Self::LongUInt(a), Self::LongUInt(b)) => a == b,
            (Self::LongLongInt(a), Self::LongLongInt(b)) => a == b,
            (Self::Float(a), Self::Float(b)) => a.to_bits() == b.to_bits(),
            (Self::Double(a), Self::Double(b)) => a.to_bits() == b.to_bits(),
            (
                Self::Decimal { scale, value },
                Self::Decimal {
                    scale: s2,
                    value: v2,
                },
            ) => scale == s2 && value == v2,
            (Self::LongString(a), Self::LongString(b)) => a == b,
            (Self::ByteArray(a), Self::ByteArray(b)) => a == b,
            (Self::Array(a), Self::Array(b)) => a == b,
            (Self::Timestamp(a), Self::Timestamp(b)) => a == b,
            (Self::Table(a), Self::Table(b)) => a == b,
            (Self::Void, Self::Void) => true,
            _ => false,
        }
    }
}

impl Eq for FieldValue {}

impl From<bool> for FieldValue {
    fn from(v: bool) -> Self {
        Self::Boolean(v)
    }
}

impl From<i32> for FieldValue {
    fn from(v: i32) -> Self {
        Self::LongInt(v)
    }
}

impl From<i64> for FieldValue {
    fn from(v: i64) -> Self {
        Self::LongLongInt(v)
    }
}

impl From<LongString> for FieldValue {
    fn from(v: LongString) -> Self {
        Self::LongString(v)
    }
}

impl From<&str> for FieldValue {
    fn from(v: &str) -> Self {
        Self::LongString(LongString::from(v))
    }
}

impl From<FieldTable> for FieldValue {
    fn from(v: FieldTable) -> Self {
        Self::Table(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nan_equals_itself_and_lookups_find_the_first_entry() {
        assert_eq!(FieldValue::Double(f64::NAN), FieldValue::Double(f64::NAN));
        assert_ne!(FieldValue::Double(0.0), FieldValue::Double(-0.0));
        let mut t = FieldTable::new();
        t.push(ShortString::from_static("a"), 1);
        t.push(ShortString::from_static("a"), 2);
        assert_eq!(t.get("a"), Some(&FieldValue::LongInt(1)));
        t.insert(ShortString::from_static("a"), 3);
        assert_eq!(t.get("a").and_then(FieldValue::as_i64), Some(3));
        assert_eq!(t.len(), 2);
    }
}
