//! Protocol adapters: protocol packets in, core operations out, and back.

pub mod amqp;
pub mod mqtt;
pub mod stomp;
pub mod sys;
pub mod websocket;

use std::rc::Rc;
use std::sync::Arc;

use crate::core::shard::Shard;
use crate::server::worker::Shared;

/// What every connection of a shard shares, whatever its protocol.
pub struct GatewayContext {
    pub(crate) shard: Rc<Shard>,
    pub(crate) shared: Arc<Shared>,
    next_conn: std::cell::Cell<u64>,
}

impl GatewayContext {
    /// The context of one shard.
    pub fn new(shard: Rc<Shard>, shared: Arc<Shared>) -> Self {
        Self {
            shard,
            shared,
            next_conn: std::cell::Cell::new(0),
        }
    }

    /// The process-wide shared state.
    pub fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }

    pub(crate) fn conn_id(&self) -> u64 {
        let id = self.next_conn.get() + 1;
        self.next_conn.set(id);
        id
    }
}
