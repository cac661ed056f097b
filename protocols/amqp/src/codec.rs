//! The streaming [`Decoder`] (framing, frame-max and channel-max, the need-more-bytes
//! contract) and the [`Encoder`] (frames into a caller's buffer, bodies split by
//! frame-max, and the delivery hot path).

use bytes::{BufMut, BytesMut};

use crate::error::{DecodeError, EncodeError};
use crate::frame::{FRAME_END, FRAME_MIN_SIZE, FRAME_OVERHEAD, Frame, FrameType, RawFrame};
use crate::method::{BasicDeliver, Method};
use crate::properties::{BasicProperties, ContentHeader, encode_header};
use crate::writer::{Writer, patch_u32};

/// Octets before a frame's payload: type, channel, size.
const FRAME_HEADER: usize = 7;

/// Splits AMQP frames off a byte stream.
///
/// The contract of [`Decoder::decode`], after tokio-util's `Decoder`:
/// - `Ok(Some(frame))`: one frame was split off the front of the buffer;
/// - `Ok(None)`: the buffer holds no complete frame yet and nothing was consumed (once
///   the 7-octet frame header is in, the buffer has reserved room for the frame);
/// - `Err(_)`: the stream is not valid AMQP 0-9-1; send connection.close with
///   [`DecodeError::reply_code`] and close.
///
/// The frame header is checked before the payload is buffered: a frame larger than
/// frame-max, an unknown frame type and a channel above channel-max fail as soon as
/// its 7 octets are in. The protocol header is read first, with
/// [`read_protocol_header`](crate::read_protocol_header).
#[derive(Debug, Clone)]
pub struct Decoder {
    frame_max: u32,
    channel_max: u16,
}

impl Decoder {
    /// A decoder for a new connection: frame-max [`FRAME_MIN_SIZE`] (the limit until
    /// tune-ok), no channel-max.
    pub const fn new() -> Self {
        Self {
            frame_max: FRAME_MIN_SIZE,
            channel_max: 0,
        }
    }

    /// The frame-max in force (whole frame, header and frame-end included; 0: none).
    pub const fn frame_max(&self) -> u32 {
        self.frame_max
    }

    /// Sets the frame-max negotiated by connection.tune / tune-ok (0: no limit but the
    /// 32-bit size field).
    pub const fn set_frame_max(&mut self, frame_max: u32) {
        self.frame_max = frame_max;
    }

    /// The channel-max in force (0: none, channels up to 65535).
    pub const fn channel_max(&self) -> u16 {
        self.channel_max
    }

    /// Sets the channel-max negotiated by connection.tune / tune-ok; frames on a
    /// higher channel are then [`DecodeError::ChannelTooHigh`].
    pub const fn set_channel_max(&mut self, channel_max: u16) {
        self.channel_max = channel_max;
    }

    /// Splits one frame off `buf` and parses it (see the type's documentation).
    pub fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<Frame>, DecodeError> {
        match self.decode_raw(buf)? {
            Some(raw) => raw.parse().map(Some),
            None => Ok(None),
        }
    }

    /// Splits one frame off `buf` without parsing its payload.
    pub fn decode_raw(&mut self, buf: &mut BytesMut) -> Result<Option<RawFrame>, DecodeError> {
        let Some(&[kind, c0, c1, s0, s1, s2, s3]) = buf.first_chunk::<FRAME_HEADER>() else {
            return Ok(None);
        };
        let frame_type = FrameType::from_octet(kind).ok_or(DecodeError::UnknownFrameType(kind))?;
        let channel = u16::from_be_bytes([c0, c1]);
        if self.channel_max != 0 && channel > self.channel_max {
            return Err(DecodeError::ChannelTooHigh {
                channel,
                max: self.channel_max,
            });
        }
        let payload = u32::from_be_bytes([s0, s1, s2, s3]);
        let size = u64::from(payload) + FRAME_OVERHEAD as u64;
        if self.frame_max != 0 && size > u64::from(self.frame_max) {
            return Err(DecodeError::FrameTooLarge {
                size,
                max: self.frame_max,
            });
        }
        // A u32 payload plus 8 fits in usize on every 64-bit target; on a 32-bit one a
        // frame that large cannot be buffered anyway.
        let size = usize::try_from(size).map_err(|_| DecodeError::FrameTooLarge {
            size,
            max: self.frame_max,
        })?;
        if buf.len() < size {
            buf.reserve(size - buf.len());
            return Ok(None);
        }
        let end = buf.get(size - 1).copied().unwrap_or(FRAME_END);
        if end != FRAME_END {
            return Err(DecodeError::InvalidFrameEnd(end));
        }
        let mut frame = buf.split_to(size);
        frame.truncate(size - 1);
        let payload = frame.split_off(FRAME_HEADER).freeze();
        Ok(Some(RawFrame {
            frame_type,
            channel,
            payload,
        }))
    }
}

