//! The packet model, one type per packet for both protocol versions, with each packet's
//! wire code for 3.1.1 and 5.0 in its own file.

mod ack;
mod auth;
mod connack;
mod connect;
mod disconnect;
mod publish;
mod suback;
mod subscribe;
mod unsuback;
mod unsubscribe;

use bytes::{Bytes, BytesMut};

pub use ack::{Ack, AckProperties};
pub use auth::{Auth, AuthProperties};
pub use connack::{ConnAck, ConnAckProperties};
pub use connect::{Connect, ConnectProperties, LastWill, WillProperties};
pub use disconnect::{Disconnect, DisconnectProperties};
pub use publish::{Publish, PublishProperties, PublishPropertiesBox};
pub use suback::SubAck;
pub use subscribe::{Subscribe, SubscribeProperties, Subscription};
pub use unsuback::UnsubAck;
pub use unsubscribe::{Unsubscribe, UnsubscribeProperties};

use crate::codec::MAX_REMAINING_LENGTH;
use crate::error::{DecodeError, EncodeError};
use crate::reader::Reader;
use crate::types::Protocol;
use crate::writer::{Counter, Sink, Writer, varint_len};

/// The control packet type, the high nibble of the first byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PacketType {
    /// 1: client request to connect.
    Connect = 1,
    /// 2: connect acknowledgement.
    ConnAck = 2,
    /// 3: publish message.
    Publish = 3,
    /// 4: publish acknowledgement (QoS 1).
    PubAck = 4,
    /// 5: publish received (QoS 2, part 1).
    PubRec = 5,
    /// 6: publish release (QoS 2, part 2).
    PubRel = 6,
    /// 7: publish complete (QoS 2, part 3).
    PubComp = 7,
    /// 8: subscribe request.
    Subscribe = 8,
    /// 9: subscribe acknowledgement.
    SubAck = 9,
    /// 10: unsubscribe request.
    Unsubscribe = 10,
    /// 11: unsubscribe acknowledgement.
    UnsubAck = 11,
    /// 12: ping request.
    PingReq = 12,
    /// 13: ping response.
    PingResp = 13,
    /// 14: disconnect notification.
    Disconnect = 14,
    /// 15: authentication exchange (MQTT 5 only).
    Auth = 15,
}

impl PacketType {
    /// The packet type of a first byte, checking the flag bits that the standard fixes
    /// for every type but PUBLISH [MQTT-2.2.2-1], [MQTT-2.2.2-2].
    #[inline]
    pub(crate) fn from_header(byte: u8, protocol: Protocol) -> Result<Self, DecodeError> {
        let kind = byte >> 4;
        let flags = byte & 0x0F;
        let packet_type = match kind {
            1 => Self::Connect,
            2 => Self::ConnAck,
            3 => return Ok(Self::Publish),
            4 => Self::PubAck,
            5 => Self::PubRec,
            6 => Self::PubRel,
            7 => Self::PubComp,
            8 => Self::Subscribe,
            9 => Self::SubAck,
            10 => Self::Unsubscribe,
            11 => Self::UnsubAck,
            12 => Self::PingReq,
            13 => Self::PingResp,
            14 => Self::Disconnect,
            15 if protocol == Protocol::V5 => Self::Auth,
            _ => return Err(DecodeError::InvalidPacketType(kind)),
        };
        if flags != packet_type.fixed_flags() {
            return Err(DecodeError::InvalidHeaderFlags);
        }
        Ok(packet_type)
    }

    /// The flag bits of every packet type but PUBLISH: 0b0010 for PUBREL, SUBSCRIBE and
    /// UNSUBSCRIBE, 0 for the rest.
    const fn fixed_flags(self) -> u8 {
        match self {
            Self::PubRel | Self::Subscribe | Self::Unsubscribe => 0b0010,
            _ => 0,
        }
    }
}

/// An MQTT control packet of either protocol version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Packet {
    /// CONNECT.
    Connect(Box<Connect>),
    /// CONNACK (boxed: it is rare, and its properties would make every packet larger).
    ConnAck(Box<ConnAck>),
    /// PUBLISH.
    Publish(Publish),
    /// PUBACK.
    PubAck(Ack),
    /// PUBREC.
    PubRec(Ack),
    /// PUBREL.
    PubRel(Ack),
    /// PUBCOMP.
    PubComp(Ack),
    /// SUBSCRIBE.
    Subscribe(Subscribe),
    /// SUBACK.
    SubAck(SubAck),
    /// UNSUBSCRIBE.
    Unsubscribe(Unsubscribe),
    /// UNSUBACK.
    UnsubAck(UnsubAck),
    /// PINGREQ.
    PingReq,
    /// PINGRESP.
    PingResp,
    /// DISCONNECT.
    Disconnect(Disconnect),
    /// AUTH (MQTT 5 only; boxed like CONNACK).
    Auth(Box<Auth>),
}

