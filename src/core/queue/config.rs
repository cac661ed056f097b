//! What a queue is declared with: flags and `x-` arguments, validated as RabbitMQ's
//! `rabbit_amqqueue:declare_args` validates them, and the errors of queue operations.

use std::time::Duration;

use bytestring::ByteString;

use crate::core::exchange::{ExchangeName, FieldTable, FieldValue, reply_code};

use super::DeliveryId;

/// What happens to a publish that would take a queue over `x-max-length` or
/// `x-max-length-bytes` (`x-overflow`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Overflow {
    /// `drop-head` (the default): the new message is taken and the oldest ones are
    /// dropped (dead-lettered with reason `maxlen`) until the queue is within its limits.
    #[default]
    DropHead,
    /// `reject-publish`: the new message is refused (a publisher confirm nacks it).
    RejectPublish,
    /// `reject-publish-dlx`: as `reject-publish`, and the refused message is dead-lettered.
    RejectPublishDlx,
}

impl Overflow {
    /// The `x-overflow` value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::DropHead => "drop-head",
            Self::RejectPublish => "reject-publish",
            Self::RejectPublishDlx => "reject-publish-dlx",
        }
    }
}

/// The `x-` arguments of queue.declare that this queue implements, parsed. Others are
/// accepted and ignored, as RabbitMQ ignores arguments it does not know.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct QueueArguments {
    /// `x-max-length`: most ready messages (unacknowledged ones do not count).
    pub max_length: Option<u64>,
    /// `x-max-length-bytes`: most bytes of ready message bodies.
    pub max_length_bytes: Option<u64>,
    /// `x-overflow`, as declared ([`QueueArguments::overflow`] gives the policy in force).
    pub overflow: Option<Overflow>,
    /// `x-message-ttl`: how long a message may wait in the queue.
    pub message_ttl: Option<Duration>,
    /// `x-expires`: how long the queue may go unused before it is deleted.
    pub expires: Option<Duration>,
    /// `x-dead-letter-exchange`: where dead-lettered messages are republished (`""` is
    /// the default exchange). Without it, dead letters are discarded.
    pub dead_letter_exchange: Option<ExchangeName>,
    /// `x-dead-letter-routing-key`: the routing key dead letters are republished with,
    /// instead of their own.
    pub dead_letter_routing_key: Option<ByteString>,
}

/// The longest `x-message-ttl` and `x-expires`, in milliseconds (RabbitMQ's limit).
const MAX_EXPIRY_MS: i64 = 0xFFFF_FFFF;

impl QueueArguments {
    /// Parses and checks the arguments of queue.declare. Every error is 406
    /// PRECONDITION_FAILED, as in RabbitMQ: integers must be integers (not floats or
    /// strings) and not negative; `x-expires` must be positive; `x-overflow` must name a
    /// policy; `x-dead-letter-routing-key` needs `x-dead-letter-exchange`; `x-queue-type`,
    /// if given, must be `classic`, the one type this gateway has.
    pub fn parse(arguments: &FieldTable) -> Result<Self, QueueError> {
        let dead_letter_exchange = string(arguments, "x-dead-letter-exchange")?.map(Into::into);
        let dead_letter_routing_key = string(arguments, "x-dead-letter-routing-key")?;
        if dead_letter_routing_key.is_some() && dead_letter_exchange.is_none() {
            return Err(invalid(
                "x-dead-letter-routing-key",
                ArgumentError::WithoutDeadLetterExchange,
            ));
        }
        let overflow = match string(arguments, "x-overflow")?.as_deref() {
            None => None,
            Some("drop-head") => Some(Overflow::DropHead),
            Some("reject-publish") => Some(Overflow::RejectPublish),
            Some("reject-publish-dlx") => Some(Overflow::RejectPublishDlx),
            Some(_) => return Err(invalid("x-overflow", ArgumentError::UnknownValue)),
        };
        match string(arguments, "x-queue-type")?.as_deref() {
            None | Some("classic") => {}
            Some(_) => return Err(invalid("x-queue-type", ArgumentError::UnknownValue)),
        }
        let milliseconds = |key, min| -> Result<Option<Duration>, QueueError> {
            let Some(ms) = integer(arguments, key, min)? else {
                return Ok(None);
            };
            if ms > MAX_EXPIRY_MS {
                return Err(invalid(key, ArgumentError::TooLarge));
            }
            Ok(u64::try_from(ms).ok().map(Duration::from_millis))
        };
        Ok(Self {
            max_length: integer(arguments, "x-max-length", 0)?.and_then(|n| u64::try_from(n).ok()),
            max_length_bytes: integer(arguments, "x-max-length-bytes", 0)?
                .and_then(|n| u64::try_from(n).ok()),
            overflow,
            message_ttl: milliseconds("x-message-ttl", 0)?,
            expires: milliseconds("x-expires", 1)?,
            dead_letter_exchange,
            dead_letter_routing_key,
        })
    }

