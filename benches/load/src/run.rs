//! One run: connect every client, publish through warm-up and measurement, drain, stop,
//! and gather the counts and latencies. The MQTT clients are connected and started here,
//! the STOMP ones in `stomp_clients.rs`, the AMQP ones in `amqp_clients.rs`; the rest is
//! the same for all three.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use hdrhistogram::Histogram;
use switchyard_mqtt::{Protocol, QoS};

use crate::amqp::{AmqpConn, AmqpOptions};
use crate::amqp_clients;
use crate::conn::Conn;
use crate::mux;
use crate::publisher::{self, PubCounters, PubSpec, Template};
use crate::stomp::{StompConn, StompOptions};
use crate::stomp_clients;
use crate::subscriber::{self, SubResult};

/// Time from the end of the handshakes to the first PUBLISH, so all threads are ready.
const START_DELAY: Duration = Duration::from_millis(200);

/// At QoS 0, or after a failure, the drain ends once nothing more arrived for this long.
const QOS0_QUIET: Duration = Duration::from_secs(1);

/// What to run.
#[derive(Debug, Clone)]
pub(crate) struct Config {
    pub(crate) addr: SocketAddr,
    /// The MQTT version (unused for STOMP and AMQP).
    pub(crate) protocol: Protocol,
    /// MQTT: the QoS. STOMP: `AtLeastOnce` with receipts (each SEND acknowledged, a
    /// window of `inflight`, losses are a broker bug), else `AtMostOnce`. AMQP: the
    /// same with publisher confirms.
    pub(crate) qos: QoS,
    /// `Some` to speak STOMP instead of MQTT.
    pub(crate) stomp: Option<StompOptions>,
    /// `Some` to speak AMQP 0-9-1 instead of MQTT.
    pub(crate) amqp: Option<AmqpOptions>,
    pub(crate) payload: usize,
    pub(crate) topology: Topology,
    /// MQTT: subscribers multiplexed over this many epoll threads; 0 for a thread each.
    pub(crate) sub_threads: usize,
    /// MQTT, closed loop: most messages a publisher may be ahead of its slowest
    /// subscriber; 0 for no bound. (AMQP's is in `AmqpOptions`.)
    pub(crate) backlog: u64,
    /// Messages per second per publisher; `None` for closed loop.
    pub(crate) rate: Option<f64>,
    pub(crate) inflight: u64,
    pub(crate) warmup: Duration,
    pub(crate) duration: Duration,
    pub(crate) drain: Duration,
    pub(crate) keep_alive: u16,
    pub(crate) quiet: bool,
}

/// Who publishes to whom.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Topology {
    /// N publisher/subscriber pairs, a topic per pair.
    Pairs(usize),
    /// One publisher, M subscribers, all on one topic.
    Fanout(usize),
    /// N publishers, a topic each (`load/{run}/{i}`), and one subscriber on the
    /// wildcard `load/{run}/+` (MQTT).
    Fanin(usize),
}

impl Topology {
    pub(crate) fn publishers(self) -> usize {
        match self {
            Self::Pairs(n) | Self::Fanin(n) => n,
            Self::Fanout(_) => 1,
        }
    }

    pub(crate) fn subscribers(self) -> usize {
        match self {
            Self::Pairs(n) | Self::Fanout(n) => n,
            Self::Fanin(_) => 1,
        }
    }

    /// The publisher whose messages subscriber `i` receives (in a fan-in: every
    /// publisher's; this gives the first).
    pub(crate) fn source(self, i: usize) -> usize {
        match self {
            Self::Pairs(_) => i,
            Self::Fanout(_) | Self::Fanin(_) => 0,
        }
    }

    /// The publishers whose messages subscriber `i` receives.
    pub(crate) fn sources(self, i: usize) -> std::ops::Range<usize> {
        match self {
            Self::Fanin(n) => 0..n,
            _ => {
                let s = self.source(i);
                s..s + 1
            }
        }
    }
}

/// State shared by every thread of a run: the clock, the phases and the stop flags.
pub(crate) struct Shared {
    base: Instant,
    pub(crate) start_ns: u64,
    pub(crate) warm_end_ns: u64,
    pub(crate) end_ns: u64,
    stop: AtomicBool,
    aborted: AtomicBool,
    failures: Mutex<Vec<String>>,
}

impl Shared {
    /// Nanoseconds since the run's clock base (a monotonic clock shared by all clients).
    #[inline]
    pub(crate) fn now_ns(&self) -> u64 {
        self.base.elapsed().as_nanos() as u64
    }

