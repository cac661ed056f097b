//! Parsed value types shared by the packets: protocol version, QoS, topic names and
//! filters, subscription options.

use std::fmt;
use std::num::NonZeroU16;

use bytes::Bytes;
use bytestring::ByteString;

use crate::error::DecodeError;
use crate::scan;

/// A packet identifier: never zero [MQTT-2.2.1-3] / [MQTT-2.3.1-1].
pub type PacketId = NonZeroU16;

/// MQTT 5 user properties, name/value pairs in the order they were sent.
pub type UserProperties = Vec<(ByteString, ByteString)>;

/// The protocol version of a connection, chosen by its CONNECT packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Protocol {
    /// MQTT 3.1.1 (protocol level 4).
    V311,
    /// MQTT 5.0 (protocol level 5).
    V5,
}

impl Protocol {
    /// The protocol level byte of CONNECT.
    pub const fn level(self) -> u8 {
        match self {
            Self::V311 => 4,
            Self::V5 => 5,
        }
    }

    /// The version for a protocol level byte, if this crate speaks it.
    pub const fn from_level(level: u8) -> Option<Self> {
        match level {
            4 => Some(Self::V311),
            5 => Some(Self::V5),
            _ => None,
        }
    }
}

/// Quality of service of a message or subscription.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum QoS {
    /// QoS 0: at most once.
    AtMostOnce = 0,
    /// QoS 1: at least once.
    AtLeastOnce = 1,
    /// QoS 2: exactly once.
    ExactlyOnce = 2,
}

impl QoS {
    /// Parses the two QoS bits; 3 is malformed [MQTT-3.3.1-4].
    pub const fn from_bits(bits: u8) -> Result<Self, DecodeError> {
        match bits {
            0 => Ok(Self::AtMostOnce),
            1 => Ok(Self::AtLeastOnce),
            2 => Ok(Self::ExactlyOnce),
            _ => Err(DecodeError::InvalidQoS),
        }
    }
}

/// The MQTT 5 payload format indicator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PayloadFormat {
    /// Unspecified bytes (0).
    Unspecified = 0,
    /// UTF-8 encoded character data (1).
    Utf8 = 1,
}

/// Checks the UTF-8 string rules that `from_utf8` does not: no U+0000 [MQTT-1.5.4-2].
/// Well-formedness, including the ban on surrogates [MQTT-1.5.4-1], is `ByteString`'s
/// own check.
#[inline]
pub(crate) fn check_mqtt_string(s: &str) -> Result<(), DecodeError> {
    if scan::contains_nul(s.as_bytes()) {
        Err(DecodeError::NullCharacter)
    } else {
        Ok(())
    }
}

/// A topic name, as PUBLISH and wills carry it: no wildcard characters [MQTT-3.3.2-2],
/// no U+0000. It may be empty only in an MQTT 5 PUBLISH that carries a topic alias; the
/// packet decoders enforce that [MQTT-4.7.3-1].
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TopicName(ByteString);

impl TopicName {
    /// Validates a topic name.
    #[inline]
    pub fn new(name: impl Into<ByteString>) -> Result<Self, DecodeError> {
        let name = name.into();
        // One pass for both rules: topic names are on every PUBLISH. The first
        // offending byte decides the error.
        if scan::contains_nul_or_wildcard(name.as_bytes()) {
            return Err(Self::first_error(name.as_bytes()));
        }
        Ok(Self(name))
    }

    /// Validates the topic name of a PUBLISH, a view of the packet: well-formed UTF-8
    /// first, then [`TopicName::new`]'s rules, with one scan of the bytes.
    #[inline(always)]
    pub(crate) fn from_packet(name: Bytes) -> Result<Self, DecodeError> {
        let special = scan::contains_nul_or_wildcard(&name);
        let name = ByteString::try_from(name).map_err(|_| DecodeError::InvalidUtf8)?;
        if special {
            return Err(Self::first_error(name.as_bytes()));
        }
        Ok(Self(name))
    }

    /// The error for a name that holds U+0000, `+` or `#`: that of the first of them.
    #[cold]
    fn first_error(bytes: &[u8]) -> DecodeError {
        match bytes.iter().find(|&&b| matches!(b, 0 | b'+' | b'#')) {
            Some(0) => DecodeError::NullCharacter,
            _ => DecodeError::WildcardInTopicName,
        }
    }

    /// The empty topic name of a PUBLISH that relies on a topic alias.
    pub fn empty() -> Self {
        Self(ByteString::new())
    }

    /// The name as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The name as the shared string that holds it.
    pub fn as_byte_string(&self) -> &ByteString {
        &self.0
    }

