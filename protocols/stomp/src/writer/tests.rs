use super::*;
use crate::{DecodeError, Decoder, Frame, Item, Limits, Versions};

fn decode(version: Version, wire: &[u8]) -> Frame {
    let mut buf = BytesMut::from(wire);
    match Decoder::with_version(version, Limits::DEFAULT).decode(&mut buf) {
        Ok(Some(Item::Frame(f))) if buf.is_empty() => f,
        other => panic!("{other:?}"),
    }
}

#[test]
fn message_frame() {
    let extra = [
        Header::from_static("content-type", "text/plain"),
        Header::from_static("destination", "/ignored"),
        Header::from_static("content-length", "99"),
        Header::from_static("x-user", "a:b"),
    ];
    let message = MessageFrame {
        destination: "/queue/a",
        message_id: "007",
        subscription: "0",
        ack: Some("m-7"),
        headers: &extra,
        body: b"hello queue a",
    };
    let mut buf = BytesMut::new();
    message.encode(Version::V1_2, &mut buf).unwrap();
    assert_eq!(
        &buf[..],
        &b"MESSAGE\ndestination:/queue/a\nmessage-id:007\nsubscription:0\nack:m-7\n\
           content-type:text/plain\nx-user:a\\cb\ncontent-length:13\n\nhello queue a\0"[..]
    );
    let f = decode(Version::V1_2, &buf);
    assert_eq!(f.validate(Version::V1_2), Ok(()));
    assert_eq!(f.header("x-user").unwrap(), "a:b");
    // One reservation covers the frame.
    let mut buf = BytesMut::new();
    message.encode(Version::V1_2, &mut buf).unwrap();
    let capacity = buf.capacity();
    assert!(capacity >= buf.len());
    // Equal to the Frame encoder's output for the same frame.
    let frame = Frame::new(Command::Message)
        .with_header("destination", "/queue/a")
        .with_header("message-id", "007")
        .with_header("subscription", "0")
        .with_header("ack", "m-7")
        .with_header("content-type", "text/plain")
        .with_header("x-user", "a:b")
        .with_body(&b"hello queue a"[..]);
    let mut expected = BytesMut::new();
    frame.encode(Version::V1_2, &mut expected).unwrap();
    assert_eq!(buf, expected);
}

#[test]
fn receipt_error_connected() {
    let mut buf = BytesMut::new();
    ReceiptFrame { receipt_id: "77" }
        .encode(Version::V1_2, &mut buf)
        .unwrap();
    assert_eq!(&buf[..], b"RECEIPT\nreceipt-id:77\n\n\0");

    let mut buf = BytesMut::new();
    let versions = [Header::from_static(
        "version",
        Versions::ALL.as_header_value(),
    )];
    ErrorFrame {
        message: DecodeError::MissingHeader("destination").message(),
        receipt_id: Some("r:1"),
        content_type: Some("text/plain"),
        headers: &versions,
        body: b"no destination",
    }
    .encode(Version::V1_1, &mut buf)
    .unwrap();
    assert_eq!(
        &buf[..],
        &b"ERROR\nmessage:required header missing\nreceipt-id:r\\c1\ncontent-type:text/plain\n\
           version:1.0,1.1,1.2\ncontent-length:14\n\nno destination\0"[..]
    );
    let mut buf = BytesMut::new();
    ErrorFrame {
        message: "bye",
        ..ErrorFrame::default()
    }
    .encode(Version::V1_0, &mut buf)
    .unwrap();
    assert_eq!(&buf[..], b"ERROR\nmessage:bye\n\n\0");

    let mut buf = BytesMut::new();
    ConnectedFrame {
        version: Version::V1_2,
        heart_beat: Some(HeartBeat::new(u32::MAX, 10_000)),
        session: Some("s-1"),
        server: Some("switchyard/0.1 a:b"),
    }
    .encode(&mut buf)
    .unwrap();
    assert_eq!(
        &buf[..],
        &b"CONNECTED\nversion:1.2\nheart-beat:4294967295,10000\nsession:s-1\n\
           server:switchyard/0.1 a:b\n\n\0"[..]
    );
    let connected = decode(Version::V1_2, &buf);
    assert_eq!(connected.heart_beat(), Ok(HeartBeat::new(u32::MAX, 10_000)));
}

#[test]
fn a_refused_frame_leaves_the_buffer_as_it_was() {
    let mut buf = BytesMut::from(&b"before"[..]);
    let result = ConnectedFrame {
        version: Version::V1_2,
        heart_beat: None,
        session: Some("a\nb"),
        server: None,
    }
    .encode(&mut buf);
    assert_eq!(result, Err(EncodeError::UnencodableOctet(b'\n')));
    assert_eq!(&buf[..], b"before");
    let result = MessageFrame {
        destination: "/q",
        message_id: "1",
        subscription: "s",
        ack: None,
        headers: &[Header::from_static("bad", "cr\r")],
        body: b"",
    }
    .encode(Version::V1_1, &mut buf);
    assert_eq!(result, Err(EncodeError::UnencodableOctet(b'\r')));
    assert_eq!(&buf[..], b"before");
    {
        let mut w = FrameWriter::new(Command::Send, Version::V1_2, &mut buf);
        w.header("destination", "/q");
        // Dropped without finish.
    }
    assert_eq!(&buf[..], b"before");
    let mut w = FrameWriter::new(Command::Send, Version::V1_2, &mut buf);
    w.header("", "x").header("destination", "/q");
    assert_eq!(w.finish(b""), Err(EncodeError::EmptyHeaderName));
    assert_eq!(&buf[..], b"before");
}

#[test]
fn writer_numbers_and_skips() {
    let mut buf = BytesMut::new();
    let mut w = FrameWriter::new(Command::Message, Version::V1_0, &mut buf);
    w.header_u64("message-id", u64::MAX)
        .header_u64("n", 0)
        .header("content-length", "5");
    w.finish(b"").unwrap();
    assert_eq!(
        &buf[..],
        b"MESSAGE\nmessage-id:18446744073709551615\nn:0\n\n\0"
    );
}
