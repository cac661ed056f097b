//! Sans-IO codec for WebSocket (RFC 6455), server side first.
//!
//! `switchyard-websocket` carries MQTT and STOMP over WebSocket: it reads the client's
//! HTTP/1.1 upgrade request ([`RequestDecoder`], [`Request`]), writes the `101` answer
//! or an error response, then turns the client's frames into [`Message`]s
//! ([`MessageDecoder`]) and messages into frames ([`Encoder`]). It checks every rule of
//! the RFC that a codec can check on its own (section 4.2.1 for the handshake; sections
//! 5 and 7.4 for frames: reserved bits and opcodes, masking, minimal lengths, control
//! frame limits, fragmentation, UTF-8 of text and close reasons, close codes) and
//! reports each violation as a typed error that names the HTTP status
//! ([`HandshakeError::status`]) or the close code ([`Error::close_code`]) the peer must
//! be told.
//!
//! What it does not do: it never touches a socket, a clock or a random number generator.
//! It negotiates no extension (no permessage-deflate: RSV bits are refused), and leaves
//! to the caller the routing by path, the subprotocol policy, the Origin policy, the
//! closing handshake's timing (answer a Close, then close the connection) and
//! keep-alive pings. A client's masking keys are drawn from a seed the caller passes
//! ([`ClientEncoder`]).
//!
//! Decoding is streaming and zero-copy: [`MessageDecoder::decode`] takes a `BytesMut`
//! that may hold half a frame or many, unmasks each frame in place and returns its
//! payload as a view of the buffer; only a fragmented message is copied, once, into one
//! buffer. The maximum message size is checked from each frame header, before the
//! payload is buffered. Encoding appends to a caller's `BytesMut`, header first; a
//! payload can be encoded in place after a reserved header ([`PendingFrame`]).
//!
//! ```
//! use bytes::{Bytes, BytesMut};
//! use switchyard_websocket::{ClientEncoder, Encoder, Message, MessageDecoder, RequestDecoder};
//!
//! // The opening handshake, with the client's first frame sent right behind it.
//! let mut input = BytesMut::new();
//! switchyard_websocket::write_request("gw.example", "/mqtt", "dGhlIHNhbXBsZSBub25jZQ==", &["mqtt"], None, &mut input);
//! let mut client = ClientEncoder::new(42);
//! client.binary(b"\x10\x0C\x00\x04MQTT\x04\x02\x00\x3C\x00\x00", &mut input);
//!
//! let request = RequestDecoder::default().decode(&mut input)?.expect("a whole request");
//! assert_eq!(request.path(), "/mqtt");
//! let protocol = request.choose_subprotocol(&["mqtt"]);
//! let mut output = BytesMut::new();
//! request.write_accept(protocol, &mut output)?;
//!
//! // Frames: what was left in the buffer is the client's first message.
//! let mut decoder = MessageDecoder::server(1 << 20);
//! let Some(Message::Binary(packet)) = decoder.decode(&mut input)? else { panic!() };
//! assert_eq!(packet[0], 0x10);
//! Encoder::new().binary(b"\x20\x02\x00\x00", &mut output); // CONNACK
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![forbid(unsafe_code)]
#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod base64;
mod close;
mod encode;
mod error;
mod frame;
mod handshake;
mod message;
mod response;

#[cfg(any(test, feature = "arbitrary"))]
pub mod fuzzing;

pub use close::CloseCode;
pub use encode::{
    ClientEncoder, Encoder, MAX_HEADER_LEN, PendingFrame, header_len, write_frame, write_header,
};
pub use error::{EncodeError, Error, HandshakeError, SubprotocolNotOffered};
pub use frame::{Frame, FrameDecoder, MAX_CONTROL_PAYLOAD, OpCode, Role, apply_mask};
pub use handshake::{DEFAULT_MAX_REQUEST_SIZE, MAX_HEADERS, Request, RequestDecoder};
pub use message::{Message, MessageDecoder};
pub use response::{
    Status, WEBSOCKET_GUID, accept_key, choose_subprotocol, encode_key, write_error_response,
    write_request,
};
