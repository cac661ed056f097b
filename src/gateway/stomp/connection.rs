//! One STOMP connection's protocol state and its frame handlers.

use std::collections::HashMap;
use std::pin::pin;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use bytestring::ByteString;
use switchyard_stomp::{
    AckMode, Command, ConnectedFrame, Decoder, ErrorFrame, Frame, Header, HeartBeat, ReceiptFrame,
    Version, Versions,
};

use super::consumer::{Naming, StompConsumer, Subscription};
use super::headers::message_from_send;
use super::{Flow, error_frame};
use crate::core::exchange::QueueName;
use crate::core::mapping::{StompDestination, TOPIC_EXCHANGE};
use crate::core::message::{Origin, Pressure};
use crate::core::queue::{Consume, QueueConfig};
use crate::core::shard::{ConfirmTo, QueueOp, QueueReply, Settle};
use crate::gateway::GatewayContext;
use crate::server::outbox::{Outbox, until};
use crate::server::transport::AckOnWrite;

/// The server's name in CONNECTED.
const SERVER: &str = concat!("Switchyard/", env!("CARGO_PKG_VERSION"));
/// Frames a transaction may hold before COMMIT.
const MAX_TRANSACTION_FRAMES: usize = 10_000;

/// Why a frame failed: the ERROR frame's `message` header and body.
#[derive(Debug)]
struct Failure {
    message: &'static str,
    detail: String,
}

fn failure(message: &'static str, detail: impl Into<String>) -> Failure {
    Failure {
        message,
        detail: detail.into(),
    }
}

/// A connection after CONNECTED.
struct Connected {
    version: Version,
    /// How long the client may stay silent (twice its heart-beat interval).
    silence: Option<Duration>,
}

/// One STOMP connection's protocol state.
pub(super) struct Connection {
    ctx: Rc<GatewayContext>,
    outbox: Rc<Outbox>,
    consumer: Rc<StompConsumer>,
    consumer_key: Option<u64>,
    /// The frame being handled sent its RECEIPT off to wait (a persistent SEND).
    receipt_deferred: bool,
    id: u64,
    connected: Option<Connected>,
    transactions: HashMap<ByteString, Vec<Frame>>,
    /// `/temp-queue/{name}` -> the queue created for it.
    temp_queues: HashMap<ByteString, QueueName>,
    /// `/queue/` queues this connection declared already: a SEND declares its queue
    /// once, not on every frame (a round trip to the queue's home shard).
    declared: std::collections::HashSet<QueueName>,
    /// How many of this connection's messages queues hold over their high-water mark.
    pressure: Arc<Pressure>,
}

mod subscriptions;

impl Connection {
    pub(super) fn new(
        ctx: Rc<GatewayContext>,
        outbox: Rc<Outbox>,
        auto: Rc<AckOnWrite>,
        id: u64,
    ) -> Self {
        let consumer = Rc::new(StompConsumer::new(outbox.clone(), ctx.shard.clone(), auto));
        Self {
            ctx,
            outbox,
            consumer,
            consumer_key: None,
            receipt_deferred: false,
            id,
            connected: None,
            transactions: HashMap::new(),
            temp_queues: HashMap::new(),
            declared: std::collections::HashSet::new(),
            pressure: Pressure::new(),
        }
    }

    /// How long to wait for the next bytes: `None` before CONNECT (the caller's connect
    /// timeout), `Some(None)` for no limit.
    pub(super) fn read_timeout(&self) -> Option<Option<Duration>> {
        self.connected.as_ref().map(|c| c.silence)
    }

    /// The gauge to wait on before reading more: a queue holds this connection's
    /// messages over its high-water mark. A connection with client-ack subscriptions is
    /// never held back: its ACKs come in on the same stream, and a connection that stops
    /// reading them could wait for itself.
    pub(super) fn held_back(&self) -> Option<&Arc<Pressure>> {
        (self.pressure.held() > 0 && !self.acks_client_side()).then_some(&self.pressure)
    }

    fn acks_client_side(&self) -> bool {
        self.consumer
            .subscriptions
            .borrow()
            .values()
            .any(|s| s.ack != AckMode::Auto)
    }

