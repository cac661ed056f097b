//! Parsing of one complete frame, once the scan in `codec.rs` has found its parts.

use bytes::Bytes;

use crate::codec::Layout;
use crate::command::Command;
use crate::error::DecodeError;
use crate::frame::{CONTENT_LENGTH, Frame};
use crate::header::{Escaping, Header, Headers, check_line, check_section, decode_text, find_byte};
use crate::version::Version;

/// Parses the complete frame `frame` (its NUL included) laid out as `layout` says:
/// command, headers (`content-length` left out: it is framing), body. Names and values
/// are views of `frame` unless they hold an escape sequence.
pub(crate) fn frame(
    frame: Bytes,
    layout: &Layout,
    version: Option<Version>,
) -> Result<Frame, DecodeError> {
    let command = frame
        .get(..layout.command_end)
        .and_then(Command::from_bytes)
        .ok_or(DecodeError::UnknownCommand)?;
    let escaping = Escaping::of(version, command);
    let mut headers = Vec::with_capacity(layout.header_lines);
    let section = frame
        .get(layout.headers_start..layout.headers_end)
        .unwrap_or_default();
    let escaped = check_section(section);
    // Every line of the header section ends with LF (the scan found them all).
    let mut start = layout.headers_start;
    while let Some(lf) = frame
        .get(start..layout.headers_end)
        .and_then(|rest| find_byte(rest, b'\n'))
    {
        let lf = start + lf;
        let end = if lf > start && frame.get(lf - 1) == Some(&b'\r') {
            lf - 1
        } else {
            lf
        };
        if let Some(header) = header(&frame, start, end, escaping, escaped)? {
            headers.push(header);
        }
        start = lf + 1;
    }
    // The scan's ranges lie within the frame, so `slice` cannot panic.
    let body = frame.slice(layout.body.clone());
    Ok(Frame {
        command,
        headers: Headers::from(headers),
        body,
    })
}

/// The header on `frame[start..end]` (a line without its EOL), or `None` for
/// `content-length`. `escaped`: what [`check_section`] found in the whole section.
#[inline]
fn header(
    frame: &Bytes,
    start: usize,
    end: usize,
    escaping: Escaping,
    escaped: Option<bool>,
) -> Result<Option<Header>, DecodeError> {
    let line = frame.get(start..end).unwrap_or_default();
    let escaped = match escaped {
        Some(escaped) => escaped,
        None => check_line(line)?,
    };
    let colon = find_byte(line, b':').ok_or(DecodeError::MissingColon)?;
    if colon == 0 {
        return Err(DecodeError::EmptyHeaderName);
    }
    if line.get(..colon) == Some(CONTENT_LENGTH.as_bytes()) {
        return Ok(None);
    }
    let split = start + colon;
    Ok(Some(Header {
        name: decode_text(frame.slice(start..split), escaping, escaped)?,
        value: decode_text(frame.slice(split + 1..end), escaping, escaped)?,
    }))
}
