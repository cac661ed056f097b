//! One channel: content assembly of basic.publish (method, header, body frames),
//! publishing with `mandatory` returns, publisher confirms and transactions, and the
//! dispatch of the channel's methods (the exchange and queue class in `topology.rs`,
//! consumers and acknowledgements in `basic.rs`).

use std::collections::HashMap;

use bytes::{Bytes, BytesMut};
use bytestring::ByteString;
use switchyard_amqp::{
    BasicProperties, BasicPublish, BasicReturn, ChannelFlowOk, ConfirmSelectOk, ContentHeader,
    Method, ReplyCode, ShortString, TxCommitOk, TxRollbackOk, TxSelectOk,
};

use super::connection::{AmqpError, Env, error};
use super::convert::{core_table, message_from_publish, short};
use crate::core::exchange::QueueName;
use crate::core::message::Origin;
use crate::core::shard::{ConfirmTo, PublishError, Routed, Settle};

/// The largest message body accepted (RabbitMQ's default `max_message_size`).
const MAX_MESSAGE_SIZE: u64 = 128 * 1024 * 1024;
/// Publishes and acknowledgements one transaction may hold before commit.
const MAX_TRANSACTION_ITEMS: usize = 100_000;

/// A basic.publish whose content is still arriving.
struct Incoming {
    publish: BasicPublish,
    header: Option<ContentHeader>,
    body: Vec<Bytes>,
    received: u64,
}

/// A complete publish.
pub(super) struct Ready {
    publish: BasicPublish,
    properties: BasicProperties,
    body: Bytes,
}

/// What a transaction holds until tx.commit.
#[derive(Default)]
pub(super) struct Tx {
    publishes: Vec<Ready>,
    /// basic.ack / .nack / .reject: (delivery tag, multiple, how).
    pub(super) settles: Vec<(u64, bool, Settle)>,
}

impl Tx {
    fn len(&self) -> usize {
        self.publishes.len() + self.settles.len()
    }
}

/// One open channel's state.
pub(super) struct Channel {
    pub(super) id: u16,
    /// channel.close sent; everything but close-ok is ignored.
    pub(super) closing: bool,
    incoming: Option<Incoming>,
    /// basic.qos prefetch-count for consumers made from now on (0: no limit).
    pub(super) prefetch: u16,
    confirm: bool,
    /// Publishes since confirm.select: the next confirm's sequence number.
    published: u64,
    pub(super) tx: Option<Tx>,
    /// The queue last declared, for methods that leave the queue name empty.
    pub(super) last_queue: Option<QueueName>,
    /// Consumers: client tag -> the core's tag.
    pub(super) consumers: HashMap<String, ByteString>,
    pub(super) next_tag: u64,
}

/// The text of a short string field (503 if it is not UTF-8).
pub(super) fn text(field: &ShortString) -> Result<&str, AmqpError> {
    field.as_str().ok_or_else(|| {
        error(
            ReplyCode::SyntaxError,
            "SYNTAX_ERROR - a name that is not UTF-8",
        )
    })
}

/// An exception from a core error: its reply code, its text after the code's name.
pub(super) fn failed(code: u16, e: impl std::fmt::Display) -> AmqpError {
    let name = ReplyCode::from_code(code).map_or("ERROR", ReplyCode::name);
    error(code, format!("{name} - {e}"))
}

fn unexpected(what: &str) -> AmqpError {
    error(
        ReplyCode::UnexpectedFrame,
        format!("UNEXPECTED_FRAME - {what}"),
    )
}

impl Channel {
    pub(super) fn new(id: u16) -> Self {
        Self {
            id,
            closing: false,
            incoming: None,
            prefetch: 0,
            confirm: false,
            published: 0,
            tx: None,
            last_queue: None,
            consumers: HashMap::new(),
            next_tag: 0,
        }
    }

