//! The exchange and queue classes on a channel: declare, delete, bind, unbind, purge.

use switchyard_amqp::{
    ExchangeBind, ExchangeBindOk, ExchangeDeclare, ExchangeDeclareOk, ExchangeDelete,
    ExchangeDeleteOk, ExchangeUnbindOk, QueueBind, QueueBindOk, QueueDeclare, QueueDeclareOk,
    QueueDelete, QueueDeleteOk, QueuePurge, QueuePurgeOk, QueueUnbind, QueueUnbindOk,
};

use super::channel::{Channel, failed, text};
use super::connection::{AmqpError, Env};
use super::convert::{core_table, short};
use crate::core::exchange::{
    self as ex, Binding, Destination, ExchangeError, ExchangeKind, QueueName,
};
use crate::core::queue::{QueueConfig, QueueError, check_new_queue_name};
use crate::core::shard::{Declared, QueueOp, QueueReply};

/// An exception from an exchange error, with RabbitMQ's wording for a missing one.
pub(super) fn exchange_failed(e: &ExchangeError) -> AmqpError {
    let text = match e {
        ExchangeError::ExchangeNotFound(name) => format!("no exchange '{name}' in vhost '/'"),
        ExchangeError::QueueNotFound(name) => format!("no queue '{name}' in vhost '/'"),
        other => other.to_string(),
    };
    failed(e.reply_code(), text)
}

