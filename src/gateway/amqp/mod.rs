//! The AMQP 0-9-1 gateway: AMQP clients on the routing core, with the model RabbitMQ
//! users know: exchanges, queues and bindings, consumers with prefetch, basic.get,
//! acknowledgements, `mandatory` returns, publisher confirms and transactions.
//!
//! One task per connection reads the protocol header, then decodes frames and turns
//! them into core operations; a writer task flushes the connection's outbox and, once a
//! write is done, acknowledges the deliveries of no-ack consumers it carried, so that
//! what waits for a slow socket stays bounded.

mod basic;
mod channel;
mod connection;
mod consumer;
mod convert;
mod topology;

use std::net::SocketAddr;
use std::pin::pin;
use std::rc::Rc;
use std::time::Duration;

use bytes::BytesMut;
use compio::io::{AsyncWrite, AsyncWriteExt};
use compio::net::TcpStream;
use switchyard_amqp::{
    Decoder, Encoder, PROTOCOL_HEADER, ProtocolHeaderStatus, read_protocol_header,
};

use crate::gateway::GatewayContext;
use crate::server::outbox::{Outbox, until};
use crate::server::transport::{AckOnWrite, Filled, Framing, Reader, Transport, write_loop};
use connection::{Connection, error};

/// How long a closing connection may take to flush what it was sent.
const CLOSE_GRACE: Duration = Duration::from_secs(5);

/// Whether to keep reading after a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flow {
    Continue,
    Close,
}

/// Serves one accepted AMQP connection until it closes.
pub async fn serve(stream: TcpStream, peer_addr: SocketAddr, ctx: Rc<GatewayContext>) {
    let transport = Transport::Tcp(stream.clone());
    let outbox = Rc::new(Outbox::new());
    let auto_acks = Rc::new(AckOnWrite::default());
    let writer = compio::runtime::spawn(write_loop(
        stream,
        outbox.clone(),
        ctx.shard.clone(),
        Framing::Raw,
        Some(auto_acks.clone()),
    ));
    let mut conn = Connection::new(ctx.clone(), outbox.clone(), auto_acks, ctx.conn_id());
    let mut decoder = Decoder::new();
    let mut reader = Reader::new(transport);
    let mut header_seen = false;
    let mut beating = false;
    'read: loop {
        // Backpressure: a queue holds this connection's messages over its high-water
        // mark; read nothing more until its consumers bring it down.
        if let Some(pressure) = conn.held_back() {
            tracing::trace!(%peer_addr, held = pressure.held(), "AMQP publisher held back");
            conn.notify_blocked(true);
            if until(pin!(pressure.released()), pin!(outbox.closed()))
                .await
                .is_none()
            {
                break;
            }
            conn.notify_blocked(false);
        }
        let timeout = conn.read_timeout();
        match reader.fill(timeout, &outbox, ctx.shard.stats()).await {
            Filled::Data => {}
            Filled::End => break,
            Filled::Silent => {
                tracing::debug!(%peer_addr, "AMQP client silent past its heartbeat");
                break;
            }
        }
        if !header_seen {
            match read_protocol_header(reader.buf()) {
                ProtocolHeaderStatus::Incomplete => continue,
                ProtocolHeaderStatus::Rejected => {
                    // Another protocol or version: say which one we speak, and close.
                    outbox.push(|out| out.extend_from_slice(&PROTOCOL_HEADER));
                    break;
                }
                ProtocolHeaderStatus::Accepted => {
                    header_seen = true;
                    conn.start();
                }
            }
        }
        loop {
            if outbox.is_dead() {
                break 'read;
            }
            match decoder.decode(reader.buf()) {
                Ok(Some(frame)) => {
                    if Box::pin(conn.handle(frame, &mut decoder)).await == Flow::Close {
                        break 'read;
                    }
                    if !beating && conn.heartbeat() > 0 {
                        beating = true;
                        let every = Duration::from_secs(u64::from(conn.heartbeat()));
                        compio::runtime::spawn(send_heartbeats(outbox.clone(), every)).detach();
                    }
                }
                Ok(None) => break,
                Err(e) => {
                    tracing::debug!(%peer_addr, error = %e, "malformed AMQP frame");
                    let code = e.reply_code().code();
                    let name = e.reply_code().name();
                    conn.close_connection(error(code, format!("{name} - {e}")), (0, 0));
                    // The stream cannot be framed any more: no close-ok will be read.
                    break 'read;
                }
            }
        }
    }
    Box::pin(conn.finish()).await;
    outbox.close();
    let _ = compio::time::timeout(CLOSE_GRACE, writer).await;
}

/// Sends a heartbeat frame every `every` until the connection closes.
async fn send_heartbeats(outbox: Rc<Outbox>, every: Duration) {
    loop {
        let tick = compio::time::sleep(every);
        if until(pin!(tick), pin!(outbox.closed())).await.is_none() {
            return;
        }
        if outbox.push(Encoder::encode_heartbeat).is_none() {
            return;
        }
    }
}

/// Answers a connection over `max_connections` with the protocol header, then closes.
pub async fn refuse_busy(mut stream: TcpStream) {
    let out = BytesMut::from(&PROTOCOL_HEADER[..]);
    let _ = stream.write_all(out).await;
    let _ = stream.shutdown().await;
}

#[cfg(test)]
mod tests {
    use switchyard_amqp::Frame;

    use super::*;

    #[test]
    fn a_heartbeat_frame_is_eight_octets() {
        let mut buf = BytesMut::new();
        Encoder::encode_heartbeat(&mut buf);
        let mut decoder = Decoder::new();
        assert_eq!(decoder.decode(&mut buf).unwrap(), Some(Frame::Heartbeat));
    }
}
