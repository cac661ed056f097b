//! What carries a protocol's bytes: a plain TCP stream, or WebSocket messages over one.
//! The gateways read and write through this, so that MQTT and STOMP run unchanged over
//! both.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::io;
use std::pin::pin;
use std::rc::Rc;
use std::task::Poll;

use bytes::BytesMut;
use compio::buf::{BufResult, IntoInner, IoBuf, IoBufMut};
use compio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use compio::net::TcpStream;
use switchyard_websocket::{CloseCode, Encoder, Message, MessageDecoder};

use crate::core::exchange::QueueName;
use crate::core::queue::DeliveryId;
use crate::core::shard::{Settle, Shard};
use crate::core::stats::ShardStats;
use crate::server::outbox::Outbox;

/// The read side of a connection.
pub enum Transport {
    /// Protocol bytes straight off the socket.
    Tcp(TcpStream),
    /// Protocol bytes inside WebSocket messages.
    WebSocket(Box<WsReader>),
}

/// The read side of a WebSocket connection after its handshake.
pub struct WsReader {
    stream: TcpStream,
    raw: BytesMut,
    decoder: MessageDecoder,
    outbox: Rc<Outbox>,
    state: Rc<WsState>,
}

/// What both sides of a WebSocket connection share.
#[derive(Debug, Default)]
pub struct WsState {
    /// A Close frame went out (or is queued): the writer sends no other.
    close_sent: Cell<bool>,
    /// Send text frames (STOMP's subprotocols) rather than binary ones.
    text: bool,
}

impl WsState {
    /// The state of a new connection; `text` for text frames.
    pub fn new(text: bool) -> Rc<Self> {
        Rc::new(Self {
            close_sent: Cell::new(false),
            text,
        })
    }
}

impl WsReader {
    /// The reader of a connection whose handshake is done; `leftover` holds what the
    /// client sent after its request.
    pub fn new(
        stream: TcpStream,
        leftover: BytesMut,
        max_message_size: usize,
        outbox: Rc<Outbox>,
        state: Rc<WsState>,
    ) -> Self {
        Self {
            stream,
            raw: leftover,
            decoder: MessageDecoder::server(max_message_size),
            outbox,
            state,
        }
    }

    fn send_close(&self, code: CloseCode, reason: &str) {
        if self.state.close_sent.replace(true) {
            return;
        }
        let mut frame = BytesMut::new();
        if Encoder::new().close(Some(code), reason, &mut frame).is_ok() {
            self.outbox.push_control(&frame);
        }
    }

    async fn read(&mut self, mut buf: BytesMut) -> (io::Result<usize>, BytesMut) {
        loop {
            match self.decoder.decode(&mut self.raw) {
                Ok(Some(Message::Binary(data) | Message::Text(data))) => {
                    if data.is_empty() {
                        continue;
                    }
                    buf.extend_from_slice(&data);
                    return (Ok(data.len()), buf);
                }
                Ok(Some(Message::Ping(data))) => {
                    let mut frame = BytesMut::new();
                    if Encoder::new().pong(&data, &mut frame).is_ok() {
                        self.outbox.push_control(&frame);
                    }
                }
                Ok(Some(Message::Pong(_))) => {}
                Ok(Some(Message::Close { code, .. })) => {
                    // Echo the code (section 5.5.1); an empty Close gets 1000.
                    let code = code.unwrap_or(CloseCode::NORMAL_CLOSURE);
                    self.send_close(code, "");
                    return (Ok(0), buf);
                }
                Ok(None) => {
                    if self.raw.capacity() - self.raw.len() < 1024 {
                        self.raw.reserve(4096);
                    }
                    let raw = std::mem::take(&mut self.raw);
                    let BufResult(result, raw) = (&self.stream).read(raw.uninit()).await;
                    self.raw = raw.into_inner();
                    match result {
                        Ok(0) => return (Ok(0), buf),
                        Ok(_) => {}
                        Err(e) => return (Err(e), buf),
                    }
                }
                Err(error) => {
                    tracing::debug!(%error, "invalid WebSocket frame");
                    self.send_close(error.close_code(), "");
                    let e = io::Error::new(io::ErrorKind::InvalidData, error.to_string());
                    return (Err(e), buf);
                }
            }
        }
    }
}

