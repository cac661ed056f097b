//! Exchanges and bindings: the AMQP 0-9-1 routing model, as RabbitMQ implements it.
//!
//! An [`Exchange`] routes a message, by its routing key and headers, to the destinations
//! of its matching [`Binding`]s: queues, or other exchanges (RabbitMQ's exchange-to-exchange
//! bindings). The four kinds match as AMQP and RabbitMQ say: direct by equal key, fanout
//! always, topic by AMQP `*`/`#` binding keys (on the shared [`TopicTrie`]), headers by
//! the binding's arguments and `x-match` ([`XMatch`]).
//!
//! A [`Vhost`] holds the exchanges and the names of the queues, follows exchange-to-exchange
//! bindings and alternate exchanges when routing, and enforces the rules of declaring,
//! binding and deleting, with errors that carry their AMQP reply code ([`ExchangeError`]).
//! Queue state lives in [`crate::core::queue`]; the vhost only needs to know which queues
//! exist.
//!
//! ```
//! use switchyard::core::exchange::{Binding, Destination, Vhost};
//!
//! let mut vhost = Vhost::new();
//! vhost.add_queue("sensors".into());
//! let binding = Binding::new(Destination::queue("sensors"), "home.*.temp");
//! vhost.bind("amq.topic", binding).unwrap();
//! let queues = vhost.route("amq.topic", "home.kitchen.temp", None).unwrap();
//! assert_eq!(queues, ["sensors"]);
//! ```

mod error;
mod headers;
mod table;
mod vhost;
#[cfg(test)]
mod vhost_tests;

use std::borrow::Borrow;
use std::collections::{HashMap, HashSet};
use std::fmt;

use ahash::RandomState;
use bytestring::ByteString;

use crate::core::topic::{Pattern, TopicTrie, amqp_levels};

pub use error::{ExchangeError, reply_code};
pub use headers::XMatch;
pub use table::{FieldTable, FieldValue};
pub use vhost::{Unbound, Vhost};

macro_rules! name_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(ByteString);

        impl $name {
            /// The name.
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// The name as a shared string.
            pub fn as_byte_string(&self) -> &ByteString {
                &self.0
            }
        }

        impl Borrow<str> for $name {
            fn borrow(&self) -> &str {
                &self.0
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                *self.0 == *other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                *self.0 == **other
            }
        }

        impl From<&str> for $name {
            fn from(name: &str) -> Self {
                Self(name.into())
            }
        }

        impl From<ByteString> for $name {
            fn from(name: ByteString) -> Self {
                Self(name)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

name_type!(
    /// An exchange's name; `""` is the default exchange.
    ExchangeName
);

name_type!(
    /// A queue's name.
    QueueName
);

/// The type of an exchange: how it matches bindings.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ExchangeKind {
    /// Binding key equal to the routing key.
    Direct,
    /// Every binding.
    Fanout,
    /// AMQP binding-key patterns (`*` one word, `#` zero or more) over `.`-separated words.
    Topic,
    /// Binding arguments against message headers, by `x-match`.
    Headers,
}

impl ExchangeKind {
    /// Parses the `type` of exchange.declare; anything else is 503 COMMAND_INVALID, as in
    /// RabbitMQ (which also has plugin types this gateway does not).
    pub fn parse(kind: &str) -> Result<Self, ExchangeError> {
        match kind {
            "direct" => Ok(Self::Direct),
            "fanout" => Ok(Self::Fanout),
            "topic" => Ok(Self::Topic),
            "headers" => Ok(Self::Headers),
            _ => Err(ExchangeError::UnknownKind(kind.into())),
        }
    }

    /// The name AMQP gives the type.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Direct => "direct",
            Self::Fanout => "fanout",
            Self::Topic => "topic",
            Self::Headers => "headers",
        }
    }
}

/// Where a binding leads: a queue, or another exchange (exchange.bind).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Destination {
    /// A queue.
    Queue(QueueName),
    /// An exchange, which routes the message on by its own bindings.
    Exchange(ExchangeName),
}

impl Destination {
    /// The queue `name`.
    pub fn queue(name: &str) -> Self {
        Self::Queue(name.into())
    }

    /// The exchange `name`.
    pub fn exchange(name: &str) -> Self {
        Self::Exchange(name.into())
    }
}

/// A binding of an exchange (its source, which holds it) to a destination. Two bindings
/// are the same binding when destination, key and arguments are equal.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Binding {
    /// The queue or exchange messages go to.
    pub destination: Destination,
    /// The binding key: compared with the routing key by direct and topic exchanges,
    /// ignored by fanout and headers exchanges (but part of the binding's identity).
    pub routing_key: ByteString,
    /// The binding's arguments: what a headers exchange matches.
    pub arguments: FieldTable,
}