    fn version(&self) -> Version {
        self.connected.as_ref().map_or(Version::V1_0, |c| c.version)
    }

    /// Sends an ERROR frame and closes the connection.
    pub(super) fn fail(&self, message: &str, detail: &str, receipt: Option<&str>) {
        error_frame(&self.outbox, self.version(), message, detail, receipt);
        self.outbox.close();
    }

    /// Handles one frame.
    pub(super) async fn handle(&mut self, frame: Frame, decoder: &mut Decoder) -> Flow {
        let receipt = frame.header("receipt").cloned();
        let result = match self.connected.as_ref().map(|c| c.version) {
            None => match frame.command {
                Command::Connect | Command::Stomp => Box::pin(self.connect(&frame, decoder)).await,
                other => Err(failure("not connected", format!("{other} before CONNECT"))),
            },
            Some(version) => match frame.validate(version) {
                Err(e) => Err(failure(e.message(), e.to_string())),
                Ok(()) => Box::pin(self.dispatch(frame)).await,
            },
        };
        match result {
            Ok(flow) => {
                // A persistent SEND's receipt waits for its queues (see `send`).
                let deferred = std::mem::take(&mut self.receipt_deferred);
                if let Some(receipt) = receipt
                    && self.connected.is_some()
                    && !deferred
                {
                    let version = self.version();
                    self.outbox.push(|buf| {
                        ReceiptFrame {
                            receipt_id: &receipt,
                        }
                        .encode(version, buf)
                    });
                }
                if flow == Flow::Close {
                    self.outbox.close();
                }
                flow
            }
            Err(f) => {
                self.fail(f.message, &f.detail, receipt.as_deref());
                Flow::Close
            }
        }
    }

    async fn dispatch(&mut self, frame: Frame) -> Result<Flow, Failure> {
        match frame.command {
            Command::Send => {
                if let Some(tx) = frame.header("transaction").cloned() {
                    return self.buffer(tx, frame);
                }
                self.send(frame).await?;
            }
            Command::Ack | Command::Nack => {
                if let Some(tx) = frame.header("transaction").cloned() {
                    return self.buffer(tx, frame);
                }
                self.settle(&frame)?;
            }
            Command::Subscribe => self.subscribe(&frame).await?,
            Command::Unsubscribe => self.unsubscribe(&frame).await?,
            Command::Begin => {
                let tx = required(&frame, "transaction")?;
                if self.transactions.contains_key(&tx) {
                    return Err(failure(
                        "transaction already active",
                        format!("transaction {tx} is already active"),
                    ));
                }
                self.transactions.insert(tx, Vec::new());
            }
            Command::Commit => {
                let tx = required(&frame, "transaction")?;
                let frames = self
                    .transactions
                    .remove(&tx)
                    .ok_or_else(|| unknown_tx(&tx))?;
                for frame in frames {
                    match frame.command {
                        Command::Send => self.send(frame).await?,
                        _ => self.settle(&frame)?,
                    }
                }
            }
            Command::Abort => {
                let tx = required(&frame, "transaction")?;
                self.transactions
                    .remove(&tx)
                    .ok_or_else(|| unknown_tx(&tx))?;
            }
            Command::Disconnect => return Ok(Flow::Close),
            Command::Connect | Command::Stomp => {
                return Err(failure("already connected", "a second CONNECT"));
            }
            other => {
                return Err(failure(
                    "unexpected frame",
                    format!("{other} is a server frame"),
                ));
            }
        }
        Ok(Flow::Continue)
    }

    fn buffer(&mut self, tx: ByteString, frame: Frame) -> Result<Flow, Failure> {
        let frames = self
            .transactions
            .get_mut(&tx)
            .ok_or_else(|| unknown_tx(&tx))?;
        if frames.len() >= MAX_TRANSACTION_FRAMES {
            return Err(failure(
                "transaction too large",
                format!("at most {MAX_TRANSACTION_FRAMES} frames per transaction"),
            ));
        }
        frames.push(frame);
        Ok(Flow::Continue)
    }

    // ---- CONNECT ----------------------------------------------------------------------

