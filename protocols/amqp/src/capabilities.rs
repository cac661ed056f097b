//! RabbitMQ's capabilities: the `capabilities` table inside connection.start's
//! server-properties (what the server offers) and connection.start-ok's
//! client-properties (what the client understands).

use crate::table::{FieldTable, FieldValue};
use crate::types::ShortString;

/// The server acks and nacks publishes after confirm.select.
pub const PUBLISHER_CONFIRMS: &str = "publisher_confirms";
/// exchange.bind and exchange.unbind.
pub const EXCHANGE_EXCHANGE_BINDINGS: &str = "exchange_exchange_bindings";
/// basic.nack.
pub const BASIC_NACK: &str = "basic.nack";
/// The server sends basic.cancel when a consumer's queue goes away.
pub const CONSUMER_CANCEL_NOTIFY: &str = "consumer_cancel_notify";
/// connection.blocked and connection.unblocked.
pub const CONNECTION_BLOCKED: &str = "connection.blocked";
/// The `x-priority` consumer argument.
pub const CONSUMER_PRIORITIES: &str = "consumer_priorities";
/// A failed login is answered with connection.close 403 ACCESS_REFUSED rather than
/// by closing the socket.
pub const AUTHENTICATION_FAILURE_CLOSE: &str = "authentication_failure_close";
/// basic.qos `global = false` limits each consumer ([`QosScope`](crate::QosScope)).
pub const PER_CONSUMER_QOS: &str = "per_consumer_qos";
/// The `amq.rabbitmq.reply-to` pseudo-queue.
pub const DIRECT_REPLY_TO: &str = "direct_reply_to";

/// Every capability RabbitMQ advertises, in its order.
pub const ALL: [&str; 9] = [
    PUBLISHER_CONFIRMS,
    EXCHANGE_EXCHANGE_BINDINGS,
    BASIC_NACK,
    CONSUMER_CANCEL_NOTIFY,
    CONNECTION_BLOCKED,
    CONSUMER_PRIORITIES,
    AUTHENTICATION_FAILURE_CLOSE,
    PER_CONSUMER_QOS,
    DIRECT_REPLY_TO,
];

/// A `capabilities` table with each of `names` set to true.
pub fn table(names: &[&'static str]) -> FieldTable {
    names
        .iter()
        .map(|&n| (ShortString::from_static(n), FieldValue::Boolean(true)))
        .collect()
}

/// Whether `properties` (server- or client-properties) hold a `capabilities` table in
/// which `name` is true.
pub fn has(properties: &FieldTable, name: &str) -> bool {
    properties
        .get("capabilities")
        .and_then(FieldValue::as_table)
        .and_then(|caps| caps.get(name))
        .and_then(FieldValue::as_bool)
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_capability_is_found_only_when_true() {
        let mut caps = table(&ALL);
        caps.push(ShortString::from_static("x"), false);
        let props = FieldTable::new().with(ShortString::from_static("capabilities"), caps);
        assert!(ALL.iter().all(|n| has(&props, n)));
        assert!(!has(&props, "x"));
        assert!(!has(&props, "y"));
        assert!(!has(&FieldTable::new(), BASIC_NACK));
    }
}