impl Default for Decoder {
    fn default() -> Self {
        Self::new()
    }
}

/// Writes frames into a caller's `BytesMut`, never more than frame-max octets each.
///
/// Every `encode_*` method appends whole frames or, on error, nothing: a frame that
/// fails is cut off the buffer again.
#[derive(Debug, Clone)]
pub struct Encoder {
    frame_max: u32,
}

impl Encoder {
    /// An encoder for a new connection: frame-max [`FRAME_MIN_SIZE`].
    pub const fn new() -> Self {
        Self {
            frame_max: FRAME_MIN_SIZE,
        }
    }

    /// The frame-max in force (0: none).
    pub const fn frame_max(&self) -> u32 {
        self.frame_max
    }

    /// Sets the negotiated frame-max (0: no limit but the 32-bit size field).
    pub const fn set_frame_max(&mut self, frame_max: u32) {
        self.frame_max = frame_max;
    }

    /// The largest body slice one body frame carries: frame-max - 8.
    pub const fn max_body_payload(&self) -> usize {
        if self.frame_max == 0 {
            u32::MAX as usize
        } else {
            (self.frame_max as usize).saturating_sub(FRAME_OVERHEAD)
        }
    }

    /// Writes the client's protocol header.
    pub fn encode_protocol_header(buf: &mut BytesMut) {
        buf.put_slice(&crate::PROTOCOL_HEADER);
    }

    /// Writes a heartbeat frame.
    pub fn encode_heartbeat(buf: &mut BytesMut) {
        buf.put_slice(&[FrameType::Heartbeat as u8, 0, 0, 0, 0, 0, 0, FRAME_END]);
    }

    /// Writes one frame. A body frame is not split: its body must fit frame-max.
    pub fn encode(&self, frame: &Frame, buf: &mut BytesMut) -> Result<(), EncodeError> {
        match frame {
            Frame::Method { channel, method } => self.encode_method(*channel, method, buf),
            Frame::Header { channel, header } => self.encode_header(*channel, header, buf),
            Frame::Body { channel, body } => self.frame(buf, FrameType::Body, *channel, |w| {
                w.bytes(body);
                Ok(())
            }),
            Frame::Heartbeat => {
                Self::encode_heartbeat(buf);
                Ok(())
            }
        }
    }

    /// Writes a method frame.
    pub fn encode_method(
        &self,
        channel: u16,
        method: &Method,
        buf: &mut BytesMut,
    ) -> Result<(), EncodeError> {
        self.frame(buf, FrameType::Method, channel, |w| {
            method.encode_payload(w)
        })
    }

    /// Writes a content header frame.
    pub fn encode_header(
        &self,
        channel: u16,
        header: &ContentHeader,
        buf: &mut BytesMut,
    ) -> Result<(), EncodeError> {
        self.frame(buf, FrameType::Header, channel, |w| header.encode(w))
    }

