//! AMQP 0-9-1 field tables: exchange, queue and binding arguments, and message headers.

use std::hash::{Hash, Hasher};

use bytes::Bytes;
use bytestring::ByteString;

/// A value in a [`FieldTable`]: the AMQP 0-9-1 `field-value`, with every integer width in
/// one variant.
///
/// Equality (`==`) is structural and total: a float equals only a float with the same
/// bits (`-0.0` counted as `0.0`), so tables can be hashed and compared as declaration
/// arguments. Headers exchanges compare with [`FieldValue::matches`] instead.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum FieldValue {
    /// `boolean` (`t`).
    Bool(bool),
    /// Any integer: `short-short-int` to `long-long-int`, signed or unsigned (`b B s u I i
    /// l`); the codec widens them.
    Int(i64),
    /// `float` or `double` (`f d`).
    Float(f64),
    /// `decimal-value` (`D`): `value` x 10^-`scale`.
    Decimal {
        /// Decimal places.
        scale: u8,
        /// The unscaled value.
        value: u32,
    },
    /// `long-string` (`S`), also the short strings of tables: bytes, usually UTF-8.
    Str(Bytes),
    /// Byte array (`x`), RabbitMQ's binary type.
    Bytes(Bytes),
    /// `timestamp` (`T`): seconds since the epoch.
    Timestamp(u64),
    /// `field-array` (`A`).
    Array(Vec<Self>),
    /// Nested `field-table` (`F`).
    Table(FieldTable),
    /// `no-field` (`V`): no value. In a headers-exchange binding it asks only that the
    /// header be present.
    Void,
}

impl FieldValue {
    /// A long string from text.
    pub fn str(text: &str) -> Self {
        Self::Str(Bytes::copy_from_slice(text.as_bytes()))
    }

    /// The text of a [`FieldValue::Str`] that is valid UTF-8.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Self::Str(bytes) => std::str::from_utf8(bytes).ok(),
            _ => None,
        }
    }

    /// Whether a binding argument value matches a message header value, as RabbitMQ's
    /// headers exchange compares them: with Erlang's `==`, which ignores the wire type.
    /// So integers, timestamps and floats compare as numbers (`1` matches `1.0`), a long
    /// string matches a byte array with the same bytes, and arrays and tables compare
    /// element by element. ([`FieldValue::Void`] in a binding means "present"; that is
    /// the matcher's rule, not this one.)
    pub fn matches(&self, header: &Self) -> bool {
        match (self, header) {
            (Self::Bool(a), Self::Bool(b)) => a == b,
            (Self::Int(a), Self::Int(b)) => a == b,
            (Self::Timestamp(a), Self::Timestamp(b)) => a == b,
            (Self::Int(i), Self::Timestamp(t)) | (Self::Timestamp(t), Self::Int(i)) => {
                u64::try_from(*i).is_ok_and(|i| i == *t)
            }
            (Self::Float(a), Self::Float(b)) => a == b,
            (Self::Float(f), Self::Int(i)) | (Self::Int(i), Self::Float(f)) => float_is_int(*f, *i),
            (Self::Float(f), Self::Timestamp(t)) | (Self::Timestamp(t), Self::Float(f)) => {
                i64::try_from(*t).is_ok_and(|t| float_is_int(*f, t))
            }
            (Self::Decimal { .. }, Self::Decimal { .. }) | (Self::Void, Self::Void) => {
                self == header
            }
            (Self::Str(a) | Self::Bytes(a), Self::Str(b) | Self::Bytes(b)) => a == b,
            (Self::Array(a), Self::Array(b)) => {
                a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.matches(y))
            }
            (Self::Table(a), Self::Table(b)) => {
                a.len() == b.len()
                    && a.iter()
                        .zip(b.iter())
                        .all(|((ka, va), (kb, vb))| ka == kb && va.matches(vb))
            }
            _ => false,
        }
    }
}

