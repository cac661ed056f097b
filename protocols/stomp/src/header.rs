//! Headers: the ordered list a frame carries, and the value encoding (escapes) of each
//! version ("Value Encoding").

use std::slice;

use bytes::{BufMut, Bytes, BytesMut};
use bytestring::ByteString;

use crate::command::Command;
use crate::error::{DecodeError, EncodeError};
use crate::version::Version;

/// One header entry, `name:value`, as text (escapes already undone).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Header {
    /// The header name; never empty in a decoded frame. Case sensitive.
    pub name: ByteString,
    /// The header value; may be empty.
    pub value: ByteString,
}

impl Header {
    /// A header from any string type (`&str`, `String`, `ByteString`, ...).
    pub fn new(name: impl Into<ByteString>, value: impl Into<ByteString>) -> Self {
        Self {
            name: name.into(),
            value: value.into(),
        }
    }

    /// A header from static text, without allocation.
    pub const fn from_static(name: &'static str, value: &'static str) -> Self {
        Self {
            name: ByteString::from_static(name),
            value: ByteString::from_static(value),
        }
    }
}

/// A frame's headers in the order they were sent. Repeated names are kept: the first
/// entry is the header's value and later ones are history ("Repeated Header Entries"),
/// which [`Headers::get`] follows.
///
/// A decoded frame's names and values are views of the received frame's bytes, except
/// those that held an escape sequence, which are unescaped into a copy of their own.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Headers(Vec<Header>);

impl Headers {
    /// No headers.
    pub const fn new() -> Self {
        Self(Vec::new())
    }

    /// No headers, with room for `capacity` of them.
    pub fn with_capacity(capacity: usize) -> Self {
        Self(Vec::with_capacity(capacity))
    }

    /// The number of entries, repeated names counted each time.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there is no header at all.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The value of the first entry named `name`: the header's value (later entries of
    /// the same name are only history, as STOMP 1.2 says).
    pub fn get(&self, name: &str) -> Option<&ByteString> {
        self.0
            .iter()
            .find(|h| h.name.as_bytes() == name.as_bytes())
            .map(|h| &h.value)
    }

    /// The values of every entry named `name`, first (current) to last.
    pub fn get_all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a ByteString> + 'a {
        self.0
            .iter()
            .filter(move |h| h.name.as_bytes() == name.as_bytes())
            .map(|h| &h.value)
    }

    /// Appends an entry (after any entry of the same name, so that one stays current).
    pub fn push(&mut self, name: impl Into<ByteString>, value: impl Into<ByteString>) {
        self.0.push(Header::new(name, value));
    }

    /// Removes every entry named `name`; returns how many there were.
    pub fn remove(&mut self, name: &str) -> usize {
        let before = self.0.len();
        self.0.retain(|h| h.name.as_bytes() != name.as_bytes());
        before - self.0.len()
    }

    /// The entries in order.
    pub fn iter(&self) -> slice::Iter<'_, Header> {
        self.0.iter()
    }

    /// The entries as a slice.
    pub fn as_slice(&self) -> &[Header] {
        &self.0
    }

    /// The entries as a vector.
    pub fn into_vec(self) -> Vec<Header> {
        self.0
    }
}

impl From<Vec<Header>> for Headers {
    fn from(headers: Vec<Header>) -> Self {
        Self(headers)
    }
}

impl FromIterator<Header> for Headers {
    fn from_iter<I: IntoIterator<Item = Header>>(iter: I) -> Self {
        Self(iter.into_iter().collect())
    }
}

impl Extend<Header> for Headers {
    fn extend<I: IntoIterator<Item = Header>>(&mut self, iter: I) {
        self.0.extend(iter);
    }
}

