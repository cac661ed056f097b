//! Generators of valid frames, and the checks that fuzz targets and property tests run.
//!
//! Built with the `arbitrary` feature (and in this crate's tests). The fuzz target
//! `decode_stomp` in `fuzz/` is one call to [`check_decode`]; the logic lives here so
//! that it compiles, and is tested, with the crate.

#![expect(
    clippy::panic,
    reason = "fuzz and property checks report a failure by panicking"
)]

use arbitrary::{Result, Unstructured};
use bytes::{Bytes, BytesMut};

use crate::codec::{Decoder, Item, Limits};
use crate::command::Command;
use crate::error::DecodeError;
use crate::frame::{CONTENT_LENGTH, Frame};
use crate::header::{Escaping, Header, Headers};
use crate::version::Version;

/// The decoder settings the checks run: no version (CONNECT phase), then each version.
pub const MODES: [Option<Version>; 4] = [
    None,
    Some(Version::V1_0),
    Some(Version::V1_1),
    Some(Version::V1_2),
];

/// Small limits, so that fuzz inputs reach every limit.
pub const TIGHT_LIMITS: Limits = Limits::DEFAULT
    .with_max_frame_size(96)
    .with_max_headers(4)
    .with_max_header_line(24)
    .with_max_body_size(32);

/// What a decoder made of a stream: the items, then the error that ended it, if any.
pub type Decoded = (Vec<Item>, Option<DecodeError>);

/// A valid frame of any command for `version`, whose encoding decodes back to it.
pub fn arbitrary_frame(u: &mut Unstructured<'_>, version: Version) -> Result<Frame> {
    let command = *u.choose(&Command::ALL)?;
    arbitrary_frame_of(u, version, command)
}

/// A valid `command` frame for `version`: headers of any text the version can carry in
/// that frame (escapable octets often, in 1.1 and 1.2), any body.
pub fn arbitrary_frame_of(
    u: &mut Unstructured<'_>,
    version: Version,
    command: Command,
) -> Result<Frame> {
    let escaping = Escaping::of(Some(version), command);
    let n = u.int_in_range(0..=6)?;
    let mut headers = Headers::with_capacity(n);
    for _ in 0..n {
        let mut name = text(u, escaping, true)?;
        if name.is_empty() || name == CONTENT_LENGTH {
            name = String::from("x");
        }
        let value = text(u, escaping, false)?;
        headers.push(name, value);
    }
    let body: Vec<u8> = if u.ratio(1, 4)? {
        Vec::new()
    } else {
        u.arbitrary()?
    };
    Ok(Frame {
        command,
        headers,
        body: Bytes::from(body),
    })
}

/// Header text: common names and octets that need escapes often, any character
/// sometimes, minus what `escaping` cannot carry.
fn text(u: &mut Unstructured<'_>, escaping: Escaping, name: bool) -> Result<String> {
    const WORDS: &[&str] = &[
        "destination",
        "id",
        "ack",
        "receipt",
        "content-type",
        "/queue/a",
        "text/plain",
        "1.2",
    ];
    const CHARS: &[char] = &[
        ':',
        '\\',
        '\n',
        '\r',
        ' ',
        'a',
        'Z',
        '0',
        '-',
        'é',
        '€',
        '\u{1F600}',
    ];
    let mut s = String::new();
    if u.ratio(1, 3)? {
        s.push_str(u.choose(WORDS)?);
    }
    for _ in 0..u.int_in_range(0..=8)? {
        s.push(if u.ratio(2, 3)? {
            *u.choose(CHARS)?
        } else {
            u.arbitrary()?
        });
    }
    s.retain(|c| match c {
        '\0' => false,
        '\r' => escaping == Escaping::V1_2,
        '\n' => escaping != Escaping::Raw,
        ':' => !name || escaping != Escaping::Raw,
        _ => true,
    });
    Ok(s)
}

