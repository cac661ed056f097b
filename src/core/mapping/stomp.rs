//! STOMP destinations, parsed as RabbitMQ's `rabbit_routing_parser:parse_endpoint` parses
//! them.

use std::borrow::Cow;
use std::fmt;

use super::{MAX_NAME_LEN, TOPIC_EXCHANGE};

/// A STOMP destination, parsed as RabbitMQ's STOMP plugin parses it.
///
/// Names borrow from the frame unless `%2F` had to be unescaped.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum StompDestination<'a> {
    /// `/topic/K`: routing key `K` on [`TOPIC_EXCHANGE`]; a subscription binds a private
    /// queue there with binding key `K`.
    Topic(Cow<'a, str>),
    /// `/queue/Q`: the queue `Q`, declared on first use, published to through the default
    /// exchange.
    Queue(Cow<'a, str>),
    /// `/exchange/E/K`: exchange `E`, with routing (or binding) key `K`, the empty key when
    /// absent (`/exchange/E`).
    Exchange {
        /// The exchange name.
        name: Cow<'a, str>,
        /// The routing key when sending, the binding key when subscribing.
        routing_key: Option<Cow<'a, str>>,
    },
    /// `/amq/queue/Q`: the existing queue `Q`, never declared by the gateway.
    AmqQueue(Cow<'a, str>),
    /// `/temp-queue/T`: a private reply queue named `T` within the connection.
    TempQueue(Cow<'a, str>),
    /// `/reply-queue/R`: a temporary queue the server generated; `R` may hold `/`.
    ReplyQueue(Cow<'a, str>),
}

impl<'a> StompDestination<'a> {
    /// Parses a destination header. A name without a leading `/` is a queue name, as
    /// RabbitMQ reads it (`foo` is `/queue/foo`).
    pub fn parse(destination: &'a str) -> Result<Self, DestinationError> {
        if destination.is_empty() {
            return Err(DestinationError::Empty);
        }
        let Some(path) = destination.strip_prefix('/') else {
            if destination.contains('/') {
                return Err(DestinationError::UnknownPrefix);
            }
            return Ok(Self::Queue(name(destination)?));
        };
        let (kind, rest) = match path.split_once('/') {
            Some((kind, rest)) => (kind, Some(rest)),
            None => (path, None),
        };
        let single = |rest: Option<&'a str>| -> Result<Cow<'a, str>, DestinationError> {
            let rest = rest.ok_or(DestinationError::MissingName)?;
            if rest.contains('/') {
                return Err(DestinationError::ExtraSegment);
            }
            name(rest)
        };
        match kind {
            "topic" => Ok(Self::Topic(single(rest)?)),
            "queue" => Ok(Self::Queue(single(rest)?)),
            "temp-queue" => Ok(Self::TempQueue(single(rest)?)),
            "amq" => match rest.and_then(|rest| rest.strip_prefix("queue")) {
                Some("") => Err(DestinationError::MissingName),
                Some(queue) => match queue.strip_prefix('/') {
                    Some(queue) => Ok(Self::AmqQueue(single(Some(queue))?)),
                    None => Err(DestinationError::UnknownPrefix),
                },
                None => Err(DestinationError::UnknownPrefix),
            },
            // Everything after the prefix, slashes included.
            "reply-queue" => Ok(Self::ReplyQueue(name(
                rest.ok_or(DestinationError::MissingName)?,
            )?)),
            "exchange" => {
                let rest = rest.ok_or(DestinationError::MissingName)?;
                let (exchange, key) = match rest.split_once('/') {
                    Some((_, key)) if key.contains('/') => {
                        return Err(DestinationError::ExtraSegment);
                    }
                    Some((exchange, key)) => (exchange, Some(key)),
                    None => (rest, None),
                };
                Ok(Self::Exchange {
                    name: name(exchange)?,
                    routing_key: key.map(routing_key).transpose()?,
                })
            }
            _ => Err(DestinationError::UnknownPrefix),
        }
    }

    /// Where a SEND to this destination is published: (exchange, routing key), as
    /// RabbitMQ's `parse_routing` says. `None` for `/temp-queue/`, which names a reply
    /// queue to create rather than a place to publish.
    pub fn publish_target(&self) -> Option<(&str, &str)> {
        match self {
            Self::Topic(key) => Some((TOPIC_EXCHANGE, key)),
            Self::Exchange { name, routing_key } => {
                Some((name, routing_key.as_deref().unwrap_or("")))
            }
            Self::Queue(queue) | Self::AmqQueue(queue) | Self::ReplyQueue(queue) => {
                Some(("", queue))
            }
            Self::TempQueue(_) => None,
        }
    }

    /// The same destination, owning its names.
    pub fn into_owned(self) -> StompDestination<'static> {
        let own = |s: Cow<'_, str>| Cow::Owned(s.into_owned());
        match self {
            Self::Topic(key) => StompDestination::Topic(own(key)),
            Self::Queue(queue) => StompDestination::Queue(own(queue)),
            Self::Exchange { name, routing_key } => StompDestination::Exchange {
                name: own(name),
                routing_key: routing_key.map(own),
            },
            Self::AmqQueue(queue) => StompDestination::AmqQueue(own(queue)),
            Self::TempQueue(name) => StompDestination::TempQueue(own(name)),
            Self::ReplyQueue(name) => StompDestination::ReplyQueue(own(name)),
        }
    }
}

impl fmt::Display for StompDestination<'_> {
    /// The destination as a client writes it, `/` inside names escaped as `%2F`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (prefix, name) = match self {
            Self::Topic(key) => ("/topic/", key),
            Self::Queue(queue) => ("/queue/", queue),
            Self::AmqQueue(queue) => ("/amq/queue/", queue),
            Self::TempQueue(name) => ("/temp-queue/", name),
            Self::ReplyQueue(name) => return write!(f, "/reply-queue/{name}"),
            Self::Exchange { name, routing_key } => {
                write!(f, "/exchange/{}", Escaped(name))?;
                if let Some(key) = routing_key {
                    write!(f, "/{}", Escaped(key))?;
                }
                return Ok(());
            }
        };
        write!(f, "{prefix}{}", Escaped(name))
    }
}