impl<'a> IntoIterator for &'a Headers {
    type Item = &'a Header;
    type IntoIter = slice::Iter<'a, Header>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

impl IntoIterator for Headers {
    type Item = Header;
    type IntoIter = std::vec::IntoIter<Header>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

/// How a frame's headers are encoded: the version's rule, except that CONNECT, STOMP
/// and CONNECTED frames are never escaped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Escaping {
    /// No escapes (STOMP 1.0, CONNECT, STOMP, CONNECTED, and a decoder without version).
    Raw,
    /// `\n`, `\c`, `\\` (STOMP 1.1).
    V1_1,
    /// `\r`, `\n`, `\c`, `\\` (STOMP 1.2).
    V1_2,
}

impl Escaping {
    /// The encoding of `command`'s headers in `version` (`None`: not negotiated yet).
    pub(crate) const fn of(version: Option<Version>, command: Command) -> Self {
        if command.is_unescaped() {
            return Self::Raw;
        }
        match version {
            None | Some(Version::V1_0) => Self::Raw,
            Some(Version::V1_1) => Self::V1_1,
            Some(Version::V1_2) => Self::V1_2,
        }
    }
}

// Octet classes of header text.
const NUL: u8 = 1;
const CR: u8 = 2;
const LF: u8 = 4;
const COLON: u8 = 8;
const BACKSLASH: u8 = 16;

/// The class of one octet.
#[inline(always)]
const fn class(b: u8) -> u8 {
    match b {
        0 => NUL,
        b'\r' => CR,
        b'\n' => LF,
        b':' => COLON,
        b'\\' => BACKSLASH,
        _ => 0,
    }
}

const LOW_BITS: u64 = 0x0101_0101_0101_0101;
const HIGH_BITS: u64 = 0x8080_8080_8080_8080;

/// Non-zero exactly when some byte of `x` equals `byte`: subtracting 1 from every byte
/// of `x ^ byte…` sets the high bit of a zero byte, and of no byte below the lowest
/// zero byte (a borrow may mark bytes above it, which does not change the answer).
#[inline(always)]
const fn matches_byte(x: u64, byte: u8) -> u64 {
    let y = x ^ (LOW_BITS * byte as u64);
    y.wrapping_sub(LOW_BITS) & !y & HIGH_BITS
}

/// The union of the classes of the octets of `s`.
///
/// Header text is short (tens of bytes) and almost never holds any of these octets. A
/// byte loop costs about fifteen instructions a byte, and a SIMD search has a set-up
/// cost that lines this short do not repay, so this tests words of eight bytes (the
/// last one overlapping the one before), five comparisons of four instructions each.
#[inline]
pub(crate) fn classes(s: &[u8]) -> u8 {
    if s.len() < 8 {
        return s.iter().fold(0, |acc, &b| acc | class(b));
    }
    let word = |w: &[u8]| <[u8; 8]>::try_from(w).map_or(0, u64::from_ne_bytes);
    let (mut nul, mut cr, mut lf, mut colon, mut backslash) = (0, 0, 0, 0, 0);
    let mut test = |x: u64| {
        nul |= matches_byte(x, 0);
        cr |= matches_byte(x, b'\r');
        lf |= matches_byte(x, b'\n');
        colon |= matches_byte(x, b':');
        backslash |= matches_byte(x, b'\\');
    };
    let mut chunks = s.chunks_exact(8);
    for chunk in &mut chunks {
        test(word(chunk));
    }
    if !chunks.remainder().is_empty() {
        test(word(s.get(s.len() - 8..).unwrap_or_default()));
    }
    let flag = |found: u64, class: u8| if found != 0 { class } else { 0 };
    flag(nul, NUL) | flag(cr, CR) | flag(lf, LF) | flag(colon, COLON) | flag(backslash, BACKSLASH)
}

/// The position of the first `byte` in `hay`: words of eight bytes for the first 64
/// bytes (where a header line usually ends; `memchr`'s set-up costs more than such a
/// search), `memchr` after that.
#[inline]
pub(crate) fn find_byte(hay: &[u8], byte: u8) -> Option<usize> {
    const SHORT: usize = 64;
    let (head, tail) = hay.split_at(hay.len().min(SHORT));
    let mut chunks = head.chunks_exact(8);
    let mut offset = 0;
    for chunk in &mut chunks {
        let word = <[u8; 8]>::try_from(chunk).map_or(0, u64::from_le_bytes);
        let found = matches_byte(word, byte);
        if found != 0 {
            // Little endian: the lowest marked byte is the first match, and it is exact
            // (a borrow only marks bytes above it).
            return Some(offset + (found.trailing_zeros() / 8) as usize);
        }
        offset += 8;
    }
    if let Some(i) = chunks.remainder().iter().position(|&b| b == byte) {
        return Some(offset + i);
    }
    memchr::memchr(byte, tail).map(|i| head.len() + i)
}

/// What a whole received header section holds, in one pass: `None` when it holds a CR
/// or a NUL (CR LF line ends, or an error), and then each line is checked on its own
/// with [`check_line`]; otherwise whether it holds a backslash.
#[inline]
pub(crate) fn check_section(section: &[u8]) -> Option<bool> {
    let found = classes(section);
    (found & (CR | NUL) == 0).then_some(found & BACKSLASH != 0)
}

/// Whether a received header line (end-of-line removed) holds a NUL or a CR: both are
/// errors, whatever the version.
#[inline]
pub(crate) fn check_line(line: &[u8]) -> Result<bool, DecodeError> {
    let found = classes(line);
    if found & CR != 0 {
        Err(DecodeError::BareCarriageReturn)
    } else if found & NUL != 0 {
        Err(DecodeError::NulInHeader)
    } else {
        Ok(found & BACKSLASH != 0)
    }
}

/// A received name or value as text: a view of `raw` when nothing is escaped, or an
/// unescaped copy. `escaped` says whether `raw` holds a backslash.
pub(crate) fn decode_text(
    raw: Bytes,
    escaping: Escaping,
    escaped: bool,
) -> Result<ByteString, DecodeError> {
    if escaping == Escaping::Raw || !escaped || !raw.contains(&b'\\') {
        return ByteString::try_from(raw).map_err(|_| DecodeError::InvalidUtf8);
    }
    let mut out = Vec::with_capacity(raw.len());
    let mut bytes = raw.iter();
    while let Some(&b) = bytes.next() {
        if b != b'\\' {
            out.push(b);
            continue;
        }
        out.push(match bytes.next() {
            Some(b'n') => b'\n',
            Some(b'c') => b':',
            Some(b'\\') => b'\\',
            Some(b'r') if escaping == Escaping::V1_2 => b'\r',
            _ => return Err(DecodeError::InvalidEscape),
        });
    }
    String::from_utf8(out)
        .map(ByteString::from)
        .map_err(|_| DecodeError::InvalidUtf8)
}

/// The length of `text` once encoded, or the octet it cannot carry. `name`: `:` must be
/// escaped (or refused) in names; in raw values it is written as it is (the decoder
/// splits a line at its first colon).
#[inline]
pub(crate) fn encoded_len(
    text: &[u8],
    escaping: Escaping,
    name: bool,
) -> Result<usize, EncodeError> {
    let found = classes(text);
    if found == 0 {
        return Ok(text.len());
    }
    let refused = match escaping {
        Escaping::Raw => NUL | CR | LF | if name { COLON } else { 0 },
        Escaping::V1_1 => NUL | CR,
        Escaping::V1_2 => NUL,
    };
    if found & refused != 0 {
        let octet = text.iter().copied().find(|&b| class(b) & refused != 0);
        return Err(EncodeError::UnencodableOctet(octet.unwrap_or(0)));
    }
    if escaping == Escaping::Raw {
        return Ok(text.len());
    }
    let escapes = text.iter().filter(|&&b| class(b) != 0).count();
    Ok(text.len() + escapes)
}

/// Checks and writes `text` in one pass over it (for writers that do not count first).
#[inline]
pub(crate) fn put_checked(
    buf: &mut BytesMut,
    text: &[u8],
    escaping: Escaping,
    name: bool,
) -> Result<(), EncodeError> {
    if encoded_len(text, escaping, name)? == text.len() {
        buf.put_slice(text);
    } else {
        put_text(buf, text, escaping);
    }
    Ok(())
}

/// Writes `text`, escaped as `escaping` says; `encoded_len` has accepted it.
#[inline]
pub(crate) fn put_text(buf: &mut BytesMut, text: &[u8], escaping: Escaping) {
    if escaping == Escaping::Raw {
        buf.put_slice(text);
        return;
    }
    for &b in text {
        match b {
            b'\r' => buf.put_slice(b"\\r"),
            b'\n' => buf.put_slice(b"\\n"),
            b':' => buf.put_slice(b"\\c"),
            b'\\' => buf.put_slice(b"\\\\"),
            _ => buf.put_u8(b),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unescape(raw: &'static [u8], escaping: Escaping) -> Result<ByteString, DecodeError> {
        decode_text(Bytes::from_static(raw), escaping, true)
    }

    #[test]
    fn unescape_per_version() {
        assert_eq!(
            unescape(br"a\nb\cc\\d", Escaping::V1_1).as_deref(),
            Ok("a\nb:c\\d")
        );
        assert_eq!(unescape(br"\r", Escaping::V1_2).as_deref(), Ok("\r"));
        assert_eq!(
            unescape(br"\r", Escaping::V1_1),
            Err(DecodeError::InvalidEscape)
        );
        assert_eq!(
            unescape(br"\t", Escaping::V1_2),
            Err(DecodeError::InvalidEscape)
        );
        assert_eq!(
            unescape(br"end\", Escaping::V1_2),
            Err(DecodeError::InvalidEscape)
        );
        // STOMP 1.0 and CONNECT frames: a backslash is a backslash.
        assert_eq!(unescape(br"a\tb\", Escaping::Raw).as_deref(), Ok("a\\tb\\"));
        // Unescaped bytes must still be UTF-8; an escape cannot split a character.
        assert_eq!(
            unescape(b"\xC3\\n\xA9", Escaping::V1_2),
            Err(DecodeError::InvalidUtf8)
        );
        assert_eq!(
            unescape("é\\c".as_bytes(), Escaping::V1_2).as_deref(),
            Ok("é:")
        );
    }

    #[test]
    fn escaped_text_stays_a_view_only_when_plain() {
        let frame = Bytes::from_static(b"plain");
        let text = decode_text(frame.clone(), Escaping::V1_2, false).unwrap();
        assert_eq!(text.as_bytes().as_ptr(), frame.as_ptr());
    }

    #[test]
    fn encode_per_version() {
        let mut buf = BytesMut::new();
        let text = b"a:b\nc\\d\re";
        assert_eq!(encoded_len(text, Escaping::V1_2, false), Ok(text.len() + 4));
        put_text(&mut buf, text, Escaping::V1_2);
        assert_eq!(&buf[..], br"a\cb\nc\\d\re");
        assert_eq!(
            encoded_len(text, Escaping::V1_1, false),
            Err(EncodeError::UnencodableOctet(b'\r'))
        );
        assert_eq!(
            encoded_len(b"a\nb", Escaping::Raw, false),
            Err(EncodeError::UnencodableOctet(b'\n'))
        );
        assert_eq!(encoded_len(b"a:b\\", Escaping::Raw, false), Ok(4));
        assert_eq!(
            encoded_len(b"a:b", Escaping::Raw, true),
            Err(EncodeError::UnencodableOctet(b':'))
        );
        assert_eq!(
            encoded_len(b"\0", Escaping::V1_2, false),
            Err(EncodeError::UnencodableOctet(0))
        );
    }

    #[test]
    fn classes_of_every_position() {
        let slow = |s: &[u8]| s.iter().fold(0, |acc, &b| acc | class(b));
        for len in 0..40 {
            for at in 0..len {
                for special in [0, b'\r', b'\n', b':', b'\\', b'a', 0x80, 0xFF, 0x01] {
                    let mut s = vec![b'x'; len];
                    s[at] = special;
                    // A byte just above a special one must not hide or fake it.
                    if at + 1 < len {
                        s[at + 1] = special.wrapping_add(1);
                    }
                    assert_eq!(classes(&s), slow(&s), "{s:?}");
                }
            }
        }
        assert_eq!(
            classes(b"\\\n:\r\0abcdefgh"),
            NUL | CR | LF | COLON | BACKSLASH
        );
    }

    #[test]
    fn find_byte_everywhere() {
        for len in 0..150 {
            for at in 0..len {
                let mut hay = vec![b'm'; len];
                hay[at] = b'\n';
                if at + 1 < len {
                    hay[at + 1] = b'\n' + 1;
                }
                if at > 0 {
                    hay[at - 1] = b'\n' - 1;
                }
                assert_eq!(find_byte(&hay, b'\n'), Some(at), "{len} {at}");
                hay[at] = b'\n' ^ 0x80;
                assert_eq!(find_byte(&hay, b'\n'), None);
            }
        }
    }

    #[test]
    fn headers_first_entry_wins() {
        let mut h = Headers::new();
        h.push("foo", "World");
        h.push("foo", "Hello");
        h.push("bar", "");
        assert_eq!(h.get("foo").map(|v| &**v), Some("World"));
        assert_eq!(h.get_all("foo").collect::<Vec<_>>(), ["World", "Hello"]);
        assert_eq!(h.get("baz"), None);
        assert_eq!(h.remove("foo"), 2);
        assert_eq!(h.len(), 1);
        assert_eq!(h.as_slice(), [Header::from_static("bar", "")]);
    }
}
