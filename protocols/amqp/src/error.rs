//! Decode and encode errors, and the AMQP reply code each decode error yields.

/// An AMQP 0-9-1 reply code (spec section 1.2 "Constants", with RabbitMQ's use of them).
///
/// Codes 3xx are soft errors (channel exceptions: the server answers with channel.close);
/// codes 5xx are hard errors (connection exceptions: connection.close). [`DecodeError`]s
/// are all hard: a stream that does not decode cannot be trusted to frame the next
/// frame either.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u16)]
#[non_exhaustive]
pub enum ReplyCode {
    /// 200 reply-success.
    ReplySuccess = 200,
    /// 311 content-too-large (soft).
    ContentTooLarge = 311,
    /// 312 no-route (basic.return of a mandatory message).
    NoRoute = 312,
    /// 313 no-consumers (basic.return of an immediate message).
    NoConsumers = 313,
    /// 320 connection-forced (hard): an operator closed the connection.
    ConnectionForced = 320,
    /// 402 invalid-path (hard): unknown virtual host.
    InvalidPath = 402,
    /// 403 access-refused (soft).
    AccessRefused = 403,
    /// 404 not-found (soft).
    NotFound = 404,
    /// 405 resource-locked (soft).
    ResourceLocked = 405,
    /// 406 precondition-failed (soft).
    PreconditionFailed = 406,
    /// 501 frame-error (hard): a malformed frame that the recipient could not decode.
    FrameError = 501,
    /// 502 syntax-error (hard): a frame with illegal values for one or more fields.
    SyntaxError = 502,
    /// 503 command-invalid (hard): an invalid sequence of frames or a method that is
    /// invalid where it was sent.
    CommandInvalid = 503,
    /// 504 channel-error (hard): a channel that is not open, or a method on the wrong
    /// channel.
    ChannelError = 504,
    /// 505 unexpected-frame (hard): a frame of a type the peer did not expect.
    UnexpectedFrame = 505,
    /// 506 resource-error (hard).
    ResourceError = 506,
    /// 530 not-allowed (hard).
    NotAllowed = 530,
    /// 540 not-implemented (hard).
    NotImplemented = 540,
    /// 541 internal-error (hard).
    InternalError = 541,
}

impl ReplyCode {
    /// The numeric code, as connection.close and channel.close carry it.
    pub const fn code(self) -> u16 {
        self as u16
    }

    /// The constant's name in the specification (`FRAME_ERROR`), which RabbitMQ puts at
    /// the start of its reply texts.
    pub const fn name(self) -> &'static str {
        match self {
            Self::ReplySuccess => "REPLY_SUCCESS",
            Self::ContentTooLarge => "CONTENT_TOO_LARGE",
            Self::NoRoute => "NO_ROUTE",
            Self::NoConsumers => "NO_CONSUMERS",
            Self::ConnectionForced => "CONNECTION_FORCED",
            Self::InvalidPath => "INVALID_PATH",
            Self::AccessRefused => "ACCESS_REFUSED",
            Self::NotFound => "NOT_FOUND",
            Self::ResourceLocked => "RESOURCE_LOCKED",
            Self::PreconditionFailed => "PRECONDITION_FAILED",
            Self::FrameError => "FRAME_ERROR",
            Self::SyntaxError => "SYNTAX_ERROR",
            Self::CommandInvalid => "COMMAND_INVALID",
            Self::ChannelError => "CHANNEL_ERROR",
            Self::UnexpectedFrame => "UNEXPECTED_FRAME",
            Self::ResourceError => "RESOURCE_ERROR",
            Self::NotAllowed => "NOT_ALLOWED",
            Self::NotImplemented => "NOT_IMPLEMENTED",
            Self::InternalError => "INTERNAL_ERROR",
        }
    }

    /// Whether the code is a hard error (a connection exception), per the spec's
    /// classification: connection-forced, invalid-path and every 5xx code.
    pub const fn is_hard_error(self) -> bool {
        matches!(self, Self::ConnectionForced | Self::InvalidPath) || self.code() >= 500
    }

    /// The reply code with this number, if the spec defines one.
    pub const fn from_code(code: u16) -> Option<Self> {
        Some(match code {
            200 => Self::ReplySuccess,
            311 => Self::ContentTooLarge,
            312 => Self::NoRoute,
            313 => Self::NoConsumers,
            320 => Self::ConnectionForced,
            402 => Self::InvalidPath,
            403 => Self::AccessRefused,
            404 => Self::NotFound,
            405 => Self::ResourceLocked,
            406 => Self::PreconditionFailed,
            501 => Self::FrameError,
            502 => Self::SyntaxError,
            503 => Self::CommandInvalid,
            504 => Self::ChannelError,
            505 => Self::UnexpectedFrame,
            506 => Self::ResourceError,
            530 => Self::NotAllowed,
            540 => Self::NotImplemented,
            541 => Self::InternalError,
            _ => return None,
        })
    }
}