/// Whether `f` is exactly the integer `i`.
fn float_is_int(f: f64, i: i64) -> bool {
    // -2^63 and 2^63 are exact in f64; `as` saturates outside, so range-check first.
    const LIMIT: f64 = 9_223_372_036_854_775_808.0;
    f.fract() == 0.0 && (-LIMIT..LIMIT).contains(&f) && f as i64 == i
}

/// The bits a float compares and hashes by: `-0.0` is `0.0`.
fn float_bits(f: f64) -> u64 {
    if f == 0.0 { 0 } else { f.to_bits() }
}

impl PartialEq for FieldValue {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Self::Bool(a), Self::Bool(b)) => a == b,
            (Self::Int(a), Self::Int(b)) => a == b,
            (Self::Float(a), Self::Float(b)) => float_bits(*a) == float_bits(*b),
            (
                Self::Decimal {
                    scale: sa,
                    value: va,
                },
                Self::Decimal {
                    scale: sb,
                    value: vb,
                },
            ) => sa == sb && va == vb,
            (Self::Str(a), Self::Str(b)) | (Self::Bytes(a), Self::Bytes(b)) => a == b,
            (Self::Timestamp(a), Self::Timestamp(b)) => a == b,
            (Self::Array(a), Self::Array(b)) => a == b,
            (Self::Table(a), Self::Table(b)) => a == b,
            (Self::Void, Self::Void) => true,
            _ => false,
        }
    }
}

impl Eq for FieldValue {}

impl Hash for FieldValue {
    fn hash<H: Hasher>(&self, state: &mut H) {
        std::mem::discriminant(self).hash(state);
        match self {
            Self::Bool(b) => b.hash(state),
            Self::Int(i) => i.hash(state),
            Self::Float(f) => float_bits(*f).hash(state),
            Self::Decimal { scale, value } => (scale, value).hash(state),
            Self::Str(b) | Self::Bytes(b) => b.hash(state),
            Self::Timestamp(t) => t.hash(state),
            Self::Array(a) => a.hash(state),
            Self::Table(t) => t.hash(state),
            Self::Void => {}
        }
    }
}

impl From<&str> for FieldValue {
    fn from(text: &str) -> Self {
        Self::str(text)
    }
}

impl From<i64> for FieldValue {
    fn from(i: i64) -> Self {
        Self::Int(i)
    }
}

impl From<bool> for FieldValue {
    fn from(b: bool) -> Self {
        Self::Bool(b)
    }
}

impl From<f64> for FieldValue {
    fn from(f: f64) -> Self {
        Self::Float(f)
    }
}

/// An AMQP 0-9-1 `field-table`, kept sorted by key with one value per key, as RabbitMQ
/// sorts the tables it compares. Two tables with the same entries are equal whatever
/// order they arrived in.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct FieldTable(Vec<(ByteString, FieldValue)>);

impl FieldTable {
    /// An empty table.
    pub const fn new() -> Self {
        Self(Vec::new())
    }

    /// The value under `key`.
    pub fn get(&self, key: &str) -> Option<&FieldValue> {
        let at = self.position(key).ok()?;
        self.0.get(at).map(|(_, value)| value)
    }

    /// Sets `key` to `value`, returning the value it replaces. A table decoded from the
    /// wire with a key twice keeps the last value.
    pub fn insert(&mut self, key: impl Into<ByteString>, value: FieldValue) -> Option<FieldValue> {
        let key = key.into();
        match self.position(&key) {
            Ok(at) => self
                .0
                .get_mut(at)
                .map(|(_, old)| std::mem::replace(old, value)),
            Err(at) => {
                self.0.insert(at, (key, value));
                None
            }
        }
    }

    /// Removes `key`, returning its value.
    pub fn remove(&mut self, key: &str) -> Option<FieldValue> {
        let at = self.position(key).ok()?;
        Some(self.0.remove(at).1)
    }

    /// The entries, sorted by key.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&str, &FieldValue)> + '_ {
        self.0.iter().map(|(key, value)| (&**key, value))
    }

    /// The number of entries.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the table is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn position(&self, key: &str) -> Result<usize, usize> {
        self.0.binary_search_by(|(k, _)| (**k).cmp(key))
    }
}

