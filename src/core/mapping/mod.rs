//! How MQTT topics and STOMP destinations map onto the AMQP 0-9-1 model, as RabbitMQ's MQTT
//! and STOMP plugins map them.
//!
//! MQTT: a topic is a routing key on `amq.topic`, a topic filter a binding key there. The
//! level separators trade places, `/` <-> `.`, in both directions, and `+` <-> `*` in
//! filters (`#` is `#` in both). RabbitMQ's plugin only replaces `/` with `.` (so a dot in
//! an MQTT topic splits a level, rabbitmq-mqtt issue 58); swapping keeps `a.b/c` a
//! two-level topic (routing key `a/b.c`) and gives it back unchanged on the way out.
//!
//! STOMP: a destination names an exchange and routing key (`/topic/K`, `/exchange/E/K`) or a
//! queue (`/queue/Q`, `/amq/queue/Q`, `/temp-queue/T`, `/reply-queue/R`), parsed as
//! RabbitMQ's `rabbit_routing_parser:parse_endpoint` parses it: segments split at `/`, and
//! `%2F` in a segment stands for a `/` inside a name.

use std::borrow::Cow;

use crate::core::topic::{PatternError, mqtt_levels};

mod stomp;

pub use stomp::{DestinationError, StompDestination};

/// The exchange MQTT topics and STOMP `/topic/` destinations route through.
pub const TOPIC_EXCHANGE: &str = "amq.topic";

/// The longest name or routing key AMQP 0-9-1 carries (a `shortstr`).
pub const MAX_NAME_LEN: usize = 255;

/// The AMQP routing key of an MQTT topic name: `/` and `.` swapped (`a/b.c` -> `a.b/c`).
///
/// Borrows when the topic holds neither. The topic is a valid MQTT topic name (the codec
/// checked it), so it holds no wildcard.
pub fn mqtt_topic_to_routing_key(topic: &str) -> Cow<'_, str> {
    swap_separators(topic)
}

/// The MQTT topic name of an AMQP routing key: `.` and `/` swapped (`a.b/c` -> `a/b.c`).
///
/// Fails where no MQTT topic name can carry the key: the empty key, and keys holding `+`,
/// `#` or U+0000, which MQTT forbids in topic names [MQTT-4.7.1-1], [MQTT-4.7.3-2]. An
/// MQTT subscriber of `#` matches such keys on `amq.topic`; the gateway drops them for it.
pub fn routing_key_to_mqtt_topic(routing_key: &str) -> Result<Cow<'_, str>, MappingError> {
    if routing_key.is_empty() {
        return Err(MappingError::Empty);
    }
    if routing_key.contains('\0') {
        return Err(MappingError::NullCharacter);
    }
    if routing_key.contains(['+', '#']) {
        return Err(MappingError::WildcardInTopic);
    }
    Ok(swap_separators(routing_key))
}

/// The AMQP binding key of an MQTT topic filter: levels joined with `.`, `+` -> `*`, `#`
/// -> `#`, and `.` inside a level -> `/` (`a.b/+/#` -> `a/b.*.#`).
///
/// The filter is checked as [`Pattern::mqtt`](crate::core::topic::Pattern::mqtt) checks it.
/// As in RabbitMQ, a literal MQTT level `*` becomes the AMQP wildcard `*`: AMQP has no way
/// to quote it.
pub fn mqtt_filter_to_binding_key(filter: &str) -> Result<String, MappingError> {
    if filter.is_empty() {
        return Err(PatternError::Empty.into());
    }
    if filter.contains('\0') {
        return Err(PatternError::NullCharacter.into());
    }
    let mut key = String::with_capacity(filter.len());
    let mut levels = mqtt_levels(filter).peekable();
    while let Some(level) = levels.next() {
        match level {
            "#" if levels.peek().is_some() => return Err(PatternError::MultiLevelNotLast.into()),
            "#" => key.push('#'),
            "+" => key.push('*'),
            _ if level.contains(['#', '+']) => return Err(PatternError::WildcardInLevel.into()),
            _ => key.extend(level.chars().map(swap_char)),
        }
        if levels.peek().is_some() {
            key.push('.');
        }
    }
    Ok(key)
}

/// The MQTT topic filter of an AMQP binding key: the inverse of
/// [`mqtt_filter_to_binding_key`] (`a/b.*.#` -> `a.b/+/#`).
///
/// Fails for keys MQTT cannot spell: the empty key (it matches only the empty routing
/// key), `#` before the last word, and `+` or `#` inside a word.
pub fn binding_key_to_mqtt_filter(binding_key: &str) -> Result<String, MappingError> {
    if binding_key.is_empty() {
        return Err(MappingError::Empty);
    }
    if binding_key.contains('\0') {
        return Err(PatternError::NullCharacter.into());
    }
    let mut filter = String::with_capacity(binding_key.len());
    let mut words = binding_key.split('.').peekable();
    while let Some(word) = words.next() {
        match word {
            "#" if words.peek().is_some() => return Err(PatternError::MultiLevelNotLast.into()),
            "#" => filter.push('#'),
            "*" => filter.push('+'),
            _ if word.contains(['#', '+']) => return Err(PatternError::WildcardInLevel.into()),
            _ => filter.extend(word.chars().map(swap_char)),
        }
        if words.peek().is_some() {
            filter.push('/');
        }
    }
    Ok(filter)
}

