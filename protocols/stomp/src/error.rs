//! Decode and encode errors, and the text each decode error gives the peer.

use crate::command::Command;

/// Why a byte stream, a frame or a header value is not valid STOMP.
///
/// Every variant is fatal to the connection: the STOMP specification says a server
/// SHOULD answer a malformed frame or an exceeded limit with an ERROR frame and then
/// close the connection. [`DecodeError::message`] is a short, fixed text for that ERROR
/// frame's `message` header; `Display` adds the numbers (for the body, or a log line).
///
/// Small and `Copy`: hostile input never makes the codec allocate an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The command line is not one of the commands of STOMP 1.0, 1.1 or 1.2 (commands
    /// are case sensitive).
    #[error("unknown command")]
    UnknownCommand,
    /// A header line without a `:` between the name and the value.
    #[error("header line without a colon")]
    MissingColon,
    /// A header line that starts with `:` (the grammar's `header-name` is `1*OCTET`).
    #[error("empty header name")]
    EmptyHeaderName,
    /// STOMP 1.1 and 1.2: a `\` followed by anything but `n`, `c`, `\` (or, in 1.2, `r`),
    /// or a `\` at the end of a header name or value ("Undefined escape sequences ...
    /// MUST be treated as a fatal protocol error").
    #[error("undefined escape sequence in a header")]
    InvalidEscape,
    /// A header name or value (after unescaping) that is not UTF-8 ("The commands and
    /// headers are encoded in UTF-8").
    #[error("header is not valid UTF-8")]
    InvalidUtf8,
    /// A carriage return in a command or header line that is not part of the line's
    /// end-of-line (CR LF).
    #[error("carriage return inside a header line")]
    BareCarriageReturn,
    /// A NUL octet inside the command line or a header line. A line that starts with
    /// NUL is read as the end of a frame without body (the spec's own DISCONNECT and
    /// RECEIPT examples omit the blank line), unless the frame announced a body with
    /// `content-length`.
    #[error("NUL octet inside a header line")]
    NulInHeader,
    /// The first `content-length` header is not a decimal number.
    #[error("content-length is not a number")]
    InvalidContentLength,
    /// The `content-length` octets of the body are not followed by the NUL octet that
    /// ends every frame.
    #[error("body not followed by NUL after content-length octets")]
    MissingNul,
    /// The frame (command line to NUL) is larger than the decoder's maximum frame size.
    #[error("frame exceeds the maximum frame size of {max} bytes")]
    FrameTooLarge {
        /// The configured maximum, in bytes.
        max: usize,
    },
    /// The frame has more header lines than the decoder's maximum.
    #[error("frame exceeds the maximum of {max} headers")]
    TooManyHeaders {
        /// The configured maximum number of header lines.
        max: usize,
    },
    /// A command or header line is longer than the decoder's maximum line length.
    #[error("header line exceeds the maximum length of {max} bytes")]
    HeaderTooLong {
        /// The configured maximum, in bytes, end-of-line excluded.
        max: usize,
    },
    /// The body is larger than the decoder's maximum body size; with a `content-length`
    /// header this is known, and reported, as soon as that header has been read.
    #[error("body exceeds the maximum body size of {max} bytes")]
    BodyTooLarge {
        /// The configured maximum, in bytes.
        max: usize,
    },
    /// [`Frame::validate`](crate::Frame::validate): STOMP 1.1 and 1.2 allow a body on
    /// SEND, MESSAGE and ERROR only ("All other frames MUST NOT have a body").
    #[error("{0} frame must not have a body")]
    BodyNotAllowed(Command),
    /// [`Frame::validate`](crate::Frame::validate): a header the frame requires in this
    /// version (e.g. `destination` on SEND) is absent.
    #[error("required header '{0}' is missing")]
    MissingHeader(&'static str),
    /// [`Frame::validate`](crate::Frame::validate): a command that this version does not
    /// have (NACK in STOMP 1.0).
    #[error("{0} frame does not exist in this STOMP version")]
    CommandNotInVersion(Command),
    /// A `heart-beat` header that is not two non-negative integers separated by a comma.
    #[error("heart-beat is not two numbers separated by a comma")]
    InvalidHeartBeat,
    /// A SUBSCRIBE `ack` header other than `auto`, `client` or `client-individual`.
    #[error("ack is not auto, client or client-individual")]
    InvalidAckMode,
}

impl DecodeError {
    /// A short description of the error for the `message` header of the ERROR frame
    /// the server sends before closing the connection: fixed text, one line, no escaping
    /// needed in any version.
    pub const fn message(self) -> &'static str {
        match self {
            Self::UnknownCommand => "unknown command",
            Self::MissingColon => "header line without a colon",
            Self::EmptyHeaderName => "empty header name",
            Self::InvalidEscape => "undefined escape sequence in a header",
            Self::InvalidUtf8 => "header is not valid UTF-8",
            Self::BareCarriageReturn => "carriage return inside a header line",
            Self::NulInHeader => "NUL octet inside a header line",
            Self::InvalidContentLength => "content-length is not a number",
            Self::MissingNul => "body not followed by NUL after content-length octets",
            Self::FrameTooLarge { .. } => "frame too large",
            Self::TooManyHeaders { .. } => "too many headers",
            Self::HeaderTooLong { .. } => "header line too long",
            Self::BodyTooLarge { .. } => "body too large",
            Self::BodyNotAllowed(_) => "frame must not have a body",
            Self::MissingHeader(_) => "required header missing",
            Self::CommandNotInVersion(_) => "command not in this STOMP version",
            Self::InvalidHeartBeat => "invalid heart-beat header",
            Self::InvalidAckMode => "invalid ack mode",
        }
    }
}

/// Why a frame cannot be encoded in the requested version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EncodeError {
    /// A header with an empty name.
    #[error("empty header name")]
    EmptyHeaderName,
    /// A header holds an octet the frame cannot carry in this version: NUL in any
    /// header; CR in any header before STOMP 1.2; LF, or `:` in a name, where headers
    /// are not escaped (STOMP 1.0, and CONNECT, STOMP and CONNECTED frames in every
    /// version).
    #[error("header holds octet {0:#04x}, which this frame cannot carry in this version")]
    UnencodableOctet(u8),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_one_plain_line() {
        let all = [
            DecodeError::UnknownCommand,
            DecodeError::MissingColon,
            DecodeError::EmptyHeaderName,
            DecodeError::InvalidEscape,
            DecodeError::InvalidUtf8,
            DecodeError::BareCarriageReturn,
            DecodeError::NulInHeader,
            DecodeError::InvalidContentLength,
            DecodeError::MissingNul,
            DecodeError::FrameTooLarge { max: 1 },
            DecodeError::TooManyHeaders { max: 1 },
            DecodeError::HeaderTooLong { max: 1 },
            DecodeError::BodyTooLarge { max: 1 },
            DecodeError::BodyNotAllowed(Command::Ack),
            DecodeError::MissingHeader("destination"),
            DecodeError::CommandNotInVersion(Command::Nack),
            DecodeError::InvalidHeartBeat,
            DecodeError::InvalidAckMode,
        ];
        for e in all {
            let m = e.message();
            assert!(!m.is_empty());
            assert!(
                !m.bytes()
                    .any(|b| matches!(b, b'\n' | b'\r' | b':' | b'\\' | 0))
            );
            assert!(!e.to_string().is_empty());
        }
        assert_eq!(
            DecodeError::BodyNotAllowed(Command::Subscribe).to_string(),
            "SUBSCRIBE frame must not have a body"
        );
        assert_eq!(size_of::<DecodeError>(), 24);
    }
}
