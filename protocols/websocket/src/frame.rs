//! Base framing (RFC 6455 section 5.2): opcodes, the frame header, masking, and the
//! streaming [`FrameDecoder`] with its need-more-bytes contract.

use bytes::{Buf, Bytes, BytesMut};

use crate::error::Error;

/// The largest payload a control frame may carry (section 5.5).
pub const MAX_CONTROL_PAYLOAD: usize = 125;

/// A frame's opcode (section 5.2). The reserved opcodes are not representable: the
/// decoder refuses them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OpCode {
    /// 0x0: a further fragment of a text or binary message.
    Continuation,
    /// 0x1: the first (or only) frame of a text message.
    Text,
    /// 0x2: the first (or only) frame of a binary message.
    Binary,
    /// 0x8: Close, a control frame.
    Close,
    /// 0x9: Ping, a control frame.
    Ping,
    /// 0xA: Pong, a control frame.
    Pong,
}

impl OpCode {
    /// The opcode of the low four bits of `bits`, unless reserved.
    pub const fn from_bits(bits: u8) -> Option<Self> {
        Some(match bits & 0x0F {
            0x0 => Self::Continuation,
            0x1 => Self::Text,
            0x2 => Self::Binary,
            0x8 => Self::Close,
            0x9 => Self::Ping,
            0xA => Self::Pong,
            _ => return None,
        })
    }

    /// The four-bit wire value.
    pub const fn bits(self) -> u8 {
        match self {
            Self::Continuation => 0x0,
            Self::Text => 0x1,
            Self::Binary => 0x2,
            Self::Close => 0x8,
            Self::Ping => 0x9,
            Self::Pong => 0xA,
        }
    }

    /// Close, Ping and Pong: at most 125 bytes, never fragmented (section 5.5).
    pub const fn is_control(self) -> bool {
        self.bits() & 0x8 != 0
    }
}

/// Which end of the connection decodes: a server reads masked client frames, a client
/// reads unmasked server frames (section 5.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// Decodes client-to-server frames, which must be masked.
    Server,
    /// Decodes server-to-client frames, which must not be masked.
    Client,
}

/// One frame, unmasked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// FIN: the last frame of its message.
    pub fin: bool,
    /// The opcode.
    pub opcode: OpCode,
    /// The payload, unmasked; a view of the decoder's input buffer.
    pub payload: Bytes,
}

/// A parsed frame header: everything before the payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Header {
    pub(crate) fin: bool,
    pub(crate) opcode: OpCode,
    pub(crate) mask: Option<[u8; 4]>,
    pub(crate) payload_len: u64,
    pub(crate) header_len: usize,
}

impl Header {
    /// Reads a header from the front of `buf` without consuming it; `Ok(None)` if `buf`
    /// ends inside the header. Each rule is checked as soon as the byte it reads is
    /// there, in the order of the bytes, so a bad frame is refused before the rest of it
    /// arrives.
    pub(crate) fn parse(buf: &[u8], role: Role) -> Result<Option<Self>, Error> {
        let Some(&b0) = buf.first() else {
            return Ok(None);
        };
        if b0 & 0x70 != 0 {
            return Err(Error::ReservedBits);
        }
        let opcode = OpCode::from_bits(b0).ok_or(Error::ReservedOpCode(b0 & 0x0F))?;
        let fin = b0 & 0x80 != 0;
        if opcode.is_control() && !fin {
            return Err(Error::FragmentedControlFrame);
        }
        let Some(&b1) = buf.get(1) else {
            return Ok(None);
        };
        let masked = b1 & 0x80 != 0;
        match (role, masked) {
            (Role::Server, false) => return Err(Error::UnmaskedFrame),
            (Role::Client, true) => return Err(Error::MaskedFrame),
            _ => {}
        }
        let len7 = b1 & 0x7F;
        if opcode.is_control() && usize::from(len7) > MAX_CONTROL_PAYLOAD {
            return Err(Error::ControlFrameTooLong(u64::from(len7)));
        }
        let (payload_len, mut header_len) = match len7 {
            126 => {
                let Some(&[hi, lo]) = buf.get(2..4).and_then(|b| b.first_chunk()) else {
                    return Ok(None);
                };
                let len = u16::from_be_bytes([hi, lo]);
                if len < 126 {
                    return Err(Error::NonMinimalLength);
                }
                (u64::from(len), 4)
            }
            127 => {
                let Some(bytes) = buf.get(2..10).and_then(|b| b.first_chunk::<8>()) else {
                    return Ok(None);
                };
                let len = u64::from_be_bytes(*bytes);
                if len >> 63 != 0 {
                    return Err(Error::LengthOverflow);
                }
                if len <= u64::from(u16::MAX) {
                    return Err(Error::NonMinimalLength);
                }
                (len, 10)
            }
            len => (u64::from(len), 2),
        };
        let mask = if masked {
            let Some(key) = buf
                .get(header_len..header_len + 4)
                .and_then(|b| b.first_chunk::<4>())
            else {
                return Ok(None);
            };
            header_len += 4;
            Some(*key)
        } else {
            None
        };
        Ok(Some(Self {
            fin,
            opcode,
            mask,
            payload_len,
            header_len,
        }))
    }

