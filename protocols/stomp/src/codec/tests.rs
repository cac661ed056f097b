use bytes::Bytes;

use super::*;
use crate::{Command, Frame, Header};

fn decoder(version: Option<Version>) -> Decoder {
    match version {
        Some(v) => Decoder::with_version(v, Limits::DEFAULT),
        None => Decoder::default(),
    }
}

fn frame(item: Option<Item>) -> Frame {
    match item {
        Some(Item::Frame(f)) => f,
        other => panic!("expected a frame, got {other:?}"),
    }
}

#[test]
fn need_more_bytes_consumes_nothing() {
    let mut d = decoder(Some(Version::V1_2));
    let mut buf = BytesMut::from(&b"SEND\ndestination:/q\ncontent-length:4\n\nab"[..]);
    assert_eq!(d.decode(&mut buf), Ok(None));
    assert_eq!(buf.len(), 40);
    // The announced body was reserved for.
    assert!(buf.capacity() >= 40 + 3);
    buf.extend_from_slice(b"\0d\0\n\r");
    let f = frame(d.decode(&mut buf).unwrap());
    assert_eq!(f.body, &b"ab\0d"[..]);
    assert_eq!(
        f.headers.as_slice(),
        [Header::from_static("destination", "/q")]
    );
    assert_eq!(d.decode(&mut buf), Ok(Some(Item::HeartBeat)));
    assert_eq!(d.decode(&mut buf), Ok(None));
    assert_eq!(&buf[..], b"\r");
    buf.extend_from_slice(b"\n");
    assert_eq!(d.decode(&mut buf), Ok(Some(Item::HeartBeat)));
    assert_eq!(d.decode(&mut buf), Ok(None));
    assert!(buf.is_empty());
}

#[test]
fn every_split_of_a_stream_decodes_the_same() {
    let stream: &[u8] = b"\nCONNECT\r\naccept-version:1.2\r\nhost:h\r\n\r\n\0\r\n\
        SEND\ndestination:/a\\c\n\nbody\0SEND\ncontent-length:1\n\n\0\0\n";
    let mut expected = None;
    for cut in 0..=stream.len() {
        let mut d = decoder(Some(Version::V1_2));
        let mut buf = BytesMut::new();
        let mut items = Vec::new();
        for part in [&stream[..cut], &stream[cut..]] {
            buf.extend_from_slice(part);
            while let Some(item) = d.decode(&mut buf).unwrap() {
                items.push(item);
            }
        }
        assert!(buf.is_empty());
        assert_eq!(items.len(), 6, "cut at {cut}");
        match &expected {
            None => expected = Some(items),
            Some(e) => assert_eq!(&items, e, "cut at {cut}"),
        }
    }
    let items = expected.unwrap();
    assert_eq!(items[0], Item::HeartBeat);
    let send = frame(Some(items[3].clone()));
    assert_eq!(send.destination().unwrap(), "/a:");
    assert_eq!(frame(Some(items[4].clone())).body, &b"\0"[..]);
}

#[test]
fn one_byte_at_a_time() {
    let stream =
        b"MESSAGE\nsubscription:0\nmessage-id:007\ndestination:/queue/a\n\nhello queue a\0\n";
    let mut d = decoder(Some(Version::V1_1));
    let mut buf = BytesMut::new();
    let mut items = Vec::new();
    for &b in stream {
        buf.extend_from_slice(&[b]);
        if let Some(item) = d.decode(&mut buf).unwrap() {
            items.push(item);
        }
    }
    assert_eq!(items.len(), 2);
    assert_eq!(frame(Some(items[0].clone())).message_id().unwrap(), "007");
}

#[test]
fn headers_and_body_are_views_of_the_input() {
    let mut d = decoder(Some(Version::V1_2));
    let mut buf = BytesMut::from(&b"SEND\nplain:value\nesc:a\\nb\n\nbody\0"[..]);
    let start = buf.as_ptr() as usize;
    let range = start..start + buf.len();
    let f = frame(d.decode(&mut buf).unwrap());
    let inside = |b: &[u8]| range.contains(&(b.as_ptr() as usize));
    let [plain, esc] = f.headers.as_slice() else {
        panic!("two headers")
    };
    assert!(inside(plain.name.as_bytes()) && inside(plain.value.as_bytes()));
    assert!(
        inside(esc.name.as_bytes()),
        "an unescaped name stays a view"
    );
    assert!(!inside(esc.value.as_bytes()), "an escaped value is a copy");
    assert_eq!(esc.value, "a\nb");
    assert!(inside(&f.body));
}

