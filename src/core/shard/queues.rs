//! Queues and their consumers across shards. A queue's state lives on its home shard
//! (by name); a consumer's connection lives wherever it was accepted. Operations on a
//! queue (declare, consume, ack, cancel, get, delete) go to the home shard, which pumps
//! ready messages to consumers with credit, locally or through the consumer's shard.

use std::rc::Rc;
use std::sync::Arc;
use std::time::Instant;

use bytestring::ByteString;

use super::{Shard, ShardMsg};
use crate::core::durable::Record;
use crate::core::exchange::QueueName;
use crate::core::message::Message;
use crate::core::queue::{Consume, DeliveryId, GetOk, Queue, QueueConfig, QueueError};

/// A message from a queue, on its way to a consumer's connection.
#[derive(Debug, Clone)]
pub struct QueueDelivery {
    /// The queue.
    pub queue: QueueName,
    /// The consumer tag.
    pub tag: ByteString,
    /// What to ack or reject it by; `None` for a no-ack consumer.
    pub id: Option<DeliveryId>,
    /// The message.
    pub message: Arc<Message>,
    /// Whether it was delivered before.
    pub redelivered: bool,
}

/// A connection that consumes from queues (STOMP, AMQP), as the shards reach it.
pub trait Consumer {
    /// Hands a message to the connection.
    fn deliver(&self, delivery: QueueDelivery);
    /// The server ended a consumer (its queue was deleted).
    fn cancelled(&self, queue: &QueueName, tag: &ByteString);
    /// A queue on another shard says whether it took a publish of this connection
    /// made with a [`ConfirmTo`](super::ConfirmTo).
    fn confirmed(&self, _channel: u16, _seq: u64, _accepted: bool) {}
}

/// How a delivery is settled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Settle {
    /// Acknowledged: the message is done.
    Ack,
    /// Rejected: requeued (redelivered) or dead-lettered.
    Reject {
        /// Put it back.
        requeue: bool,
    },
}

/// An operation on a queue, run on its home shard.
#[derive(Debug)]
pub enum QueueOp {
    /// queue.declare (non-passive).
    Declare(QueueConfig),
    /// queue.declare passive: does it exist.
    Exists,
    /// basic.consume for a consumer registered on `shard` under `key`.
    Consume {
        /// The options.
        consume: Consume,
        /// The consumer's shard.
        shard: u16,
        /// The consumer's key there.
        key: u64,
    },
    /// basic.cancel, or the consumer's connection closing (`requeue`).
    Cancel {
        /// The consumer tag.
        tag: ByteString,
        /// Requeue its unacknowledged deliveries.
        requeue: bool,
    },
    /// basic.ack / basic.reject / basic.nack of one delivery.
    Settle(DeliveryId, Settle),
    /// basic.get.
    Get {
        /// Settle at once.
        no_ack: bool,
    },
    /// queue.delete.
    Delete {
        /// Only if it has no consumers.
        if_unused: bool,
        /// Only if it has no ready messages.
        if_empty: bool,
    },
    /// queue.purge.
    Purge,
}

impl QueueOp {
    /// Whether another connection than an exclusive queue's owner is refused this.
    fn is_locked_by_exclusive(&self) -> bool {
        matches!(
            self,
            Self::Declare(_)
                | Self::Exists
                | Self::Consume { .. }
                | Self::Get { .. }
                | Self::Purge
                | Self::Delete { .. }
        )
    }
}

/// The answer to a [`QueueOp`].
#[derive(Debug)]
pub enum QueueReply {
    /// Done; for delete and purge the message count, for cancel the requeued count.
    Done(usize),
    /// queue.declare's answer (passive or not).
    Declared(Declared),
    /// basic.get's answer.
    Got(Option<GetOk<Arc<Message>>>),
    /// Refused, with the AMQP reply code inside.
    Failed(QueueError),
}

/// What queue.declare-ok reports.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Declared {
    /// This declare created the queue.
    pub created: bool,
    /// Ready messages.
    pub messages: usize,
    /// Consumers.
    pub consumers: usize,
}

/// The connection an exclusive queue belongs to: only it may declare, consume from,
/// get from, purge or delete the queue (others get 405 RESOURCE_LOCKED).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Owner {
    /// The connection's shard.
    pub shard: u16,
    /// The connection's id.
    pub connection: u64,
}

impl Shard {
    /// Registers a consumer's connection on this shard; returns its key.
    pub fn register_consumer(&self, consumer: Rc<dyn Consumer>) -> u64 {
        let mut state = self.state.borrow_mut();
        state.next_key += 1;
        let key = state.next_key;
        state.consumers.insert(key, consumer);
        key
    }