    async fn connect(&mut self, frame: &Frame, decoder: &mut Decoder) -> Result<Flow, Failure> {
        let accept = frame.header("accept-version").map(|v| &**v);
        let Some(version) = Versions::ALL.negotiate(accept) else {
            let headers = [Header::from_static(
                "version",
                Versions::ALL.as_header_value(),
            )];
            let error = ErrorFrame {
                message: "Supported protocol versions are 1.0,1.1,1.2",
                receipt_id: None,
                content_type: Some("text/plain"),
                headers: &headers,
                body: b"accept-version names no version this server speaks",
            };
            self.outbox.push(|buf| error.encode(Version::V1_0, buf));
            self.outbox.close();
            return Ok(Flow::Close);
        };
        // The host header names the virtual host, as RabbitMQ reads it; this server has
        // "/", which an absent header means too.
        if let Some(host) = frame.header("host")
            && &**host != "/"
        {
            return Err(failure(
                "Virtual host access denied",
                format!("no virtual host '{host}'; this server has '/'"),
            ));
        }
        let config = &self.ctx.shared.config;
        match (frame.header("login"), frame.header("passcode")) {
            (None, _) if config.mqtt.allow_anonymous => {}
            (Some(login), Some(passcode)) if &**login == "guest" && &**passcode == "guest" => {}
            (login, _) => {
                return Err(failure(
                    "Bad CONNECT",
                    format!("Access refused for user '{}'", login.map_or("", |l| &**l)),
                ));
            }
        }
        let client = frame
            .heart_beat()
            .map_err(|e| failure(e.message(), e.to_string()))?;
        let ms = config.stomp.heartbeat_ms;
        let server = HeartBeat::new(ms, ms);
        let intervals = if version == Version::V1_0 {
            HeartBeat::negotiate(HeartBeat::NONE, HeartBeat::NONE)
        } else {
            HeartBeat::negotiate(client, server)
        };
        let session = format!("session-{}-{}", self.ctx.shard.id(), self.id);
        let connected = ConnectedFrame {
            version,
            heart_beat: (version != Version::V1_0).then_some(server),
            session: Some(&session),
            server: Some(SERVER),
        };
        self.outbox.push(|buf| connected.encode(buf));
        decoder.set_version(version);
        self.consumer.version.set(version);
        self.consumer_key = Some(self.ctx.shard.register_consumer(self.consumer.clone()));
        if let Some(every) = intervals.server_to_client {
            compio::runtime::spawn(send_heart_beats(self.outbox.clone(), every)).detach();
        }
        self.connected = Some(Connected {
            version,
            silence: intervals.client_to_server.map(|d| d * 2),
        });
        Ok(Flow::Continue)
    }

    // ---- SEND -------------------------------------------------------------------------

    async fn send(&mut self, mut frame: Frame) -> Result<(), Failure> {
        let destination = required(&frame, "destination")?;
        let parsed = StompDestination::parse(&destination)
            .map_err(|e| failure("Unknown destination", format!("'{destination}': {e}")))?;
        // A reply-to naming a temp queue gets that queue, and the header its real name.
        if let Some(reply_to) = frame.header("reply-to").cloned()
            && let Ok(StompDestination::TempQueue(name)) = StompDestination::parse(&reply_to)
        {
            let queue = self.temp_queue(&reply_to, &name).await?;
            frame.headers.remove("reply-to");
            frame
                .headers
                .push("reply-to", format!("/reply-queue/{queue}"));
        }
        let (exchange, key) = match &parsed {
            StompDestination::TempQueue(name) => {
                let queue = self.temp_queue(&destination, name).await?;
                (String::new(), queue.as_str().to_owned())
            }
            other => {
                let Some((exchange, key)) = other.publish_target() else {
                    return Err(failure("Unknown destination", destination.to_string()));
                };
                (exchange.to_owned(), key.to_owned())
            }
        };
        if let StompDestination::Queue(name) = &parsed
            && !self.declared.contains(name.as_ref())
        {
            self.declare(name, durable_queue()).await?;
            self.declared.insert(name.as_ref().into());
        }
        let origin = Origin {
            shard: self.ctx.shard.id(),
            session: 0,
        };
        let mut message = message_from_send(&frame, key.as_str().into(), origin);
        if !self.acks_client_side() {
            message.pressure = Some(self.pressure.clone());
        }
        // A persistent SEND with a receipt: the RECEIPT goes out once every queue took
        // the message, and a durable queue's log has it on disk.
        let confirm = match (
            message.persistent,
            frame.header("receipt"),
            self.consumer_key,
        ) {
            (true, Some(_), Some(key)) => Some(ConfirmTo {
                shard: self.ctx.shard.id(),
                channel: 0,
                key,
                seq: self.consumer.next_receipt(),
            }),
            _ => None,
        };
        let routed = self
            .ctx
            .shard
            .publish_routed(&exchange, &key, None, message, confirm)
            .map_err(|e| failure("Cannot publish", format!("{destination}: {e}")))?;
        if let (Some(confirm), Some(receipt)) = (confirm, frame.header("receipt")) {
            if routed.rejected {
                return Err(failure(
                    "Message rejected",
                    format!("{destination}: a queue refused it (x-overflow reject-publish)"),
                ));
            }
            if routed.pending > 0 {
                self.consumer
                    .receipts
                    .borrow_mut()
                    .insert(confirm.seq, (routed.pending, false, receipt.clone()));
                self.receipt_deferred = true;
            }
        }
        for (shard, msg) in routed.out {
            self.ctx.shard.send(shard, msg).await;
        }
        Ok(())
    }

