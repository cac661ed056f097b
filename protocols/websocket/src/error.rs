//! Errors of the handshake, the frame decoder and the encoder, and what each one tells
//! the peer: an HTTP status for the handshake, a close code for frames.

use crate::close::CloseCode;
use crate::response::Status;

/// Why an upgrade request is refused. Every variant ends the connection after the
/// response that [`HandshakeError::status`] names (written by
/// [`HandshakeError::write_response`]).
///
/// Small and `Copy`: hostile input never makes the parser allocate an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HandshakeError {
    /// The header block did not end within the maximum request size.
    #[error("request header block larger than {max} bytes")]
    RequestTooLarge {
        /// The configured maximum, in bytes.
        max: usize,
    },
    /// More header fields than the parser keeps (see [`crate::MAX_HEADERS`]).
    #[error("too many header fields")]
    TooManyHeaders,
    /// Not an HTTP/1.x request: a bad request line, header name or value.
    #[error("malformed HTTP request")]
    MalformedRequest,
    /// The method is not GET (RFC 6455 section 4.2.1, item 1).
    #[error("the method of an upgrade request must be GET")]
    MethodNotGet,
    /// HTTP/1.0 (RFC 6455 section 4.2.1, item 1: "HTTP/1.1 or higher").
    #[error("an upgrade request needs HTTP/1.1")]
    UnsupportedHttpVersion,
    /// The request target is neither origin-form (`/path?query`) nor absolute-form, or
    /// has a fragment (RFC 6455 section 3).
    #[error("invalid request target")]
    InvalidRequestTarget,
    /// No Host header field, an empty one, or more than one (section 4.2.1, item 2).
    #[error("missing or duplicate Host header field")]
    InvalidHost,
    /// No Upgrade header field with the token `websocket` (section 4.2.1, item 3).
    #[error("missing `Upgrade: websocket`")]
    MissingUpgrade,
    /// No Connection header field with the token `Upgrade` (section 4.2.1, item 4).
    #[error("missing `Connection: Upgrade`")]
    MissingConnectionUpgrade,
    /// Sec-WebSocket-Version missing or not 13 (section 4.2.1, item 6; section 4.4).
    #[error("unsupported WebSocket version: this server speaks version 13")]
    UnsupportedVersion,
    /// Sec-WebSocket-Key missing, repeated, or not the base64 encoding of 16 bytes
    /// (section 4.2.1, item 5).
    #[error("missing or invalid Sec-WebSocket-Key")]
    InvalidKey,
    /// A Sec-WebSocket-Protocol element that is not an HTTP token (section 4.1).
    #[error("invalid Sec-WebSocket-Protocol")]
    InvalidSubprotocol,
    /// More than one Origin header field, or one that is not UTF-8.
    #[error("invalid Origin header field")]
    InvalidOrigin,
}

impl HandshakeError {
    /// The HTTP status to answer with before closing the connection.
    pub const fn status(self) -> Status {
        match self {
            Self::RequestTooLarge { .. } | Self::TooManyHeaders => {
                Status::RequestHeaderFieldsTooLarge
            }
            Self::UnsupportedVersion => Status::UpgradeRequired,
            _ => Status::BadRequest,
        }
    }
}