/// Encodes `frame` for `version` and decodes it again; panics unless the result is the
/// same frame and the decoder consumed exactly the encoded bytes. Also checks that the
/// decoder accepts the frame at limits equal to its sizes, and refuses it, with the
/// right error, with any limit one less.
pub fn check_encode_decode(frame: &Frame, version: Version) {
    let mut wire = BytesMut::new();
    if let Err(e) = frame.encode(version, &mut wire) {
        panic!("valid frame failed to encode: {e}: {frame:?}");
    }
    let exact = exact_limits(&wire);
    let mut buf = wire.clone();
    match Decoder::with_version(version, exact).decode(&mut buf) {
        Ok(Some(Item::Frame(decoded))) => {
            assert_eq!(&decoded, frame, "round trip changed the frame");
        }
        other => panic!("encoded frame did not decode: {other:?}: {frame:?}"),
    }
    assert!(
        buf.is_empty(),
        "decoder left {} bytes of a whole frame",
        buf.len()
    );
    if frame.command.is_unescaped() {
        let mut buf = wire.clone();
        let decoded = Decoder::new(exact).decode(&mut buf);
        assert_eq!(
            decoded,
            Ok(Some(Item::Frame(frame.clone()))),
            "without version"
        );
    }
    let refused = |limits: Limits| {
        let mut buf = wire.clone();
        Decoder::with_version(version, limits).decode(&mut buf)
    };
    let e = refused(exact.with_max_frame_size(exact.max_frame_size - 1));
    assert!(matches!(e, Err(DecodeError::FrameTooLarge { .. })), "{e:?}");
    let e = refused(exact.with_max_header_line(exact.max_header_line - 1));
    assert!(matches!(e, Err(DecodeError::HeaderTooLong { .. })), "{e:?}");
    if exact.max_headers > 0 {
        let e = refused(exact.with_max_headers(exact.max_headers - 1));
        assert!(
            matches!(e, Err(DecodeError::TooManyHeaders { .. })),
            "{e:?}"
        );
    }
    if exact.max_body_size > 0 {
        let e = refused(exact.with_max_body_size(exact.max_body_size - 1));
        assert!(matches!(e, Err(DecodeError::BodyTooLarge { .. })), "{e:?}");
    }
}

/// The smallest limits that accept `wire`, one frame as our encoder writes it (LF line
/// ends, a blank line, `content-length` exactly when the body is not empty).
fn exact_limits(wire: &[u8]) -> Limits {
    let blank = memchr::memmem::find(wire, b"\n\n").unwrap_or_default();
    let head = wire.get(..blank).unwrap_or_default();
    let lines = head.split(|&b| b == b'\n');
    let body = wire.len() - blank - 3;
    Limits::DEFAULT
        .with_max_frame_size(wire.len())
        .with_max_headers(head.iter().filter(|&&b| b == b'\n').count())
        .with_max_header_line(lines.map(<[u8]>::len).max().unwrap_or_default())
        .with_max_body_size(body)
}

/// Decodes `data` fed in two parts split at `cut`, until the decoder needs more bytes
/// or fails, checking the decoder's contract on the way: `Ok(None)` consumes nothing, an
/// item consumes something, and every decoded frame survives encode + decode in the
/// decoder's version (1.0 rules without one).
pub fn decode_stream(data: &[u8], version: Option<Version>, limits: Limits, cut: usize) -> Decoded {
    let mut decoder = match version {
        Some(v) => Decoder::with_version(v, limits),
        None => Decoder::new(limits),
    };
    let (head, tail) = data.split_at(cut.min(data.len()));
    let mut buf = BytesMut::new();
    let mut items = Vec::new();
    for part in [head, tail] {
        buf.extend_from_slice(part);
        loop {
            let before = buf.len();
            match decoder.decode(&mut buf) {
                Ok(Some(item)) => {
                    assert!(buf.len() < before, "an item was decoded from nothing");
                    if let Item::Frame(frame) = &item {
                        check_encode_decode(frame, version.unwrap_or(Version::V1_0));
                    }
                    items.push(item);
                }
                Ok(None) => {
                    assert_eq!(buf.len(), before, "need-more-bytes consumed input");
                    break;
                }
                Err(e) => return (items, Some(e)),
            }
        }
    }
    (items, None)
}

