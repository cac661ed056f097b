//! Writing frames without building a [`Frame`](crate::Frame): the [`FrameWriter`], and
//! the server's frames (MESSAGE, RECEIPT, ERROR, CONNECTED) on top of it. Each writes
//! straight into the caller's buffer: no header list, no allocation but the buffer's
//! own growth, which one `reserve` per frame covers.

use std::fmt::Write as _;

use bytes::{BufMut, BytesMut};

use crate::command::Command;
use crate::error::EncodeError;
use crate::frame::{CONTENT_LENGTH, decimal_len, finish};
use crate::header::{Escaping, Header, put_checked};
use crate::heartbeat::HeartBeat;
use crate::version::Version;

/// Writes one frame into a buffer: the command line when created, then headers one by
/// one, then [`FrameWriter::finish`] writes `content-length` (for a non-empty body), the
/// blank line, the body and NUL.
///
/// Headers are escaped as [`Frame::encode`](crate::Frame::encode) escapes them (per
/// version; never in CONNECT, STOMP and CONNECTED). `content-length` entries are
/// skipped: `finish` writes it. A header that cannot be encoded is remembered and
/// reported by `finish`, which then removes the partial frame from the buffer; so does
/// dropping the writer without calling `finish`.
///
/// ```
/// use bytes::BytesMut;
/// use switchyard_stomp::{Command, FrameWriter, Version};
///
/// let mut buf = BytesMut::new();
/// let mut w = FrameWriter::new(Command::Send, Version::V1_2, &mut buf);
/// w.header("destination", "/queue/a").header("x-note", "a:b");
/// w.finish(b"hi")?;
/// assert_eq!(&buf[..], b"SEND\ndestination:/queue/a\nx-note:a\\cb\ncontent-length:2\n\nhi\0");
/// # Ok::<(), switchyard_stomp::EncodeError>(())
/// ```
#[derive(Debug)]
pub struct FrameWriter<'a> {
    buf: &'a mut BytesMut,
    start: usize,
    escaping: Escaping,
    error: Option<EncodeError>,
    finished: bool,
}

impl<'a> FrameWriter<'a> {
    /// Starts a `command` frame for `version` at the end of `buf`.
    pub fn new(command: Command, version: Version, buf: &'a mut BytesMut) -> Self {
        let start = buf.len();
        buf.put_slice(command.as_str().as_bytes());
        buf.put_u8(b'\n');
        Self {
            buf,
            start,
            escaping: Escaping::of(Some(version), command),
            error: None,
            finished: false,
        }
    }

    /// Appends the header `name:value` (skipped if `name` is `content-length`).
    pub fn header(&mut self, name: &str, value: &str) -> &mut Self {
        if self.error.is_some() || name == CONTENT_LENGTH {
            return self;
        }
        if name.is_empty() {
            self.error = Some(EncodeError::EmptyHeaderName);
            return self;
        }
        let result = put_checked(self.buf, name.as_bytes(), self.escaping, true).and_then(|()| {
            self.buf.put_u8(b':');
            put_checked(self.buf, value.as_bytes(), self.escaping, false)
        });
        match result {
            Ok(()) => self.buf.put_u8(b'\n'),
            Err(e) => self.error = Some(e),
        }
        self
    }

    /// Appends every header of `headers`, in order.
    pub fn headers<'h>(&mut self, headers: impl IntoIterator<Item = &'h Header>) -> &mut Self {
        for h in headers {
            self.header(&h.name, &h.value);
        }
        self
    }

    /// Appends a header whose value is a number (e.g. a message sequence), without
    /// formatting it into a string first.
    pub fn header_u64(&mut self, name: &str, value: u64) -> &mut Self {
        if self.error.is_some() {
            return self;
        }
        let mut digits = Digits::default();
        // At most 20 digits, which `Digits` holds.
        let _ = write!(digits, "{value}");
        self.header(name, digits.as_str())
    }

    /// Ends the frame with `body`; on error nothing of the frame stays in the buffer.
    pub fn finish(mut self, body: &[u8]) -> Result<(), EncodeError> {
        self.finished = true;
        if let Some(e) = self.error {
            self.buf.truncate(self.start);
            return Err(e);
        }
        finish(self.buf, body);
        Ok(())
    }
}

