//! Writing frames into a caller's `BytesMut`, header first: the server's [`Encoder`]
//! (unmasked), in-place framing of a payload the caller writes ([`PendingFrame`]), and a
//! masking [`ClientEncoder`] for tests and load generators.

use std::num::NonZeroUsize;

use bytes::{BufMut, BytesMut};

use crate::close::CloseCode;
use crate::error::EncodeError;
use crate::frame::{MAX_CONTROL_PAYLOAD, OpCode, apply_mask};

/// The longest frame header: 2 bytes, a 64-bit length and a masking key.
pub const MAX_HEADER_LEN: usize = 14;

/// The length of the header of a frame with `payload_len` bytes of payload.
pub const fn header_len(payload_len: usize, masked: bool) -> usize {
    let len = if payload_len < 126 {
        2
    } else if payload_len <= u16::MAX as usize {
        4
    } else {
        10
    };
    if masked { len + 4 } else { len }
}

/// The header bytes of a frame, and how many of them are used.
fn header_bytes(
    fin: bool,
    opcode: OpCode,
    payload_len: usize,
    mask: Option<[u8; 4]>,
) -> ([u8; MAX_HEADER_LEN], usize) {
    let mut out = [0u8; MAX_HEADER_LEN];
    out[0] = if fin { 0x80 } else { 0 } | opcode.bits();
    let mask_bit = if mask.is_some() { 0x80 } else { 0 };
    let mut len = 2;
    if payload_len < 126 {
        out[1] = mask_bit | payload_len as u8;
    } else if let Ok(short) = u16::try_from(payload_len) {
        out[1] = mask_bit | 126;
        out[2..4].copy_from_slice(&short.to_be_bytes());
        len = 4;
    } else {
        out[1] = mask_bit | 127;
        out[2..10].copy_from_slice(&(payload_len as u64).to_be_bytes());
        len = 10;
    }
    if let Some(mask) = mask {
        if let Some(slot) = out.get_mut(len..len + 4) {
            slot.copy_from_slice(&mask);
        }
        len += 4;
    }
    (out, len)
}

/// Appends a frame header for a payload of `payload_len` bytes, which the caller appends
/// next (masked with `mask` if given: see [`apply_mask`]).
pub fn write_header(
    dst: &mut BytesMut,
    fin: bool,
    opcode: OpCode,
    payload_len: usize,
    mask: Option<[u8; 4]>,
) {
    let (header, len) = header_bytes(fin, opcode, payload_len, mask);
    dst.put_slice(header.get(..len).unwrap_or_default());
}

/// Appends one whole frame; the payload is masked on the way if `mask` is given.
/// Checks nothing: control frames over 125 bytes and unfinished control frames are the
/// caller's to avoid.
pub fn write_frame(
    dst: &mut BytesMut,
    fin: bool,
    opcode: OpCode,
    payload: &[u8],
    mask: Option<[u8; 4]>,
) {
    dst.reserve(header_len(payload.len(), mask.is_some()) + payload.len());
    write_header(dst, fin, opcode, payload.len(), mask);
    let start = dst.len();
    dst.put_slice(payload);
    if let Some(mask) = mask
        && let Some(written) = dst.get_mut(start..)
    {
        apply_mask(written, mask);
    }
}

/// Writes a data message as one frame, or in fragments of at most `fragment_size`
/// bytes (the first with `opcode`, the rest continuations, FIN on the last).
fn write_message(
    dst: &mut BytesMut,
    opcode: OpCode,
    payload: &[u8],
    fragment_size: Option<NonZeroUsize>,
    mut mask: impl FnMut() -> Option<[u8; 4]>,
) {
    let Some(size) = fragment_size.filter(|s| s.get() < payload.len()) else {
        write_frame(dst, true, opcode, payload, mask());
        return;
    };
    let count = payload.len().div_ceil(size.get());
    for (i, fragment) in payload.chunks(size.get()).enumerate() {
        let opcode = if i == 0 { opcode } else { OpCode::Continuation };
        write_frame(dst, i + 1 == count, opcode, fragment, mask());
    }
}

/// The payload of a Close frame: the code in network byte order, then the reason.
fn close_payload(code: Option<CloseCode>, reason: &str) -> Result<([u8; 125], usize), EncodeError> {
    let mut out = [0u8; MAX_CONTROL_PAYLOAD];
    let Some(code) = code else {
        return if reason.is_empty() {
            Ok((out, 0))
        } else {
            Err(EncodeError::ReasonWithoutCode)
        };
    };
    let len = 2 + reason.len();
    let slot = out
        .get_mut(2..len)
        .ok_or(EncodeError::ControlFrameTooLong(len))?;
    slot.copy_from_slice(reason.as_bytes());
    out[..2].copy_from_slice(&code.get().to_be_bytes());
    Ok((out, len))
}

