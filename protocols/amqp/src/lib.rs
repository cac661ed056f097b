//! Sans-IO codec for AMQP 0-9-1, with RabbitMQ's errata and extensions.
//!
//! `switchyard-amqp` turns bytes into typed [`Frame`]s and frames into bytes, for the
//! server side and the client side alike. It reads the protocol header
//! ([`read_protocol_header`]), the four frame types (method, content header, content
//! body, heartbeat) with their frame-end octet, every method of the connection,
//! channel, exchange, queue, basic, confirm and tx classes as a typed struct (one
//! [`Method`] enum over them), field tables with the type letters RabbitMQ uses
//! ([`FieldValue`]), and content headers with the 14 basic properties
//! ([`BasicProperties`]). Frame-max is enforced from the 7-octet frame header, before
//! the payload is buffered; channel-max when set. Every violation is a small `Copy`
//! [`DecodeError`] whose [`reply_code`](DecodeError::reply_code) is the AMQP reply code
//! for the connection.close the server sends.
//!
//! What it does not do: it never touches a socket or a clock. Negotiation (tune /
//! tune-ok, then [`Decoder::set_frame_max`]), heartbeat timers, channel state, content
//! assembly (a method, its header, then body frames adding up to the body size) and
//! acknowledgements belong to the connection state machine that uses this crate.
//!
//! Decoding is streaming and zero-copy: [`Decoder::decode`] takes a `BytesMut` that may
//! hold half a frame or many, splits one frame off it, and returns strings, long
//! strings and bodies as views of that frame's bytes. Encoding appends to a caller's
//! `BytesMut`; [`Encoder::encode_deliver`] writes basic.deliver, its content header
//! and its body frames for the server's hot path.
//!
//! ```
//! use bytes::BytesMut;
//! use switchyard_amqp::{
//!     BasicProperties, BasicPublish, Decoder, Encoder, Frame, Method, ProtocolHeaderStatus,
//!     ShortString, read_protocol_header,
//! };
//!
//! let mut input = BytesMut::from(&b"AMQP\x00\x00\x09\x01"[..]);
//! assert_eq!(read_protocol_header(&mut input), ProtocolHeaderStatus::Accepted);
//!
//! let publish = Method::from(BasicPublish {
//!     exchange: ShortString::from_static("amq.topic"),
//!     routing_key: ShortString::from_static("sensors.1"),
//!     ..Default::default()
//! });
//! let properties = BasicProperties { delivery_mode: Some(2), ..Default::default() };
//! let mut wire = BytesMut::new();
//! Encoder::new().encode_message(1, &publish, &properties, b"21.5", &mut wire)?;
//!
//! let mut decoder = Decoder::new();
//! assert_eq!(decoder.decode(&mut wire)?, Some(Frame::Method { channel: 1, method: publish }));
//! let Some(Frame::Header { header, .. }) = decoder.decode(&mut wire)? else { panic!() };
//! assert_eq!((header.body_size, header.properties), (4, properties));
//! let Some(Frame::Body { body, .. }) = decoder.decode(&mut wire)? else { panic!() };
//! assert_eq!(&body[..], b"21.5");
//! assert_eq!(decoder.decode(&mut wire)?, None);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![forbid(unsafe_code)]
#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

#[macro_use]
mod method;

pub mod capabilities;
mod codec;
mod error;
mod frame;
mod properties;
mod reader;
mod table;
mod types;
mod writer;

#[cfg(any(test, feature = "arbitrary"))]
pub mod fuzzing;

pub use codec::{Decoder, Encoder};
pub use error::{DecodeError, EncodeError, ReplyCode};
pub use frame::{
    FRAME_END, FRAME_MIN_SIZE, FRAME_OVERHEAD, Frame, FrameType, PROTOCOL_HEADER,
    ProtocolHeaderStatus, RawFrame, read_protocol_header,
};
pub use method::*;
pub use properties::{BASIC_CLASS_ID, BasicProperties, ContentHeader};
pub use reader::MAX_NESTING;
pub use table::{FieldTable, FieldValue};
pub use types::{LongString, ShortString};