    /// Handles a method on this channel (not channel.open or .close).
    pub(super) async fn handle(&mut self, env: &Env, method: Method) -> Result<(), AmqpError> {
        if self.incoming.is_some() {
            return Err(unexpected(&format!(
                "expected content header or body, got {}",
                method.name()
            )));
        }
        let id = self.id;
        match method {
            Method::BasicPublish(publish) => {
                if publish.immediate {
                    return Err(error(
                        ReplyCode::NotImplemented,
                        "NOT_IMPLEMENTED - immediate=true",
                    ));
                }
                self.incoming = Some(Incoming {
                    publish,
                    header: None,
                    body: Vec::new(),
                    received: 0,
                });
            }
            Method::ExchangeDeclare(m) => self.exchange_declare(env, m).await?,
            Method::ExchangeDelete(m) => self.exchange_delete(env, m).await?,
            Method::ExchangeBind(m) => self.exchange_bind(env, m, true).await?,
            Method::ExchangeUnbind(m) => {
                let m = switchyard_amqp::ExchangeBind {
                    destination: m.destination,
                    source: m.source,
                    routing_key: m.routing_key,
                    no_wait: m.no_wait,
                    arguments: m.arguments,
                };
                self.exchange_bind(env, m, false).await?;
            }
            Method::QueueDeclare(m) => self.queue_declare(env, m).await?,
            Method::QueueBind(m) => self.queue_bind(env, m).await?,
            Method::QueueUnbind(m) => self.queue_unbind(env, m).await?,
            Method::QueuePurge(m) => self.queue_purge(env, m).await?,
            Method::QueueDelete(m) => self.queue_delete(env, m).await?,
            Method::BasicQos(m) => self.qos(env, &m)?,
            Method::BasicConsume(m) => self.consume(env, m).await?,
            Method::BasicCancel(m) => self.cancel(env, m).await?,
            Method::BasicGet(m) => self.get(env, m).await?,
            Method::BasicAck(m) => self.settle(env, m.delivery_tag, m.multiple, Settle::Ack)?,
            Method::BasicReject(m) => {
                let how = Settle::Reject { requeue: m.requeue };
                self.settle(env, m.delivery_tag, false, how)?;
            }
            Method::BasicNack(m) => {
                let how = Settle::Reject { requeue: m.requeue };
                self.settle(env, m.delivery_tag, m.multiple, how)?;
            }
            Method::BasicRecover(_) => {
                self.recover(env);
                env.send(id, switchyard_amqp::BasicRecoverOk {});
                env.consumer.release_held(id);
            }
            Method::BasicRecoverAsync(_) => {
                self.recover(env);
                env.consumer.release_held(id);
            }
            // As RabbitMQ: a client may not stop the server's deliveries this way (qos
            // is the way).
            Method::ChannelFlow(m) if !m.active => {
                return Err(error(
                    ReplyCode::NotImplemented,
                    "NOT_IMPLEMENTED - active=false",
                ));
            }
            Method::ChannelFlow(m) => env.send(id, ChannelFlowOk { active: m.active }),
            Method::ConfirmSelect(m) => {
                if self.tx.is_some() {
                    return Err(error(
                        ReplyCode::PreconditionFailed,
                        "PRECONDITION_FAILED - cannot switch from tx to confirm mode",
                    ));
                }
                self.confirm = true;
                if !m.no_wait {
                    env.send(id, ConfirmSelectOk {});
                }
            }
            Method::TxSelect(_) => {
                if self.confirm {
                    return Err(error(
                        ReplyCode::PreconditionFailed,
                        "PRECONDITION_FAILED - cannot switch from confirm to tx mode",
                    ));
                }
                self.tx.get_or_insert_with(Tx::default);
                env.send(id, TxSelectOk {});
            }
            Method::TxCommit(_) => {
                let tx = self.tx.as_mut().ok_or_else(not_transactional)?;
                let tx = std::mem::take(tx);
                for ready in tx.publishes {
                    self.publish(env, ready).await?;
                }
                for (tag, multiple, how) in tx.settles {
                    self.settle_now(env, tag, multiple, how)?;
                }
                env.send(id, TxCommitOk {});
            }
            Method::TxRollback(_) => {
                let tx = self.tx.as_mut().ok_or_else(not_transactional)?;
                *tx = Tx::default();
                env.send(id, TxRollbackOk {});
            }
            other => {
                return Err(error(
                    ReplyCode::CommandInvalid,
                    format!("COMMAND_INVALID - {} is not for the server", other.name()),
                ));
            }
        }
        Ok(())
    }