    /// Whether a time falls in the measurement window.
    #[inline]
    pub(crate) fn in_window(&self, t: u64) -> bool {
        (self.warm_end_ns..self.end_ns).contains(&t)
    }

    pub(crate) fn sleep_until(&self, t: u64) {
        let now = self.now_ns();
        if t > now {
            thread::sleep(Duration::from_nanos(t - now));
        }
    }

    /// Set after the drain: every client disconnects.
    pub(crate) fn is_stopped(&self) -> bool {
        self.stop.load(Ordering::Acquire)
    }

    /// Set on the first failure: publishing stops, the drain still counts deliveries.
    pub(crate) fn is_aborted(&self) -> bool {
        self.aborted.load(Ordering::Acquire)
    }

    /// Records a failure (a broken connection, a protocol error) and aborts the run.
    pub(crate) fn fail(&self, message: String) {
        if let Ok(mut failures) = self.failures.lock() {
            failures.push(message);
        }
        self.aborted.store(true, Ordering::Release);
    }
}

/// What a run measured.
#[derive(Debug)]
pub(crate) struct Outcome {
    pub(crate) published: u64,
    pub(crate) published_in_window: u64,
    pub(crate) acked: u64,
    pub(crate) received: u64,
    pub(crate) received_in_window: u64,
    /// Deliveries owed: each publisher's count times its subscribers.
    pub(crate) expected: u64,
    pub(crate) lost: u64,
    /// QoS 1: deliveries owed for acknowledged messages that never came. Unlike `lost`,
    /// which also counts messages unacknowledged when a connection broke, these are
    /// messages the broker had taken responsibility for.
    pub(crate) acked_lost: u64,
    /// Deliveries beyond those owed (duplicates).
    pub(crate) extra: u64,
    pub(crate) reordered: u64,
    /// Subscribers whose count differs from their publisher's: (subscriber, sent, received).
    pub(crate) mismatches: Vec<(usize, u64, u64)>,
    pub(crate) drain_time: Duration,
    /// The generator's own CPU time over the whole run and the run's wall time, seconds.
    pub(crate) cpu: Option<(f64, f64)>,
    pub(crate) latency: Histogram<u64>,
    /// Published and delivered messages in each second from the start (warm-up
    /// included), for the plot.
    pub(crate) per_second: Vec<(u64, u64)>,
    pub(crate) failures: Vec<String>,
}

/// The connected (and subscribed) clients of a run, before their threads start.
pub(crate) struct Clients<C> {
    pub(crate) subscribers: Vec<C>,
    pub(crate) publishers: Vec<C>,
}

