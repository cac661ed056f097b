//! One AMQP connection: the handshake (start, start-ok with PLAIN or AMQPLAIN, tune,
//! tune-ok, open), channels opening and closing, connection and channel exceptions,
//! and the dispatch of every other frame to its channel.

use std::cell::{Cell, RefCell};
use std::collections::{HashMap, HashSet};
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use switchyard_amqp::{
    ChannelClose, ChannelCloseOk, ChannelOpenOk, ConnectionBlocked, ConnectionClose,
    ConnectionCloseOk, ConnectionOpenOk, ConnectionStart, ConnectionTune, ConnectionUnblocked,
    Decoder, FieldTable, Frame, LongString, Method, ReplyCode, ShortString, capabilities,
};

use super::Flow;
use super::channel::Channel;
use super::consumer::AmqpConsumer;
use super::convert::short;
use crate::core::exchange::QueueName;
use crate::core::exchange::reply_code::is_connection_error;
use crate::core::message::Pressure;
use crate::core::shard::{Owner, QueueOp, QueueReply};
use crate::gateway::GatewayContext;
use crate::server::outbox::Outbox;
use crate::server::transport::AckOnWrite;

/// How long a client has to finish the handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a closing connection waits for connection.close-ok.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(3);

/// An AMQP exception: the reply code and text that channel.close or connection.close
/// carries; the method that caused it is filled in by the dispatcher.
#[derive(Debug)]
pub(super) struct AmqpError {
    pub(super) code: u16,
    pub(super) text: String,
}

/// A reply code: a [`ReplyCode`], or a core error's number.
pub(super) trait Code {
    fn number(self) -> u16;
}

impl Code for u16 {
    fn number(self) -> u16 {
        self
    }
}

impl Code for ReplyCode {
    fn number(self) -> u16 {
        self.code()
    }
}

/// An exception with `code`.
pub(super) fn error(code: impl Code, text: impl Into<String>) -> AmqpError {
    AmqpError {
        code: code.number(),
        text: text.into(),
    }
}

/// What the channels of a connection share.
pub(super) struct Env {
    pub(super) ctx: Rc<GatewayContext>,
    pub(super) outbox: Rc<Outbox>,
    pub(super) consumer: Rc<AmqpConsumer>,
    pub(super) consumer_key: u64,
    pub(super) id: u64,
    /// Exclusive queues this connection declared: deleted when it closes.
    pub(super) exclusive: RefCell<HashSet<QueueName>>,
    /// Backpressure: queues over their high-water mark hold this connection's
    /// messages, and it reads nothing more until they are released.
    pub(super) pressure: Arc<Pressure>,
    /// The client takes connection.blocked / .unblocked.
    pub(super) blocked_capable: Cell<bool>,
}

impl Env {
    /// Runs a queue operation as this connection (exclusive queues are its own).
    pub(super) async fn queue_op(&self, queue: QueueName, op: QueueOp) -> QueueReply {
        let owner = Owner {
            shard: self.ctx.shard.id(),
            connection: self.id,
        };
        self.ctx.shard.queue_op_by(queue, op, Some(owner)).await
    }

    /// Sends a method on `channel`.
    pub(super) fn send(&self, channel: u16, method: impl Into<Method>) {
        let method = method.into();
        let encoder = self.consumer.encoder();
        self.outbox
            .push(|buf| encoder.encode_method(channel, &method, buf));
    }
}

/// Where the handshake is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    StartOk,
    TuneOk,
    Open,
    Running,
    /// connection.close sent; waiting for close-ok.
    Closing,
}

/// One AMQP connection's protocol state.
pub(super) struct Connection {
    env: Env,
    phase: Phase,
    heartbeat: u16,
    channels: HashMap<u16, Channel>,
}

impl Connection {
    pub(super) fn new(
        ctx: Rc<GatewayContext>,
        outbox: Rc<Outbox>,
        auto: Rc<AckOnWrite>,
        id: u64,
    ) -> Self {
        let consumer = Rc::new(AmqpConsumer::new(outbox.clone(), ctx.shard.clone(), auto));
        let consumer_key = ctx.shard.register_consumer(consumer.clone());
        Self {
            env: Env {
                ctx,
                outbox,
                consumer,
                consumer_key,
                id,
                exclusive: RefCell::new(HashSet::new()),
                pressure: Pressure::new(),
                blocked_capable: Cell::new(false),
            },
            phase: Phase::StartOk,
            heartbeat: 0,
            channels: HashMap::new(),
        }
    }