    /// The overflow policy in force: `drop-head` unless declared otherwise.
    pub fn overflow(&self) -> Overflow {
        self.overflow.unwrap_or_default()
    }

    /// The first argument that differs from `other`'s, by its `x-` name.
    fn first_difference(&self, other: &Self) -> Option<&'static str> {
        [
            (self.max_length != other.max_length, "x-max-length"),
            (
                self.max_length_bytes != other.max_length_bytes,
                "x-max-length-bytes",
            ),
            (self.overflow != other.overflow, "x-overflow"),
            (self.message_ttl != other.message_ttl, "x-message-ttl"),
            (self.expires != other.expires, "x-expires"),
            (
                self.dead_letter_exchange != other.dead_letter_exchange,
                "x-dead-letter-exchange",
            ),
            (
                self.dead_letter_routing_key != other.dead_letter_routing_key,
                "x-dead-letter-routing-key",
            ),
        ]
        .into_iter()
        .find_map(|(differs, name)| differs.then_some(name))
    }
}

/// An integer argument, at least `min`.
fn integer(arguments: &FieldTable, key: &'static str, min: i64) -> Result<Option<i64>, QueueError> {
    match arguments.get(key) {
        None => Ok(None),
        Some(FieldValue::Int(n)) if *n >= min => Ok(Some(*n)),
        Some(FieldValue::Int(n)) if *n < 0 => Err(invalid(key, ArgumentError::Negative)),
        Some(FieldValue::Int(_)) => Err(invalid(key, ArgumentError::Zero)),
        Some(_) => Err(invalid(key, ArgumentError::WrongType)),
    }
}

/// A long-string argument that is UTF-8.
fn string(arguments: &FieldTable, key: &'static str) -> Result<Option<ByteString>, QueueError> {
    match arguments.get(key) {
        None => Ok(None),
        Some(value) => match value.as_str() {
            Some(text) => Ok(Some(text.into())),
            None => Err(invalid(key, ArgumentError::WrongType)),
        },
    }
}

fn invalid(argument: &'static str, reason: ArgumentError) -> QueueError {
    QueueError::InvalidArgument { argument, reason }
}

/// What a queue is declared with, compared on redeclare.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct QueueConfig {
    /// Whether it survives a restart.
    pub durable: bool,
    /// Whether only the declaring connection may use it, and it goes with that
    /// connection. Owners are the gateway's to track (405 RESOURCE_LOCKED).
    pub exclusive: bool,
    /// Whether it is deleted when its last consumer is cancelled (once it has had one).
    pub auto_delete: bool,
    /// The `x-` arguments.
    pub arguments: QueueArguments,
}

impl QueueConfig {
    /// The configuration of queue.declare, its arguments checked ([`QueueArguments::parse`]).
    pub fn new(
        durable: bool,
        exclusive: bool,
        auto_delete: bool,
        arguments: &FieldTable,
    ) -> Result<Self, QueueError> {
        Ok(Self {
            durable,
            exclusive,
            auto_delete,
            arguments: QueueArguments::parse(arguments)?,
        })
    }

    /// Checks a redeclare as RabbitMQ's `assert_equivalence` does: `durable`,
    /// `auto_delete` and the arguments above must be equal (406). Exclusivity is checked
    /// against the owning connection by the gateway (405).
    pub fn check_equivalent(&self, other: &Self) -> Result<(), QueueError> {
        let differs = if self.durable != other.durable {
            "durable"
        } else if self.auto_delete != other.auto_delete {
            "auto_delete"
        } else {
            match self.arguments.first_difference(&other.arguments) {
                Some(argument) => argument,
                None => return Ok(()),
            }
        };
        Err(QueueError::Inequivalent { argument: differs })
    }
}

/// Checks the name of a queue about to be created by queue.declare: names starting with
/// `amq.` are the server's (403). The gateway generates `amq.gen-...` names for queues
/// declared with an empty name, and skips this check for them and for queues that exist.
pub fn check_new_queue_name(name: &str) -> Result<(), QueueError> {
    if name.starts_with("amq.") {
        return Err(QueueError::ReservedName(name.into()));
    }
    Ok(())
}

