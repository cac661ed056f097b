//! A publisher: a writer thread that sends PUBLISH packets (or STOMP SEND frames)
//! closed-loop (as fast as the QoS 1 or receipt window allows) or open-loop (paced at a
//! rate), and a reader thread that counts PUBACKs (or RECEIPTs) and reopens the window.
//! The writer knows no protocol: it copies a [`MessageTemplate`]; the reader is the
//! protocol's (MQTT's [`ack_loop`] here, STOMP's in `stomp_clients.rs`).
//!
//! Each payload starts with the send time (u64 ns since the run's clock base, little
//! endian) and the message's sequence number (u64), so subscribers measure end-to-end
//! latency and see gaps and reordering. In open loop the send time is the time the message
//! was due, so a late send (window full, broker pushing back) counts as latency instead of
//! being hidden (no coordinated omission).

use std::io::{self, Write};
use std::net::TcpStream;
use std::num::NonZeroU16;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use switchyard_mqtt::{Decoder, Packet, Protocol, Publish, QoS, ReasonCode, TopicName};

use crate::conn::{Conn, RunRead, is_timeout, other};
use crate::run::Shared;

/// Bytes gathered before one `write`: large enough that syscalls are not the tool's
/// bottleneck, small enough that a batch leaves within microseconds of its timestamp.
const WRITE_BATCH: usize = 16 * 1024;

/// How long a publisher held back by `--backlog` sleeps before it looks again at its
/// subscribers' counts: short beside the time to deliver a backlog of hundreds.
const BACKLOG_POLL: Duration = Duration::from_micros(100);

/// Counters a publisher shares with the main thread and its reader.
#[derive(Default)]
pub(crate) struct PubCounters {
    /// Messages (PUBLISH packets, SEND frames) written.
    pub(crate) sent: AtomicU64,
    /// Messages whose send time fell in the measurement window.
    pub(crate) sent_in_window: AtomicU64,
    /// PUBACKs (QoS 1) or RECEIPTs (STOMP with receipts) received.
    pub(crate) acked: AtomicU64,
    /// Set when the writer has sent its last message.
    pub(crate) done: AtomicBool,
}

/// One message on the wire, encoded once by a codec: each message the writer sends is a
/// copy with its sequence number and send time patched in.
pub(crate) trait MessageTemplate {
    /// The size of one message in bytes.
    fn len(&self) -> usize;

    /// Appends message number `seq` (from 0), sent at `sent_ns`, to `out`.
    fn write_to(&self, out: &mut Vec<u8>, seq: u64, sent_ns: u64);
}

/// A PUBLISH encoded once by the codec; each message is a copy with the packet
/// identifier, timestamp and sequence number patched in.
#[derive(Debug)]
pub(crate) struct Template {
    bytes: Vec<u8>,
    packet_id_at: Option<usize>,
    payload_at: usize,
    /// Or-ed into every sequence number in the payload: the publisher's number in its
    /// top 16 bits in a fan-in, so that the one subscriber checks each publisher's
    /// order apart; 0 otherwise.
    origin: u64,
}

impl Template {
    /// Encodes a PUBLISH of `payload_size` bytes (at least 16) and finds where its packet
    /// identifier and payload sit, then checks the offsets by decoding a patched copy.
    pub(crate) fn new(
        protocol: Protocol,
        topic: &str,
        qos: QoS,
        payload_size: usize,
    ) -> io::Result<Self> {
        if payload_size < 16 {
            return Err(other("the payload must be at least 16 bytes"));
        }
        let topic_name = TopicName::new(topic).map_err(other)?;
        let mut publish = Publish::new(topic_name, qos, Bytes::from(vec![0xA5; payload_size]));
        if qos != QoS::AtMostOnce {
            publish.packet_id = Some(NonZeroU16::MIN);
        }
        let mut wire = BytesMut::new();
        Packet::Publish(publish)
            .encode(protocol, &mut wire)
            .map_err(other)?;
        // Fixed header: one byte, then the remaining length's variable-length integer.
        let varint_len = wire
            .iter()
            .skip(1)
            .position(|b| b & 0x80 == 0)
            .ok_or_else(|| other("bad remaining length"))?
            + 1;
        let topic_end = 1 + varint_len + 2 + topic.len();
        let template = Self {
            packet_id_at: (qos != QoS::AtMostOnce).then_some(topic_end),
            payload_at: wire.len() - payload_size,
            bytes: wire.to_vec(),
            origin: 0,
        };
        template.check(protocol, topic, qos)?;
        Ok(template)
    }

