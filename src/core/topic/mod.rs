//! The topic trie: one structure that matches MQTT topic filters and AMQP topic-exchange
//! binding keys against the topic or routing key of every published message.
//!
//! A [`Pattern`] is a sequence of [`Level`]s: a literal word, [`Level::One`] (MQTT `+`,
//! AMQP `*`: exactly one level) or [`Level::Many`] (`#` in both: zero or more levels). MQTT
//! allows `#` only as the last level, where `sport/#` also matches `sport`; that is AMQP's
//! `#` at the end, so one matcher serves both. AMQP allows `#` anywhere (`a.#.b`, `#.x.#`).
//!
//! [`TopicTrie`] stores (pattern, value) pairs and visits, for one topic, every pair whose
//! pattern matches it. Matching allocates nothing in the common case, holds no recursion
//! (a topic may have 65,536 levels), and takes time polynomial in the trie and the topic
//! however many `#` a pattern has.
//!
//! ```
//! use switchyard::core::topic::{mqtt_levels, Pattern, TopicTrie};
//!
//! let mut trie = TopicTrie::new();
//! trie.insert(&Pattern::mqtt("sport/tennis/+").unwrap(), "a");
//! trie.insert(&Pattern::mqtt("sport/#").unwrap(), "b");
//! let mut seen = Vec::new();
//! trie.for_each_match(mqtt_levels("sport/tennis/player1"), true, |v| seen.push(*v));
//! seen.sort();
//! assert_eq!(seen, ["a", "b"]);
//! ```

mod edge;
mod pattern;
mod search;
mod trie;

pub use pattern::{Level, Levels, Pattern, PatternError, amqp_levels, mqtt_levels};
pub use trie::TopicTrie;

#[cfg(test)]
mod tests;
