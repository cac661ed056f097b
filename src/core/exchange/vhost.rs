//! The exchanges and queue names of one virtual host, and routing across them.

use std::collections::{HashMap, HashSet};

use ahash::RandomState;

use super::{
    Binding, Destination, Exchange, ExchangeDeclare, ExchangeError, ExchangeKind, ExchangeName,
    FieldTable, QueueName,
};

/// The exchanges pre-declared in every vhost, as in RabbitMQ (durable, not auto-delete).
const PREDECLARED: [(&str, ExchangeKind); 6] = [
    ("", ExchangeKind::Direct),
    ("amq.direct", ExchangeKind::Direct),
    ("amq.fanout", ExchangeKind::Fanout),
    ("amq.topic", ExchangeKind::Topic),
    ("amq.headers", ExchangeKind::Headers),
    ("amq.match", ExchangeKind::Headers),
];

/// The routing topology of one virtual host: its exchanges with their bindings, and the
/// names of its queues.
///
/// The default exchange `""` is a direct exchange to which every queue is bound by its
/// own name; it cannot be declared, bound, unbound or deleted. `amq.direct`,
/// `amq.fanout`, `amq.topic`, `amq.headers` and `amq.match` exist from the start and
/// cannot be deleted; other names starting with `amq.` cannot be declared.
///
/// Operations that remove bindings return the auto-delete exchanges that lost their
/// last binding and were deleted with it, so that the caller can persist and replicate it.
#[derive(Clone, Debug)]
pub struct Vhost {
    exchanges: HashMap<ExchangeName, Exchange, RandomState>,
    queues: HashSet<QueueName, RandomState>,
    /// For each destination, the bindings to it and their sources, so that deleting a
    /// queue or exchange finds its bindings without scanning every exchange.
    incoming: HashMap<Destination, Vec<(ExchangeName, Binding)>, RandomState>,
}

/// What an unbind did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Unbound {
    /// Whether the binding existed (unbinding a missing binding is no error).
    pub removed: bool,
    /// Auto-delete exchanges deleted because they lost their last binding.
    pub auto_deleted: Vec<ExchangeName>,
}

impl Vhost {
    /// A vhost with the pre-declared exchanges and no queues.
    pub fn new() -> Self {
        let mut exchanges = HashMap::default();
        for (name, kind) in PREDECLARED {
            let declare = ExchangeDeclare {
                durable: true,
                ..ExchangeDeclare::new(name, kind)
            };
            // No arguments, so no invalid argument.
            if let Ok(exchange) = Exchange::new(declare) {
                exchanges.insert(ExchangeName::from(name), exchange);
            }
        }
        Self {
            exchanges,
            queues: HashSet::default(),
            incoming: HashMap::default(),
        }
    }

    /// exchange.declare (not passive). Returns whether the exchange was created; an
    /// existing one must be equivalent ([`Exchange::check_equivalent`], 406). Fails with
    /// 403 for the default exchange and for new names starting with `amq.`, and with 406
    /// for an invalid argument.
    pub fn declare_exchange(&mut self, declare: ExchangeDeclare) -> Result<bool, ExchangeError> {
        if declare.name.as_str().is_empty() {
            return Err(ExchangeError::DefaultExchange);
        }
        if let Some(existing) = self.exchanges.get(declare.name.as_str()) {
            existing.check_equivalent(&declare)?;
            return Ok(false);
        }
        if declare.name.as_str().starts_with("amq.") {
            return Err(ExchangeError::ReservedName(declare.name.0));
        }
        let name = declare.name.clone();
        self.exchanges.insert(name, Exchange::new(declare)?);
        Ok(true)
    }

    /// exchange.declare with passive set: the exchange, or 404. The default exchange
    /// answers 403, as in RabbitMQ.
    pub fn declare_exchange_passive(&self, name: &str) -> Result<&Exchange, ExchangeError> {
        if name.is_empty() {
            return Err(ExchangeError::DefaultExchange);
        }
        self.exchange(name)
            .ok_or_else(|| ExchangeError::ExchangeNotFound(name.into()))
    }

    /// exchange.delete. Deleting a missing exchange is no error (returns nothing deleted);
    /// with `if_unused`, an exchange that is the source of a binding is 406; the default
    /// exchange and `amq.*` are 403. Returns the deleted exchanges: this one, then the
    /// auto-delete exchanges that lost their last binding to it.
    pub fn delete_exchange(
        &mut self,
        name: &str,
        if_unused: bool,
    ) -> Result<Vec<ExchangeName>, ExchangeError> {
        if name.is_empty() {
            return Err(ExchangeError::DefaultExchange);
        }
        if name.starts_with("amq.") {
            return Err(ExchangeError::SystemExchange(name.into()));
        }
        let Some(exchange) = self.exchanges.get(name) else {
            return Ok(Vec::new());
        };
        if if_unused && exchange.binding_count() > 0 {
            return Err(ExchangeError::InUse(name.into()));
        }
        let name = exchange.name().clone();
        Ok(self.remove_exchanges(name))
    }

