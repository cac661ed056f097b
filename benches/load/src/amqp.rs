//! One blocking AMQP 0-9-1 client connection on `switchyard-amqp`: the handshake
//! (protocol header, connection.start-ok with PLAIN, tune-ok without heartbeats, open),
//! one channel, the set-up methods a run needs (queue.declare, basic.qos,
//! basic.consume, confirm.select), reading whole frames, and closing; and the
//! basic.publish template the publishers copy.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use bytes::BytesMut;
use switchyard_amqp::{
    BasicConsume, BasicProperties, BasicPublish, BasicQos, ChannelOpen, ConfirmSelect,
    ConnectionClose, ConnectionOpen, ConnectionStartOk, ConnectionTuneOk, ContentHeader, Decoder,
    Encoder, FRAME_OVERHEAD, FieldTable, Frame, LongString, Method, PROTOCOL_HEADER, QueueDeclare,
    QueueDelete, ShortString, capabilities,
};

use crate::conn::{HANDSHAKE_TIMEOUT, READ_CHUNK, RunRead, other};
use crate::publisher::MessageTemplate;

/// The one channel each client opens.
pub(crate) const CHANNEL: u16 = 1;

/// Largest frame the clients accept (tune-ok's frame-max, lowered to the server's).
const FRAME_MAX: u32 = 128 * 1024;

/// How long closing waits for connection.close-ok.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(2);

/// The size of a frame header: type, channel, payload size.
const FRAME_HEADER: usize = FRAME_OVERHEAD - 1;

/// The AMQP side of a run's configuration.
#[derive(Debug, Clone)]
pub(crate) struct AmqpOptions {
    /// Publishers put their channel in confirm mode and keep at most `inflight`
    /// publishes unconfirmed.
    pub(crate) confirms: bool,
    /// Consumers take deliveries without acknowledging them (`no-ack`).
    pub(crate) no_ack: bool,
    /// Queues are declared durable (not auto-delete) and messages published persistent
    /// (delivery-mode 2) instead of non-durable auto-delete queues and transient messages.
    pub(crate) durable: bool,
    /// basic.qos prefetch-count of the consumers with manual acks (0: no limit).
    pub(crate) prefetch: u16,
    /// Consumers with manual acks send one basic.ack `multiple` for at least this many
    /// deliveries.
    pub(crate) ack_every: u16,
    /// Closed loop: most messages per pair published and not yet delivered to its
    /// subscriber (0: no bound but TCP's).
    pub(crate) backlog: u64,
    /// The PLAIN user name and password.
    pub(crate) login: String,
    pub(crate) password: String,
    /// The virtual host of connection.open.
    pub(crate) vhost: String,
}

impl AmqpOptions {
    /// The queue of pair `i` of run `tag`, named as the STOMP mode names its queues.
    pub(crate) fn queue(tag: &str, i: usize) -> String {
        format!("load-{tag}-{i}")
    }

    /// The delivery-mode of the messages published: 2 (persistent) with `durable`, else 1.
    pub(crate) fn delivery_mode(&self) -> u8 {
        if self.durable { 2 } else { 1 }
    }

    /// The consumers' acknowledgement mode, for tables and JSON.
    pub(crate) fn ack_str(&self) -> &'static str {
        if self.no_ack { "no-ack" } else { "manual" }
    }
}

/// A connected AMQP client with its channel open: its socket, its codec and the bytes
/// read but not yet decoded.
pub(crate) struct AmqpConn {
    pub(crate) stream: TcpStream,
    decoder: Decoder,
    pub(crate) encoder: Encoder,
    buf: BytesMut,
    name: String,
    scratch: Vec<u8>,
}