    /// A content header: the publish's properties and body size.
    pub(super) async fn handle_header(
        &mut self,
        env: &Env,
        header: ContentHeader,
    ) -> Result<(), AmqpError> {
        let Some(incoming) = &mut self.incoming else {
            return Err(unexpected("content header without basic.publish"));
        };
        if incoming.header.is_some() {
            return Err(unexpected("a second content header"));
        }
        if header.body_size > MAX_MESSAGE_SIZE {
            self.incoming = None;
            return Err(error(
                ReplyCode::PreconditionFailed,
                format!(
                    "PRECONDITION_FAILED - message size {} is larger than max size {MAX_MESSAGE_SIZE}",
                    header.body_size
                ),
            ));
        }
        let empty = header.body_size == 0;
        incoming.header = Some(header);
        if empty {
            self.complete(env).await?;
        }
        Ok(())
    }

    /// A content body frame.
    pub(super) async fn handle_body(&mut self, env: &Env, body: Bytes) -> Result<(), AmqpError> {
        let Some(incoming) = &mut self.incoming else {
            return Err(unexpected("content body without basic.publish"));
        };
        let Some(header) = &incoming.header else {
            return Err(unexpected("content body before its header"));
        };
        incoming.received += body.len() as u64;
        if incoming.received > header.body_size {
            return Err(unexpected("content body larger than the header said"));
        }
        let done = incoming.received == header.body_size;
        incoming.body.push(body);
        if done {
            self.complete(env).await?;
        }
        Ok(())
    }

    /// The publish's content is complete: publish it, or hold it in the transaction.
    async fn complete(&mut self, env: &Env) -> Result<(), AmqpError> {
        let Some(incoming) = self.incoming.take() else {
            return Ok(());
        };
        let body = match <[Bytes; 1]>::try_from(incoming.body) {
            Ok([one]) => one,
            Err(parts) => {
                let mut all = BytesMut::with_capacity(parts.iter().map(Bytes::len).sum());
                parts.iter().for_each(|p| all.extend_from_slice(p));
                all.freeze()
            }
        };
        let ready = Ready {
            publish: incoming.publish,
            properties: incoming.header.map(|h| h.properties).unwrap_or_default(),
            body,
        };
        if let Some(tx) = &mut self.tx {
            if tx.len() >= MAX_TRANSACTION_ITEMS {
                return Err(error(
                    ReplyCode::PreconditionFailed,
                    "PRECONDITION_FAILED - transaction too large",
                ));
            }
            tx.publishes.push(ready);
            return Ok(());
        }
        self.publish(env, ready).await
    }

