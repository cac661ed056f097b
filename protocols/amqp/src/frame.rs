//! Frames (spec 4.2.3): type, channel, payload size, payload, frame-end; the protocol
//! header that opens a connection; and the per-frame channel rules.

use bytes::{Bytes, BytesMut};

use crate::error::DecodeError;
use crate::method::{Method, class};
use crate::properties::ContentHeader;

/// The protocol header a 0-9-1 client sends first, and a server answers a wrong header
/// with (spec 4.2.2).
pub const PROTOCOL_HEADER: [u8; 8] = *b"AMQP\x00\x00\x09\x01";

/// The octet that ends every frame.
pub const FRAME_END: u8 = 0xCE;

/// The smallest frame-max a peer may negotiate, and the frame-max in force until
/// connection.tune-ok (the spec's `FRAME_MIN_SIZE`).
pub const FRAME_MIN_SIZE: u32 = 4096;

/// Octets of a frame around its payload: type, channel, size (7) and frame-end (1).
pub const FRAME_OVERHEAD: usize = 8;

/// The frame types of 0-9-1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum FrameType {
    /// 1: a method.
    Method = 1,
    /// 2: a content header.
    Header = 2,
    /// 3: a slice of a content body.
    Body = 3,
    /// 8: a heartbeat.
    Heartbeat = 8,
}

impl FrameType {
    /// The frame type with this octet.
    pub const fn from_octet(octet: u8) -> Option<Self> {
        Some(match octet {
            1 => Self::Method,
            2 => Self::Header,
            3 => Self::Body,
            8 => Self::Heartbeat,
            _ => return None,
        })
    }
}

/// A decoded frame.
#[derive(Debug, Clone, PartialEq, Eq)]
#[expect(
    clippy::large_enum_variant,
    reason = "a content header follows every message: moving ~400 octets is cheaper than a Box per message"
)]
pub enum Frame {
    /// A method frame.
    Method {
        /// Channel; 0 for the connection class, another for every other class.
        channel: u16,
        /// The method.
        method: Method,
    },
    /// A content header frame (after basic.publish, .deliver, .return, .get-ok).
    Header {
        /// Channel, never 0.
        channel: u16,
        /// The header.
        header: ContentHeader,
    },
    /// A content body frame, a view of the input.
    Body {
        /// Channel, never 0.
        channel: u16,
        /// A slice of the body, at most frame-max - 8 octets.
        body: Bytes,
    },
    /// A heartbeat (channel 0, no payload).
    Heartbeat,
}

impl Frame {
    /// The frame's channel (0 for a heartbeat).
    pub const fn channel(&self) -> u16 {
        match self {
            Self::Method { channel, .. }
            | Self::Header { channel, .. }
            | Self::Body { channel, .. } => *channel,
            Self::Heartbeat => 0,
        }
    }
}

/// A frame split off the stream but not parsed: what [`Decoder::decode_raw`] gives,
/// for a proxy that forwards content without looking at it.
///
/// [`Decoder::decode_raw`]: crate::Decoder::decode_raw
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawFrame {
    /// The frame type.
    pub frame_type: FrameType,
    /// The channel.
    pub channel: u16,
    /// The payload (a view of the input).
    pub payload: Bytes,
}

impl RawFrame {
    /// Parses the payload and checks the channel rules RabbitMQ applies to single
    /// frames: heartbeats on channel 0 without payload, content frames not on channel
    /// 0, connection methods only on channel 0 and other methods never on it.
    pub fn parse(self) -> Result<Frame, DecodeError> {
        let channel = self.channel;
        match self.frame_type {
            FrameType::Method => {
                let method = Method::decode_payload(&self.payload)?;
                let class_id = method.class_id();
                if class_id == class::CONNECTION && channel != 0 {
                    return Err(DecodeError::ConnectionMethodOnChannel(channel));
                }
                if class_id != class::CONNECTION && channel == 0 {
                    return Err(DecodeError::ChannelMethodOnChannelZero {
                        class_id,
                        method_id: method.method_id(),
                    });
                }
                Ok(Frame::Method { channel, method })
            }
            FrameType::Header => {
                if channel == 0 {
                    return Err(DecodeError::ContentOnChannelZero);
                }
                let header = ContentHeader::decode(&self.payload)?;
                Ok(Frame::Header { channel, header })
            }
            FrameType::Body => {
                if channel == 0 {
                    return Err(DecodeError::ContentOnChannelZero);
                }
                Ok(Frame::Body {
                    channel,
                    body: self.payload,
                })
            }
            FrameType::Heartbeat => {
                if !self.payload.is_empty() {
                    return Err(DecodeError::InvalidHeartbeat);
                }
                if channel != 0 {
                    return Err(DecodeError::HeartbeatOnChannel(channel));
                }
                Ok(Frame::Heartbeat)
            }
        }
    }
}

/// What the first octets of a connection say (spec 4.2.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProtocolHeaderStatus {
    /// Fewer than 8 octets, all matching so far: read more. Nothing was consumed.
    Incomplete,
    /// `AMQP 0 0 9 1`: the 8 octets were consumed; frames follow.
    Accepted,
    /// Anything else (another version, another protocol): the server must write
    /// [`PROTOCOL_HEADER`] and close the socket. Decided as soon as an octet differs;
    /// nothing was consumed.
    Rejected,
}

/// Checks the protocol header at the front of `buf` (server side), consuming it if it
/// is AMQP 0-9-1.
pub fn read_protocol_header(buf: &mut BytesMut) -> ProtocolHeaderStatus {
    let n = buf.len().min(PROTOCOL_HEADER.len());
    if buf.get(..n) != PROTOCOL_HEADER.get(..n) {
        return ProtocolHeaderStatus::Rejected;
    }
    if n < PROTOCOL_HEADER.len() {
        return ProtocolHeaderStatus::Incomplete;
    }
    let _ = buf.split_to(PROTOCOL_HEADER.len());
    ProtocolHeaderStatus::Accepted
}
