//! The seed corpus of the `decode_websocket` fuzz target, built by this crate's encoders:
//! upgrade requests (valid, pipelined, refused) and frame streams for each mode of
//! [`super::check_fuzz_input`].
//!
//! `cargo test -p switchyard-websocket --features arbitrary -- --ignored write_seeds`
//! rewrites `fuzz/seeds/decode_websocket/`; a plain `cargo test` checks that the
//! committed seeds are the ones this file generates, and that each passes the target.

use bytes::{BufMut, BytesMut};

use crate::close::CloseCode;
use crate::encode::{ClientEncoder, Encoder, write_frame};
use crate::frame::OpCode;
use crate::response::write_request;

/// The RFC 6455 section 1.3 sample request.
pub const RFC_REQUEST: &[u8] = b"GET /chat HTTP/1.1\r\nHost: server.example.com\r\n\
    Upgrade: websocket\r\nConnection: Upgrade\r\n\
    Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nOrigin: http://example.com\r\n\
    Sec-WebSocket-Protocol: chat, superchat\r\nSec-WebSocket-Version: 13\r\n\r\n";

/// The RFC 6455 section 5.7 masked text frame "Hello".
pub const RFC_MASKED_HELLO: &[u8] = b"\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58";

fn seed(mode: u8, cut: u16, body: &[u8]) -> Vec<u8> {
    let mut out = vec![mode];
    out.extend_from_slice(&cut.to_le_bytes());
    out.extend_from_slice(body);
    out
}

/// A client's frames: every kind, a fragmented message with a Ping inside, 16-bit lengths.
fn client_frames() -> Vec<u8> {
    let mut out = BytesMut::from(RFC_MASKED_HELLO);
    let mut client = ClientEncoder::new(1);
    client.text("hello, wörld", &mut out);
    client.binary(&[0xAB; 300], &mut out);
    write_frame(&mut out, false, OpCode::Text, b"frag", Some([1, 2, 3, 4]));
    write_frame(
        &mut out,
        true,
        OpCode::Ping,
        b"in between",
        Some([5, 6, 7, 8]),
    );
    write_frame(
        &mut out,
        true,
        OpCode::Continuation,
        b"mented",
        Some([9, 9, 9, 9]),
    );
    let _ = client.ping(b"ping", &mut out);
    let _ = client.pong(b"", &mut out);
    let _ = client.close(Some(CloseCode::GOING_AWAY), "shutting down", &mut out);
    out.to_vec()
}

/// Every seed, by file name.
pub fn seeds() -> Vec<(&'static str, Vec<u8>)> {
    let mut stomp = BytesMut::new();
    write_request(
        "gw.example:15674",
        "/stomp?vhost=%2F",
        "AQIDBAUGBwgJCgsMDQ4PEA==",
        &["v12.stomp", "v11.stomp"],
        Some("https://app.example"),
        &mut stomp,
    );
    ClientEncoder::new(2).text("CONNECT\naccept-version:1.2\nhost:/\n\n\0", &mut stomp);

    let mut mqtt =
        BytesMut::from(&b"GET ws://gw.example/mqtt HTTP/1.1\r\nhost: gw.example\r\n"[..]);
    mqtt.put_slice(b"connection: keep-alive, Upgrade\r\nupgrade: WebSocket\r\n");
    mqtt.put_slice(b"sec-websocket-protocol: mqttv3.1\r\nsec-websocket-protocol: mqtt\r\n");
    mqtt.put_slice(b"sec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\n");
    mqtt.put_slice(b"sec-websocket-version: 13\r\n\r\n");
    ClientEncoder::new(3).binary(b"\x10\x0C\x00\x04MQTT\x04\x02\x00\x3C\x00\x00", &mut mqtt);

    let old_version = String::from_utf8_lossy(RFC_REQUEST).replace("Version: 13", "Version: 8");

    let mut rfc_then_frames = RFC_REQUEST.to_vec();
    rfc_then_frames.extend(client_frames());

    // Section 5.7, as a server sends them: unmasked text, fragmented text, a 256-byte
    // binary message; then a close.
    let mut server = BytesMut::from(&b"\x81\x05Hello\x01\x03Hel\x80\x02lo"[..]);
    server.put_slice(b"\x82\x7E\x01\x00");
    server.put_bytes(0x5A, 256);
    let _ = Encoder::new().close(Some(CloseCode::NORMAL_CLOSURE), "", &mut server);

    let mut invalid = BytesMut::new();
    write_frame(
        &mut invalid,
        true,
        OpCode::Text,
        b"\xCE\xBA\xE1\xBD",
        Some([0; 4]),
    );
    write_frame(&mut invalid, true, OpCode::Close, b"\x03\xED", Some([0; 4]));

    let structured = |n: u32| -> Vec<u8> {
        (0..600u32)
            .map(|i| (i.wrapping_mul(2_654_435_761).wrapping_add(n * 97) >> 13) as u8)
            .collect()
    };

    vec![
        ("handshake-rfc-1.3", seed(0, 40, RFC_REQUEST)),
        ("handshake-rfc-then-frames", seed(0, 230, &rfc_then_frames)),
        ("handshake-stomp", seed(0, 7, &stomp)),
        ("handshake-mqtt-absolute-form", seed(0, 100, &mqtt)),
        ("handshake-version-8", seed(0, 0, old_version.as_bytes())),
        ("server-decoder-frames", seed(1, 11, &client_frames())),
        ("server-decoder-invalid", seed(1, 3, &invalid)),
        ("client-decoder-rfc-5.7", seed(2, 5, &server)),
        ("round-trip-1", seed(3, 0, &structured(1))),
        ("round-trip-2", seed(3, 0, &structured(2))),
        ("round-trip-3", seed(3, 0, &structured(3))),
    ]
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::fuzzing::check_fuzz_input;

    fn seed_dir() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/seeds/decode_websocket")
    }

    #[test]
    fn every_seed_passes_the_target() {
        for (name, data) in seeds() {
            println!("{name}");
            check_fuzz_input(&data);
        }
    }

    /// The committed seeds are the ones this file generates (when `fuzz/` is there).
    #[test]
    fn committed_seeds_are_current() {
        let dir = seed_dir();
        if !dir.is_dir() {
            return;
        }
        let mut expected: Vec<String> = seeds().iter().map(|(n, _)| n.to_string()).collect();
        expected.sort();
        let mut found: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        found.sort();
        assert_eq!(found, expected, "run the ignored test write_seeds");
        for (name, data) in seeds() {
            assert_eq!(std::fs::read(dir.join(name)).unwrap(), data, "seed {name}");
        }
    }

    #[test]
    #[ignore = "rewrites fuzz/seeds/decode_websocket"]
    fn write_seeds() {
        let dir = seed_dir();
        if dir.is_dir() {
            std::fs::remove_dir_all(&dir).unwrap();
        }
        std::fs::create_dir_all(&dir).unwrap();
        for (name, data) in seeds() {
            std::fs::write(dir.join(name), data).unwrap();
        }
    }
}
