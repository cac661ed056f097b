//! The AMQP model on a shard. Every shard holds a replica of the vhost (exchanges,
//! bindings, queue names), so that a publish routes where it arrives; a queue's state
//! (messages, consumers, unacked) lives on its home shard, chosen by its name, where
//! routed messages are sent.
//!
//! MQTT maps onto it as RabbitMQ's MQTT plugin does: a PUBLISH to topic `a/b.c` is a
//! publish to `amq.topic` with routing key `a.b/c`, and an AMQP publish to `amq.topic`
//! with key `a.b` reaches MQTT subscribers of `a/b`. An MQTT session is the queue of its
//! subscriptions (RabbitMQ declares one per client): its bindings to `amq.topic` sit in
//! the shard's topic tries, the same trie the topic exchange uses, with MQTT's matching
//! rules (`$` topics, `+` on empty levels), and its messages in the session's window
//! and queue.

use std::sync::Arc;

use bytestring::ByteString;
use std::time::Instant;

use crate::core::durable::Record;
use crate::core::exchange::{
    Binding, Destination, ExchangeDeclare, ExchangeError, ExchangeName, FieldTable, QueueName,
};
use crate::core::mapping::{TOPIC_EXCHANGE, mqtt_topic_to_routing_key, routing_key_to_mqtt_topic};
use crate::core::message::{Hold, Message};
use crate::core::queue::Publish;
use crate::store::Lsn;

use super::{Shard, ShardMsg};

/// A change to the vhost, applied on every shard.
#[derive(Debug, Clone)]
pub enum VhostChange {
    /// A queue was declared (on its home shard, which holds its state).
    DeclareQueue(QueueName),
    /// A queue was deleted, with its bindings.
    DeleteQueue(QueueName),
    /// A binding was added to an exchange.
    Bind {
        /// The source exchange.
        exchange: ExchangeName,
        /// The binding.
        binding: Binding,
    },
    /// A binding was removed from an exchange.
    Unbind {
        /// The source exchange.
        exchange: ExchangeName,
        /// The binding.
        binding: Binding,
    },
    /// An exchange was declared (exchange.declare).
    DeclareExchange(ExchangeDeclare),
    /// An exchange was deleted, with its bindings.
    DeleteExchange(ExchangeName),
}

/// Whether a queue took a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Taken {
    /// Taken, in memory.
    Yes,
    /// Refused (`x-overflow` reject-publish).
    No,
    /// Taken, and logged at this LSN: safe once the log's commit covers it.
    Logged(Lsn),
    /// Taken in memory, but the log refused it (the log is broken): a publisher
    /// waiting for its durability hears that it failed.
    Unlogged,
}

/// Where a queue on another shard reports whether it took a publisher-confirmed
/// message: the publishing connection, its channel and the publish's sequence number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConfirmTo {
    /// The publisher's shard.
    pub shard: u16,
    /// The publisher's channel.
    pub channel: u16,
    /// The publisher's connection's key there ([`Shard::register_consumer`]).
    pub key: u64,
    /// The confirm sequence number.
    pub seq: u64,
}

/// What a publish reached.
#[derive(Debug, Default)]
pub struct Routed {
    /// Messages for other shards, to send.
    pub out: Vec<(u16, ShardMsg)>,
    /// Whether any queue or subscriber was reached.
    pub routed: bool,
    /// Queues that will report to the [`ConfirmTo`] (on other shards, or logged here
    /// and waiting for the commit).
    pub pending: usize,
    /// A queue here refused it (`x-overflow` reject-publish).
    pub rejected: bool,
}

/// Why a publish to an exchange was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PublishError {
    /// The exchange is missing or internal.
    #[error(transparent)]
    Exchange(#[from] ExchangeError),
    /// `amq.topic` got a routing key that is no MQTT topic (e.g. with `+` or `#`).
    #[error("routing key {0:?} cannot be an MQTT topic")]
    RoutingKey(String),
}

impl Shard {
    /// Binds a queue to an exchange on every shard.
    pub async fn bind_queue(
        &self,
        exchange: &str,
        queue: &str,
        routing_key: &str,
    ) -> Result<(), ExchangeError> {
        let binding = Binding::new(Destination::queue(queue), routing_key);
        self.bind(exchange, binding).await
    }

