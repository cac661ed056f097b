//! Durable messages: which log ids come out of `take_gone`, and when.

use super::*;

#[test]
fn a_logged_message_is_gone_once_acked_not_when_delivered_or_requeued() {
    let (mut q, now) = queue(&[]);
    assert_eq!(q.publish_logged(m(1), now, Some(10)), Publish::Enqueued);
    assert_eq!(q.publish_logged(m(2), now, None), Publish::Enqueued);
    q.consume(Consume::new("c"), now).unwrap();
    let first = q.poll_delivery(now).unwrap();
    let second = q.poll_delivery(now).unwrap();
    assert!(q.take_gone().is_empty(), "delivered is not gone");
    assert_eq!(q.logged().collect::<Vec<_>>(), [10]);
    assert_eq!(q.oldest_logged(), Some(10));
    q.reject(first.delivery_id.unwrap(), true).unwrap();
    assert!(q.take_gone().is_empty(), "requeued is not gone");
    q.ack(second.delivery_id.unwrap()).unwrap();
    assert!(q.take_gone().is_empty(), "a transient message has no id");
    let again = q.poll_delivery(now).unwrap();
    assert!(again.redelivered);
    q.ack(again.delivery_id.unwrap()).unwrap();
    assert_eq!(q.take_gone(), [10]);
    assert_eq!(q.logged().count(), 0);
}

#[test]
fn dropped_expired_purged_and_no_ack_messages_are_gone() {
    let (mut q, now) = queue(&[("x-max-length", FieldValue::Int(1))]);
    q.publish_logged(m(1), now, Some(1));
    q.publish_logged(m(2), now, Some(2));
    assert_eq!(q.take_gone(), [1], "drop-head");
    q.purge();
    assert_eq!(q.take_gone(), [2], "purge");
    let mut short = m(3);
    short.expires_at = Some(now);
    q.publish_logged(short, now, Some(3));
    q.expire(now + Duration::from_millis(1));
    assert_eq!(q.take_gone(), [3], "expired");
    q.publish_logged(m(4), now, Some(4));
    assert!(q.get(true, now).is_some());
    assert_eq!(q.take_gone(), [4], "basic.get no-ack");
}

#[test]
fn restored_messages_come_back_redelivered_in_order() {
    let (mut q, now) = queue(&[]);
    q.restore(m(1), 5);
    q.restore(m(2), 9);
    assert_eq!(take_all(&mut q, now), [(1, true), (2, true)]);
    assert_eq!(q.take_gone(), [5, 9]);
}