    /// Splits the whole frame off `buf` and returns its unmasked payload; `None` (with
    /// room reserved for the frame) if `buf` does not hold it all yet. The caller has
    /// checked the payload length against its limit.
    pub(crate) fn take_payload(&self, buf: &mut BytesMut) -> Option<Bytes> {
        let payload_len = usize::try_from(self.payload_len).ok()?;
        let frame_len = self.header_len.checked_add(payload_len)?;
        if buf.len() < frame_len {
            buf.reserve(frame_len - buf.len());
            return None;
        }
        let mut frame = buf.split_to(frame_len);
        frame.advance(self.header_len);
        if let Some(mask) = self.mask {
            apply_mask(&mut frame, mask);
        }
        Some(frame.freeze())
    }
}

/// XORs `data` with the masking key, in place (section 5.3); masking and unmasking are
/// the same operation. Eight bytes at a time.
pub fn apply_mask(data: &mut [u8], mask: [u8; 4]) {
    let wide = u64::from_ne_bytes([
        mask[0], mask[1], mask[2], mask[3], mask[0], mask[1], mask[2], mask[3],
    ]);
    let mut chunks = data.chunks_exact_mut(8);
    for chunk in &mut chunks {
        if let Some(bytes) = chunk.first_chunk_mut::<8>() {
            *bytes = (u64::from_ne_bytes(*bytes) ^ wide).to_ne_bytes();
        }
    }
    // Whole chunks are a multiple of 4 bytes long: the tail starts at mask byte 0.
    for (byte, key) in chunks.into_remainder().iter_mut().zip(mask.iter().cycle()) {
        *byte ^= key;
    }
}

/// Splits single frames off a byte stream, unmasking them; checks everything section
/// 5.2 says about one frame, but not how frames form messages (see
/// [`crate::MessageDecoder`], which most callers want).
///
/// The contract of [`FrameDecoder::decode`], after tokio-util's `Decoder`:
/// - `Ok(Some(frame))`: one complete frame was split off the front of the buffer;
/// - `Ok(None)`: the buffer holds no complete frame yet; nothing was consumed, and the
///   buffer has reserved room for the frame whose header it holds;
/// - `Err(_)`: the stream is not valid WebSocket; send a Close frame with
///   [`Error::close_code`] and close the connection.
#[derive(Debug, Clone)]
pub struct FrameDecoder {
    role: Role,
    max_payload_size: usize,
}

impl FrameDecoder {
    /// A decoder for `role` that refuses frames whose payload is over `max_payload_size`
    /// bytes ([`Error::MessageTooBig`]), as soon as their header is read.
    pub fn new(role: Role, max_payload_size: usize) -> Self {
        Self {
            role,
            max_payload_size,
        }
    }

