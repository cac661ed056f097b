//! Framing: the streaming [`Decoder`] and its need-more-bytes contract.

use bytes::{Buf, BytesMut};

use crate::error::DecodeError;
use crate::packet::{Connect, Packet};
use crate::reader::decode_varint;
use crate::types::Protocol;

/// The largest remaining length the four-byte variable byte integer can express.
pub const MAX_REMAINING_LENGTH: u32 = 268_435_455;

/// Splits MQTT packets off a byte stream.
///
/// The contract of [`Decoder::decode`], after tokio-util's `Decoder`:
/// - `Ok(Some(packet))`: one complete packet was split off the front of the buffer;
/// - `Ok(None)`: the buffer holds no complete packet yet; nothing was consumed, and the
///   buffer has reserved room for the packet whose header it holds;
/// - `Err(_)`: the stream is not valid MQTT; close the connection (after telling the peer
///   [`DecodeError::reason_code`]).
///
/// A server-side decoder starts without a protocol version and takes the one of the
/// first packet, which must be CONNECT; a client-side decoder is given its version.
#[derive(Debug, Clone)]
pub struct Decoder {
    protocol: Option<Protocol>,
    max_packet_size: u32,
}

impl Decoder {
    /// A server-side decoder: the first packet must be CONNECT, which sets the version.
    /// Packets larger than `max_packet_size` bytes (fixed header included) are refused.
    pub fn new(max_packet_size: u32) -> Self {
        Self {
            protocol: None,
            max_packet_size,
        }
    }

    /// A decoder for a known protocol version (client side, or a server that has already
    /// seen CONNECT).
    pub fn with_protocol(protocol: Protocol, max_packet_size: u32) -> Self {
        Self {
            protocol: Some(protocol),
            max_packet_size,
        }
    }

    /// The protocol version, once known. After a CONNECT fails to decode this is still
    /// set when its protocol level could be read, so that the server can answer in the
    /// client's version.
    pub fn protocol(&self) -> Option<Protocol> {
        self.protocol
    }

    /// The maximum packet size this decoder accepts.
    pub fn max_packet_size(&self) -> u32 {
        self.max_packet_size
    }

    /// Changes the maximum packet size for the packets to come.
    pub fn set_max_packet_size(&mut self, max_packet_size: u32) {
        self.max_packet_size = max_packet_size;
    }

    /// Decodes one packet from the front of `buf`; see the type's documentation.
    pub fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<Packet>, DecodeError> {
        let (header, remaining, header_len) = match buf.as_ref() {
            // A remaining length under 128 takes one byte: every small packet.
            &[header, len, ..] if len < 0x80 => (header, usize::from(len), 2),
            [header, rest @ ..] => match decode_varint(rest)? {
                Some((remaining, len_bytes)) => (*header, remaining as usize, 1 + len_bytes),
                None => return Ok(None),
            },
            [] => return Ok(None),
        };
        let size = header_len + remaining;
        if size > self.max_packet_size as usize {
            return Err(DecodeError::PacketTooLarge {
                size,
                max: self.max_packet_size,
            });
        }
        if buf.len() < size {
            buf.reserve(size - buf.len());
            return Ok(None);
        }
        let protocol = match self.protocol {
            Some(protocol) => protocol,
            None => self.first_protocol(header, buf.get(header_len..size))?,
        };
        // One split for the whole packet, then skip the fixed header on the frozen view
        // (cheaper than advancing the `BytesMut` first and splitting after).
        let mut body = buf.split_to(size).freeze();
        body.advance(header_len);
        Ok(Some(Packet::decode(header, body, protocol)?))
    }

    /// The protocol version of a server-side decoder's first packet, which must be
    /// CONNECT; remembered even if the CONNECT then fails to decode.
    #[cold]
    fn first_protocol(&mut self, header: u8, body: Option<&[u8]>) -> Result<Protocol, DecodeError> {
        if header >> 4 != 1 {
            return Err(DecodeError::ExpectedConnect);
        }
        let protocol = Connect::peek_protocol(body.unwrap_or_default());
        self.protocol = protocol;
        // A CONNECT of an unknown version fails inside Connect::decode, which reads the
        // version itself; the value returned is then unused.
        Ok(protocol.unwrap_or(Protocol::V5))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Packet, Protocol};

