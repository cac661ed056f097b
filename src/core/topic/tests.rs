//! Matching as the standards and RabbitMQ define it, and a property test of the trie
//! against a naive matcher.

use proptest::prelude::*;

use super::*;

/// The values visited for a topic, sorted, duplicates kept.
fn visits<T: Clone + Ord>(trie: &TopicTrie<T>, levels: Levels<'_>, dollar_rule: bool) -> Vec<T> {
    let mut seen = Vec::new();
    trie.for_each_match(levels, dollar_rule, |v| seen.push(v.clone()));
    seen.sort();
    seen
}

/// The reference: tries every way `#` can split the levels (exponential, fine when small).
fn naive(pattern: &[Level], topic: &[&str]) -> bool {
    match pattern.split_first() {
        None => topic.is_empty(),
        Some((Level::Many, rest)) => (0..=topic.len()).any(|skip| naive(rest, &topic[skip..])),
        Some((Level::One, rest)) => !topic.is_empty() && naive(rest, &topic[1..]),
        Some((Level::Literal(word), rest)) => {
            topic.first() == Some(&&**word) && naive(rest, &topic[1..])
        }
    }
}

fn naive_with_dollar_rule(pattern: &Pattern, topic: &[&str], dollar_rule: bool) -> bool {
    let hidden = dollar_rule
        && topic.first().is_some_and(|first| first.starts_with('$'))
        && matches!(pattern.levels().first(), Some(Level::One | Level::Many));
    !hidden && naive(pattern.levels(), topic)
}

/// The examples of MQTT 3.1.1 and MQTT 5.0, section 4.7 (topic names and filters).
#[test]
fn mqtt_standard_examples() {
    for (filter, topic, expected) in [
        ("sport/tennis/player1/#", "sport/tennis/player1", true),
        (
            "sport/tennis/player1/#",
            "sport/tennis/player1/ranking",
            true,
        ),
        (
            "sport/tennis/player1/#",
            "sport/tennis/player1/score/wimbledon",
            true,
        ),
        ("sport/#", "sport", true),
        ("#", "sport/tennis/player1", true),
        ("sport/tennis/#", "sport/tennis", true),
        ("sport/tennis/+", "sport/tennis/player1", true),
        ("sport/tennis/+", "sport/tennis/player2", true),
        ("sport/tennis/+", "sport/tennis/player1/ranking", false),
        ("sport/+", "sport", false),
        ("sport/+", "sport/", true),
        ("+/tennis/#", "sport/tennis/player1/ranking", true),
        ("sport/+/player1", "sport/tennis/player1", true),
        ("+/+", "/finance", true),
        ("/+", "/finance", true),
        ("+", "/finance", false),
        ("+", "finance", true),
        ("/finance", "finance", false),
        ("ACCOUNTS", "Accounts", false),
        ("Accounts payable", "Accounts payable", true),
        ("a//b", "a//b", true),
        ("a/+/b", "a//b", true),
        ("#", "/", true),
        // [MQTT-4.7.2-1]: wildcards at the first level do not match `$` topics.
        ("#", "$SYS/monitor/Clients", false),
        ("+/monitor/Clients", "$SYS/monitor/Clients", false),
        ("$SYS/#", "$SYS/monitor/Clients", true),
        ("$SYS/monitor/+", "$SYS/monitor/Clients", true),
        ("$SYS/#", "$SYS", true),
        ("+", "$SYS", false),
        ("+/#", "$SYS/x", false),
        ("#", "a/$SYS", true),
        ("a/+", "a/$SYS", true),
    ] {
        let mut trie = TopicTrie::new();
        trie.insert(&Pattern::mqtt(filter).unwrap(), ());
        let seen = visits(&trie, mqtt_levels(topic), true).len();
        assert_eq!(seen, usize::from(expected), "{filter:?} vs {topic:?}");
    }
    // Without the rule (an AMQP publish), `$` is an ordinary character.
    let mut trie = TopicTrie::new();
    trie.insert(&Pattern::mqtt("#").unwrap(), 1);
    trie.insert(&Pattern::mqtt("+/x").unwrap(), 2);
    assert_eq!(visits(&trie, mqtt_levels("$a/x"), false), [1, 2]);
    assert_eq!(visits(&trie, mqtt_levels("$a/x"), true), Vec::<i32>::new());
}

