//! Tests of [`Vhost`]: declaring, binding, deleting and routing across exchanges.

use super::*;

fn q(name: &str) -> Destination {
    Destination::queue(name)
}

fn x(name: &str) -> Destination {
    Destination::exchange(name)
}

fn names(list: &[ExchangeName]) -> Vec<&str> {
    list.iter().map(ExchangeName::as_str).collect()
}

/// A vhost with the queues `names`.
fn with_queues(names: &[&str]) -> Vhost {
    let mut vhost = Vhost::new();
    for name in names {
        assert!(vhost.add_queue((*name).into()));
    }
    vhost
}

fn declare(vhost: &mut Vhost, name: &str, kind: ExchangeKind, auto_delete: bool) {
    let declare = ExchangeDeclare {
        auto_delete,
        ..ExchangeDeclare::new(name, kind)
    };
    assert_eq!(vhost.declare_exchange(declare), Ok(true), "{name}");
}

fn route(vhost: &Vhost, exchange: &str, key: &str) -> Vec<String> {
    let queues = vhost.route(exchange, key, None).unwrap();
    queues.iter().map(ToString::to_string).collect()
}

#[test]
fn predeclared_exchanges() {
    let vhost = Vhost::new();
    for (name, kind) in [
        ("", ExchangeKind::Direct),
        ("amq.direct", ExchangeKind::Direct),
        ("amq.fanout", ExchangeKind::Fanout),
        ("amq.topic", ExchangeKind::Topic),
        ("amq.headers", ExchangeKind::Headers),
        ("amq.match", ExchangeKind::Headers),
    ] {
        let exchange = vhost.exchange(name).unwrap();
        assert_eq!(exchange.kind(), kind, "{name}");
        assert!(exchange.durable() && !exchange.auto_delete() && !exchange.internal());
    }
    assert_eq!(vhost.exchanges().len(), 6);
}

#[test]
fn declare_and_redeclare() {
    let mut vhost = Vhost::new();
    let logs = ExchangeDeclare {
        durable: true,
        ..ExchangeDeclare::new("logs", ExchangeKind::Fanout)
    };
    assert_eq!(vhost.declare_exchange(logs.clone()), Ok(true));
    assert_eq!(vhost.declare_exchange(logs), Ok(false));
    let error = vhost
        .declare_exchange(ExchangeDeclare::new("logs", ExchangeKind::Fanout))
        .unwrap_err();
    assert_eq!(
        error,
        ExchangeError::Inequivalent {
            exchange: "logs".into(),
            argument: "durable"
        }
    );
    assert_eq!(error.reply_code(), 406);
    assert!(vhost.exchange("logs").unwrap().durable(), "unchanged");
    // amq.* may be redeclared as it is, not created or changed.
    let topic = ExchangeDeclare {
        durable: true,
        ..ExchangeDeclare::new("amq.topic", ExchangeKind::Topic)
    };
    assert_eq!(vhost.declare_exchange(topic), Ok(false));
    let error = vhost
        .declare_exchange(ExchangeDeclare::new("amq.topic", ExchangeKind::Direct))
        .unwrap_err();
    assert_eq!(error.reply_code(), 406);
    let error = vhost
        .declare_exchange(ExchangeDeclare::new("amq.mine", ExchangeKind::Direct))
        .unwrap_err();
    assert_eq!(error, ExchangeError::ReservedName("amq.mine".into()));
    assert_eq!(error.reply_code(), 403);
    assert!(vhost.exchange("amq.mine").is_none());
    let error = vhost
        .declare_exchange(ExchangeDeclare::new("", ExchangeKind::Direct))
        .unwrap_err();
    assert_eq!(error, ExchangeError::DefaultExchange);
    assert_eq!(error.reply_code(), 403);
    let bad = ExchangeDeclare {
        arguments: FieldTable::from([("alternate-exchange", true.into())]),
        ..ExchangeDeclare::new("bad", ExchangeKind::Direct)
    };
    assert_eq!(vhost.declare_exchange(bad).unwrap_err().reply_code(), 406);
    assert!(vhost.exchange("bad").is_none());
}

