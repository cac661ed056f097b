//! The MQTT broker: one task per connection reads and decodes packets and turns them
//! into core operations; a writer task flushes the connection's outbox.

mod backpressure;
mod connect;
mod packets;
mod peer;

use std::net::SocketAddr;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use compio::buf::{BufResult, IntoInner, IoBufMut};
use compio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use compio::net::TcpStream;
use switchyard_mqtt::{ConnAck, Decoder, Packet, ReasonCode};

use crate::core::shard::Shard;
use crate::server::outbox::{Outbox, until};
use crate::server::worker::Shared;
pub use peer::MqttPeer;

/// How long a new connection has to send CONNECT.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a closing connection may take to flush what it was sent.
const CLOSE_GRACE: Duration = Duration::from_secs(5);
/// Read buffer size of an idle connection; grows for larger packets.
const READ_BUFFER: usize = 1024;

/// What every MQTT connection of a shard shares.
pub struct MqttContext {
    shard: Rc<Shard>,
    shared: Arc<Shared>,
    next_conn: std::cell::Cell<u64>,
}

impl MqttContext {
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

    fn conn_id(&self) -> u64 {
        let id = self.next_conn.get() + 1;
        self.next_conn.set(id);
        id
    }
}

/// Whether to keep reading after a packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flow {
    Continue,
    /// Close; `graceful` when the client sent DISCONNECT (no will, unless 0x04).
    Close {
        graceful: bool,
    },
}

/// Serves one accepted connection until it closes.
pub async fn serve(stream: TcpStream, peer_addr: SocketAddr, ctx: Rc<MqttContext>) {
    let outbox = Rc::new(Outbox::new());
    let writer = compio::runtime::spawn(write_loop(
        stream.clone(),
        outbox.clone(),
        ctx.shard.clone(),
    ));
    let mut conn = connect::Connection::new(ctx.clone(), outbox.clone(), ctx.conn_id());
    let mut decoder = Decoder::new(ctx.shared.config.mqtt.max_packet_size);
    let mut buf = BytesMut::with_capacity(READ_BUFFER);
    let mut graceful = false;
    'read: loop {
        // A client that publishes beyond its window while held back is not read from
        // until the subscribers catch up.
        if let Some(pressure) = conn.must_stop_reading() {
            tracing::debug!(%peer_addr, held = pressure.held(), "publisher over its window");
            if until(pressure.released(), outbox.closed()).await.is_none() {
                break;
            }
        }
        if buf.capacity() - buf.len() < 256 {
            buf.reserve(READ_BUFFER);
        }
        let timeout = match conn.read_timeout() {
            Some(limit) => limit,
            None => Some(CONNECT_TIMEOUT),
        };
        // compio reads into a buffer from its start: `uninit()` exposes only the spare
        // capacity, so that a partial packet already in `buf` is kept.
        let spare = buf.uninit();
        let read = async {
            match timeout {
                None => Ok((&stream).read(spare).await),
                Some(timeout) => compio::time::timeout(timeout, (&stream).read(spare)).await,
            }
        };
        // Stop reading as soon as the server ends the connection (takeover, shutdown).
        let Some(read) = until(read, outbox.closed()).await else {
            break;
        };
        let BufResult(result, returned) = match read {
            Ok(result) => result,
            Err(_elapsed) => {
                tracing::debug!(%peer_addr, "keep-alive timeout");
                conn.close_with(ReasonCode::KeepAliveTimeout);
                break;
            }
        };
        buf = returned.into_inner();
        match result {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                crate::core::stats::ShardStats::add(&ctx.shard.stats().bytes_received, n as u64)
            }
        }
        loop {
            if outbox.is_dead() {
                break 'read;
            }
            match decoder.decode(&mut buf) {
                Ok(Some(packet)) => match conn.handle(packet, &mut decoder).await {
                    Flow::Continue => {}
                    Flow::Close { graceful: g } => {
                        graceful = g;
                        break 'read;
                    }
                },
                Ok(None) => break,
                Err(error) => {
                    tracing::debug!(%peer_addr, %error, "malformed packet");
                    conn.decode_error(error, decoder.protocol());
                    break 'read;
                }
            }
        }
    }
    tracing::debug!(%peer_addr, "connection ending");
    conn.finish(graceful).await;
    tracing::debug!(%peer_addr, "session detached");
    outbox.close();
    // A client that stops reading must not hold the connection forever: after the grace
    // period the writer is dropped, which cancels its write and closes the socket.
    let _ = compio::time::timeout(CLOSE_GRACE, writer).await;
}

async fn write_loop(mut stream: TcpStream, outbox: Rc<Outbox>, shard: Rc<Shard>) {
    let mut spare = BytesMut::new();
    while let Some(buf) = outbox.next(spare).await {
        let len = buf.len();
        let BufResult(result, buf) = stream.write_all(buf).await;
        if result.is_err() {
            outbox.kill();
            return;
        }
        crate::core::stats::ShardStats::add(&shard.stats().bytes_sent, len as u64);
        spare = buf;
    }
    // Flush, then shut the write side so the client reads our last packet, not a reset.
    let _ = stream.shutdown().await;
}

/// Answers a connection over `max_connections`: reads its CONNECT (briefly) to answer in
/// its version with "server busy" / "server unavailable", then closes.
pub async fn refuse_busy(mut stream: TcpStream) {
    let read = compio::time::timeout(
        Duration::from_secs(2),
        (&stream).read(BytesMut::with_capacity(512)),
    )
    .await;
    let protocol = match read {
        Ok(BufResult(Ok(_), buf)) => match buf.get(..) {
            Some([0x10, ..]) => {
                let mut b = buf;
                let mut d = Decoder::new(u32::MAX);
                let _ = d.decode(&mut b);
                d.protocol()
            }
            _ => None,
        },
        _ => None,
    };
    let mut out = BytesMut::new();
    let connack = Packet::ConnAck(Box::new(ConnAck::new(ReasonCode::ServerBusy, false)));
    if let Some(protocol) = protocol {
        let _ = connack.encode(protocol, &mut out);
        let _ = stream.write_all(out).await;
    }
    let _ = stream.shutdown().await;
}