    /// The same template with publisher number `origin` in the top 16 bits of every
    /// sequence number (fan-in).
    pub(crate) fn with_origin(mut self, origin: u16) -> Self {
        self.origin = u64::from(origin) << crate::subscriber::ORIGIN_SHIFT;
        self
    }

    /// Appends one message to `out`.
    #[inline]
    fn write_packet(&self, out: &mut Vec<u8>, packet_id: u16, sent_ns: u64, seq: u64) {
        let start = out.len();
        out.extend_from_slice(&self.bytes);
        let msg = &mut out[start..];
        if let Some(at) = self.packet_id_at {
            msg[at..at + 2].copy_from_slice(&packet_id.to_be_bytes());
        }
        let payload = &mut msg[self.payload_at..];
        payload[..8].copy_from_slice(&sent_ns.to_le_bytes());
        payload[8..16].copy_from_slice(&(seq | self.origin).to_le_bytes());
    }

    /// Decodes a patched message with the codec and compares every field.
    fn check(&self, protocol: Protocol, topic: &str, qos: QoS) -> io::Result<()> {
        let mut out = Vec::new();
        self.write_packet(&mut out, 0x1234, 0x0102_0304_0506_0708, 42);
        let mut buf = BytesMut::from(&out[..]);
        let decoded = Decoder::with_protocol(protocol, u32::MAX).decode(&mut buf);
        let ok = match decoded {
            Ok(Some(Packet::Publish(p))) => {
                p.topic.as_str() == topic
                    && p.qos == qos
                    && p.packet_id.map(NonZeroU16::get)
                        == (qos != QoS::AtMostOnce).then_some(0x1234)
                    && p.payload.get(..8) == Some(&0x0102_0304_0506_0708u64.to_le_bytes()[..])
                    && p.payload.get(8..16) == Some(&42u64.to_le_bytes()[..])
                    && buf.is_empty()
            }
            _ => false,
        };
        if ok {
            Ok(())
        } else {
            Err(other(
                "PUBLISH template does not decode to what was patched",
            ))
        }
    }
}

impl MessageTemplate for Template {
    fn len(&self) -> usize {
        self.bytes.len()
    }

    #[inline]
    fn write_to(&self, out: &mut Vec<u8>, seq: u64, sent_ns: u64) {
        // Packet identifiers 1, 2, ... 65,535, then 1 again (0 is not one).
        let packet_id = (seq % 65_535) as u16 + 1;
        self.write_packet(out, packet_id, sent_ns, seq);
    }
}

/// What a publisher needs to run.
pub(crate) struct PubSpec {
    pub(crate) index: usize,
    /// Whether the broker acknowledges each message (QoS 1, STOMP receipts): then at
    /// most `window` may be unacknowledged.
    pub(crate) acknowledged: bool,
    /// Messages per second, or `None` for closed loop.
    pub(crate) rate: Option<f64>,
    /// Most unacknowledged messages.
    pub(crate) window: u64,
    /// Closed loop: most messages sent and not yet received by every one of
    /// `delivered` (the slowest subscriber counts); 0 or no subscribers for no bound.
    pub(crate) backlog: u64,
    /// The live received counts of the subscribers of this publisher's messages.
    pub(crate) delivered: Vec<Arc<AtomicU64>>,
    /// How many publishers those subscribers' counts are shared by: in a fan-in of N
    /// the one subscriber's count divided by N stands for this publisher's share (the
    /// publishers run at about the same pace); 1 otherwise.
    pub(crate) share: u64,
    /// Spreads the open-loop schedules of the publishers over one interval.
    pub(crate) phase: f64,
    pub(crate) template: Box<dyn MessageTemplate + Send>,
}

