//! Patterns (MQTT topic filters, AMQP binding keys) and the levels of a topic.

use std::fmt;
use std::iter::FusedIterator;

/// One level of a [`Pattern`].
///
/// Not `#[non_exhaustive]`: both protocols have exactly these three kinds of level, and
/// the matcher relies on it.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Level {
    /// A level that matches only the same text. It may be empty (MQTT `a//b`, `/a`).
    Literal(Box<str>),
    /// Exactly one level, whatever its text: MQTT `+`, AMQP `*`.
    One,
    /// Zero or more levels: `#` in MQTT (last level only) and AMQP (anywhere).
    Many,
}

/// A subscription pattern: MQTT topic filter or AMQP topic-exchange binding key, parsed.
///
/// Two patterns are equal when they have the same levels, whichever syntax they came
/// from: MQTT `a/+/#` and AMQP `a.*.#` are the same pattern.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Pattern(Box<[Level]>);

impl Pattern {
    /// Parses an MQTT topic filter: levels separated by `/`, `+` and `#` as wildcards.
    ///
    /// The codec has validated the filter already; this checks the wildcard rules again so
    /// that a filter from anywhere else is an error, never a panic. An MQTT 5 shared
    /// subscription's `$share/{ShareName}/` prefix must be stripped by the caller.
    pub fn mqtt(filter: &str) -> Result<Self, PatternError> {
        if filter.is_empty() {
            return Err(PatternError::Empty);
        }
        if filter.contains('\0') {
            return Err(PatternError::NullCharacter);
        }
        let mut levels = Vec::new();
        let mut words = mqtt_levels(filter).peekable();
        while let Some(word) = words.next() {
            levels.push(match word {
                "#" if words.peek().is_some() => return Err(PatternError::MultiLevelNotLast),
                "#" => Level::Many,
                "+" => Level::One,
                _ if word.contains(['#', '+']) => return Err(PatternError::WildcardInLevel),
                _ => Level::Literal(word.into()),
            });
        }
        Ok(Self(levels.into()))
    }

    /// Parses an AMQP 0-9-1 topic-exchange binding key: words separated by `.`, `*` and `#`
    /// as wildcards. Every string is a valid binding key.
    ///
    /// As in RabbitMQ, `*` and `#` are wildcards only as whole words (`a#` is a literal
    /// word), and the empty key has no words at all (see [`amqp_levels`]), so it matches
    /// only the empty routing key.
    pub fn amqp(binding_key: &str) -> Self {
        amqp_levels(binding_key)
            .map(|word| match word {
                "*" => Level::One,
                "#" => Level::Many,
                _ => Level::Literal(word.into()),
            })
            .collect()
    }

    /// The levels, first to last.
    pub fn levels(&self) -> &[Level] {
        &self.0
    }

    /// The number of levels.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the pattern has no levels (the AMQP empty binding key).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl FromIterator<Level> for Pattern {
    /// Builds a pattern from its levels, in either protocol's semantics (a `Many` that is
    /// not last is valid in the trie even though MQTT cannot spell it).
    fn from_iter<I: IntoIterator<Item = Level>>(levels: I) -> Self {
        Self(levels.into_iter().collect())
    }
}

/// Why a string is not a valid MQTT topic filter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum PatternError {
    /// The filter is empty [MQTT-4.7.3-1].
    Empty,
    /// `#` is followed by another level [MQTT-4.7.1-2].
    MultiLevelNotLast,
    /// `#` or `+` shares a level with other characters [MQTT-4.7.1-2], [MQTT-4.7.1-3].
    WildcardInLevel,
    /// The filter contains U+0000 [MQTT-4.7.3-2].
    NullCharacter,
}

impl fmt::Display for PatternError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Empty => "topic filter is empty [MQTT-4.7.3-1]",
            Self::MultiLevelNotLast => "`#` is not the last level [MQTT-4.7.1-2]",
            Self::WildcardInLevel => "`#` or `+` is not a whole level [MQTT-4.7.1-2/3]",
            Self::NullCharacter => "topic filter contains U+0000 [MQTT-4.7.3-2]",
        })
    }
}

impl std::error::Error for PatternError {}

/// The levels of an MQTT topic name: the text between `/` separators, empty ones included
/// (`/a/` has the three levels `""`, `"a"`, `""`).
pub fn mqtt_levels(topic: &str) -> Levels<'_> {
    Levels {
        rest: Some(topic),
        separator: '/',
    }
}