fn count(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

impl Channel {
    pub(super) async fn exchange_declare(
        &mut self,
        env: &Env,
        m: ExchangeDeclare,
    ) -> Result<(), AmqpError> {
        let name = text(&m.exchange)?;
        let shard = &env.ctx.shard;
        if m.passive {
            shard
                .check_exchange(name)
                .map_err(|e| exchange_failed(&e))?;
        } else {
            let kind = ExchangeKind::parse(text(&m.kind)?).map_err(|e| exchange_failed(&e))?;
            let declare = ex::ExchangeDeclare {
                durable: m.durable,
                auto_delete: m.auto_delete,
                internal: m.internal,
                arguments: core_table(&m.arguments),
                ..ex::ExchangeDeclare::new(name, kind)
            };
            shard
                .declare_exchange(declare)
                .await
                .map_err(|e| exchange_failed(&e))?;
        }
        if !m.no_wait {
            env.send(self.id, ExchangeDeclareOk {});
        }
        Ok(())
    }

    pub(super) async fn exchange_delete(
        &mut self,
        env: &Env,
        m: ExchangeDelete,
    ) -> Result<(), AmqpError> {
        env.ctx
            .shard
            .delete_exchange(text(&m.exchange)?, m.if_unused)
            .await
            .map_err(|e| exchange_failed(&e))?;
        if !m.no_wait {
            env.send(self.id, ExchangeDeleteOk {});
        }
        Ok(())
    }

    /// exchange.bind (`bind`) or exchange.unbind.
    pub(super) async fn exchange_bind(
        &mut self,
        env: &Env,
        m: ExchangeBind,
        bind: bool,
    ) -> Result<(), AmqpError> {
        let binding = Binding::new(
            Destination::exchange(text(&m.destination)?),
            text(&m.routing_key)?,
        )
        .with_arguments(core_table(&m.arguments));
        let source = text(&m.source)?;
        let shard = &env.ctx.shard;
        let result = if bind {
            shard.bind(source, binding).await
        } else {
            shard.unbind(source, binding).await
        };
        result.map_err(|e| exchange_failed(&e))?;
        if !m.no_wait {
            if bind {
                env.send(self.id, ExchangeBindOk {});
            } else {
                env.send(self.id, ExchangeUnbindOk {});
            }
        }
        Ok(())
    }

    pub(super) async fn queue_declare(
        &mut self,
        env: &Env,
        m: QueueDeclare,
    ) -> Result<(), AmqpError> {
        let shard = &env.ctx.shard;
        let name = if m.queue.is_empty() && !m.passive {
            // A server-named queue lives with this connection: home it on this shard.
            shard.local_queue_name("amq.gen-")
        } else {
            self.queue_name(&m.queue)?
        };
        let declared = if m.passive {
            match env.queue_op(name.clone(), QueueOp::Exists).await {
                QueueReply::Declared(d) => d,
                QueueReply::Failed(QueueError::NotFound(_)) => {
                    return Err(failed(404, format!("no queue '{name}' in vhost '/'")));
                }
                QueueReply::Failed(e) => return Err(failed(e.reply_code(), e)),
                QueueReply::Done(_) | QueueReply::Got(_) => Declared::default(),
            }
        } else {
            if !m.queue.is_empty() {
                check_new_queue_name(name.as_str()).map_err(|e| failed(e.reply_code(), e))?;
            }
            let config = QueueConfig::new(
                m.durable,
                m.exclusive,
                m.auto_delete,
                &core_table(&m.arguments),
            )
            .map_err(|e| failed(e.reply_code(), e))?;
            match env.queue_op(name.clone(), QueueOp::Declare(config)).await {
                QueueReply::Declared(d) => {
                    if d.created && m.exclusive {
                        env.exclusive.borrow_mut().insert(name.clone());
                    }
                    d
                }
                QueueReply::Failed(e) => return Err(failed(e.reply_code(), e)),
                QueueReply::Done(_) | QueueReply::Got(_) => Declared::default(),
            }
        };
        self.last_queue = Some(name.clone());
        if !m.no_wait {
            env.send(
                self.id,
                QueueDeclareOk {
                    queue: short(name.as_str()),
                    message_count: count(declared.messages),
                    consumer_count: count(declared.consumers),
                },
            );
        }
        Ok(())
    }

    /// An exclusive queue of another connection may not be bound or unbound (405).
    async fn check_access(env: &Env, queue: &QueueName) -> Result<(), AmqpError> {
        match env.queue_op(queue.clone(), QueueOp::Exists).await {
            QueueReply::Failed(e @ QueueError::Locked(_)) => Err(failed(e.reply_code(), e)),
            // A missing queue is the binding's own 404.
            _ => Ok(()),
        }
    }

    pub(super) async fn queue_bind(&mut self, env: &Env, m: QueueBind) -> Result<(), AmqpError> {
        let queue = self.queue_name(&m.queue)?;
        Self::check_access(env, &queue).await?;
        let binding = Binding::new(Destination::Queue(queue), text(&m.routing_key)?)
            .with_arguments(core_table(&m.arguments));
        env.ctx
            .shard
            .bind(text(&m.exchange)?, binding)
            .await
            .map_err(|e| exchange_failed(&e))?;
        if !m.no_wait {
            env.send(self.id, QueueBindOk {});
        }
        Ok(())
    }

    pub(super) async fn queue_unbind(
        &mut self,
        env: &Env,
        m: QueueUnbind,
    ) -> Result<(), AmqpError> {
        let queue = self.queue_name(&m.queue)?;
        Self::check_access(env, &queue).await?;
        let binding = Binding::new(Destination::Queue(queue), text(&m.routing_key)?)
            .with_arguments(core_table(&m.arguments));
        env.ctx
            .shard
            .unbind(text(&m.exchange)?, binding)
            .await
            .map_err(|e| exchange_failed(&e))?;
        env.send(self.id, QueueUnbindOk {});
        Ok(())
    }

    pub(super) async fn queue_purge(&mut self, env: &Env, m: QueuePurge) -> Result<(), AmqpError> {
        let queue = self.queue_name(&m.queue)?;
        match env.queue_op(queue, QueueOp::Purge).await {
            QueueReply::Failed(e) => Err(failed(e.reply_code(), e)),
            QueueReply::Done(n) => {
                if !m.no_wait {
                    env.send(
                        self.id,
                        QueuePurgeOk {
                            message_count: count(n),
                        },
                    );
                }
                Ok(())
            }
            QueueReply::Got(_) | QueueReply::Declared(_) => Ok(()),
        }
    }

    pub(super) async fn queue_delete(
        &mut self,
        env: &Env,
        m: QueueDelete,
    ) -> Result<(), AmqpError> {
        let queue = self.queue_name(&m.queue)?;
        let op = QueueOp::Delete {
            if_unused: m.if_unused,
            if_empty: m.if_empty,
        };
        let n = match env.queue_op(queue.clone(), op).await {
            // Deleting a queue that does not exist is no error, as in RabbitMQ.
            QueueReply::Failed(e) if e.reply_code() == 404 => 0,
            QueueReply::Failed(e) => return Err(failed(e.reply_code(), e)),
            QueueReply::Done(n) => n,
            QueueReply::Got(_) | QueueReply::Declared(_) => 0,
        };
        env.exclusive.borrow_mut().remove(&queue);
        if !m.no_wait {
            env.send(
                self.id,
                QueueDeleteOk {
                    message_count: count(n),
                },
            );
        }
        Ok(())
    }
}
