//! Tests of [`Queue`] limits: length, bytes, overflow policies, TTL and expiry.

use super::*;

#[test]
fn max_length_drops_the_head() {
    let (mut q, now) = queue(&[("x-max-length", 2.into()), dlx()]);
    fill(&mut q, 0..4, now);
    assert_eq!(q.message_count(), 2);
    assert_eq!(
        dead(&mut q),
        [(0, DeadLetterReason::MaxLen), (1, DeadLetterReason::MaxLen)]
    );
    assert_eq!(take_all(&mut q, now), [(2, false), (3, false)]);
    assert_eq!(q.stats().overflowed, 2);
    // Unacknowledged messages do not count.
    fill(&mut q, 4..6, now);
    let _held = q.get(false, now).unwrap();
    fill(&mut q, 6..7, now);
    assert_eq!(q.message_count(), 2);
    assert!(dead(&mut q).is_empty());
}

#[test]
fn max_length_bytes_drops_the_head() {
    let (mut q, now) = queue(&[("x-max-length-bytes", 25.into()), dlx()]);
    fill(&mut q, 0..2, now);
    assert_eq!(q.message_bytes(), 20);
    let big = Msg {
        n: 9,
        size: 15,
        expires_at: None,
    };
    assert_eq!(q.publish(big, now), Publish::Enqueued);
    // 35 bytes: drop 0 (25 bytes), within the limit.
    assert_eq!(dead(&mut q), [(0, DeadLetterReason::MaxLen)]);
    assert_eq!(q.message_bytes(), 25);
    // A message over the limit by itself drops everything, itself included.
    let huge = Msg {
        n: 10,
        size: 26,
        expires_at: None,
    };
    assert_eq!(q.publish(huge, now), Publish::Enqueued);
    assert_eq!(q.message_count(), 0);
    assert_eq!(q.message_bytes(), 0);
    assert_eq!(dead(&mut q).len(), 3);
}

#[test]
fn max_length_zero_keeps_nothing() {
    let (mut q, now) = queue(&[("x-max-length", 0.into())]);
    fill(&mut q, 0..3, now);
    assert_eq!(q.message_count(), 0);
    assert_eq!(q.stats().overflowed, 3);
}

#[test]
fn reject_publish_refuses_when_full() {
    let (mut q, now) = queue(&[
        ("x-max-length", 2.into()),
        ("x-overflow", "reject-publish".into()),
        dlx(),
    ]);
    fill(&mut q, 0..2, now);
    assert_eq!(q.publish(m(2), now), Publish::Rejected);
    assert!(
        dead(&mut q).is_empty(),
        "reject-publish does not dead-letter"
    );
    assert_eq!(take_all(&mut q, now), [(0, false), (1, false)]);
    assert_eq!(q.publish(m(3), now), Publish::Enqueued, "room again");
    let (mut q, now) = queue(&[
        ("x-max-length-bytes", 25.into()),
        ("x-overflow", "reject-publish".into()),
    ]);
    fill(&mut q, 0..2, now);
    let big = Msg {
        n: 2,
        size: 6,
        expires_at: None,
    };
    assert_eq!(q.publish(big.clone(), now), Publish::Rejected);
    let fits = Msg { size: 5, ..big };
    assert_eq!(q.publish(fits, now), Publish::Enqueued);
    assert_eq!(q.message_bytes(), 25);
}

#[test]
fn reject_publish_dlx_dead_letters_the_refused_message() {
    let (mut q, now) = queue(&[
        ("x-max-length", 1.into()),
        ("x-overflow", "reject-publish-dlx".into()),
        dlx(),
    ]);
    fill(&mut q, 0..1, now);
    assert_eq!(q.publish(m(1), now), Publish::Rejected);
    assert_eq!(dead(&mut q), [(1, DeadLetterReason::MaxLen)]);
    assert_eq!(take_all(&mut q, now), [(0, false)]);
}

#[test]
fn requeue_past_the_limit_drops_the_head() {
    let (mut q, now) = queue(&[("x-max-length", 1.into()), dlx()]);
    fill(&mut q, 0..1, now);
    let g = q.get(false, now).unwrap();
    fill(&mut q, 1..2, now);
    q.reject(g.delivery_id.unwrap(), true).unwrap();
    assert_eq!(dead(&mut q), [(0, DeadLetterReason::MaxLen)]);
    assert_eq!(take_all(&mut q, now), [(1, false)]);
}