fn check_control(payload: &[u8]) -> Result<(), EncodeError> {
    if payload.len() > MAX_CONTROL_PAYLOAD {
        return Err(EncodeError::ControlFrameTooLong(payload.len()));
    }
    Ok(())
}

/// Writes server-to-client frames, unmasked (section 5.1), optionally fragmenting data
/// messages. Nothing is written when a method fails.
#[derive(Debug, Clone, Copy, Default)]
pub struct Encoder {
    fragment_size: Option<NonZeroUsize>,
}

impl Encoder {
    /// An encoder that writes each message as one frame.
    pub const fn new() -> Self {
        Self {
            fragment_size: None,
        }
    }

    /// An encoder that splits messages into frames of at most `fragment_size` bytes.
    pub const fn fragmented(fragment_size: NonZeroUsize) -> Self {
        Self {
            fragment_size: Some(fragment_size),
        }
    }

    /// Appends a text message.
    pub fn text(&self, text: &str, dst: &mut BytesMut) {
        write_message(
            dst,
            OpCode::Text,
            text.as_bytes(),
            self.fragment_size,
            || None,
        );
    }

    /// Appends a binary message.
    pub fn binary(&self, data: &[u8], dst: &mut BytesMut) {
        write_message(dst, OpCode::Binary, data, self.fragment_size, || None);
    }

    /// Appends a Ping of at most 125 bytes.
    pub fn ping(&self, data: &[u8], dst: &mut BytesMut) -> Result<(), EncodeError> {
        check_control(data)?;
        write_frame(dst, true, OpCode::Ping, data, None);
        Ok(())
    }

    /// Appends a Pong of at most 125 bytes (the payload of the Ping it answers).
    pub fn pong(&self, data: &[u8], dst: &mut BytesMut) -> Result<(), EncodeError> {
        check_control(data)?;
        write_frame(dst, true, OpCode::Pong, data, None);
        Ok(())
    }

    /// Appends a Close frame: empty without a code, else the code and a reason of at most
    /// 123 bytes.
    pub fn close(
        &self,
        code: Option<CloseCode>,
        reason: &str,
        dst: &mut BytesMut,
    ) -> Result<(), EncodeError> {
        let (payload, len) = close_payload(code, reason)?;
        write_frame(
            dst,
            true,
            OpCode::Close,
            payload.get(..len).unwrap_or_default(),
            None,
        );
        Ok(())
    }

    /// Starts a binary message that the caller writes in place: see [`PendingFrame`].
    pub fn begin_binary(&self, payload_len_hint: usize, dst: &mut BytesMut) -> PendingFrame {
        PendingFrame::begin(OpCode::Binary, payload_len_hint, dst)
    }

    /// Starts a text message that the caller writes in place: see [`PendingFrame`].
    pub fn begin_text(&self, payload_len_hint: usize, dst: &mut BytesMut) -> PendingFrame {
        PendingFrame::begin(OpCode::Text, payload_len_hint, dst)
    }
}

/// A server frame whose payload the caller encodes straight into the buffer after the
/// header space this reserves, e.g. an MQTT packet or a STOMP frame, so that the payload
/// is written once and never copied:
///
/// ```
/// use bytes::{BufMut, BytesMut};
/// use switchyard_websocket::Encoder;
///
/// let mut out = BytesMut::new();
/// let frame = Encoder::new().begin_binary(2, &mut out);
/// out.put_slice(b"\xC0\x00"); // an MQTT PINGREQ, encoded in place
/// frame.finish(&mut out)?;
/// assert_eq!(&out[..], b"\x82\x02\xC0\x00");
/// # Ok::<(), switchyard_websocket::EncodeError>(())
/// ```
///
/// The header is 2, 4 or 10 bytes long depending on the payload length (under 126, under
/// 65,536, or more). `begin` reserves room for a payload of the hinted length; when the
/// payload turns out to need a header of another size, [`PendingFrame::finish`] moves it
/// (one copy). Not fragmented.
#[derive(Debug)]
#[must_use = "a pending frame writes its header only in finish()"]
pub struct PendingFrame {
    opcode: OpCode,
    start: usize,
    reserved: usize,
}

