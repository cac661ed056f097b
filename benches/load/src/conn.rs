//! One blocking MQTT client connection: the CONNECT and SUBSCRIBE handshakes, and reading
//! whole packets with `switchyard-mqtt`'s decoder.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::num::NonZeroU16;
use std::time::Duration;

use bytes::BytesMut;
use switchyard_mqtt::{
    Connect, Decoder, Disconnect, Packet, Protocol, QoS, ReasonCode, Subscribe, Subscription,
    SubscriptionOptions, TopicFilter,
};

/// Largest packet the clients accept from a broker.
pub(crate) const MAX_PACKET_SIZE: u32 = 16 * 1024 * 1024;

/// How long the handshakes may take.
pub(crate) const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Size of the read buffer: one `read` takes up to this much.
pub(crate) const READ_CHUNK: usize = 64 * 1024;

/// A connected client: its socket, its decoder and the bytes read but not yet decoded.
pub(crate) struct Conn {
    pub(crate) stream: TcpStream,
    pub(crate) decoder: Decoder,
    pub(crate) buf: BytesMut,
    pub(crate) protocol: Protocol,
    /// The broker's Receive Maximum (MQTT 5), or 65,535.
    pub(crate) receive_maximum: u16,
    scratch: Vec<u8>,
}

impl Conn {
    /// Connects, sends CONNECT (clean start) and waits for a successful CONNACK.
    pub(crate) fn open(
        addr: SocketAddr,
        protocol: Protocol,
        client_id: &str,
        keep_alive: u16,
    ) -> io::Result<Self> {
        let stream = TcpStream::connect_timeout(&addr, HANDSHAKE_TIMEOUT)?;
        stream.set_nodelay(true)?;
        stream.set_read_timeout(Some(HANDSHAKE_TIMEOUT))?;
        let mut conn = Self {
            stream,
            decoder: Decoder::with_protocol(protocol, MAX_PACKET_SIZE),
            buf: BytesMut::with_capacity(READ_CHUNK),
            protocol,
            receive_maximum: u16::MAX,
            scratch: vec![0; READ_CHUNK],
        };
        let mut connect = Connect::new(protocol, client_id);
        connect.keep_alive = keep_alive;
        conn.send(&Packet::Connect(Box::new(connect)))?;
        match conn.read_packet()? {
            Packet::ConnAck(ack) if ack.reason_code == ReasonCode::Success => {
                conn.receive_maximum = ack.properties.receive_maximum.map_or(u16::MAX, |m| m.get());
                Ok(conn)
            }
            Packet::ConnAck(ack) => Err(other(format!(
                "{client_id}: CONNACK refused: {:?}",
                ack.reason_code
            ))),
            packet => Err(other(format!(
                "{client_id}: expected CONNACK, got {:?}",
                packet.packet_type()
            ))),
        }
    }

    /// Subscribes to one filter and checks that the broker granted `qos`.
    pub(crate) fn subscribe(&mut self, filter: &str, qos: QoS) -> io::Result<()> {
        let filter = TopicFilter::new(filter).map_err(|e| other(format!("{filter}: {e}")))?;
        let packet_id = NonZeroU16::MIN;
        self.send(&Packet::Subscribe(Subscribe {
            packet_id,
            subscriptions: vec![Subscription {
                filter,
                options: SubscriptionOptions::new(qos),
            }],
            properties: Default::default(),
        }))?;
        let granted = match qos {
            QoS::AtMostOnce => ReasonCode::Success,
            QoS::AtLeastOnce => ReasonCode::GrantedQoS1,
            QoS::ExactlyOnce => ReasonCode::GrantedQoS2,
        };
        match self.read_packet()? {
            Packet::SubAck(ack) if ack.packet_id == packet_id => match ack.reason_codes.first() {
                Some(&code) if code == granted => Ok(()),
                code => Err(other(format!("SUBACK: asked {qos:?}, got {code:?}"))),
            },
            packet => Err(other(format!(
                "expected SUBACK, got {:?}",
                packet.packet_type()
            ))),
        }
    }

    /// Encodes and writes one packet.
    pub(crate) fn send(&mut self, packet: &Packet) -> io::Result<()> {
        let mut out = BytesMut::new();
        packet.encode(self.protocol, &mut out).map_err(other)?;
        self.stream.write_all(&out)
    }

    /// Blocks until one whole packet has arrived (or the read timeout passes).
    pub(crate) fn read_packet(&mut self) -> io::Result<Packet> {
        loop {
            if let Some(packet) = self.decoder.decode(&mut self.buf).map_err(other)? {
                return Ok(packet);
            }
            if self.fill()? == 0 {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
        }
    }

    /// One `read` from the socket appended to the buffer; 0 at end of stream.
    pub(crate) fn fill(&mut self) -> io::Result<usize> {
        let n = self.stream.read(&mut self.scratch)?;
        self.buf
            .extend_from_slice(self.scratch.get(..n).unwrap_or_default());
        Ok(n)
    }

    /// One read while a run goes on, for the loops that read until the run stops: a
    /// timeout is [`RunRead::Idle`], the broker closing the connection before the stop
    /// is an error.
    pub(crate) fn read_during_run(&mut self, stopped: impl Fn() -> bool) -> io::Result<RunRead> {
        read_during_run(|| self.fill(), stopped)
    }

    /// Sends DISCONNECT (normal disconnection), ignoring a connection already gone.
    pub(crate) fn close(mut self) {
        let _ = self.send(&Packet::Disconnect(Disconnect::new(ReasonCode::Success)));
        let _ = self.stream.shutdown(std::net::Shutdown::Both);
    }
}

/// What [`Conn::read_during_run`] saw.
pub(crate) enum RunRead {
    /// Bytes were appended to the buffer.
    Data,
    /// The read timed out; nothing arrived.
    Idle,
    /// The run is over: close the connection.
    Stopped,
}

/// One `fill` (a read appended to a buffer) while a run goes on: a timeout is
/// [`RunRead::Idle`], the broker closing the connection before the stop is an error.
/// Shared by the MQTT and STOMP connections.
pub(crate) fn read_during_run(
    fill: impl FnOnce() -> io::Result<usize>,
    stopped: impl Fn() -> bool,
) -> io::Result<RunRead> {
    if stopped() {
        return Ok(RunRead::Stopped);
    }
    match fill() {
        Ok(0) if stopped() => Ok(RunRead::Stopped),
        Ok(0) => Err(other("the broker closed the connection")),
        Ok(_) => Ok(RunRead::Data),
        Err(e) if is_timeout(&e) => Ok(RunRead::Idle),
        Err(e) => Err(e),
    }
}

/// An `io::Error` carrying a message.
pub(crate) fn other(e: impl ToString) -> io::Error {
    io::Error::other(e.to_string())
}

/// True for the errors a socket read timeout produces.
pub(crate) fn is_timeout(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut | io::ErrorKind::Interrupted
    )
}