impl Packet {
    /// The packet's type.
    pub fn packet_type(&self) -> PacketType {
        match self {
            Self::Connect(_) => PacketType::Connect,
            Self::ConnAck(_) => PacketType::ConnAck,
            Self::Publish(_) => PacketType::Publish,
            Self::PubAck(_) => PacketType::PubAck,
            Self::PubRec(_) => PacketType::PubRec,
            Self::PubRel(_) => PacketType::PubRel,
            Self::PubComp(_) => PacketType::PubComp,
            Self::Subscribe(_) => PacketType::Subscribe,
            Self::SubAck(_) => PacketType::SubAck,
            Self::Unsubscribe(_) => PacketType::Unsubscribe,
            Self::UnsubAck(_) => PacketType::UnsubAck,
            Self::PingReq => PacketType::PingReq,
            Self::PingResp => PacketType::PingResp,
            Self::Disconnect(_) => PacketType::Disconnect,
            Self::Auth(_) => PacketType::Auth,
        }
    }

    /// Decodes the body of one packet whose first byte is `header`.
    #[inline]
    pub(crate) fn decode(header: u8, body: Bytes, protocol: Protocol) -> Result<Self, DecodeError> {
        let packet_type = PacketType::from_header(header, protocol)?;
        if packet_type == PacketType::Publish {
            // The payload is the rest of the body: PUBLISH takes the body itself.
            return Publish::decode(header, body, protocol);
        }
        let mut r = Reader::new(&body);
        let packet = match packet_type {
            PacketType::Connect => Self::Connect(Box::new(Connect::decode(&mut r)?)),
            PacketType::ConnAck => Self::ConnAck(Box::new(ConnAck::decode(&mut r, protocol)?)),
            // Not reached: PUBLISH is decoded above, from the body itself.
            PacketType::Publish => {
                return Publish::decode(header, body.clone(), protocol);
            }
            PacketType::PubAck => Self::PubAck(Ack::decode(&mut r, protocol, packet_type)?),
            PacketType::PubRec => Self::PubRec(Ack::decode(&mut r, protocol, packet_type)?),
            PacketType::PubRel => Self::PubRel(Ack::decode(&mut r, protocol, packet_type)?),
            PacketType::PubComp => Self::PubComp(Ack::decode(&mut r, protocol, packet_type)?),
            PacketType::Subscribe => Self::Subscribe(Subscribe::decode(&mut r, protocol)?),
            PacketType::SubAck => Self::SubAck(SubAck::decode(&mut r, protocol)?),
            PacketType::Unsubscribe => Self::Unsubscribe(Unsubscribe::decode(&mut r, protocol)?),
            PacketType::UnsubAck => Self::UnsubAck(UnsubAck::decode(&mut r, protocol)?),
            PacketType::PingReq => Self::PingReq,
            PacketType::PingResp => Self::PingResp,
            PacketType::Disconnect => Self::Disconnect(Disconnect::decode(&mut r, protocol)?),
            PacketType::Auth => Self::Auth(Box::new(Auth::decode(&mut r)?)),
        };
        r.finish()?;
        Ok(packet)
    }

    /// Encodes the packet for `protocol`, appending it to `buf`, with no size limit but
    /// the protocol's own. See [`Packet::encode_limited`].
    pub fn encode(&self, protocol: Protocol, buf: &mut BytesMut) -> Result<(), EncodeError> {
        self.encode_limited(protocol, buf, MAX_REMAINING_LENGTH as usize + 5)
    }

    /// Encodes the packet for `protocol`, appending it to `buf`, unless the whole packet
    /// would exceed `max_packet_size` (the peer's Maximum Packet Size). On error, `buf` is
    /// unchanged.
    ///
    /// Encoding for MQTT 3.1.1 leaves out what 3.1.1 cannot express: properties, reason
    /// codes of PUBACK/PUBREC/PUBREL/PUBCOMP, UNSUBACK and DISCONNECT; SUBACK failure codes
    /// become 0x80 and CONNACK reason codes the nearest return code
    /// ([`crate::ReasonCode::to_v3_connack`]). AUTH cannot be encoded for 3.1.1.
    pub fn encode_limited(
        &self,
        protocol: Protocol,
        buf: &mut BytesMut,
        max_packet_size: usize,
    ) -> Result<(), EncodeError> {
        let first = self.check(protocol)?;
        // One dispatch on the packet type; each arm is its own copy of `Frame::encode`,
        // in which that packet's body writer inlines.
        let frame = Frame {
            first,
            protocol,
            max_packet_size,
        };
        match self {
            Self::Connect(p) => frame.encode(&**p, buf),
            Self::ConnAck(p) => frame.encode(&**p, buf),
            Self::Publish(p) => frame.encode(p, buf),
            Self::PubAck(p) | Self::PubRec(p) | Self::PubRel(p) | Self::PubComp(p) => {
                frame.encode(p, buf)
            }
            Self::Subscribe(p) => frame.encode(p, buf),
            Self::SubAck(p) => frame.encode(p, buf),
            Self::Unsubscribe(p) => frame.encode(p, buf),
            Self::UnsubAck(p) => frame.encode(p, buf),
            Self::PingReq | Self::PingResp => frame.encode(&NoBody, buf),
            Self::Disconnect(p) => frame.encode(p, buf),
            Self::Auth(p) => frame.encode(&**p, buf),
        }
    }