impl Transport {
    /// Reads more protocol bytes, appending them to `buf`; `Ok(0)` at the end.
    pub async fn read(&mut self, buf: BytesMut) -> (io::Result<usize>, BytesMut) {
        match self {
            Self::Tcp(stream) => {
                let BufResult(result, buf) = (&*stream).read(buf.uninit()).await;
                (result, buf.into_inner())
            }
            // Boxed: every TCP connection's task would otherwise hold room for it.
            Self::WebSocket(reader) => Box::pin(reader.read(buf)).await,
        }
    }
}

/// How the writer frames what the outbox holds.
#[derive(Clone)]
pub enum Framing {
    /// As it is.
    Raw,
    /// One WebSocket message per write.
    WebSocket(Rc<WsState>),
}

/// Queue deliveries that count as acknowledged once the write carrying them is done
/// (STOMP `ack:auto`, AMQP no-ack): what waits for a slow socket stays within the
/// consumer's prefetch.
#[derive(Debug, Default)]
pub struct AckOnWrite(RefCell<Vec<(QueueName, DeliveryId)>>);

impl AckOnWrite {
    /// Records a delivery just pushed into the outbox.
    pub fn push(&self, queue: QueueName, id: DeliveryId) {
        self.0.borrow_mut().push((queue, id));
    }

    fn take(&self) -> Vec<(QueueName, DeliveryId)> {
        std::mem::take(&mut *self.0.borrow_mut())
    }
}

/// Writes `data` as one WebSocket message (text when STOMP's and valid UTF-8), framed
/// in `framed` (returned for reuse).
async fn write_ws_message(
    stream: &mut TcpStream,
    state: &WsState,
    data: &[u8],
    mut framed: BytesMut,
) -> (io::Result<()>, BytesMut) {
    framed.clear();
    // STOMP's text frames when the bytes are text; a body that is not UTF-8 can only
    // travel in a binary frame.
    let text = state.text && std::str::from_utf8(data).is_ok();
    let pending = if text {
        Encoder::new().begin_text(data.len(), &mut framed)
    } else {
        Encoder::new().begin_binary(data.len(), &mut framed)
    };
    framed.extend_from_slice(data);
    let _ = pending.finish(&mut framed);
    let BufResult(result, framed) = stream.write_all(framed).await;
    (result, framed)
}

/// Writes the outbox until it closes: transport frames first, then the protocol bytes,
/// framed as `framing` says; settles `acks` after each write. At the end a WebSocket
/// gets its Close frame, then the write side is shut down so that the client reads the
/// last frame rather than a reset.
pub async fn write_loop(
    mut stream: TcpStream,
    outbox: Rc<Outbox>,
    shard: Rc<Shard>,
    framing: Framing,
    acks: Option<Rc<AckOnWrite>>,
) {
    let mut spare = BytesMut::new();
    let mut framed = BytesMut::new();
    while let Some(buf) = outbox.next(spare).await {
        let carried = acks.as_ref().map(|a| a.take()).unwrap_or_default();
        let control = outbox.take_control();
        let mut ok = true;
        if !control.is_empty() {
            // Boxed, as the WebSocket path below: rare, and a plain TCP connection's
            // writer task should not hold room for them.
            let BufResult(result, _) = Box::pin(stream.write_all(control)).await;
            ok = result.is_ok();
        }
        let len = buf.buf_len();
        let buf = if ok && len > 0 {
            let (result, buf) = match &framing {
                Framing::Raw => {
                    // Boxed: an idle connection's writer waits in `next` and holds no
                    // write, so its task need not have room for one (per-connection
                    // memory); a busy one writes a batch per allocation.
                    let BufResult(result, buf) = Box::pin(stream.write_all(buf)).await;
                    (result, buf)
                }
                Framing::WebSocket(state) => {
                    let (result, out) =
                        Box::pin(write_ws_message(&mut stream, state, &buf, framed)).await;
                    framed = out;
                    (result, buf)
                }
            };
            ok = result.is_ok();
            buf
        } else {
            buf
        };
        for (queue, id) in carried {
            let how = if ok {
                Settle::Ack
            } else {
                Settle::Reject { requeue: true }
            };
            shard.settle(queue, id, how);
        }
        if !ok {
            outbox.kill();
            return;
        }
        ShardStats::add(&shard.stats().bytes_sent, len as u64);
        spare = buf;
    }
    if let Framing::WebSocket(state) = &framing {
        let mut close = outbox.take_control();
        if !state.close_sent.replace(true) {
            let _ = Encoder::new().close(Some(CloseCode::NORMAL_CLOSURE), "", &mut close);
        }
        if !close.is_empty() {
            let _ = Box::pin(stream.write_all(close)).await;
        }
    }
    let _ = Box::pin(stream.shutdown()).await;
}

