//! Close status codes (RFC 6455 section 7.4) and the body of a Close frame (section 5.5.1).

use bytes::{Buf, Bytes};

use crate::error::Error;

/// A status code that may appear in a Close frame: 1000-1003, 1007-1014 (the codes of
/// section 7.4.1 and those IANA registered since), 3000-4999 (libraries, frameworks and
/// applications). A value of this type is valid on the wire by construction.
///
/// 1005 (no status received), 1006 (abnormal closure) and 1015 (TLS handshake failure)
/// are reserved for reporting: "MUST NOT be set as a status code in a Close control
/// frame" (section 7.4.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CloseCode(u16);

impl CloseCode {
    /// 1000: normal closure; the purpose of the connection is fulfilled.
    pub const NORMAL_CLOSURE: Self = Self(1000);
    /// 1001: an endpoint is going away (server shutdown, page navigation).
    pub const GOING_AWAY: Self = Self(1001);
    /// 1002: protocol error.
    pub const PROTOCOL_ERROR: Self = Self(1002);
    /// 1003: a type of data the endpoint cannot accept (e.g. text where only binary is).
    pub const UNSUPPORTED_DATA: Self = Self(1003);
    /// 1007: data within a message not consistent with its type (non-UTF-8 text).
    pub const INVALID_FRAME_PAYLOAD_DATA: Self = Self(1007);
    /// 1008: a message that violates the endpoint's policy.
    pub const POLICY_VIOLATION: Self = Self(1008);
    /// 1009: a message too big to process.
    pub const MESSAGE_TOO_BIG: Self = Self(1009);
    /// 1010 (client only): the server did not negotiate an extension the client expects.
    pub const MANDATORY_EXTENSION: Self = Self(1010);
    /// 1011: the server met an unexpected condition.
    pub const INTERNAL_ERROR: Self = Self(1011);
    /// 1012: the service is restarting (IANA registry).
    pub const SERVICE_RESTART: Self = Self(1012);
    /// 1013: try again later (IANA registry).
    pub const TRY_AGAIN_LATER: Self = Self(1013);
    /// 1014: the server, acting as a gateway, got an invalid response (IANA registry).
    pub const BAD_GATEWAY: Self = Self(1014);

    /// The code, if it may be sent in a Close frame.
    pub const fn new(code: u16) -> Option<Self> {
        match code {
            1000..=1003 | 1007..=1014 | 3000..=4999 => Some(Self(code)),
            _ => None,
        }
    }

    /// The numeric code.
    pub const fn get(self) -> u16 {
        self.0
    }
}

impl From<CloseCode> for u16 {
    fn from(code: CloseCode) -> Self {
        code.0
    }
}

impl std::fmt::Display for CloseCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// Reads the payload of a Close frame: empty (no code, no reason), or a valid code and a
/// UTF-8 reason.
pub(crate) fn parse_close_payload(mut payload: Bytes) -> Result<(Option<CloseCode>, Bytes), Error> {
    match payload.len() {
        0 => Ok((None, payload)),
        1 => Err(Error::InvalidClosePayload),
        _ => {
            let raw = payload.get_u16();
            let code = CloseCode::new(raw).ok_or(Error::InvalidCloseCode(raw))?;
            if std::str::from_utf8(&payload).is_err() {
                return Err(Error::InvalidCloseReason);
            }
            Ok((Some(code), payload))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_codes() {
        for code in (1000..=1003).chain(1007..=1014).chain(3000..=4999) {
            assert_eq!(CloseCode::new(code).map(CloseCode::get), Some(code));
        }
        for code in (0..1000)
            .chain(1004..=1006)
            .chain(1015..3000)
            .chain(5000..=65535)
        {
            assert_eq!(CloseCode::new(code), None, "{code}");
        }
    }

    #[test]
    fn payloads() {
        assert_eq!(parse_close_payload(Bytes::new()), Ok((None, Bytes::new())));
        assert_eq!(
            parse_close_payload(Bytes::from_static(b"\x03\xE8bye")),
            Ok((Some(CloseCode::NORMAL_CLOSURE), Bytes::from_static(b"bye")))
        );
        assert_eq!(
            parse_close_payload(Bytes::from_static(b"\x03")),
            Err(Error::InvalidClosePayload)
        );
        assert_eq!(
            parse_close_payload(Bytes::from_static(b"\x03\xED")),
            Err(Error::InvalidCloseCode(1005))
        );
        assert_eq!(
            parse_close_payload(Bytes::from_static(b"\x03\xE8\xFF")),
            Err(Error::InvalidCloseReason)
        );
    }
}