impl Drop for FrameWriter<'_> {
    fn drop(&mut self) {
        if !self.finished {
            self.buf.truncate(self.start);
        }
    }
}

/// A short text formatted on the stack: a `u64`, or a `heart-beat` value.
#[derive(Default)]
struct Digits {
    bytes: [u8; 24],
    len: usize,
}

impl Digits {
    fn as_str(&self) -> &str {
        std::str::from_utf8(self.bytes.get(..self.len).unwrap_or_default()).unwrap_or_default()
    }
}

impl std::fmt::Write for Digits {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        let end = self.len + s.len();
        let slot = self.bytes.get_mut(self.len..end).ok_or(std::fmt::Error)?;
        slot.copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

/// Room for a frame of these parts (escapes aside, which are rare).
fn estimate(command: Command, texts: &[&str], headers: &[Header], body: &[u8]) -> usize {
    command.as_str().len()
        + texts.iter().map(|t| t.len() + 1).sum::<usize>()
        + headers
            .iter()
            .map(|h| h.name.len() + h.value.len() + 2)
            .sum::<usize>()
        + CONTENT_LENGTH.len()
        + 2
        + decimal_len(body.len())
        + body.len()
        + 3
}

/// A MESSAGE frame, written straight into the output buffer: `destination`,
/// `message-id`, `subscription`, `ack` when set, then the extra `headers` (those the
/// message was sent with: `content-type`, user headers), then the body.
///
/// Extra headers named `destination`, `message-id`, `subscription`, `ack` or
/// `content-length` are skipped, since this frame writes its own; the caller leaves out
/// what should not travel from SEND to MESSAGE (`receipt`, `transaction`).
#[derive(Debug, Clone, Copy)]
pub struct MessageFrame<'a> {
    /// The destination the message was sent to.
    pub destination: &'a str,
    /// The message's unique id.
    pub message_id: &'a str,
    /// The receiving subscription's id.
    pub subscription: &'a str,
    /// The acknowledgement id, for `client` and `client-individual` subscriptions.
    pub ack: Option<&'a str>,
    /// Further headers, in order.
    pub headers: &'a [Header],
    /// The message body.
    pub body: &'a [u8],
}

impl MessageFrame<'_> {
    /// Encodes the frame for `version`, appending it to `buf`; nothing is written on
    /// error.
    pub fn encode(&self, version: Version, buf: &mut BytesMut) -> Result<(), EncodeError> {
        let ack = self.ack.unwrap_or_default();
        buf.reserve(estimate(
            Command::Message,
            &[
                "destination:",
                self.destination,
                "message-id:",
                self.message_id,
                "subscription:",
                self.subscription,
                "ack:",
                ack,
            ],
            self.headers,
            self.body,
        ));
        let mut w = FrameWriter::new(Command::Message, version, buf);
        w.header("destination", self.destination)
            .header("message-id", self.message_id)
            .header("subscription", self.subscription);
        if let Some(ack) = self.ack {
            w.header("ack", ack);
        }
        for h in self.headers {
            if !matches!(
                &*h.name,
                "destination" | "message-id" | "subscription" | "ack"
            ) {
                w.header(&h.name, &h.value);
            }
        }
        w.finish(self.body)
    }
}

/// A RECEIPT frame: `receipt-id` is the `receipt` header of the frame it acknowledges.
#[derive(Debug, Clone, Copy)]
pub struct ReceiptFrame<'a> {
    /// The acknowledged frame's `receipt` header.
    pub receipt_id: &'a str,
}