/// The connections of either protocol.
enum AnyClients<'a> {
    Mqtt(Clients<Conn>),
    Stomp(Clients<StompConn>, &'a StompOptions),
    Amqp(Clients<AmqpConn>, &'a AmqpOptions),
}

/// The running client threads and the counters they share with the main thread.
#[derive(Default)]
pub(crate) struct Started {
    pub(crate) sub_counts: Vec<Arc<AtomicU64>>,
    pub(crate) sub_threads: Vec<JoinHandle<SubResult>>,
    /// Subscribers sharing epoll threads (`--sub-threads`): each thread's results with
    /// the subscribers' indices. A subscriber is in `sub_threads` or here, not both.
    pub(crate) sub_groups: Vec<JoinHandle<Vec<(usize, SubResult)>>>,
    pub(crate) pub_counters: Vec<Arc<PubCounters>>,
    pub(crate) pub_threads: Vec<JoinHandle<()>>,
}

/// Runs one scenario to the end.
pub(crate) fn run(config: &Config) -> Result<Outcome, String> {
    let topology = config.topology;
    let tag = run_tag();
    let base = Instant::now();
    let cpu_start = cpu_seconds();
    let clients = match (&config.stomp, &config.amqp) {
        (Some(options), _) => {
            AnyClients::Stomp(stomp_clients::connect(config, options, &tag)?, options)
        }
        (None, Some(options)) => {
            AnyClients::Amqp(amqp_clients::connect(config, options, &tag)?, options)
        }
        (None, None) => AnyClients::Mqtt(connect_mqtt(config, &tag)?),
    };

    let start_ns = base.elapsed().as_nanos() as u64 + START_DELAY.as_nanos() as u64;
    let warm_end_ns = start_ns + config.warmup.as_nanos() as u64;
    let shared = Arc::new(Shared {
        base,
        start_ns,
        warm_end_ns,
        end_ns: warm_end_ns + config.duration.as_nanos() as u64,
        stop: AtomicBool::new(false),
        aborted: AtomicBool::new(false),
        failures: Mutex::new(Vec::new()),
    });

    let started = match clients {
        AnyClients::Mqtt(clients) => start_mqtt(clients, config, &tag, &shared),
        AnyClients::Stomp(clients, options) => {
            stomp_clients::start(clients, config, options, &tag, &shared)
        }
        AnyClients::Amqp(clients, options) => {
            amqp_clients::start(clients, config, options, &tag, &shared)
        }
    };
    // A failure to start leaves the threads already started to end at the stop.
    let Started {
        sub_counts,
        sub_threads,
        sub_groups,
        pub_counters,
        pub_threads,
    } = match started {
        Ok(s) => s,
        Err(e) => {
            shared.stop.store(true, Ordering::Release);
            return Err(e);
        }
    };

    let sum = |v: &[Arc<AtomicU64>]| v.iter().map(|c| c.load(Ordering::Acquire)).sum::<u64>();
    let sent = |c: &[Arc<PubCounters>]| {
        c.iter()
            .map(|c| c.sent.load(Ordering::Acquire))
            .sum::<u64>()
    };
    let acked = |c: &[Arc<PubCounters>]| {
        c.iter()
            .map(|c| c.acked.load(Ordering::Acquire))
            .sum::<u64>()
    };
    let fan = match topology {
        Topology::Pairs(_) | Topology::Fanin(_) => 1,
        Topology::Fanout(m) => m as u64,
    };

    // Warm-up and measurement, with a progress line per second.
    let mut progress = Progress::new(config.quiet, shared.end_ns - shared.start_ns);
    let mut per_second = Vec::new();
    let mut last = (0u64, 0u64);
    let mut tick = shared.start_ns;
    while shared.now_ns() < shared.end_ns && !shared.is_aborted() {
        tick += 1_000_000_000;
        shared.sleep_until(tick.min(shared.end_ns));
        let now = (sent(&pub_counters), sum(&sub_counts));
        let phase = if shared.now_ns() <= shared.warm_end_ns {
            "warm-up"
        } else {
            "measure"
        };
        progress.update(
            shared.now_ns().saturating_sub(shared.start_ns),
            &format!(
                "{phase}: published {:>9} /s, delivered {:>9} /s",
                now.0 - last.0,
                now.1 - last.1
            ),
        );
        per_second.push((now.0 - last.0, now.1 - last.1));
        last = now;
    }
    progress.finish();

    // Drain: QoS 1 until every message is acknowledged and delivered, QoS 0 until
    // everything or nothing more arrives. After a failure (a connection lost), until every
    // acknowledged message is delivered or nothing more arrives.
    let drain_start = Instant::now();
    let mut quiet_since = (Instant::now(), sum(&sub_counts));
    loop {
        if drain_start.elapsed() >= config.drain {
            break;
        }
        // `done` first: the counts read after it are final for the writers it saw done.
        let all_sent = pub_counters.iter().all(|c| c.done.load(Ordering::Acquire));
        let (s, a, r) = (sent(&pub_counters), acked(&pub_counters), sum(&sub_counts));
        let qos0 = config.qos == QoS::AtMostOnce;
        if all_sent && !shared.is_aborted() && r >= s * fan && (qos0 || a >= s) {
            break;
        }
        if all_sent && shared.is_aborted() && !qos0 && r >= a * fan {
            break;
        }
        if r != quiet_since.1 {
            quiet_since = (Instant::now(), r);
        } else if (qos0 || shared.is_aborted()) && quiet_since.0.elapsed() >= QOS0_QUIET {
            break;
        }
        thread::sleep(Duration::from_millis(20));
    }
    let drain_time = drain_start.elapsed();
    shared.stop.store(true, Ordering::Release);
    for t in pub_threads {
        t.thread().unpark();
        let _ = t.join();
    }
    let mut results: Vec<(usize, SubResult)> = sub_threads
        .into_iter()
        .enumerate()
        .map(|(i, t)| {
            t.join()
                .map(|r| (i, r))
                .map_err(|_| "a subscriber thread panicked".to_owned())
        })
        .collect::<Result<_, _>>()?;
    for group in sub_groups {
        results.extend(
            group
                .join()
                .map_err(|_| "a subscriber thread panicked".to_owned())?,
        );
    }
    results.sort_unstable_by_key(|&(i, _)| i);

    let mut latency = subscriber::histogram();
    let mut outcome = Outcome {
        published: sent(&pub_counters),
        published_in_window: pub_counters
            .iter()
            .map(|c| c.sent_in_window.load(Ordering::Acquire))
            .sum(),
        acked: acked(&pub_counters),
        received: 0,
        received_in_window: 0,
        expected: 0,
        lost: 0,
        acked_lost: 0,
        extra: 0,
        reordered: 0,
        mismatches: Vec::new(),
        drain_time,
        cpu: cpu_seconds()
            .zip(cpu_start)
            .map(|(end, start)| (end - start, base.elapsed().as_secs_f64())),
        latency: subscriber::histogram(),
        per_second,
        failures: shared
            .failures
            .lock()
            .map(|f| f.clone())
            .unwrap_or_default(),
    };
    for (i, r) in &results {
        let sources = pub_counters.get(topology.sources(*i)).unwrap_or_default();
        let owed = sent(sources);
        if config.qos != QoS::AtMostOnce {
            outcome.acked_lost += acked(sources).saturating_sub(r.received);
        }
        let i = *i;
        outcome.received += r.received;
        outcome.received_in_window += r.received_in_window;
        outcome.expected += owed;
        outcome.lost += owed.saturating_sub(r.received);
        outcome.extra += r.received.saturating_sub(owed);
        outcome.reordered += r.reordered;
        if owed != r.received {
            outcome.mismatches.push((i, owed, r.received));
        }
        latency
            .add(&r.latency)
            .map_err(|e| format!("merging histograms: {e}"))?;
    }
    outcome.latency = latency;
    Ok(outcome)
}

/// Connects every MQTT client: subscribers first (each subscribed), so that no message
/// is published before its subscription.
fn connect_mqtt(config: &Config, tag: &str) -> Result<Clients<Conn>, String> {
    let topology = config.topology;
    let mut subscribers = Vec::with_capacity(topology.subscribers());
    for i in 0..topology.subscribers() {
        let id = format!("swl-{tag}-s{i}");
        let mut conn = Conn::open(config.addr, config.protocol, &id, config.keep_alive)
            .map_err(|e| format!("subscriber {i}: connect to {}: {e}", config.addr))?;
        let filter = match topology {
            Topology::Fanin(_) => format!("load/{tag}/+"),
            _ => topic(tag, topology.source(i)),
        };
        conn.subscribe(&filter, config.qos)
            .map_err(|e| format!("subscriber {i}: subscribe: {e}"))?;
        subscribers.push(conn);
    }
    let mut publishers = Vec::with_capacity(topology.publishers());
    for i in 0..topology.publishers() {
        let id = format!("swl-{tag}-p{i}");
        let conn = Conn::open(config.addr, config.protocol, &id, config.keep_alive)
            .map_err(|e| format!("publisher {i}: connect to {}: {e}", config.addr))?;
        publishers.push(conn);
    }
    Ok(Clients {
        subscribers,
        publishers,
    })
}

/// Starts the threads of the connected MQTT clients.
fn start_mqtt(
    clients: Clients<Conn>,
    config: &Config,
    tag: &str,
    shared: &Arc<Shared>,
) -> Result<Started, String> {
    let mut started = Started::default();
    if config.sub_threads == 0 {
        for (i, conn) in clients.subscribers.into_iter().enumerate() {
            let count = Arc::new(AtomicU64::new(0));
            started.sub_threads.push(
                subscriber::spawn(conn, i, shared.clone(), count.clone())
                    .map_err(|e| format!("subscriber {i}: {e}"))?,
            );
            started.sub_counts.push(count);
        }
    } else {
        // Subscriber i on thread i mod N.
        let n = config.sub_threads.min(clients.subscribers.len());
        let mut groups: Vec<Vec<mux::Member>> = (0..n).map(|_| Vec::new()).collect();
        for (i, conn) in clients.subscribers.into_iter().enumerate() {
            let received = Arc::new(AtomicU64::new(0));
            started.sub_counts.push(received.clone());
            if let Some(group) = groups.get_mut(i % n) {
                group.push(mux::Member {
                    index: i,
                    conn,
                    received,
                });
            }
        }
        for (g, members) in groups.into_iter().enumerate() {
            started.sub_groups.push(
                mux::spawn(g, members, shared.clone())
                    .map_err(|e| format!("subscriber thread {g}: {e}"))?,
            );
        }
    }
    let publishers = config.topology.publishers();
    for (i, conn) in clients.publishers.into_iter().enumerate() {
        let window = config.inflight.min(u64::from(conn.receive_maximum));
        let mut template =
            Template::new(config.protocol, &topic(tag, i), config.qos, config.payload)
                .map_err(|e| format!("publisher {i}: {e}"))?;
        if let Topology::Fanin(_) = config.topology {
            let origin = u16::try_from(i).map_err(|_| "--fanin: at most 65,536 publishers")?;
            template = template.with_origin(origin);
        }
        // The live counts of this publisher's subscribers, for the backlog bound.
        let delivered = if config.backlog > 0 && config.rate.is_none() {
            (0..config.topology.subscribers())
                .filter(|&j| config.topology.sources(j).contains(&i))
                .filter_map(|j| started.sub_counts.get(j).cloned())
                .collect()
        } else {
            Vec::new()
        };
        let spec = PubSpec {
            index: i,
            acknowledged: config.qos != QoS::AtMostOnce,
            rate: config.rate,
            window,
            backlog: config.backlog,
            delivered,
            share: match config.topology {
                Topology::Fanin(n) => n as u64,
                _ => 1,
            },
            phase: i as f64 / publishers as f64,
            template: Box::new(template),
        };
        let counters = Arc::new(PubCounters::default());
        let (w, r) = publisher::spawn(conn, spec, shared.clone(), counters.clone())
            .map_err(|e| format!("publisher {i}: {e}"))?;
        started.pub_threads.push(w);
        started.pub_threads.push(r);
        started.pub_counters.push(counters);
    }
    Ok(started)
}

/// The topic of publisher `i`: `load/{tag}/{i}`. The run's tag keeps a backlog that an
/// overloaded broker still delivers from an earlier run out of this run's counts.
fn topic(tag: &str, i: usize) -> String {
    format!("load/{tag}/{i}")
}

/// A short tag that keeps client identifiers unique across runs.
fn run_tag() -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!("{:x}{:05x}", std::process::id(), nanos & 0xF_FFFF)
}