    /// Forgets a consumer's connection (after cancelling its consumers).
    pub fn unregister_consumer(&self, key: u64) {
        self.state.borrow_mut().consumers.remove(&key);
    }

    /// A server-named queue (amq.gen-...) whose home is this shard, for exclusive and
    /// temporary queues that live with one connection.
    pub fn local_queue_name(&self, prefix: &str) -> QueueName {
        loop {
            let n = {
                let mut state = self.state.borrow_mut();
                state.next_key += 1;
                state.next_key
            };
            let name = format!("{prefix}{}-{n}", self.id);
            if self.home_of(&name) == self.id {
                return name.as_str().into();
            }
        }
    }

    /// Runs an operation on a queue's home shard and returns its answer, with the
    /// server's rights (exclusive queues are not locked against it).
    pub async fn queue_op(&self, queue: QueueName, op: QueueOp) -> QueueReply {
        self.queue_op_by(queue, op, None).await
    }

    /// Runs an operation for a connection (`owner`): a declare with `exclusive` makes
    /// the queue that connection's, and other connections are then locked out of it.
    pub async fn queue_op_by(
        &self,
        queue: QueueName,
        op: QueueOp,
        owner: Option<Owner>,
    ) -> QueueReply {
        let home = self.home_of(queue.as_str());
        if home == self.id {
            return self.run_queue_op(&queue, op, owner).await;
        }
        let is_delete = matches!(op, QueueOp::Delete { .. });
        let (reply, answer) = flume::bounded(1);
        let name = queue.as_str().into();
        self.send(
            home,
            ShardMsg::Queue {
                queue: queue.clone(),
                op: Box::new(op),
                reply: Some(reply),
                owner,
            },
        )
        .await;
        let answer = answer
            .recv_async()
            .await
            .unwrap_or(QueueReply::Failed(QueueError::NotFound(name)));
        // The home shard announced the change; apply it here now, so that what this
        // connection does next already sees it.
        match &answer {
            QueueReply::Declared(d) if d.created => {
                self.apply_vhost(&super::VhostChange::DeclareQueue(queue));
            }
            QueueReply::Done(_) if is_delete => {
                self.apply_vhost(&super::VhostChange::DeleteQueue(queue));
            }
            _ => {}
        }
        answer
    }

    /// Settles a delivery without waiting for the answer.
    pub fn settle(&self, queue: QueueName, id: DeliveryId, settle: Settle) {
        let home = self.home_of(queue.as_str());
        if home == self.id {
            let (_, change) = self.run_queue_op_now(&queue, QueueOp::Settle(id, settle), None);
            if let Some(change) = change {
                self.announce_vhost(change);
            }
        } else {
            self.send_now(
                home,
                ShardMsg::Queue {
                    queue,
                    op: Box::new(QueueOp::Settle(id, settle)),
                    reply: None,
                    owner: None,
                },
            );
        }
    }

    /// Runs an operation on a queue homed here; a queue created or deleted is announced
    /// to every shard before the answer.
    async fn run_queue_op(
        &self,
        queue: &QueueName,
        op: QueueOp,
        owner: Option<Owner>,
    ) -> QueueReply {
        let (reply, change) = self.run_queue_op_now(queue, op, owner);
        if let Some(change) = change {
            self.change_vhost(change).await;
        }
        reply
    }