    /// How long to wait for the next bytes: `None` for no limit.
    pub(super) fn read_timeout(&self) -> Option<Duration> {
        match self.phase {
            Phase::Closing => Some(CLOSE_TIMEOUT),
            Phase::Running if self.heartbeat == 0 => None,
            // A client silent for two heartbeat intervals is gone.
            Phase::Running => Some(Duration::from_secs(u64::from(self.heartbeat) * 2)),
            _ => Some(HANDSHAKE_TIMEOUT),
        }
    }

    /// The gauge to wait on before reading more, while queues hold this connection's
    /// messages over their high-water mark. A connection that also consumes with
    /// acknowledgements is never held: it must go on reading its acks, or the queue it
    /// drains could not go down.
    pub(super) fn held_back(&self) -> Option<Arc<Pressure>> {
        let pressure = &self.env.pressure;
        (pressure.held() > 0 && !self.env.consumer.acknowledges()).then(|| pressure.clone())
    }

    /// Tells a client that takes it that the server stopped reading (`blocked`) or
    /// reads again.
    pub(super) fn notify_blocked(&self, blocked: bool) {
        if !self.env.blocked_capable.get() {
            return;
        }
        if blocked {
            let reason = ShortString::from_static("queue over its high-water mark");
            self.env.send(0, ConnectionBlocked { reason });
        } else {
            self.env.send(0, ConnectionUnblocked {});
        }
    }

    /// The negotiated heartbeat interval, once tuned (0: none).
    pub(super) fn heartbeat(&self) -> u16 {
        self.heartbeat
    }

    /// Sends connection.start, after the protocol header.
    pub(super) fn start(&self) {
        let mut server = FieldTable::new();
        server.push(ShortString::from_static("product"), "Switchyard");
        server.push(
            ShortString::from_static("version"),
            env!("CARGO_PKG_VERSION"),
        );
        server.push(ShortString::from_static("platform"), "Rust");
        server.push(
            ShortString::from_static("capabilities"),
            capabilities::table(&[
                capabilities::PUBLISHER_CONFIRMS,
                capabilities::EXCHANGE_EXCHANGE_BINDINGS,
                capabilities::BASIC_NACK,
                capabilities::CONSUMER_CANCEL_NOTIFY,
                capabilities::AUTHENTICATION_FAILURE_CLOSE,
                capabilities::PER_CONSUMER_QOS,
            ]),
        );
        self.env.send(
            0,
            ConnectionStart {
                version_major: 0,
                version_minor: 9,
                server_properties: server,
                mechanisms: LongString::from_static("PLAIN AMQPLAIN"),
                locales: LongString::from_static("en_US"),
            },
        );
    }

    /// Handles one frame.
    pub(super) async fn handle(&mut self, frame: Frame, decoder: &mut Decoder) -> Flow {
        if self.phase == Phase::Closing {
            return match frame {
                Frame::Method {
                    method: Method::ConnectionCloseOk(_),
                    ..
                } => Flow::Close,
                Frame::Method {
                    method: Method::ConnectionClose(_),
                    ..
                } => {
                    self.env.send(0, ConnectionCloseOk {});
                    Flow::Close
                }
                _ => Flow::Continue,
            };
        }
        let (channel, ids) = match &frame {
            Frame::Method { channel, method } => {
                (*channel, (method.class_id(), method.method_id()))
            }
            other => (other.channel(), (0, 0)),
        };
        let result = match frame {
            Frame::Heartbeat => Ok(Flow::Continue),
            Frame::Method { channel: 0, method } => self.connection_method(method, decoder),
            _ if self.phase != Phase::Running => Err(error(
                ReplyCode::CommandInvalid,
                "COMMAND_INVALID - the connection is not open",
            )),
            Frame::Method {
                channel,
                method: Method::ChannelOpen(_),
            } => self.open_channel(channel).map(|()| Flow::Continue),
            frame => Box::pin(self.channel_frame(frame))
                .await
                .map(|()| Flow::Continue),
        };
        match result {
            Ok(flow) => flow,
            Err(e) if channel == 0 || is_connection_error(e.code) => {
                self.close_connection(e, ids);
                Flow::Continue
            }
            Err(e) => {
                Box::pin(self.close_channel(channel, e, ids)).await;
                Flow::Continue
            }
        }
    }

    /// Sends connection.close and waits for close-ok.
    pub(super) fn close_connection(&mut self, e: AmqpError, (class_id, method_id): (u16, u16)) {
        tracing::debug!(code = e.code, text = %e.text, "AMQP connection exception");
        self.env.send(
            0,
            ConnectionClose {
                reply_code: e.code,
                reply_text: short(&e.text),
                class_id,
                method_id,
            },
        );
        self.phase = Phase::Closing;
    }