/// Why a STOMP destination is not one the gateway knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DestinationError {
    /// The destination header is empty.
    #[error("the destination is empty")]
    Empty,
    /// Not `/topic/`, `/queue/`, `/exchange/`, `/amq/queue/`, `/temp-queue/` or
    /// `/reply-queue/`.
    #[error(
        "unknown destination: expected /topic/, /queue/, /exchange/, /amq/queue/, \
         /temp-queue/ or /reply-queue/"
    )]
    UnknownPrefix,
    /// The prefix is not followed by a name (`/queue/`, `/exchange//key`).
    #[error("the destination has no name after its prefix")]
    MissingName,
    /// More segments than the prefix takes (`/queue/a/b`); a `/` inside a name is `%2F`.
    #[error("the destination has too many segments (write a `/` inside a name as %2F)")]
    ExtraSegment,
    /// A name or key longer than AMQP's 255 bytes.
    #[error("a name in the destination is longer than 255 bytes")]
    NameTooLong,
}

/// A queue or exchange name from a destination: not empty, `%2F` unescaped.
fn name(segment: &str) -> Result<Cow<'_, str>, DestinationError> {
    if segment.is_empty() {
        return Err(DestinationError::MissingName);
    }
    routing_key(segment)
}

/// A routing key from a destination (may be empty), `%2F` unescaped.
fn routing_key(segment: &str) -> Result<Cow<'_, str>, DestinationError> {
    let unescaped = if segment.contains("%2F") {
        Cow::Owned(segment.replace("%2F", "/"))
    } else {
        Cow::Borrowed(segment)
    };
    if unescaped.len() > MAX_NAME_LEN {
        return Err(DestinationError::NameTooLong);
    }
    Ok(unescaped)
}

/// Writes a name with `/` escaped as `%2F`.
struct Escaped<'a>(&'a str);

