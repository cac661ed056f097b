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
            let task = self.clone().flush_when_released(outbox.clone(), protocol);
            compio::runtime::spawn(task).detach();
        }
    }

    /// Sends the held acknowledgements once nothing is held, unless a message among
    /// them was not stored (the durable log failed): then the connection closes
    /// without them (MQTT 5: DISCONNECT 0x80), and the client sends its unacknowledged
    /// messages again when it reconnects [MQTT-4.4.0-1].
    async fn flush_when_released(self: Rc<Self>, outbox: Rc<Outbox>, protocol: Protocol) {
        if until(pin!(self.pressure.released()), pin!(outbox.closed()))
            .await
            .is_some()
        {
            let acks = std::mem::take(&mut *self.acks.borrow_mut());
            if self.pressure.take_failed() {
                tracing::warn!(
                    "a message was not stored (durable log): closing its publisher's connection without acknowledging it"
                );
                if protocol == Protocol::V5 {
                    let disconnect = Packet::Disconnect(switchyard_mqtt::Disconnect::new(
                        switchyard_mqtt::ReasonCode::UnspecifiedError,
                    ));
                    outbox.push(|buf| disconnect.encode(protocol, buf));
                }
                outbox.close();
            } else {
                outbox.push(|buf| buf.extend_from_slice(&acks));
            }
        }
        self.held_acks.set(0);
        self.flushing.set(false);
    }
}
