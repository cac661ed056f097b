//! An AMQP publisher: a writer thread that sends basic.publish messages (method,
//! content header and body frames, many messages per `write`) closed loop or open loop,
//! and a reader thread that counts publisher confirms and watches for the broker
//! closing the channel or the connection.
//!
//! The writer keeps two windows: with `--confirms`, at most `inflight` publishes
//! unconfirmed (as MQTT QoS 1 and STOMP receipts do); in closed loop, at most `backlog`
//! messages published and not yet delivered to the pair's subscriber, so the queue
//! between them stays bounded and the latency measured is that of a bounded queue.
//! Payloads carry the send time and sequence number as in `publisher.rs`; in open loop
//! the send time is the time the message was due.

use std::collections::BTreeSet;
use std::io::{self, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::thread::{self, JoinHandle, Thread};
use std::time::Duration;

use switchyard_amqp::{Frame, Method};

use crate::amqp::{AmqpConn, PublishTemplate};
use crate::conn::{RunRead, is_timeout};
use crate::publisher::{MessageTemplate, PubCounters};
use crate::run::Shared;

/// Bytes gathered before one `write` (as `publisher.rs`).
const WRITE_BATCH: usize = 16 * 1024;

/// What a pair's subscriber tells its publisher: how many messages it has received,
/// and the publisher's writer thread to wake when that opens the backlog window.
#[derive(Default)]
pub(crate) struct PairLink {
    /// The subscriber's live count (also the run's progress and drain count).
    pub(crate) delivered: Arc<AtomicU64>,
    writer: OnceLock<Thread>,
}

impl PairLink {
    /// Wakes the writer, if it waits, after the subscriber's count has grown.
    pub(crate) fn wake(&self) {
        if let Some(writer) = self.writer.get() {
            writer.unpark();
        }
    }
}

/// What an AMQP publisher needs to run.
pub(crate) struct AmqpPubSpec {
    pub(crate) index: usize,
    /// Count confirms and keep at most `inflight` publishes unconfirmed.
    pub(crate) confirms: bool,
    pub(crate) inflight: u64,
    /// Most messages published and not delivered to the subscriber (0: unbounded).
    pub(crate) backlog: u64,
    /// Messages per second, or `None` for closed loop.
    pub(crate) rate: Option<f64>,
    /// Spreads the open-loop schedules of the publishers over one interval.
    pub(crate) phase: f64,
    pub(crate) template: PublishTemplate,
    pub(crate) link: Arc<PairLink>,
}

/// Starts the writer and reader threads of one connected publisher (in confirm mode if
/// `spec.confirms`). The connection's socket should have a short read timeout.
pub(crate) fn spawn(
    conn: AmqpConn,
    spec: AmqpPubSpec,
    shared: Arc<Shared>,
    counters: Arc<PubCounters>,
) -> io::Result<(JoinHandle<()>, JoinHandle<()>)> {
    let mut stream = conn.stream.try_clone()?;
    // Blocked writes wake up to look at the stop flag.
    stream.set_write_timeout(Some(Duration::from_millis(100)))?;
    let (w_shared, w_counters) = (shared.clone(), counters.clone());
    let index = spec.index;
    let link = spec.link.clone();
    let writer = thread::Builder::new()
        .name(format!("amqp-pub-{index}"))
        .spawn(move || {
            if let Err(e) = write_loop(&mut stream, &spec, &w_shared, &w_counters) {
                w_shared.fail(format!("publisher {index}: write: {e}"));
            }
            w_counters.done.store(true, Ordering::Release);
            while !w_shared.is_stopped() {
                thread::park_timeout(Duration::from_millis(50));
            }
            let _ = stream.flush();
        })?;
    let writer_thread = writer.thread().clone();
    let _ = link.writer.set(writer_thread.clone());
    let reader = thread::Builder::new()
        .name(format!("amqp-pub-{index}-confirms"))
        .spawn(move || {
            if let Err(e) = confirm_loop(conn, &shared, &counters, &writer_thread) {
                shared.fail(format!("publisher {index}: {e}"));
            }
            writer_thread.unpark();
        })?;
    Ok((writer, reader))
}

fn write_loop(
    stream: &mut TcpStream,
    spec: &AmqpPubSpec,
    shared: &Shared,
    counters: &PubCounters,
) -> io::Result<()> {
    let len = spec.template.len();
    let mut out = Vec::with_capacity(WRITE_BATCH + len);
    let mut stamps = Vec::with_capacity(WRITE_BATCH / len + 1);
    let mut seq = 0u64;
    let mut in_window = 0u64;
    let interval = spec.rate.map(|r| 1e9 / r);
    let bounded = interval.is_none() && spec.backlog > 0;
    let window_open = |next: u64| {
        (!spec.confirms || next - counters.acked.load(Ordering::Acquire) < spec.inflight)
            && (!bounded
                || next.saturating_sub(spec.link.delivered.load(Ordering::Acquire)) < spec.backlog)
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
        while out.len() < WRITE_BATCH {
            let next = seq + stamps.len() as u64;
            let sent_ns = match interval {
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
            spec.template.write_to(&mut out, next, sent_ns);
            stamps.push(sent_ns);
        }
        if !out.is_empty() {
            let written = write_until_stopped(stream, &out, shared)?;
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
            // Confirms (the reader) or deliveries (the subscriber) unpark this thread.
            thread::park_timeout(Duration::from_millis(10));
        } else if interval.is_some() {
            shared.sleep_until(due(seq).min(shared.end_ns));
        }
    }
    Ok(())
}

/// Writes `out` until done or the run stops or aborts; returns the bytes written.
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

/// The publisher's reader: counts basic.ack confirms (single or `multiple`) and wakes
/// the writer when they reopen the window; a basic.nack, a basic.return, a cancel or a
/// close from the broker fails the run. Without confirms it only watches.
fn confirm_loop(
    mut conn: AmqpConn,
    shared: &Shared,
    counters: &PubCounters,
    writer: &Thread,
) -> io::Result<()> {
    let mut confirms = Confirms::default();
    loop {
        match conn.read_during_run(|| shared.is_stopped())? {
            RunRead::Data => {}
            RunRead::Idle => continue,
            RunRead::Stopped => {
                conn.close(None);
                return Ok(());
            }
        }
        let before = confirms.count();
        while let Some(frame) = conn.next_frame()? {
            let method = match frame {
                Frame::Heartbeat => continue,
                Frame::Method { method, .. } => method,
                Frame::Header { .. } | Frame::Body { .. } => {
                    return Err(io::Error::other("content frames sent to a publisher"));
                }
            };
            match method {
                Method::BasicAck(ack) => {
                    let sent = counters.sent.load(Ordering::Acquire);
                    confirms
                        .ack(ack.delivery_tag, ack.multiple, sent)
                        .map_err(io::Error::other)?;
                }
                Method::BasicNack(nack) => {
                    return Err(io::Error::other(format!(
                        "basic.nack for publish {}{}",
                        nack.delivery_tag,
                        if nack.multiple { " and all before" } else { "" }
                    )));
                }
                Method::ConnectionBlocked(_) | Method::ConnectionUnblocked(_) => {}
                m => return Err(conn.unexpected(&m, "basic.ack")),
            }
        }
        if confirms.count() != before {
            counters.acked.store(confirms.count(), Ordering::Release);
            writer.unpark();
        }
    }
}

/// The publishes confirmed so far: every delivery tag up to `upto`, and the single
/// confirms above it (a broker may confirm out of order).
#[derive(Debug, Default)]
struct Confirms {
    upto: u64,
    singles: BTreeSet<u64>,
}

impl Confirms {
    /// Takes one basic.ack; `sent` (publishes written so far, a lower bound of what
    /// the broker has seen) resolves the spec's "multiple with tag 0: everything".
    /// A second confirm of one publish is an error.
    fn ack(&mut self, tag: u64, multiple: bool, sent: u64) -> Result<(), String> {
        if multiple {
            let tag = if tag == 0 { sent.max(self.upto) } else { tag };
            if tag > self.upto {
                self.upto = tag;
                self.singles = self.singles.split_off(&(tag + 1));
            }
        } else if tag == 0 || tag <= self.upto || !self.singles.insert(tag) {
            return Err(format!("basic.ack for publish {tag}, confirmed before"));
        }
        while self.singles.first() == Some(&(self.upto + 1)) {
            self.singles.pop_first();
            self.upto += 1;
        }
        Ok(())
    }

    /// How many publishes are confirmed.
    fn count(&self) -> u64 {
        self.upto + self.singles.len() as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn confirms_count_single_and_multiple_acks() {
        let mut c = Confirms::default();
        c.ack(1, false, 10).unwrap();
        c.ack(3, false, 10).unwrap();
        assert_eq!((c.upto, c.count()), (1, 2));
        c.ack(2, false, 10).unwrap();
        assert_eq!((c.upto, c.count()), (3, 3));
        c.ack(5, false, 10).unwrap();
        c.ack(7, false, 10).unwrap();
        c.ack(6, true, 10).unwrap();
        assert_eq!((c.upto, c.count()), (7, 7));
        assert!(c.ack(7, false, 10).is_err());
        assert!(c.ack(9, false, 10).is_ok());
        assert!(c.ack(9, false, 10).is_err());
        c.ack(0, true, 10).unwrap();
        assert_eq!((c.upto, c.count()), (10, 10));
        // A multiple ack below what is confirmed changes nothing.
        c.ack(4, true, 10).unwrap();
        assert_eq!(c.count(), 10);
    }
}