impl PendingFrame {
    fn begin(opcode: OpCode, payload_len_hint: usize, dst: &mut BytesMut) -> Self {
        let reserved = header_len(payload_len_hint, false);
        let start = dst.len();
        dst.reserve(reserved + payload_len_hint);
        dst.put_bytes(0, reserved);
        Self {
            opcode,
            start,
            reserved,
        }
    }

    /// Writes the header for everything appended since `begin`. A text payload that is
    /// not UTF-8 is refused and removed, as is the reserved space.
    pub fn finish(self, dst: &mut BytesMut) -> Result<(), EncodeError> {
        let payload_start = self.start + self.reserved;
        let Some(payload_len) = dst.len().checked_sub(payload_start) else {
            dst.truncate(self.start);
            return Err(EncodeError::PendingFrameTruncated);
        };
        if self.opcode == OpCode::Text
            && std::str::from_utf8(dst.get(payload_start..).unwrap_or_default()).is_err()
        {
            dst.truncate(self.start);
            return Err(EncodeError::InvalidUtf8);
        }
        let (header, len) = header_bytes(true, self.opcode, payload_len, None);
        let end = dst.len();
        if len < self.reserved {
            dst.copy_within(payload_start..end, self.start + len);
            dst.truncate(end - (self.reserved - len));
        } else if len > self.reserved {
            let grow = len - self.reserved;
            dst.put_bytes(0, grow);
            dst.copy_within(payload_start..end, payload_start + grow);
        }
        if let (Some(slot), Some(header)) =
            (dst.get_mut(self.start..self.start + len), header.get(..len))
        {
            slot.copy_from_slice(header);
        }
        Ok(())
    }
}

/// Writes client-to-server frames, each masked with a fresh key (section 5.3), for tests
/// and load generators. The keys come from a generator seeded by the caller
/// (SplitMix64): reproducible, but not the unpredictable keys from a strong source of
/// entropy that section 10.3 asks of a client talking through untrusted intermediaries.
#[derive(Debug, Clone)]
pub struct ClientEncoder {
    fragment_size: Option<NonZeroUsize>,
    state: u64,
}

impl ClientEncoder {
    /// An encoder whose masking keys derive from `seed`.
    pub const fn new(seed: u64) -> Self {
        Self {
            fragment_size: None,
            state: seed,
        }
    }

    /// Splits data messages into frames of at most `fragment_size` bytes (`None`: one
    /// frame each).
    pub fn set_fragment_size(&mut self, fragment_size: Option<NonZeroUsize>) {
        self.fragment_size = fragment_size;
    }

    /// The next masking key.
    pub fn next_mask(&mut self) -> [u8; 4] {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        let [a, b, c, d, ..] = z.to_le_bytes();
        [a, b, c, d]
    }

    /// Appends a text message.
    pub fn text(&mut self, text: &str, dst: &mut BytesMut) {
        self.message(OpCode::Text, text.as_bytes(), dst);
    }

    /// Appends a binary message.
    pub fn binary(&mut self, data: &[u8], dst: &mut BytesMut) {
        self.message(OpCode::Binary, data, dst);
    }

    /// Appends a Ping of at most 125 bytes.
    pub fn ping(&mut self, data: &[u8], dst: &mut BytesMut) -> Result<(), EncodeError> {
        check_control(data)?;
        let mask = self.next_mask();
        write_frame(dst, true, OpCode::Ping, data, Some(mask));
        Ok(())
    }

    /// Appends a Pong of at most 125 bytes.
    pub fn pong(&mut self, data: &[u8], dst: &mut BytesMut) -> Result<(), EncodeError> {
        check_control(data)?;
        let mask = self.next_mask();
        write_frame(dst, true, OpCode::Pong, data, Some(mask));
        Ok(())
    }

    /// Appends a Close frame: empty without a code, else the code and a reason of at most
    /// 123 bytes.
    pub fn close(
        &mut self,
        code: Option<CloseCode>,
        reason: &str,
        dst: &mut BytesMut,
    ) -> Result<(), EncodeError> {
        let (payload, len) = close_payload(code, reason)?;
        let mask = self.next_mask();
        write_frame(
            dst,
            true,
            OpCode::Close,
            payload.get(..len).unwrap_or_default(),
            Some(mask),
        );
        Ok(())
    }