/// RabbitMQ tutorial 5 ("Topics"): Q1 binds `*.orange.*`, Q2 binds `*.*.rabbit` and
/// `lazy.#`.
#[test]
fn amqp_tutorial_five() {
    let mut trie = TopicTrie::new();
    trie.insert(&Pattern::amqp("*.orange.*"), "Q1");
    trie.insert(&Pattern::amqp("*.*.rabbit"), "Q2");
    trie.insert(&Pattern::amqp("lazy.#"), "Q2");
    for (key, expected) in [
        ("quick.orange.rabbit", &["Q1", "Q2"][..]),
        ("lazy.orange.elephant", &["Q1", "Q2"]),
        ("quick.orange.fox", &["Q1"]),
        ("lazy.brown.fox", &["Q2"]),
        // Two bindings match: visited once for each, the exchange delivers once.
        ("lazy.pink.rabbit", &["Q2", "Q2"]),
        ("quick.brown.fox", &[]),
        ("orange", &[]),
        ("quick.orange.new.rabbit", &[]),
        ("lazy.orange.new.rabbit", &["Q2"]),
    ] {
        assert_eq!(visits(&trie, amqp_levels(key), false), expected, "{key:?}");
    }
}

/// RabbitMQ's own topic-exchange test: `topic_matching1` in
/// `rabbitmq/rabbitmq-server: deps/rabbit/test/unit_access_control_SUITE.erl`. Its
/// expected lists are sets; here every queue has one binding, so the visits must be
/// exactly those lists, with no duplicate.
#[test]
fn rabbitmq_topic_matching_suite() {
    const BINDINGS: [(&str, u8); 26] = [
        ("a.b.c", 1),
        ("a.*.c", 2),
        ("a.#.b", 3),
        ("a.b.b.c", 4),
        ("#", 5),
        ("#.#", 6),
        ("#.b", 7),
        ("*.*", 8),
        ("a.*", 9),
        ("*.b.c", 10),
        ("a.#", 11),
        ("a.#.#", 12),
        ("b.b.c", 13),
        ("a.b.b", 14),
        ("a.b", 15),
        ("b.c", 16),
        ("", 17),
        ("*.*.*", 18),
        ("vodka.martini", 19),
        ("a.b.c", 20),
        ("*.#", 21),
        ("#.*.#", 22),
        ("*.#.#", 23),
        ("#.#.#", 24),
        ("*", 25),
        ("#.b.#", 26),
    ];
    let mut trie = TopicTrie::new();
    for (key, queue) in BINDINGS {
        trie.insert(&Pattern::amqp(key), queue);
    }
    let check = |trie: &TopicTrie<u8>, cases: &[(&str, &[u8])]| {
        for &(key, expected) in cases {
            assert_eq!(visits(trie, amqp_levels(key), false), expected, "{key:?}");
        }
    };
    check(
        &trie,
        &[
            (
                "a.b.c",
                &[1, 2, 5, 6, 10, 11, 12, 18, 20, 21, 22, 23, 24, 26],
            ),
            ("a.b", &[3, 5, 6, 7, 8, 9, 11, 12, 15, 21, 22, 23, 24, 26]),
            ("a.b.b", &[3, 5, 6, 7, 11, 12, 14, 18, 21, 22, 23, 24, 26]),
            ("", &[5, 6, 17, 24]),
            ("b.c.c", &[5, 6, 18, 21, 22, 23, 24, 26]),
            ("a.a.a.a.a", &[5, 6, 11, 12, 21, 22, 23, 24]),
            ("vodka.gin", &[5, 6, 8, 21, 22, 23, 24]),
            ("vodka.martini", &[5, 6, 8, 19, 21, 22, 23, 24]),
            ("b.b.c", &[5, 6, 10, 13, 18, 21, 22, 23, 24, 26]),
            ("nothing.here.at.all", &[5, 6, 21, 22, 23, 24]),
            ("oneword", &[5, 6, 21, 22, 23, 24, 25]),
        ],
    );
    // The suite then removes bindings 1, 5, 11, 19 and 21.
    for (key, queue) in [
        ("a.b.c", 1),
        ("#", 5),
        ("a.#", 11),
        ("vodka.martini", 19),
        ("*.#", 21),
    ] {
        assert!(trie.remove(&Pattern::amqp(key), &queue));
    }
    check(
        &trie,
        &[
            ("a.b.c", &[2, 6, 10, 12, 18, 20, 22, 23, 24, 26]),
            ("a.b", &[3, 6, 7, 8, 9, 12, 15, 22, 23, 24, 26]),
            ("a.b.b", &[3, 6, 7, 12, 14, 18, 22, 23, 24, 26]),
            ("", &[6, 17, 24]),
            ("b.c.c", &[6, 18, 22, 23, 24, 26]),
            ("a.a.a.a.a", &[6, 12, 22, 23, 24]),
            ("vodka.gin", &[6, 8, 22, 23, 24]),
            ("vodka.martini", &[6, 8, 22, 23, 24]),
            ("b.b.c", &[6, 10, 13, 18, 22, 23, 24, 26]),
            ("nothing.here.at.all", &[6, 22, 23, 24]),
            ("oneword", &[6, 22, 23, 24, 25]),
        ],
    );
}

