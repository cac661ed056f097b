//! The queue class (50).

use crate::table::FieldTable;
use crate::types::ShortString;

method! {
    /// Declares (creates or checks) a queue.
    QueueDeclare = (50, 10, "queue.declare") {
        reserved ticket: u16,
        /// Queue name; empty: the server names it.
        pub queue: ShortString,
        /// Only check that the queue exists.
        pub passive: bool,
        /// Survive a broker restart.
        pub durable: bool,
        /// Used by this connection only, deleted with it.
        pub exclusive: bool,
        /// Deleted when its last consumer is cancelled.
        pub auto_delete: bool,
        /// Send no declare-ok.
        pub no_wait: bool,
        /// Arguments (`x-message-ttl`, `x-queue-type`, ...).
        pub arguments: FieldTable,
    }
}

method! {
    /// Confirms queue.declare.
    QueueDeclareOk = (50, 11, "queue.declare-ok") {
        /// The queue name (the server's, if it chose it).
        pub queue: ShortString,
        /// Messages ready in the queue.
        pub message_count: u32,
        /// Active consumers.
        pub consumer_count: u32,
    }
}

method! {
    /// Binds a queue to an exchange.
    QueueBind = (50, 20, "queue.bind") {
        reserved ticket: u16,
        /// Queue name.
        pub queue: ShortString,
        /// Exchange name.
        pub exchange: ShortString,
        /// Routing key of the binding.
        pub routing_key: ShortString,
        /// Send no bind-ok.
        pub no_wait: bool,
        /// Binding arguments.
        pub arguments: FieldTable,
    }
}

method! {
    /// Confirms queue.bind.
    QueueBindOk = (50, 21, "queue.bind-ok") {}
}

method! {
    /// Removes every ready message of a queue.
    QueuePurge = (50, 30, "queue.purge") {
        reserved ticket: u16,
        /// Queue name.
        pub queue: ShortString,
        /// Send no purge-ok.
        pub no_wait: bool,
    }
}

method! {
    /// Confirms queue.purge.
    QueuePurgeOk = (50, 31, "queue.purge-ok") {
        /// Messages purged.
        pub message_count: u32,
    }
}

method! {
    /// Deletes a queue.
    QueueDelete = (50, 40, "queue.delete") {
        reserved ticket: u16,
        /// Queue name.
        pub queue: ShortString,
        /// Only if it has no consumers.
        pub if_unused: bool,
        /// Only if it has no messages.
        pub if_empty: bool,
        /// Send no delete-ok.
        pub no_wait: bool,
    }
}

method! {
    /// Confirms queue.delete.
    QueueDeleteOk = (50, 41, "queue.delete-ok") {
        /// Messages deleted with the queue.
        pub message_count: u32,
    }
}

method! {
    /// Removes a queue binding (no no-wait flag in this method).
    QueueUnbind = (50, 50, "queue.unbind") {
        reserved ticket: u16,
        /// Queue name.
        pub queue: ShortString,
        /// Exchange name.
        pub exchange: ShortString,
        /// Routing key of the binding.
        pub routing_key: ShortString,
        /// Binding arguments.
        pub arguments: FieldTable,
    }
}

method! {
    /// Confirms queue.unbind.
    QueueUnbindOk = (50, 51, "queue.unbind-ok") {}
}