impl<K: Into<ByteString>> FromIterator<(K, FieldValue)> for FieldTable {
    fn from_iter<I: IntoIterator<Item = (K, FieldValue)>>(entries: I) -> Self {
        let mut table = Self::new();
        for (key, value) in entries {
            table.insert(key, value);
        }
        table
    }
}

impl<K: Into<ByteString>, const N: usize> From<[(K, FieldValue); N]> for FieldTable {
    fn from(entries: [(K, FieldValue); N]) -> Self {
        entries.into_iter().collect()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn tables_are_sorted_and_unique() {
        let mut t = FieldTable::from([("b", 2.into()), ("a", 1.into()), ("b", 3.into())]);
        assert_eq!(t.len(), 2);
        assert_eq!(
            t.iter().map(|(k, _)| k).collect::<Vec<_>>(),
            ["a", "b"],
            "sorted"
        );
        assert_eq!(t.get("b"), Some(&FieldValue::Int(3)), "last value wins");
        assert_eq!(t.insert("a", "x".into()), Some(FieldValue::Int(1)));
        assert_eq!(t.remove("a"), Some(FieldValue::str("x")));
        assert_eq!(t.remove("a"), None);
        assert_eq!(t.get("zz"), None);
        let one = FieldTable::from([("x", 1.into()), ("y", true.into())]);
        let other = FieldTable::from([("y", true.into()), ("x", 1.into())]);
        assert_eq!(one, other, "order of arrival does not matter");
        let set: HashSet<_> = [one, other].into_iter().collect();
        assert_eq!(set.len(), 1);
    }

    #[test]
    fn structural_equality_is_total() {
        assert_eq!(FieldValue::Float(f64::NAN), FieldValue::Float(f64::NAN));
        assert_eq!(FieldValue::Float(-0.0), FieldValue::Float(0.0));
        assert_ne!(FieldValue::Int(1), FieldValue::Float(1.0));
        assert_ne!(
            FieldValue::str("a"),
            FieldValue::Bytes(Bytes::from_static(b"a"))
        );
        assert_ne!(FieldValue::Void, FieldValue::Bool(false));
        assert_eq!(FieldValue::str("all").as_str(), Some("all"));
        assert_eq!(FieldValue::Int(1).as_str(), None);
    }

    #[test]
    fn header_matching_compares_as_erlang_does() {
        use FieldValue as V;
        assert!(V::Int(1).matches(&V::Float(1.0)));
        assert!(V::Float(2.0).matches(&V::Int(2)));
        assert!(!V::Float(2.5).matches(&V::Int(2)));
        assert!(!V::Float(f64::NAN).matches(&V::Float(f64::NAN)));
        assert!(!V::Float(1e300).matches(&V::Int(i64::MAX)));
        assert!(V::Int(5).matches(&V::Timestamp(5)));
        assert!(!V::Int(-5).matches(&V::Timestamp(5)));
        assert!(V::Timestamp(7).matches(&V::Float(7.0)));
        assert!(V::str("a").matches(&V::Bytes(Bytes::from_static(b"a"))));
        assert!(!V::str("a").matches(&V::str("b")));
        assert!(!V::Bool(true).matches(&V::str("true")));
        assert!(!V::Int(1).matches(&V::Bool(true)));
        assert!(V::Decimal { scale: 1, value: 5 }.matches(&V::Decimal { scale: 1, value: 5 }));
        assert!(!V::Decimal { scale: 1, value: 5 }.matches(&V::Decimal {
            scale: 2,
            value: 50
        }));
        assert!(V::Array(vec![V::Int(1)]).matches(&V::Array(vec![V::Float(1.0)])));
        assert!(!V::Array(vec![V::Int(1)]).matches(&V::Array(vec![])));
        let t = |v: FieldValue| V::Table(FieldTable::from([("k", v)]));
        assert!(t(V::Int(3)).matches(&t(V::Float(3.0))));
        assert!(!t(V::Int(3)).matches(&t(V::Int(4))));
        assert!(V::Void.matches(&V::Void));
    }
}
