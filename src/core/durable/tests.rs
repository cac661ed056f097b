//! Round trips of every record kind, replay, and refusal of damaged records.

use bytes::{Bytes, BytesMut};
use switchyard_mqtt::{PayloadFormat, QoS};

use super::*;

fn round_trip(record: &Record) -> Record {
    let mut buf = BytesMut::new();
    record.encode(&mut buf);
    Record::decode(buf.freeze()).expect("decodes")
}

fn message() -> Message {
    let mut m = Message::new(
        "a/b".into(),
        Bytes::from_static(b"body"),
        QoS::AtLeastOnce,
        true,
    );
    m.exchange = "orders".into();
    m.properties.payload_format = Some(PayloadFormat::Utf8);
    m.properties.message_expiry_interval = Some(30);
    m.properties.content_type = Some("text/plain".into());
    m.properties.response_topic = Some("replies/1".into());
    m.properties.correlation_data = Some(Bytes::from_static(b"c1"));
    m.properties.user_properties = vec![("k".into(), "v".into())];
    let mut headers = FieldTable::default();
    headers.insert("n", FieldValue::Int(-7));
    headers.insert(
        "nested",
        FieldValue::Array(vec![FieldValue::Table(FieldTable::from([(
            "f",
            FieldValue::Float(1.5),
        )]))]),
    );
    headers.insert(
        "d",
        FieldValue::Decimal {
            scale: 2,
            value: 314,
        },
    );
    headers.insert("void", FieldValue::Void);
    m.headers = Some(Arc::new(headers));
    m.expiration_ms = Some(29_500);
    m
}

#[test]
fn a_message_keeps_every_field() {
    let original = message();
    let Record::Enqueued { queue, message } = round_trip(&Record::Enqueued {
        queue: "q".into(),
        message: Arc::new(original.clone()),
    }) else {
        panic!("kind changed");
    };
    assert_eq!(queue, "q");
    assert_eq!(message.topic, original.topic);
    assert_eq!(message.payload, original.payload);
    assert_eq!((message.qos, message.retain), (QoS::AtLeastOnce, true));
    assert_eq!(message.exchange, "orders");
    assert_eq!(message.properties, original.properties);
    assert_eq!(message.headers, original.headers);
    assert_eq!(message.expiration_ms, Some(29_500));
    let drift = message
        .received_at
        .max(original.received_at)
        .duration_since(message.received_at.min(original.received_at));
    assert!(
        drift < Duration::from_millis(50),
        "received_at kept: {drift:?}"
    );
}