impl Binding {
    /// A binding with no arguments.
    pub fn new(destination: Destination, routing_key: &str) -> Self {
        Self {
            destination,
            routing_key: routing_key.into(),
            arguments: FieldTable::new(),
        }
    }

    /// The same binding with `arguments`.
    pub fn with_arguments(self, arguments: FieldTable) -> Self {
        Self { arguments, ..self }
    }
}

/// The fields of exchange.declare: what an exchange is declared with, compared on
/// redeclare.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExchangeDeclare {
    /// The name.
    pub name: ExchangeName,
    /// The type.
    pub kind: ExchangeKind,
    /// Whether it survives a restart.
    pub durable: bool,
    /// Whether it is deleted when its last binding (as source) goes.
    pub auto_delete: bool,
    /// Whether clients may not publish to it directly (only other exchanges route to it).
    pub internal: bool,
    /// Declare arguments; `alternate-exchange` names where unroutable messages go.
    pub arguments: FieldTable,
}

impl ExchangeDeclare {
    /// A transient, non-auto-delete, non-internal exchange without arguments.
    pub fn new(name: &str, kind: ExchangeKind) -> Self {
        Self {
            name: name.into(),
            kind,
            durable: false,
            auto_delete: false,
            internal: false,
            arguments: FieldTable::new(),
        }
    }
}

/// The argument naming an exchange's alternate exchange.
const ALTERNATE_EXCHANGE: &str = "alternate-exchange";

/// An exchange and its bindings.
#[derive(Clone, Debug)]
pub struct Exchange {
    declared: ExchangeDeclare,
    alternate: Option<ExchangeName>,
    bindings: HashSet<Binding, RandomState>,
    index: Index,
}

/// The bindings arranged for routing, one arrangement per kind. A destination appears
/// once per binding to it.
#[derive(Clone, Debug)]
enum Index {
    Direct(HashMap<ByteString, Vec<Destination>, RandomState>),
    Fanout(Vec<Destination>),
    Topic(TopicTrie<Destination>),
    Headers(Vec<HeadersBinding>),
}

#[derive(Clone, Debug)]
struct HeadersBinding {
    destination: Destination,
    mode: XMatch,
    arguments: FieldTable,
}

impl Exchange {
    /// An exchange with no bindings. Fails (406) when `alternate-exchange` is not a string.
    pub fn new(declared: ExchangeDeclare) -> Result<Self, ExchangeError> {
        let alternate = match declared.arguments.get(ALTERNATE_EXCHANGE) {
            None => None,
            Some(value) => match value.as_str() {
                Some(name) => Some(ExchangeName::from(name)),
                None => {
                    return Err(ExchangeError::InvalidArgument {
                        exchange: declared.name.0.clone(),
                        argument: ALTERNATE_EXCHANGE,
                    });
                }
            },
        };
        let index = match declared.kind {
            ExchangeKind::Direct => Index::Direct(HashMap::default()),
            ExchangeKind::Fanout => Index::Fanout(Vec::new()),
            ExchangeKind::Topic => Index::Topic(TopicTrie::new()),
            ExchangeKind::Headers => Index::Headers(Vec::new()),
        };
        Ok(Self {
            declared,
            alternate,
            bindings: HashSet::default(),
            index,
        })
    }

    /// The name.
    pub fn name(&self) -> &ExchangeName {
        &self.declared.name
    }

    /// The type.
    pub fn kind(&self) -> ExchangeKind {
        self.declared.kind
    }

    /// Whether it survives a restart.
    pub fn durable(&self) -> bool {
        self.declared.durable
    }

    /// Whether it goes when its last binding goes.
    pub fn auto_delete(&self) -> bool {
        self.declared.auto_delete
    }

    /// Whether clients may not publish to it.
    pub fn internal(&self) -> bool {
        self.declared.internal
    }

    /// The declare arguments.
    pub fn arguments(&self) -> &FieldTable {
        &self.declared.arguments
    }

    /// Where messages that match no binding go, if anywhere.
    pub fn alternate_exchange(&self) -> Option<&ExchangeName> {
        self.alternate.as_ref()
    }

    /// What it was declared with.
    pub fn declaration(&self) -> &ExchangeDeclare {
        &self.declared
    }

