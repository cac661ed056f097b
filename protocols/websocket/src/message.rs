//! Messages (RFC 6455 section 5.4 and 5.5): the [`MessageDecoder`] that reassembles
//! fragmented messages, enforces the message size limit, validates text and Close
//! frames, and passes control frames through as they come.

use bytes::{Bytes, BytesMut};

use crate::close::{CloseCode, parse_close_payload};
use crate::error::Error;
use crate::frame::{Header, OpCode, Role, check_size};

/// What the peer sent: a whole data message or a control frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// A text message, all fragments joined; valid UTF-8.
    Text(Bytes),
    /// A binary message, all fragments joined.
    Binary(Bytes),
    /// A Ping: answer with a Pong carrying the same payload (section 5.5.2).
    Ping(Bytes),
    /// A Pong, solicited or not (section 5.5.3).
    Pong(Bytes),
    /// A Close frame (section 5.5.1). Answer with a Close (echoing the code, or
    /// [`CloseCode::NORMAL_CLOSURE`]) unless one was sent already, then close the
    /// connection; frames after it are not to be read.
    Close {
        /// The status code; `None` for an empty Close frame (reported as 1005 "no status
        /// received", a code that is never sent).
        code: Option<CloseCode>,
        /// The reason, valid UTF-8; empty if there is none.
        reason: Bytes,
    },
}

/// A text or binary message whose last fragment has not arrived.
#[derive(Debug, Clone)]
struct Partial {
    text: bool,
    data: BytesMut,
    /// The length of the prefix of `data` that is known to be valid UTF-8 (for text):
    /// a code point cut at a fragment boundary waits for the next fragment.
    utf8_valid: usize,
}

/// Turns a client's byte stream into [`Message`]s.
///
/// The contract of [`MessageDecoder::decode`], after tokio-util's `Decoder`:
/// - `Ok(Some(message))`: a complete message or control frame; the frames it was made
///   of were split off the front of the buffer;
/// - `Ok(None)`: no complete message yet; whole frames of an unfinished fragmented
///   message may have been taken from the buffer and kept in the decoder, but never a
///   part of a frame, and the buffer has reserved room for the frame whose header it
///   holds;
/// - `Err(_)`: the stream is not valid WebSocket; send a Close frame with
///   [`Error::close_code`] and close the connection (section 7.1.7).
///
/// The maximum message size applies to the sum of a message's fragments and is checked
/// from each frame header, before the frame's payload is buffered.
#[derive(Debug, Clone)]
pub struct MessageDecoder {
    role: Role,
    max_message_size: usize,
    partial: Option<Partial>,
}

impl MessageDecoder {
    /// A server's decoder: client frames must be masked.
    pub fn server(max_message_size: usize) -> Self {
        Self::new(Role::Server, max_message_size)
    }

    /// A client's decoder: server frames must not be masked.
    pub fn client(max_message_size: usize) -> Self {
        Self::new(Role::Client, max_message_size)
    }

    /// A decoder for `role` that refuses messages over `max_message_size` bytes.
    pub fn new(role: Role, max_message_size: usize) -> Self {
        Self {
            role,
            max_message_size,
            partial: None,
        }
    }

    /// The maximum message size.
    pub fn max_message_size(&self) -> usize {
        self.max_message_size
    }

    /// Changes the maximum message size for the frames to come.
    pub fn set_max_message_size(&mut self, max_message_size: usize) {
        self.max_message_size = max_message_size;
    }

    /// Whether a fragmented message is unfinished.
    pub fn in_message(&self) -> bool {
        self.partial.is_some()
    }

    /// Decodes the next message from the front of `buf`; see the type's documentation.
    pub fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<Message>, Error> {
        loop {
            let Some(header) = Header::parse(buf, self.role)? else {
                return Ok(None);
            };
            let buffered = match (header.opcode, &self.partial) {
                (OpCode::Continuation, None) => return Err(Error::UnexpectedContinuation),
                (OpCode::Text | OpCode::Binary, Some(_)) => {
                    return Err(Error::ExpectedContinuation);
                }
                (OpCode::Continuation, Some(partial)) => partial.data.len(),
                // Control frames are at most 125 bytes (checked by the header).
                _ => 0,
            };
            if !header.opcode.is_control() {
                check_size(header.payload_len, buffered, self.max_message_size)?;
            }
            let Some(payload) = header.take_payload(buf) else {
                return Ok(None);
            };
            if let Some(message) = self.frame(header.fin, header.opcode, payload)? {
                return Ok(Some(message));
            }
        }
    }

