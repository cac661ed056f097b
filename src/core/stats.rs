//! Counters: each shard writes its own cache line, readers sum them.

use std::sync::atomic::{AtomicU64, Ordering};

/// Counters of one shard. Only that shard writes them.
#[derive(Debug, Default)]
#[repr(align(64))]
pub struct ShardStats {
    /// Connected clients.
    pub clients_connected: AtomicU64,
    /// Sessions held (connected or not).
    pub sessions: AtomicU64,
    /// PUBLISH packets received from clients.
    pub messages_received: AtomicU64,
    /// PUBLISH packets sent to clients.
    pub messages_sent: AtomicU64,
    /// Bytes received.
    pub bytes_received: AtomicU64,
    /// Bytes sent.
    pub bytes_sent: AtomicU64,
    /// Messages dropped: QoS 0 to a client whose outbound buffer was full, or any QoS to
    /// a client whose queue was full or whose maximum packet size was too small.
    pub messages_dropped: AtomicU64,
    /// Subscriptions held.
    pub subscriptions: AtomicU64,
}

impl ShardStats {
    /// Adds to a counter (relaxed: statistics, not synchronisation).
    pub fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    /// Subtracts from a gauge.
    pub fn sub(counter: &AtomicU64, n: u64) {
        counter.fetch_sub(n, Ordering::Relaxed);
    }
}

/// The counters of every shard.
#[derive(Debug)]
pub struct Stats {
    /// One entry per shard.
    pub shards: Vec<ShardStats>,
    /// Retained messages (any shard's replica; they agree).
    pub retained: AtomicU64,
    /// MQTT persistent sessions in the durable logs, all shards.
    pub durable_sessions: AtomicU64,
}

impl Stats {
    /// Counters for `n` shards.
    pub fn new(n: usize) -> Self {
        Self {
            shards: (0..n).map(|_| ShardStats::default()).collect(),
            retained: AtomicU64::new(0),
            durable_sessions: AtomicU64::new(0),
        }
    }

    /// Sums one counter over the shards.
    pub fn sum(&self, counter: impl Fn(&ShardStats) -> &AtomicU64) -> u64 {
        self.shards
            .iter()
            .map(|s| counter(s).load(Ordering::Relaxed))
            .sum()
    }
}
