//! The exchange class (40), with RabbitMQ's exchange-to-exchange bindings.

use crate::table::FieldTable;
use crate::types::ShortString;

method! {
    /// Declares (creates or checks) an exchange.
    ExchangeDeclare = (40, 10, "exchange.declare") {
        reserved ticket: u16,
        /// Exchange name.
        pub exchange: ShortString,
        /// Exchange type (`direct`, `fanout`, `topic`, `headers`, ...).
        pub kind: ShortString,
        /// Only check that the exchange exists.
        pub passive: bool,
        /// Survive a broker restart.
        pub durable: bool,
        /// RabbitMQ: delete when the last binding is removed (the spec's reserved-2).
        pub auto_delete: bool,
        /// RabbitMQ: clients cannot publish to it directly (the spec's reserved-3).
        pub internal: bool,
        /// Send no declare-ok.
        pub no_wait: bool,
        /// Arguments (`alternate-exchange`, ...).
        pub arguments: FieldTable,
    }
}

method! {
    /// Confirms exchange.declare.
    ExchangeDeclareOk = (40, 11, "exchange.declare-ok") {}
}

method! {
    /// Deletes an exchange.
    ExchangeDelete = (40, 20, "exchange.delete") {
        reserved ticket: u16,
        /// Exchange name.
        pub exchange: ShortString,
        /// Only if it has no bindings.
        pub if_unused: bool,
        /// Send no delete-ok.
        pub no_wait: bool,
    }
}

method! {
    /// Confirms exchange.delete.
    ExchangeDeleteOk = (40, 21, "exchange.delete-ok") {}
}

method! {
    /// RabbitMQ: binds an exchange to an exchange.
    ExchangeBind = (40, 30, "exchange.bind") {
        reserved ticket: u16,
        /// The exchange that receives the messages.
        pub destination: ShortString,
        /// The exchange the messages come from.
        pub source: ShortString,
        /// Routing key of the binding.
        pub routing_key: ShortString,
        /// Send no bind-ok.
        pub no_wait: bool,
        /// Binding arguments.
        pub arguments: FieldTable,
    }
}

method! {
    /// RabbitMQ: confirms exchange.bind.
    ExchangeBindOk = (40, 31, "exchange.bind-ok") {}
}

method! {
    /// RabbitMQ: removes an exchange-to-exchange binding.
    ExchangeUnbind = (40, 40, "exchange.unbind") {
        reserved ticket: u16,
        /// The exchange that received the messages.
        pub destination: ShortString,
        /// The exchange the messages came from.
        pub source: ShortString,
        /// Routing key of the binding.
        pub routing_key: ShortString,
        /// Send no unbind-ok.
        pub no_wait: bool,
        /// Binding arguments.
        pub arguments: FieldTable,
    }
}

method! {
    /// RabbitMQ: confirms exchange.unbind (method id 51, not 41).
    ExchangeUnbindOk = (40, 51, "exchange.unbind-ok") {}
}