    /// Takes in one whole frame; a message if it completes one.
    fn frame(
        &mut self,
        fin: bool,
        opcode: OpCode,
        payload: Bytes,
    ) -> Result<Option<Message>, Error> {
        let message = match opcode {
            OpCode::Ping => Message::Ping(payload),
            OpCode::Pong => Message::Pong(payload),
            OpCode::Close => {
                let (code, reason) = parse_close_payload(payload)?;
                Message::Close { code, reason }
            }
            OpCode::Text if fin => {
                if std::str::from_utf8(&payload).is_err() {
                    return Err(Error::InvalidUtf8);
                }
                Message::Text(payload)
            }
            OpCode::Binary if fin => Message::Binary(payload),
            OpCode::Text | OpCode::Binary => {
                let mut partial = Partial {
                    text: opcode == OpCode::Text,
                    data: BytesMut::with_capacity(payload.len()),
                    utf8_valid: 0,
                };
                partial.extend(&payload)?;
                self.partial = Some(partial);
                return Ok(None);
            }
            OpCode::Continuation => {
                let Some(partial) = self.partial.as_mut() else {
                    return Err(Error::UnexpectedContinuation);
                };
                partial.extend(&payload)?;
                if !fin {
                    return Ok(None);
                }
                let Some(partial) = self.partial.take() else {
                    return Err(Error::UnexpectedContinuation);
                };
                if partial.text {
                    if partial.utf8_valid != partial.data.len() {
                        // The message ends inside a code point.
                        return Err(Error::InvalidUtf8);
                    }
                    Message::Text(partial.data.freeze())
                } else {
                    Message::Binary(partial.data.freeze())
                }
            }
        };
        Ok(Some(message))
    }
}

impl Partial {
    /// Appends a fragment; a text message fails as soon as it holds a byte sequence
    /// that no continuation can make valid UTF-8 (fail fast, section 8.1).
    fn extend(&mut self, fragment: &[u8]) -> Result<(), Error> {
        self.data.extend_from_slice(fragment);
        if !self.text {
            return Ok(());
        }
        let unchecked = self.data.get(self.utf8_valid..).unwrap_or_default();
        match std::str::from_utf8(unchecked) {
            Ok(_) => self.utf8_valid = self.data.len(),
            Err(e) if e.error_len().is_none() => self.utf8_valid += e.valid_up_to(),
            Err(_) => return Err(Error::InvalidUtf8),
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A masked client frame with mask 0 (the payload is sent as it is).
    fn frame(b0: u8, payload: &[u8]) -> Vec<u8> {
        assert!(payload.len() < 126);
        let mut out = vec![b0, 0x80 | payload.len() as u8, 0, 0, 0, 0];
        out.extend_from_slice(payload);
        out
    }

    fn decode_all(wire: &[u8]) -> (Vec<Message>, Option<Error>) {
        let mut d = MessageDecoder::server(1024);
        let mut buf = BytesMut::from(wire);
        let mut out = Vec::new();
        loop {
            match d.decode(&mut buf) {
                Ok(Some(m)) => out.push(m),
                Ok(None) => return (out, None),
                Err(e) => return (out, Some(e)),
            }
        }
    }

    #[test]
    fn control_frames_interleave_with_fragments() {
        let mut wire = frame(0x01, b"Hel");
        wire.extend(frame(0x89, b"p"));
        wire.extend(frame(0x00, b"lo "));
        wire.extend(frame(0x8A, b""));
        wire.extend(frame(0x80, "wörld".as_bytes()));
        let (messages, error) = decode_all(&wire);
        assert_eq!(error, None);
        assert_eq!(
            messages,
            [
                Message::Ping(Bytes::from_static(b"p")),
                Message::Pong(Bytes::new()),
                Message::Text(Bytes::from("Hello wörld")),
            ]
        );
    }

    #[test]
    fn code_point_split_across_fragments() {
        let euro = "€".as_bytes(); // E2 82 AC
        let mut wire = frame(0x01, &euro[..1]);
        wire.extend(frame(0x00, &euro[1..2]));
        wire.extend(frame(0x80, &euro[2..]));
        assert_eq!(
            decode_all(&wire),
            (vec![Message::Text(Bytes::from("€"))], None)
        );
        // Ends inside the code point.
        let mut wire = frame(0x01, &euro[..1]);
        wire.extend(frame(0x80, &euro[1..2]));
        assert_eq!(decode_all(&wire), (vec![], Some(Error::InvalidUtf8)));
    }

    #[test]
    fn invalid_utf8_fails_fast() {
        // The first fragment is already invalid: no need to wait for the last one.
        let wire = frame(0x01, b"ok\xC0\xAF");
        assert_eq!(decode_all(&wire), (vec![], Some(Error::InvalidUtf8)));
    }

    #[test]
    fn size_limit_counts_all_fragments() {
        let mut d = MessageDecoder::server(10);
        let mut buf = BytesMut::from(&frame(0x02, b"12345678")[..]);
        assert_eq!(d.decode(&mut buf), Ok(None));
        assert!(buf.is_empty() && d.in_message());
        // A ping does not count.
        buf.extend_from_slice(&frame(0x89, &[0; 125]));
        assert!(matches!(d.decode(&mut buf), Ok(Some(Message::Ping(_)))));
        // 8 + 3 > 10: refused from the header alone.
        buf.extend_from_slice(&frame(0x80, b"abc")[..6]);
        assert_eq!(
            d.decode(&mut buf),
            Err(Error::MessageTooBig { size: 11, max: 10 })
        );
    }

    #[test]
    fn empty_fragments() {
        let mut wire = frame(0x02, b"");
        wire.extend(frame(0x00, b""));
        wire.extend(frame(0x80, b""));
        assert_eq!(
            decode_all(&wire),
            (vec![Message::Binary(Bytes::new())], None)
        );
    }
}