    /// Checks what the body writers assume, and returns the first byte.
    fn check(&self, protocol: Protocol) -> Result<u8, EncodeError> {
        let packet_type = self.packet_type();
        let flags = match self {
            Self::Publish(p) => p.check(protocol)?,
            Self::Subscribe(p) if p.subscriptions.is_empty() => return Err(EncodeError::NoEntries),
            Self::SubAck(p) if p.reason_codes.is_empty() => return Err(EncodeError::NoEntries),
            Self::SubAck(p) => {
                p.check(protocol)?;
                0
            }
            Self::Unsubscribe(p) if p.filters.is_empty() => return Err(EncodeError::NoEntries),
            Self::UnsubAck(p) => {
                p.check(protocol)?;
                0
            }
            Self::Auth(_) if protocol == Protocol::V311 => return Err(EncodeError::NotInProtocol),
            _ => packet_type.fixed_flags(),
        };
        if let Some(code) = self.reason_code()
            && protocol == Protocol::V5
            && !crate::ReasonCode::allowed_in(packet_type).contains(&code)
        {
            return Err(EncodeError::InvalidReasonCode);
        }
        Ok((packet_type as u8) << 4 | flags)
    }

    fn reason_code(&self) -> Option<crate::ReasonCode> {
        match self {
            Self::ConnAck(p) => Some(p.reason_code),
            Self::PubAck(p) | Self::PubRec(p) | Self::PubRel(p) | Self::PubComp(p) => {
                Some(p.reason_code)
            }
            Self::Disconnect(p) => Some(p.reason_code),
            Self::Auth(p) => Some(p.reason_code),
            _ => None,
        }
    }
}

/// What a packet's fixed header and size limit need.
struct Frame {
    /// The first byte: packet type and flags.
    first: u8,
    protocol: Protocol,
    max_packet_size: usize,
}

impl Frame {
    /// Writes the fixed header and the body, unless the packet is too large: the body
    /// is written into a [`Counter`] first, for its length.
    #[inline]
    fn encode<B: Body + ?Sized>(&self, body: &B, buf: &mut BytesMut) -> Result<(), EncodeError> {
        let mut counter = Counter::default();
        body.write_body(self.protocol, &mut counter);
        if counter.too_long {
            return Err(EncodeError::FieldTooLong);
        }
        let body_len = counter.len;
        let size = 1 + varint_len(u32::try_from(body_len).unwrap_or(u32::MAX)) + body_len;
        if body_len > MAX_REMAINING_LENGTH as usize || size > self.max_packet_size {
            return Err(EncodeError::PacketTooLarge {
                size,
                max: self.max_packet_size.min(MAX_REMAINING_LENGTH as usize + 5),
            });
        }
        buf.reserve(size);
        let mut writer = Writer::new(buf, counter.property_lens());
        // The length was bounded by MAX_REMAINING_LENGTH just above.
        writer.put_fixed_header(self.first, body_len as u32);
        body.write_body(self.protocol, &mut writer);
        Ok(())
    }
}

/// A packet body: the variable header and the payload.
trait Body {
    fn write_body<S: Sink>(&self, protocol: Protocol, s: &mut S);
}

/// The empty body of PINGREQ and PINGRESP.
struct NoBody;

impl Body for NoBody {
    #[inline]
    fn write_body<S: Sink>(&self, _: Protocol, _: &mut S) {}
}

/// Bodies whose writers take the protocol version.
macro_rules! versioned_bodies {
    ($($packet:ty),*) => {
        $(
            impl Body for $packet {
                #[inline]
                fn write_body<S: Sink>(&self, protocol: Protocol, s: &mut S) {
                    self.write(protocol, s);
                }
            }
        )*
    };
}

versioned_bodies!(
    ConnAck,
    Publish,
    Ack,
    Subscribe,
    SubAck,
    Unsubscribe,
    UnsubAck,
    Disconnect
);

/// CONNECT carries its own version.
impl Body for Connect {
    #[inline]
    fn write_body<S: Sink>(&self, _: Protocol, s: &mut S) {
        self.write(s);
    }
}

/// AUTH exists in MQTT 5 only.
impl Body for Auth {
    #[inline]
    fn write_body<S: Sink>(&self, _: Protocol, s: &mut S) {
        self.write(s);
    }
}
