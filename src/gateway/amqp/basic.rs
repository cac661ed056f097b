//! The basic class on a channel: qos, consumers, basic.get.

use bytestring::ByteString;
use switchyard_amqp::{
    BasicCancel, BasicCancelOk, BasicConsume, BasicConsumeOk, BasicGet, BasicGetEmpty, BasicGetOk,
    BasicQos, BasicQosOk, Method, ReplyCode, ShortString,
};

use super::channel::{Channel, failed, text};
use super::connection::{AmqpError, Env, error};
use super::consumer::{ConsumerEntry, Unacked, routing_key_of};
use super::convert::{exchange_of, properties_of, short};
use crate::core::exchange::QueueName;
use crate::core::queue::Consume;
use crate::core::shard::{QueueOp, QueueReply};

/// What a no-ack consumer may have waiting for the socket: its deliveries count as
/// acknowledged once written, so this bounds the outbox, not the client.
const NO_ACK_WINDOW: u32 = 1000;

impl Channel {
    /// The queue a method names; empty means the channel's last declared queue.
    pub(super) fn queue_name(&self, name: &ShortString) -> Result<QueueName, AmqpError> {
        if name.is_empty() {
            return self.last_queue.clone().ok_or_else(|| {
                error(
                    ReplyCode::NotFound,
                    "NOT_FOUND - no previously declared queue",
                )
            });
        }
        Ok(text(name)?.into())
    }

    /// basic.qos as RabbitMQ has it: `global = false` sets the prefetch of consumers
    /// made from now on; `global = true` limits the unacknowledged deliveries of the
    /// whole channel, at once. A `prefetch_size` is not implemented (540), as in
    /// RabbitMQ.
    pub(super) fn qos(&mut self, env: &Env, m: &BasicQos) -> Result<(), AmqpError> {
        if m.prefetch_size != 0 {
            return Err(error(
                ReplyCode::NotImplemented,
                format!("NOT_IMPLEMENTED - prefetch_size!=0 ({})", m.prefetch_size),
            ));
        }
        if m.global {
            env.consumer
                .channels
                .borrow_mut()
                .entry(self.id)
                .or_default()
                .global_prefetch = m.prefetch_count;
        } else {
            self.prefetch = m.prefetch_count;
        }
        env.send(self.id, BasicQosOk {});
        env.consumer.release_held(self.id);
        Ok(())
    }

    pub(super) async fn consume(&mut self, env: &Env, m: BasicConsume) -> Result<(), AmqpError> {
        let queue = self.queue_name(&m.queue)?;
        let shard = &env.ctx.shard;
        let tag = if m.consumer_tag.is_empty() {
            self.next_tag += 1;
            format!(
                "amq.ctag-{}-{}-{}-{}",
                shard.id(),
                env.id,
                self.id,
                self.next_tag
            )
        } else {
            text(&m.consumer_tag)?.to_owned()
        };
        // A tag stays taken until basic.cancel, or until the server cancelled it.
        let taken = self
            .consumers
            .get(&tag)
            .is_some_and(|core| env.consumer.consumers.borrow().contains_key(core));
        if taken {
            return Err(error(
                ReplyCode::NotAllowed,
                format!("NOT_ALLOWED - attempt to reuse consumer tag '{tag}'"),
            ));
        }
        let core: ByteString = format!("amqp-{}-{}-{}-{tag}", shard.id(), env.id, self.id).into();
        // Not ready until consume-ok is out: deliveries that come first wait for it.
        env.consumer.consumers.borrow_mut().insert(
            core.clone(),
            ConsumerEntry {
                channel: self.id,
                tag: short(&tag),
                queue: queue.clone(),
                no_ack: m.no_ack,
                ready: false,
            },
        );
        self.consumers.insert(tag.clone(), core.clone());
        let mut consume = Consume::new(&core);
        // No consumer may hold more than the channel-wide limit either.
        let global = env
            .consumer
            .channels
            .borrow()
            .get(&self.id)
            .map_or(0, |d| d.global_prefetch);
        consume.prefetch = match (m.no_ack, self.prefetch, global) {
            (true, _, _) => NO_ACK_WINDOW,
            (false, 0, global) => u32::from(global),
            (false, own, 0) => u32::from(own),
            (false, own, global) => u32::from(own.min(global)),
        };
        consume.exclusive = m.exclusive;
        let op = QueueOp::Consume {
            consume,
            shard: shard.id(),
            key: env.consumer_key,
        };
        // The queue refuses (missing, exclusive, ...) before consume-ok, as RabbitMQ.
        if let QueueReply::Failed(e) = env.queue_op(queue, op).await {
            self.consumers.remove(&tag);
            env.consumer.consumers.borrow_mut().remove(&core);
            env.consumer.start(&core);
            return Err(failed(e.reply_code(), e));
        }
        if !m.no_wait {
            env.send(
                self.id,
                BasicConsumeOk {
                    consumer_tag: short(&tag),
                },
            );
        }
        env.consumer.start(&core);
        Ok(())
    }

    pub(super) async fn cancel(&mut self, env: &Env, m: BasicCancel) -> Result<(), AmqpError> {
        let tag = text(&m.consumer_tag)?;
        if let Some(core) = self.consumers.remove(tag) {
            // Its unacknowledged deliveries stay, to be acked or rejected.
            self.end_consumer(env, core, false).await;
        }
        if !m.no_wait {
            env.send(
                self.id,
                BasicCancelOk {
                    consumer_tag: m.consumer_tag,
                },
            );
        }
        Ok(())
    }

    /// Cancels a consumer in its queue.
    pub(super) async fn end_consumer(&mut self, env: &Env, core: ByteString, requeue: bool) {
        let entry = env.consumer.consumers.borrow_mut().remove(&core);
        let Some(entry) = entry else { return };
        let op = QueueOp::Cancel { tag: core, requeue };
        // An auto-delete queue goes with its last consumer: the core deletes it.
        env.ctx.shard.queue_op(entry.queue, op).await;
    }

    pub(super) async fn get(&mut self, env: &Env, m: BasicGet) -> Result<(), AmqpError> {
        let queue = self.queue_name(&m.queue)?;
        let op = QueueOp::Get { no_ack: m.no_ack };
        match env.queue_op(queue.clone(), op).await {
            QueueReply::Got(Some(got)) => {
                let unacked = got
                    .delivery_id
                    .filter(|_| !m.no_ack)
                    .map(|id| Unacked { queue, id });
                let delivery_tag = env.consumer.track(self.id, unacked);
                let method = Method::from(BasicGetOk {
                    delivery_tag,
                    redelivered: got.redelivered,
                    exchange: exchange_of(&got.message),
                    routing_key: routing_key_of(&got.message),
                    message_count: u32::try_from(got.message_count).unwrap_or(u32::MAX),
                });
                let properties = properties_of(&got.message);
                let encoder = env.consumer.encoder();
                env.outbox.push(|buf| {
                    encoder.encode_message(self.id, &method, &properties, &got.message.payload, buf)
                });
                Ok(())
            }
            QueueReply::Got(None) | QueueReply::Done(_) | QueueReply::Declared(_) => {
                env.send(self.id, BasicGetEmpty {});
                Ok(())
            }
            QueueReply::Failed(e) => Err(failed(e.reply_code(), e)),
        }
    }
}