    /// The queue behind `/temp-queue/{name}` of this connection, created on first use
    /// with a subscription that delivers its messages here.
    async fn temp_queue(&mut self, destination: &str, name: &str) -> Result<QueueName, Failure> {
        if let Some(queue) = self.temp_queues.get(name) {
            return Ok(queue.clone());
        }
        let queue = self.ctx.shard.local_queue_name("amq.gen-");
        self.declare(queue.as_str(), private_queue()).await?;
        let sub = Subscription {
            id: destination.into(),
            naming: Naming::Fixed(destination.into()),
            ack: AckMode::Auto,
            queue: queue.clone(),
            owns_queue: true,
        };
        self.consume(sub, None, false).await?;
        self.temp_queues.insert(name.into(), queue.clone());
        Ok(queue)
    }

    /// The connection is over: its subscriptions end (unacknowledged messages back to
    /// their queues, redelivered; private queues deleted) and transactions are dropped.
    pub(super) async fn finish(&mut self) {
        let subs: Vec<_> = self
            .consumer
            .subscriptions
            .borrow()
            .iter()
            .map(|(t, s)| (t.clone(), s.clone()))
            .collect();
        for (tag, sub) in subs {
            let delete = sub.owns_queue;
            self.end_subscription(&tag, &sub, delete).await;
        }
        if let Some(key) = self.consumer_key.take() {
            self.ctx.shard.unregister_consumer(key);
        }
        self.transactions.clear();
    }
}

fn required(frame: &Frame, name: &'static str) -> Result<ByteString, Failure> {
    frame.header(name).cloned().ok_or_else(|| {
        failure(
            "missing header",
            format!("{} frame needs a '{name}' header", frame.command),
        )
    })
}

fn unknown_tx(tx: &str) -> Failure {
    failure(
        "Invalid transaction",
        format!("transaction '{tx}' is not active"),
    )
}

fn flag(frame: &Frame, name: &str) -> bool {
    frame.header(name).is_some_and(|v| &**v == "true")
}

/// `/queue/` queues: durable, shared, kept (as RabbitMQ's STOMP plugin declares them).
fn durable_queue() -> QueueConfig {
    QueueConfig {
        durable: true,
        ..QueueConfig::default()
    }
}

/// A subscription's or a reply's own queue: gone with the subscription.
fn private_queue() -> QueueConfig {
    QueueConfig {
        exclusive: true,
        auto_delete: true,
        ..QueueConfig::default()
    }
}

/// Sends an EOL every `every` until the connection closes.
async fn send_heart_beats(outbox: Rc<Outbox>, every: Duration) {
    loop {
        let tick = compio::time::sleep(every);
        if until(pin!(tick), pin!(outbox.closed())).await.is_none() {
            return;
        }
        if outbox.push(|buf| buf.extend_from_slice(b"\n")).is_none() {
            return;
        }
    }
}