/// This process's user + system CPU time in seconds, from /proc (Linux; 100 ticks/s).
pub(crate) fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the parenthesised command name; utime and stime are the 14th and 15th.
    let rest = stat.rsplit_once(')')?.1;
    let mut fields = rest.split_whitespace().skip(11);
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some((utime + stime) as f64 / 100.0)
}

/// The progress of a run on stderr: one line rewritten in place when stderr is a
/// terminal (a bar, the elapsed time and `what`), else a line per update; nothing when
/// quiet.
pub(crate) struct Progress {
    quiet: bool,
    tty: bool,
    total_ns: u64,
    drawn: bool,
}

impl Progress {
    pub(crate) fn new(quiet: bool, total_ns: u64) -> Self {
        use std::io::IsTerminal as _;
        Self {
            quiet,
            tty: std::io::stderr().is_terminal(),
            total_ns: total_ns.max(1),
            drawn: false,
        }
    }

    pub(crate) fn update(&mut self, elapsed_ns: u64, what: &str) {
        if self.quiet {
            return;
        }
        let secs = elapsed_ns as f64 / 1e9;
        if self.tty {
            const WIDTH: u64 = 24;
            let filled = (WIDTH * elapsed_ns.min(self.total_ns) / self.total_ns) as usize;
            let bar = format!(
                "{}{}",
                "#".repeat(filled),
                "-".repeat(WIDTH as usize - filled)
            );
            eprint!("\r  [{bar}] {secs:>5.1} s {what}\x1b[K");
            self.drawn = true;
        } else {
            eprintln!("  {secs:>5.1} s {what}");
        }
    }

    /// `n` of `total` done, for the connection scenarios.
    pub(crate) fn update_count(&mut self, n: u64, total: u64, what: &str) {
        let total = total.max(1);
        if self.quiet || !(self.tty || n == total) {
            return;
        }
        if self.tty {
            const WIDTH: u64 = 24;
            let filled = (WIDTH * n.min(total) / total) as usize;
            let bar = format!(
                "{}{}",
                "#".repeat(filled),
                "-".repeat(WIDTH as usize - filled)
            );
            eprint!("\r  [{bar}] {n} / {total} {what}\x1b[K");
            self.drawn = true;
        } else {
            eprintln!("  {n} / {total} {what}");
        }
    }

    pub(crate) fn finish(&mut self) {
        if self.drawn {
            eprintln!();
            self.drawn = false;
        }
    }
}