    fn connection_method(
        &mut self,
        method: Method,
        decoder: &mut Decoder,
    ) -> Result<Flow, AmqpError> {
        match (self.phase, method) {
            (Phase::StartOk, Method::ConnectionStartOk(ok)) => {
                let client = &ok.client_properties;
                let has = |name| capabilities::has(client, name);
                self.env
                    .blocked_capable
                    .set(has(capabilities::CONNECTION_BLOCKED));
                self.env
                    .consumer
                    .cancel_notify
                    .set(has(capabilities::CONSUMER_CANCEL_NOTIFY));
                let failure_close = has(capabilities::AUTHENTICATION_FAILURE_CLOSE);
                let credentials = match ok.mechanism.as_bytes() {
                    b"PLAIN" => plain(ok.response.as_bytes()),
                    b"AMQPLAIN" => amqplain(ok.response.as_bytes()),
                    _ => None,
                };
                let accepted = credentials
                    .as_ref()
                    .is_some_and(|(user, pass)| user == "guest" && pass == "guest");
                if !accepted && !failure_close {
                    // A client without authentication_failure_close is just closed on,
                    // as the 0-9-1 spec has it and RabbitMQ does.
                    tracing::debug!("AMQP login refused; the client takes no close");
                    return Ok(Flow::Close);
                }
                if !accepted {
                    let user = credentials.map(|(u, _)| u).unwrap_or_default();
                    return Err(error(
                        ReplyCode::AccessRefused,
                        format!(
                            "ACCESS_REFUSED - Login was refused using authentication mechanism {}. \
                             For details see the broker logfile. (user '{user}')",
                            String::from_utf8_lossy(ok.mechanism.as_bytes())
                        ),
                    ));
                }
                let c = &self.env.ctx.shared.config.amqp;
                self.env.send(
                    0,
                    ConnectionTune {
                        channel_max: c.channel_max,
                        frame_max: c.frame_max,
                        heartbeat: c.heartbeat,
                    },
                );
                self.phase = Phase::TuneOk;
            }
            (Phase::TuneOk, Method::ConnectionTuneOk(ok)) => {
                let c = &self.env.ctx.shared.config.amqp;
                let frame_max = match ok.frame_max {
                    0 => c.frame_max,
                    n => n.min(c.frame_max),
                };
                if frame_max < switchyard_amqp::FRAME_MIN_SIZE {
                    return Err(error(
                        ReplyCode::NotAllowed,
                        format!("NOT_ALLOWED - frame_max {frame_max} is below 4096"),
                    ));
                }
                let channel_max = match ok.channel_max {
                    0 => c.channel_max,
                    n => n.min(c.channel_max),
                };
                decoder.set_frame_max(frame_max);
                decoder.set_channel_max(channel_max);
                self.env.consumer.frame_max.set(frame_max);
                self.heartbeat = ok.heartbeat;
                self.phase = Phase::Open;
            }
            (Phase::Open, Method::ConnectionOpen(open)) => {
                if open.virtual_host.as_bytes() != b"/" {
                    return Err(error(
                        ReplyCode::NotAllowed,
                        format!(
                            "NOT_ALLOWED - vhost {} not found",
                            String::from_utf8_lossy(open.virtual_host.as_bytes())
                        ),
                    ));
                }
                self.env.send(0, ConnectionOpenOk {});
                self.phase = Phase::Running;
            }
            (_, Method::ConnectionClose(_)) => {
                self.env.send(0, ConnectionCloseOk {});
                return Ok(Flow::Close);
            }
            (_, other) => {
                return Err(error(
                    ReplyCode::CommandInvalid,
                    format!("COMMAND_INVALID - unexpected {} on channel 0", other.name()),
                ));
            }
        }
        Ok(Flow::Continue)
    }

    fn open_channel(&mut self, channel: u16) -> Result<(), AmqpError> {
        if self.channels.contains_key(&channel) {
            return Err(error(
                ReplyCode::ChannelError,
                format!("CHANNEL_ERROR - second 'channel.open' seen on channel {channel}"),
            ));
        }
        self.channels.insert(channel, Channel::new(channel));
        self.env.send(channel, ChannelOpenOk {});
        Ok(())
    }

