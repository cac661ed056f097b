//! The MQTT broker: one task per connection reads and decodes packets and turns them
//! into core operations; a writer task flushes the connection's outbox.

mod backpressure;
mod connect;
mod packets;
mod peer;

use std::net::SocketAddr;
use std::pin::pin;
use std::rc::Rc;
use std::time::Duration;

use bytes::BytesMut;
use compio::buf::BufResult;
use compio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use compio::net::TcpStream;
use switchyard_mqtt::{ConnAck, Decoder, Packet, ReasonCode};

use crate::gateway::GatewayContext as MqttContext;
use crate::server::outbox::{Outbox, until};
use crate::server::transport::{Filled, Framing, Reader, Transport, write_loop};
pub use peer::MqttPeer;

/// How long a new connection has to send CONNECT.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a closing connection may take to flush what it was sent.
const CLOSE_GRACE: Duration = Duration::from_secs(5);

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
    let transport = Transport::Tcp(stream.clone());
    let outbox = Rc::new(Outbox::new());
    serve_on(transport, stream, Framing::Raw, outbox, peer_addr, ctx).await;
}

/// Serves MQTT over `transport` (TCP, or WebSocket after its handshake), writing
/// through `outbox` to `stream` framed as `framing` says.
pub(crate) async fn serve_on(
    transport: Transport,
    stream: TcpStream,
    framing: Framing,
    outbox: Rc<Outbox>,
    peer_addr: SocketAddr,
    ctx: Rc<MqttContext>,
) {
    let writer = compio::runtime::spawn(write_loop(
        stream,
        outbox.clone(),
        ctx.shard.clone(),
        framing,
        None,
    ));
    let mut conn = connect::Connection::new(ctx.clone(), outbox.clone(), ctx.conn_id());
    let mut decoder = Decoder::new(ctx.shared.config.mqtt.max_packet_size);
    let mut reader = Reader::new(transport);
    let mut graceful = false;
    'read: loop {
        // A client that publishes beyond its window while held back is not read from
        // until the subscribers catch up.
        if let Some(pressure) = conn.must_stop_reading() {
            tracing::debug!(%peer_addr, held = pressure.held(), "publisher over its window");
            if until(pin!(pressure.released()), pin!(outbox.closed()))
                .await
                .is_none()
            {
                break;
            }
        }
        let timeout = match conn.read_timeout() {
            Some(limit) => limit,
            None => Some(CONNECT_TIMEOUT),
        };
        match reader.fill(timeout, &outbox, ctx.shard.stats()).await {
            Filled::Data => {}
            Filled::End => break,
            Filled::Silent => {
                tracing::debug!(%peer_addr, "keep-alive timeout");
                conn.close_with(ReasonCode::KeepAliveTimeout);
                break;
            }
        }
        loop {
            if outbox.is_dead() {
                break 'read;
            }
            match decoder.decode(reader.buf()) {
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
    Box::pin(conn.finish(graceful)).await;
    tracing::debug!(%peer_addr, "session detached");
    outbox.close();
    // A client that stops reading must not hold the connection forever: after the grace
    // period the writer is dropped, which cancels its write and closes the socket.
    let _ = compio::time::timeout(CLOSE_GRACE, writer).await;
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

#[cfg(test)]
mod tests {
    use std::rc::Rc;
    use std::sync::Arc;

    use super::*;
    use crate::core::shard::{Limits, SessionSlot, Shard};
    use crate::core::stats::Stats;
    use crate::server::worker::Shared;

    /// What every idle connection holds (with its read buffer, its writer task and its
    /// session) is what the idle-connection benchmark measures; these sizes are the part
    /// a change can silently double, e.g. by awaiting a large future inline.
    #[test]
    fn an_idle_connection_stays_small() {
        let runtime = compio::runtime::Runtime::new().unwrap();
        runtime.block_on(async {
            let listener = compio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let stream = TcpStream::connect(addr).await.unwrap();
            let shared = Arc::new(Shared {
                config: crate::config::Config::default(),
                connections: Default::default(),
                draining: Default::default(),
                started: std::time::Instant::now(),
                start_line: crate::server::worker::StartLine::new(1),
            });
            let (tx, _rx) = flume::bounded(1);
            let limits = Limits {
                max_queued_messages: 10,
                backpressure_queued: 10,
                queue_high_water: 10_000,
            };
            let shard = Rc::new(Shard::new(0, vec![tx], limits, Arc::new(Stats::new(1))).unwrap());
            let ctx = Rc::new(MqttContext::new(shard.clone(), shared));
            let reader = serve(stream.clone(), addr, ctx);
            let writer = write_loop(stream, Rc::new(Outbox::new()), shard, Framing::Raw, None);
            let sizes = [
                ("connection task", size_of_val(&reader), 1088),
                ("writer task", size_of_val(&writer), 384),
                ("session", size_of::<SessionSlot>(), 320),
            ];
            for (what, size, limit) in sizes {
                assert!(size <= limit, "{what}: {size} B, over {limit} B");
            }
        });
    }
}