    /// The synchronous part of a queue operation, as the mailbox runs it. Returns the
    /// answer and the vhost change to announce (a queue created or deleted).
    pub(super) fn run_queue_op_now(
        &self,
        name: &QueueName,
        op: QueueOp,
        owner: Option<Owner>,
    ) -> (QueueReply, Option<super::VhostChange>) {
        let now = Instant::now();
        let mut deleted = false;
        let mut cancelled_last = false;
        let reply = {
            let mut state = self.state.borrow_mut();
            let state = &mut *state;
            if let (Some(by), Some(locked)) = (owner, state.owners.get(name.as_str()))
                && by != *locked
                && op.is_locked_by_exclusive()
            {
                return (
                    QueueReply::Failed(QueueError::Locked(name.as_str().into())),
                    None,
                );
            }
            if let QueueOp::Declare(config) = op {
                return match state.queues.get_mut(name.as_str()) {
                    Some(queue) => match queue.config().check_equivalent(&config) {
                        Ok(()) => {
                            queue.touch(now);
                            let declared = Declared {
                                created: false,
                                messages: queue.message_count(),
                                consumers: queue.consumer_count(),
                            };
                            (QueueReply::Declared(declared), None)
                        }
                        Err(e) => (QueueReply::Failed(e), None),
                    },
                    None => {
                        if config.exclusive
                            && let Some(by) = owner
                        {
                            state.owners.insert(name.clone(), by);
                        }
                        if config.durable {
                            self.log(&Record::QueueDeclared {
                                name: name.clone(),
                                config: config.clone(),
                            });
                        }
                        state.queues.insert(name.clone(), Queue::new(config, now));
                        let declared = Declared {
                            created: true,
                            messages: 0,
                            consumers: 0,
                        };
                        let change = super::VhostChange::DeclareQueue(name.clone());
                        (QueueReply::Declared(declared), Some(change))
                    }
                };
            }
            let Some(queue) = state.queues.get_mut(name.as_str()) else {
                let missing = QueueError::NotFound(name.as_str().into());
                return (QueueReply::Failed(missing), None);
            };
            match op {
                QueueOp::Declare(_) | QueueOp::Exists => QueueReply::Declared(Declared {
                    created: false,
                    messages: queue.message_count(),
                    consumers: queue.consumer_count(),
                }),
                QueueOp::Consume {
                    consume,
                    shard,
                    key,
                } => {
                    let tag = consume.tag.clone();
                    match queue.consume(consume, now) {
                        Ok(()) => {
                            state.routes.insert((name.clone(), tag), (shard, key));
                            QueueReply::Done(0)
                        }
                        Err(e) => QueueReply::Failed(e),
                    }
                }
                QueueOp::Cancel { tag, requeue } => {
                    let cancelled = queue.cancel(&tag, requeue, now);
                    state.routes.remove(&(name.clone(), tag));
                    cancelled_last = cancelled.is_some_and(|c| c.auto_delete);
                    QueueReply::Done(cancelled.map_or(0, |c| c.requeued))
                }
                QueueOp::Settle(id, settle) => {
                    let result = match settle {
                        Settle::Ack => queue.ack(id),
                        Settle::Reject { requeue } => queue.reject(id, requeue),
                    };
                    match result {
                        Ok(()) => QueueReply::Done(0),
                        Err(e) => QueueReply::Failed(e),
                    }
                }
                QueueOp::Get { no_ack } => QueueReply::Got(queue.get(no_ack, now)),
                QueueOp::Purge => QueueReply::Done(queue.purge()),
                QueueOp::Delete {
                    if_unused,
                    if_empty,
                } => match queue.check_delete(if_unused, if_empty) {
                    Ok(count) => {
                        deleted = true;
                        QueueReply::Done(count)
                    }
                    Err(e) => QueueReply::Failed(e),
                },
            }
        };
        if deleted || cancelled_last {
            // An auto-delete queue goes with its last consumer, as RabbitMQ's does.
            self.delete_queue_here(name);
            return (reply, Some(super::VhostChange::DeleteQueue(name.clone())));
        }
        self.pump(name);
        (reply, None)
    }
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;

    use bytes::Bytes;
    use switchyard_mqtt::QoS;

    use super::*;
    use crate::core::exchange::{FieldTable, FieldValue};
    use crate::core::shard::Limits;
    use crate::core::stats::Stats;

    #[derive(Default)]
    struct Recorder(RefCell<Vec<QueueDelivery>>);

    impl Consumer for Recorder {
        fn deliver(&self, delivery: QueueDelivery) {
            self.0.borrow_mut().push(delivery);
        }
        fn cancelled(&self, _queue: &QueueName, _tag: &ByteString) {}
    }

    impl Recorder {
        fn take(&self) -> Vec<(String, bool)> {
            self.0
                .borrow_mut()
                .drain(..)
                .map(|d| {
                    let body = String::from_utf8_lossy(&d.message.payload).into_owned();
                    (body, d.redelivered)
                })
                .collect()
        }
        fn last_id(&self) -> DeliveryId {
            self.0
                .borrow()
                .last()
                .and_then(|d| d.id)
                .expect("a delivery with an id")
        }
    }

    fn shard() -> Shard {
        let (tx, _rx) = flume::bounded(16);
        let limits = Limits {
            max_queued_messages: 10,
            backpressure_queued: 10,
            queue_high_water: 10_000,
        };
        Shard::new(0, vec![tx], limits, Arc::new(Stats::new(1))).expect("shard 0 of 1")
    }

    async fn declare(shard: &Shard, name: &str, arguments: &FieldTable) {
        let config = QueueConfig::new(false, false, false, arguments).unwrap();
        let reply = shard.queue_op(name.into(), QueueOp::Declare(config)).await;
        assert!(
            matches!(reply, QueueReply::Declared(d) if d.created),
            "{reply:?}"
        );
    }

