//! The logic of Switchyard's fuzz targets, so that it compiles, and is tested, as a
//! library; each target in `fuzz_targets/` is one call into this crate.
//!
//! - [`decode`]: arbitrary bytes into a decoder of one version (or a server-side decoder
//!   that learns the version from CONNECT); the decoder must keep its contract, every
//!   decoded packet must survive encode + decode, and where the stream is split must not
//!   change what comes out.
//! - [`round_trip`]: structured packets from `arbitrary`; encode then decode must give
//!   the same packets, one at a time and as one stream.
//! - [`differential::run`]: our decoder against `mqttbytes`.

use arbitrary::Unstructured;
use bytes::BytesMut;
use switchyard_mqtt::fuzzing::{arbitrary_packet, check_decode_stream, check_structured};
use switchyard_mqtt::{DecodeError, Decoder, Packet, Protocol};

pub mod differential;
pub mod norm;
pub mod seeds;

/// What a decoder made of a stream: the packets, then the error that ended it (if any),
/// and the version it settled on.
type Decoded = (Vec<Packet>, Option<DecodeError>, Option<Protocol>);

/// Decodes `data` fed in two parts split at `cut`, until the decoder needs more bytes or
/// fails.
fn decode_all(data: &[u8], protocol: Option<Protocol>, cut: usize) -> Decoded {
    let mut decoder = match protocol {
        Some(p) => Decoder::with_protocol(p, 1 << 20),
        None => Decoder::new(1 << 20),
    };
    let (head, tail) = data.split_at(cut.min(data.len()));
    let mut buf = BytesMut::new();
    let mut packets = Vec::new();
    for part in [head, tail] {
        buf.extend_from_slice(part);
        loop {
            match decoder.decode(&mut buf) {
                Ok(Some(packet)) => packets.push(packet),
                Ok(None) => break,
                Err(e) => return (packets, Some(e), decoder.protocol()),
            }
        }
    }
    (packets, None, decoder.protocol())
}

/// The decode targets. The first byte selects the decoder and the split: bit 7 set means
/// a server-side decoder (version taken from CONNECT), clear means a decoder of
/// `protocol`; bits 0-6 are the offset at which the rest of the input is split in two.
pub fn decode(data: &[u8], protocol: Protocol) {
    let Some((&selector, stream)) = data.split_first() else {
        return;
    };
    let protocol = (selector & 0x80 == 0).then_some(protocol);
    let cut = usize::from(selector & 0x7F);
    // Contract, and a round trip of every decoded packet.
    check_decode_stream(stream, protocol, cut);
    // Splitting the stream changes nothing.
    let whole = decode_all(stream, protocol, stream.len());
    let split = decode_all(stream, protocol, cut);
    assert!(
        whole == split,
        "splitting the stream at {cut} changed the result:\n  whole: {whole:?}\n  split: {split:?}"
    );
}

/// The round-trip target: [`check_structured`], then packets of one version encoded
/// back to back into one stream, which must decode into them again, wherever it is split.
pub fn round_trip(data: &[u8]) {
    check_structured(data);
    let mut u = Unstructured::new(data);
    let Ok(v5) = u.arbitrary::<bool>() else {
        return;
    };
    let protocol = if v5 { Protocol::V5 } else { Protocol::V311 };
    let Ok(cut) = u.arbitrary::<u16>() else {
        return;
    };
    let mut packets = Vec::new();
    let mut stream = BytesMut::new();
    while !u.is_empty() {
        let Ok(packet) = arbitrary_packet(&mut u, protocol) else {
            break;
        };
        if packet.encode(protocol, &mut stream).is_err() {
            // Only a valid packet over the size limit may fail; check_structured covers
            // the encoding of single packets.
            return;
        }
        packets.push(packet);
    }
    let (decoded, error, _) = decode_all(&stream, Some(protocol), usize::from(cut));
    assert!(
        error.is_none() && decoded == packets,
        "a stream of {} encoded packets decoded to {} (error {error:?})",
        packets.len(),
        decoded.len()
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decode_accepts_a_valid_stream_split_anywhere() {
        let stream = seeds::stream(Protocol::V311);
        for cut in 0..=127u8 {
            let mut input = vec![cut];
            input.extend_from_slice(&stream);
            decode(&input, Protocol::V311);
            input[0] |= 0x80;
            decode(&input, Protocol::V311);
        }
        let (packets, error, _) = decode_all(&stream, None, 7);
        assert_eq!(error, None);
        assert_eq!(packets.len(), seeds::packets(Protocol::V311).len());
    }

    /// `check_structured` returns on any input (it once looped forever, because
    /// `arbitrary` answers with defaults after the end of its input;
    /// regressions/round_trip/check_structured-never-returns).
    #[test]
    fn check_structured_returns() {
        let (done, finished) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for input in [&[][..], &[1, 2, 3], &[0; 64]] {
                check_structured(input);
            }
            let _ = done.send(());
        });
        assert!(
            finished
                .recv_timeout(std::time::Duration::from_secs(10))
                .is_ok(),
            "check_structured did not return within 10 s"
        );
    }

    #[test]
    fn round_trip_on_plain_bytes() {
        for n in 0..64u8 {
            let data: Vec<u8> = (0..512u32)
                .map(|i| (i * 31 + u32::from(n) * 7) as u8)
                .collect();
            round_trip(&data);
        }
    }
}