    /// Adds a binding (to a queue or an exchange) on every shard.
    pub async fn bind(&self, exchange: &str, binding: Binding) -> Result<(), ExchangeError> {
        // Checked here first, so that the other shards never see a binding that fails.
        self.state
            .borrow_mut()
            .vhost
            .bind(exchange, binding.clone())?;
        self.change_vhost(VhostChange::Bind {
            exchange: exchange.into(),
            binding,
        })
        .await;
        Ok(())
    }

    /// Removes a binding on every shard (a missing binding is no error).
    pub async fn unbind(&self, exchange: &str, binding: Binding) -> Result<(), ExchangeError> {
        let unbound = self.state.borrow_mut().vhost.unbind(exchange, &binding)?;
        if unbound.removed {
            self.change_vhost(VhostChange::Unbind {
                exchange: exchange.into(),
                binding,
            })
            .await;
        }
        Ok(())
    }

    /// exchange.declare (not passive) on every shard. Returns whether it was created.
    pub async fn declare_exchange(&self, declare: ExchangeDeclare) -> Result<bool, ExchangeError> {
        let created = self
            .state
            .borrow_mut()
            .vhost
            .declare_exchange(declare.clone())?;
        if created {
            self.change_vhost(VhostChange::DeclareExchange(declare))
                .await;
        }
        Ok(created)
    }

    /// exchange.declare with passive set: whether the exchange exists (404 if not).
    pub fn check_exchange(&self, name: &str) -> Result<(), ExchangeError> {
        self.state
            .borrow()
            .vhost
            .declare_exchange_passive(name)
            .map(|_| ())
    }

    /// exchange.delete on every shard (a missing exchange is no error).
    pub async fn delete_exchange(&self, name: &str, if_unused: bool) -> Result<(), ExchangeError> {
        let deleted = self
            .state
            .borrow_mut()
            .vhost
            .delete_exchange(name, if_unused)?;
        if !deleted.is_empty() {
            self.change_vhost(VhostChange::DeleteExchange(name.into()))
                .await;
        }
        Ok(())
    }

    /// The home shard of a queue.
    pub fn home_of_queue(&self, name: &str) -> u16 {
        self.home_of(name)
    }

    /// Publishes to an exchange (an AMQP or STOMP publish): `amq.topic` reaches MQTT
    /// subscribers as well as bound queues. Returns what to send to other shards.
    pub fn publish_to_exchange(
        &self,
        exchange: &str,
        routing_key: &str,
        message: Message,
    ) -> Result<Vec<(u16, ShardMsg)>, PublishError> {
        self.publish_routed(exchange, routing_key, None, message, None)
            .map(|routed| routed.out)
    }

    /// As [`Shard::publish_to_exchange`], with the message's headers for headers
    /// exchanges, and says what the message reached (AMQP's `mandatory` returns it when
    /// nothing). With `confirm`, each queue on another shard reports whether it took the
    /// message to `confirm.shard` ([`ShardMsg::Confirmed`]); queues here answer in
    /// [`Routed::rejected`]. Queues reached through `amq.topic` count as taking it.
    pub fn publish_routed(
        &self,
        exchange: &str,
        routing_key: &str,
        headers: Option<&FieldTable>,
        mut message: Message,
        confirm: Option<ConfirmTo>,
    ) -> Result<Routed, PublishError> {
        if message.exchange != exchange {
            message.exchange = match exchange {
                "" => ByteString::new(),
                TOPIC_EXCHANGE => ByteString::from_static(TOPIC_EXCHANGE),
                other => ByteString::from(other),
            };
        }
        if exchange == TOPIC_EXCHANGE {
            let topic = routing_key_to_mqtt_topic(routing_key)
                .map_err(|_| PublishError::RoutingKey(routing_key.to_owned()))?;
            message.topic = topic.as_ref().into();
            let routed = {
                let state = self.state.borrow();
                state
                    .vhost
                    .route(TOPIC_EXCHANGE, routing_key, headers)
                    .is_ok_and(|q| !q.is_empty())
                    || self.has_interest(&state, &message.topic)
            };
            let mut out = Routed {
                routed,
                ..Routed::default()
            };
            self.publish_into(message.shared(), confirm, &mut out);
            return Ok(out);
        }
        let queues = self
            .state
            .borrow()
            .vhost
            .route(exchange, routing_key, headers)?;
        let mut routed = Routed {
            routed: !queues.is_empty(),
            ..Routed::default()
        };
        self.enqueue_routed(queues, &message.shared(), confirm, &mut routed);
        Ok(routed)
    }

