//! The frame model: command, ordered headers and body; the standard headers' accessors,
//! the per-version header rules, and the encoder.

use bytes::{BufMut, Bytes, BytesMut};
use bytestring::ByteString;

use crate::command::Command;
use crate::error::{DecodeError, EncodeError};
use crate::header::{Escaping, Headers, encoded_len, put_text};
use crate::heartbeat::HeartBeat;
use crate::version::Version;

/// The `content-length` header name.
pub(crate) const CONTENT_LENGTH: &str = "content-length";

/// A STOMP frame of any version.
///
/// `content-length` is framing, not content: the decoder uses it to find the end of the
/// body and leaves it out of [`Frame::headers`], and [`Frame::encode`] writes it from
/// the body (and skips any `content-length` entry in `headers`). So a decoded frame
/// encodes and decodes back to itself, and a gateway can pass headers on without
/// carrying a stale length.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Frame {
    /// The command.
    pub command: Command,
    /// The headers in wire order, `content-length` excluded.
    pub headers: Headers,
    /// The body: a view of the received bytes; may hold NUL octets.
    pub body: Bytes,
}

/// A SUBSCRIBE frame's `ack` header: how the client acknowledges messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum AckMode {
    /// `auto` (also when the header is absent): no ACK frames.
    #[default]
    Auto,
    /// `client`: cumulative ACK / NACK frames.
    Client,
    /// `client-individual` (STOMP 1.1 and 1.2): one ACK / NACK per message.
    ClientIndividual,
}

impl AckMode {
    /// The header value.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Auto => "auto",
            Self::Client => "client",
            Self::ClientIndividual => "client-individual",
        }
    }

    /// Parses an `ack` header value.
    pub fn parse(value: &str) -> Result<Self, DecodeError> {
        match value {
            "auto" => Ok(Self::Auto),
            "client" => Ok(Self::Client),
            "client-individual" => Ok(Self::ClientIndividual),
            _ => Err(DecodeError::InvalidAckMode),
        }
    }
}

