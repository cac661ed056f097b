//! The WebSocket listener: the RFC 6455 opening handshake, then MQTT (path `/mqtt`,
//! subprotocol `mqtt`) or STOMP (path `/stomp`, subprotocols `v10.stomp`, `v11.stomp`,
//! `v12.stomp`) over WebSocket messages, through the same gateways as over TCP.

use std::net::SocketAddr;
use std::rc::Rc;
use std::time::Duration;

use bytes::BytesMut;
use compio::buf::{BufResult, IntoInner, IoBufMut};
use compio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use compio::net::TcpStream;
use switchyard_websocket::{HandshakeError, RequestDecoder, Status, write_error_response};

use crate::gateway::{GatewayContext, mqtt, stomp};
use crate::server::outbox::Outbox;
use crate::server::transport::{Framing, Transport, WsReader, WsState};

/// How long a new connection has to complete its upgrade request.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// MQTT's subprotocol (MQTT 3.1.1 section 6; "mqttv3.1" is MQTT 3.1's, which we do not speak).
const MQTT_PROTOCOLS: [&str; 1] = ["mqtt"];
/// STOMP's subprotocols, the highest version first: it is chosen whatever the client's
/// order, as RabbitMQ's web-stomp does.
const STOMP_PROTOCOLS: [&str; 3] = ["v12.stomp", "v11.stomp", "v10.stomp"];

/// Serves one accepted WebSocket connection until it closes.
pub async fn serve(mut stream: TcpStream, peer_addr: SocketAddr, ctx: Rc<GatewayContext>) {
    let mut buf = BytesMut::with_capacity(1024);
    let mut decoder = RequestDecoder::default();
    let request = loop {
        match decoder.decode(&mut buf) {
            Ok(Some(request)) => break request,
            Ok(None) => {}
            Err(error) => return refuse(stream, error).await,
        }
        if buf.capacity() - buf.len() < 512 {
            buf.reserve(1024);
        }
        let mut reader = &stream;
        let read = compio::time::timeout(HANDSHAKE_TIMEOUT, reader.read(buf.uninit()));
        match read.await {
            Ok(BufResult(Ok(n), returned)) if n > 0 => buf = returned.into_inner(),
            _ => return,
        }
    };
    let config = &ctx.shared.config.websocket;
    let (stomp, protocol) = if request.path() == config.mqtt_path {
        (false, request.choose_subprotocol(&MQTT_PROTOCOLS))
    } else if request.path() == config.stomp_path {
        let offered = request.protocols();
        let chosen = STOMP_PROTOCOLS
            .into_iter()
            .find(|p| offered.iter().any(|o| o == p));
        (true, chosen)
    } else {
        let mut out = BytesMut::new();
        let body = format!("no WebSocket endpoint at {}", request.path());
        write_error_response(Status::NotFound, &body, &mut out);
        let _ = stream.write_all(out).await;
        let _ = stream.shutdown().await;
        return;
    };
    // MQTT requires its subprotocol (MQTT 3.1.1 section 6, [MQTT-6.0.0-3]): a client
    // that offers others but not `mqtt` is refused; one that offers none is served.
    if !stomp && protocol.is_none() && !request.protocols().is_empty() {
        let mut out = BytesMut::new();
        write_error_response(Status::BadRequest, "subprotocol 'mqtt' required", &mut out);
        let _ = stream.write_all(out).await;
        let _ = stream.shutdown().await;
        return;
    }
    let mut out = BytesMut::new();
    if request.write_accept(protocol, &mut out).is_err() {
        return;
    }
    let BufResult(written, _) = stream.write_all(out).await;
    if written.is_err() {
        return;
    }
    tracing::debug!(%peer_addr, path = request.path(), ?protocol, "WebSocket upgraded");
    let outbox = Rc::new(Outbox::new());
    let state = WsState::new(stomp);
    let reader = WsReader::new(
        stream.clone(),
        buf,
        config.max_message_size,
        outbox.clone(),
        state.clone(),
    );
    let transport = Transport::WebSocket(Box::new(reader));
    let framing = Framing::WebSocket(state);
    // Boxed: this task would otherwise hold room for both protocols' connections.
    if stomp {
        Box::pin(stomp::serve_on(
            transport, stream, framing, outbox, peer_addr, ctx,
        ))
        .await;
    } else {
        Box::pin(mqtt::serve_on(
            transport, stream, framing, outbox, peer_addr, ctx,
        ))
        .await;
    }
}

async fn refuse(mut stream: TcpStream, error: HandshakeError) {
    let mut out = BytesMut::new();
    error.write_response(&mut out);
    let _ = stream.write_all(out).await;
    let _ = stream.shutdown().await;
}

/// Answers a connection over `max_connections` with 503, then closes.
pub async fn refuse_busy(mut stream: TcpStream) {
    let out = BytesMut::from(
        &b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\n\
           Content-Length: 21\r\nConnection: close\r\n\r\ntoo many connections\n"[..],
    );
    let _ = stream.write_all(out).await;
    let _ = stream.shutdown().await;
}