    /// Writes a body as body frames of at most frame-max - 8 octets each (none for an
    /// empty body).
    pub fn encode_body(
        &self,
        channel: u16,
        body: &[u8],
        buf: &mut BytesMut,
    ) -> Result<(), EncodeError> {
        if body.is_empty() {
            return Ok(());
        }
        let max = self.max_body_payload();
        if max == 0 {
            return Err(EncodeError::FrameTooLarge {
                size: FRAME_OVERHEAD + 1,
                max: self.frame_max,
            });
        }
        buf.reserve(body.len() + body.len().div_ceil(max) * FRAME_OVERHEAD);
        for chunk in body.chunks(max) {
            let Ok(len) = u32::try_from(chunk.len()) else {
                return Err(EncodeError::TooLong);
            };
            buf.put_u8(FrameType::Body as u8);
            buf.put_u16(channel);
            buf.put_u32(len);
            buf.put_slice(chunk);
            buf.put_u8(FRAME_END);
        }
        Ok(())
    }

    /// Writes a content-carrying method (basic.publish, .return, .deliver, .get-ok),
    /// its content header and its body frames.
    pub fn encode_message(
        &self,
        channel: u16,
        method: &Method,
        properties: &BasicProperties,
        body: &[u8],
        buf: &mut BytesMut,
    ) -> Result<(), EncodeError> {
        if !method.has_content() {
            return Err(EncodeError::NoContent);
        }
        let start = buf.len();
        buf.reserve(body.len() + 256);
        let result = self
            .encode_method(channel, method, buf)
            .and_then(|()| self.encode_content(channel, properties, body, buf));
        if result.is_err() {
            buf.truncate(start);
        }
        result
    }

    /// The server's hot path: basic.deliver, content header and body frames, written
    /// straight from borrowed parts with one reservation and no allocation of its own.
    pub fn encode_deliver(
        &self,
        channel: u16,
        deliver: &BasicDeliver,
        properties: &BasicProperties,
        body: &[u8],
        buf: &mut BytesMut,
    ) -> Result<(), EncodeError> {
        let start = buf.len();
        let max = self.max_body_payload().max(1);
        buf.reserve(
            FRAME_OVERHEAD * 2
                + 24
                + deliver.consumer_tag.len()
                + deliver.exchange.len()
                + deliver.routing_key.len()
                + 128
                + body.len()
                + body.len().div_ceil(max) * FRAME_OVERHEAD,
        );
        let result = self
            .frame(buf, FrameType::Method, channel, |w| {
                w.u16(BasicDeliver::CLASS_ID);
                w.u16(BasicDeliver::METHOD_ID);
                deliver.encode_fields(w)
            })
            .and_then(|()| self.encode_content(channel, properties, body, buf));
        if result.is_err() {
            buf.truncate(start);
        }
        result
    }

    /// Content header and body frames for `body`.
    fn encode_content(
        &self,
        channel: u16,
        properties: &BasicProperties,
        body: &[u8],
        buf: &mut BytesMut,
    ) -> Result<(), EncodeError> {
        self.frame(buf, FrameType::Header, channel, |w| {
            encode_header(w, 0, body.len() as u64, properties)
        })?;
        self.encode_body(channel, body, buf)
    }

    /// Writes one frame whose payload `payload` writes; checks frame-max, patches the
    /// size in, or cuts the frame off again on error.
    #[inline]
    fn frame(
        &self,
        buf: &mut BytesMut,
        frame_type: FrameType,
        channel: u16,
        payload: impl FnOnce(&mut Writer<'_>) -> Result<(), EncodeError>,
    ) -> Result<(), EncodeError> {
        let start = buf.len();
        buf.put_u8(frame_type as u8);
        buf.put_u16(channel);
        buf.put_u32(0);
        let result = payload(&mut Writer::new(buf)).and_then(|()| {
            let size = buf.len() - start + 1;
            if self.frame_max != 0 && size > self.frame_max as usize {
                return Err(EncodeError::FrameTooLarge {
                    size,
                    max: self.frame_max,
                });
            }
            let len = u32::try_from(size - FRAME_OVERHEAD).map_err(|_| EncodeError::TooLong)?;
            patch_u32(buf, start + 3, len);
            buf.put_u8(FRAME_END);
            Ok(())
        });
        if result.is_err() {
            buf.truncate(start);
        }
        result
    }
}

impl Default for Encoder {
    fn default() -> Self {
        Self::new()
    }
}
