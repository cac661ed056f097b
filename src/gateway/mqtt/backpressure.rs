//! Backpressure on a publishing client: while a subscriber holds this client's QoS 1/2
//! messages over its queue limit, the PUBACKs and PUBRECs for what it publishes are
//! held back (in order), so that the client's own inflight window (our Receive Maximum)
//! stops it. It keeps reading meanwhile: its acks for what it receives still arrive, so
//! two clients that publish to each other cannot deadlock. A client that ignores its
//! window is stopped by no longer reading from it.

use std::cell::{Cell, RefCell};
use std::pin::pin;
use std::rc::Rc;
use std::sync::Arc;

use bytes::BytesMut;
use switchyard_mqtt::{Packet, Protocol};

use crate::core::message::Pressure;
use crate::server::outbox::{Outbox, until};

/// One publishing connection's gauge and its held-back acknowledgements.
#[derive(Debug, Default)]
pub(super) struct Backpressure {
    pressure: Arc<Pressure>,
    acks: RefCell<BytesMut>,
    held_acks: Cell<usize>,
    flushing: Cell<bool>,
}

impl Backpressure {
    /// A gauge with nothing held.
    pub(super) fn new() -> Rc<Self> {
        Rc::new(Self::default())
    }

    /// The gauge that travels with this client's messages.
    pub(super) fn pressure(&self) -> &Arc<Pressure> {
        &self.pressure
    }

    /// Acknowledgements waiting for the subscribers to catch up.
    pub(super) fn held_acks(&self) -> usize {
        self.held_acks.get()
    }

    /// Whether messages are held over a limit now.
    pub(super) fn is_held(&self) -> bool {
        self.pressure.held() > 0
    }

    /// Sends an acknowledgement now, or after the acks already held and only once no
    /// subscriber holds this client's messages over its limit.
    pub(super) fn acknowledge(
        self: &Rc<Self>,
        outbox: &Rc<Outbox>,
        protocol: Protocol,
        ack: &Packet,
    ) {
        if self.held_acks.get() == 0 && !self.is_held() {
            outbox.push(|buf| ack.encode(protocol, buf));
            return;
        }
        if ack.encode(protocol, &mut self.acks.borrow_mut()).is_ok() {
            self.held_acks.set(self.held_acks.get() + 1);
        }
        if !self.flushing.replace(true) {
            compio::runtime::spawn(self.clone().flush_when_released(outbox.clone())).detach();
        }
    }

    async fn flush_when_released(self: Rc<Self>, outbox: Rc<Outbox>) {
        if until(pin!(self.pressure.released()), pin!(outbox.closed()))
            .await
            .is_some()
        {
            let acks = std::mem::take(&mut *self.acks.borrow_mut());
            outbox.push(|buf| buf.extend_from_slice(&acks));
        }
        self.held_acks.set(0);
        self.flushing.set(false);
    }
}