/// Why an `x-` argument is invalid.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ArgumentError {
    /// Not the type the argument takes (an integer, or a long string).
    #[error("unacceptable type")]
    WrongType,
    /// A negative number.
    #[error("negative value")]
    Negative,
    /// Zero where only a positive number will do (`x-expires`).
    #[error("value zero")]
    Zero,
    /// Over the maximum (`x-message-ttl` and `x-expires`: 2^32-1 ms).
    #[error("value too large")]
    TooLarge,
    /// A string that names nothing this argument takes.
    #[error("unknown value")]
    UnknownValue,
    /// `x-dead-letter-routing-key` without `x-dead-letter-exchange`.
    #[error("routing key but no dead letter exchange defined")]
    WithoutDeadLetterExchange,
}

/// Why a queue operation failed. [`QueueError::reply_code`] gives the AMQP reply code.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum QueueError {
    /// A declare argument is invalid (406).
    #[error("invalid arg '{argument}': {reason}")]
    InvalidArgument {
        /// The argument's name.
        argument: &'static str,
        /// What is wrong with it.
        reason: ArgumentError,
    },
    /// A redeclare differs in `argument` (406).
    #[error("inequivalent arg '{argument}'")]
    Inequivalent {
        /// `durable`, `auto_delete` or the `x-` argument's name.
        argument: &'static str,
    },
    /// Names starting with `amq.` are reserved for the server (403).
    #[error("queue name '{0}' contains reserved prefix 'amq.*'")]
    ReservedName(ByteString),
    /// Ack, nack or reject of a delivery the queue is not waiting for (406).
    #[error("unknown delivery tag {}", .0.get())]
    UnknownDelivery(DeliveryId),
    /// A consumer with this tag already exists on the queue (530).
    #[error("attempt to reuse consumer tag '{0}'")]
    ConsumerTagInUse(ByteString),
    /// An exclusive consumer holds the queue, or an exclusive consume found other
    /// consumers (403).
    #[error("queue in exclusive use")]
    ExclusiveConsumer,
    /// queue.delete with `if-unused` of a queue with consumers (406).
    #[error("queue in use")]
    InUse,
    /// queue.delete with `if-empty` of a queue with messages (406).
    #[error("queue not empty")]
    NotEmpty,
    /// No queue of that name (404).
    #[error("no queue '{0}'")]
    NotFound(ByteString),
    /// An exclusive queue of another connection (405).
    #[error(
        "cannot obtain exclusive access to locked queue '{0}' in vhost '/'. It could be \
         originally declared on another connection or the exclusive property value does \
         not match that of the original declaration."
    )]
    Locked(ByteString),
}