/// Why a byte stream is not valid AMQP 0-9-1. Every variant is a connection exception:
/// [`DecodeError::reply_code`] is the code for the connection.close the server sends
/// before it closes the socket (RabbitMQ's choice where it differs from the spec's
/// prose, as noted per variant).
///
/// Small and `Copy`: hostile input never makes the codec allocate an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The frame header announces a frame larger than the negotiated frame-max (4096,
    /// the spec's `FRAME_MIN_SIZE`, until tune-ok). Raised from the 7-octet header,
    /// before the payload is buffered. 501.
    #[error("frame of {size} bytes exceeds frame-max {max}")]
    FrameTooLarge {
        /// The whole frame's size: header, payload and frame-end.
        size: u64,
        /// The frame-max in force.
        max: u32,
    },
    /// A frame type other than method (1), header (2), body (3) and heartbeat (8).
    /// 501 (RabbitMQ: `frame_error`, `unknown_frame`).
    #[error("unknown frame type {0}")]
    UnknownFrameType(u8),
    /// The octet after the payload is not the frame-end octet 0xCE. 501.
    #[error("frame-end octet is {0:#04x}, not 0xce")]
    InvalidFrameEnd(u8),
    /// A channel number above the negotiated channel-max. 530 (RabbitMQ raises
    /// `not_allowed` when a client goes beyond channel-max).
    #[error("channel {channel} exceeds channel-max {max}")]
    ChannelTooHigh {
        /// The frame's channel.
        channel: u16,
        /// The channel-max in force.
        max: u16,
    },
    /// A field runs past the end of the frame payload. 501 (RabbitMQ: `frame_error`,
    /// "cannot decode").
    #[error("payload ends inside a field")]
    UnexpectedEnd,
    /// Bytes left over after the last field of a method or content header. 501.
    #[error("unexpected bytes after the last field")]
    TrailingBytes,
    /// A method frame whose class and method ids name no method of 0-9-1 or RabbitMQ's
    /// extensions. 540.
    #[error("unknown method {class_id}.{method_id}")]
    UnknownMethod {
        /// The class id.
        class_id: u16,
        /// The method id.
        method_id: u16,
    },
    /// A field-table or field-array value with a type letter RabbitMQ does not use
    /// (the spec's `U`, `L` and short-string `s` among them: see the errata). 501.
    #[error("unknown field type {0:#04x}")]
    UnknownFieldType(u8),
    /// Field tables or arrays nested deeper than [`MAX_NESTING`](crate::MAX_NESTING).
    /// 501.
    #[error("field tables nested too deep")]
    NestingTooDeep,
    /// A heartbeat frame with a payload. 501 (RabbitMQ: `frame_error`).
    #[error("heartbeat frame with a payload")]
    InvalidHeartbeat,
    /// A heartbeat frame on a channel other than 0. 505 (RabbitMQ: `unexpected_frame`).
    #[error("heartbeat frame on channel {0}")]
    HeartbeatOnChannel(u16),
    /// A content header or body frame on channel 0. 505.
    #[error("content frame on channel 0")]
    ContentOnChannelZero,
    /// A connection-class method on a channel other than 0. 503.
    #[error("connection method on channel {0}")]
    ConnectionMethodOnChannel(u16),
    /// A method of a class other than connection on channel 0. 504 (RabbitMQ's
    /// "unexpected method in connection state").
    #[error("{class_id}.{method_id} on channel 0")]
    ChannelMethodOnChannelZero {
        /// The class id.
        class_id: u16,
        /// The method id.
        method_id: u16,
    },
    /// A content header of a class other than basic (60), the only class with content
    /// in 0-9-1. 505 (RabbitMQ: "expected content header for class 60").
    #[error("content header for class {0}")]
    ContentHeaderClass(u16),
    /// Property flags with a bit set that names no basic property (bit 1, or any bit
    /// of a continuation flag word). 502.
    #[error("property flags name an unknown property")]
    InvalidPropertyFlags,
}

