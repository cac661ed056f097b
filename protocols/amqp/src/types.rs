//! The string types of the wire format: [`ShortString`] (at most 255 octets) and
//! [`LongString`] (a 32-bit length), both views of the frame they were decoded from.
//!
//! AMQP strings are octet strings: RabbitMQ does not require UTF-8 in names, consumer
//! tags or message properties, so neither do we. `as_str` gives the text when it is
//! UTF-8.

use std::fmt;

use bytes::Bytes;

use crate::error::EncodeError;

/// A `shortstr`: at most 255 octets, valid by construction.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct ShortString(Bytes);

impl ShortString {
    /// The longest short string, in octets.
    pub const MAX_LEN: usize = 255;

    /// The empty short string.
    pub const EMPTY: Self = Self(Bytes::new());

    /// A short string of static text, checked at compile time when used in a `const`.
    ///
    /// # Panics
    ///
    /// If `s` is longer than 255 bytes (a programming error, not an input error).
    pub const fn from_static(s: &'static str) -> Self {
        assert!(
            s.len() <= Self::MAX_LEN,
            "short string longer than 255 bytes"
        );
        Self(Bytes::from_static(s.as_bytes()))
    }

    /// A short string of these octets, or [`EncodeError::ShortStringTooLong`].
    pub fn new(octets: impl Into<Bytes>) -> Result<Self, EncodeError> {
        let octets = octets.into();
        if octets.len() > Self::MAX_LEN {
            return Err(EncodeError::ShortStringTooLong { len: octets.len() });
        }
        Ok(Self(octets))
    }

    /// Wraps octets that the caller has checked to be at most 255 long.
    pub(crate) const fn from_checked(octets: Bytes) -> Self {
        Self(octets)
    }

    /// The octets.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The text, if the octets are UTF-8.
    pub fn as_str(&self) -> Option<&str> {
        std::str::from_utf8(&self.0).ok()
    }

    /// The octets as `Bytes` (a view of the decoded frame, no copy).
    pub fn into_bytes(self) -> Bytes {
        self.0
    }

    /// Length in octets.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the string is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for ShortString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&String::from_utf8_lossy(&self.0), f)
    }
}

impl TryFrom<&str> for ShortString {
    type Error = EncodeError;

    fn try_from(s: &str) -> Result<Self, EncodeError> {
        Self::new(Bytes::copy_from_slice(s.as_bytes()))
    }
}

impl TryFrom<String> for ShortString {
    type Error = EncodeError;

    fn try_from(s: String) -> Result<Self, EncodeError> {
        Self::new(s)
    }
}

impl TryFrom<Bytes> for ShortString {
    type Error = EncodeError;

    fn try_from(b: Bytes) -> Result<Self, EncodeError> {
        Self::new(b)
    }
}

impl PartialEq<str> for ShortString {
    fn eq(&self, other: &str) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl PartialEq<&str> for ShortString {
    fn eq(&self, other: &&str) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

/// A `longstr`: octets with a 32-bit length, bounded in practice by frame-max.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct LongString(Bytes);

impl LongString {
    /// The empty long string.
    pub const EMPTY: Self = Self(Bytes::new());

    /// A long string of static text.
    pub const fn from_static(s: &'static str) -> Self {
        Self(Bytes::from_static(s.as_bytes()))
    }

    /// A long string of these octets (their length is checked when encoded).
    pub fn new(octets: impl Into<Bytes>) -> Self {
        Self(octets.into())
    }

    /// The octets.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The text, if the octets are UTF-8.
    pub fn as_str(&self) -> Option<&str> {
        std::str::from_utf8(&self.0).ok()
    }

    /// The octets as `Bytes` (a view of the decoded frame, no copy).
    pub fn into_bytes(self) -> Bytes {
        self.0
    }

    /// Length in octets.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the string is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for LongString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&String::from_utf8_lossy(&self.0), f)
    }
}

impl From<&str> for LongString {
    fn from(s: &str) -> Self {
        Self(Bytes::copy_from_slice(s.as_bytes()))
    }
}

impl From<String> for LongString {
    fn from(s: String) -> Self {
        Self(Bytes::from(s))
    }
}

impl From<Bytes> for LongString {
    fn from(b: Bytes) -> Self {
        Self(b)
    }
}

impl From<Vec<u8>> for LongString {
    fn from(v: Vec<u8>) -> Self {
        Self(Bytes::from(v))
    }
}

impl PartialEq<str> for LongString {
    fn eq(&self, other: &str) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl PartialEq<&str> for LongString {
    fn eq(&self, other: &&str) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_strings_are_bounded() {
        assert!(ShortString::new(vec![b'a'; 255]).is_ok());
        assert_eq!(
            ShortString::new(vec![b'a'; 256]),
            Err(EncodeError::ShortStringTooLong { len: 256 })
        );
        let s = ShortString::from_static("amq.direct");
        assert_eq!(s, "amq.direct");
        assert_eq!(s.as_str(), Some("amq.direct"));
        assert_eq!(ShortString::new(&b"\xff"[..]).unwrap().as_str(), None);
        assert_eq!(format!("{s:?}"), "\"amq.direct\"");
    }
}
