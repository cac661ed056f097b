//! Protocol adapters: protocol packets in, core operations out, and back.

pub mod mqtt;
pub mod sys;
