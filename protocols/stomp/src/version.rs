//! Protocol versions, sets of them, and the version negotiation of CONNECT / CONNECTED.

use std::fmt;

/// A STOMP protocol version. Ordered: `V1_0 < V1_1 < V1_2`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Version {
    /// STOMP 1.0: no header escapes, no heart-beats, no NACK.
    V1_0,
    /// STOMP 1.1: header escapes `\n`, `\c`, `\\`; heart-beats; NACK.
    V1_1,
    /// STOMP 1.2: adds the `\r` escape and CR LF line ends; ACK by the `ack` header.
    V1_2,
}

impl Version {
    /// Every version, oldest first.
    pub const ALL: [Self; 3] = [Self::V1_0, Self::V1_1, Self::V1_2];

    /// The version as `accept-version` and `version` headers write it: `1.0`, `1.1`, `1.2`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::V1_0 => "1.0",
            Self::V1_1 => "1.1",
            Self::V1_2 => "1.2",
        }
    }

    /// The version a header value names (surrounding spaces allowed), if this crate
    /// speaks it.
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim_matches(' ') {
            "1.0" => Some(Self::V1_0),
            "1.1" => Some(Self::V1_1),
            "1.2" => Some(Self::V1_2),
            _ => None,
        }
    }

    /// Whether header names and values of frames other than CONNECT, STOMP and
    /// CONNECTED are escaped in this version (1.1 and 1.2).
    pub const fn escapes_headers(self) -> bool {
        !matches!(self, Self::V1_0)
    }

    const fn bit(self) -> u8 {
        match self {
            Self::V1_0 => 1,
            Self::V1_1 => 2,
            Self::V1_2 => 4,
        }
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A set of versions: what a server supports, or what a client accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Versions(u8);

impl Versions {
    /// No version.
    pub const NONE: Self = Self(0);
    /// STOMP 1.0, 1.1 and 1.2.
    pub const ALL: Self = Self(7);

    /// The set holding `versions`.
    pub const fn new(mut versions: &[Version]) -> Self {
        let mut bits = 0;
        while let [first, rest @ ..] = versions {
            bits |= first.bit();
            versions = rest;
        }
        Self(bits)
    }

    /// The set with `version` added.
    #[must_use]
    pub const fn with(self, version: Version) -> Self {
        Self(self.0 | version.bit())
    }

    /// Whether the set holds `version`.
    pub const fn contains(self, version: Version) -> bool {
        self.0 & version.bit() != 0
    }

    /// Whether the set is empty.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The highest version of the set.
    pub const fn highest(self) -> Option<Version> {
        if self.contains(Version::V1_2) {
            Some(Version::V1_2)
        } else if self.contains(Version::V1_1) {
            Some(Version::V1_1)
        } else if self.contains(Version::V1_0) {
            Some(Version::V1_0)
        } else {
            None
        }
    }

    /// The versions a CONNECT frame's `accept-version` header accepts: a comma-separated
    /// list; versions this crate does not know (`2.0`) are left out. An absent header
    /// means STOMP 1.0 only ("If the accept-version header is missing, it means that the
    /// client only supports version 1.0 of the protocol").
    pub fn from_accept_version(accept_version: Option<&str>) -> Self {
        match accept_version {
            None => Self::new(&[Version::V1_0]),
            Some(list) => list
                .split(',')
                .filter_map(Version::parse)
                .fold(Self::NONE, Self::with),
        }
    }

    /// Protocol negotiation, server side: the highest version that both the client
    /// (its CONNECT's `accept-version` header, `None` when absent) and this set share,
    /// or `None` when they share none; the server then answers with an ERROR frame
    /// whose `version` header is [`Versions::as_header_value`] and closes the connection.
    pub fn negotiate(self, accept_version: Option<&str>) -> Option<Version> {
        Self(self.0 & Self::from_accept_version(accept_version).0).highest()
    }

    /// The set as a header value, oldest first (`1.0,1.1,1.2`): a client's
    /// `accept-version`, or the `version` header of the ERROR frame that refuses a client
    /// with no version in common. Static text: no allocation.
    pub const fn as_header_value(self) -> &'static str {
        match self.0 & 7 {
            1 => "1.0",
            2 => "1.1",
            3 => "1.0,1.1",
            4 => "1.2",
            5 => "1.0,1.2",
            6 => "1.1,1.2",
            7 => "1.0,1.1,1.2",
            _ => "",
        }
    }

    /// The versions of the set, oldest first.
    pub fn iter(self) -> impl Iterator<Item = Version> {
        Version::ALL.into_iter().filter(move |v| self.contains(*v))
    }
}

impl From<Version> for Versions {
    fn from(version: Version) -> Self {
        Self::NONE.with(version)
    }
}

impl FromIterator<Version> for Versions {
    fn from_iter<I: IntoIterator<Item = Version>>(iter: I) -> Self {
        iter.into_iter().fold(Self::NONE, Self::with)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Version::*;

    #[test]
    fn negotiation_picks_the_highest_common_version() {
        let all = Versions::ALL;
        // Spec, "Protocol Negotiation": accept-version:1.0,1.1,2.0 gives 1.1 against a
        // server without 1.2, 1.2 against ours.
        let v10_v11 = Versions::new(&[V1_0, V1_1]);
        assert_eq!(v10_v11.negotiate(Some("1.0,1.1,2.0")), Some(V1_1));
        assert_eq!(all.negotiate(Some("1.0,1.1,2.0")), Some(V1_1));
        assert_eq!(all.negotiate(Some("1.2")), Some(V1_2));
        assert_eq!(all.negotiate(Some("1.1,1.2")), Some(V1_2));
        assert_eq!(all.negotiate(Some("1.2, 1.1")), Some(V1_2));
        // Absent header: 1.0 only.
        assert_eq!(all.negotiate(None), Some(V1_0));
        assert_eq!(Versions::new(&[V1_1, V1_2]).negotiate(None), None);
        // Nothing in common.
        assert_eq!(all.negotiate(Some("2.0,2.1")), None);
        assert_eq!(all.negotiate(Some("")), None);
        assert_eq!(Versions::from(V1_2).negotiate(Some("1.0,1.1")), None);
    }

    #[test]
    fn header_values() {
        assert_eq!(Versions::ALL.as_header_value(), "1.0,1.1,1.2");
        assert_eq!(Versions::new(&[V1_2, V1_0]).as_header_value(), "1.0,1.2");
        assert_eq!(Versions::NONE.as_header_value(), "");
        for bits in 0..8u8 {
            let set = Versions(bits);
            assert_eq!(
                Versions::from_accept_version(Some(set.as_header_value())),
                set
            );
            assert_eq!(set.iter().collect::<Versions>(), set);
            assert_eq!(set.highest(), set.iter().last());
        }
        assert_eq!(V1_2.to_string(), "1.2");
        assert_eq!(Version::parse(" 1.1 "), Some(V1_1));
        assert_eq!(Version::parse("1.3"), None);
        assert!(!V1_0.escapes_headers() && V1_1.escapes_headers());
    }
}