/// Read size of a quiet connection (a CONNECT, a ping, an ack fit): what an idle
/// connection keeps allocated.
const READ_MIN: usize = 256;
/// Read size a busy connection grows to, doubling each time a read fills the buffer.
const READ_MAX: usize = 64 * 1024;

/// What [`Reader::fill`] ended with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Filled {
    /// More bytes are in the buffer.
    Data,
    /// The peer closed, the read failed, or the server is closing the connection.
    End,
    /// Nothing arrived within the timeout (keep-alive, heart-beat).
    Silent,
}

/// The read side every gateway shares: a transport and the buffer its protocol decodes
/// from, sized to the traffic (256 B while quiet, doubling up to 64 KiB while reads fill
/// it).
pub struct Reader {
    transport: Transport,
    buf: BytesMut,
    read_size: usize,
}

impl Reader {
    /// A reader with an empty buffer.
    pub fn new(transport: Transport) -> Self {
        Self {
            transport,
            buf: BytesMut::new(),
            read_size: READ_MIN,
        }
    }

    /// The bytes read and not yet decoded.
    pub fn buf(&mut self) -> &mut BytesMut {
        &mut self.buf
    }

    /// Reads more bytes, waiting at most `timeout`, and stopping as soon as `outbox`
    /// closes (takeover, shutdown); counts them in the shard's statistics.
    pub async fn fill(
        &mut self,
        timeout: Option<std::time::Duration>,
        outbox: &Outbox,
        stats: &ShardStats,
    ) -> Filled {
        if self.buf.capacity() - self.buf.len() < self.read_size / 2 {
            self.buf.reserve(self.read_size);
        }
        let offered = self.buf.capacity() - self.buf.len();
        let unread = std::mem::take(&mut self.buf);
        // One future polling the read, the outbox's closing and the timer side by side
        // (rather than nested `timeout` and `until` wrappers, or a helper taking them by
        // value, which stores them twice): this is what every idle connection's task
        // holds while it waits, so its size is per-connection memory.
        let mut read = pin!(self.transport.read(unread));
        let mut closed = pin!(outbox.closed());
        let mut timer = pin!(async move {
            match timeout {
                Some(timeout) => compio::time::sleep(timeout).await,
                None => std::future::pending().await,
            }
        });
        let waited = std::future::poll_fn(|cx| {
            if let Poll::Ready(read) = read.as_mut().poll(cx) {
                return Poll::Ready(Ok(read));
            }
            if closed.as_mut().poll(cx).is_ready() {
                return Poll::Ready(Err(Filled::End));
            }
            if timer.as_mut().poll(cx).is_ready() {
                return Poll::Ready(Err(Filled::Silent));
            }
            Poll::Pending
        })
        .await;
        let (result, returned) = match waited {
            Ok(read) => read,
            Err(filled) => return filled,
        };
        self.buf = returned;
        match result {
            Ok(0) | Err(_) => Filled::End,
            Ok(n) => {
                ShardStats::add(&stats.bytes_received, n as u64);
                self.read_size = if n >= offered {
                    (self.read_size * 2).min(READ_MAX)
                } else if n < offered / 4 {
                    READ_MIN
                } else {
                    self.read_size
                };
                Filled::Data
            }
        }
    }
}
