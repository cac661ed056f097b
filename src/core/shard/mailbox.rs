//! The mailbox handler: what a shard does with each message from another shard (or
//! from itself).

use switchyard_mqtt::ReasonCode;

use super::exchanges::Taken;
use super::{Shard, ShardMsg};

impl Shard {
    /// Handles one message from another shard (or this one). Never waits on a mailbox.
    pub fn handle(&self, msg: ShardMsg) {
        match msg {
            ShardMsg::Deliver {
                message,
                plain,
                groups,
                hold,
                confirm,
            } => {
                let logged = self.deliver_local(&message, plain, &groups);
                self.settle_delivered(logged, hold, confirm);
            }
            ShardMsg::Interest {
                filter,
                shard,
                add,
                ack,
            } => {
                self.apply_interest(&filter, shard, add);
                if let Some(ack) = ack {
                    let _ = ack.try_send(());
                }
            }
            ShardMsg::Retain(message) => self.apply_retained(message),
            ShardMsg::Vhost { change, ack } => {
                self.apply_vhost(&change);
                if let Some(ack) = ack {
                    let _ = ack.try_send(());
                }
            }
            ShardMsg::Enqueue {
                queue,
                message,
                confirm,
                hold,
            } => {
                let taken = self.enqueue(&queue, message);
                match (taken, hold) {
                    (Taken::Logged(lsn), Some(hold)) => self.hold_until_durable(lsn, hold),
                    (Taken::Unlogged, Some(hold)) => hold.fail(),
                    _ => {}
                }
                if let Some(to) = confirm {
                    match taken {
                        Taken::Logged(lsn) => self.confirm_when_durable(lsn, to),
                        Taken::Yes => self.send_confirm(to, true),
                        Taken::No | Taken::Unlogged => self.send_confirm(to, false),
                    }
                }
            }
            ShardMsg::Confirmed {
                key,
                channel,
                seq,
                accepted,
            } => {
                let consumer = self.state.borrow().consumers.get(&key).cloned();
                if let Some(consumer) = consumer {
                    consumer.confirmed(channel, seq, accepted);
                }
            }
            ShardMsg::Queue {
                queue,
                op,
                reply,
                owner,
            } => {
                let (answer, change) = self.run_queue_op_now(&queue, *op, owner);
                // A declare that created the queue, or a delete that removed it: every
                // shard's vhost learns of it (the asking shard applies it on the answer).
                if let Some(change) = change {
                    self.announce_vhost(change);
                }
                if let Some(reply) = reply {
                    let _ = reply.try_send(answer);
                }
            }
            ShardMsg::Cancelled { key, queue, tag } => self.consumer_cancelled(key, &queue, &tag),
            ShardMsg::Consumed { key, delivery } => self.deliver_to_consumer(key, *delivery),
            ShardMsg::Claim {
                client_id,
                shard,
                reply,
            } => {
                let _ = reply.try_send(self.claim(client_id, shard));
            }
            ShardMsg::Release { client_id, shard } => self.release(&client_id, shard),
            ShardMsg::Takeover { client_id, reply } => {
                // The session moves to the asking shard, which logs it anew.
                let session = self.discard_session(&client_id);
                let _ = reply.try_send(session.map(Box::new));
            }
            ShardMsg::Recovered {
                client_id,
                epoch,
                shard,
            } => self.claim_recovered(client_id, epoch, shard),
            ShardMsg::Discard { client_id } => {
                self.discard_session(&client_id);
            }
            ShardMsg::Shutdown => {
                self.stopping.set(true);
                self.disconnect_all(ReasonCode::ServerShuttingDown);
            }
        }
    }
}