#[test]
fn passive_declare() {
    let vhost = Vhost::new();
    assert_eq!(
        vhost.declare_exchange_passive("amq.fanout").unwrap().kind(),
        ExchangeKind::Fanout
    );
    let error = vhost.declare_exchange_passive("missing").unwrap_err();
    assert_eq!(error, ExchangeError::ExchangeNotFound("missing".into()));
    assert_eq!(error.reply_code(), 404);
    assert_eq!(
        vhost.declare_exchange_passive("").unwrap_err().reply_code(),
        403
    );
}

#[test]
fn delete_rules() {
    let mut vhost = with_queues(&["q"]);
    assert_eq!(vhost.delete_exchange("missing", false), Ok(vec![]));
    for system in ["amq.direct", "amq.topic", "amq.anything"] {
        let error = vhost.delete_exchange(system, false).unwrap_err();
        assert_eq!(error.reply_code(), 403, "{system}");
    }
    assert_eq!(
        vhost.delete_exchange("", false),
        Err(ExchangeError::DefaultExchange)
    );
    declare(&mut vhost, "e", ExchangeKind::Direct, false);
    vhost.bind("e", Binding::new(q("q"), "k")).unwrap();
    let error = vhost.delete_exchange("e", true).unwrap_err();
    assert_eq!(error, ExchangeError::InUse("e".into()));
    assert_eq!(error.reply_code(), 406);
    assert_eq!(route(&vhost, "e", "k"), ["q"]);
    let deleted = vhost.delete_exchange("e", false).unwrap();
    assert_eq!(names(&deleted), ["e"]);
    assert!(vhost.exchange("e").is_none());
    assert_eq!(vhost.bindings_to(&q("q")).count(), 0);
    vhost.assert_consistent();
    // Unused: deletable with if-unused, even when it is a destination.
    declare(&mut vhost, "f", ExchangeKind::Fanout, false);
    vhost.bind("amq.fanout", Binding::new(x("f"), "")).unwrap();
    assert_eq!(names(&vhost.delete_exchange("f", true).unwrap()), ["f"]);
    assert_eq!(vhost.exchange("amq.fanout").unwrap().binding_count(), 0);
    vhost.assert_consistent();
}

#[test]
fn default_exchange_routes_by_queue_name() {
    let mut vhost = with_queues(&["jobs"]);
    assert!(!vhost.add_queue("jobs".into()), "already there");
    assert!(vhost.has_queue("jobs"));
    assert_eq!(route(&vhost, "", "jobs"), ["jobs"]);
    assert_eq!(route(&vhost, "", "other"), Vec::<String>::new());
    for result in [
        vhost.bind("", Binding::new(q("jobs"), "x")),
        vhost.bind("amq.direct", Binding::new(x(""), "x")),
    ] {
        assert_eq!(result, Err(ExchangeError::DefaultExchange));
    }
    assert_eq!(
        vhost.unbind("", &Binding::new(q("jobs"), "jobs")),
        Err(ExchangeError::DefaultExchange)
    );
    assert!(vhost.remove_queue("jobs").is_empty());
    assert!(!vhost.has_queue("jobs"));
    assert_eq!(route(&vhost, "", "jobs"), Vec::<String>::new());
}