impl DecodeError {
    /// The reply code for the connection.close the server sends (all are hard errors).
    pub const fn reply_code(self) -> ReplyCode {
        match self {
            Self::FrameTooLarge { .. }
            | Self::UnknownFrameType(_)
            | Self::InvalidFrameEnd(_)
            | Self::UnexpectedEnd
            | Self::TrailingBytes
            | Self::UnknownFieldType(_)
            | Self::NestingTooDeep
            | Self::InvalidHeartbeat => ReplyCode::FrameError,
            Self::InvalidPropertyFlags => ReplyCode::SyntaxError,
            Self::ConnectionMethodOnChannel(_) => ReplyCode::CommandInvalid,
            Self::ChannelMethodOnChannelZero { .. } => ReplyCode::ChannelError,
            Self::HeartbeatOnChannel(_)
            | Self::ContentOnChannelZero
            | Self::ContentHeaderClass(_) => ReplyCode::UnexpectedFrame,
            Self::ChannelTooHigh { .. } => ReplyCode::NotAllowed,
            Self::UnknownMethod { .. } => ReplyCode::NotImplemented,
        }
    }
}

/// Why a value cannot be encoded (our side's fault, never the peer's).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EncodeError {
    /// A short string of more than 255 bytes.
    #[error("short string of {len} bytes exceeds 255")]
    ShortStringTooLong {
        /// Its length.
        len: usize,
    },
    /// A long string, byte array, field table or array of 4 GiB or more.
    #[error("value exceeds the 32-bit length prefix")]
    TooLong,
    /// Field tables or arrays nested deeper than [`MAX_NESTING`](crate::MAX_NESTING),
    /// which the decoder would refuse.
    #[error("field tables nested too deep")]
    NestingTooDeep,
    /// A method or content-header frame larger than frame-max (only body frames can
    /// be split).
    #[error("frame of {size} bytes exceeds frame-max {max}")]
    FrameTooLarge {
        /// The frame's size, header and frame-end included.
        size: usize,
        /// The frame-max in force.
        max: u32,
    },
    /// Content for a method that carries none (only basic.publish, basic.return,
    /// basic.deliver and basic.get-ok do).
    #[error("method carries no content")]
    NoContent,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reply_codes_round_trip_and_classify() {
        for code in 0..=u16::MAX {
            if let Some(r) = ReplyCode::from_code(code) {
                assert_eq!(r.code(), code);
                assert!(!r.name().is_empty());
            }
        }
        assert!(ReplyCode::FrameError.is_hard_error());
        assert!(ReplyCode::InvalidPath.is_hard_error());
        assert!(!ReplyCode::NotFound.is_hard_error());
        assert_eq!(
            DecodeError::InvalidFrameEnd(0).reply_code(),
            ReplyCode::FrameError
        );
        assert_eq!(
            DecodeError::UnknownMethod {
                class_id: 1,
                method_id: 1
            }
            .reply_code()
            .code(),
            540
        );
    }
}