impl AmqpConn {
    /// Connects, runs the handshake (PLAIN with the options' login, no heartbeats,
    /// frame-max up to 128 KiB), opens the options' virtual host and channel 1.
    /// `name` names the client in errors.
    pub(crate) fn open(addr: SocketAddr, options: &AmqpOptions, name: &str) -> io::Result<Self> {
        let stream = TcpStream::connect_timeout(&addr, HANDSHAKE_TIMEOUT)?;
        stream.set_nodelay(true)?;
        stream.set_read_timeout(Some(HANDSHAKE_TIMEOUT))?;
        let mut conn = Self {
            stream,
            decoder: Decoder::new(),
            encoder: Encoder::new(),
            buf: BytesMut::with_capacity(READ_CHUNK),
            name: name.to_owned(),
            scratch: vec![0; READ_CHUNK],
        };
        conn.stream.write_all(&PROTOCOL_HEADER)?;
        let start = match conn.read_method()? {
            Method::ConnectionStart(s) => s,
            m => return Err(conn.unexpected(&m, "connection.start")),
        };
        let plain = start
            .mechanisms
            .as_bytes()
            .split(|&b| b == b' ')
            .any(|m| m == b"PLAIN");
        if !plain {
            return Err(other(format!(
                "{name}: the server offers no PLAIN mechanism: {:?}",
                String::from_utf8_lossy(start.mechanisms.as_bytes())
            )));
        }
        let response = format!("\0{}\0{}", options.login, options.password);
        conn.send(
            0,
            ConnectionStartOk {
                client_properties: client_properties(),
                mechanism: ShortString::from_static("PLAIN"),
                response: LongString::from(response),
                locale: ShortString::from_static("en_US"),
            },
        )?;
        let tune = match conn.read_method()? {
            Method::ConnectionTune(t) => t,
            m => return Err(conn.unexpected(&m, "connection.tune")),
        };
        let frame_max = match tune.frame_max {
            0 => FRAME_MAX,
            n => n.min(FRAME_MAX),
        };
        conn.send(
            0,
            ConnectionTuneOk {
                channel_max: tune.channel_max,
                frame_max,
                heartbeat: 0,
            },
        )?;
        conn.decoder.set_frame_max(frame_max);
        conn.encoder.set_frame_max(frame_max);
        conn.send(
            0,
            ConnectionOpen {
                virtual_host: short(&options.vhost)?,
            },
        )?;
        match conn.read_method()? {
            Method::ConnectionOpenOk(_) => {}
            m => return Err(conn.unexpected(&m, "connection.open-ok")),
        }
        conn.call(ChannelOpen {}, "channel.open-ok", |m| {
            matches!(m, Method::ChannelOpenOk(_))
        })?;
        Ok(conn)
    }

    /// Declares `queue` (a subscriber's): durable and not auto-delete if `durable`, else
    /// non-durable and auto-delete. The subscriber deletes it when the run ends.
    pub(crate) fn declare_queue(&mut self, queue: &str, durable: bool) -> io::Result<()> {
        let declare = QueueDeclare {
            queue: short(queue)?,
            passive: false,
            durable,
            exclusive: false,
            auto_delete: !durable,
            no_wait: false,
            arguments: FieldTable::new(),
        };
        self.call(
            declare,
            "queue.declare-ok",
            |m| matches!(m, Method::QueueDeclareOk(ok) if ok.queue.as_bytes() == queue.as_bytes()),
        )
    }

    /// Sets the channel's prefetch-count for the consumers started after it.
    pub(crate) fn qos(&mut self, prefetch_count: u16) -> io::Result<()> {
        let qos = BasicQos {
            prefetch_size: 0,
            prefetch_count,
            global: false,
        };
        self.call(qos, "basic.qos-ok", |m| matches!(m, Method::BasicQosOk(_)))
    }

    /// Starts a consumer on `queue` with tag `consumer_tag`.
    pub(crate) fn consume(
        &mut self,
        queue: &str,
        consumer_tag: &str,
        no_ack: bool,
    ) -> io::Result<()> {
        let consume = BasicConsume {
            queue: short(queue)?,
            consumer_tag: short(consumer_tag)?,
            no_local: false,
            no_ack,
            exclusive: false,
            no_wait: false,
            arguments: FieldTable::new(),
        };
        self.call(consume, "basic.consume-ok", |m| {
            matches!(m, Method::BasicConsumeOk(ok) if ok.consumer_tag.as_bytes() == consumer_tag.as_bytes())
        })
    }

    /// Puts the channel in confirm mode.
    pub(crate) fn confirm_select(&mut self) -> io::Result<()> {
        self.call(ConfirmSelect { no_wait: false }, "confirm.select-ok", |m| {
            matches!(m, Method::ConfirmSelectOk(_))
        })
    }

    /// Sends a method on the channel and waits for the answer `is_answer` accepts.
    fn call(
        &mut self,
        method: impl Into<Method>,
        answer: &str,
        is_answer: impl Fn(&Method) -> bool,
    ) -> io::Result<()> {
        self.send(CHANNEL, method)?;
        let reply = self.read_method()?;
        if is_answer(&reply) {
            Ok(())
        } else {
            Err(self.unexpected(&reply, answer))
        }
    }

    /// Encodes and writes one method frame.
    pub(crate) fn send(&mut self, channel: u16, method: impl Into<Method>) -> io::Result<()> {
        let mut out = BytesMut::new();
        self.encoder
            .encode_method(channel, &method.into(), &mut out)
            .map_err(other)?;
        self.stream.write_all(&out)
    }

    /// Blocks until a method frame has arrived (heartbeats are skipped); a
    /// connection.close or channel.close is an error carrying its reply.
    fn read_method(&mut self) -> io::Result<Method> {
        loop {
            let frame = match self.next_frame()? {
                Some(frame) => frame,
                None if self.fill()? == 0 => return Err(io::ErrorKind::UnexpectedEof.into()),
                None => continue,
            };
            match frame {
                Frame::Heartbeat => {}
                Frame::Method { method, .. } => match method {
                    Method::ConnectionClose(_) | Method::ChannelClose(_) => {
                        return Err(self.unexpected(&method, "a reply"));
                    }
                    method => return Ok(method),
                },
                Frame::Header { .. } | Frame::Body { .. } => {
                    return Err(other(format!("{}: content before any consumer", self.name)));
                }
            }
        }
    }

