//! The STOMP clients of a run: connecting and subscribing them, and the protocol loops
//! beside the shared writer (`publisher.rs`) and the shared message accounting
//! (`subscriber.rs`): the publisher's reader counts RECEIPTs, the subscriber reads
//! MESSAGE frames and ACKs each one when its subscription is `client-individual`.

use std::io::{self, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread;
use std::time::Duration;

use bytes::BytesMut;
use switchyard_stomp::{AckMode, Command, FrameWriter};

use crate::conn::{RunRead, other};
use crate::publisher::{self, PubCounters, PubSpec};
use crate::run::{Clients, Config, Shared, Started};
use crate::stomp::{SendTemplate, StompConn, StompOptions, VERSION, receipt_seq};
use crate::subscriber::{self, SubResult};

/// How often a client's blocked read wakes up to look at the stop flag.
const READ_TICK: Duration = Duration::from_millis(100);

/// Connects every STOMP client: subscribers first, each subscribed (and the
/// subscription confirmed by a receipt), so that no message is sent before its
/// subscription.
pub(crate) fn connect(
    config: &Config,
    options: &StompOptions,
    tag: &str,
) -> Result<Clients<StompConn>, String> {
    let topology = config.topology;
    let mut subscribers = Vec::with_capacity(topology.subscribers());
    for i in 0..topology.subscribers() {
        let name = format!("subscriber {i}");
        let mut conn = StompConn::open(config.addr, options, &name)
            .map_err(|e| format!("{name}: connect to {}: {e}", config.addr))?;
        let destination = options
            .destination_kind
            .destination(tag, topology.source(i));
        conn.subscribe(
            &destination,
            &format!("sub-{i}"),
            options.ack,
            options.prefetch,
        )
        .map_err(|e| format!("{name}: subscribe to {destination}: {e}"))?;
        subscribers.push(conn);
    }
    let mut publishers = Vec::with_capacity(topology.publishers());
    for i in 0..topology.publishers() {
        let name = format!("publisher {i}");
        let conn = StompConn::open(config.addr, options, &name)
            .map_err(|e| format!("{name}: connect to {}: {e}", config.addr))?;
        publishers.push(conn);
    }
    Ok(Clients {
        subscribers,
        publishers,
    })
}

/// Starts the threads of the connected STOMP clients.
pub(crate) fn start(
    clients: Clients<StompConn>,
    config: &Config,
    options: &StompOptions,
    tag: &str,
    shared: &Arc<Shared>,
) -> Result<Started, String> {
    let mut started = Started::default();
    let ack = options.ack;
    for (i, conn) in clients.subscribers.into_iter().enumerate() {
        conn.stream
            .set_read_timeout(Some(READ_TICK))
            .map_err(|e| format!("subscriber {i}: {e}"))?;
        let count = Arc::new(AtomicU64::new(0));
        let thread = subscriber::spawn_with(i, shared.clone(), count.clone(), move |s, r, res| {
            read_loop(conn, ack, s, r, res)
        })
        .map_err(|e| format!("subscriber {i}: {e}"))?;
        started.sub_threads.push(thread);
        started.sub_counts.push(count);
    }
    let publishers = config.topology.publishers();
    for (i, conn) in clients.publishers.into_iter().enumerate() {
        let destination = options.destination_kind.destination(tag, i);
        let template = SendTemplate::new(&destination, config.payload, options.receipts)
            .map_err(|e| format!("publisher {i}: {e}"))?;
        let spec = PubSpec {
            index: i,
            acknowledged: options.receipts,
            rate: config.rate,
            window: config.inflight,
            backlog: 0,
            delivered: Vec::new(),
            share: 1,
            phase: i as f64 / publishers as f64,
            template: Box::new(template),
        };
        let counters = Arc::new(PubCounters::default());
        let stream = conn
            .stream
            .try_clone()
            .and_then(|s| conn.stream.set_read_timeout(Some(READ_TICK)).map(|()| s))
            .map_err(|e| format!("publisher {i}: {e}"))?;
        let (w, r) = publisher::spawn_with(
            stream,
            spec,
            shared.clone(),
            counters.clone(),
            move |s, c, writer| receipt_loop(conn, s, c, writer),
        )
        .map_err(|e| format!("publisher {i}: {e}"))?;
        started.pub_threads.push(w);
        started.pub_threads.push(r);
        started.pub_counters.push(counters);
    }
    Ok(started)
}

/// A publisher's reader: counts the RECEIPTs of its SENDs and wakes the writer when
/// they reopen the window. Without receipts it only watches for an ERROR.
fn receipt_loop(
    mut conn: StompConn,
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
        let mut receipts = 0;
        while let Some(frame) = conn.next_frame()? {
            let ours = match (frame.command, frame.receipt_id()) {
                (Command::Receipt, Some(id)) => receipt_seq(id).is_some(),
                _ => false,
            };
            if !ours {
                return Err(conn.unexpected(&frame, "RECEIPT"));
            }
            receipts += 1;
        }
        if receipts > 0 {
            counters.acked.fetch_add(receipts, Ordering::AcqRel);
            writer.unpark();
        }
    }
}

/// A subscriber's loop: reads MESSAGE frames, records each one, and with
/// `client-individual` acknowledges each with an ACK, the ACKs of one read in one write.
fn read_loop(
    mut conn: StompConn,
    ack: AckMode,
    shared: &Shared,
    received: &AtomicU64,
    result: &mut SubResult,
) -> io::Result<()> {
    let mut acks = BytesMut::with_capacity(4096);
    let acknowledge = ack != AckMode::Auto;
    loop {
        match conn.read_during_run(|| shared.is_stopped())? {
            RunRead::Data => {}
            RunRead::Idle => continue,
            RunRead::Stopped => {
                conn.close();
                return Ok(());
            }
        }
        // Everything in one read arrived at the same time.
        let now = shared.now_ns();
        let in_window = shared.in_window(now);
        while let Some(frame) = conn.next_frame()? {
            if frame.command != Command::Message {
                return Err(conn.unexpected(&frame, "MESSAGE"));
            }
            result.record(&frame.body, now, in_window)?;
            if acknowledge {
                let Some(id) = frame.ack() else {
                    return Err(other(
                        "a MESSAGE without the ack header its subscription needs",
                    ));
                };
                let mut w = FrameWriter::new(Command::Ack, VERSION, &mut acks);
                w.header("id", id);
                w.finish(b"").map_err(other)?;
            }
        }
        if !acks.is_empty() {
            conn.stream.write_all(&acks)?;
            acks.clear();
        }
        received.store(result.received, Ordering::Release);
    }
}