/// Why a frame stream from the peer is not valid WebSocket. Every variant is a reason to
/// close the connection; [`Error::close_code`] is the status code to send in the Close
/// frame first (RFC 6455 section 7.1.7, "Fail the WebSocket Connection").
///
/// Small and `Copy`: hostile input never makes the decoder allocate an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// RSV1, RSV2 or RSV3 set, with no extension negotiated (section 5.2).
    #[error("reserved bits set without a negotiated extension")]
    ReservedBits,
    /// An opcode that section 5.2 reserves (0x3-0x7, 0xB-0xF).
    #[error("reserved opcode {0:#x}")]
    ReservedOpCode(u8),
    /// A client frame without a mask (section 5.1: the server MUST close the connection).
    #[error("client frame is not masked")]
    UnmaskedFrame,
    /// A server frame with a mask (section 5.1: the client MUST close the connection).
    #[error("server frame is masked")]
    MaskedFrame,
    /// A payload length not in its shortest encoding (section 5.2: "the minimal number of
    /// bytes MUST be used").
    #[error("payload length not in its shortest encoding")]
    NonMinimalLength,
    /// A 64-bit payload length with its most significant bit set (section 5.2).
    #[error("64-bit payload length with the most significant bit set")]
    LengthOverflow,
    /// A control frame with a payload over 125 bytes (section 5.5).
    #[error("control frame payload of {0} bytes, over 125")]
    ControlFrameTooLong(u64),
    /// A control frame without FIN (section 5.5: "MUST NOT be fragmented").
    #[error("fragmented control frame")]
    FragmentedControlFrame,
    /// A continuation frame with no fragmented message to continue (section 5.4).
    #[error("continuation frame without a message to continue")]
    UnexpectedContinuation,
    /// A text or binary frame while a fragmented message is unfinished (section 5.4).
    #[error("new data frame inside a fragmented message")]
    ExpectedContinuation,
    /// The message (all its fragments so far and the frame announced) is larger than the
    /// configured maximum message size (section 7.4.1, code 1009).
    #[error("message of at least {size} bytes exceeds the maximum of {max} bytes")]
    MessageTooBig {
        /// The size the message would reach with the frame whose header was read.
        size: u64,
        /// The configured maximum.
        max: usize,
    },
    /// A text message that is not UTF-8 (section 8.1).
    #[error("text message is not valid UTF-8")]
    InvalidUtf8,
    /// A Close frame with a one-byte payload (section 5.5.1: a body starts with a
    /// two-byte status code).
    #[error("close frame payload of one byte")]
    InvalidClosePayload,
    /// A Close frame with a status code that may not be sent (section 7.4: 0-999,
    /// 1004-1006, 1015-2999, 5000 and up).
    #[error("invalid close code {0}")]
    InvalidCloseCode(u16),
    /// A Close frame whose reason is not UTF-8 (section 5.5.1).
    #[error("close reason is not valid UTF-8")]
    InvalidCloseReason,
}

impl Error {
    /// The close code to send before closing the connection: 1009 for a message over
    /// the limit, 1007 for text that is not UTF-8, 1002 (protocol error) otherwise.
    pub const fn close_code(self) -> CloseCode {
        match self {
            Self::MessageTooBig { .. } => CloseCode::MESSAGE_TOO_BIG,
            Self::InvalidUtf8 | Self::InvalidCloseReason => CloseCode::INVALID_FRAME_PAYLOAD_DATA,
            _ => CloseCode::PROTOCOL_ERROR,
        }
    }
}

/// Why a frame cannot be encoded: a mistake of the caller, never of the peer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EncodeError {
    /// A ping, pong or close payload over 125 bytes (section 5.5).
    #[error("control frame payload of {0} bytes, over 125")]
    ControlFrameTooLong(usize),
    /// A close reason without a close code (section 5.5.1: the reason follows the code).
    #[error("close reason without a close code")]
    ReasonWithoutCode,
    /// The payload of a text frame framed in place is not UTF-8.
    #[error("text payload is not valid UTF-8")]
    InvalidUtf8,
    /// The buffer was cut below the space reserved for a frame framed in place.
    #[error("buffer truncated under a pending frame")]
    PendingFrameTruncated,
}

/// A subprotocol passed to [`crate::Request::write_accept`] that the client did not offer
/// (section 4.2.2: the server picks one of the client's values, or none).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("subprotocol not offered by the client")]
pub struct SubprotocolNotOffered;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn close_codes() {
        assert_eq!(Error::ReservedBits.close_code().get(), 1002);
        assert_eq!(Error::InvalidUtf8.close_code().get(), 1007);
        assert_eq!(Error::InvalidCloseReason.close_code().get(), 1007);
        let too_big = Error::MessageTooBig { size: 2, max: 1 };
        assert_eq!(too_big.close_code().get(), 1009);
        assert_eq!(Error::InvalidCloseCode(1005).close_code().get(), 1002);
    }

    #[test]
    fn statuses() {
        assert_eq!(HandshakeError::UnsupportedVersion.status().code(), 426);
        assert_eq!(HandshakeError::InvalidKey.status().code(), 400);
        assert_eq!(HandshakeError::TooManyHeaders.status().code(), 431);
        let too_large = HandshakeError::RequestTooLarge { max: 8192 };
        assert_eq!(too_large.status().code(), 431);
    }
}