    fn message(&mut self, opcode: OpCode, payload: &[u8], dst: &mut BytesMut) {
        let fragment_size = self.fragment_size;
        write_message(dst, opcode, payload, fragment_size, || {
            Some(self.next_mask())
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_lengths() {
        for (len, expected) in [(0, 2), (125, 2), (126, 4), (65_535, 4), (65_536, 10)] {
            assert_eq!(header_len(len, false), expected);
            assert_eq!(header_len(len, true), expected + 4);
            let mut dst = BytesMut::new();
            write_header(&mut dst, true, OpCode::Binary, len, Some([1, 2, 3, 4]));
            assert_eq!(dst.len(), expected + 4);
        }
    }

    #[test]
    fn fragments() {
        let mut dst = BytesMut::new();
        Encoder::fragmented(NonZeroUsize::new(2).unwrap()).text("abcde", &mut dst);
        assert_eq!(&dst[..], b"\x01\x02ab\x00\x02cd\x80\x01e");
        let mut dst = BytesMut::new();
        Encoder::fragmented(NonZeroUsize::new(5).unwrap()).binary(b"abcde", &mut dst);
        assert_eq!(&dst[..], b"\x82\x05abcde");
        let mut dst = BytesMut::new();
        Encoder::fragmented(NonZeroUsize::MIN).binary(b"", &mut dst);
        assert_eq!(&dst[..], b"\x82\x00");
    }

    #[test]
    fn control_frames() {
        let e = Encoder::new();
        let mut dst = BytesMut::new();
        e.close(Some(CloseCode::GOING_AWAY), "bye", &mut dst)
            .unwrap();
        e.close(None, "", &mut dst).unwrap();
        e.ping(b"", &mut dst).unwrap();
        e.pong(&[7; 125], &mut dst).unwrap();
        assert_eq!(&dst[..12], b"\x88\x05\x03\xE9bye\x88\x00\x89\x00\x8A");
        let mut dst = BytesMut::new();
        assert_eq!(
            e.ping(&[0; 126], &mut dst),
            Err(EncodeError::ControlFrameTooLong(126))
        );
        let long = "x".repeat(124);
        assert_eq!(
            e.close(Some(CloseCode::NORMAL_CLOSURE), &long, &mut dst),
            Err(EncodeError::ControlFrameTooLong(126))
        );
        assert_eq!(
            e.close(None, "why", &mut dst),
            Err(EncodeError::ReasonWithoutCode)
        );
        assert!(
            e.close(Some(CloseCode::NORMAL_CLOSURE), &long[..123], &mut dst)
                .is_ok()
        );
        assert_eq!(dst.len(), 127);
    }

    #[test]
    fn pending_frames_of_every_size_class() {
        for hint in [0, 125, 126, 65_535, 65_536] {
            for len in [0, 1, 125, 126, 300, 65_535, 65_536, 70_000] {
                let payload: Vec<u8> = (0..len).map(|i| i as u8).collect();
                let mut out = BytesMut::from(&b"prefix"[..]);
                let frame = Encoder::new().begin_binary(hint, &mut out);
                out.put_slice(&payload);
                frame.finish(&mut out).unwrap();
                let mut expected = BytesMut::from(&b"prefix"[..]);
                Encoder::new().binary(&payload, &mut expected);
                assert!(out == expected, "hint {hint}, length {len}");
            }
        }
    }

    #[test]
    fn pending_text_must_be_utf8() {
        let mut out = BytesMut::from(&b"x"[..]);
        let frame = Encoder::new().begin_text(4, &mut out);
        out.put_slice(b"\xFF");
        assert_eq!(frame.finish(&mut out), Err(EncodeError::InvalidUtf8));
        assert_eq!(&out[..], b"x");
        let frame = Encoder::new().begin_text(4, &mut out);
        out.truncate(0);
        assert_eq!(
            frame.finish(&mut out),
            Err(EncodeError::PendingFrameTruncated)
        );
    }

    #[test]
    fn client_frames_are_masked() {
        let mut e = ClientEncoder::new(7);
        let mut dst = BytesMut::new();
        e.text("Hello", &mut dst);
        assert_eq!(dst[..2], [0x81, 0x85]);
        let mask = [dst[2], dst[3], dst[4], dst[5]];
        let mut payload = dst[6..].to_vec();
        apply_mask(&mut payload, mask);
        assert_eq!(payload, b"Hello");
        assert_ne!(
            ClientEncoder::new(7).next_mask(),
            ClientEncoder::new(8).next_mask()
        );
    }
}
