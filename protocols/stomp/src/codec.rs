//! Framing: the streaming [`Decoder`], its limits and its need-more-bytes contract.
//!
//! A frame is found in two steps. The scan walks the buffer line by line (command,
//! headers, blank line), then the body, checking every limit as soon as the bytes that
//! break it are in the buffer, and remembers how far it got, so that a frame arriving in
//! many reads is scanned once. When the frame is complete it is split off the buffer and
//! parsed as a whole (`parse.rs`).
//!
//! Every check of the scan depends only on the bytes before the point where it fires,
//! and the scan runs in stream order, so the result (frames, heart-beats, and the error
//! that ends the stream) is the same however the stream is cut into reads. The fuzz
//! target and the property tests check this.

use std::ops::Range;

use bytes::{Buf, BytesMut};

use crate::error::DecodeError;
use crate::frame::Frame;
use crate::header::find_byte;
use crate::parse;
use crate::version::Version;

/// Size limits of a [`Decoder`] ("Size Limits": servers MAY limit the number of headers,
/// the length of header lines and the size of a body). Each is checked before the
/// bytes that exceed it are buffered any further: a `content-length` over the body
/// limit is refused as soon as its header line is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Limits {
    /// The largest frame, command line to NUL inclusive (heart-beat EOLs between frames
    /// are not part of a frame). Default 5 MiB.
    pub max_frame_size: usize,
    /// The most header lines a frame may have, repeated names and `content-length`
    /// included. Default 128.
    pub max_headers: usize,
    /// The longest command or header line, end-of-line excluded. Default 8 KiB.
    pub max_header_line: usize,
    /// The largest body. Default 4 MiB.
    pub max_body_size: usize,
}

impl Limits {
    /// The default limits: 5 MiB frames, 128 headers, 8 KiB lines, 4 MiB bodies.
    pub const DEFAULT: Self = Self {
        max_frame_size: 5 * 1024 * 1024,
        max_headers: 128,
        max_header_line: 8 * 1024,
        max_body_size: 4 * 1024 * 1024,
    };

    /// No limit but the address space (tests and trusted peers only).
    pub const UNLIMITED: Self = Self {
        max_frame_size: usize::MAX,
        max_headers: usize::MAX,
        max_header_line: usize::MAX,
        max_body_size: usize::MAX,
    };

    /// These limits with another maximum frame size.
    #[must_use]
    pub const fn with_max_frame_size(mut self, max: usize) -> Self {
        self.max_frame_size = max;
        self
    }

    /// These limits with another maximum number of header lines.
    #[must_use]
    pub const fn with_max_headers(mut self, max: usize) -> Self {
        self.max_headers = max;
        self
    }

    /// These limits with another maximum line length.
    #[must_use]
    pub const fn with_max_header_line(mut self, max: usize) -> Self {
        self.max_header_line = max;
        self
    }

    /// These limits with another maximum body size.
    #[must_use]
    pub const fn with_max_body_size(mut self, max: usize) -> Self {
        self.max_body_size = max;
        self
    }
}

impl Default for Limits {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// The most a decoder reserves ahead for a frame whose `content-length` it knows; the
/// rest of a larger frame grows the buffer as it arrives. (The limits bound it anyway;
/// this matters to a decoder with [`Limits::UNLIMITED`].)
pub(crate) const MAX_RESERVE: usize = 8 * 1024 * 1024;

/// What the decoder took off the stream.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Item {
    /// A complete frame.
    Frame(Frame),
    /// An end-of-line (LF, or CR LF) between frames: a heart-beat, or one of the EOLs
    /// that may follow a frame's NUL. Either way, proof that the peer is alive.
    HeartBeat,
}