#[test]
fn definitions_round_trip() {
    let mut args = FieldTable::default();
    args.insert("x-max-length", FieldValue::Int(10));
    args.insert("x-overflow", FieldValue::str("reject-publish"));
    args.insert("x-message-ttl", FieldValue::Int(1500));
    args.insert("x-dead-letter-exchange", FieldValue::str("dlx"));
    args.insert("x-dead-letter-routing-key", FieldValue::str("dead"));
    let config = QueueConfig::new(true, false, true, &args).unwrap();
    match round_trip(&Record::QueueDeclared {
        name: "q".into(),
        config: config.clone(),
    }) {
        Record::QueueDeclared { name, config: back } => {
            assert_eq!(name, "q");
            assert_eq!(back, config);
        }
        other => panic!("{other:?}"),
    }
    let declare = ExchangeDeclare {
        durable: true,
        internal: true,
        arguments: FieldTable::from([("alternate-exchange", FieldValue::str("ae"))]),
        ..ExchangeDeclare::new("x", ExchangeKind::Headers)
    };
    match round_trip(&Record::ExchangeDeclared(declare.clone())) {
        Record::ExchangeDeclared(back) => assert_eq!(back, declare),
        other => panic!("{other:?}"),
    }
    let binding = Binding::new(Destination::exchange("y"), "k.#")
        .with_arguments(FieldTable::from([("x-match", FieldValue::str("any"))]));
    match round_trip(&Record::Unbound {
        exchange: "x".into(),
        binding: binding.clone(),
    }) {
        Record::Unbound {
            exchange,
            binding: back,
        } => {
            assert_eq!(exchange, "x");
            assert_eq!(back, binding);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn every_truncation_and_a_trailing_byte_are_refused() {
    let mut buf = BytesMut::new();
    Record::Enqueued {
        queue: "q".into(),
        message: Arc::new(message()),
    }
    .encode(&mut buf);
    let full = buf.freeze();
    for cut in 0..full.len() {
        assert!(Record::decode(full.slice(..cut)).is_err(), "cut at {cut}");
    }
    let mut longer = BytesMut::from(&full[..]);
    longer.extend_from_slice(&[0]);
    assert_eq!(
        Record::decode(longer.freeze()).unwrap_err(),
        DecodeError::TrailingBytes
    );
    assert_eq!(
        Record::decode(Bytes::from_static(&[200])).unwrap_err(),
        DecodeError::UnknownTag(200)
    );
}

#[test]
fn a_lying_array_count_is_refused_without_allocating_for_it() {
    // kind Enqueued is too long to hand-build; a Bound record with a table whose array
    // claims 4 billion items.
    let mut buf = BytesMut::new();
    let mut w = Writer(&mut buf);
    w.u8(BOUND);
    w.str("x");
    w.u8(0);
    w.str("q");
    w.str("k");
    w.u32(1);
    w.str("a");
    w.u8(8);
    w.u32(u32::MAX);
    assert_eq!(
        Record::decode(buf.freeze()).unwrap_err(),
        DecodeError::Truncated
    );
}

#[test]
fn replay_leaves_what_was_not_removed_in_publish_order() {
    let config = QueueConfig::new(true, false, false, &FieldTable::default()).unwrap();
    let mut replay = Replay::default();
    let m = Arc::new(message());
    let records = [
        Record::QueueDeclared {
            name: "q".into(),
            config: config.clone(),
        },
        Record::Enqueued {
            queue: "q".into(),
            message: m.clone(),
        },
        Record::Enqueued {
            queue: "q".into(),
            message: m.clone(),
        },
        Record::Enqueued {
            queue: "q".into(),
            message: m.clone(),
        },
        Record::Removed {
            queue: "q".into(),
            id: 2,
        },
        Record::Bound {
            exchange: "amq.direct".into(),
            binding: Binding::new(Destination::queue("q"), "k"),
        },
        Record::QueueDeclared {
            name: "gone".into(),
            config,
        },
        Record::Enqueued {
            queue: "gone".into(),
            message: m,
        },
        Record::QueueDeleted {
            name: "gone".into(),
        },
        Record::Removed {
            queue: "gone".into(),
            id: 8,
        },
    ];
    for (lsn, record) in records.into_iter().enumerate() {
        replay.apply(lsn as u64, record);
    }
    let q = &replay.queues["q"];
    assert_eq!(q.messages.keys().copied().collect::<Vec<_>>(), [1, 3]);
    assert!(!replay.queues.contains_key("gone"));
    assert_eq!(replay.bindings.len(), 1);
    assert_eq!(replay.orphans, 1);
    assert_eq!(replay.oldest_message(), Some(1));
}

#[test]
fn retained_messages_replay_to_the_last_one_per_topic_and_clear_on_empty() {
    let mut replay = Replay::default();
    let retained = |topic: &str, body: &'static [u8]| {
        let m = Message::new(
            topic.into(),
            Bytes::from_static(body),
            QoS::AtLeastOnce,
            true,
        );
        round_trip(&Record::Retained(Arc::new(m)))
    };
    replay.apply(0, retained("a/b", b"1"));
    replay.apply(1, retained("a/b", b"2"));
    replay.apply(2, retained("c", b"x"));
    replay.apply(3, retained("c", b""));
    assert_eq!(replay.retained.len(), 1);
    assert_eq!(&replay.retained["a/b"].payload[..], b"2");
}

#[test]
fn a_message_before_its_queue_s_carried_declaration_is_kept() {
    // Compaction released the segment with the original declaration; the message's
    // record comes first, the carried declaration later.
    let config = QueueConfig::new(true, false, false, &FieldTable::default()).unwrap();
    let m = Arc::new(message());
    let mut replay = Replay::default();
    replay.apply(
        10,
        Record::Enqueued {
            queue: "q".into(),
            message: m.clone(),
        },
    );
    replay.apply(
        11,
        Record::Enqueued {
            queue: "q".into(),
            message: m.clone(),
        },
    );
    replay.apply(
        12,
        Record::Removed {
            queue: "q".into(),
            id: 10,
        },
    );
    replay.apply(
        13,
        Record::Enqueued {
            queue: "never-declared".into(),
            message: m,
        },
    );
    replay.apply(
        14,
        Record::QueueDeclared {
            name: "q".into(),
            config,
        },
    );
    replay.finish();
    let kept: Vec<u64> = replay.queues["q"].messages.keys().copied().collect();
    assert_eq!(kept, [11]);
    assert_eq!(replay.orphans, 1, "the undeclared queue's message");
}

fn snapshot(epoch: u64, expiry: u32) -> SessionSnapshot {
    use switchyard_mqtt::{RetainHandling, SubscriptionOptions};
    let mut options = SubscriptionOptions::new(QoS::ExactlyOnce);
    options.no_local = true;
    options.retain_as_published = true;
    options.retain_handling = RetainHandling::DoNotSend;
    SessionSnapshot {
        client_id: "dev-1".into(),
        epoch,
        protocol: switchyard_mqtt::Protocol::V5,
        expiry,
        subscriptions: vec![
            (
                "a/+".into(),
                crate::core::session::SubscriptionEntry {
                    options,
                    identifier: std::num::NonZeroU32::new(7),
                },
            ),
            (
                "$share/g/b/#".into(),
                crate::core::session::SubscriptionEntry {
                    options: SubscriptionOptions::new(QoS::AtLeastOnce),
                    identifier: None,
                },
            ),
        ],
        incoming: vec![1, 65_535],
    }
}

fn queued(qos: QoS) -> Record {
    Record::SessionQueued(Box::new(SessionMessage {
        client_id: "dev-1".into(),
        qos,
        retain: true,
        subscription_ids: vec![std::num::NonZeroU32::new(7).unwrap()],
        message: Arc::new(message()),
    }))
}

#[test]
fn session_records_round_trip() {
    let saved = snapshot(42, u32::MAX);
    match round_trip(&Record::SessionSaved(Box::new(saved.clone()))) {
        Record::SessionSaved(back) => assert_eq!(*back, saved),
        other => panic!("{other:?}"),
    }
    match round_trip(&queued(QoS::ExactlyOnce)) {
        Record::SessionQueued(back) => {
            assert_eq!(back.client_id, "dev-1");
            assert_eq!((back.qos, back.retain), (QoS::ExactlyOnce, true));
            assert_eq!(back.subscription_ids.len(), 1);
            assert_eq!(back.message.payload, message().payload);
        }
        other => panic!("{other:?}"),
    }
    let packet_id = switchyard_mqtt::PacketId::new(65_535).unwrap();
    match round_trip(&Record::SessionPacket {
        client_id: "dev-1".into(),
        id: 9,
        packet_id,
        released: true,
    }) {
        Record::SessionPacket {
            id,
            packet_id: p,
            released,
            ..
        } => assert_eq!((id, p, released), (9, packet_id, true)),
        other => panic!("{other:?}"),
    }
    for record in [
        Record::SessionEnded {
            client_id: "dev-1".into(),
        },
        Record::SessionDone {
            client_id: "dev-1".into(),
            id: 3,
        },
    ] {
        let mut buf = BytesMut::new();
        record.encode(&mut buf);
        let full = buf.freeze();
        assert!(Record::decode(full.clone()).is_ok());
        for cut in 0..full.len() {
            assert!(Record::decode(full.slice(..cut)).is_err(), "cut at {cut}");
        }
    }
    let mut buf = BytesMut::new();
    Record::SessionSaved(Box::new(saved)).encode(&mut buf);
    let full = buf.freeze();
    for cut in 0..full.len() {
        assert!(Record::decode(full.slice(..cut)).is_err(), "cut at {cut}");
    }
}

#[test]
fn session_replay_keeps_the_undone_messages_of_the_current_epoch() {
    let packet_id = switchyard_mqtt::PacketId::new(5).unwrap();
    let mut replay = Replay::default();
    let records = [
        Record::SessionSaved(Box::new(snapshot(1, 60))),
        queued(QoS::AtLeastOnce), // 1: done below
        queued(QoS::ExactlyOnce), // 2: released
        queued(QoS::AtLeastOnce), // 3: kept
        Record::SessionDone {
            client_id: "dev-1".into(),
            id: 1,
        },
        Record::SessionPacket {
            client_id: "dev-1".into(),
            id: 2,
            packet_id,
            released: false,
        },
        Record::SessionPacket {
            client_id: "dev-1".into(),
            id: 2,
            packet_id,
            released: true,
        },
        // The same epoch again (a subscription changed): messages stay.
        Record::SessionSaved(Box::new(snapshot(1, 120))),
        Record::SessionIncoming {
            client_id: "dev-1".into(),
            packet_id: switchyard_mqtt::PacketId::new(9).unwrap(),
            taken: true,
        },
        Record::SessionIncoming {
            client_id: "dev-1".into(),
            packet_id: switchyard_mqtt::PacketId::new(1).unwrap(),
            taken: false,
        },
    ];
    for (lsn, record) in records.into_iter().enumerate() {
        replay.apply(lsn as u64, record);
    }
    replay.finish();
    let session = &replay.sessions["dev-1"];
    assert_eq!(session.snapshot.as_ref().unwrap().expiry, 120);
    let ids: Vec<u64> = session.messages.keys().copied().collect();
    assert_eq!(ids, [2, 3]);
    assert_eq!(session.messages[&2].1, Some((packet_id, true)));
    assert_eq!(session.messages[&3].1, None);
    assert_eq!(
        session.incoming.iter().copied().collect::<Vec<_>>(),
        [9, 65_535]
    );
    assert_eq!(replay.oldest_message(), Some(2));

    // A new epoch (the session left this log and came back): the old messages went
    // with the old epoch. An ended session is gone; messages without any snapshot are
    // orphans.
    replay.apply(20, Record::SessionSaved(Box::new(snapshot(9, 60))));
    assert!(replay.sessions["dev-1"].messages.is_empty());
    replay.apply(
        21,
        Record::SessionEnded {
            client_id: "dev-1".into(),
        },
    );
    assert!(!replay.sessions.contains_key("dev-1"));
    replay.apply(22, queued(QoS::AtLeastOnce));
    replay.finish();
    assert!(replay.sessions.is_empty());
    assert_eq!(replay.orphans, 1);
}
