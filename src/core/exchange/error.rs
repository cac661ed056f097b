//! Errors of exchange and binding operations, and the AMQP reply codes they close with.

use bytestring::ByteString;

/// AMQP 0-9-1 reply codes the routing model answers with (spec section 1.2, "Constants").
pub mod reply_code {
    /// 403: the client may not do this (reserved names, the default exchange).
    pub const ACCESS_REFUSED: u16 = 0x193;
    /// 404: the exchange or queue does not exist.
    pub const NOT_FOUND: u16 = 0x194;
    /// 405: another connection holds the resource exclusively.
    pub const RESOURCE_LOCKED: u16 = 0x195;
    /// 406: the request conflicts with the server's state (inequivalent redeclare, in use,
    /// invalid argument).
    pub const PRECONDITION_FAILED: u16 = 0x196;
    /// 503: the client sent an invalid command (an unknown exchange type). A connection
    /// error.
    pub const COMMAND_INVALID: u16 = 0x1F7;
    /// 530: the client tried something the server does not allow (a consumer tag in use).
    /// A connection error.
    pub const NOT_ALLOWED: u16 = 0x212;

    /// Whether a reply code closes the connection rather than the channel: the spec's
    /// connection errors are 320, 402, 501-506, 530, 540 and 541.
    pub fn is_connection_error(code: u16) -> bool {
        matches!(code, 320 | 402 | 501..=506 | 530 | 540 | 541)
    }
}

/// Why an exchange or binding operation failed. [`ExchangeError::reply_code`] gives what
/// the AMQP channel (or connection) closes with; the text is the reply text.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ExchangeError {
    /// The exchange does not exist (404).
    #[error("no exchange '{0}'")]
    ExchangeNotFound(ByteString),
    /// The queue does not exist (404).
    #[error("no queue '{0}'")]
    QueueNotFound(ByteString),
    /// The default exchange cannot be declared, bound, unbound or deleted (403).
    #[error("operation not permitted on the default exchange")]
    DefaultExchange,
    /// Names starting with `amq.` are reserved for the server (403).
    #[error("exchange name '{0}' contains reserved prefix 'amq.*'")]
    ReservedName(ByteString),
    /// The pre-declared `amq.*` exchanges cannot be deleted (403).
    #[error("deletion of system exchange '{0}' not allowed")]
    SystemExchange(ByteString),
    /// Clients cannot publish to an internal exchange (403).
    #[error("cannot publish to internal exchange '{0}'")]
    Internal(ByteString),
    /// A redeclare differs from the existing exchange in `argument` (406).
    #[error("inequivalent arg '{argument}' for exchange '{exchange}'")]
    Inequivalent {
        /// The exchange.
        exchange: ByteString,
        /// `type`, `durable`, `auto_delete`, `internal` or the argument's name.
        argument: &'static str,
    },
    /// `if-unused` delete of an exchange that is the source of bindings (406).
    #[error("exchange '{0}' in use")]
    InUse(ByteString),
    /// A headers binding's `x-match` is not a long string naming `all`, `any`,
    /// `all-with-x` or `any-with-x` (406).
    #[error("invalid x-match field; expected all, any, all-with-x, or any-with-x")]
    InvalidXMatch,
    /// A declare argument has the wrong type (406).
    #[error("invalid arg '{argument}' for exchange '{exchange}'")]
    InvalidArgument {
        /// The exchange.
        exchange: ByteString,
        /// The argument's name.
        argument: &'static str,
    },
    /// The exchange type is not `direct`, `fanout`, `topic` or `headers` (503).
    #[error("unknown exchange type '{0}'")]
    UnknownKind(ByteString),
}

impl ExchangeError {
    /// The AMQP reply code: 403, 404, 406 or 503 (see [`reply_code`]).
    pub fn reply_code(&self) -> u16 {
        match self {
            Self::ExchangeNotFound(_) | Self::QueueNotFound(_) => reply_code::NOT_FOUND,
            Self::DefaultExchange
            | Self::ReservedName(_)
            | Self::SystemExchange(_)
            | Self::Internal(_) => reply_code::ACCESS_REFUSED,
            Self::Inequivalent { .. }
            | Self::InUse(_)
            | Self::InvalidXMatch
            | Self::InvalidArgument { .. } => reply_code::PRECONDITION_FAILED,
            Self::UnknownKind(_) => reply_code::COMMAND_INVALID,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reply_codes() {
        let name = ByteString::from_static("x");
        for (error, code) in [
            (ExchangeError::ExchangeNotFound(name.clone()), 404),
            (ExchangeError::QueueNotFound(name.clone()), 404),
            (ExchangeError::DefaultExchange, 403),
            (ExchangeError::ReservedName(name.clone()), 403),
            (ExchangeError::SystemExchange(name.clone()), 403),
            (ExchangeError::Internal(name.clone()), 403),
            (
                ExchangeError::Inequivalent {
                    exchange: name.clone(),
                    argument: "durable",
                },
                406,
            ),
            (ExchangeError::InUse(name.clone()), 406),
            (ExchangeError::InvalidXMatch, 406),
            (
                ExchangeError::InvalidArgument {
                    exchange: name.clone(),
                    argument: "alternate-exchange",
                },
                406,
            ),
            (ExchangeError::UnknownKind(name.clone()), 503),
        ] {
            assert_eq!(error.reply_code(), code, "{error}");
            assert_eq!(reply_code::is_connection_error(code), code == 503);
        }
        assert_eq!(
            ExchangeError::Inequivalent {
                exchange: name,
                argument: "type"
            }
            .to_string(),
            "inequivalent arg 'type' for exchange 'x'"
        );
        assert!(reply_code::is_connection_error(reply_code::NOT_ALLOWED));
        assert!(reply_code::is_connection_error(320));
        assert!(!reply_code::is_connection_error(311));
        assert!(!reply_code::is_connection_error(
            reply_code::RESOURCE_LOCKED
        ));
    }
}
