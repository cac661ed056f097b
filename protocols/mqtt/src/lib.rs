//! Sans-IO codec for MQTT 3.1.1 and MQTT 5.0.
//!
//! `switchyard-mqtt` turns bytes into typed [`Packet`]s and packets into bytes, for the
//! server side and the client side alike. It validates every normative statement of the
//! two OASIS standards that a codec can check on its own (fixed-header flags, the
//! remaining-length encoding, UTF-8 rules, topic name and topic filter syntax, packet
//! identifiers, properties and the packets they may appear in, reason codes, will and
//! login flags) and reports each violation as a typed [`DecodeError`] that maps to the
//! [`ReasonCode`] the peer must be told.
//!
//! What it does not do: it never touches a socket, a clock or a routing table. Rules that
//! span packets (packet-identifier reuse, receive maximum, topic aliases, keep-alive, the
//! CONNECT-first rule beyond the first packet) belong to the connection state machines
//! that use this crate.
//!
//! Decoding is streaming and zero-copy: [`Decoder::decode`] takes a `BytesMut` that may
//! hold half a packet or many, splits one complete packet off it, and returns topics,
//! strings and payloads as views of that packet's bytes. The maximum packet size is
//! checked as soon as the fixed header is read, before anything is allocated. Encoding
//! appends to a caller's `BytesMut`.
//!
//! ```
//! use bytes::{Bytes, BytesMut};
//! use switchyard_mqtt::{Decoder, Packet, Protocol, Publish, QoS, TopicName};
//!
//! let publish = Publish::new(TopicName::new("sensors/1/temp")?, QoS::AtMostOnce, Bytes::from_static(b"21.5"));
//! let mut wire = BytesMut::new();
//! Packet::Publish(publish.clone()).encode(Protocol::V5, &mut wire)?;
//!
//! let mut decoder = Decoder::with_protocol(Protocol::V5, 1024 * 1024);
//! assert_eq!(decoder.decode(&mut wire)?, Some(Packet::Publish(publish)));
//! assert!(wire.is_empty());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![forbid(unsafe_code)]
#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod codec;
mod error;
pub mod packet;
mod properties;
mod reader;
mod reason;
mod scan;
mod types;
mod writer;

#[cfg(any(test, feature = "arbitrary"))]
pub mod fuzzing;

pub use codec::{Decoder, MAX_REMAINING_LENGTH};
pub use error::{DecodeError, EncodeError};
pub use packet::{
    Ack, AckProperties, Auth, AuthProperties, ConnAck, ConnAckProperties, Connect,
    ConnectProperties, Disconnect, DisconnectProperties, LastWill, Packet, PacketType, Publish,
    PublishProperties, PublishPropertiesBox, SubAck, Subscribe, SubscribeProperties, Subscription,
    UnsubAck, Unsubscribe, UnsubscribeProperties, WillProperties,
};
pub use reason::ReasonCode;
pub use types::{
    PacketId, PayloadFormat, Protocol, QoS, RetainHandling, SubscriptionOptions, TopicFilter,
    TopicName, UserProperties,
};

/// Re-exported so that users name the same string type the packets carry.
pub use bytestring::ByteString;