    /// The exchange `name` (`""` is the default exchange).
    pub fn exchange(&self, name: &str) -> Option<&Exchange> {
        self.exchanges.get(name)
    }

    /// Every exchange, in no particular order.
    pub fn exchanges(&self) -> impl ExactSizeIterator<Item = &Exchange> + '_ {
        self.exchanges.values()
    }

    /// Records that the queue `name` exists, so that the default exchange routes to it and
    /// it can be bound. Returns whether it is new.
    pub fn add_queue(&mut self, name: QueueName) -> bool {
        self.queues.insert(name)
    }

    /// Whether the queue `name` exists.
    pub fn has_queue(&self, name: &str) -> bool {
        self.queues.contains(name)
    }

    /// Forgets the queue `name` and removes every binding to it. Returns the auto-delete
    /// exchanges that lost their last binding and were deleted.
    pub fn remove_queue(&mut self, name: &str) -> Vec<ExchangeName> {
        match self.queues.take(name) {
            Some(queue) => self.remove_bindings_to(&Destination::Queue(queue)),
            None => Vec::new(),
        }
    }

    /// queue.bind or exchange.bind: binds `source` to `binding.destination`. Returns
    /// whether the binding is new. 403 when either end is the default exchange, 404 when
    /// either end is missing, 406 for a headers binding with an invalid `x-match`.
    pub fn bind(&mut self, source: &str, binding: Binding) -> Result<bool, ExchangeError> {
        self.check_ends(source, &binding)?;
        let Some(exchange) = self.exchanges.get_mut(source) else {
            return Err(ExchangeError::ExchangeNotFound(source.into()));
        };
        let source = exchange.name().clone();
        let new = exchange.bind(binding.clone())?;
        if new {
            self.incoming
                .entry(binding.destination.clone())
                .or_default()
                .push((source, binding));
        }
        Ok(new)
    }

    /// queue.unbind or exchange.unbind. A missing binding is no error; missing ends are
    /// 404 and the default exchange 403, as for [`Vhost::bind`]. When `source` is
    /// auto-delete and this was its last binding, it is deleted.
    pub fn unbind(&mut self, source: &str, binding: &Binding) -> Result<Unbound, ExchangeError> {
        self.check_ends(source, binding)?;
        let Some(exchange) = self.exchanges.get_mut(source) else {
            return Err(ExchangeError::ExchangeNotFound(source.into()));
        };
        if !exchange.unbind(binding) {
            return Ok(Unbound::default());
        }
        let orphaned = exchange.auto_delete() && exchange.binding_count() == 0;
        let source = exchange.name().clone();
        self.forget_incoming(&source, binding);
        Ok(Unbound {
            removed: true,
            auto_deleted: if orphaned {
                self.remove_exchanges(source)
            } else {
                Vec::new()
            },
        })
    }

    /// The bindings leading to `destination`, with their source exchanges.
    pub fn bindings_to(
        &self,
        destination: &Destination,
    ) -> impl Iterator<Item = (&ExchangeName, &Binding)> + '_ {
        self.incoming
            .get(destination)
            .into_iter()
            .flatten()
            .map(|(source, binding)| (source, binding))
    }

    /// The queues a message published to `exchange` with `routing_key` and `headers`
    /// reaches, sorted, each once. Empty when it is unroutable (the gateway's
    /// basic.return for `mandatory`). 404 for a missing exchange, 403 for an internal one.
    ///
    /// Follows exchange-to-exchange bindings, visiting each exchange at most once, so
    /// cycles end; and where an exchange matches no binding, its alternate exchange (if it
    /// exists), as RabbitMQ does. The default exchange routes to the queue named by the
    /// routing key, if it exists.
    pub fn route(
        &self,
        exchange: &str,
        routing_key: &str,
        headers: Option<&FieldTable>,
    ) -> Result<Vec<QueueName>, ExchangeError> {
        if exchange.is_empty() {
            return Ok(self.queues.get(routing_key).cloned().into_iter().collect());
        }
        let Some(start) = self.exchanges.get(exchange) else {
            return Err(ExchangeError::ExchangeNotFound(exchange.into()));
        };
        if start.internal() {
            return Err(ExchangeError::Internal(exchange.into()));
        }
        let mut queues = Vec::new();
        // Exchanges reached so far (the start too), and those still to route through.
        // Neither allocates unless an exchange-to-exchange binding or an alternate
        // exchange is followed.
        let mut seen: Vec<&ExchangeName> = Vec::new();
        let mut pending: Vec<&Exchange> = Vec::new();
        let mut next = Some(start);
        while let Some(current) = next.take().or_else(|| pending.pop()) {
            let mut reach = |name: &ExchangeName| {
                if let Some((name, exchange)) = self.exchanges.get_key_value(name.as_str())
                    && name != start.name()
                    && !seen.contains(&name)
                {
                    seen.push(name);
                    pending.push(exchange);
                }
            };
            let mut matched = false;
            current.for_each_match(routing_key, headers, |destination| {
                matched = true;
                match destination {
                    Destination::Queue(queue) => queues.push(queue.clone()),
                    Destination::Exchange(exchange) => reach(exchange),
                }
            });
            if !matched && let Some(alternate) = current.alternate_exchange() {
                reach(alternate);
            }
        }
        queues.sort_unstable();
        queues.dedup();
        Ok(queues)
    }

    /// The checks bind and unbind share: neither end the default exchange (403), the
    /// destination present (404). The source is looked up by the caller.
    fn check_ends(&self, source: &str, binding: &Binding) -> Result<(), ExchangeError> {
        if source.is_empty() {
            return Err(ExchangeError::DefaultExchange);
        }
        if !self.exchanges.contains_key(source) {
            return Err(ExchangeError::ExchangeNotFound(source.into()));
        }
        match &binding.destination {
            Destination::Exchange(name) if name.as_str().is_empty() => {
                Err(ExchangeError::DefaultExchange)
            }
            Destination::Exchange(name) if !self.exchanges.contains_key(name.as_str()) => {
                Err(ExchangeError::ExchangeNotFound(name.0.clone()))
            }
            Destination::Queue(name) if !self.queues.contains(name.as_str()) => {
                Err(ExchangeError::QueueNotFound(name.0.clone()))
            }
            _ => Ok(()),
        }
    }

    /// Drops the reverse-index entry of one binding.
    fn forget_incoming(&mut self, source: &ExchangeName, binding: &Binding) {
        if let Some(list) = self.incoming.get_mut(&binding.destination) {
            if let Some(at) = list.iter().position(|(s, b)| s == source && b == binding) {
                list.swap_remove(at);
            }
            if list.is_empty() {
                self.incoming.remove(&binding.destination);
            }
        }
    }

    /// Removes every binding to `destination` from its source. Returns the auto-delete
    /// sources left without bindings, deleted (with what their deletion cascades to).
    fn remove_bindings_to(&mut self, destination: &Destination) -> Vec<ExchangeName> {
        let mut orphans = Vec::new();
        for (source, binding) in self.incoming.remove(destination).unwrap_or_default() {
            if let Some(exchange) = self.exchanges.get_mut(source.as_str()) {
                exchange.unbind(&binding);
                if exchange.auto_delete() && exchange.binding_count() == 0 {
                    orphans.push(source);
                }
            }
        }
        let mut deleted = Vec::new();
        for orphan in orphans {
            deleted.extend(self.remove_exchanges(orphan));
        }
        deleted
    }

    /// Deletes `name` with its bindings both ways, then, the same way, every auto-delete
    /// exchange that this leaves without bindings. Returns the deleted names, `name` first.
    fn remove_exchanges(&mut self, name: ExchangeName) -> Vec<ExchangeName> {
        let mut deleted = Vec::new();
        let mut doomed = vec![name];
        while let Some(name) = doomed.pop() {
            let Some(exchange) = self.exchanges.remove(name.as_str()) else {
                continue;
            };
            for binding in exchange.bindings() {
                self.forget_incoming(&name, binding);
            }
            let destination = Destination::Exchange(name.clone());
            for (source, binding) in self.incoming.remove(&destination).unwrap_or_default() {
                if let Some(source_exchange) = self.exchanges.get_mut(source.as_str()) {
                    source_exchange.unbind(&binding);
                    if source_exchange.auto_delete() && source_exchange.binding_count() == 0 {
                        doomed.push(source);
                    }
                }
            }
            deleted.push(name);
        }
        deleted
    }
}

impl Default for Vhost {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
impl Vhost {
    /// Panics unless the reverse index holds exactly the exchanges' bindings.
    pub(super) fn assert_consistent(&self) {
        let mut forward: Vec<(String, String)> = Vec::new();
        for exchange in self.exchanges.values() {
            for binding in exchange.bindings() {
                forward.push((exchange.name().to_string(), format!("{binding:?}")));
            }
        }
        let mut reverse: Vec<(String, String)> = Vec::new();
        for (destination, list) in &self.incoming {
            assert!(!list.is_empty(), "empty reverse entry for {destination:?}");
            for (source, binding) in list {
                assert_eq!(&binding.destination, destination);
                reverse.push((source.to_string(), format!("{binding:?}")));
            }
        }
        forward.sort();
        reverse.sort();
        assert_eq!(forward, reverse);
    }
}