#[test]
fn bind_needs_both_ends() {
    let mut vhost = with_queues(&["q"]);
    let error = vhost
        .bind("missing", Binding::new(q("q"), "k"))
        .unwrap_err();
    assert_eq!(error, ExchangeError::ExchangeNotFound("missing".into()));
    assert_eq!(error.reply_code(), 404);
    let error = vhost
        .bind("amq.direct", Binding::new(q("nope"), "k"))
        .unwrap_err();
    assert_eq!(error, ExchangeError::QueueNotFound("nope".into()));
    assert_eq!(error.reply_code(), 404);
    let error = vhost
        .bind("amq.direct", Binding::new(x("nope"), "k"))
        .unwrap_err();
    assert_eq!(error, ExchangeError::ExchangeNotFound("nope".into()));
    assert_eq!(
        vhost
            .unbind("amq.direct", &Binding::new(q("nope"), "k"))
            .unwrap_err()
            .reply_code(),
        404
    );
    let bad = Binding::new(q("q"), "").with_arguments(FieldTable::from([("x-match", 0.into())]));
    assert_eq!(
        vhost.bind("amq.match", bad),
        Err(ExchangeError::InvalidXMatch)
    );
    assert_eq!(
        vhost.bind("amq.direct", Binding::new(q("q"), "k")),
        Ok(true)
    );
    assert_eq!(
        vhost.bind("amq.direct", Binding::new(q("q"), "k")),
        Ok(false)
    );
    let listed: Vec<_> = vhost.bindings_to(&q("q")).collect();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].0.as_str(), "amq.direct");
    assert_eq!(
        vhost.unbind("amq.direct", &Binding::new(q("q"), "other")),
        Ok(Unbound::default()),
        "a missing binding is no error"
    );
    let unbound = vhost
        .unbind("amq.direct", &Binding::new(q("q"), "k"))
        .unwrap();
    assert!(unbound.removed);
    assert_eq!(route(&vhost, "amq.direct", "k"), Vec::<String>::new());
    vhost.assert_consistent();
}

#[test]
fn auto_delete_when_the_last_binding_goes() {
    let mut vhost = with_queues(&["a", "b"]);
    declare(&mut vhost, "auto", ExchangeKind::Direct, true);
    vhost.bind("auto", Binding::new(q("a"), "k")).unwrap();
    vhost.bind("auto", Binding::new(q("b"), "k")).unwrap();
    let unbound = vhost.unbind("auto", &Binding::new(q("a"), "k")).unwrap();
    assert!(unbound.removed && unbound.auto_deleted.is_empty());
    assert!(vhost.exchange("auto").is_some());
    let unbound = vhost.unbind("auto", &Binding::new(q("b"), "k")).unwrap();
    assert_eq!(names(&unbound.auto_deleted), ["auto"]);
    assert!(vhost.exchange("auto").is_none());
    // Losing its queue counts too.
    declare(&mut vhost, "auto", ExchangeKind::Direct, true);
    vhost.bind("auto", Binding::new(q("a"), "k")).unwrap();
    assert_eq!(names(&vhost.remove_queue("a")), ["auto"]);
    assert!(vhost.exchange("auto").is_none());
    // A fresh auto-delete exchange stays until it has had a binding.
    declare(&mut vhost, "fresh", ExchangeKind::Direct, true);
    assert!(vhost.remove_queue("b").is_empty());
    assert!(vhost.exchange("fresh").is_some());
    // A non-auto-delete exchange stays.
    vhost.add_queue("c".into());
    vhost.bind("amq.direct", Binding::new(q("c"), "k")).unwrap();
    assert!(vhost.remove_queue("c").is_empty());
    assert!(vhost.exchange("amq.direct").is_some());
    vhost.assert_consistent();
}

