//! Tests of [`Exchange`] routing, one exchange at a time.

use super::*;

fn exchange(kind: ExchangeKind) -> Exchange {
    Exchange::new(ExchangeDeclare::new("x", kind)).unwrap()
}

fn q(name: &str) -> Destination {
    Destination::queue(name)
}

fn routed(x: &Exchange, key: &str) -> Vec<Destination> {
    x.route(key, None)
}

#[test]
fn kinds_parse_and_print() {
    for kind in [
        ExchangeKind::Direct,
        ExchangeKind::Fanout,
        ExchangeKind::Topic,
        ExchangeKind::Headers,
    ] {
        assert_eq!(ExchangeKind::parse(kind.as_str()), Ok(kind));
    }
    let error = ExchangeKind::parse("x-delayed-message").unwrap_err();
    assert_eq!(
        error,
        ExchangeError::UnknownKind("x-delayed-message".into())
    );
    assert_eq!(error.reply_code(), 503);
    assert!(ExchangeKind::parse("Direct").is_err());
}

#[test]
fn direct_routes_by_equal_key() {
    let mut x = exchange(ExchangeKind::Direct);
    assert_eq!(x.bind(Binding::new(q("a"), "red")), Ok(true));
    assert_eq!(
        x.bind(Binding::new(q("a"), "red")),
        Ok(false),
        "same binding"
    );
    x.bind(Binding::new(q("b"), "red")).unwrap();
    x.bind(Binding::new(q("c"), "green")).unwrap();
    x.bind(Binding::new(q("d"), "")).unwrap();
    assert_eq!(x.binding_count(), 4);
    assert_eq!(routed(&x, "red"), [q("a"), q("b")]);
    assert_eq!(routed(&x, "green"), [q("c")]);
    assert_eq!(routed(&x, ""), [q("d")]);
    assert_eq!(routed(&x, "red.x"), []);
    assert_eq!(routed(&x, "*"), []);
    assert!(x.unbind(&Binding::new(q("a"), "red")));
    assert!(!x.unbind(&Binding::new(q("a"), "red")));
    assert_eq!(routed(&x, "red"), [q("b")]);
}

#[test]
fn bindings_differing_in_arguments_are_distinct() {
    let mut x = exchange(ExchangeKind::Direct);
    let plain = Binding::new(q("a"), "k");
    let with = plain
        .clone()
        .with_arguments(FieldTable::from([("n", 1.into())]));
    assert_eq!(x.bind(plain.clone()), Ok(true));
    assert_eq!(x.bind(with.clone()), Ok(true));
    // Routed once, though bound twice.
    assert_eq!(routed(&x, "k"), [q("a")]);
    let mut visits = 0;
    x.for_each_match("k", None, |_| visits += 1);
    assert_eq!(visits, 2);
    assert!(x.unbind(&plain));
    assert_eq!(routed(&x, "k"), [q("a")], "the other binding still routes");
    assert!(x.unbind(&with));
    assert_eq!(routed(&x, "k"), []);
}

#[test]
fn fanout_routes_everything() {
    let mut x = exchange(ExchangeKind::Fanout);
    x.bind(Binding::new(q("a"), "ignored")).unwrap();
    x.bind(Binding::new(q("b"), "")).unwrap();
    x.bind(Binding::new(Destination::exchange("y"), ""))
        .unwrap();
    assert_eq!(
        routed(&x, "any.key"),
        [q("a"), q("b"), Destination::exchange("y")]
    );
    assert!(x.unbind(&Binding::new(q("a"), "ignored")));
    assert!(!x.unbind(&Binding::new(q("b"), "other")), "key is identity");
    assert_eq!(routed(&x, ""), [q("b"), Destination::exchange("y")]);
}

#[test]
fn topic_routes_by_pattern() {
    let mut x = exchange(ExchangeKind::Topic);
    for (queue, key) in [
        ("q1", "*.orange.*"),
        ("q2", "*.*.rabbit"),
        ("q2", "lazy.#"),
        ("all", "#"),
        ("empty", ""),
        ("mid", "a.#.b"),
    ] {
        x.bind(Binding::new(q(queue), key)).unwrap();
    }
    assert_eq!(
        routed(&x, "quick.orange.rabbit"),
        [q("all"), q("q1"), q("q2")]
    );
    assert_eq!(
        routed(&x, "lazy.orange.elephant"),
        [q("all"), q("q1"), q("q2")]
    );
    assert_eq!(routed(&x, "quick.orange.fox"), [q("all"), q("q1")]);
    assert_eq!(routed(&x, "lazy"), [q("all"), q("q2")]);
    assert_eq!(routed(&x, "quick.orange.male.rabbit"), [q("all")]);
    assert_eq!(routed(&x, ""), [q("all"), q("empty")]);
    assert_eq!(routed(&x, "a.b"), [q("all"), q("mid")]);
    assert_eq!(routed(&x, "a.x.y.b"), [q("all"), q("mid")]);
    assert_eq!(routed(&x, "$SYS.x"), [q("all")], "no $ rule in AMQP");
    assert!(x.unbind(&Binding::new(q("all"), "#")));
    assert_eq!(routed(&x, "quick.orange.male.rabbit"), []);
    assert!(x.unbind(&Binding::new(q("q2"), "lazy.#")));
    assert_eq!(routed(&x, "lazy"), []);
    assert_eq!(routed(&x, "lazy.pink.rabbit"), [q("q2")]);
}