/// The fuzz target `decode_stomp`: the first byte is where the rest of the input is
/// split in two; the rest is decoded in every mode of [`MODES`], with default and with
/// [`TIGHT_LIMITS`]. Checks [`decode_stream`]'s contract and round trips, that the split
/// changes nothing, and that a decoder without version reads as STOMP 1.0 does.
pub fn check_decode(data: &[u8]) {
    let Some((&cut, stream)) = data.split_first() else {
        return;
    };
    let cut = usize::from(cut);
    for limits in [Limits::DEFAULT, TIGHT_LIMITS] {
        let mut unversioned = None;
        for version in MODES {
            let whole = decode_stream(stream, version, limits, stream.len());
            let split = decode_stream(stream, version, limits, cut);
            assert!(
                whole == split,
                "splitting at {cut} changed the result ({version:?}):\n  whole: {whole:?}\n  split: {split:?}"
            );
            match version {
                None => unversioned = Some(whole),
                Some(Version::V1_0) => assert!(
                    unversioned.as_ref() == Some(&whole),
                    "no version and 1.0 differ: {unversioned:?} vs {whole:?}"
                ),
                Some(_) => {}
            }
        }
    }
}

/// Decodes `stream` whole and split at every byte boundary: the items and the final
/// error must be the same each time.
pub fn check_every_split(stream: &[u8], version: Option<Version>, limits: Limits) -> Decoded {
    check_splits(stream, version, limits, 1)
}

/// [`check_every_split`] at every `step`-th byte boundary only (for long streams).
pub fn check_splits(
    stream: &[u8],
    version: Option<Version>,
    limits: Limits,
    step: usize,
) -> Decoded {
    let whole = decode_stream(stream, version, limits, stream.len());
    for cut in (0..stream.len()).step_by(step.max(1)) {
        let split = decode_stream(stream, version, limits, cut);
        assert!(whole == split, "splitting at {cut} changed the result");
    }
    whole
}

/// Draws frames of one version from `data`, encodes them into one stream with
/// heart-beats (LF and CR LF) between them, and checks that the stream decodes into
/// them, split at (about) 64 points spread over it. Returns the number of items.
pub fn check_structured(data: &[u8]) -> usize {
    let mut u = Unstructured::new(data);
    let Ok(&version) = u.choose(&Version::ALL) else {
        return 0;
    };
    let mut expected = Vec::new();
    let mut stream = BytesMut::new();
    while !u.is_empty() {
        let Ok(frame) = arbitrary_frame(&mut u, version) else {
            break;
        };
        check_encode_decode(&frame, version);
        if frame.encode(version, &mut stream).is_err() {
            panic!("valid frame failed to encode: {frame:?}");
        }
        expected.push(Item::Frame(frame));
        for _ in 0..u.int_in_range(0..=2).unwrap_or_default() {
            let crlf = u.arbitrary().unwrap_or_default();
            stream.extend_from_slice(if crlf { b"\r\n" } else { b"\n" });
            expected.push(Item::HeartBeat);
        }
    }
    let step = stream.len() / 64 + 1;
    let (items, error) = check_splits(&stream, Some(version), Limits::UNLIMITED, step);
    assert_eq!(error, None);
    assert!(items == expected, "the stream decoded to other items");
    expected.len()
}