    async fn channel_frame(&mut self, frame: Frame) -> Result<(), AmqpError> {
        let id = frame.channel();
        let Some(channel) = self.channels.get_mut(&id) else {
            return Err(error(
                ReplyCode::ChannelError,
                format!("CHANNEL_ERROR - channel {id} is not open"),
            ));
        };
        if channel.closing {
            // After channel.close, everything but close-ok (and close) is dropped.
            match frame {
                Frame::Method {
                    method: Method::ChannelCloseOk(_),
                    ..
                } => {
                    self.channels.remove(&id);
                }
                Frame::Method {
                    method: Method::ChannelClose(_),
                    ..
                } => self.env.send(id, ChannelCloseOk {}),
                _ => {}
            }
            return Ok(());
        }
        match frame {
            Frame::Method {
                method: Method::ChannelClose(_),
                ..
            } => {
                if let Some(mut channel) = self.channels.remove(&id) {
                    channel.teardown(&self.env).await;
                }
                self.env.send(id, ChannelCloseOk {});
                Ok(())
            }
            Frame::Method { method, .. } => channel.handle(&self.env, method).await,
            Frame::Header { header, .. } => channel.handle_header(&self.env, header).await,
            Frame::Body { body, .. } => channel.handle_body(&self.env, body).await,
            Frame::Heartbeat => Ok(()),
        }
    }

    /// A channel exception: channel.close, the channel's state dropped (its unacked
    /// deliveries requeued), and everything but close-ok ignored until it comes.
    async fn close_channel(&mut self, id: u16, e: AmqpError, (class_id, method_id): (u16, u16)) {
        tracing::debug!(channel = id, code = e.code, text = %e.text, "AMQP channel exception");
        if let Some(channel) = self.channels.get_mut(&id) {
            channel.teardown(&self.env).await;
            channel.closing = true;
        }
        self.env.send(
            id,
            ChannelClose {
                reply_code: e.code,
                reply_text: short(&e.text),
                class_id,
                method_id,
            },
        );
    }

    /// The connection is over: every channel's consumers are cancelled and its unacked
    /// deliveries requeued; exclusive queues are deleted.
    pub(super) async fn finish(&mut self) {
        let channels: Vec<u16> = self.channels.keys().copied().collect();
        for id in channels {
            if let Some(mut channel) = self.channels.remove(&id) {
                channel.teardown(&self.env).await;
            }
        }
        let exclusive: Vec<QueueName> = self.env.exclusive.borrow_mut().drain().collect();
        for queue in exclusive {
            let op = QueueOp::Delete {
                if_unused: false,
                if_empty: false,
            };
            if let QueueReply::Failed(e) = self.env.ctx.shard.queue_op(queue, op).await {
                tracing::debug!(%e, "deleting an exclusive queue");
            }
        }
        self.env
            .ctx
            .shard
            .unregister_consumer(self.env.consumer_key);
    }
}

/// PLAIN: `authzid \0 user \0 password`.
fn plain(response: &[u8]) -> Option<(String, String)> {
    let mut parts = response.split(|&b| b == 0);
    let _authzid = parts.next()?;
    let user = std::str::from_utf8(parts.next()?).ok()?;
    let pass = std::str::from_utf8(parts.next()?).ok()?;
    parts
        .next()
        .is_none()
        .then(|| (user.to_owned(), pass.to_owned()))
}

/// AMQPLAIN: a field table without its length prefix, with `LOGIN` and `PASSWORD`.
fn amqplain(response: &[u8]) -> Option<(String, String)> {
    let mut rest = Bytes::copy_from_slice(response);
    let (mut login, mut password) = (None, None);
    while !rest.is_empty() {
        let len = usize::from(*rest.first()?);
        let name = rest.get(1..1 + len)?.to_vec();
        let kind = *rest.get(1 + len)?;
        let at = 2 + len;
        let value = match kind {
            b'S' => {
                let n = u32::from_be_bytes(rest.get(at..at + 4)?.try_into().ok()?) as usize;
                let value = rest.get(at + 4..at + 4 + n)?.to_vec();
                rest = rest.slice(at + 4 + n..);
                value
            }
            _ => return None,
        };
        let value = String::from_utf8(value).ok()?;
        match &name[..] {
            b"LOGIN" => login = Some(value),
            b"PASSWORD" => password = Some(value),
            _ => {}
        }
    }
    Some((login?, password?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_and_amqplain_responses() {
        assert_eq!(
            plain(b"\0guest\0pw"),
            Some(("guest".to_owned(), "pw".to_owned()))
        );
        assert_eq!(plain(b"guest"), None);
        let mut table = Vec::new();
        for (name, value) in [("LOGIN", "guest"), ("PASSWORD", "secret")] {
            table.push(name.len() as u8);
            table.extend_from_slice(name.as_bytes());
            table.push(b'S');
            table.extend_from_slice(&(value.len() as u32).to_be_bytes());
            table.extend_from_slice(value.as_bytes());
        }
        assert_eq!(
            amqplain(&table),
            Some(("guest".to_owned(), "secret".to_owned()))
        );
        assert_eq!(amqplain(&table[..table.len() - 1]), None);
    }
}
