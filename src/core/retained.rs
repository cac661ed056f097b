//! Retained messages: the last retained message per topic, replicated on every shard so
//! that a subscribe is answered locally.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use bytestring::ByteString;

use crate::core::message::Message;

/// The retained messages of one shard's replica, in a tree of topic levels: a
/// subscription walks only the branches its filter can match, instead of every
/// retained topic.
#[derive(Debug, Default)]
pub struct Retained {
    root: Node,
    count: usize,
}

#[derive(Debug, Default)]
struct Node {
    message: Option<Arc<Message>>,
    children: HashMap<ByteString, Self, ahash::RandomState>,
}

impl Node {
    fn is_empty(&self) -> bool {
        self.message.is_none() && self.children.is_empty()
    }

    /// Clears the message at `levels` below this node, pruning emptied branches;
    /// returns whether a message was removed.
    fn remove(&mut self, mut levels: std::str::Split<'_, char>) -> bool {
        let Some(level) = levels.next() else {
            return self.message.take().is_some();
        };
        let Some(child) = self.children.get_mut(level) else {
            return false;
        };
        let removed = child.remove(levels);
        if child.is_empty() {
            self.children.remove(level);
        }
        removed
    }

    /// Collects the live messages of this node (if `here`) and of every node below it,
    /// skipping `$` children when `root`; drops the expired ones met.
    fn collect_all(&mut self, here: bool, root: bool, ctx: &mut Walk<'_>) {
        if here {
            ctx.take(&mut self.message);
        }
        for (level, child) in &mut self.children {
            if !(root && level.starts_with('$')) {
                child.collect_all(true, false, ctx);
            }
        }
    }

    /// Walks the filter's remaining `levels` from this node.
    fn walk(&mut self, levels: &[&str], root: bool, ctx: &mut Walk<'_>) {
        let Some((&level, rest)) = levels.split_first() else {
            ctx.take(&mut self.message);
            return;
        };
        match level {
            // "a/#" also matches "a" itself [MQTT-4.7.1-2].
            "#" => self.collect_all(!root, root, ctx),
            "+" => {
                for (name, child) in &mut self.children {
                    if !(root && name.starts_with('$')) {
                        child.walk(rest, false, ctx);
                    }
                }
            }
            literal => {
                if let Some(child) = self.children.get_mut(literal) {
                    child.walk(rest, false, ctx);
                }
            }
        }
    }
}

/// What a walk collects, and the expired messages it drops.
struct Walk<'a> {
    now: Instant,
    found: &'a mut Vec<Arc<Message>>,
    expired: usize,
}

impl Walk<'_> {
    fn take(&mut self, slot: &mut Option<Arc<Message>>) {
        match slot {
            Some(m) if m.is_expired(self.now) => {
                *slot = None;
                self.expired += 1;
            }
            Some(m) => self.found.push(m.clone()),
            None => {}
        }
    }
}

impl Retained {
    /// Stores `message` as the topic's retained message, or clears the topic when the
    /// payload is empty [MQTT-3.3.1-6], [MQTT-3.3.1-7].
    pub fn apply(&mut self, message: Arc<Message>) {
        if message.payload.is_empty() {
            if self.root.remove(message.topic.split('/')) {
                self.count -= 1;
            }
            return;
        }
        let mut node = &mut self.root;
        for level in message.topic.split('/') {
            node = node.children.entry(ByteString::from(level)).or_default();
        }
        if node.message.replace(message).is_none() {
            self.count += 1;
        }
    }

    /// Number of retained messages.
    pub fn len(&self) -> usize {
        self.count
    }

    /// Whether no message is retained.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The unexpired retained messages whose topic matches an MQTT topic filter, sorted
    /// by topic, dropping expired ones met on the way. Wildcards at the first level do
    /// not match `$` topics [MQTT-4.7.2-1].
    pub fn matching(&mut self, filter: &str, now: Instant) -> Vec<Arc<Message>> {
        let levels: Vec<&str> = filter.split('/').collect();
        let mut found = Vec::new();
        let mut walk = Walk {
            now,
            found: &mut found,
            expired: 0,
        };
        self.root.walk(&levels, true, &mut walk);
        self.count -= walk.expired;
        // Expired leaves stay as empty nodes until the topic is retained again or
        // cleared; they hold no message.
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

    #[test]
    fn the_tree_answers_every_filter_as_the_matcher_does() {
        let topics = [
            "sport",
            "sport/",
            "sport/tennis",
            "sport/tennis/player1",
            "sport/tennis/player1/score",
            "/finance",
            "finance",
            "$SYS/broker",
            "$SYS/monitor/Clients",
            "a/b/c",
            "a//c",
            "",
        ];
        let filters = [
            "#",
            "+",
            "+/+",
            "/+",
            "sport/#",
            "sport/+",
            "sport/tennis/+",
            "+/tennis/#",
            "$SYS/#",
            "$SYS/+/Clients",
            "+/monitor/Clients",
            "a/+/c",
            "a/b/c",
            "nope/#",
        ];
        let mut r = Retained::default();
        for t in topics {
            let m = Message::new(
                ByteString::from(t),
                Bytes::from_static(b"x"),
                QoS::AtMostOnce,
                true,
            );
            r.apply(m.shared());
        }
        assert_eq!(r.len(), topics.len());
        let now = Instant::now();
        for f in filters {
            let got: Vec<String> = r
                .matching(f, now)
                .iter()
                .map(|m| m.topic.to_string())
                .collect();
            let mut want: Vec<String> = topics
                .iter()
                .filter(|t| mqtt_matches(f, t))
                .map(|t| t.to_string())
                .collect();
            want.sort();
            assert_eq!(got, want, "filter {f:?}");
        }
        let clear = Message::new(
            ByteString::from("sport/tennis"),
            Bytes::new(),
            QoS::AtMostOnce,
            true,
        );
        r.apply(clear.shared());
        assert_eq!(r.len(), topics.len() - 1);
        assert!(r.matching("sport/tennis", now).is_empty());
        assert_eq!(
            r.matching("sport/tennis/#", now).len(),
            2,
            "children survive"
        );
    }
}