    /// Decodes one frame from the front of `buf`; see the type's documentation.
    pub fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<Frame>, Error> {
        let Some(header) = Header::parse(buf, self.role)? else {
            return Ok(None);
        };
        check_size(header.payload_len, 0, self.max_payload_size)?;
        Ok(header.take_payload(buf).map(|payload| Frame {
            fin: header.fin,
            opcode: header.opcode,
            payload,
        }))
    }
}

/// Refuses a frame of `payload_len` bytes that would take a message of `buffered` bytes
/// over `max`.
pub(crate) fn check_size(payload_len: u64, buffered: usize, max: usize) -> Result<(), Error> {
    let size = payload_len.saturating_add(buffered as u64);
    if size > max as u64 {
        return Err(Error::MessageTooBig { size, max });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server() -> FrameDecoder {
        FrameDecoder::new(Role::Server, 1 << 20)
    }

    #[test]
    fn opcodes() {
        for bits in 0..16u8 {
            match OpCode::from_bits(bits) {
                Some(op) => assert_eq!(op.bits(), bits),
                None => assert!(matches!(bits, 3..=7 | 0xB..=0xF)),
            }
        }
        assert!(OpCode::Ping.is_control() && !OpCode::Continuation.is_control());
    }

    #[test]
    fn mask_matches_the_bytewise_definition() {
        let mask = [0x37, 0xFA, 0x21, 0x3D];
        for len in 0..40 {
            let data: Vec<u8> = (0..len as u8).collect();
            let mut masked = data.clone();
            apply_mask(&mut masked, mask);
            for (i, (&m, &d)) in masked.iter().zip(&data).enumerate() {
                assert_eq!(m, d ^ mask[i % 4]);
            }
            apply_mask(&mut masked, mask);
            assert_eq!(masked, data);
        }
    }

    #[test]
    fn need_more_bytes_consumes_nothing_and_reserves() {
        // A masked binary frame of 300 bytes: 16-bit length.
        let mut wire = vec![0x82, 0xFE, 0x01, 0x2C, 1, 2, 3, 4];
        wire.extend(std::iter::repeat_n(0u8, 300));
        for cut in 0..wire.len() {
            let mut buf = BytesMut::from(&wire[..cut]);
            assert_eq!(server().decode(&mut buf), Ok(None), "cut {cut}");
            assert_eq!(buf.len(), cut);
            if cut >= 8 {
                assert!(buf.capacity() >= wire.len());
            }
        }
        let mut buf = BytesMut::from(&wire[..]);
        buf.extend_from_slice(b"\x89");
        let frame = server().decode(&mut buf).unwrap().unwrap();
        assert_eq!(frame.payload.len(), 300);
        assert_eq!(frame.payload[..4], [1, 2, 3, 4]);
        assert_eq!(&buf[..], b"\x89");
    }

    #[test]
    fn limit_is_checked_from_the_header() {
        let mut d = FrameDecoder::new(Role::Server, 125);
        let mut buf = BytesMut::from(&b"\x82\xFF\x00\x00\x01\x00\x00\x00\x00\x00mask"[..]);
        assert_eq!(
            d.decode(&mut buf),
            Err(Error::MessageTooBig {
                size: 1 << 40,
                max: 125
            })
        );
        assert!(buf.capacity() < 1024);
        let mut buf = BytesMut::from(&b"\x82\xFD\0\0\0\0"[..]);
        assert_eq!(d.decode(&mut buf), Ok(None));
    }

    #[test]
    fn client_role_reads_unmasked_frames() {
        let mut d = FrameDecoder::new(Role::Client, 1024);
        let mut buf = BytesMut::from(&b"\x81\x02hi"[..]);
        let frame = d.decode(&mut buf).unwrap().unwrap();
        assert_eq!(
            (frame.fin, frame.opcode, &frame.payload[..]),
            (true, OpCode::Text, &b"hi"[..])
        );
        let mut buf = BytesMut::from(&b"\x81\x82\0\0\0\0hi"[..]);
        assert_eq!(d.decode(&mut buf), Err(Error::MaskedFrame));
    }
}