/// Starts the writer and reader threads of one connected MQTT publisher.
pub(crate) fn spawn(
    conn: Conn,
    spec: PubSpec,
    shared: Arc<Shared>,
    counters: Arc<PubCounters>,
) -> io::Result<(JoinHandle<()>, JoinHandle<()>)> {
    let stream = conn.stream.try_clone()?;
    conn.stream
        .set_read_timeout(Some(Duration::from_millis(100)))?;
    spawn_with(
        stream,
        spec,
        shared,
        counters,
        move |shared, counters, writer| ack_loop(conn, shared, counters, writer),
    )
}

/// Starts the writer thread, which sends on `stream`, and a reader thread running
/// `reader` (the protocol's loop that counts acknowledgements until the stop, with the
/// writer's thread to unpark when the window reopens). The reader's socket should have
/// a short read timeout so that it sees the stop.
pub(crate) fn spawn_with<R>(
    mut stream: TcpStream,
    spec: PubSpec,
    shared: Arc<Shared>,
    counters: Arc<PubCounters>,
    reader: R,
) -> io::Result<(JoinHandle<()>, JoinHandle<()>)>
where
    R: FnOnce(&Shared, &PubCounters, &thread::Thread) -> io::Result<()> + Send + 'static,
{
    // Blocked writes wake up to look at the stop flag (`write_until_stopped`).
    stream.set_write_timeout(Some(Duration::from_millis(100)))?;
    let (w_shared, w_counters) = (shared.clone(), counters.clone());
    let index = spec.index;
    let writer = thread::Builder::new()
        .name(format!("pub-{}", spec.index))
        .spawn(move || {
            if let Err(e) = write_loop(&mut stream, &spec, &w_shared, &w_counters) {
                w_shared.fail(format!("publisher {index}: write: {e}"));
            }
            w_counters.done.store(true, Ordering::Release);
            // Wait for the end of the drain, then leave cleanly.
            while !w_shared.is_stopped() {
                thread::park_timeout(Duration::from_millis(50));
            }
            let _ = stream.flush();
        })?;
    let writer_thread = writer.thread().clone();
    let reader = thread::Builder::new()
        .name(format!("pub-{index}-acks"))
        .spawn(move || {
            if let Err(e) = reader(&shared, &counters, &writer_thread) {
                shared.fail(format!("publisher {index}: {e}"));
            }
            writer_thread.unpark();
        })?;
    Ok((writer, reader))
}