    /// The next whole frame already read, if any.
    pub(crate) fn next_frame(&mut self) -> io::Result<Option<Frame>> {
        self.decoder
            .decode(&mut self.buf)
            .map_err(|e| other(format!("{}: {e}", self.name)))
    }

    /// One `read` from the socket appended to the buffer; 0 at end of stream.
    fn fill(&mut self) -> io::Result<usize> {
        let n = self.stream.read(&mut self.scratch)?;
        self.buf
            .extend_from_slice(self.scratch.get(..n).unwrap_or_default());
        Ok(n)
    }

    /// One read while a run goes on (see [`crate::conn::read_during_run`]).
    pub(crate) fn read_during_run(&mut self, stopped: impl Fn() -> bool) -> io::Result<RunRead> {
        crate::conn::read_during_run(|| self.fill(), stopped)
    }

    /// The error for a method that is not the one expected: a close's reply code and
    /// text, or the method that came instead.
    pub(crate) fn unexpected(&self, method: &Method, expected: &str) -> io::Error {
        let name = &self.name;
        let text = |t: &ShortString| String::from_utf8_lossy(t.as_bytes()).into_owned();
        match method {
            Method::ConnectionClose(c) => other(format!(
                "{name}: connection.close from the broker: {} {}",
                c.reply_code,
                text(&c.reply_text)
            )),
            Method::ChannelClose(c) => other(format!(
                "{name}: channel.close from the broker: {} {}",
                c.reply_code,
                text(&c.reply_text)
            )),
            m => other(format!("{name}: expected {expected}, got {}", m.name())),
        }
    }

    /// Deletes `queue` if given, then closes the connection (reply 200) and waits a
    /// moment for close-ok, skipping whatever else still arrives; errors are ignored,
    /// the run being over.
    pub(crate) fn close(mut self, queue: Option<&str>) {
        if let Some(queue) = queue.and_then(|q| short(q).ok()) {
            let delete = QueueDelete {
                queue,
                if_unused: false,
                if_empty: false,
                no_wait: false,
            };
            let _ = self.send(CHANNEL, delete);
        }
        let close = ConnectionClose {
            reply_code: 200,
            reply_text: ShortString::from_static("run over"),
            class_id: 0,
            method_id: 0,
        };
        if self.send(0, close).is_ok() {
            let deadline = Instant::now() + CLOSE_TIMEOUT;
            let _ = self
                .stream
                .set_read_timeout(Some(Duration::from_millis(100)));
            'wait: while Instant::now() < deadline {
                loop {
                    match self.next_frame() {
                        Ok(Some(Frame::Method {
                            method: Method::ConnectionCloseOk(_),
                            ..
                        })) => break 'wait,
                        Ok(Some(_)) => {}
                        Ok(None) => break,
                        Err(_) => break 'wait,
                    }
                }
                match self.fill() {
                    Ok(0) => break,
                    Ok(_) => {}
                    Err(e) if crate::conn::is_timeout(&e) => {}
                    Err(_) => break,
                }
            }
        }
        let _ = self.stream.shutdown(Shutdown::Both);
    }
}

/// The client-properties of connection.start-ok: the product and the capabilities the
/// clients use (publisher confirms, basic.nack, consumer cancel notifications,
/// connection.blocked, authentication failure close).
fn client_properties() -> FieldTable {
    let caps = capabilities::table(&[
        capabilities::PUBLISHER_CONFIRMS,
        capabilities::BASIC_NACK,
        capabilities::CONSUMER_CANCEL_NOTIFY,
        capabilities::CONNECTION_BLOCKED,
        capabilities::AUTHENTICATION_FAILURE_CLOSE,
    ]);
    FieldTable::new()
        .with(ShortString::from_static("product"), "switchyard-load")
        .with(
            ShortString::from_static("version"),
            env!("CARGO_PKG_VERSION"),
        )
        .with(ShortString::from_static("capabilities"), caps)
}

/// A short string of `s`, or an error naming it if it is over 255 bytes.
fn short(s: &str) -> io::Result<ShortString> {
    ShortString::new(s.to_owned()).map_err(|e| other(format!("{s:?}: {e}")))
}

/// A basic.publish to the default exchange with the queue's name as routing key, its
/// content header (delivery-mode 1 or 2, no other property) and body frames, encoded once by the
/// codec; each message is a copy with the timestamp and sequence number patched into
/// the first body frame.
#[derive(Debug)]
pub(crate) struct PublishTemplate {
    bytes: Vec<u8>,
    payload_at: usize,
}