/// Splits STOMP frames and heart-beats off a byte stream.
///
/// The contract of [`Decoder::decode`], after tokio-util's `Decoder`:
/// - `Ok(Some(item))`: one frame, or one heart-beat EOL, was split off the front of the
///   buffer;
/// - `Ok(None)`: the buffer holds no complete item yet and nothing was consumed (when
///   the frame's `content-length` is known, the buffer has reserved room for it);
/// - `Err(_)`: the stream is not valid STOMP, or breaks a limit; send an ERROR frame
///   with [`DecodeError::message`] and close the connection.
///
/// The decoder remembers how far it has scanned an incomplete frame: give it the same
/// buffer, with bytes appended, until it returns something.
///
/// # Versions
///
/// A decoder starts without a version and reads frames as STOMP 1.0 does, without
/// header escapes: that is right for CONNECT, STOMP and CONNECTED, which are never
/// escaped. A server calls [`Decoder::set_version`] with the negotiated version after
/// CONNECT, a client after CONNECTED. From then on, headers of other frames are
/// unescaped as the version says (1.1: `\n`, `\c`, `\\`; 1.2 also `\r`; anything else
/// is [`DecodeError::InvalidEscape`]).
///
/// # Leniency, documented
///
/// - Lines may end with CR LF in every version, not only in 1.2, as most brokers
///   accept; a CR anywhere else in a command or header line is an error.
/// - A raw `:` in a header value is kept (the line is split at its first colon), though
///   1.1 and 1.2 writers escape it.
/// - A NUL where a header line or the blank line should start ends a frame without
///   body: the spec's own DISCONNECT and RECEIPT examples omit the blank line.
/// - STOMP 1.0 (and a decoder without version) reads `content-length` with surrounding
///   spaces, which 1.0's padded examples suggest; other headers are never trimmed.
#[derive(Debug, Clone)]
pub struct Decoder {
    version: Option<Version>,
    limits: Limits,
    scan: Scan,
}

/// Where the frame at the front of the buffer ends and its parts lie.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Layout {
    /// End of the command (its EOL excluded).
    pub(crate) command_end: usize,
    /// Start of the first header line.
    pub(crate) headers_start: usize,
    /// Start of the blank line (or of the NUL that replaces it).
    pub(crate) headers_end: usize,
    /// Number of header lines.
    pub(crate) header_lines: usize,
    /// The body.
    pub(crate) body: Range<usize>,
    /// The frame's length, NUL included.
    pub(crate) frame_len: usize,
}

/// The progress of the scan of an incomplete frame, offsets from the buffer's start.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Scan {
    /// Start of the line being read; 0 while it is the command line.
    line: usize,
    /// How far the current line, or the body, has been searched for its end.
    searched: usize,
    /// End of the command, once its line is read.
    command_end: usize,
    /// Start of the header lines; 0 until the command line is read.
    headers_start: usize,
    /// Header lines read.
    header_lines: usize,
    /// The first `content-length`, once read.
    content_length: Option<usize>,
    /// Start of the blank line, once read: the body follows it.
    headers_end: Option<usize>,
    /// Start of the body.
    body_start: usize,
}

/// The outcome of a scan that did not fail.
enum Scanned {
    Complete(Layout),
    /// The frame needs more bytes; with `content-length` known, this many in all.
    NeedMore(Option<usize>),
}

impl Decoder {
    /// A decoder without version (see the type's documentation), with `limits`.
    pub fn new(limits: Limits) -> Self {
        Self {
            version: None,
            limits,
            scan: Scan::default(),
        }
    }

    /// A decoder for a negotiated version.
    pub fn with_version(version: Version, limits: Limits) -> Self {
        Self {
            version: Some(version),
            ..Self::new(limits)
        }
    }

    /// The version headers are read in; `None` before negotiation.
    pub fn version(&self) -> Option<Version> {
        self.version
    }

    /// Sets the negotiated version for the frames to come. A partly scanned frame is
    /// scanned again under the new version.
    pub fn set_version(&mut self, version: Version) {
        self.version = Some(version);
        self.scan = Scan::default();
    }

