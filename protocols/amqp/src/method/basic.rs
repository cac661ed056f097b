//! The basic class (60): qos, consumers, publish and delivery, acknowledgements, with
//! RabbitMQ's basic.nack, consumer cancel notifications and per-consumer qos.

use crate::table::FieldTable;
use crate::types::ShortString;

method! {
    /// Sets the prefetch window.
    ///
    /// RabbitMQ reads `global` differently from the spec (its "per-consumer qos"
    /// capability): false means the limit applies to each consumer started on the
    /// channel afterwards, true means one limit shared by all consumers on the channel
    /// ([`BasicQos::scope`]). `prefetch_size` other than 0 is refused by RabbitMQ
    /// (540 not-implemented).
    BasicQos = (60, 10, "basic.qos") {
        /// Window in octets; 0: no limit.
        pub prefetch_size: u32,
        /// Window in messages; 0: no limit.
        pub prefetch_count: u16,
        /// RabbitMQ: shared by the channel (true) or per consumer (false).
        pub global: bool,
    }
}

/// What a basic.qos limits, as RabbitMQ reads its `global` flag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum QosScope {
    /// `global = false`: each consumer started on the channel afterwards.
    PerConsumer,
    /// `global = true`: all consumers on the channel together.
    PerChannel,
}

impl BasicQos {
    /// The scope of the limit, as RabbitMQ defines it.
    pub const fn scope(&self) -> QosScope {
        if self.global {
            QosScope::PerChannel
        } else {
            QosScope::PerConsumer
        }
    }
}

method! {
    /// Confirms basic.qos.
    BasicQosOk = (60, 11, "basic.qos-ok") {}
}

method! {
    /// Starts a consumer.
    BasicConsume = (60, 20, "basic.consume") {
        reserved ticket: u16,
        /// Queue name.
        pub queue: ShortString,
        /// Consumer tag; empty: the server chooses one.
        pub consumer_tag: ShortString,
        /// Do not deliver this connection's own publishes (RabbitMQ ignores it).
        pub no_local: bool,
        /// Deliveries need no acknowledgement.
        pub no_ack: bool,
        /// The only consumer of the queue.
        pub exclusive: bool,
        /// Send no consume-ok.
        pub no_wait: bool,
        /// Arguments (`x-priority`, ...).
        pub arguments: FieldTable,
    }
}

method! {
    /// Confirms basic.consume.
    BasicConsumeOk = (60, 21, "basic.consume-ok") {
        /// The consumer tag.
        pub consumer_tag: ShortString,
    }
}

method! {
    /// Cancels a consumer. RabbitMQ's consumer cancel notification
    /// (`consumer_cancel_notify` capability): the server sends it, with `no_wait`
    /// false, when the queue is gone, and the client answers basic.cancel-ok.
    BasicCancel = (60, 30, "basic.cancel") {
        /// The consumer tag.
        pub consumer_tag: ShortString,
        /// Send no cancel-ok.
        pub no_wait: bool,
    }
}

method! {
    /// Confirms basic.cancel.
    BasicCancelOk = (60, 31, "basic.cancel-ok") {
        /// The consumer tag.
        pub consumer_tag: ShortString,
    }
}

method! {
    /// Publishes a message; a content header and body frames follow.
    BasicPublish = (60, 40, "basic.publish") {
        reserved ticket: u16,
        /// Exchange name; empty: the default exchange.
        pub exchange: ShortString,
        /// Routing key.
        pub routing_key: ShortString,
        /// Return the message (basic.return) if no queue gets it.
        pub mandatory: bool,
        /// Return the message if no consumer can take it now (RabbitMQ refuses it with
        /// 540 not-implemented).
        pub immediate: bool,
    }
}

method! {
    /// Returns an unroutable mandatory message; content follows.
    BasicReturn = (60, 50, "basic.return") {
        /// Why ([`ReplyCode::NoRoute`](crate::ReplyCode::NoRoute)).
        pub reply_code: u16,
        /// Text for the log.
        pub reply_text: ShortString,
        /// The exchange it was published to.
        pub exchange: ShortString,
        /// Its routing key.
        pub routing_key: ShortString,
    }
}

method! {
    /// Delivers a message to a consumer; content follows.
    BasicDeliver = (60, 60, "basic.deliver") {
        /// The consumer tag.
        pub consumer_tag: ShortString,
        /// Channel-scoped delivery tag, for basic.ack / nack / reject.
        pub delivery_tag: u64,
        /// Delivered before and not acknowledged.
        pub redelivered: bool,
        /// The exchange it was published to.
        pub exchange: ShortString,
        /// Its routing key.
        pub routing_key: ShortString,
    }
}

method! {
    /// Fetches one message.
    BasicGet = (60, 70, "basic.get") {
        reserved ticket: u16,
        /// Queue name.
        pub queue: ShortString,
        /// The message needs no acknowledgement.
        pub no_ack: bool,
    }
}

method! {
    /// Answers basic.get with a message; content follows.
    BasicGetOk = (60, 71, "basic.get-ok") {
        /// Channel-scoped delivery tag.
        pub delivery_tag: u64,
        /// Delivered before and not acknowledged.
        pub redelivered: bool,
        /// The exchange it was published to.
        pub exchange: ShortString,
        /// Its routing key.
        pub routing_key: ShortString,
        /// Messages left in the queue.
        pub message_count: u32,
    }
}

method! {
    /// Answers basic.get: the queue is empty.
    BasicGetEmpty = (60, 72, "basic.get-empty") {
        reserved cluster_id: ShortString,
    }
}

method! {
    /// Acknowledges deliveries; in confirm mode, the server confirms publishes.
    BasicAck = (60, 80, "basic.ack") {
        /// The delivery (or publish sequence number).
        pub delivery_tag: u64,
        /// Every tag up to and including this one.
        pub multiple: bool,
    }
}

method! {
    /// Rejects one delivery.
    BasicReject = (60, 90, "basic.reject") {
        /// The delivery.
        pub delivery_tag: u64,
        /// Requeue it (else drop or dead-letter it).
        pub requeue: bool,
    }
}

method! {
    /// Redelivers unacknowledged messages, without answer (deprecated).
    BasicRecoverAsync = (60, 100, "basic.recover-async") {
        /// Requeue them (else redeliver to the same consumer).
        pub requeue: bool,
    }
}

method! {
    /// Redelivers unacknowledged messages.
    BasicRecover = (60, 110, "basic.recover") {
        /// Requeue them (else redeliver to the same consumer).
        pub requeue: bool,
    }
}

method! {
    /// Confirms basic.recover.
    BasicRecoverOk = (60, 111, "basic.recover-ok") {}
}

method! {
    /// RabbitMQ: rejects one or more deliveries; in confirm mode, the server reports
    /// publishes it could not take.
    BasicNack = (60, 120, "basic.nack") {
        /// The delivery (or publish sequence number).
        pub delivery_tag: u64,
        /// Every tag up to and including this one.
        pub multiple: bool,
        /// Requeue them (else drop or dead-letter them).
        pub requeue: bool,
    }
}