#[test]
fn amqp_edge_cases() {
    for (binding, key, expected) in [
        ("#", "", true),
        ("#.#", "a.b", true),
        ("a.#.b", "a.b", true),
        ("a.#.b", "a.x.y.b", true),
        ("a.#.b", "a.x.y.c", false),
        ("*", "", false),
        ("", "", true),
        ("", "a", false),
        ("*", ".", false),
        ("*.*", ".", true),
        ("#.x.#", "x", true),
        ("#.x.#", "a.x.b", true),
        ("#.x.#", "a.b", false),
        ("a.#", "a", true),
        ("#.a", "a", true),
        ("*.#", "", false),
        ("#.*", "a", true),
        // Cases the property test shrank to when the matcher was broken on purpose.
        ("#.a.#", "a.a", true),
        ("#.b.#", "b.b", true),
        ("#.*.#.b", "a.b", true),
        // `*` and `#` are wildcards only as whole words.
        ("a#", "a#", true),
        ("a#", "ab", false),
        ("*a", "ba", false),
        ("*a", "*a", true),
        // No `$` rule in AMQP.
        ("#", "$SYS.x", true),
    ] {
        let mut trie = TopicTrie::new();
        trie.insert(&Pattern::amqp(binding), ());
        let seen = visits(&trie, amqp_levels(key), false).len();
        assert_eq!(seen, usize::from(expected), "{binding:?} vs {key:?}");
    }
}

/// However `#` could split the levels, one stored pair is visited once.
#[test]
fn no_duplicate_visits() {
    let mut bindings: Vec<String> = [
        "#",
        "#.#",
        "#.#.#",
        "a.#.#.b",
        "#.*.#",
        "*.#.#",
        "#.a.#",
        "#.a.#.a.#",
        "a.#.a.#.a",
        "#.#.a.#.#",
        "#.*.*.#",
    ]
    .map(String::from)
    .to_vec();
    // Enough `#` under a `#` to spill the matcher's inline set of entered nodes.
    bindings.extend((0..20).map(|i| format!("#.k{i}.#")));
    let mut trie = TopicTrie::new();
    for (i, binding) in bindings.iter().enumerate() {
        trie.insert(&Pattern::amqp(binding), i);
    }
    let all_k = (0..20)
        .map(|i| format!("k{i}"))
        .collect::<Vec<_>>()
        .join(".");
    for key in [
        "",
        "a",
        "a.b",
        "a.a.a",
        "a.x.a.b",
        "a.a.a.a.a.a.b",
        "b.a.b.a.b",
        all_k.as_str(),
    ] {
        let topic: Vec<&str> = amqp_levels(key).collect();
        let expected: Vec<usize> = (0..bindings.len())
            .filter(|&i| naive(Pattern::amqp(&bindings[i]).levels(), &topic))
            .collect();
        assert_eq!(visits(&trie, amqp_levels(key), false), expected, "{key:?}");
    }
}

/// Patterns with many `#` against long keys finish fast (a naive matcher would not).
#[test]
fn many_hashes_are_not_exponential() {
    let mut trie = TopicTrie::new();
    trie.insert(&Pattern::amqp("#.#.#.#.#.x"), 1);
    trie.insert(&Pattern::amqp("#.a.#.a.#.a.#.a.#.b"), 2);
    // 40 nested `#`: spills the match stack and the set of entered nodes.
    trie.insert(&Pattern::amqp(&["#.a"; 40].join(".")), 3);
    let a = |n: usize| vec!["a"; n].join(".");
    assert_eq!(visits(&trie, amqp_levels(&a(10_000)), false), [3]);
    assert_eq!(
        visits(&trie, amqp_levels(&format!("{}.x", a(10_000))), false),
        [1]
    );
    assert_eq!(
        visits(&trie, amqp_levels(&format!("{}.b", a(400))), false),
        [2]
    );
    assert_eq!(visits(&trie, amqp_levels(&a(39)), false), Vec::<i32>::new());
    assert_eq!(visits(&trie, amqp_levels(&a(40)), false), [3]);
}