fn write_loop(
    stream: &mut TcpStream,
    spec: &PubSpec,
    shared: &Shared,
    counters: &PubCounters,
) -> io::Result<()> {
    let len = spec.template.len();
    let mut out = Vec::with_capacity(WRITE_BATCH + len);
    // The send time of each message in `out`, to count those a cut-short write took.
    let mut stamps = Vec::with_capacity(WRITE_BATCH / len + 1);
    let mut seq = 0u64;
    let mut in_window = 0u64;
    let window_open =
        |seq: u64| !spec.acknowledged || seq - counters.acked.load(Ordering::Acquire) < spec.window;
    let interval = spec.rate.map(|r| 1e9 / r);
    let bounded = interval.is_none() && spec.backlog > 0 && !spec.delivered.is_empty();
    // What the slowest subscriber has received: read once per batch (a fan-out has a
    // thousand counters).
    let slowest = || {
        spec.delivered
            .iter()
            .map(|c| c.load(Ordering::Acquire))
            .min()
            .map_or(u64::MAX, |n| n / spec.share.max(1))
    };
    let due = |k: u64| match interval {
        Some(i) => shared.start_ns + ((k as f64 + spec.phase) * i) as u64,
        None => 0,
    };
    shared.sleep_until(shared.start_ns);
    loop {
        if shared.is_aborted() {
            return Ok(());
        }
        let now = shared.now_ns();
        if now >= shared.end_ns {
            break;
        }
        let mut blocked = false;
        let mut behind = false;
        let floor = if bounded { slowest() } else { 0 };
        while out.len() < WRITE_BATCH {
            // The number of the message this one would be.
            let next = seq + stamps.len() as u64;
            let sent_ns = match interval {
                // Closed loop: the whole batch leaves now.
                None => now,
                Some(_) => {
                    let d = due(next);
                    if d > now || d >= shared.end_ns {
                        break;
                    }
                    d
                }
            };
            if !window_open(next) {
                blocked = true;
                break;
            }
            if bounded && next.saturating_sub(floor) >= spec.backlog {
                behind = true;
                break;
            }
            spec.template.write_to(&mut out, next, sent_ns);
            stamps.push(sent_ns);
        }
        if !out.is_empty() {
            let written = write_until_stopped(stream, &out, shared)?;
            // Only whole messages count; a cut-short write ends the run for this writer.
            let whole = written / len;
            seq += whole as u64;
            in_window += stamps
                .get(..whole)
                .unwrap_or_default()
                .iter()
                .filter(|&&t| shared.in_window(t))
                .count() as u64;
            counters.sent.store(seq, Ordering::Release);
            counters.sent_in_window.store(in_window, Ordering::Relaxed);
            if written < out.len() {
                return Ok(());
            }
            out.clear();
            stamps.clear();
        }
        if blocked {
            // The reader unparks this thread when acknowledgements reopen the window.
            thread::park_timeout(Duration::from_millis(10));
        } else if behind {
            // No one wakes this thread when subscribers catch up: look again soon.
            thread::sleep(BACKLOG_POLL);
        } else if interval.is_some() {
            shared.sleep_until(due(seq).min(shared.end_ns));
        }
    }
    Ok(())
}

/// Writes `out`, waiting while the broker does not read (flow control, a full socket
/// buffer) until the run stops or aborts; returns the bytes written, all of them unless
/// the run ended first. A writer still blocked at the stop is thus no failure: what the
/// broker never took is simply not counted as sent.
fn write_until_stopped(stream: &mut TcpStream, out: &[u8], shared: &Shared) -> io::Result<usize> {
    let mut written = 0;
    while let Some(rest) = out.get(written..).filter(|r| !r.is_empty()) {
        match stream.write(rest) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => written += n,
            Err(e) if is_timeout(&e) => {
                if shared.is_stopped() || shared.is_aborted() {
                    break;
                }
            }
            Err(e) => return Err(e),
        }
    }
    Ok(written)
}

fn ack_loop(
    mut conn: Conn,
    shared: &Shared,
    counters: &PubCounters,
    writer: &thread::Thread,
) -> io::Result<()> {
    loop {
        match conn.read_during_run(|| shared.is_stopped())? {
            RunRead::Data => {}
            RunRead::Idle => continue,
            RunRead::Stopped => {
                conn.close();
                return Ok(());
            }
        }
        let mut acks = 0;
        while let Some(packet) = conn.decoder.decode(&mut conn.buf).map_err(other)? {
            match packet {
                Packet::PubAck(ack) if ack.reason_code == ReasonCode::Success => acks += 1,
                Packet::PubAck(ack) => {
                    return Err(other(format!("PUBACK with {:?}", ack.reason_code)));
                }
                Packet::PingResp => {}
                Packet::Disconnect(d) => {
                    return Err(other(format!(
                        "DISCONNECT from the broker: {:?}",
                        d.reason_code
                    )));
                }
                p => return Err(other(format!("unexpected {:?}", p.packet_type()))),
            }
        }
        if acks > 0 {
            counters.acked.fetch_add(acks, Ordering::AcqRel);
            writer.unpark();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_decode_for_both_versions_and_qos() {
        for protocol in [Protocol::V311, Protocol::V5] {
            for qos in [QoS::AtMostOnce, QoS::AtLeastOnce] {
                for size in [16, 64, 200, 20_000] {
                    Template::new(protocol, "load/12", qos, size).unwrap();
                }
            }
        }
        assert!(Template::new(Protocol::V311, "load/0", QoS::AtMostOnce, 15).is_err());
    }
}
