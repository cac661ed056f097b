//! A STOMP connection's subscriptions (SUBSCRIBE, UNSUBSCRIBE), their acknowledgements
//! (ACK, NACK) and the queues behind them.

use super::*;

impl Connection {
    // ---- SUBSCRIBE / UNSUBSCRIBE --------------------------------------------------------

    pub(super) async fn subscribe(&mut self, frame: &Frame) -> Result<(), Failure> {
        let destination = required(frame, "destination")?;
        // STOMP 1.0 allows SUBSCRIBE without id: the destination names it.
        let id = frame
            .header("id")
            .cloned()
            .unwrap_or_else(|| destination.clone());
        let ack = frame
            .ack_mode()
            .map_err(|e| failure(e.message(), e.to_string()))?;
        let prefetch =
            match frame.header("prefetch-count") {
                None => None,
                Some(v) => Some(v.trim().parse::<u32>().map_err(|_| {
                    failure("Invalid prefetch-count", format!("'{v}' is not a count"))
                })?),
            };
        if self.subscription_by_id(&id).is_some() {
            return Err(failure(
                "Duplicated subscription identifier",
                format!("a subscription with id '{id}' already exists"),
            ));
        }
        let durable = flag(frame, "durable") || flag(frame, "persistent");
        let parsed = StompDestination::parse(&destination)
            .map_err(|e| failure("Unknown destination", format!("'{destination}': {e}")))?;
        let (queue, naming, owns_queue) = match &parsed {
            StompDestination::Topic(key) if durable => {
                let name = frame
                    .header("x-queue-name")
                    .map_or_else(|| format!("stomp-subscription-{id}"), |n| n.to_string());
                let queue: QueueName = name.as_str().into();
                self.declare(queue.as_str(), durable_queue()).await?;
                self.bind(TOPIC_EXCHANGE, queue.as_str(), key).await?;
                (queue, Naming::Topic, false)
            }
            StompDestination::Topic(key) => {
                let queue = self.ctx.shard.local_queue_name("stomp-subscription-");
                self.declare(queue.as_str(), private_queue()).await?;
                self.bind(TOPIC_EXCHANGE, queue.as_str(), key).await?;
                (queue, Naming::Topic, true)
            }
            StompDestination::Exchange { name, routing_key } => {
                let queue = self.ctx.shard.local_queue_name("stomp-subscription-");
                self.declare(queue.as_str(), private_queue()).await?;
                self.bind(name, queue.as_str(), routing_key.as_deref().unwrap_or(""))
                    .await?;
                (queue, Naming::Fixed(destination.clone()), true)
            }
            StompDestination::Queue(name) => {
                let queue: QueueName = name.as_ref().into();
                self.declare(queue.as_str(), durable_queue()).await?;
                (queue, Naming::Fixed(destination.clone()), false)
            }
            StompDestination::AmqQueue(name) | StompDestination::ReplyQueue(name) => {
                let queue: QueueName = name.as_ref().into();
                match self
                    .ctx
                    .shard
                    .queue_op(queue.clone(), QueueOp::Exists)
                    .await
                {
                    QueueReply::Declared(_) => {}
                    _ => {
                        return Err(failure(
                            "not_found",
                            format!("NOT_FOUND - no queue '{name}' in vhost '/'"),
                        ));
                    }
                }
                (queue, Naming::Fixed(destination.clone()), false)
            }
            StompDestination::TempQueue(name) => {
                let queue = self.temp_queue(&destination, name).await?;
                (queue, Naming::Fixed(destination.clone()), true)
            }
        };
        let sub = Subscription {
            id,
            naming,
            ack,
            queue,
            owns_queue,
        };
        self.consume(sub, prefetch, false).await
    }