#[test]
fn auto_delete_cascades_through_exchange_bindings() {
    // top (auto) -> middle (auto) -> q
    let mut vhost = with_queues(&["q"]);
    declare(&mut vhost, "top", ExchangeKind::Fanout, true);
    declare(&mut vhost, "middle", ExchangeKind::Fanout, true);
    vhost.bind("middle", Binding::new(q("q"), "")).unwrap();
    vhost.bind("top", Binding::new(x("middle"), "")).unwrap();
    assert_eq!(route(&vhost, "top", "k"), ["q"]);
    let mut deleted = names(&vhost.remove_queue("q"))
        .into_iter()
        .map(String::from)
        .collect::<Vec<_>>();
    deleted.sort();
    assert_eq!(deleted, ["middle", "top"]);
    assert_eq!(vhost.exchanges().len(), 6);
    vhost.assert_consistent();
    // Deleting a destination exchange empties an auto-delete source.
    vhost.add_queue("q".into());
    declare(&mut vhost, "src", ExchangeKind::Fanout, true);
    declare(&mut vhost, "dst", ExchangeKind::Fanout, false);
    vhost.bind("src", Binding::new(x("dst"), "")).unwrap();
    vhost.bind("dst", Binding::new(q("q"), "")).unwrap();
    let deleted = vhost.delete_exchange("dst", false).unwrap();
    assert_eq!(names(&deleted), ["dst", "src"]);
    assert!(vhost.bindings_to(&q("q")).next().is_none());
    vhost.assert_consistent();
}

#[test]
fn exchange_to_exchange_routing() {
    let mut vhost = with_queues(&["all", "errors", "eu"]);
    declare(&mut vhost, "in", ExchangeKind::Topic, false);
    declare(&mut vhost, "logs", ExchangeKind::Fanout, false);
    declare(&mut vhost, "sev", ExchangeKind::Direct, false);
    vhost.bind("in", Binding::new(x("logs"), "log.#")).unwrap();
    vhost.bind("in", Binding::new(q("eu"), "*.eu.#")).unwrap();
    vhost.bind("logs", Binding::new(q("all"), "")).unwrap();
    vhost.bind("logs", Binding::new(x("sev"), "")).unwrap();
    vhost
        .bind("sev", Binding::new(q("errors"), "log.eu.error"))
        .unwrap();
    assert_eq!(route(&vhost, "in", "log.eu.error"), ["all", "errors", "eu"]);
    assert_eq!(route(&vhost, "in", "log.us.info"), ["all"]);
    assert_eq!(route(&vhost, "in", "metric.eu.cpu"), ["eu"]);
    assert_eq!(route(&vhost, "in", "metric.us"), Vec::<String>::new());
    assert_eq!(route(&vhost, "sev", "log.eu.error"), ["errors"]);
    let error = vhost.route("nope", "k", None).unwrap_err();
    assert_eq!(error.reply_code(), 404);
    vhost.assert_consistent();
}

#[test]
fn exchange_cycles_end_and_queues_come_once() {
    let mut vhost = with_queues(&["a", "b"]);
    declare(&mut vhost, "x1", ExchangeKind::Fanout, false);
    declare(&mut vhost, "x2", ExchangeKind::Fanout, false);
    vhost.bind("x1", Binding::new(x("x2"), "")).unwrap();
    vhost.bind("x2", Binding::new(x("x1"), "")).unwrap();
    vhost.bind("x1", Binding::new(x("x1"), "self")).unwrap();
    vhost.bind("x1", Binding::new(q("a"), "")).unwrap();
    vhost.bind("x2", Binding::new(q("a"), "")).unwrap();
    vhost.bind("x2", Binding::new(q("b"), "")).unwrap();
    assert_eq!(route(&vhost, "x1", "k"), ["a", "b"]);
    assert_eq!(route(&vhost, "x2", "k"), ["a", "b"]);
    let deleted = vhost.delete_exchange("x1", false).unwrap();
    assert_eq!(names(&deleted), ["x1"]);
    assert_eq!(route(&vhost, "x2", "k"), ["a", "b"]);
    assert_eq!(vhost.exchange("x2").unwrap().binding_count(), 2);
    vhost.assert_consistent();
}