#[test]
fn slices_and_clones_match_alike() {
    let mut trie = TopicTrie::new();
    trie.insert(&Pattern::mqtt("a/+").unwrap(), 1);
    trie.insert(&Pattern::amqp("a.#"), 2);
    let mut seen = Vec::new();
    trie.for_each_match(&["a", "b"][..], true, |v| seen.push(*v));
    trie.for_each_match(["a", "b"], true, |v| seen.push(*v));
    trie.for_each_match(&[String::from("a")], true, |v| seen.push(*v));
    trie.for_each_match("a/b".split('/'), true, |v| seen.push(*v));
    seen.sort();
    assert_eq!(seen, [1, 1, 1, 2, 2, 2, 2]);
    assert_eq!(visits(&trie.clone(), mqtt_levels("a/b"), true), [1, 2]);
}

/// One generated case: patterns, operations on a trie, topics to match.
#[derive(Debug)]
struct Case {
    patterns: Vec<Pattern>,
    /// (insert or remove, index into `patterns`, value)
    ops: Vec<(bool, usize, u8)>,
    topics: Vec<String>,
    dollar_rule: bool,
}

fn case(
    pattern: BoxedStrategy<Pattern>,
    topic: BoxedStrategy<String>,
) -> impl Strategy<Value = Case> {
    (
        prop::collection::vec(pattern, 1..8),
        prop::collection::vec((prop::bool::weighted(0.7), 0..8usize, 0..3u8), 0..40),
        prop::collection::vec(topic, 1..8),
        any::<bool>(),
    )
        .prop_map(|(patterns, ops, topics, dollar_rule)| Case {
            ops: ops
                .into_iter()
                .map(|(i, p, v)| (i, p % patterns.len(), v))
                .collect(),
            patterns,
            topics,
            dollar_rule,
        })
}

fn words(
    alphabet: &'static [&'static str],
    len: std::ops::Range<usize>,
    sep: &'static str,
) -> BoxedStrategy<String> {
    prop::collection::vec(prop::sample::select(alphabet), len)
        .prop_map(move |w| w.join(sep))
        .boxed()
}

fn mqtt_case() -> impl Strategy<Value = Case> {
    let filter = (words(&["a", "b", "", "$s", "+"], 1..5, "/"), any::<bool>())
        .prop_filter_map("not a filter", |(f, hash)| {
            Pattern::mqtt(&if hash { format!("{f}/#") } else { f }).ok()
        })
        .boxed();
    case(filter, words(&["a", "b", "", "$s"], 1..6, "/"))
}

fn amqp_case() -> impl Strategy<Value = Case> {
    let key = words(&["a", "b", "", "$s", "*", "#", "#", "a#"], 0..8, ".");
    case(
        key.prop_map(|k| Pattern::amqp(&k)).boxed(),
        words(&["a", "b", "", "$s"], 0..9, "."),
    )
}

/// Runs `case` on a trie and on a list of pairs with the naive matcher; they must agree.
fn check(case: &Case, split: fn(&str) -> Levels<'_>) -> Result<(), TestCaseError> {
    let mut trie = TopicTrie::new();
    let mut model: Vec<(Pattern, u8)> = Vec::new();
    for &(insert, p, value) in &case.ops {
        let pattern = &case.patterns[p];
        if insert {
            trie.insert(pattern, value);
            model.push((pattern.clone(), value));
        } else {
            let at = model.iter().position(|(q, v)| q == pattern && *v == value);
            prop_assert_eq!(trie.remove(pattern, &value), at.is_some());
            if let Some(at) = at {
                model.swap_remove(at);
            }
        }
        prop_assert_eq!(trie.len(), model.len());
    }
    let mut listed: Vec<(Pattern, u8)> = trie.iter().map(|(p, v)| (p, *v)).collect();
    listed.sort();
    let mut stored = model.clone();
    stored.sort();
    prop_assert_eq!(listed, stored);
    let clone = trie.clone();
    trie.shrink_to_fit();
    for topic in &case.topics {
        let levels: Vec<&str> = split(topic).collect();
        let mut expected: Vec<u8> = model
            .iter()
            .filter(|(p, _)| naive_with_dollar_rule(p, &levels, case.dollar_rule))
            .map(|(_, v)| *v)
            .collect();
        expected.sort();
        prop_assert_eq!(
            &visits(&trie, split(topic), case.dollar_rule),
            &expected,
            "{}",
            topic
        );
        prop_assert_eq!(&visits(&clone, split(topic), case.dollar_rule), &expected);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn mqtt_trie_agrees_with_naive_matcher(case in mqtt_case()) {
        check(&case, mqtt_levels)?;
    }

    #[test]
    fn amqp_trie_agrees_with_naive_matcher(case in amqp_case()) {
        check(&case, amqp_levels)?;
    }
}
