//! The STOMP gateway: STOMP 1.0, 1.1 and 1.2 clients on the routing core, with
//! destinations named as RabbitMQ's STOMP plugin names them (`/topic/`, `/queue/`,
//! `/exchange/`, `/amq/queue/`, `/temp-queue/`).
//!
//! One task per connection reads and decodes frames and turns them into core
//! operations; a writer task flushes the connection's outbox and, once a write is done,
//! acknowledges the `ack:auto` deliveries it carried, so that what waits for a slow
//! socket stays within the subscription's prefetch.

mod connection;
mod consumer;
mod headers;

use std::net::SocketAddr;
use std::pin::pin;
use std::rc::Rc;
use std::time::Duration;

use bytes::BytesMut;
use compio::io::{AsyncWrite, AsyncWriteExt};
use compio::net::TcpStream;
use switchyard_stomp::{Decoder, ErrorFrame, Item, Limits, Version};

use crate::gateway::GatewayContext;
use crate::server::outbox::{Outbox, until};
use crate::server::transport::{AckOnWrite, Filled, Framing, Reader, Transport, write_loop};
use connection::Connection;

/// How long a new connection has to send CONNECT.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a closing connection may take to flush what it was sent.
const CLOSE_GRACE: Duration = Duration::from_secs(5);

/// Whether to keep reading after a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flow {
    Continue,
    Close,
}

/// The decoder limits the configuration asks for.
fn limits(ctx: &GatewayContext) -> Limits {
    let c = &ctx.shared.config.stomp;
    Limits::DEFAULT
        .with_max_frame_size(c.max_frame_size)
        .with_max_body_size(c.max_frame_size)
        .with_max_headers(c.max_headers)
        .with_max_header_line(c.max_header_length)
}

/// Serves one accepted STOMP connection until it closes.
pub async fn serve(stream: TcpStream, peer_addr: SocketAddr, ctx: Rc<GatewayContext>) {
    let transport = Transport::Tcp(stream.clone());
    let outbox = Rc::new(Outbox::new());
    serve_on(transport, stream, Framing::Raw, outbox, peer_addr, ctx).await;
}

/// Serves STOMP over `transport` (TCP, or WebSocket after its handshake), writing
/// through `outbox` to `stream` framed as `framing` says.
pub(crate) async fn serve_on(
    transport: Transport,
    stream: TcpStream,
    framing: Framing,
    outbox: Rc<Outbox>,
    peer_addr: SocketAddr,
    ctx: Rc<GatewayContext>,
) {
    let auto_acks = Rc::new(AckOnWrite::default());
    let writer = compio::runtime::spawn(write_loop(
        stream,
        outbox.clone(),
        ctx.shard.clone(),
        framing,
        Some(auto_acks.clone()),
    ));
    let mut conn = Connection::new(ctx.clone(), outbox.clone(), auto_acks, ctx.conn_id());
    let mut decoder = Decoder::new(limits(&ctx));
    let mut reader = Reader::new(transport);
    'read: loop {
        // Backpressure: a queue holds this connection's messages over its high-water
        // mark; read nothing more until its consumers bring it down.
        if let Some(pressure) = conn.held_back() {
            let pressure = pressure.clone();
            tracing::trace!(%peer_addr, held = pressure.held(), "STOMP publisher held back");
            if until(pin!(pressure.released()), pin!(outbox.closed()))
                .await
                .is_none()
            {
                break;
            }
        }
        let timeout = conn.read_timeout().unwrap_or(Some(CONNECT_TIMEOUT));
        match reader.fill(timeout, &outbox, ctx.shard.stats()).await {
            Filled::Data => {}
            Filled::End => break,
            Filled::Silent => {
                tracing::debug!(%peer_addr, "STOMP client silent past its heart-beat");
                break;
            }
        }
        loop {
            if outbox.is_dead() {
                break 'read;
            }
            match decoder.decode(reader.buf()) {
                Ok(Some(Item::HeartBeat)) => {}
                Ok(Some(Item::Frame(frame))) => {
                    if conn.handle(frame, &mut decoder).await == Flow::Close {
                        break 'read;
                    }
                }
                Ok(None) => break,
                Err(error) => {
                    tracing::debug!(%peer_addr, %error, "malformed STOMP frame");
                    conn.fail(error.message(), &error.to_string(), None);
                    break 'read;
                }
            }
        }
    }
    Box::pin(conn.finish()).await;
    outbox.close();
    let _ = compio::time::timeout(CLOSE_GRACE, writer).await;
}

/// Sends an ERROR frame (the connection closes after it).
fn error_frame(
    outbox: &Outbox,
    version: Version,
    message: &str,
    detail: &str,
    receipt: Option<&str>,
) {
    let frame = ErrorFrame {
        message,
        receipt_id: receipt,
        content_type: Some("text/plain"),
        headers: &[],
        body: detail.as_bytes(),
    };
    outbox.push(|buf| {
        if frame.encode(version, buf).is_err() {
            // A message with a line break in 1.0: say it without the detail.
            let plain = ErrorFrame {
                message: "error",
                ..frame
            };
            let _ = plain.encode(version, buf);
        }
    });
}

/// Answers a connection over `max_connections` with an ERROR frame, then closes.
pub async fn refuse_busy(mut stream: TcpStream) {
    let mut out = BytesMut::new();
    let frame = ErrorFrame {
        message: "server busy",
        receipt_id: None,
        content_type: Some("text/plain"),
        headers: &[],
        body: b"too many connections; try again later",
    };
    if frame.encode(Version::V1_0, &mut out).is_ok() {
        let _ = stream.write_all(out).await;
    }
    let _ = stream.shutdown().await;
}