#[test]
fn internal_exchanges_take_no_publishes() {
    let mut vhost = with_queues(&["q"]);
    let internal = ExchangeDeclare {
        internal: true,
        ..ExchangeDeclare::new("inner", ExchangeKind::Fanout)
    };
    vhost.declare_exchange(internal).unwrap();
    vhost.bind("inner", Binding::new(q("q"), "")).unwrap();
    let error = vhost.route("inner", "k", None).unwrap_err();
    assert_eq!(error, ExchangeError::Internal("inner".into()));
    assert_eq!(error.reply_code(), 403);
    vhost
        .bind("amq.fanout", Binding::new(x("inner"), ""))
        .unwrap();
    assert_eq!(route(&vhost, "amq.fanout", "k"), ["q"]);
}

#[test]
fn alternate_exchange_takes_unroutable_messages() {
    let mut vhost = with_queues(&["routed", "unrouted"]);
    let with_ae = |name: &str, ae: &str| ExchangeDeclare {
        arguments: FieldTable::from([("alternate-exchange", ae.into())]),
        ..ExchangeDeclare::new(name, ExchangeKind::Direct)
    };
    vhost.declare_exchange(with_ae("main", "ae")).unwrap();
    assert_eq!(
        route(&vhost, "main", "k"),
        Vec::<String>::new(),
        "ae missing"
    );
    declare(&mut vhost, "ae", ExchangeKind::Fanout, false);
    vhost.bind("ae", Binding::new(q("unrouted"), "")).unwrap();
    vhost.bind("main", Binding::new(q("routed"), "k")).unwrap();
    assert_eq!(route(&vhost, "main", "k"), ["routed"]);
    assert_eq!(route(&vhost, "main", "other"), ["unrouted"]);
    // Redeclaring with another alternate exchange is inequivalent.
    assert_eq!(
        vhost
            .declare_exchange(with_ae("main", "elsewhere"))
            .unwrap_err()
            .reply_code(),
        406
    );
    // Alternate exchanges that point at each other end.
    vhost.declare_exchange(with_ae("p", "r")).unwrap();
    vhost.declare_exchange(with_ae("r", "p")).unwrap();
    assert_eq!(route(&vhost, "p", "k"), Vec::<String>::new());
    vhost.bind("r", Binding::new(q("routed"), "k")).unwrap();
    assert_eq!(route(&vhost, "p", "k"), ["routed"]);
}

#[test]
fn headers_routing_through_amq_match() {
    let mut vhost = with_queues(&["pdf"]);
    let arguments = FieldTable::from([("x-match", "any".into()), ("format", "pdf".into())]);
    vhost
        .bind(
            "amq.match",
            Binding::new(q("pdf"), "").with_arguments(arguments),
        )
        .unwrap();
    let headers = FieldTable::from([("format", "pdf".into())]);
    let queues = vhost.route("amq.match", "", Some(&headers)).unwrap();
    assert_eq!(queues, ["pdf"]);
    assert!(vhost.route("amq.match", "", None).unwrap().is_empty());
}

#[test]
fn removing_a_queue_removes_its_bindings() {
    let mut vhost = with_queues(&["q", "r"]);
    vhost
        .bind("amq.topic", Binding::new(q("q"), "a.*"))
        .unwrap();
    vhost
        .bind("amq.topic", Binding::new(q("r"), "a.#"))
        .unwrap();
    vhost.bind("amq.fanout", Binding::new(q("q"), "")).unwrap();
    assert_eq!(route(&vhost, "amq.topic", "a.b"), ["q", "r"]);
    assert!(vhost.remove_queue("q").is_empty());
    assert!(vhost.remove_queue("q").is_empty(), "twice is harmless");
    assert_eq!(route(&vhost, "amq.topic", "a.b"), ["r"]);
    assert_eq!(vhost.exchange("amq.fanout").unwrap().binding_count(), 0);
    vhost.add_queue("q".into());
    assert_eq!(
        route(&vhost, "amq.topic", "a.b"),
        ["r"],
        "a new queue of the same name starts unbound"
    );
    vhost.assert_consistent();
}