impl PublishTemplate {
    /// Encodes a publish of `payload_size` bytes (at least 16) to `queue` with
    /// `delivery_mode` (1 transient, 2 persistent) and the connection's negotiated
    /// frame-max, then checks the offsets by decoding a patched copy.
    pub(crate) fn new(
        encoder: &Encoder,
        queue: &str,
        payload_size: usize,
        delivery_mode: u8,
    ) -> io::Result<Self> {
        if payload_size < 16 {
            return Err(other("the payload must be at least 16 bytes"));
        }
        let publish = Method::from(BasicPublish {
            exchange: ShortString::EMPTY,
            routing_key: short(queue)?,
            mandatory: false,
            immediate: false,
        });
        let properties = BasicProperties {
            delivery_mode: Some(delivery_mode),
            ..BasicProperties::default()
        };
        let header = ContentHeader::new(payload_size as u64, properties);
        let mut wire = BytesMut::new();
        encoder
            .encode_method(CHANNEL, &publish, &mut wire)
            .and_then(|()| encoder.encode_header(CHANNEL, &header, &mut wire))
            .map_err(other)?;
        let payload_at = wire.len() + FRAME_HEADER;
        encoder
            .encode_body(CHANNEL, &vec![0xA5; payload_size], &mut wire)
            .map_err(other)?;
        let template = Self {
            bytes: wire.to_vec(),
            payload_at,
        };
        template.check(encoder.frame_max(), &publish, payload_size, delivery_mode)?;
        Ok(template)
    }

    /// Decodes a patched message with the codec and compares every frame.
    fn check(
        &self,
        frame_max: u32,
        publish: &Method,
        payload_size: usize,
        delivery_mode: u8,
    ) -> io::Result<()> {
        let mut out = Vec::new();
        let seq = 0x1122_3344_5566_7788;
        self.write_to(&mut out, seq, 0x0102_0304_0506_0708);
        let mut buf = BytesMut::from(&out[..]);
        let mut decoder = Decoder::new();
        decoder.set_frame_max(frame_max);
        let mut body = Vec::new();
        let mut ok = matches!(
            decoder.decode(&mut buf),
            Ok(Some(Frame::Method { channel: CHANNEL, method })) if method == *publish
        ) && matches!(
            decoder.decode(&mut buf),
            Ok(Some(Frame::Header { channel: CHANNEL, header }))
                if header.body_size == payload_size as u64
                    && header.properties.delivery_mode == Some(delivery_mode)
        );
        while ok && !buf.is_empty() {
            match decoder.decode(&mut buf) {
                Ok(Some(Frame::Body {
                    channel: CHANNEL,
                    body: b,
                })) => body.extend_from_slice(&b),
                _ => ok = false,
            }
        }
        let ok = ok
            && body.len() == payload_size
            && body.get(..8) == Some(&0x0102_0304_0506_0708u64.to_le_bytes()[..])
            && body.get(8..16) == Some(&seq.to_le_bytes()[..]);
        if ok {
            Ok(())
        } else {
            Err(other(
                "basic.publish template does not decode to what was patched",
            ))
        }
    }
}

impl MessageTemplate for PublishTemplate {
    fn len(&self) -> usize {
        self.bytes.len()
    }

    #[inline]
    fn write_to(&self, out: &mut Vec<u8>, seq: u64, sent_ns: u64) {
        let start = out.len();
        out.extend_from_slice(&self.bytes);
        // The first body frame holds at least 16 bytes: frame-max is at least 4,096.
        if let Some(stamp) = out.get_mut(start + self.payload_at..start + self.payload_at + 16) {
            let (time, number) = stamp.split_at_mut(8);
            time.copy_from_slice(&sent_ns.to_le_bytes());
            number.copy_from_slice(&seq.to_le_bytes());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn publish_templates_decode() {
        for frame_max in [4096, 131_072] {
            let mut encoder = Encoder::new();
            encoder.set_frame_max(frame_max);
            for size in [16, 64, 4000, 4088, 4089, 20_000, 300_000] {
                for mode in [1, 2] {
                    PublishTemplate::new(&encoder, "load-1a2b3-7", size, mode).unwrap();
                }
            }
        }
        assert!(PublishTemplate::new(&Encoder::new(), "q", 15, 1).is_err());
        assert!(PublishTemplate::new(&Encoder::new(), &"q".repeat(256), 64, 2).is_err());
    }

    #[test]
    fn client_properties_offer_confirms() {
        assert!(capabilities::has(
            &client_properties(),
            capabilities::PUBLISHER_CONFIRMS
        ));
    }

    #[test]
    fn queues_are_named_as_documented() {
        assert_eq!(AmqpOptions::queue("ab", 3), "load-ab-3");
    }
}
