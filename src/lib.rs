//! Switchyard: a multi-protocol messaging edge gateway. MQTT 3.1.1 and 5, STOMP 1.0-1.2
//! and AMQP 0-9-1 clients meet in one routing core.
//!
//! The layers, as data flows: `server` (threads, sockets, the I/O driver) hands bytes to
//! `gateway` (protocol adapters on the sans-IO codecs), which turns packets into `core`
//! operations (routing, sessions, retained messages).
//!
//! Nothing a client sends may panic the gateway: the lints below hold the whole crate to
//! that, as `core` held itself before (tests may, through clippy.toml).

#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

pub mod config;
pub mod core;
pub mod gateway;
pub mod server;
pub mod store;

pub use switchyard_mqtt as mqtt;