    /// Routes a publish; returns it if `mandatory` and unroutable; confirms it.
    async fn publish(&mut self, env: &Env, ready: Ready) -> Result<(), AmqpError> {
        let exchange = text(&ready.publish.exchange)?;
        let key = text(&ready.publish.routing_key)?;
        // As RabbitMQ: a user_id must be the connection's user.
        if let Some(user) = &ready.properties.user_id
            && user.as_bytes() != b"guest"
        {
            return Err(error(
                ReplyCode::PreconditionFailed,
                format!(
                    "PRECONDITION_FAILED - user_id property set to '{}' but authenticated \
                     user was 'guest'",
                    String::from_utf8_lossy(user.as_bytes())
                ),
            ));
        }
        let shard = &env.ctx.shard;
        let origin = Origin {
            shard: shard.id(),
            session: 0,
        };
        let headers = ready.properties.headers.as_ref().map(core_table);
        let mut message = message_from_publish(
            &ready.publish.exchange,
            key,
            &ready.properties,
            ready.body.clone(),
            origin,
        );
        message.pressure = Some(env.pressure.clone());
        let confirm = self.confirm.then(|| {
            self.published += 1;
            ConfirmTo {
                shard: shard.id(),
                channel: self.id,
                key: env.consumer_key,
                seq: self.published,
            }
        });
        let routed = match shard.publish_routed(exchange, key, headers.as_ref(), message, confirm) {
            Ok(routed) => routed,
            Err(PublishError::Exchange(e)) => return Err(super::topology::exchange_failed(&e)),
            // A key that cannot be an MQTT topic (`a.#`) reaches no subscriber.
            Err(PublishError::RoutingKey(_)) => Routed::default(),
        };
        // Registered before the queues on other shards get the message, so that their
        // answers find it.
        if let Some(confirm) = confirm
            && routed.pending > 0
        {
            env.consumer
                .channels
                .borrow_mut()
                .entry(self.id)
                .or_default()
                .confirms
                .insert(confirm.seq, (routed.pending, routed.rejected));
        }
        let pending = routed.pending;
        let rejected = routed.rejected;
        let routed_anywhere = routed.routed;
        for (to, msg) in routed.out {
            shard.send(to, msg).await;
        }
        let routed = routed_anywhere;
        if ready.publish.mandatory && !routed {
            let method = Method::from(BasicReturn {
                reply_code: ReplyCode::NoRoute.code(),
                reply_text: ShortString::from_static("NO_ROUTE"),
                exchange: short(exchange),
                routing_key: short(key),
            });
            let encoder = env.consumer.encoder();
            env.outbox.push(|buf| {
                encoder.encode_message(self.id, &method, &ready.properties, &ready.body, buf)
            });
        }
        // Queues are in memory: a message is safe once a queue took it. Those on other
        // shards answer later (`AmqpConsumer::confirmed`).
        if let Some(confirm) = confirm
            && pending == 0
        {
            env.consumer.send_confirm(self.id, confirm.seq, !rejected);
        }
        Ok(())
    }

    /// basic.ack / .nack / .reject, or held by the transaction.
    fn settle(
        &mut self,
        env: &Env,
        tag: u64,
        multiple: bool,
        how: Settle,
    ) -> Result<(), AmqpError> {
        if let Some(tx) = &mut self.tx {
            if tx.len() >= MAX_TRANSACTION_ITEMS {
                return Err(error(
                    ReplyCode::PreconditionFailed,
                    "PRECONDITION_FAILED - transaction too large",
                ));
            }
            tx.settles.push((tag, multiple, how));
            return Ok(());
        }
        self.settle_now(env, tag, multiple, how)
    }

    fn settle_now(
        &mut self,
        env: &Env,
        tag: u64,
        multiple: bool,
        how: Settle,
    ) -> Result<(), AmqpError> {
        let taken = env
            .consumer
            .channels
            .borrow_mut()
            .entry(self.id)
            .or_default()
            .take(tag, multiple);
        let Some(settled) = taken else {
            return Err(error(
                ReplyCode::PreconditionFailed,
                format!("PRECONDITION_FAILED - unknown delivery tag {tag}"),
            ));
        };
        for unacked in settled {
            env.ctx.shard.settle(unacked.queue, unacked.id, how);
        }
        env.consumer.release_held(self.id);
        Ok(())
    }

    /// basic.recover: every unacknowledged delivery goes back to its queue.
    fn recover(&mut self, env: &Env) {
        let unacked = env
            .consumer
            .channels
            .borrow_mut()
            .get_mut(&self.id)
            .map(|d| std::mem::take(&mut d.unacked))
            .unwrap_or_default();
        for u in unacked.into_values() {
            env.ctx
                .shard
                .settle(u.queue, u.id, Settle::Reject { requeue: true });
        }
    }

    /// The channel closes: its consumers are cancelled, unacknowledged deliveries go
    /// back to their queues, publishes in progress and transactions are dropped.
    pub(super) async fn teardown(&mut self, env: &Env) {
        self.incoming = None;
        self.tx = None;
        let consumers: Vec<ByteString> = self.consumers.drain().map(|(_, core)| core).collect();
        for core in consumers {
            self.end_consumer(env, core, true).await;
        }
        self.recover(env);
        env.consumer.drop_channel(self.id);
    }
}

fn not_transactional() -> AmqpError {
    error(
        ReplyCode::PreconditionFailed,
        "PRECONDITION_FAILED - channel is not transactional",
    )
}