/// Why an MQTT topic or filter has no AMQP counterpart, or the reverse.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MappingError {
    /// The empty routing or binding key has no MQTT form (MQTT topics are never empty).
    #[error("an empty routing key has no MQTT topic")]
    Empty,
    /// The routing key contains U+0000, which MQTT forbids [MQTT-4.7.3-2].
    #[error("the routing key contains U+0000")]
    NullCharacter,
    /// The routing key contains `+` or `#`, which MQTT forbids in topic names [MQTT-4.7.1-1].
    #[error("the routing key contains `+` or `#`, which an MQTT topic name cannot")]
    WildcardInTopic,
    /// The MQTT filter is invalid, or the binding key has no valid MQTT filter form.
    #[error("{0}")]
    Filter(#[from] PatternError),
}

/// `/` <-> `.`, the one swap both directions share.
fn swap_separators(s: &str) -> Cow<'_, str> {
    if s.contains(['/', '.']) {
        Cow::Owned(s.chars().map(swap_char).collect())
    } else {
        Cow::Borrowed(s)
    }
}

fn swap_char(c: char) -> char {
    match c {
        '/' => '.',
        '.' => '/',
        c => c,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::topic::{Pattern, TopicTrie, amqp_levels};

    #[test]
    fn topic_names_swap_separators_both_ways() {
        for (mqtt, amqp) in [
            ("a/b/c", "a.b.c"),
            ("a/b.c", "a.b/c"),
            ("plain", "plain"),
            ("/lead", ".lead"),
            ("trail/", "trail."),
            ("a//b", "a..b"),
            ("spBv1.0/group", "spBv1/0.group"),
            ("$SYS/broker", "$SYS.broker"),
            ("a/*", "a.*"),
        ] {
            assert_eq!(mqtt_topic_to_routing_key(mqtt), amqp, "{mqtt}");
            assert_eq!(routing_key_to_mqtt_topic(amqp).unwrap(), mqtt, "{amqp}");
        }
        assert!(matches!(
            mqtt_topic_to_routing_key("no-separators"),
            Cow::Borrowed(_)
        ));
    }

    #[test]
    fn routing_keys_without_an_mqtt_topic() {
        assert_eq!(routing_key_to_mqtt_topic(""), Err(MappingError::Empty));
        assert_eq!(
            routing_key_to_mqtt_topic("a.+"),
            Err(MappingError::WildcardInTopic)
        );
        assert_eq!(
            routing_key_to_mqtt_topic("a.#"),
            Err(MappingError::WildcardInTopic)
        );
        assert_eq!(
            routing_key_to_mqtt_topic("a\0"),
            Err(MappingError::NullCharacter)
        );
    }

    #[test]
    fn filters_map_wildcards_and_swap_separators() {
        for (filter, key) in [
            ("a/b/c", "a.b.c"),
            ("sport/+/player1", "sport.*.player1"),
            ("sport/#", "sport.#"),
            ("#", "#"),
            ("+", "*"),
            ("+/+", "*.*"),
            ("a.b/+/#", "a/b.*.#"),
            ("/", "."),
            ("a/b*", "a.b*"),
        ] {
            assert_eq!(mqtt_filter_to_binding_key(filter).unwrap(), key, "{filter}");
            assert_eq!(binding_key_to_mqtt_filter(key).unwrap(), filter, "{key}");
        }
    }

    #[test]
    fn invalid_filters_and_unmappable_binding_keys() {
        for (filter, error) in [
            ("", PatternError::Empty),
            ("a/#/b", PatternError::MultiLevelNotLast),
            ("a/b#", PatternError::WildcardInLevel),
            ("a+/b", PatternError::WildcardInLevel),
            ("a/\0", PatternError::NullCharacter),
        ] {
            assert_eq!(
                mqtt_filter_to_binding_key(filter),
                Err(MappingError::Filter(error)),
                "{filter:?}"
            );
        }
        assert_eq!(binding_key_to_mqtt_filter(""), Err(MappingError::Empty));
        assert_eq!(
            binding_key_to_mqtt_filter("#.a"),
            Err(MappingError::Filter(PatternError::MultiLevelNotLast))
        );
        assert_eq!(
            binding_key_to_mqtt_filter("a#.b"),
            Err(MappingError::Filter(PatternError::WildcardInLevel))
        );
        assert_eq!(
            binding_key_to_mqtt_filter("a.b+"),
            Err(MappingError::Filter(PatternError::WildcardInLevel))
        );
        assert!(!MappingError::Empty.to_string().is_empty());
    }

    #[test]
    fn mapped_filters_match_mapped_topics() {
        // An MQTT subscriber and publisher meet on amq.topic, dots in levels included.
        let mut trie = TopicTrie::new();
        for (i, filter) in ["home/+/temp", "home/#", "v1.0/+", "+/x.y"]
            .iter()
            .enumerate()
        {
            let key = mqtt_filter_to_binding_key(filter).unwrap();
            trie.insert(&Pattern::amqp(&key), i);
        }
        let matched = |topic: &str| {
            let key = mqtt_topic_to_routing_key(topic);
            let mut seen = Vec::new();
            trie.for_each_match(amqp_levels(&key), false, |v| seen.push(*v));
            seen.sort();
            seen
        };
        assert_eq!(matched("home/kitchen/temp"), [0, 1]);
        assert_eq!(matched("home/kitchen.1/temp"), [0, 1]);
        assert_eq!(matched("v1.0/a"), [2]);
        assert_eq!(matched("v1/0/a"), Vec::<usize>::new());
        assert_eq!(matched("q/x.y"), [3]);
        assert_eq!(matched("q/x/y"), Vec::<usize>::new());
    }
}