    /// Starts consuming from `sub.queue` into this connection.
    pub(super) async fn consume(
        &mut self,
        sub: Subscription,
        prefetch: Option<u32>,
        exclusive: bool,
    ) -> Result<(), Failure> {
        let key = self
            .consumer_key
            .ok_or_else(|| failure("not connected", "SUBSCRIBE before CONNECT"))?;
        let tag: ByteString =
            format!("stomp-{}-{}-{}", self.ctx.shard.id(), self.id, sub.id).into();
        let mut consume = Consume::new(&tag);
        consume.prefetch = prefetch.unwrap_or(self.ctx.shared.config.stomp.default_prefetch);
        consume.exclusive = exclusive;
        let queue = sub.queue.clone();
        self.consumer
            .subscriptions
            .borrow_mut()
            .insert(tag.clone(), sub);
        let op = QueueOp::Consume {
            consume,
            shard: self.ctx.shard.id(),
            key,
        };
        match self.ctx.shard.queue_op(queue, op).await {
            QueueReply::Failed(e) => {
                self.consumer.subscriptions.borrow_mut().remove(&tag);
                Err(failure("Cannot subscribe", e.to_string()))
            }
            _ => Ok(()),
        }
    }

    pub(super) async fn unsubscribe(&mut self, frame: &Frame) -> Result<(), Failure> {
        let id = match frame.header("id") {
            Some(id) => id.clone(),
            None => required(frame, "destination")?,
        };
        let Some((tag, sub)) = self.subscription_by_id(&id) else {
            return Err(failure(
                "No such subscription",
                format!("no subscription with id '{id}'"),
            ));
        };
        // A durable subscription's queue goes only when UNSUBSCRIBE says durable too.
        let forget = sub.owns_queue || flag(frame, "durable") || flag(frame, "persistent");
        self.end_subscription(&tag, &sub, forget).await;
        Ok(())
    }

    pub(super) fn subscription_by_id(&self, id: &str) -> Option<(ByteString, Subscription)> {
        self.consumer
            .subscriptions
            .borrow()
            .iter()
            .find(|(_, s)| &*s.id == id)
            .map(|(t, s)| (t.clone(), s.clone()))
    }

    /// Cancels a subscription (its unacknowledged messages go back to the queue) and
    /// deletes its queue if `delete`.
    pub(super) async fn end_subscription(
        &mut self,
        tag: &ByteString,
        sub: &Subscription,
        delete: bool,
    ) {
        self.consumer.subscriptions.borrow_mut().remove(tag);
        self.consumer
            .unacked
            .borrow_mut()
            .retain(|_, p| p.tag != *tag);
        let shard = self.ctx.shard.clone();
        let cancel = QueueOp::Cancel {
            tag: tag.clone(),
            requeue: true,
        };
        shard.queue_op(sub.queue.clone(), cancel).await;
        if delete {
            let op = QueueOp::Delete {
                if_unused: false,
                if_empty: false,
            };
            shard.queue_op(sub.queue.clone(), op).await;
        }
    }

    // ---- ACK / NACK -------------------------------------------------------------------

    pub(super) fn settle(&mut self, frame: &Frame) -> Result<(), Failure> {
        let id = match self.version() {
            Version::V1_2 => required(frame, "id")?,
            _ => required(frame, "message-id")?,
        };
        let settled = id
            .trim()
            .parse::<u64>()
            .ok()
            .and_then(|n| self.consumer.take_settled(n))
            .ok_or_else(|| {
                failure(
                    "Unknown message",
                    format!("no message '{id}' awaits an acknowledgement"),
                )
            })?;
        let how = match frame.command {
            Command::Ack => Settle::Ack,
            // NACK requeues, as RabbitMQ does, unless told `requeue:false`.
            _ => Settle::Reject {
                requeue: frame.header("requeue").is_none_or(|v| &**v != "false"),
            },
        };
        for pending in settled {
            self.ctx.shard.settle(pending.queue, pending.id, how);
        }
        Ok(())
    }

    // ---- queues -----------------------------------------------------------------------

    pub(super) async fn declare(&self, queue: &str, config: QueueConfig) -> Result<(), Failure> {
        match self
            .ctx
            .shard
            .queue_op(queue.into(), QueueOp::Declare(config))
            .await
        {
            QueueReply::Failed(e) => Err(failure("Cannot declare queue", e.to_string())),
            _ => Ok(()),
        }
    }

    pub(super) async fn bind(&self, exchange: &str, queue: &str, key: &str) -> Result<(), Failure> {
        self.ctx
            .shard
            .bind_queue(exchange, queue, key)
            .await
            .map_err(|e| failure("Cannot subscribe", e.to_string()))
    }
}