impl ReceiptFrame<'_> {
    /// Encodes the frame for `version`, appending it to `buf`; nothing is written on
    /// error.
    pub fn encode(&self, version: Version, buf: &mut BytesMut) -> Result<(), EncodeError> {
        buf.reserve(estimate(
            Command::Receipt,
            &["receipt-id:", self.receipt_id],
            &[],
            &[],
        ));
        let mut w = FrameWriter::new(Command::Receipt, version, buf);
        w.header("receipt-id", self.receipt_id);
        w.finish(&[])
    }
}

/// An ERROR frame, after which the server closes the connection: `message` (a short
/// description, e.g. [`DecodeError::message`](crate::DecodeError::message)), `receipt-id`
/// when the failed frame asked for a receipt, `content-type` when there is a body, the
/// extra `headers` (e.g. `version` listing the supported versions, from
/// [`Versions::as_header_value`](crate::Versions::as_header_value)), then the body.
#[derive(Debug, Clone, Copy, Default)]
pub struct ErrorFrame<'a> {
    /// The `message` header.
    pub message: &'a str,
    /// The failed frame's `receipt` header, if it had one.
    pub receipt_id: Option<&'a str>,
    /// The body's MIME type (`text/plain`, usually), if there is a body.
    pub content_type: Option<&'a str>,
    /// Further headers, in order.
    pub headers: &'a [Header],
    /// More detail, e.g. the failed frame.
    pub body: &'a [u8],
}

impl ErrorFrame<'_> {
    /// Encodes the frame for `version`, appending it to `buf`; nothing is written on
    /// error.
    pub fn encode(&self, version: Version, buf: &mut BytesMut) -> Result<(), EncodeError> {
        buf.reserve(estimate(
            Command::Error,
            &[
                "message:",
                self.message,
                "receipt-id:",
                self.receipt_id.unwrap_or_default(),
                "content-type:",
                self.content_type.unwrap_or_default(),
            ],
            self.headers,
            self.body,
        ));
        let mut w = FrameWriter::new(Command::Error, version, buf);
        w.header("message", self.message);
        if let Some(receipt_id) = self.receipt_id {
            w.header("receipt-id", receipt_id);
        }
        if let Some(content_type) = self.content_type {
            w.header("content-type", content_type);
        }
        w.headers(self.headers);
        w.finish(self.body)
    }
}

/// A CONNECTED frame: `version` (written in every version, 1.0 included, which ignores
/// it), then `heart-beat`, `session` and `server` when set. Never escaped: a value with
/// a line break cannot be written.
#[derive(Debug, Clone, Copy)]
pub struct ConnectedFrame<'a> {
    /// The negotiated version.
    pub version: Version,
    /// The server's `heart-beat` (`sx,sy`), if heart-beats are offered.
    pub heart_beat: Option<HeartBeat>,
    /// A session identifier.
    pub session: Option<&'a str>,
    /// `name/version` of the server.
    pub server: Option<&'a str>,
}

impl ConnectedFrame<'_> {
    /// Encodes the frame, appending it to `buf`; nothing is written on error.
    pub fn encode(&self, buf: &mut BytesMut) -> Result<(), EncodeError> {
        buf.reserve(estimate(
            Command::Connected,
            &[
                "version:1.0",
                "heart-beat:4294967295,4294967295",
                "session:",
                self.session.unwrap_or_default(),
                "server:",
                self.server.unwrap_or_default(),
            ],
            &[],
            &[],
        ));
        let mut w = FrameWriter::new(Command::Connected, self.version, buf);
        w.header("version", self.version.as_str());
        if let Some(hb) = self.heart_beat {
            let mut value = Digits::default();
            // Two u32 and a comma: 21 bytes at most, which `Digits` holds.
            let _ = write!(value, "{},{}", hb.outgoing, hb.incoming);
            w.header("heart-beat", value.as_str());
        }
        if let Some(session) = self.session {
            w.header("session", session);
        }
        if let Some(server) = self.server {
            w.header("server", server);
        }
        w.finish(&[])
    }
}

#[cfg(test)]
mod tests;