    /// Checks a redeclare, as RabbitMQ's `assert_equivalence` does: type, durable,
    /// auto-delete and internal must be equal, and of the arguments the one that changes
    /// behaviour, `alternate-exchange`; other arguments are not compared (406 otherwise).
    pub fn check_equivalent(&self, other: &ExchangeDeclare) -> Result<(), ExchangeError> {
        let ours = &self.declared;
        let differs = if ours.kind != other.kind {
            "type"
        } else if ours.durable != other.durable {
            "durable"
        } else if ours.auto_delete != other.auto_delete {
            "auto_delete"
        } else if ours.internal != other.internal {
            "internal"
        } else if ours.arguments.get(ALTERNATE_EXCHANGE) != other.arguments.get(ALTERNATE_EXCHANGE)
        {
            ALTERNATE_EXCHANGE
        } else {
            return Ok(());
        };
        Err(ExchangeError::Inequivalent {
            exchange: ours.name.0.clone(),
            argument: differs,
        })
    }

    /// Adds a binding. Returns whether it is new (binding twice is no error). A headers
    /// exchange checks `x-match` (406).
    pub fn bind(&mut self, binding: Binding) -> Result<bool, ExchangeError> {
        let mode = match self.declared.kind {
            ExchangeKind::Headers => XMatch::from_arguments(&binding.arguments)?,
            _ => XMatch::All,
        };
        if self.bindings.contains(&binding) {
            return Ok(false);
        }
        let destination = binding.destination.clone();
        match &mut self.index {
            Index::Direct(by_key) => by_key
                .entry(binding.routing_key.clone())
                .or_default()
                .push(destination),
            Index::Fanout(all) => all.push(destination),
            Index::Topic(trie) => trie.insert(&Pattern::amqp(&binding.routing_key), destination),
            Index::Headers(all) => all.push(HeadersBinding {
                destination,
                mode,
                arguments: binding.arguments.clone(),
            }),
        }
        self.bindings.insert(binding);
        Ok(true)
    }

    /// Removes a binding. Returns whether it was there.
    pub fn unbind(&mut self, binding: &Binding) -> bool {
        if !self.bindings.remove(binding) {
            return false;
        }
        let destination = &binding.destination;
        match &mut self.index {
            Index::Direct(by_key) => {
                if let Some(list) = by_key.get_mut(&*binding.routing_key) {
                    remove_one(list, |d| d == destination);
                    if list.is_empty() {
                        by_key.remove(&*binding.routing_key);
                    }
                }
            }
            Index::Fanout(all) => remove_one(all, |d| d == destination),
            Index::Topic(trie) => {
                trie.remove(&Pattern::amqp(&binding.routing_key), destination);
            }
            Index::Headers(all) => remove_one(all, |h| {
                h.destination == *destination && h.arguments == binding.arguments
            }),
        }
        true
    }

    /// The bindings, in no particular order.
    pub fn bindings(&self) -> impl ExactSizeIterator<Item = &Binding> + '_ {
        self.bindings.iter()
    }

    /// The number of bindings (with this exchange as source).
    pub fn binding_count(&self) -> usize {
        self.bindings.len()
    }

    /// Calls `visit` with the destination of every binding that matches a message with
    /// `routing_key` and `headers`, once per binding (a destination bound twice comes
    /// twice). Allocates nothing.
    pub fn for_each_match(
        &self,
        routing_key: &str,
        headers: Option<&FieldTable>,
        mut visit: impl FnMut(&Destination),
    ) {
        match &self.index {
            Index::Direct(by_key) => {
                if let Some(list) = by_key.get(routing_key) {
                    list.iter().for_each(visit);
                }
            }
            Index::Fanout(all) => all.iter().for_each(visit),
            // AMQP has no `$` rule: `#` matches `$SYS.x`.
            Index::Topic(trie) => trie.for_each_match(amqp_levels(routing_key), false, visit),
            Index::Headers(all) => {
                for binding in all {
                    if binding.mode.matches(&binding.arguments, headers) {
                        visit(&binding.destination);
                    }
                }
            }
        }
    }

    /// The destinations a message with `routing_key` and `headers` goes to from this
    /// exchange (not following exchange-to-exchange bindings: see [`Vhost::route`]),
    /// sorted, each once.
    pub fn route(&self, routing_key: &str, headers: Option<&FieldTable>) -> Vec<Destination> {
        let mut out = Vec::new();
        self.for_each_match(routing_key, headers, |d| out.push(d.clone()));
        out.sort_unstable();
        out.dedup();
        out
    }
}

/// Removes one element that `is` picks, not keeping order.
fn remove_one<T>(list: &mut Vec<T>, is: impl FnMut(&T) -> bool) {
    if let Some(at) = list.iter().position(is) {
        list.swap_remove(at);
    }
}

#[cfg(test)]
mod tests;
