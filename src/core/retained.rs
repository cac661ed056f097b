//! Retained messages: the last retained message per topic, replicated on every shard so
//! that a subscribe is answered locally.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use bytestring::ByteString;

use crate::core::message::Message;

/// The retained messages of one shard's replica.
#[derive(Debug, Default)]
pub struct Retained {
    by_topic: HashMap<ByteString, Arc<Message>, ahash::RandomState>,
}

impl Retained {
    /// Stores `message` as the topic's retained message, or clears the topic when the
    /// payload is empty [MQTT-3.3.1-6], [MQTT-3.3.1-7].
    pub fn apply(&mut self, message: Arc<Message>) {
        if message.payload.is_empty() {
            self.by_topic.remove(&message.topic);
        } else {
            self.by_topic.insert(message.topic.clone(), message);
        }
    }

    /// Number of retained messages.
    pub fn len(&self) -> usize {
        self.by_topic.len()
    }

    /// Whether no message is retained.
    pub fn is_empty(&self) -> bool {
        self.by_topic.is_empty()
    }

    /// The unexpired retained messages whose topic matches an MQTT topic filter, dropping
    /// expired ones on the way.
    pub fn matching(&mut self, filter: &str, now: Instant) -> Vec<Arc<Message>> {
        self.by_topic.retain(|_, m| !m.is_expired(now));
        let mut found: Vec<_> = self
            .by_topic
            .values()
            .filter(|m| mqtt_matches(filter, &m.topic))
            .cloned()
            .collect();
        found.sort_by(|a, b| a.topic.cmp(&b.topic));
        found
    }
}

/// Whether an MQTT topic filter matches a topic name, with the rule that wildcards at the
/// first level do not match topics starting with `$` [MQTT-4.7.2-1].
pub fn mqtt_matches(filter: &str, topic: &str) -> bool {
    if topic.starts_with('$') && (filter.starts_with('+') || filter.starts_with('#')) {
        return false;
    }
    let mut filter_levels = filter.split('/');
    let mut topic_levels = topic.split('/');
    loop {
        match (filter_levels.next(), topic_levels.next()) {
            (Some("#"), _) => return true,
            (Some("+"), Some(_)) => {}
            (Some(f), Some(t)) if f == t => {}
            (None, None) => return true,
            _ => return false,
        }
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;
    use switchyard_mqtt::QoS;

    use super::*;

    #[test]
    fn filter_matching_follows_the_standard() {
        let cases = [
            ("sport/tennis/player1/#", "sport/tennis/player1", true),
            (
                "sport/tennis/player1/#",
                "sport/tennis/player1/score/wimbledon",
                true,
            ),
            ("sport/#", "sport", true),
            ("sport/tennis/+", "sport/tennis/player1", true),
            ("sport/tennis/+", "sport/tennis/player1/ranking", false),
            ("sport/+", "sport", false),
            ("sport/+", "sport/", true),
            ("+/+", "/finance", true),
            ("/+", "/finance", true),
            ("+", "/finance", false),
            ("#", "$SYS/broker", false),
            ("+/monitor/Clients", "$SYS/monitor/Clients", false),
            ("$SYS/#", "$SYS/broker", true),
            ("$SYS/monitor/+", "$SYS/monitor/Clients", true),
            ("a/b", "a/b", true),
            ("a/b", "a/b/c", false),
        ];
        for (filter, topic, expected) in cases {
            assert_eq!(mqtt_matches(filter, topic), expected, "{filter} vs {topic}");
        }
    }

    #[test]
    fn store_replace_clear_and_expire() {
        let now = Instant::now();
        let msg = |topic: &str, payload: &'static [u8]| {
            Message::new(
                ByteString::from(topic),
                Bytes::from_static(payload),
                QoS::AtMostOnce,
                true,
            )
            .shared()
        };
        let mut r = Retained::default();
        r.apply(msg("a/b", b"1"));
        r.apply(msg("a/c", b"2"));
        r.apply(msg("a/b", b"3"));
        let found = r.matching("a/+", now);
        assert_eq!(
            found.iter().map(|m| &m.payload[..]).collect::<Vec<_>>(),
            [b"3", b"2"]
        );
        r.apply(msg("a/b", b""));
        assert_eq!(r.len(), 1);
        let mut expiring = Message::new(
            ByteString::from("x"),
            Bytes::from_static(b"x"),
            QoS::AtMostOnce,
            true,
        );
        expiring.properties.message_expiry_interval = Some(1);
        r.apply(expiring.shared());
        assert_eq!(
            r.matching("#", now + std::time::Duration::from_secs(2))
                .len(),
            1
        );
        assert_eq!(r.len(), 1);
    }
}
