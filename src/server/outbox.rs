//! A connection's outbound buffer: frames are encoded straight into it by whoever
//! produces them (the connection itself, or a fan-out on the shard), and the writer
//! task takes everything that accumulated in one go, so writes batch naturally.

use std::cell::{Cell, RefCell};
use std::future::{Future, poll_fn};
use std::pin::Pin;
use std::task::{Poll, Waker};

use bytes::BytesMut;

/// Runs `work` until it completes or `stop` does; `None` when stopped first. `work` is
/// dropped unfinished in that case (compio cancels an I/O operation that is dropped).
/// The caller pins both (`std::pin::pin!`): taking them by value would store them twice
/// in every connection's task.
pub fn until<'a, T>(
    mut work: Pin<&'a mut impl Future<Output = T>>,
    mut stop: Pin<&'a mut impl Future<Output = ()>>,
) -> impl Future<Output = Option<T>> + 'a {
    poll_fn(move |cx| {
        if let Poll::Ready(value) = work.as_mut().poll(cx) {
            return Poll::Ready(Some(value));
        }
        match stop.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        }
    })
}

/// Buffers larger than this are not kept for reuse once drained.
const KEEP_CAPACITY: usize = 64 * 1024;

/// The outbound side of one connection. Single-threaded, shared by `Rc`.
#[derive(Default)]
pub struct Outbox {
    buf: RefCell<BytesMut>,
    /// Transport frames written as they are (a WebSocket Pong or Close), before `buf`.
    control: RefCell<BytesMut>,
    waker: Cell<Option<Waker>>,
    /// The reader, waiting for the close that ends the connection.
    close_waker: Cell<Option<Waker>>,
    closing: Cell<bool>,
    dead: Cell<bool>,
}

impl Outbox {
    /// An empty outbox.
    pub fn new() -> Self {
        Self::default()
    }

    /// Bytes waiting to be written.
    pub fn backlog(&self) -> usize {
        self.buf.borrow().len()
    }

    /// Whether the connection can no longer be written to.
    pub fn is_dead(&self) -> bool {
        self.dead.get() || self.closing.get()
    }

    /// Appends frames with `encode` and wakes the writer. Nothing is written once the
    /// outbox is closing or dead.
    pub fn push<R>(&self, encode: impl FnOnce(&mut BytesMut) -> R) -> Option<R> {
        if self.is_dead() {
            return None;
        }
        let result = encode(&mut self.buf.borrow_mut());
        self.wake();
        Some(result)
    }

    /// Appends a transport-level frame (already framed) and wakes the writer; it goes
    /// out before the protocol bytes. Written even while closing, until dead.
    pub fn push_control(&self, frame: &[u8]) {
        if self.dead.get() {
            return;
        }
        self.control.borrow_mut().extend_from_slice(frame);
        if let Some(waker) = self.waker.take() {
            waker.wake();
        }
    }

    /// Takes the transport-level frames waiting to be written.
    pub fn take_control(&self) -> BytesMut {
        std::mem::take(&mut *self.control.borrow_mut())
    }

    /// Asks the writer to flush what is buffered, then shut the connection down.
    pub fn close(&self) {
        self.closing.set(true);
        self.wake();
    }

    /// Marks the connection dead (write error): further frames are discarded.
    pub fn kill(&self) {
        self.dead.set(true);
        self.buf.borrow_mut().clear();
        self.wake();
    }

    fn wake(&self) {
        if let Some(waker) = self.waker.take() {
            waker.wake();
        }
        if self.is_dead()
            && let Some(waker) = self.close_waker.take()
        {
            waker.wake();
        }
    }

    /// Completes once the outbox is closing or dead: the reader races its read against
    /// this, so that a connection the server ends stops reading at once.
    pub async fn closed(&self) {
        poll_fn(|cx| {
            if self.is_dead() {
                return Poll::Ready(());
            }
            self.close_waker.set(Some(cx.waker().clone()));
            Poll::Pending
        })
        .await;
    }

    /// Waits for frames; swaps them out for `spare` (an empty buffer to reuse). `None`
    /// once the outbox is closing and drained, or dead.
    pub async fn next(&self, mut spare: BytesMut) -> Option<BytesMut> {
        poll_fn(|cx| {
            if self.dead.get() {
                return Poll::Ready(None);
            }
            let mut buf = self.buf.borrow_mut();
            if !buf.is_empty() || !self.control.borrow().is_empty() {
                spare.clear();
                if spare.capacity() > KEEP_CAPACITY {
                    spare = BytesMut::new();
                }
                return Poll::Ready(Some(std::mem::replace(
                    &mut *buf,
                    std::mem::take(&mut spare),
                )));
            }
            if self.closing.get() {
                return Poll::Ready(None);
            }
            self.waker.set(Some(cx.waker().clone()));
            Poll::Pending
        })
        .await
    }
}
