//! The AMQP clients of a run: connecting and setting them up (each subscriber declares
//! its pair's queue and consumes from it; publishers select confirm mode if asked),
//! starting their threads, and the subscriber's loop: it assembles each basic.deliver
//! with its content header and body frames, records it with the shared message
//! accounting (`subscriber.rs`), and with manual acks sends one basic.ack `multiple`
//! for every `ack_every` deliveries (and for the rest when the stream goes quiet).

use std::io::{self, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use switchyard_amqp::{BasicAck, Frame, Method};

use crate::amqp::{AmqpConn, AmqpOptions, CHANNEL, PublishTemplate};
use crate::amqp_publisher::{self, AmqpPubSpec, PairLink};
use crate::conn::{RunRead, other};
use crate::publisher::PubCounters;
use crate::run::{Clients, Config, Shared, Started};
use crate::subscriber::{self, SubResult};

/// How often a client's blocked read wakes up to look at the stop flag.
const READ_TICK: Duration = Duration::from_millis(100);

/// Connects every AMQP client: subscribers first, each with its queue declared and its
/// consumer started, so that no message is published before its queue exists.
pub(crate) fn connect(
    config: &Config,
    options: &AmqpOptions,
    tag: &str,
) -> Result<Clients<AmqpConn>, String> {
    let topology = config.topology;
    let mut subscribers = Vec::with_capacity(topology.subscribers());
    for i in 0..topology.subscribers() {
        let name = format!("subscriber {i}");
        let queue = AmqpOptions::queue(tag, topology.source(i));
        let mut conn = AmqpConn::open(config.addr, options, &name)
            .map_err(|e| format!("{name}: connect to {}: {e}", config.addr))?;
        conn.declare_queue(&queue, options.durable)
            .map_err(|e| format!("{name}: queue.declare {queue}: {e}"))?;
        if !options.no_ack && options.prefetch > 0 {
            conn.qos(options.prefetch)
                .map_err(|e| format!("{name}: basic.qos: {e}"))?;
        }
        conn.consume(&queue, &format!("swl-{tag}-{i}"), options.no_ack)
            .map_err(|e| format!("{name}: basic.consume {queue}: {e}"))?;
        subscribers.push(conn);
    }
    let mut publishers = Vec::with_capacity(topology.publishers());
    for i in 0..topology.publishers() {
        let name = format!("publisher {i}");
        let mut conn = AmqpConn::open(config.addr, options, &name)
            .map_err(|e| format!("{name}: connect to {}: {e}", config.addr))?;
        if options.confirms {
            conn.confirm_select()
                .map_err(|e| format!("{name}: confirm.select: {e}"))?;
        }
        publishers.push(conn);
    }
    Ok(Clients {
        subscribers,
        publishers,
    })
}

/// Starts the threads of the connected AMQP clients (pairs only: subscriber `i`
/// consumes publisher `i`'s queue).
pub(crate) fn start(
    clients: Clients<AmqpConn>,
    config: &Config,
    options: &AmqpOptions,
    tag: &str,
    shared: &Arc<Shared>,
) -> Result<Started, String> {
    let mut started = Started::default();
    let mut links = Vec::with_capacity(clients.subscribers.len());
    for (i, conn) in clients.subscribers.into_iter().enumerate() {
        conn.stream
            .set_read_timeout(Some(READ_TICK))
            .map_err(|e| format!("subscriber {i}: {e}"))?;
        let link = Arc::new(PairLink::default());
        let count = link.delivered.clone();
        let (sub_link, sub_options) = (link.clone(), options.clone());
        let queue = AmqpOptions::queue(tag, config.topology.source(i));
        let thread = subscriber::spawn_with(i, shared.clone(), count.clone(), move |s, r, res| {
            deliver_loop(conn, &sub_options, &queue, &sub_link, s, r, res)
        })
        .map_err(|e| format!("subscriber {i}: {e}"))?;
        started.sub_threads.push(thread);
        started.sub_counts.push(count);
        links.push(link);
    }
    let publishers = config.topology.publishers();
    for (i, conn) in clients.publishers.into_iter().enumerate() {
        let queue = AmqpOptions::queue(tag, i);
        let template = PublishTemplate::new(
            &conn.encoder,
            &queue,
            config.payload,
            options.delivery_mode(),
        )
        .map_err(|e| format!("publisher {i}: {e}"))?;
        let link = links
            .get(i)
            .cloned()
            .ok_or_else(|| format!("publisher {i}: no subscriber"))?;
        let spec = AmqpPubSpec {
            index: i,
            confirms: options.confirms,
            inflight: config.inflight,
            backlog: options.backlog,
            rate: config.rate,
            phase: i as f64 / publishers as f64,
            template,
            link,
        };
        conn.stream
            .set_read_timeout(Some(READ_TICK))
            .map_err(|e| format!("publisher {i}: {e}"))?;
        let counters = Arc::new(PubCounters::default());
        let (w, r) = amqp_publisher::spawn(conn, spec, shared.clone(), counters.clone())
            .map_err(|e| format!("publisher {i}: {e}"))?;
        started.pub_threads.push(w);
        started.pub_threads.push(r);
        started.pub_counters.push(counters);
    }
    Ok(started)
}

/// Where a subscriber is in the frames of one delivery.
enum Content {
    /// Between deliveries.
    Idle,
    /// After basic.deliver, before its content header.
    Header { tag: u64 },
    /// Body frames still owed; the first one holds the timestamp.
    Body {
        tag: u64,
        remaining: u64,
        first: Option<Bytes>,
    },
}

/// A subscriber's loop: reads deliveries, records each one, and with manual acks
/// acknowledges them in `multiple` batches, one write per read.
fn deliver_loop(
    mut conn: AmqpConn,
    options: &AmqpOptions,
    queue: &str,
    link: &PairLink,
    shared: &Shared,
    received: &AtomicU64,
    result: &mut SubResult,
) -> io::Result<()> {
    let mut content = Content::Idle;
    let mut out = BytesMut::with_capacity(64);
    let (mut unacked, mut last_tag) = (0u64, 0u64);
    let ack_every = u64::from(options.ack_every.max(1));
    loop {
        let read = conn.read_during_run(|| shared.is_stopped())?;
        match read {
            RunRead::Data => {}
            RunRead::Idle if unacked == 0 => continue,
            RunRead::Idle => {}
            RunRead::Stopped => {
                conn.close(Some(queue));
                return Ok(());
            }
        }
        // Everything in one read arrived at the same time.
        let now = shared.now_ns();
        let in_window = shared.in_window(now);
        while let Some(frame) = conn.next_frame()? {
            content = match (frame, content) {
                (Frame::Heartbeat, c) => c,
                (
                    Frame::Method {
                        method: Method::BasicDeliver(d),
                        ..
                    },
                    Content::Idle,
                ) => Content::Header {
                    tag: d.delivery_tag,
                },
                (Frame::Header { header, .. }, Content::Header { tag }) => {
                    if header.body_size < 16 {
                        return Err(other("a message shorter than 16 bytes: not ours"));
                    }
                    Content::Body {
                        tag,
                        remaining: header.body_size,
                        first: None,
                    }
                }
                (
                    Frame::Body { body, .. },
                    Content::Body {
                        tag,
                        remaining,
                        first,
                    },
                ) => {
                    let remaining = remaining
                        .checked_sub(body.len() as u64)
                        .ok_or_else(|| other("body frames longer than the content header says"))?;
                    let first = first.unwrap_or(body);
                    if remaining > 0 {
                        Content::Body {
                            tag,
                            remaining,
                            first: Some(first),
                        }
                    } else {
                        result.record(&first, now, in_window)?;
                        if !options.no_ack {
                            unacked += 1;
                            last_tag = tag;
                        }
                        Content::Idle
                    }
                }
                (
                    Frame::Method {
                        method: Method::ConnectionBlocked(_) | Method::ConnectionUnblocked(_),
                        ..
                    },
                    c,
                ) => c,
                (Frame::Method { method, .. }, _) => {
                    return Err(conn.unexpected(&method, "basic.deliver or its content"));
                }
                (Frame::Header { .. } | Frame::Body { .. }, _) => {
                    return Err(other("a content frame out of place"));
                }
            };
        }
        // A quiet stream (a read timeout) acknowledges what is left, so that a prefetch
        // window never waits for the next batch.
        if unacked >= ack_every || (unacked > 0 && matches!(read, RunRead::Idle)) {
            let ack = Method::from(BasicAck {
                delivery_tag: last_tag,
                multiple: true,
            });
            conn.encoder
                .encode_method(CHANNEL, &ack, &mut out)
                .map_err(other)?;
            conn.stream.write_all(&out)?;
            out.clear();
            unacked = 0;
        }
        received.store(result.received, Ordering::Release);
        link.wake();
    }
}