    /// Whether the name is empty (alias-only PUBLISH).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for TopicName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

impl fmt::Display for TopicName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A topic filter: not empty [MQTT-4.7.3-1]; `#` only as the whole last level
/// [MQTT-4.7.1-2]; `+` only as a whole level [MQTT-4.7.1-3]; no U+0000.
///
/// The MQTT 5 shared-subscription form `$share/{ShareName}/{filter}` is checked by the
/// MQTT 5 packet decoders, because in MQTT 3.1.1 `$share` is an ordinary level.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TopicFilter(ByteString);

impl TopicFilter {
    /// Validates a topic filter.
    #[inline]
    pub fn new(filter: impl Into<ByteString>) -> Result<Self, DecodeError> {
        let filter = filter.into();
        let bytes = filter.as_bytes();
        if bytes.is_empty() {
            return Err(DecodeError::InvalidTopicFilter);
        }
        // A filter without wildcards is settled by one scan.
        if !scan::contains_nul_or_wildcard(bytes) {
            return Ok(Self(filter));
        }
        // U+0000 anywhere outranks a misplaced wildcard.
        if scan::contains_nul(bytes) {
            return Err(DecodeError::NullCharacter);
        }
        // A wildcard is a whole level (the byte before is `/` or the start, the byte
        // after `/` or the end), and `#` ends the filter.
        for (i, &b) in bytes.iter().enumerate() {
            if b != b'+' && b != b'#' {
                continue;
            }
            let whole_level = (i == 0 || bytes.get(i - 1) == Some(&b'/'))
                && matches!(bytes.get(i + 1), None | Some(b'/'));
            if !whole_level || (b == b'#' && i + 1 != bytes.len()) {
                return Err(DecodeError::InvalidTopicFilter);
            }
        }
        Ok(Self(filter))
    }

    /// The filter as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The filter as the shared string that holds it.
    pub fn as_byte_string(&self) -> &ByteString {
        &self.0
    }

    /// For an MQTT 5 shared subscription `$share/{ShareName}/{filter}`, the share name
    /// and the filter; `None` for any other filter.
    pub fn shared(&self) -> Option<(&str, &str)> {
        let rest = self.0.strip_prefix("$share/")?;
        rest.split_once('/')
    }

    /// Checks the MQTT 5 shared-subscription form [MQTT-4.8.2-1], [MQTT-4.8.2-2]: a
    /// non-empty share name without wildcards, followed by a non-empty filter.
    pub(crate) fn check_shared_v5(&self) -> Result<(), DecodeError> {
        if !self.0.starts_with("$share/") {
            return Ok(());
        }
        match self.shared() {
            Some((group, filter))
                if !group.is_empty() && !filter.is_empty() && !group.contains(['+', '#']) =>
            {
                Ok(())
            }
            _ => Err(DecodeError::InvalidSharedSubscription),
        }
    }
}

impl fmt::Debug for TopicFilter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

impl fmt::Display for TopicFilter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// MQTT 5 retain handling option of a subscription.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum RetainHandling {
    /// Send retained messages at the time of the subscribe (0).
    #[default]
    SendAtSubscribe = 0,
    /// Send retained messages only if the subscription did not exist (1).
    SendAtNewSubscribe = 1,
    /// Do not send retained messages (2).
    DoNotSend = 2,
}

/// The options byte of a SUBSCRIBE entry. In MQTT 3.1.1 only `qos` exists; the other
/// fields must keep their defaults there.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SubscriptionOptions {
    /// Maximum QoS the subscriber accepts.
    pub qos: QoS,
    /// MQTT 5: do not forward the client's own publications back to it.
    pub no_local: bool,
    /// MQTT 5: keep the RETAIN flag as published.
    pub retain_as_published: bool,
    /// MQTT 5: when to send retained messages.
    pub retain_handling: RetainHandling,
}

impl SubscriptionOptions {
    /// Options with the given QoS and MQTT 5 defaults.
    pub const fn new(qos: QoS) -> Self {
        Self {
            qos,
            no_local: false,
            retain_as_published: false,
            retain_handling: RetainHandling::SendAtSubscribe,
        }
    }

    /// Parses the options byte [MQTT-3.8.3-4] (3.1.1: reserved bits 2-7 are 0),
    /// [MQTT-3.8.3-5] (5.0: bits 6-7 are 0, retain handling 3 is a protocol error).
    pub(crate) fn from_byte(byte: u8, protocol: Protocol) -> Result<Self, DecodeError> {
        let qos = QoS::from_bits(byte & 0b11).map_err(|_| DecodeError::InvalidSubscriptionQoS)?;
        match protocol {
            Protocol::V311 => {
                if byte & !0b11 != 0 {
                    return Err(DecodeError::InvalidSubscriptionOptions);
                }
                Ok(Self::new(qos))
            }
            Protocol::V5 => {
                if byte & 0b1100_0000 != 0 {
                    return Err(DecodeError::InvalidSubscriptionOptions);
                }
                let retain_handling = match (byte >> 4) & 0b11 {
                    0 => RetainHandling::SendAtSubscribe,
                    1 => RetainHandling::SendAtNewSubscribe,
                    2 => RetainHandling::DoNotSend,
                    _ => return Err(DecodeError::InvalidRetainHandling),
                };
                Ok(Self {
                    qos,
                    no_local: byte & 0b0100 != 0,
                    retain_as_published: byte & 0b1000 != 0,
                    retain_handling,
                })
            }
        }
    }