/// The seed corpus of `decode_stomp`: (file name, input). Each input is a split byte
/// and a stream: one frame of every command in every version, the spec's examples, and
/// streams of several frames and heart-beats.
pub fn seeds() -> Vec<(String, Vec<u8>)> {
    let mut seeds = Vec::new();
    let mut add = |name: String, cut: u8, stream: &[u8]| {
        let mut input = vec![cut];
        input.extend_from_slice(stream);
        seeds.push((name, input));
    };
    for version in Version::ALL {
        let mut all = BytesMut::new();
        for (i, command) in Command::ALL.into_iter().enumerate() {
            let frame = sample(command);
            let mut wire = BytesMut::new();
            if frame.encode(version, &mut wire).is_ok() {
                let name = format!("{version}-{i:02}-{}", command.as_str().to_lowercase());
                add(name, 5, &wire);
                all.extend_from_slice(&wire);
                all.extend_from_slice(b"\n");
            }
        }
        add(format!("{version}-stream"), 40, &all);
    }
    for (i, example) in SPEC_EXAMPLES.iter().enumerate() {
        add(format!("spec-{i:02}"), 7, example);
    }
    seeds
}

/// A frame of `command` with the headers the spec requires of it, a header that needs
/// escapes, and for SEND, MESSAGE and ERROR a body holding a NUL.
fn sample(command: Command) -> Frame {
    use Command::*;
    let required: &[(&str, &str)] = match command {
        Connect | Stomp => &[
            ("accept-version", "1.0,1.1,1.2"),
            ("host", "stomp.github.org"),
            ("heart-beat", "1000,1000"),
        ],
        Connected => &[
            ("version", "1.2"),
            ("heart-beat", "0,0"),
            ("session", "s-1"),
        ],
        Send => &[("destination", "/queue/a"), ("content-type", "text/plain")],
        Subscribe => &[
            ("id", "0"),
            ("destination", "/queue/foo"),
            ("ack", "client"),
        ],
        Unsubscribe => &[("id", "0")],
        Ack | Nack => &[("id", "12345"), ("transaction", "tx1")],
        Begin | Commit | Abort => &[("transaction", "tx1")],
        Disconnect => &[("receipt", "77")],
        Message => &[
            ("subscription", "0"),
            ("message-id", "007"),
            ("destination", "/queue/a"),
        ],
        Receipt => &[("receipt-id", "77")],
        Error => &[("message", "malformed frame received")],
    };
    let mut frame = Frame::new(command);
    frame.headers = required.iter().map(|&(n, v)| Header::new(n, v)).collect();
    if !command.is_unescaped() {
        frame.headers.push("x-escaped", "a:b\\c");
    }
    if command.allows_body() {
        frame.body = Bytes::from_static(b"hello\0queue a");
    }
    frame
}

/// Frames from the STOMP 1.0, 1.1 and 1.2 specifications, as printed there (`^@` is
/// NUL), and two streams with CR LF line ends and heart-beats.
pub const SPEC_EXAMPLES: &[&[u8]] = &[
    b"CONNECT\naccept-version:1.2\nhost:stomp.github.org\n\n\0",
    b"CONNECTED\nversion:1.2\n\n\0",
    b"SEND\ndestination:/queue/a\ncontent-type:text/plain\n\nhello queue a\n\0",
    b"SUBSCRIBE\nid:0\ndestination:/queue/foo\nack:client\n\n\0",
    b"DISCONNECT\nreceipt:77\n\0",
    b"RECEIPT\nreceipt-id:77\n\0",
    b"MESSAGE\nfoo:World\nfoo:Hello\n\n\0",
    b"ERROR\nversion:1.2,2.1\ncontent-type:text/plain\n\nSupported protocol versions are 1.2 2.1\0",
    b"CONNECT\nlogin: <username>\npasscode:<passcode>\n\n\0",
    b"SEND\r\ndestination:/queue/a\r\ncontent-length:5\r\n\r\nab\0cd\0\r\n\n\r\nACK\r\nid:1\r\n\r\n\0",
    b"\n\nSEND\ndestination:/queue/a\\cb\\n\\\\\\r\n\nx\0\nSEND\ndestination:x\n\n\0\n",
];

#[cfg(test)]
mod tests;