    /// The limits.
    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// Changes the limits for the frames to come (a partly scanned frame is scanned
    /// again under them).
    pub fn set_limits(&mut self, limits: Limits) {
        self.limits = limits;
        self.scan = Scan::default();
    }

    /// Decodes one frame or heart-beat from the front of `buf`; see the type's
    /// documentation.
    pub fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<Item>, DecodeError> {
        if self.scan.headers_start == 0 {
            // Between frames: an EOL is a heart-beat.
            match buf.as_ref() {
                [b'\n', ..] => {
                    buf.advance(1);
                    return Ok(Some(Item::HeartBeat));
                }
                [b'\r', b'\n', ..] => {
                    buf.advance(2);
                    return Ok(Some(Item::HeartBeat));
                }
                [] | [b'\r'] => return Ok(None),
                // Anything else, a CR not before LF included, starts a command line.
                _ => {}
            }
        }
        if buf.len() < self.scan.searched {
            // Not the buffer scanned so far: start again.
            self.scan = Scan::default();
        }
        let layout = match self.scan_frame(buf) {
            Ok(Scanned::Complete(layout)) => layout,
            Ok(Scanned::NeedMore(total)) => {
                if let Some(total) = total {
                    buf.reserve(total.saturating_sub(buf.len()).min(MAX_RESERVE));
                }
                return Ok(None);
            }
            Err(e) => {
                self.scan = Scan::default();
                return Err(e);
            }
        };
        self.scan = Scan::default();
        let frame = buf.split_to(layout.frame_len).freeze();
        parse::frame(frame, &layout, self.version).map(|f| Some(Item::Frame(f)))
    }

