//! The routing core: protocol-agnostic subscription matching, queues and sessions.
//!
//! Nothing in here reads a socket or a clock, and nothing may panic on what a client sent:
//! the lints below hold that line, as fjall's crate root does.

#![forbid(unsafe_code)]
#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

pub mod durable;
pub mod exchange;
pub mod mapping;
pub mod message;
pub mod queue;
pub mod retained;
pub mod session;
pub mod shard;
pub mod stats;
pub mod topic;