/// The words of an AMQP routing key: the text between `.` separators, empty ones included,
/// except that the empty key has no words.
///
/// That is RabbitMQ's reading: its `split_topic_key(<<>>)` returns `[]`
/// (`rabbitmq/rabbitmq-server: deps/rabbit/src/rabbit_db_topic_exchange.erl`), so its
/// topic-matching test expects the key `""` to match `#`, `#.#`, `#.#.#` and `""` but not
/// `*` (`deps/rabbit/test/unit_access_control_SUITE.erl`, `topic_matching1`). `"."` is two
/// empty words.
pub fn amqp_levels(key: &str) -> Levels<'_> {
    Levels {
        rest: (!key.is_empty()).then_some(key),
        separator: '.',
    }
}

/// An iterator over the levels of a topic or routing key, from [`mqtt_levels`] or
/// [`amqp_levels`]. Cloning it is cheap, which the matcher relies on.
#[derive(Clone, Debug)]
pub struct Levels<'a> {
    /// The text not yet split, `None` once the last level was returned.
    rest: Option<&'a str>,
    separator: char,
}

impl<'a> Iterator for Levels<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        let rest = self.rest?;
        Some(match rest.split_once(self.separator) {
            Some((level, tail)) => {
                self.rest = Some(tail);
                level
            }
            None => {
                self.rest = None;
                rest
            }
        })
    }
}

impl FusedIterator for Levels<'_> {}

#[cfg(test)]
mod tests {
    use super::*;

    fn lit(s: &str) -> Level {
        Level::Literal(s.into())
    }

    #[test]
    fn level_splitting() {
        let mqtt = |t| mqtt_levels(t).collect::<Vec<_>>();
        assert_eq!(mqtt("a/b"), ["a", "b"]);
        assert_eq!(mqtt("/finance"), ["", "finance"]);
        assert_eq!(mqtt("sport/"), ["sport", ""]);
        assert_eq!(mqtt("a//b"), ["a", "", "b"]);
        assert_eq!(mqtt("/"), ["", ""]);
        assert_eq!(mqtt(""), [""]);
        let amqp = |k| amqp_levels(k).collect::<Vec<_>>();
        assert_eq!(amqp("a.b.c"), ["a", "b", "c"]);
        assert_eq!(amqp("a/b"), ["a/b"]);
        assert_eq!(amqp("."), ["", ""]);
        assert_eq!(amqp("a."), ["a", ""]);
        assert!(amqp("").is_empty());
    }

    #[test]
    fn mqtt_filters() {
        let p = |f| Pattern::mqtt(f).map(|p| p.levels().to_vec());
        assert_eq!(
            p("sport/tennis/+"),
            Ok(vec![lit("sport"), lit("tennis"), Level::One])
        );
        assert_eq!(p("sport/#"), Ok(vec![lit("sport"), Level::Many]));
        assert_eq!(p("#"), Ok(vec![Level::Many]));
        assert_eq!(p("+/+"), Ok(vec![Level::One, Level::One]));
        assert_eq!(p("/"), Ok(vec![lit(""), lit("")]));
        assert_eq!(p("$SYS/#"), Ok(vec![lit("$SYS"), Level::Many]));
        assert_eq!(p("a.b/*"), Ok(vec![lit("a.b"), lit("*")]));
    }

    #[test]
    fn invalid_mqtt_filters() {
        for (filter, error) in [
            ("", PatternError::Empty),
            ("sport/tennis#", PatternError::WildcardInLevel),
            ("sport/tennis/#/ranking", PatternError::MultiLevelNotLast),
            ("#/", PatternError::MultiLevelNotLast),
            ("sport+", PatternError::WildcardInLevel),
            ("++", PatternError::WildcardInLevel),
            ("a/+b/c", PatternError::WildcardInLevel),
            ("##", PatternError::WildcardInLevel),
            ("a/\0", PatternError::NullCharacter),
        ] {
            assert_eq!(Pattern::mqtt(filter), Err(error), "{filter:?}");
            assert!(!error.to_string().is_empty());
        }
    }

    #[test]
    fn amqp_binding_keys() {
        let p = |k| Pattern::amqp(k).levels().to_vec();
        assert_eq!(p("*.orange.*"), [Level::One, lit("orange"), Level::One]);
        assert_eq!(p("a.#.#.b"), [lit("a"), Level::Many, Level::Many, lit("b")]);
        assert_eq!(p("a#.*b.+"), [lit("a#"), lit("*b"), lit("+")]);
        assert_eq!(p("a/b"), [lit("a/b")]);
        assert_eq!(p("."), [lit(""), lit("")]);
        assert!(Pattern::amqp("").is_empty());
        // One pattern, either syntax.
        assert_eq!(Pattern::amqp("a.*.#"), Pattern::mqtt("a/+/#").unwrap());
        let built: Pattern = [lit("a"), Level::One, Level::Many].into_iter().collect();
        assert_eq!(built, Pattern::amqp("a.*.#"));
        assert_eq!(built.len(), 3);
    }
}
