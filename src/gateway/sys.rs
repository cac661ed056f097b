//! `$SYS/broker/...` statistics, published as retained messages the way Mosquitto
//! publishes them.

use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use bytes::Bytes;
use bytestring::ByteString;
use switchyard_mqtt::QoS;

use crate::core::message::Message;
use crate::core::shard::Shard;
use crate::core::stats::ShardStats;
use crate::server::worker::Shared;

/// Publishes the statistics every `sys_interval` seconds, from shard 0.
pub async fn publish_loop(shard: Rc<Shard>, shared: Arc<Shared>) {
    let interval = Duration::from_secs(shared.config.mqtt.sys_interval);
    let version = format!("switchyard {}", env!("CARGO_PKG_VERSION"));
    publish(&shard, "$SYS/broker/version", version).await;
    loop {
        let stats = shard.all_stats().clone();
        let sum = |f: fn(&ShardStats) -> &std::sync::atomic::AtomicU64| stats.sum(f).to_string();
        let values = [
            (
                "$SYS/broker/uptime",
                format!("{} seconds", shared.started.elapsed().as_secs()),
            ),
            (
                "$SYS/broker/clients/connected",
                sum(|s| &s.clients_connected),
            ),
            ("$SYS/broker/clients/total", sum(|s| &s.sessions)),
            (
                "$SYS/broker/messages/received",
                sum(|s| &s.messages_received),
            ),
            ("$SYS/broker/messages/sent", sum(|s| &s.messages_sent)),
            ("$SYS/broker/messages/dropped", sum(|s| &s.messages_dropped)),
            ("$SYS/broker/subscriptions/count", sum(|s| &s.subscriptions)),
            (
                "$SYS/broker/retained messages/count",
                stats.retained.load(Ordering::Relaxed).to_string(),
            ),
            ("$SYS/broker/bytes/received", sum(|s| &s.bytes_received)),
            ("$SYS/broker/bytes/sent", sum(|s| &s.bytes_sent)),
        ];
        for (topic, value) in values {
            publish(&shard, topic, value).await;
        }
        compio::time::sleep(interval).await;
    }
}

async fn publish(shard: &Shard, topic: &'static str, value: String) {
    let message = Message::new(
        ByteString::from_static(topic),
        Bytes::from(value),
        QoS::AtMostOnce,
        true,
    );
    shard.route(message.shared()).await;
}