/// Accessors of the first value of a standard header. Each returns the first entry of
/// that name (repeated entries: the first wins, as STOMP 1.2 says).
macro_rules! header_accessors {
    ($($(#[$doc:meta])* $fn:ident => $name:literal;)*) => {
        $(
            $(#[$doc])*
            pub fn $fn(&self) -> Option<&ByteString> {
                self.headers.get($name)
            }
        )*
    };
}

impl Frame {
    /// A frame with no header and no body.
    pub fn new(command: Command) -> Self {
        Self {
            command,
            headers: Headers::new(),
            body: Bytes::new(),
        }
    }

    /// The frame with one more header entry.
    #[must_use]
    pub fn with_header(
        mut self,
        name: impl Into<ByteString>,
        value: impl Into<ByteString>,
    ) -> Self {
        self.headers.push(name, value);
        self
    }

    /// The frame with `body` as its body.
    #[must_use]
    pub fn with_body(mut self, body: impl Into<Bytes>) -> Self {
        self.body = body.into();
        self
    }

    /// The first value of header `name`.
    pub fn header(&self, name: &str) -> Option<&ByteString> {
        self.headers.get(name)
    }

    header_accessors! {
        /// `destination`: SEND, SUBSCRIBE, MESSAGE (and UNSUBSCRIBE in STOMP 1.0).
        destination => "destination";
        /// `id`: the subscription of SUBSCRIBE / UNSUBSCRIBE, the message of a 1.2 ACK / NACK.
        id => "id";
        /// `ack`: SUBSCRIBE's mode (see [`Frame::ack_mode`]), or MESSAGE's acknowledgement id.
        ack => "ack";
        /// `message-id`: MESSAGE, and ACK / NACK before STOMP 1.2.
        message_id => "message-id";
        /// `subscription`: MESSAGE, and ACK / NACK in STOMP 1.1.
        subscription => "subscription";
        /// `transaction`: BEGIN, COMMIT, ABORT, and SEND, ACK, NACK within a transaction.
        transaction => "transaction";
        /// `receipt`: a client frame that asks for a RECEIPT.
        receipt => "receipt";
        /// `receipt-id`: RECEIPT, and an ERROR about a frame that asked for a receipt.
        receipt_id => "receipt-id";
        /// `content-type`: the MIME type of the body.
        content_type => "content-type";
        /// `message`: an ERROR's short description.
        message => "message";
        /// `accept-version`: CONNECT / STOMP (see [`Versions::negotiate`](crate::Versions::negotiate)).
        accept_version => "accept-version";
        /// `host`: CONNECT / STOMP's virtual host.
        host => "host";
        /// `login`: CONNECT / STOMP.
        login => "login";
        /// `passcode`: CONNECT / STOMP.
        passcode => "passcode";
        /// `version`: CONNECTED's protocol version, or an ERROR's supported versions.
        version => "version";
        /// `session`: CONNECTED.
        session => "session";
        /// `server`: CONNECTED.
        server => "server";
    }

    /// The `heart-beat` header of CONNECT / CONNECTED; [`HeartBeat::NONE`] when absent.
    pub fn heart_beat(&self) -> Result<HeartBeat, DecodeError> {
        self.headers
            .get("heart-beat")
            .map_or(Ok(HeartBeat::NONE), |v| HeartBeat::parse(v))
    }

    /// SUBSCRIBE's `ack` header; [`AckMode::Auto`] when absent.
    pub fn ack_mode(&self) -> Result<AckMode, DecodeError> {
        self.headers
            .get("ack")
            .map_or(Ok(AckMode::Auto), |v| AckMode::parse(v))
    }

    /// The `content-length` that [`Frame::encode`] writes: the body's length when the
    /// body is not empty. (A decoded frame's body is exactly as long as the header it
    /// arrived with said; the header itself is framing and not kept.)
    pub fn content_length(&self) -> Option<usize> {
        (!self.body.is_empty()).then_some(self.body.len())
    }

    /// The rules of `version` that a frame can be checked against on its own, beyond
    /// the syntax the decoder checks: the headers the frame requires ("Frames and
    /// Headers"), and in STOMP 1.1 and 1.2 no body on frames other than SEND, MESSAGE
    /// and ERROR. A server answers a failure with an ERROR frame (citing the frame's
    /// `receipt`, which it still has) and closes the connection.
    ///
    /// CONNECT and STOMP are not checked here: `accept-version` absent means 1.0, and
    /// `host`, though 1.1 and 1.2 clients MUST send it, is left to the server's policy.
    pub fn validate(&self, version: Version) -> Result<(), DecodeError> {
        use Command::*;
        let v1_0 = version == Version::V1_0;
        if v1_0 && self.command == Nack {
            return Err(DecodeError::CommandNotInVersion(Nack));
        }
        if !v1_0 && !self.command.allows_body() && !self.body.is_empty() {
            return Err(DecodeError::BodyNotAllowed(self.command));
        }
        let require = |name: &'static str| match self.headers.get(name) {
            Some(_) => Ok(()),
            None => Err(DecodeError::MissingHeader(name)),
        };
        match self.command {
            Connect | Stomp | Disconnect | Error => Ok(()),
            Connected if v1_0 => Ok(()),
            Connected => require("version"),
            Send => require("destination"),
            Subscribe if v1_0 => require("destination"),
            Subscribe => require("destination").and(require("id")),
            Unsubscribe if v1_0 && self.headers.get("destination").is_some() => Ok(()),
            Unsubscribe => require("id"),
            Ack | Nack => match version {
                Version::V1_0 => require("message-id"),
                Version::V1_1 => require("message-id").and(require("subscription")),
                Version::V1_2 => require("id"),
            },
            Begin | Commit | Abort => require("transaction"),
            Message if v1_0 => require("destination").and(require("message-id")),
            Message => require("destination")
                .and(require("message-id"))
                .and(require("subscription")),
            Receipt => require("receipt-id"),
        }
    }

    /// Encodes the frame for `version`, appending it to `buf`: the command, the headers
    /// in order (escaped as `version` escapes them, except in CONNECT, STOMP and
    /// CONNECTED frames, which are never escaped), `content-length` when the body is not
    /// empty, a blank line, the body and NUL. Lines end with LF. Nothing is written when
    /// a header cannot be encoded.
    pub fn encode(&self, version: Version, buf: &mut BytesMut) -> Result<(), EncodeError> {
        let escaping = Escaping::of(Some(version), self.command);
        let command = self.command.as_str().as_bytes();
        // First pass: check every header and count the bytes, so that a refused frame
        // writes nothing and an accepted one reserves once.
        let mut len = command.len() + 1;
        let mut escapes = false;
        for h in &self.headers {
            if h.name == CONTENT_LENGTH {
                continue;
            }
            if h.name.is_empty() {
                return Err(EncodeError::EmptyHeaderName);
            }
            let (name, value) = (h.name.as_bytes(), h.value.as_bytes());
            let encoded = encoded_len(name, escaping, true)? + encoded_len(value, escaping, false)?;
            escapes |= encoded != name.len() + value.len();
            len += encoded + 2;
        }
        // Without escapes, every header is written as it is.
        let escaping = if escapes { escaping } else { Escaping::Raw };
        let body = &self.body[..];
        if !body.is_empty() {
            len += CONTENT_LENGTH.len() + 2 + decimal_len(body.len());
        }
        len += body.len() + 2;
        buf.reserve(len);

        buf.put_slice(command);
        buf.put_u8(b'\n');
        for h in &self.headers {
            if h.name == CONTENT_LENGTH {
                continue;
            }
            put_text(buf, h.name.as_bytes(), escaping);
            buf.put_u8(b':');
            put_text(buf, h.value.as_bytes(), escaping);
            buf.put_u8(b'\n');
        }
        finish(buf, body);
        Ok(())
    }
}

/// Writes `content-length` (for a non-empty body), the blank line, the body and NUL.
#[inline]
pub(crate) fn finish(buf: &mut BytesMut, body: &[u8]) {
    if !body.is_empty() {
        buf.put_slice(b"content-length:");
        put_decimal(buf, body.len());
        buf.put_u8(b'\n');
    }
    buf.put_u8(b'\n');
    buf.put_slice(body);
    buf.put_u8(0);
}

/// The number of decimal digits of `n`.
pub(crate) const fn decimal_len(n: usize) -> usize {
    match n.checked_ilog10() {
        Some(log) => log as usize + 1,
        None => 1,
    }
}

/// Writes `n` in decimal.
pub(crate) fn put_decimal(buf: &mut BytesMut, mut n: usize) {
    let mut digits = [0u8; 20];
    let mut start = digits.len();
    for slot in digits.iter_mut().rev() {
        // `n % 10` is below 10.
        *slot = b'0' + (n % 10) as u8;
        n /= 10;
        start -= 1;
        if n == 0 {
            break;
        }
    }
    buf.put_slice(digits.get(start..).unwrap_or_default());
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode(frame: &Frame, version: Version) -> Vec<u8> {
        let mut buf = BytesMut::new();
        frame.encode(version, &mut buf).unwrap();
        buf.to_vec()
    }

    #[test]
    fn decimal() {
        for n in [0, 1, 9, 10, 99, 100, 65_536, usize::MAX] {
            let mut buf = BytesMut::new();
            put_decimal(&mut buf, n);
            assert_eq!(buf, n.to_string().as_bytes());
            assert_eq!(decimal_len(n), n.to_string().len());
        }
    }

    #[test]
    fn encode_writes_content_length_and_escapes() {
        let frame = Frame::new(Command::Send)
            .with_header("destination", "/queue/a:b")
            .with_header("content-length", "999")
            .with_body(&b"a\0b"[..]);
        assert_eq!(
            encode(&frame, Version::V1_2),
            b"SEND\ndestination:/queue/a\\cb\ncontent-length:3\n\na\0b\0"
        );
        assert_eq!(
            encode(&frame, Version::V1_0),
            b"SEND\ndestination:/queue/a:b\ncontent-length:3\n\na\0b\0"
        );
        assert_eq!(frame.content_length(), Some(3));
        // CONNECT is never escaped; a CONNECT header with a newline cannot be written.
        let connect = Frame::new(Command::Connect).with_header("login", "a:b");
        assert_eq!(encode(&connect, Version::V1_2), b"CONNECT\nlogin:a:b\n\n\0");
        let mut buf = BytesMut::from(&b"x"[..]);
        assert_eq!(
            Frame::new(Command::Connect)
                .with_header("login", "a\nb")
                .encode(Version::V1_2, &mut buf),
            Err(EncodeError::UnencodableOctet(b'\n'))
        );
        assert_eq!(
            Frame::new(Command::Send)
                .with_header("", "b")
                .encode(Version::V1_2, &mut buf),
            Err(EncodeError::EmptyHeaderName)
        );
        assert_eq!(buf, &b"x"[..], "a refused frame writes nothing");
    }

    #[test]
    fn validate_required_headers_per_version() {
        use Version::*;
        let ack = Frame::new(Command::Ack).with_header("id", "1");
        assert_eq!(ack.validate(V1_2), Ok(()));
        assert_eq!(
            ack.validate(V1_1),
            Err(DecodeError::MissingHeader("message-id"))
        );
        let sub = Frame::new(Command::Subscribe).with_header("destination", "/q");
        assert_eq!(sub.validate(V1_0), Ok(()));
        assert_eq!(sub.validate(V1_2), Err(DecodeError::MissingHeader("id")));
        let unsub = Frame::new(Command::Unsubscribe).with_header("destination", "/q");
        assert_eq!(unsub.validate(V1_0), Ok(()));
        assert_eq!(unsub.validate(V1_1), Err(DecodeError::MissingHeader("id")));
        let nack = Frame::new(Command::Nack).with_header("id", "1");
        assert_eq!(
            nack.validate(V1_0),
            Err(DecodeError::CommandNotInVersion(Command::Nack))
        );
        let body = Frame::new(Command::Disconnect).with_body(&b"x"[..]);
        assert_eq!(body.validate(V1_0), Ok(()));
        assert_eq!(
            body.validate(V1_2),
            Err(DecodeError::BodyNotAllowed(Command::Disconnect))
        );
        let message = Frame::new(Command::Message)
            .with_header("destination", "/q")
            .with_header("message-id", "1");
        assert_eq!(message.validate(V1_0), Ok(()));
        assert_eq!(
            message.validate(V1_1),
            Err(DecodeError::MissingHeader("subscription"))
        );
        assert_eq!(Frame::new(Command::Connected).validate(V1_0), Ok(()));
        assert_eq!(
            Frame::new(Command::Connected).validate(V1_2),
            Err(DecodeError::MissingHeader("version"))
        );
    }

    #[test]
    fn accessors() {
        let frame = Frame::new(Command::Subscribe)
            .with_header("id", "0")
            .with_header("ack", "client-individual")
            .with_header("heart-beat", "10,20")
            .with_header("id", "1");
        assert_eq!(frame.id().map(|v| &**v), Some("0"));
        assert_eq!(frame.ack_mode(), Ok(AckMode::ClientIndividual));
        assert_eq!(frame.heart_beat(), Ok(HeartBeat::new(10, 20)));
        assert_eq!(
            Frame::new(Command::Connect).heart_beat(),
            Ok(HeartBeat::NONE)
        );
        assert_eq!(Frame::new(Command::Subscribe).ack_mode(), Ok(AckMode::Auto));
        assert_eq!(
            Frame::new(Command::Subscribe)
                .with_header("ack", "Client")
                .ack_mode(),
            Err(DecodeError::InvalidAckMode)
        );
        assert_eq!(frame.destination(), None);
        assert_eq!(frame.content_length(), None);
    }
}