#[test]
fn headers_route_by_arguments() {
    let mut x = exchange(ExchangeKind::Headers);
    let pdf = FieldTable::from([("x-match", "all".into()), ("format", "pdf".into())]);
    let any = FieldTable::from([
        ("x-match", "any".into()),
        ("format", "zip".into()),
        ("type", "log".into()),
    ]);
    x.bind(Binding::new(q("pdf"), "").with_arguments(pdf.clone()))
        .unwrap();
    x.bind(Binding::new(q("any"), "").with_arguments(any))
        .unwrap();
    let bad = FieldTable::from([("x-match", "most".into())]);
    assert_eq!(
        x.bind(Binding::new(q("bad"), "").with_arguments(bad)),
        Err(ExchangeError::InvalidXMatch)
    );
    assert_eq!(x.binding_count(), 2);
    let headers =
        |entries: &[(&str, FieldValue)]| -> FieldTable { entries.iter().cloned().collect() };
    let h = headers(&[("format", "pdf".into()), ("type", "log".into())]);
    assert_eq!(x.route("ignored", Some(&h)), [q("any"), q("pdf")]);
    let h = headers(&[("format", "zip".into())]);
    assert_eq!(x.route("", Some(&h)), [q("any")]);
    assert_eq!(x.route("", None), []);
    assert!(x.unbind(&Binding::new(q("pdf"), "").with_arguments(pdf)));
    let h = headers(&[("format", "pdf".into())]);
    assert_eq!(x.route("", Some(&h)), []);
}

#[test]
fn x_match_is_only_checked_by_headers_exchanges() {
    let bad = FieldTable::from([("x-match", 1.into())]);
    let mut direct = exchange(ExchangeKind::Direct);
    assert_eq!(
        direct.bind(Binding::new(q("a"), "k").with_arguments(bad)),
        Ok(true)
    );
}

#[test]
fn equivalence() {
    let declare = ExchangeDeclare {
        durable: true,
        arguments: FieldTable::from([("alternate-exchange", "ae".into())]),
        ..ExchangeDeclare::new("x", ExchangeKind::Topic)
    };
    let x = Exchange::new(declare.clone()).unwrap();
    assert_eq!(x.alternate_exchange().map(ExchangeName::as_str), Some("ae"));
    assert_eq!(x.check_equivalent(&declare), Ok(()));
    let inequivalent = |change: fn(&mut ExchangeDeclare), argument| {
        let mut other = declare.clone();
        change(&mut other);
        let error = x.check_equivalent(&other).unwrap_err();
        assert_eq!(
            error,
            ExchangeError::Inequivalent {
                exchange: "x".into(),
                argument
            }
        );
        assert_eq!(error.reply_code(), 406);
    };
    inequivalent(|d| d.kind = ExchangeKind::Direct, "type");
    inequivalent(|d| d.durable = false, "durable");
    inequivalent(|d| d.auto_delete = true, "auto_delete");
    inequivalent(|d| d.internal = true, "internal");
    inequivalent(|d| d.arguments = FieldTable::new(), "alternate-exchange");
    // Other arguments are not compared, as in RabbitMQ.
    let mut other = declare.clone();
    other.arguments.insert("x-custom", 5.into());
    assert_eq!(x.check_equivalent(&other), Ok(()));
}

#[test]
fn alternate_exchange_must_be_a_string() {
    let declare = ExchangeDeclare {
        arguments: FieldTable::from([("alternate-exchange", 1.into())]),
        ..ExchangeDeclare::new("x", ExchangeKind::Direct)
    };
    let error = Exchange::new(declare).unwrap_err();
    assert_eq!(error.reply_code(), 406);
}

#[test]
fn names() {
    let name = QueueName::from("q");
    assert_eq!(name, "q");
    assert_eq!(name.as_str(), "q");
    assert_eq!(name.to_string(), "q");
    assert_eq!(name.as_byte_string(), "q");
    let mut set = HashSet::new();
    set.insert(ExchangeName::from("x"));
    assert!(set.contains("x"), "borrows as str");
}
