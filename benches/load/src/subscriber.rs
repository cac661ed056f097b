//! A subscriber: reads PUBLISH packets, acknowledges QoS 1 ones, records end-to-end
//! latency for those received in the measurement window, and checks the sequence numbers
//! of its one publisher for gaps and reordering. [`SubResult::record`] and
//! [`spawn_with`] are shared with the STOMP subscriber (`stomp_clients.rs`).

use std::io::{self, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use bytes::BytesMut;
use hdrhistogram::Histogram;
use switchyard_mqtt::{Ack, Packet};

use crate::conn::{Conn, RunRead, other};
use crate::run::Shared;

/// What one subscriber saw.
#[derive(Debug)]
pub(crate) struct SubResult {
    pub(crate) received: u64,
    pub(crate) received_in_window: u64,
    /// Messages whose sequence number was below one already seen: reordered or repeated.
    pub(crate) reordered: u64,
    /// End-to-end latency in ns of the messages received in the window.
    pub(crate) latency: Histogram<u64>,
    /// The sequence number expected next from each publisher (by origin, the top 16
    /// bits of the sequence number: more than one only in a fan-in).
    next_seq: Vec<u64>,
}

/// Where a fan-in publisher's number sits in the sequence numbers it sends.
pub(crate) const ORIGIN_SHIFT: u32 = 48;

impl SubResult {
    pub(crate) fn new() -> Self {
        Self {
            received: 0,
            received_in_window: 0,
            reordered: 0,
            latency: histogram(),
            next_seq: vec![0],
        }
    }

    /// Counts one message whose payload (send time, sequence number) arrived at `now`,
    /// recording its latency if `in_window`.
    #[inline]
    pub(crate) fn record(&mut self, payload: &[u8], now: u64, in_window: bool) -> io::Result<()> {
        let (Some(sent), Some(seq)) = (
            payload.get(..8).and_then(|b| b.try_into().ok()),
            payload.get(8..16).and_then(|b| b.try_into().ok()),
        ) else {
            return Err(other("a payload shorter than 16 bytes: not ours"));
        };
        let (sent, seq) = (u64::from_le_bytes(sent), u64::from_le_bytes(seq));
        self.received += 1;
        if in_window {
            self.received_in_window += 1;
            self.latency
                .saturating_record(now.saturating_sub(sent).max(1));
        }
        let origin = (seq >> ORIGIN_SHIFT) as usize;
        if origin >= self.next_seq.len() {
            self.next_seq.resize(origin + 1, 0);
        }
        if let Some(next) = self.next_seq.get_mut(origin) {
            if seq >= *next {
                *next = seq + 1;
            } else {
                self.reordered += 1;
            }
        }
        Ok(())
    }
}

/// A new latency histogram: 1 ns to 100 s at three significant figures.
pub(crate) fn histogram() -> Histogram<u64> {
    // The bounds are constants that `new_with_bounds` accepts.
    Histogram::new_with_bounds(1, 100_000_000_000, 3).unwrap_or_else(|_| unreachable!())
}

/// Starts the thread of one connected, subscribed MQTT subscriber. `received` is its
/// live count for the progress line and the drain.
pub(crate) fn spawn(
    conn: Conn,
    index: usize,
    shared: Arc<Shared>,
    received: Arc<AtomicU64>,
) -> io::Result<JoinHandle<SubResult>> {
    conn.stream
        .set_read_timeout(Some(Duration::from_millis(100)))?;
    spawn_with(index, shared, received, move |shared, received, result| {
        read_loop(conn, shared, received, result)
    })
}

/// Starts a subscriber thread running `read` (the protocol's loop, which records each
/// message in the result and stores its count in `received` until the stop). A failure
/// aborts the run; what was counted until then is still returned.
pub(crate) fn spawn_with<R>(
    index: usize,
    shared: Arc<Shared>,
    received: Arc<AtomicU64>,
    read: R,
) -> io::Result<JoinHandle<SubResult>>
where
    R: FnOnce(&Shared, &AtomicU64, &mut SubResult) -> io::Result<()> + Send + 'static,
{
    thread::Builder::new()
        .name(format!("sub-{index}"))
        .spawn(move || {
            let mut result = SubResult::new();
            if let Err(e) = read(&shared, &received, &mut result) {
                shared.fail(format!("subscriber {index}: {e}"));
            }
            result
        })
}

fn read_loop(
    mut conn: Conn,
    shared: &Shared,
    received: &AtomicU64,
    result: &mut SubResult,
) -> io::Result<()> {
    let mut acks = BytesMut::with_capacity(4096);
    loop {
        match conn.read_during_run(|| shared.is_stopped())? {
            RunRead::Data => {}
            RunRead::Idle => continue,
            RunRead::Stopped => {
                conn.close();
                return Ok(());
            }
        }
        handle_read(&mut conn, shared, result, &mut acks)?;
        received.store(result.received, Ordering::Release);
    }
}

/// Decodes the packets of what one read appended to the connection's buffer, records
/// each PUBLISH, and writes the PUBACKs of the QoS 1 ones in one write. Shared with the
/// subscribers multiplexed over epoll (`mux.rs`).
pub(crate) fn handle_read(
    conn: &mut Conn,
    shared: &Shared,
    result: &mut SubResult,
    acks: &mut BytesMut,
) -> io::Result<()> {
    // Everything in one read arrived at the same time.
    let now = shared.now_ns();
    let in_window = shared.in_window(now);
    while let Some(packet) = conn.decoder.decode(&mut conn.buf).map_err(other)? {
        let publish = match packet {
            Packet::Publish(p) => p,
            Packet::PingResp => continue,
            Packet::Disconnect(d) => {
                return Err(other(format!(
                    "DISCONNECT from the broker: {:?}",
                    d.reason_code
                )));
            }
            p => return Err(other(format!("unexpected {:?}", p.packet_type()))),
        };
        result.record(&publish.payload, now, in_window)?;
        if let Some(packet_id) = publish.packet_id {
            Packet::PubAck(Ack::new(packet_id))
                .encode(conn.protocol, acks)
                .map_err(other)?;
        }
    }
    if !acks.is_empty() {
        conn.stream.write_all(acks)?;
        acks.clear();
    }
    Ok(())
}