impl fmt::Display for Escaped<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts = self.0.split('/');
        if let Some(first) = parts.next() {
            f.write_str(first)?;
        }
        for part in parts {
            write!(f, "%2F{part}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(d: &str) -> Result<StompDestination<'_>, DestinationError> {
        StompDestination::parse(d)
    }

    fn b(s: &str) -> Cow<'_, str> {
        Cow::Borrowed(s)
    }

    #[test]
    fn stomp_destinations() {
        assert_eq!(parse("/topic/a.b"), Ok(StompDestination::Topic(b("a.b"))));
        assert_eq!(parse("/queue/jobs"), Ok(StompDestination::Queue(b("jobs"))));
        assert_eq!(parse("jobs"), Ok(StompDestination::Queue(b("jobs"))));
        assert_eq!(
            parse("/exchange/logs/error.*"),
            Ok(StompDestination::Exchange {
                name: b("logs"),
                routing_key: Some(b("error.*"))
            })
        );
        assert_eq!(
            parse("/exchange/logs"),
            Ok(StompDestination::Exchange {
                name: b("logs"),
                routing_key: None
            })
        );
        assert_eq!(
            parse("/exchange/logs/"),
            Ok(StompDestination::Exchange {
                name: b("logs"),
                routing_key: Some(b(""))
            })
        );
        assert_eq!(
            parse("/amq/queue/existing"),
            Ok(StompDestination::AmqQueue(b("existing")))
        );
        assert_eq!(
            parse("/temp-queue/replies"),
            Ok(StompDestination::TempQueue(b("replies")))
        );
        assert_eq!(
            parse("/reply-queue/amq.gen-1/x"),
            Ok(StompDestination::ReplyQueue(b("amq.gen-1/x")))
        );
    }

    #[test]
    fn stomp_names_unescape_slashes() {
        assert_eq!(
            parse("/queue/a%2Fb"),
            Ok(StompDestination::Queue(Cow::Owned("a/b".into())))
        );
        assert_eq!(
            parse("/exchange/e%2F1/k%2F2"),
            Ok(StompDestination::Exchange {
                name: Cow::Owned("e/1".into()),
                routing_key: Some(Cow::Owned("k/2".into()))
            })
        );
        // Only `%2F`, as RabbitMQ's unescape.
        assert_eq!(
            parse("/topic/a%2fb%20"),
            Ok(StompDestination::Topic(b("a%2fb%20")))
        );
    }

    #[test]
    fn invalid_stomp_destinations() {
        let long = format!("/queue/{}", "q".repeat(256));
        for (d, error) in [
            ("", DestinationError::Empty),
            ("/", DestinationError::UnknownPrefix),
            ("/unknown/x", DestinationError::UnknownPrefix),
            ("/Queue/x", DestinationError::UnknownPrefix),
            ("a/b", DestinationError::UnknownPrefix),
            ("/amq/x", DestinationError::UnknownPrefix),
            ("/amq/queuex", DestinationError::UnknownPrefix),
            ("/amq", DestinationError::UnknownPrefix),
            ("/queue", DestinationError::MissingName),
            ("/queue/", DestinationError::MissingName),
            ("/topic/", DestinationError::MissingName),
            ("/topic", DestinationError::MissingName),
            ("/temp-queue/", DestinationError::MissingName),
            ("/amq/queue", DestinationError::MissingName),
            ("/amq/queue/", DestinationError::MissingName),
            ("/reply-queue/", DestinationError::MissingName),
            ("/reply-queue", DestinationError::MissingName),
            ("/exchange", DestinationError::MissingName),
            ("/exchange/", DestinationError::MissingName),
            ("/exchange//key", DestinationError::MissingName),
            ("/queue/a/b", DestinationError::ExtraSegment),
            ("/topic/a/b", DestinationError::ExtraSegment),
            ("/temp-queue/a/", DestinationError::ExtraSegment),
            ("/amq/queue/a/b", DestinationError::ExtraSegment),
            ("/exchange/e/k/x", DestinationError::ExtraSegment),
            (long.as_str(), DestinationError::NameTooLong),
        ] {
            assert_eq!(parse(d), Err(error), "{d:?}");
            assert!(!error.to_string().is_empty());
        }
        let max = format!("/queue/{}", "q".repeat(255));
        assert!(parse(&max).is_ok());
    }

    #[test]
    fn stomp_publish_targets() {
        let target = |d| {
            parse(d)
                .unwrap()
                .publish_target()
                .map(|(x, k)| (x.to_owned(), k.to_owned()))
        };
        let pair = |x: &str, k: &str| Some((x.to_owned(), k.to_owned()));
        assert_eq!(target("/topic/a.b"), pair("amq.topic", "a.b"));
        assert_eq!(target("/queue/q"), pair("", "q"));
        assert_eq!(target("/amq/queue/q"), pair("", "q"));
        assert_eq!(target("/reply-queue/amq.gen-1"), pair("", "amq.gen-1"));
        assert_eq!(target("/exchange/e/k"), pair("e", "k"));
        assert_eq!(target("/exchange/e"), pair("e", ""));
        assert_eq!(target("/temp-queue/t"), None);
    }

    #[test]
    fn stomp_destinations_display_and_own() {
        for d in [
            "/topic/a.b",
            "/queue/a%2Fb",
            "/exchange/e",
            "/exchange/e/k%2Fk",
            "/exchange/e/",
            "/amq/queue/q",
            "/temp-queue/t",
            "/reply-queue/r/s",
        ] {
            let parsed = parse(d).unwrap();
            assert_eq!(parsed.to_string(), d);
            let owned: StompDestination<'static> = parsed.clone().into_owned();
            assert_eq!(owned, parsed);
        }
    }
}