impl QueueError {
    /// The AMQP reply code: 403, 406 or 530 (see
    /// [`reply_code`](crate::core::exchange::reply_code)).
    pub fn reply_code(&self) -> u16 {
        match self {
            Self::InvalidArgument { .. }
            | Self::Inequivalent { .. }
            | Self::UnknownDelivery(_)
            | Self::InUse
            | Self::NotEmpty => reply_code::PRECONDITION_FAILED,
            Self::ReservedName(_) | Self::ExclusiveConsumer => reply_code::ACCESS_REFUSED,
            Self::ConsumerTagInUse(_) => reply_code::NOT_ALLOWED,
            Self::NotFound(_) => reply_code::NOT_FOUND,
            Self::Locked(_) => reply_code::RESOURCE_LOCKED,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(arguments: &[(&str, FieldValue)]) -> QueueConfig {
        let table: FieldTable = arguments.iter().cloned().collect();
        QueueConfig::new(false, false, false, &table).unwrap()
    }

    fn dlx() -> (&'static str, FieldValue) {
        ("x-dead-letter-exchange", "dlx".into())
    }

    #[test]
    fn arguments_parse() {
        let table = FieldTable::from([
            ("x-max-length", 10.into()),
            ("x-max-length-bytes", 1000.into()),
            ("x-overflow", "reject-publish-dlx".into()),
            ("x-message-ttl", 60_000.into()),
            ("x-expires", 1.into()),
            ("x-dead-letter-exchange", "".into()),
            ("x-dead-letter-routing-key", "dead".into()),
            ("x-queue-type", "classic".into()),
            ("x-unknown", 1.5.into()),
        ]);
        let arguments = QueueArguments::parse(&table).unwrap();
        assert_eq!(arguments.max_length, Some(10));
        assert_eq!(arguments.max_length_bytes, Some(1000));
        assert_eq!(arguments.overflow(), Overflow::RejectPublishDlx);
        assert_eq!(arguments.message_ttl, Some(Duration::from_secs(60)));
        assert_eq!(arguments.expires, Some(Duration::from_millis(1)));
        assert_eq!(
            arguments.dead_letter_exchange.as_ref().map(|x| x.as_str()),
            Some("")
        );
        assert_eq!(arguments.dead_letter_routing_key.as_deref(), Some("dead"));
        let defaults = QueueArguments::parse(&FieldTable::new()).unwrap();
        assert_eq!(defaults, QueueArguments::default());
        assert_eq!(defaults.overflow(), Overflow::DropHead);
        for overflow in [
            Overflow::DropHead,
            Overflow::RejectPublish,
            Overflow::RejectPublishDlx,
        ] {
            let table = FieldTable::from([("x-overflow", overflow.as_str().into())]);
            assert_eq!(QueueArguments::parse(&table).unwrap().overflow(), overflow);
        }
    }

    #[test]
    fn invalid_arguments_are_406() {
        use ArgumentError as E;
        let too_long = 0x1_0000_0000_i64;
        for (key, value, reason) in [
            ("x-max-length", FieldValue::Int(-1), E::Negative),
            ("x-max-length", FieldValue::str("10"), E::WrongType),
            ("x-max-length", FieldValue::Float(10.0), E::WrongType),
            ("x-max-length-bytes", FieldValue::Int(-5), E::Negative),
            ("x-message-ttl", FieldValue::Int(-1), E::Negative),
            ("x-message-ttl", FieldValue::Int(too_long), E::TooLarge),
            ("x-message-ttl", FieldValue::Bool(true), E::WrongType),
            ("x-expires", FieldValue::Int(0), E::Zero),
            ("x-expires", FieldValue::Int(-1), E::Negative),
            ("x-expires", FieldValue::Int(too_long), E::TooLarge),
            ("x-overflow", FieldValue::str("drop-tail"), E::UnknownValue),
            ("x-overflow", FieldValue::Int(1), E::WrongType),
            ("x-dead-letter-exchange", FieldValue::Int(1), E::WrongType),
            ("x-queue-type", FieldValue::str("quorum"), E::UnknownValue),
            (
                "x-dead-letter-routing-key",
                FieldValue::str("k"),
                E::WithoutDeadLetterExchange,
            ),
        ] {
            let table = FieldTable::from([(key, value)]);
            let error = QueueArguments::parse(&table).unwrap_err();
            assert_eq!(
                error,
                QueueError::InvalidArgument {
                    argument: key,
                    reason
                },
                "{key}"
            );
            assert_eq!(error.reply_code(), 406);
            assert!(error.to_string().contains(key));
        }
        assert!(
            QueueConfig::new(
                true,
                false,
                false,
                &FieldTable::from([("x-expires", 0.into())])
            )
            .is_err()
        );
    }

    #[test]
    fn redeclare_equivalence() {
        let base = config(&[("x-max-length", 5.into())]);
        assert_eq!(base.check_equivalent(&base.clone()), Ok(()));
        let ignored = config(&[("x-max-length", 5.into()), ("x-whatever", 1.into())]);
        assert_eq!(
            base.check_equivalent(&ignored),
            Ok(()),
            "unknown args ignored"
        );
        for (other, argument) in [
            (
                QueueConfig {
                    durable: true,
                    ..base.clone()
                },
                "durable",
            ),
            (
                QueueConfig {
                    auto_delete: true,
                    ..base.clone()
                },
                "auto_delete",
            ),
            (config(&[("x-max-length", 6.into())]), "x-max-length"),
            (config(&[]), "x-max-length"),
            (
                config(&[
                    ("x-max-length", 5.into()),
                    ("x-overflow", "drop-head".into()),
                ]),
                "x-overflow",
            ),
            (
                config(&[("x-max-length", 5.into()), ("x-message-ttl", 1.into())]),
                "x-message-ttl",
            ),
            (
                config(&[("x-max-length", 5.into()), dlx()]),
                "x-dead-letter-exchange",
            ),
        ] {
            let error = base.check_equivalent(&other).unwrap_err();
            assert_eq!(error, QueueError::Inequivalent { argument }, "{argument}");
            assert_eq!(error.reply_code(), 406);
        }
    }

    #[test]
    fn reserved_queue_names() {
        assert_eq!(check_new_queue_name("jobs"), Ok(()));
        assert_eq!(check_new_queue_name("amqx"), Ok(()));
        let error = check_new_queue_name("amq.mine").unwrap_err();
        assert_eq!(error, QueueError::ReservedName("amq.mine".into()));
        assert_eq!(error.reply_code(), 403);
    }
}