    /// Puts a routed message into its queues: here at once, elsewhere through `out`.
    /// With `confirm`, queues elsewhere and logged messages here count in `pending`, a
    /// refusal here in `rejected`.
    pub(super) fn enqueue_routed(
        &self,
        queues: Vec<QueueName>,
        message: &Arc<Message>,
        confirm: Option<ConfirmTo>,
        routed: &mut Routed,
    ) {
        // An MQTT client's persistent message holds its PUBACK/PUBREC (through its
        // backpressure gauge) until every durable queue that logs it has it on disk.
        // (AMQP and STOMP publishers hear through `confirm` instead: they have no
        // session, origin 0.)
        let hold_ack = || {
            let pressure = message.pressure.as_ref()?;
            let mqtt = message.origin.session != 0;
            (mqtt && message.persistent && self.durability.get().is_some()).then(|| pressure.hold())
        };
        for queue in queues {
            let home = self.home_of_queue(queue.as_str());
            if home == self.id {
                let taken = self.enqueue(&queue, message.clone());
                match taken {
                    Taken::Logged(lsn) => {
                        if let Some(hold) = hold_ack() {
                            self.hold_until_durable(lsn, hold);
                        }
                    }
                    Taken::Unlogged => hold_ack().into_iter().for_each(Hold::fail),
                    Taken::Yes | Taken::No => {}
                }
                match (taken, confirm) {
                    (Taken::No | Taken::Unlogged, _) => routed.rejected = true,
                    (Taken::Logged(lsn), Some(to)) => {
                        routed.pending += 1;
                        self.confirm_when_durable(lsn, to);
                    }
                    _ => {}
                }
            } else {
                routed.pending += usize::from(confirm.is_some());
                let message = message.clone();
                routed.out.push((
                    home,
                    ShardMsg::Enqueue {
                        queue,
                        message,
                        confirm,
                        hold: hold_ack(),
                    },
                ));
            }
        }
    }

    /// The queues bound to `amq.topic` that a message on its topic reaches (none,
    /// without touching the topic, when nothing but MQTT sessions subscribe).
    pub(super) fn topic_queues(&self, message: &Message) -> Vec<QueueName> {
        let state = self.state.borrow();
        if !state.topic_bound {
            return Vec::new();
        }
        let key = mqtt_topic_to_routing_key(&message.topic);
        state
            .vhost
            .route(TOPIC_EXCHANGE, &key, None)
            .unwrap_or_default()
    }

    /// Puts a message into a queue homed here, and hands it on to a consumer if one has
    /// credit. Returns whether the queue took it (`false`: its `x-overflow` refused it;
    /// a queue deleted meanwhile counts as taking it).
    pub(super) fn enqueue(&self, name: &QueueName, message: Arc<Message>) -> Taken {
        let taken = {
            let mut state = self.state.borrow_mut();
            let Some(queue) = state.queues.get_mut(name.as_str()) else {
                return Taken::Yes;
            };
            let pressure = message.pressure.clone();
            // A persistent message in a durable queue is logged first: its record's LSN
            // is its id there, and a confirm waits for the commit that covers it.
            let logs = queue.config().durable && message.persistent;
            let lsn = if logs {
                let record = Record::Enqueued {
                    queue: name.clone(),
                    message: message.clone(),
                };
                let lsn = self.log_enqueued(&record, name);
                self.alarm_hold(&message);
                lsn
            } else {
                None
            };
            let refused = logs && lsn.is_none() && self.durability.get().is_some();
            let taken = match queue.publish_logged(message, Instant::now(), lsn.map(Lsn::get)) {
                Publish::Rejected => {
                    if let Some(lsn) = lsn {
                        self.log(&Record::Removed {
                            queue: name.clone(),
                            id: lsn.get(),
                        });
                    }
                    Taken::No
                }
                Publish::Enqueued if refused => Taken::Unlogged,
                Publish::Enqueued => lsn.map_or(Taken::Yes, Taken::Logged),
            };
            // Backpressure, not unbounded growth: over the high-water mark the
            // publisher is held back until consumers bring the queue down again.
            let high_water = self.limits.queue_high_water;
            if high_water > 0
                && queue.message_count() >= high_water
                && let Some(pressure) = pressure
            {
                let hold = pressure.hold();
                state.holds.entry(name.clone()).or_default().push(hold);
            }
            taken
        };
        self.pump(name);
        taken
    }