    /// Scans the frame at the front of `buf` from where the last call stopped.
    fn scan_frame(&mut self, buf: &[u8]) -> Result<Scanned, DecodeError> {
        let limits = self.limits;
        let max_frame = limits.max_frame_size;
        let s = &mut self.scan;
        let body_start = loop {
            if s.headers_end.is_some() {
                // The blank line was read on an earlier call.
                break s.body_start;
            }
            let start = s.line;
            if start >= max_frame {
                // Already `max_frame` bytes, and the frame needs at least one more.
                return Err(DecodeError::FrameTooLarge { max: max_frame });
            }
            if s.headers_start != 0 && buf.get(start) == Some(&0) {
                // NUL instead of a header line or the blank line: the frame ends here.
                if s.content_length.unwrap_or(0) != 0 {
                    return Err(DecodeError::NulInHeader);
                }
                return Ok(Scanned::Complete(Layout {
                    command_end: s.command_end,
                    headers_start: s.headers_start,
                    headers_end: start,
                    header_lines: s.header_lines,
                    body: start..start,
                    frame_len: start + 1,
                }));
            }
            // A line may hold `max_header_line` bytes and its CR: its LF is at most that
            // far plus one.
            let line_limit = start
                .saturating_add(limits.max_header_line)
                .saturating_add(2);
            let from = s.searched.max(start);
            let to = buf.len().min(max_frame).min(line_limit);
            let Some(lf) = find(buf, from, to, b'\n', find_byte) else {
                if line_limit <= buf.len() && line_limit <= max_frame {
                    return Err(DecodeError::HeaderTooLong {
                        max: limits.max_header_line,
                    });
                }
                if buf.len() >= max_frame {
                    return Err(DecodeError::FrameTooLarge { max: max_frame });
                }
                s.searched = to.max(from);
                return Ok(Scanned::NeedMore(None));
            };
            let end = if lf > start && buf.get(lf - 1) == Some(&b'\r') {
                lf - 1
            } else {
                lf
            };
            if end - start > limits.max_header_line {
                return Err(DecodeError::HeaderTooLong {
                    max: limits.max_header_line,
                });
            }
            s.line = lf + 1;
            s.searched = lf + 1;
            if s.headers_start == 0 {
                s.command_end = end;
                s.headers_start = lf + 1;
                continue;
            }
            if end == start {
                s.headers_end = Some(start);
                s.body_start = lf + 1;
                break lf + 1;
            }
            s.header_lines += 1;
            if s.header_lines > limits.max_headers {
                return Err(DecodeError::TooManyHeaders {
                    max: limits.max_headers,
                });
            }
            if s.content_length.is_none() {
                let line = buf.get(start..end).unwrap_or_default();
                if let Some(value) = line.strip_prefix(b"content-length:") {
                    let trim = matches!(self.version, None | Some(Version::V1_0));
                    let n = parse_content_length(value, trim)?;
                    if n > limits.max_body_size {
                        return Err(DecodeError::BodyTooLarge {
                            max: limits.max_body_size,
                        });
                    }
                    s.content_length = Some(n);
                }
            }
        };
        let headers_end = s.headers_end.unwrap_or(body_start);
        let layout = |body: Range<usize>| Layout {
            command_end: s.command_end,
            headers_start: s.headers_start,
            headers_end,
            header_lines: s.header_lines,
            frame_len: body.end + 1,
            body,
        };

        if let Some(n) = s.content_length {
            let total = body_start.saturating_add(n).saturating_add(1);
            if total > max_frame {
                return Err(DecodeError::FrameTooLarge { max: max_frame });
            }
            return match buf.get(total - 1) {
                None => Ok(Scanned::NeedMore(Some(total))),
                Some(0) => Ok(Scanned::Complete(layout(body_start..total - 1))),
                Some(_) => Err(DecodeError::MissingNul),
            };
        }

        // No content-length: the body ends at the first NUL.
        let body_limit = body_start
            .saturating_add(limits.max_body_size)
            .saturating_add(1);
        let from = s.searched.max(body_start);
        let to = buf.len().min(max_frame).min(body_limit);
        match find(buf, from, to, 0, memchr) {
            Some(nul) => Ok(Scanned::Complete(layout(body_start..nul))),
            None if body_limit <= buf.len() && body_limit <= max_frame => {
                Err(DecodeError::BodyTooLarge {
                    max: limits.max_body_size,
                })
            }
            None if buf.len() >= max_frame => Err(DecodeError::FrameTooLarge { max: max_frame }),
            None => {
                s.searched = to.max(from);
                Ok(Scanned::NeedMore(None))
            }
        }
    }
}

impl Default for Decoder {
    /// A decoder without version, with [`Limits::DEFAULT`].
    fn default() -> Self {
        Self::new(Limits::DEFAULT)
    }
}

/// The position of the first `byte` in `buf[from..to]`, searched with `search`.
#[inline]
fn find(
    buf: &[u8],
    from: usize,
    to: usize,
    byte: u8,
    search: fn(&[u8], u8) -> Option<usize>,
) -> Option<usize> {
    let hay = buf.get(from..to)?;
    search(hay, byte).map(|i| from + i)
}

/// `memchr` with the argument order of [`find_byte`].
#[inline]
fn memchr(hay: &[u8], byte: u8) -> Option<usize> {
    memchr::memchr(byte, hay)
}

/// A `content-length` value: decimal digits (around which STOMP 1.0 allows spaces). A
/// number too large for `usize` saturates, and is then over any body limit.
fn parse_content_length(value: &[u8], trim: bool) -> Result<usize, DecodeError> {
    let mut digits = value;
    if trim {
        while let [b' ', rest @ ..] = digits {
            digits = rest;
        }
        while let [rest @ .., b' '] = digits {
            digits = rest;
        }
    }
    if digits.is_empty() {
        return Err(DecodeError::InvalidContentLength);
    }
    digits.iter().try_fold(0usize, |n, &b| {
        if b.is_ascii_digit() {
            Ok(n.saturating_mul(10).saturating_add(usize::from(b - b'0')))
        } else {
            Err(DecodeError::InvalidContentLength)
        }
    })
}

#[cfg(test)]
mod tests;