#[test]
fn versions_escape_differently() {
    let wire = b"SEND\nk\\c:v\\\\\\n\n\n\0";
    let get = |version| {
        let mut buf = BytesMut::from(&wire[..]);
        decoder(version).decode(&mut buf).map(frame)
    };
    let f = get(Some(Version::V1_1)).unwrap();
    assert_eq!(f.headers.as_slice(), [Header::new("k:", "v\\\n")]);
    assert_eq!(get(Some(Version::V1_2)).unwrap(), f);
    for version in [None, Some(Version::V1_0)] {
        let raw = get(version).unwrap();
        assert_eq!(raw.headers.as_slice(), [Header::new("k\\c", "v\\\\\\n")]);
    }
    // CONNECT and CONNECTED are never unescaped.
    let mut buf = BytesMut::from(&b"CONNECTED\nserver:a\\nb\n\n\0"[..]);
    let f = frame(decoder(Some(Version::V1_2)).decode(&mut buf).unwrap());
    assert_eq!(f.server().unwrap(), "a\\nb");
}

#[test]
fn set_version_after_connect() {
    let mut d = Decoder::default();
    let mut buf = BytesMut::from(&b"CONNECT\naccept-version:1.1\n\n\0SEND\nk:\\n\n\n\0"[..]);
    let connect = frame(d.decode(&mut buf).unwrap());
    assert_eq!(connect.command, Command::Connect);
    assert_eq!(d.version(), None);
    d.set_version(Version::V1_1);
    assert_eq!(d.version(), Some(Version::V1_1));
    let send = frame(d.decode(&mut buf).unwrap());
    assert_eq!(send.header("k").unwrap(), "\n");
}

#[test]
fn nul_instead_of_the_blank_line_ends_the_frame() {
    let mut buf = BytesMut::from(&b"DISCONNECT\nreceipt:77\n\0RECEIPT\n\0"[..]);
    let mut d = Decoder::default();
    let f = frame(d.decode(&mut buf).unwrap());
    assert_eq!(
        f,
        Frame::new(Command::Disconnect).with_header("receipt", "77")
    );
    assert_eq!(
        frame(d.decode(&mut buf).unwrap()),
        Frame::new(Command::Receipt)
    );
    // A declared body cannot end there; content-length:0 can.
    let mut buf = BytesMut::from(&b"SEND\ncontent-length:2\n\0"[..]);
    assert_eq!(d.decode(&mut buf), Err(DecodeError::NulInHeader));
    let mut buf = BytesMut::from(&b"SEND\ncontent-length:0\n\0"[..]);
    assert_eq!(
        frame(d.decode(&mut buf).unwrap()),
        Frame::new(Command::Send)
    );
}

#[test]
fn content_length_rules() {
    let decode = |version, wire: &'static [u8]| {
        let mut buf = BytesMut::from(wire);
        decoder(version).decode(&mut buf).map(frame)
    };
    // STOMP 1.0 allows padding around the number, later versions do not.
    let padded = b"SEND\ncontent-length: 2 \n\nab\0";
    assert_eq!(decode(None, padded).unwrap().body, &b"ab"[..]);
    assert_eq!(
        decode(Some(Version::V1_0), padded).unwrap().body,
        &b"ab"[..]
    );
    assert_eq!(
        decode(Some(Version::V1_2), padded),
        Err(DecodeError::InvalidContentLength)
    );
    // The first content-length wins; later ones are not read, and all are dropped.
    let repeated = b"SEND\ncontent-length:1\ncontent-length:x\n\na\0";
    let f = decode(Some(Version::V1_2), repeated).unwrap();
    assert_eq!((f.body.len(), f.headers.len()), (1, 0));
    // Leading zeros are a number; a huge number is over any limit.
    assert_eq!(
        decode(Some(Version::V1_2), b"SEND\ncontent-length:002\n\nab\0")
            .unwrap()
            .body,
        &b"ab"[..]
    );
    let huge = b"SEND\ncontent-length:99999999999999999999999999\n\n";
    assert_eq!(
        decode(Some(Version::V1_2), huge),
        Err(DecodeError::BodyTooLarge {
            max: Limits::DEFAULT.max_body_size
        })
    );
    // Without limits it is only a frame that needs more bytes: what is reserved for it
    // is capped.
    let mut d = Decoder::with_version(Version::V1_2, Limits::UNLIMITED);
    let mut buf = BytesMut::from(&huge[..]);
    assert_eq!(d.decode(&mut buf), Ok(None));
    assert!(buf.capacity() <= MAX_RESERVE + huge.len());
}