    /// The options byte for a version; MQTT 3.1.1 carries only the QoS.
    pub(crate) fn to_byte(self, protocol: Protocol) -> u8 {
        match protocol {
            Protocol::V311 => self.qos as u8,
            Protocol::V5 => {
                self.qos as u8
                    | u8::from(self.no_local) << 2
                    | u8::from(self.retain_as_published) << 3
                    | (self.retain_handling as u8) << 4
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topic_names() {
        for ok in ["a", "a/b", "/", "//", "$SYS/x", "a b", "ü/€"] {
            assert!(TopicName::new(ok).is_ok(), "{ok}");
        }
        assert_eq!(
            TopicName::new("a/+").unwrap_err(),
            DecodeError::WildcardInTopicName
        );
        assert_eq!(
            TopicName::new("a/#").unwrap_err(),
            DecodeError::WildcardInTopicName
        );
        assert_eq!(
            TopicName::new("a+b").unwrap_err(),
            DecodeError::WildcardInTopicName
        );
        assert_eq!(
            TopicName::new("a\0b").unwrap_err(),
            DecodeError::NullCharacter
        );
    }

    #[test]
    fn topic_names_from_packets() {
        let from = |name: &'static [u8]| TopicName::from_packet(Bytes::from_static(name));
        assert_eq!(from(b"a/b").unwrap().as_str(), "a/b");
        // Well-formed UTF-8 is checked first, then the first offending byte decides.
        assert_eq!(from(b"a+\xFF"), Err(DecodeError::InvalidUtf8));
        assert_eq!(from(b"a+\0"), Err(DecodeError::WildcardInTopicName));
        assert_eq!(from(b"a\0#"), Err(DecodeError::NullCharacter));
        let long = "x/".repeat(40);
        let name = TopicName::from_packet(Bytes::from(long.clone())).unwrap();
        assert_eq!(name.as_str(), long);
    }

    #[test]
    fn topic_filters() {
        for ok in [
            "#",
            "+",
            "a/#",
            "+/+",
            "/+",
            "a//b",
            "+/b/#",
            "$share/g/a/#",
            "sport/tennis/+",
        ] {
            assert!(TopicFilter::new(ok).is_ok(), "{ok}");
        }
        for bad in ["", "a#", "a/#/b", "#/", "a+", "+a/b", "a/b#", "##", "++"] {
            assert_eq!(
                TopicFilter::new(bad).unwrap_err(),
                DecodeError::InvalidTopicFilter,
                "{bad}"
            );
        }
        // U+0000 outranks a misplaced wildcard, wherever each is.
        for bad in ["a/\0", "\0", "a+/\0", "\0/a+", "#/\0", "+\0"] {
            assert_eq!(
                TopicFilter::new(bad).unwrap_err(),
                DecodeError::NullCharacter,
                "{bad:?}"
            );
        }
    }

    #[test]
    fn shared_subscriptions() {
        let f = TopicFilter::new("$share/group/a/+").unwrap();
        assert_eq!(f.shared(), Some(("group", "a/+")));
        assert!(f.check_shared_v5().is_ok());
        for bad in [
            "$share/",
            "$share/g",
            "$share//a",
            "$share/+/a",
            "$share/g/",
        ] {
            let f = TopicFilter::new(bad).unwrap();
            assert_eq!(
                f.check_shared_v5(),
                Err(DecodeError::InvalidSharedSubscription),
                "{bad}"
            );
        }
        assert!(
            TopicFilter::new("$shared/x")
                .unwrap()
                .check_shared_v5()
                .is_ok()
        );
        // Only "$share/" starts a shared subscription [MQTT-4.8.2-1].
        assert!(
            TopicFilter::new("$share")
                .unwrap()
                .check_shared_v5()
                .is_ok()
        );
    }

    #[test]
    fn subscription_options() {
        let o = SubscriptionOptions::from_byte(0b0010_1110, Protocol::V5).unwrap();
        assert_eq!(o.qos, QoS::ExactlyOnce);
        assert!(o.no_local && o.retain_as_published);
        assert_eq!(o.retain_handling, RetainHandling::DoNotSend);
        assert_eq!(o.to_byte(Protocol::V5), 0b0010_1110);
        assert_eq!(
            SubscriptionOptions::from_byte(3, Protocol::V5),
            Err(DecodeError::InvalidSubscriptionQoS)
        );
        assert_eq!(
            SubscriptionOptions::from_byte(0b0011_0000, Protocol::V5),
            Err(DecodeError::InvalidRetainHandling)
        );
        assert_eq!(
            SubscriptionOptions::from_byte(0b0100_0000, Protocol::V5),
            Err(DecodeError::InvalidSubscriptionOptions)
        );
        assert_eq!(
            SubscriptionOptions::from_byte(0b0000_0101, Protocol::V311),
            Err(DecodeError::InvalidSubscriptionOptions)
        );
    }
}