    #[test]
    fn need_more_bytes_consumes_nothing() {
        let mut d = Decoder::with_protocol(Protocol::V311, 1024);
        let mut buf = BytesMut::from(&b"\x30\x07\x00\x03a/b"[..]);
        assert_eq!(d.decode(&mut buf), Ok(None));
        assert_eq!(buf.len(), 7);
        assert!(buf.capacity() >= 9);
        buf.extend_from_slice(b"hi\xC0");
        assert!(matches!(d.decode(&mut buf), Ok(Some(Packet::Publish(_)))));
        assert_eq!(&buf[..], b"\xC0");
        assert_eq!(d.decode(&mut buf), Ok(None));
        buf.extend_from_slice(b"\x00\xD0\x00");
        assert_eq!(d.decode(&mut buf), Ok(Some(Packet::PingReq)));
        assert_eq!(d.decode(&mut buf), Ok(Some(Packet::PingResp)));
        assert!(buf.is_empty());
    }

    #[test]
    fn every_split_of_a_stream_decodes_the_same() {
        let stream: &[u8] =
            b"\x10\x0C\x00\x04MQTT\x04\x02\x00\x3C\x00\x00\x82\x06\x00\x01\x00\x01a\x01\xC0\x00";
        for cut in 0..=stream.len() {
            let mut d = Decoder::new(1024);
            let mut buf = BytesMut::new();
            let mut packets = Vec::new();
            for part in [&stream[..cut], &stream[cut..]] {
                buf.extend_from_slice(part);
                while let Some(p) = d.decode(&mut buf).unwrap() {
                    packets.push(p.packet_type());
                }
            }
            assert_eq!(packets.len(), 3, "cut at {cut}");
            assert!(buf.is_empty());
        }
    }

    #[test]
    fn maximum_packet_size_is_checked_from_the_header() {
        let mut d = Decoder::with_protocol(Protocol::V5, 100);
        // A header announcing 192 MiB is refused at once, with nothing buffered.
        let mut buf = BytesMut::from(&b"\x30\xFF\xFF\xFF\x5F"[..]);
        assert_eq!(
            d.decode(&mut buf),
            Err(DecodeError::PacketTooLarge {
                size: 201_326_596,
                max: 100
            })
        );
        assert!(buf.capacity() < 1024);
        let mut buf = BytesMut::from(&b"\x30\x62"[..]); // 2 + 98 = 100 bytes: allowed
        assert_eq!(d.decode(&mut buf), Ok(None));
        let mut buf = BytesMut::from(&b"\x30\x63"[..]); // 101 bytes
        assert!(matches!(
            d.decode(&mut buf),
            Err(DecodeError::PacketTooLarge { size: 101, .. })
        ));
    }

    #[test]
    fn first_packet_must_be_connect() {
        let mut d = Decoder::new(1024);
        assert_eq!(
            d.decode(&mut BytesMut::from(&b"\xC0\x00"[..])),
            Err(DecodeError::ExpectedConnect)
        );
    }

    #[test]
    fn a_broken_connect_still_tells_its_version() {
        let mut d = Decoder::new(1024);
        // MQTT 5 CONNECT whose properties hold an unknown property 0x7F.
        let mut buf = BytesMut::from(&b"\x10\x0D\x00\x04MQTT\x05\x02\x00\x3C\x01\x7F\x00\x00"[..]);
        assert_eq!(d.decode(&mut buf), Err(DecodeError::UnknownProperty(0x7F)));
        assert_eq!(d.protocol(), Some(Protocol::V5));
    }

    #[test]
    fn remaining_length_errors() {
        let mut d = Decoder::with_protocol(Protocol::V311, u32::MAX);
        let mut buf = BytesMut::from(&b"\x30\x80\x80\x80\x80\x01"[..]);
        assert_eq!(
            d.decode(&mut buf),
            Err(DecodeError::MalformedVariableInteger)
        );
        let mut buf = BytesMut::from(&b"\xC0\x80\x00"[..]);
        assert_eq!(
            d.decode(&mut buf),
            Err(DecodeError::NonMinimalVariableInteger)
        );
    }
}
