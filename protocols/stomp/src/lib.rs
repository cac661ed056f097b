//! Sans-IO codec for STOMP 1.0, 1.1 and 1.2.
//!
//! `switchyard-stomp` turns bytes into [`Frame`]s and frames into bytes, for the server
//! side and the client side alike. It reads the frame syntax of each version (command,
//! `name:value` header lines, blank line, body, NUL; LF or CR LF line ends), undoes and
//! applies the header escapes of each version (none in 1.0 and in CONNECT, STOMP and
//! CONNECTED frames; `\n` `\c` `\\` in 1.1; also `\r` in 1.2), delimits bodies by
//! `content-length` or by the first NUL, and enforces size limits before it buffers
//! what breaks them. Every violation is a small `Copy` [`DecodeError`] whose
//! [`message`](DecodeError::message) is the text for the ERROR frame the server sends
//! before it closes the connection.
//!
//! Beside the codec: [`Frame::validate`] checks a decoded frame against the per-version
//! rules a frame can be checked against alone (required headers, bodies only on SEND,
//! MESSAGE and ERROR); [`Versions::negotiate`] and [`HeartBeat::negotiate`] compute the
//! version and the heart-beat intervals of a session from CONNECT and CONNECTED; and
//! [`MessageFrame`], [`ReceiptFrame`], [`ErrorFrame`], [`ConnectedFrame`] and
//! [`FrameWriter`] write the server's frames straight into an output buffer.
//!
//! What it does not do: it never touches a socket or a clock. Heart-beat timers,
//! subscriptions, acknowledgements, transactions and receipts belong to the connection
//! state machine that uses this crate; it tells that machine when a heart-beat arrived
//! ([`Item::HeartBeat`]) and what the intervals are.
//!
//! Decoding is streaming and zero-copy: [`Decoder::decode`] takes a `BytesMut` that may
//! hold half a frame or many, splits one complete frame off it, and returns header names,
//! values and the body as views of that frame's bytes (a header that held an escape is
//! the only copy made). Encoding appends to a caller's `BytesMut`.
//!
//! ```
//! use bytes::BytesMut;
//! use switchyard_stomp::{Command, Decoder, Frame, Item, Limits, Version, Versions};
//!
//! // The server's decoder starts without a version: CONNECT is never escaped.
//! let mut decoder = Decoder::new(Limits::default());
//! let mut input = BytesMut::from(&b"CONNECT\naccept-version:1.1,1.2\nhost:example\n\n\0\n"[..]);
//! let Some(Item::Frame(connect)) = decoder.decode(&mut input)? else { panic!() };
//! let version = Versions::ALL.negotiate(connect.accept_version().map(|v| &**v)).unwrap();
//! assert_eq!(version, Version::V1_2);
//! decoder.set_version(version);
//! assert_eq!(decoder.decode(&mut input)?, Some(Item::HeartBeat));
//!
//! let send = Frame::new(Command::Send)
//!     .with_header("destination", "/queue/a")
//!     .with_header("note", "a:b")
//!     .with_body(&b"hello\0world"[..]);
//! let mut wire = BytesMut::new();
//! send.encode(version, &mut wire)?;
//! assert_eq!(
//!     &wire[..],
//!     b"SEND\ndestination:/queue/a\nnote:a\\cb\ncontent-length:11\n\nhello\0world\0"
//! );
//! assert_eq!(decoder.decode(&mut wire)?, Some(Item::Frame(send)));
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
mod command;
mod error;
mod frame;
mod header;
mod heartbeat;
mod parse;
mod version;
mod writer;

#[cfg(any(test, feature = "arbitrary"))]
pub mod fuzzing;

pub use codec::{Decoder, Item, Limits};
pub use command::Command;
pub use error::{DecodeError, EncodeError};
pub use frame::{AckMode, Frame};
pub use header::{Header, Headers};
pub use heartbeat::{HeartBeat, HeartBeatIntervals};
pub use version::{Version, Versions};
pub use writer::{ConnectedFrame, ErrorFrame, FrameWriter, MessageFrame, ReceiptFrame};

/// Re-exported so that users name the same string type the headers carry.
pub use bytestring::ByteString;