#[test]
fn limits_are_checked_before_buffering() {
    let limits = Limits::DEFAULT
        .with_max_body_size(10)
        .with_max_header_line(20);
    let mut d = Decoder::with_version(Version::V1_2, limits);
    // The header alone refuses the body: no need to wait for it.
    let mut buf = BytesMut::from(&b"SEND\ncontent-length:11\n"[..]);
    assert_eq!(
        d.decode(&mut buf),
        Err(DecodeError::BodyTooLarge { max: 10 })
    );
    assert!(buf.capacity() < 1024);
    // A line is refused once it is longer than the limit, with no LF in sight.
    let mut buf = BytesMut::from(&b"SEND\nxxxxxxxxxxxxxxxxxxxxx"[..]);
    assert_eq!(
        d.decode(&mut buf),
        Ok(None),
        "21 bytes could still be 20 and CR"
    );
    buf.extend_from_slice(b"x");
    assert_eq!(
        d.decode(&mut buf),
        Err(DecodeError::HeaderTooLong { max: 20 })
    );
    // A body without content-length is refused once it passes the limit.
    let mut buf = BytesMut::from(&b"SEND\n\n0123456789"[..]);
    assert_eq!(d.decode(&mut buf), Ok(None));
    buf.extend_from_slice(b"a");
    assert_eq!(
        d.decode(&mut buf),
        Err(DecodeError::BodyTooLarge { max: 10 })
    );
    // The same body with its NUL at the limit is fine.
    let mut buf = BytesMut::from(&b"SEND\n\n0123456789\0"[..]);
    assert_eq!(frame(d.decode(&mut buf).unwrap()).body.len(), 10);
}

#[test]
fn frame_size_counts_command_to_nul() {
    let wire = b"SEND\nk:v\n\nbody\0";
    let exact = Limits::DEFAULT.with_max_frame_size(wire.len());
    let mut buf = BytesMut::from(&wire[..]);
    assert!(Decoder::new(exact).decode(&mut buf).unwrap().is_some());
    let less = exact.with_max_frame_size(wire.len() - 1);
    for cut in 0..=wire.len() {
        let mut d = Decoder::new(less);
        let mut buf = BytesMut::from(&wire[..cut]);
        let first = d.decode(&mut buf);
        buf.extend_from_slice(&wire[cut..]);
        let result = first.and_then(|_| d.decode(&mut buf));
        assert_eq!(
            result,
            Err(DecodeError::FrameTooLarge { max: 14 }),
            "cut {cut}"
        );
    }
    // Heart-beats are not frames: no limit applies.
    let mut d = Decoder::new(Limits::DEFAULT.with_max_frame_size(0));
    let mut buf = BytesMut::from(&b"\n\r\n"[..]);
    assert_eq!(d.decode(&mut buf), Ok(Some(Item::HeartBeat)));
    assert_eq!(d.decode(&mut buf), Ok(Some(Item::HeartBeat)));
}

#[test]
fn a_new_buffer_restarts_the_scan() {
    let mut d = Decoder::default();
    let mut buf = BytesMut::from(&b"SEND\nlong-header-line:value"[..]);
    assert_eq!(d.decode(&mut buf), Ok(None));
    let mut other = BytesMut::from(&b"ACK\n\n\0"[..]);
    assert_eq!(frame(d.decode(&mut other).unwrap()).command, Command::Ack);
}

#[test]
fn limits_builders() {
    let l = Limits::UNLIMITED
        .with_max_frame_size(1)
        .with_max_headers(2)
        .with_max_header_line(3)
        .with_max_body_size(4);
    assert_eq!(
        (
            l.max_frame_size,
            l.max_headers,
            l.max_header_line,
            l.max_body_size
        ),
        (1, 2, 3, 4)
    );
    let mut d = Decoder::default();
    assert_eq!(d.limits(), Limits::default());
    d.set_limits(l);
    assert_eq!(d.limits(), l);
    let _ = Bytes::new();
}