#[test]
fn message_ttl_expires_at_the_head() {
    let (mut q, t0) = queue(&[("x-message-ttl", 1000.into()), dlx()]);
    let ms = Duration::from_millis;
    fill(&mut q, 0..1, t0);
    fill(&mut q, 1..2, t0 + ms(600));
    assert_eq!(
        q.poll_timeout(),
        Some(t0 + ms(1000) + Duration::from_nanos(1))
    );
    assert_eq!(
        q.expire(t0 + ms(1000)),
        0,
        "expires after its TTL, not at it"
    );
    q.consume(Consume::new("c"), t0).unwrap();
    assert_eq!(drain(&mut q, t0 + ms(1001)), [("c".to_owned(), 1, false)]);
    assert_eq!(dead(&mut q), [(0, DeadLetterReason::Expired)]);
    assert_eq!(q.stats().expired, 1);
    assert_eq!(q.poll_timeout(), None);
}

#[test]
fn ttl_zero_delivers_only_at_once() {
    let (mut q, t0) = queue(&[("x-message-ttl", 0.into())]);
    q.consume(Consume::new("c"), t0).unwrap();
    fill(&mut q, 0..1, t0);
    assert_eq!(drain(&mut q, t0).len(), 1, "a waiting consumer gets it");
    q.set_paused("c", true);
    fill(&mut q, 1..2, t0);
    assert_eq!(q.expire(t0 + Duration::from_millis(1)), 1);
    assert_eq!(q.message_count(), 0);
}

#[test]
fn expiry_waits_for_the_head() {
    let (mut q, t0) = queue(&[dlx()]);
    let s = Duration::from_secs;
    fill(&mut q, 0..1, t0);
    let soon = Msg {
        n: 1,
        size: 1,
        expires_at: Some(t0 + s(1)),
    };
    q.publish(soon, t0);
    assert_eq!(
        q.expire(t0 + s(10)),
        0,
        "behind a message that does not expire"
    );
    assert_eq!(q.poll_timeout(), None);
    let head = q.get(true, t0 + s(10)).unwrap();
    assert_eq!(head.message.n, 0);
    assert!(
        q.get(true, t0 + s(10)).is_none(),
        "expired once at the head"
    );
    assert_eq!(dead(&mut q), [(1, DeadLetterReason::Expired)]);
}

#[test]
fn the_shorter_of_queue_ttl_and_message_expiry_wins() {
    let (mut q, t0) = queue(&[("x-message-ttl", 5000.into())]);
    let s = Duration::from_secs;
    let short = Msg {
        n: 0,
        size: 1,
        expires_at: Some(t0 + s(2)),
    };
    let long = Msg {
        n: 1,
        size: 1,
        expires_at: Some(t0 + s(60)),
    };
    q.publish(short, t0);
    q.publish(long, t0);
    assert_eq!(q.expire(t0 + s(3)), 1);
    assert_eq!(q.expire(t0 + s(4)), 0);
    assert_eq!(q.expire(t0 + s(6)), 1, "queue TTL caps the long one");
}

#[test]
fn requeued_messages_keep_their_expiry() {
    let (mut q, t0) = queue(&[("x-message-ttl", 1000.into()), dlx()]);
    fill(&mut q, 0..1, t0);
    let g = q.get(false, t0).unwrap();
    q.reject(g.delivery_id.unwrap(), true).unwrap();
    assert!(q.get(true, t0 + Duration::from_secs(2)).is_none());
    assert_eq!(dead(&mut q), [(0, DeadLetterReason::Expired)]);
}

#[test]
fn unused_queues_expire() {
    let (mut q, t0) = queue(&[("x-expires", 5000.into())]);
    let s = Duration::from_secs;
    assert_eq!(q.expires_at(), Some(t0 + s(5)));
    assert_eq!(q.poll_timeout(), Some(t0 + s(5)));
    assert!(!q.is_expired(t0 + s(4)));
    assert!(q.is_expired(t0 + s(5)));
    fill(&mut q, 0..1, t0 + s(4));
    assert!(q.is_expired(t0 + s(5)), "publishing is not use");
    q.get(false, t0 + s(4)).unwrap();
    assert!(!q.is_expired(t0 + s(5)), "basic.get is use");
    q.consume(Consume::new("c"), t0 + s(6)).unwrap();
    assert_eq!(q.expires_at(), None);
    assert!(!q.is_expired(t0 + s(100)), "never while consumed");
    q.cancel("c", true, t0 + s(100)).unwrap();
    assert!(!q.is_expired(t0 + s(104)));
    assert!(q.is_expired(t0 + s(105)));
    q.touch(t0 + s(105));
    assert!(!q.is_expired(t0 + s(109)));
    let (plain, t0) = queue(&[]);
    assert!(!plain.is_expired(t0 + s(1_000_000)));
}