    /// Applies a vhost change here and on every other shard, and waits until all have
    /// applied it, so that a publish anywhere afterwards routes by it.
    pub(super) async fn change_vhost(&self, change: VhostChange) {
        self.apply_vhost(&change);
        let others = self.shard_count().saturating_sub(1);
        if others == 0 {
            return;
        }
        let (ack, acks) = flume::bounded(usize::from(others));
        for shard in (0..self.shard_count()).filter(|&s| s != self.id) {
            let msg = ShardMsg::Vhost {
                change: Box::new(change.clone()),
                ack: Some(ack.clone()),
            };
            self.send(shard, msg).await;
        }
        drop(ack);
        for _ in 0..others {
            if acks.recv_async().await.is_err() {
                break;
            }
        }
    }

    /// Applies a vhost change here and sends it to every other shard without waiting
    /// (from a mailbox handler, which must not wait on another shard).
    pub(super) fn announce_vhost(&self, change: VhostChange) {
        self.apply_vhost(&change);
        for shard in (0..self.shard_count()).filter(|&s| s != self.id) {
            self.send_now(
                shard,
                ShardMsg::Vhost {
                    change: Box::new(change.clone()),
                    ack: None,
                },
            );
        }
    }

    /// Applies a vhost change to this shard's replica (shard 0 logs the durable ones).
    pub(super) fn apply_vhost(&self, change: &VhostChange) {
        self.log_vhost(change);
        let mut state = self.state.borrow_mut();
        match change {
            VhostChange::DeclareQueue(name) => {
                state.vhost.add_queue(name.clone());
            }
            VhostChange::DeleteQueue(name) => {
                state.vhost.remove_queue(name.as_str());
            }
            VhostChange::Bind { exchange, binding } => {
                if let Err(error) = state.vhost.bind(exchange.as_str(), binding.clone()) {
                    tracing::warn!(%error, "a binding valid on its shard failed here");
                }
            }
            VhostChange::Unbind { exchange, binding } => {
                // Already gone here (the shard that unbound applied it first) is fine.
                let _ = state.vhost.unbind(exchange.as_str(), binding);
            }
            VhostChange::DeclareExchange(declare) => {
                if let Err(error) = state.vhost.declare_exchange(declare.clone()) {
                    tracing::warn!(%error, "an exchange valid on its shard failed here");
                }
            }
            VhostChange::DeleteExchange(name) => {
                let _ = state.vhost.delete_exchange(name.as_str(), false);
            }
        }
        state.topic_bound = state
            .vhost
            .exchange(TOPIC_EXCHANGE)
            .is_some_and(|e| e.bindings().len() > 0);
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;
    use bytestring::ByteString;
    use switchyard_mqtt::QoS;

    use super::*;
    use crate::core::exchange::FieldTable;
    use crate::core::queue::{GetOk, QueueConfig};
    use crate::core::shard::Limits;
    use crate::core::shard::{QueueOp, QueueReply};
    use crate::core::stats::Stats;

    fn shard() -> Shard {
        let (tx, _rx) = flume::bounded(16);
        let limits = Limits {
            max_queued_messages: 10,
            backpressure_queued: 10,
            queue_high_water: 10_000,
        };
        Shard::new(0, vec![tx], limits, Arc::new(Stats::new(1))).expect("shard 0 of 1")
    }

    fn mqtt(topic: &str) -> Arc<Message> {
        Message::new(
            ByteString::from(topic),
            Bytes::from("m"),
            QoS::AtLeastOnce,
            false,
        )
        .shared()
    }

    fn config() -> QueueConfig {
        QueueConfig::new(false, false, false, &FieldTable::default()).unwrap()
    }

    async fn declare(shard: &Shard, name: &str) -> bool {
        match shard
            .queue_op(name.into(), QueueOp::Declare(config()))
            .await
        {
            QueueReply::Declared(d) => d.created,
            other => panic!("declare failed: {other:?}"),
        }
    }

    async fn get(shard: &Shard, name: &str) -> Option<GetOk<Arc<Message>>> {
        match shard
            .queue_op(name.into(), QueueOp::Get { no_ack: true })
            .await
        {
            QueueReply::Got(got) => got,
            other => panic!("get failed: {other:?}"),
        }
    }

    #[test]
    fn an_mqtt_publish_reaches_a_queue_bound_to_amq_topic_by_the_mapped_key() {
        let runtime = compio::runtime::Runtime::new().unwrap();
        runtime.block_on(async {
            let shard = shard();
            assert!(declare(&shard, "sensors").await);
            assert!(!declare(&shard, "sensors").await, "a redeclare");
            shard
                .bind_queue("amq.topic", "sensors", "home.*.temp")
                .await
                .unwrap();
            assert!(shard.publish(mqtt("home/kitchen/temp")).is_empty());
            shard.publish(mqtt("home/kitchen/temp/x"));
            shard.publish(mqtt("office/kitchen/temp"));
            let got = get(&shard, "sensors").await.expect("one message");
            assert_eq!(&*got.message.topic, "home/kitchen/temp");
            assert_eq!(got.message_count, 0, "only the matching topic was queued");
        });
    }

    #[test]
    fn a_dot_in_an_mqtt_topic_is_a_slash_in_the_routing_key() {
        let runtime = compio::runtime::Runtime::new().unwrap();
        runtime.block_on(async {
            let shard = shard();
            declare(&shard, "q").await;
            shard.bind_queue("amq.topic", "q", "v1/x.*").await.unwrap();
            shard.publish(mqtt("v1.x/y"));
            assert!(get(&shard, "q").await.is_some());
        });
    }

    #[test]
    fn publishes_to_other_exchanges_route_by_the_vhost() {
        let runtime = compio::runtime::Runtime::new().unwrap();
        runtime.block_on(async {
            let shard = shard();
            declare(&shard, "jobs").await;
            shard
                .bind_queue("amq.direct", "jobs", "build")
                .await
                .unwrap();
            let message =
                Message::new(ByteString::new(), Bytes::from("j"), QoS::AtLeastOnce, false);
            shard
                .publish_to_exchange("amq.direct", "build", message.clone())
                .unwrap();
            shard
                .publish_to_exchange("", "jobs", message.clone())
                .unwrap();
            shard
                .publish_to_exchange("amq.direct", "deploy", message.clone())
                .unwrap();
            assert!(get(&shard, "jobs").await.is_some());
            assert!(get(&shard, "jobs").await.is_some(), "the default exchange");
            assert!(get(&shard, "jobs").await.is_none(), "no binding for deploy");
            assert!(matches!(
                shard.publish_to_exchange("nope", "k", message),
                Err(PublishError::Exchange(ExchangeError::ExchangeNotFound(_)))
            ));
            assert!(matches!(
                shard.bind_queue("amq.direct", "missing", "k").await,
                Err(ExchangeError::QueueNotFound(_))
            ));
        });
    }

    #[test]
    fn an_amq_topic_publish_becomes_an_mqtt_topic() {
        let runtime = compio::runtime::Runtime::new().unwrap();
        runtime.block_on(async {
            let shard = shard();
            declare(&shard, "q").await;
            shard.bind_queue("amq.topic", "q", "a.#").await.unwrap();
            let message = Message::new(ByteString::new(), Bytes::from("x"), QoS::AtMostOnce, false);
            shard
                .publish_to_exchange("amq.topic", "a.b/c", message.clone())
                .unwrap();
            let got = get(&shard, "q").await.unwrap();
            assert_eq!(&*got.message.topic, "a/b.c");
            assert!(matches!(
                shard.publish_to_exchange("amq.topic", "a.#", message),
                Err(PublishError::RoutingKey(_))
            ));
        });
    }

    #[test]
    fn publish_routed_says_whether_anything_was_reached() {
        let runtime = compio::runtime::Runtime::new().unwrap();
        runtime.block_on(async {
            let shard = shard();
            let message =
                || Message::new(ByteString::new(), Bytes::from("m"), QoS::AtMostOnce, false);
            let jobs = ExchangeDeclare::new("jobs", crate::core::exchange::ExchangeKind::Direct);
            assert!(shard.declare_exchange(jobs).await.unwrap());
            declare(&shard, "q").await;
            let routed = |key| {
                shard
                    .publish_routed("jobs", key, None, message(), None)
                    .unwrap()
                    .routed
            };
            assert!(!routed("build"));
            let binding = Binding::new(Destination::queue("q"), "build");
            shard.bind("jobs", binding.clone()).await.unwrap();
            assert!(routed("build"));
            shard.unbind("jobs", binding).await.unwrap();
            assert!(!routed("build"));
            let topic = shard
                .publish_routed("amq.topic", "a.b", None, message(), None)
                .unwrap();
            assert!(!topic.routed, "no subscriber of a/b");
            shard.delete_exchange("jobs", false).await.unwrap();
            assert!(shard.check_exchange("jobs").is_err());
        });
    }
}
