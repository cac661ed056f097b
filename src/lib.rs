//! Switchyard: a multi-protocol messaging edge gateway. MQTT 3.1.1 and 5, STOMP 1.0-1.2
//! and AMQP 0-9-1 clients meet in one routing core.
//!
//! This crate will hold the routing core, the shards and the protocol gateways. So far it
//! re-exports the protocol codecs it is built on.

pub mod core;

pub use switchyard_mqtt as mqtt;