    fn send(shard: &Shard, queue: &str, body: &'static str) {
        let message = Message::new(
            ByteString::new(),
            Bytes::from(body),
            QoS::AtLeastOnce,
            false,
        );
        assert!(
            shard
                .publish_to_exchange("", queue, message)
                .unwrap()
                .is_empty()
        );
    }

    async fn consume(shard: &Shard, queue: &str, consumer: &Rc<Recorder>, prefetch: u32) {
        let key = shard.register_consumer(consumer.clone());
        let mut consume = Consume::new("c1");
        consume.prefetch = prefetch;
        let reply = shard
            .queue_op(
                queue.into(),
                QueueOp::Consume {
                    consume,
                    shard: 0,
                    key,
                },
            )
            .await;
        assert!(matches!(reply, QueueReply::Done(0)), "{reply:?}");
    }

    #[test]
    fn consumers_get_what_their_prefetch_allows_and_acks_make_room() {
        compio::runtime::Runtime::new().unwrap().block_on(async {
            let shard = shard();
            declare(&shard, "q", &FieldTable::default()).await;
            send(&shard, "q", "a");
            let consumer = Rc::new(Recorder::default());
            consume(&shard, "q", &consumer, 1).await;
            send(&shard, "q", "b");
            let first = consumer.last_id();
            assert_eq!(
                consumer.take(),
                [("a".into(), false)],
                "one, as prefetch allows"
            );
            shard.settle("q".into(), first, Settle::Ack);
            assert_eq!(consumer.take(), [("b".into(), false)]);
        });
    }

    #[test]
    fn a_requeued_delivery_comes_back_redelivered_and_a_cancel_requeues_the_unacked() {
        compio::runtime::Runtime::new().unwrap().block_on(async {
            let shard = shard();
            declare(&shard, "q", &FieldTable::default()).await;
            let consumer = Rc::new(Recorder::default());
            consume(&shard, "q", &consumer, 1).await;
            send(&shard, "q", "a");
            let id = consumer.last_id();
            assert_eq!(consumer.take(), [("a".into(), false)]);
            shard.settle("q".into(), id, Settle::Reject { requeue: true });
            assert_eq!(consumer.take(), [("a".into(), true)]);
            let reply = shard
                .queue_op(
                    "q".into(),
                    QueueOp::Cancel {
                        tag: "c1".into(),
                        requeue: true,
                    },
                )
                .await;
            assert!(matches!(reply, QueueReply::Done(1)), "{reply:?}");
            match shard
                .queue_op("q".into(), QueueOp::Get { no_ack: true })
                .await
            {
                QueueReply::Got(Some(got)) => assert!(got.redelivered),
                other => panic!("the cancelled delivery is ready again: {other:?}"),
            }
        });
    }

    #[test]
    fn a_rejected_message_goes_to_the_dead_letter_exchange() {
        compio::runtime::Runtime::new().unwrap().block_on(async {
            let shard = shard();
            let mut arguments = FieldTable::default();
            arguments.insert("x-dead-letter-exchange", FieldValue::Str(Bytes::from("")));
            arguments.insert(
                "x-dead-letter-routing-key",
                FieldValue::Str(Bytes::from("dlq")),
            );
            declare(&shard, "q", &arguments).await;
            declare(&shard, "dlq", &FieldTable::default()).await;
            let consumer = Rc::new(Recorder::default());
            consume(&shard, "q", &consumer, 0).await;
            send(&shard, "q", "bad");
            shard.settle(
                "q".into(),
                consumer.last_id(),
                Settle::Reject { requeue: false },
            );
            match shard
                .queue_op("dlq".into(), QueueOp::Get { no_ack: true })
                .await
            {
                QueueReply::Got(Some(got)) => assert_eq!(&got.message.payload[..], b"bad"),
                other => panic!("dead-lettered into dlq: {other:?}"),
            }
        });
    }

    #[test]
    fn operations_on_a_missing_queue_are_404() {
        compio::runtime::Runtime::new().unwrap().block_on(async {
            let shard = shard();
            let reply = shard.queue_op("nope".into(), QueueOp::Purge).await;
            match reply {
                QueueReply::Failed(e) => assert_eq!(e.reply_code(), 404),
                other => panic!("{other:?}"),
            }
            declare(&shard, "q", &FieldTable::default()).await;
            let config = QueueConfig::new(true, false, false, &FieldTable::default()).unwrap();
            match shard.queue_op("q".into(), QueueOp::Declare(config)).await {
                QueueReply::Failed(e) => assert_eq!(e.reply_code(), 406, "durable differs"),
                other => panic!("{other:?}"),
            }
        });
    }
}
