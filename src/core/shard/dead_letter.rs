//! What a message carries when a queue dead-letters it, as RabbitMQ marks it: the
//! `x-death` history (one entry per queue and reason, counted), the
//! `x-first-death-reason/queue/exchange` headers, the dead-letter exchange as its
//! exchange, and no `expiration` left to expire it again.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use bytestring::ByteString;

use crate::core::exchange::{FieldTable, FieldValue};
use crate::core::mapping::{mqtt_topic_to_routing_key, routing_key_to_mqtt_topic};
use crate::core::message::Message;
use crate::core::queue::DeadLetterReason;

const X_DEATH: &str = "x-death";
const FIRST_REASON: &str = "x-first-death-reason";
const FIRST_QUEUE: &str = "x-first-death-queue";
const FIRST_EXCHANGE: &str = "x-first-death-exchange";

/// `message` as it leaves `queue` for its dead-letter exchange `to`, for `reason`,
/// with routing key `key`.
pub(super) fn dead_lettered(
    message: &Message,
    queue: &str,
    reason: DeadLetterReason,
    to: &str,
    key: &str,
) -> Message {
    let mut out = message.clone();
    out.pressure = None;
    let mut headers = message.headers.as_deref().cloned().unwrap_or_default();
    let routing_key = mqtt_topic_to_routing_key(&message.topic);
    let mut deaths = match headers.remove(X_DEATH) {
        Some(FieldValue::Array(deaths)) => deaths,
        _ => Vec::new(),
    };
    let text = |s: &str| FieldValue::Str(Bytes::copy_from_slice(s.as_bytes()));
    let same = |entry: &FieldValue| {
        let FieldValue::Table(t) = entry else {
            return false;
        };
        t.get("queue") == Some(&text(queue)) && t.get("reason") == Some(&text(reason.as_str()))
    };
    let seen = deaths.iter().position(same);
    let entry = match seen.map(|i| deaths.remove(i)) {
        Some(FieldValue::Table(mut t)) => {
            let count = match t.get("count") {
                Some(FieldValue::Int(n)) => n.saturating_add(1),
                _ => 1,
            };
            t.insert("count", FieldValue::Int(count));
            t
        }
        _ => {
            let now = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_secs());
            let mut t = FieldTable::default();
            t.insert("count", FieldValue::Int(1));
            t.insert("reason", text(reason.as_str()));
            t.insert("queue", text(queue));
            t.insert("time", FieldValue::Timestamp(now));
            t.insert("exchange", text(&message.exchange));
            t.insert("routing-keys", FieldValue::Array(vec![text(&routing_key)]));
            let original = message.expiration_ms.or_else(|| {
                let seconds = message.properties.message_expiry_interval?;
                Some(u64::from(seconds) * 1000)
            });
            if let Some(ms) = original {
                t.insert("original-expiration", text(&ms.to_string()));
            }
            t
        }
    };
    deaths.insert(0, FieldValue::Table(entry));
    headers.insert(X_DEATH, FieldValue::Array(deaths));
    let firsts = [
        (FIRST_REASON, reason.as_str()),
        (FIRST_QUEUE, queue),
        (FIRST_EXCHANGE, &message.exchange),
    ];
    for (name, value) in firsts {
        if headers.get(name).is_none() {
            headers.insert(name, text(value));
        }
        let user = &mut out.properties.user_properties;
        if !user.iter().any(|(n, _)| n == name) {
            user.push((ByteString::from_static(name), ByteString::from(value)));
        }
    }
    out.headers = Some(Arc::new(headers));
    out.properties.message_expiry_interval = None;
    out.expiration_ms = None;
    out.exchange = ByteString::from(to);
    if let Ok(topic) = routing_key_to_mqtt_topic(key) {
        out.topic = topic.as_ref().into();
    }
    out
}

#[cfg(test)]
mod tests {
    use switchyard_mqtt::QoS;

    use super::*;

    fn deaths(message: &Message) -> Vec<FieldTable> {
        match message.headers.as_deref().and_then(|h| h.get(X_DEATH)) {
            Some(FieldValue::Array(items)) => items
                .iter()
                .filter_map(|i| match i {
                    FieldValue::Table(t) => Some(t.clone()),
                    _ => None,
                })
                .collect(),
            other => panic!("no x-death: {other:?}"),
        }
    }

    #[test]
    fn a_second_death_in_the_same_queue_for_the_same_reason_counts_up() {
        let mut message = Message::new("a/b".into(), Bytes::new(), QoS::AtLeastOnce, false);
        message.exchange = "orders".into();
        message.properties.message_expiry_interval = Some(3);
        let once = dead_lettered(&message, "q", DeadLetterReason::Expired, "dlx", "a.b");
        assert_eq!(once.exchange, "dlx");
        assert_eq!(once.properties.message_expiry_interval, None);
        let first = deaths(&once);
        assert_eq!(first.len(), 1);
        assert_eq!(first[0].get("count"), Some(&FieldValue::Int(1)));
        assert_eq!(
            first[0].get("exchange"),
            Some(&FieldValue::Str("orders".into()))
        );
        assert_eq!(
            first[0].get("routing-keys"),
            Some(&FieldValue::Array(vec![FieldValue::Str("a.b".into())]))
        );
        assert_eq!(
            first[0].get("original-expiration"),
            Some(&FieldValue::Str("3000".into()))
        );
        let twice = dead_lettered(&once, "q", DeadLetterReason::Expired, "dlx", "a.b");
        let other = dead_lettered(&twice, "q2", DeadLetterReason::Rejected, "dlx", "dead");
        assert_eq!(other.topic, "dead");
        let all = deaths(&other);
        assert_eq!(all.len(), 2);
        assert_eq!(all[0].get("queue"), Some(&FieldValue::Str("q2".into())));
        assert_eq!(all[1].get("count"), Some(&FieldValue::Int(2)));
        let headers = other.headers.as_deref().unwrap();
        assert_eq!(headers.get(FIRST_QUEUE), Some(&FieldValue::Str("q".into())));
        assert_eq!(
            headers.get(FIRST_REASON),
            Some(&FieldValue::Str("expired".into()))
        );
        let user = &other.properties.user_properties;
        assert!(
            user.iter()
                .any(|(n, v)| n == FIRST_EXCHANGE && v == "orders")
        );
    }
}
