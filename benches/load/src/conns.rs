//! The connection scenarios of issue 7, MQTT only:
//!
//! - **idle** (`--idle N`): N connections, each a CONNECT/CONNACK and nothing more, held
//!   open while the broker's resident memory is read (`--broker-pid`, from
//!   `/proc/PID/status`) before the first and `--settle` seconds after the last; the
//!   difference over N is the broker's user-space memory per idle connection. Opened from
//!   `--sources` loopback addresses 127.0.0.2, 127.0.0.3, ... (bound explicitly, the port
//!   picked at connect with `IP_BIND_ADDRESS_NO_PORT`), because one source address has
//!   about 28,000 ephemeral ports. `--conn-threads` threads open them, each its share in
//!   turn (a blocking handshake is a loopback round trip: tens of thousands a second).
//!   A broker that refuses or drops connections ends its thread's share there: the
//!   result says how many were reached, and why not more.
//! - **connect rate** (`--connect-rate C`): C threads, each in a loop: TCP connect,
//!   CONNECT, CONNACK, DISCONNECT, wait for the broker to close, for the warm-up and the
//!   measurement; reports handshakes per second in the window and the latency from
//!   `connect()` to CONNACK in an HDR histogram.
//!
//! Each connection holds only its socket and a few hundred bytes of buffer here, so
//! 20,000 cost the generator little.

use std::io::{self, Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpStream};
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use hdrhistogram::Histogram;
use socket2::{Domain, Protocol as SockProtocol, Socket, Type};
use switchyard_mqtt::{Connect, Decoder, Disconnect, Packet, Protocol, ReasonCode};

use crate::conn::{HANDSHAKE_TIMEOUT, MAX_PACKET_SIZE, other};
use crate::run::Progress;
use crate::subscriber;

/// What the connection scenarios need.
#[derive(Debug, Clone)]
pub(crate) struct ConnConfig {
    pub(crate) addr: SocketAddr,
    pub(crate) protocol: Protocol,
    pub(crate) keep_alive: u16,
    /// Source addresses to bind, in turn; empty for the kernel's choice.
    pub(crate) sources: Vec<IpAddr>,
    pub(crate) threads: usize,
    pub(crate) broker_pid: Option<u32>,
    pub(crate) settle: Duration,
    /// `--idle`: most time to open them all; what is open by then is held and measured.
    pub(crate) deadline: Duration,
    pub(crate) warmup: Duration,
    pub(crate) duration: Duration,
    pub(crate) quiet: bool,
}

/// The sources 127.0.0.2 .. 127.0.0.(k + 1).
pub(crate) fn loopback_sources(k: u8) -> Vec<IpAddr> {
    (0..k)
        .map(|i| IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2 + i)))
        .collect()
}

/// What an idle-connections run measured.
#[derive(Debug)]
pub(crate) struct IdleOutcome {
    pub(crate) target: usize,
    pub(crate) connected: usize,
    /// Seconds to open them all.
    pub(crate) connect_s: f64,
    /// The broker's VmRSS before the first connection and after the settle, KiB.
    pub(crate) rss_before_kib: Option<u64>,
    pub(crate) rss_after_kib: Option<u64>,
    /// Connections still open after the settle (a read finds no EOF or error).
    pub(crate) alive_after: usize,
    pub(crate) failures: Vec<String>,
    pub(crate) cpu: Option<(f64, f64)>,
}

impl IdleOutcome {
    /// The broker's memory per connection in bytes, if it was read.
    pub(crate) fn bytes_per_conn(&self) -> Option<f64> {
        let (b, a) = (self.rss_before_kib?, self.rss_after_kib?);
        (self.connected > 0).then(|| (a as f64 - b as f64) * 1024.0 / self.connected as f64)
    }
}

/// What a connect-rate run measured.
#[derive(Debug)]
pub(crate) struct RateOutcome {
    pub(crate) clients: usize,
    /// Handshakes completed in the measurement window, and in all.
    pub(crate) in_window: u64,
    pub(crate) total: u64,
    pub(crate) errors: u64,
    pub(crate) latency: Histogram<u64>,
    pub(crate) per_second: Vec<(u64, u64)>,
    pub(crate) failures: Vec<String>,
    pub(crate) cpu: Option<(f64, f64)>,
}

/// A broker's resident set in KiB, from `/proc/PID/status`.
pub(crate) fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// A TCP connection to `addr` from `source` (any port), with TCP_NODELAY.
fn connect_from(source: Option<IpAddr>, addr: SocketAddr) -> io::Result<TcpStream> {
    let socket = Socket::new(Domain::IPV4, Type::STREAM, Some(SockProtocol::TCP))?;
    if let Some(ip) = source {
        // Pick the port at connect(), per destination, not at bind() from the source's
        // whole range.
        let one: libc::c_int = 1;
        // SAFETY: a valid socket descriptor and a pointer to a c_int of the size given.
        let rc = unsafe {
            libc::setsockopt(
                socket.as_raw_fd(),
                libc::IPPROTO_IP,
                libc::IP_BIND_ADDRESS_NO_PORT,
                (&raw const one).cast(),
                size_of::<libc::c_int>() as libc::socklen_t,
            )
        };
        if rc != 0 {
            return Err(io::Error::last_os_error());
        }
        socket.bind(&SocketAddr::new(ip, 0).into())?;
    }
    socket.connect_timeout(&addr.into(), HANDSHAKE_TIMEOUT)?;
    socket.set_tcp_nodelay(true)?;
    // A broker that stops accepting (RabbitMQ's file descriptor alarm) leaves the kernel's
    // accepted connection unanswered: the CONNACK read must not wait forever.
    socket.set_read_timeout(Some(HANDSHAKE_TIMEOUT))?;
    Ok(socket.into())
}

/// CONNECT (clean start) and a successful CONNACK, with a small buffer.
fn handshake(
    stream: &mut TcpStream,
    protocol: Protocol,
    client_id: &str,
    keep_alive: u16,
) -> io::Result<()> {
    let mut connect = Connect::new(protocol, client_id);
    connect.keep_alive = keep_alive;
    let mut out = BytesMut::with_capacity(64);
    Packet::Connect(Box::new(connect))
        .encode(protocol, &mut out)
        .map_err(other)?;
    stream.write_all(&out)?;
    let mut decoder = Decoder::with_protocol(protocol, MAX_PACKET_SIZE);
    let mut buf = BytesMut::with_capacity(64);
    let mut chunk = [0u8; 256];
    loop {
        if let Some(packet) = decoder.decode(&mut buf).map_err(other)? {
            return match packet {
                Packet::ConnAck(ack) if ack.reason_code == ReasonCode::Success => Ok(()),
                Packet::ConnAck(ack) => {
                    Err(other(format!("CONNACK refused: {:?}", ack.reason_code)))
                }
                p => Err(other(format!(
                    "expected CONNACK, got {:?}",
                    p.packet_type()
                ))),
            };
        }
        let n = stream.read(&mut chunk)?;
        if n == 0 {
            return Err(other("the broker closed the connection before CONNACK"));
        }
        buf.extend_from_slice(chunk.get(..n).unwrap_or_default());
    }
}

/// Opens `target` idle connections and reads the broker's memory around them.
pub(crate) fn idle(cfg: &ConnConfig, target: usize, tag: &str) -> IdleOutcome {
    let cpu_start = crate::run::cpu_seconds();
    let wall = Instant::now();
    let rss_before_kib = cfg.broker_pid.and_then(rss_kib);
    let threads = cfg.threads.clamp(1, target.max(1));
    let opened = Arc::new(AtomicU64::new(0));
    let failures = Arc::new(Mutex::new(Vec::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let start = Instant::now();
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            let (cfg, tag, opened, failures, stop) = (
                cfg.clone(),
                tag.to_owned(),
                opened.clone(),
                failures.clone(),
                stop.clone(),
            );
            thread::spawn(move || {
                let mut mine = Vec::new();
                for k in (t..target).step_by(threads) {
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    if start.elapsed() >= cfg.deadline {
                        if let Ok(mut f) = failures.lock() {
                            f.push(format!(
                                "not all open after {:.0} s (--idle-deadline): {} open",
                                cfg.deadline.as_secs_f64(),
                                opened.load(Ordering::Relaxed)
                            ));
                        }
                        stop.store(true, Ordering::Relaxed);
                        break;
                    }
                    let source = (!cfg.sources.is_empty())
                        .then(|| cfg.sources.get(k % cfg.sources.len()).copied())
                        .flatten();
                    let id = format!("swl-{tag}-i{k}");
                    let result = connect_from(source, cfg.addr).and_then(|mut s| {
                        handshake(&mut s, cfg.protocol, &id, cfg.keep_alive).map(|()| s)
                    });
                    match result {
                        Ok(s) => {
                            mine.push(s);
                            opened.fetch_add(1, Ordering::Relaxed);
                        }
                        Err(e) => {
                            if let Ok(mut f) = failures.lock() {
                                f.push(format!(
                                    "connection {k} (after {} open): {e}",
                                    opened.load(Ordering::Relaxed)
                                ));
                            }
                            // A broker at its limit refuses the rest too.
                            stop.store(true, Ordering::Relaxed);
                            break;
                        }
                    }
                }
                mine
            })
        })
        .collect();
    let mut progress = Progress::new(cfg.quiet, target as u64);
    while handles.iter().any(|h| !h.is_finished()) {
        thread::sleep(Duration::from_millis(200));
        let n = opened.load(Ordering::Relaxed);
        progress.update_count(n, target as u64, "idle connections open");
    }
    progress.finish();
    let mut conns: Vec<TcpStream> = Vec::with_capacity(target);
    for h in handles {
        if let Ok(mine) = h.join() {
            conns.extend(mine);
        }
    }
    let connect_s = start.elapsed().as_secs_f64();
    thread::sleep(cfg.settle);
    let rss_after_kib = cfg.broker_pid.and_then(rss_kib);
    // Which are still open: a non-blocking read finds nothing to read.
    let alive_after = conns
        .iter()
        .filter(|s| {
            let mut b = [0u8; 1];
            let mut r: &TcpStream = s;
            s.set_nonblocking(true).is_ok()
                && matches!(r.read(&mut b), Err(e) if e.kind() == io::ErrorKind::WouldBlock)
        })
        .count();
    let connected = conns.len();
    let mut failures = failures.lock().map(|f| f.clone()).unwrap_or_default();
    failures.truncate(3);
    drop(conns);
    IdleOutcome {
        target,
        connected,
        connect_s,
        rss_before_kib,
        rss_after_kib,
        alive_after,
        failures,
        cpu: crate::run::cpu_seconds()
            .zip(cpu_start)
            .map(|(e, s)| (e - s, wall.elapsed().as_secs_f64())),
    }
}

/// Connects and disconnects in a loop on `clients` threads for the warm-up and the
/// measurement.
pub(crate) fn connect_rate(cfg: &ConnConfig, clients: usize, tag: &str) -> RateOutcome {
    let cpu_start = crate::run::cpu_seconds();
    let base = Instant::now();
    let warm_end = cfg.warmup;
    let end = cfg.warmup + cfg.duration;
    let done = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let failures = Arc::new(Mutex::new(Vec::<String>::new()));
    let handles: Vec<_> = (0..clients.max(1))
        .map(|t| {
            let (cfg, tag, done, errors, failures) = (
                cfg.clone(),
                tag.to_owned(),
                done.clone(),
                errors.clone(),
                failures.clone(),
            );
            thread::spawn(move || {
                let mut latency = subscriber::histogram();
                let (mut in_window, mut k) = (0u64, 0usize);
                loop {
                    let started = base.elapsed();
                    if started >= end {
                        break;
                    }
                    let source = (!cfg.sources.is_empty())
                        .then(|| cfg.sources.get((t + k) % cfg.sources.len()).copied())
                        .flatten();
                    let id = format!("swl-{tag}-c{t}-{k}");
                    k += 1;
                    let result = connect_from(source, cfg.addr).and_then(|mut s| {
                        handshake(&mut s, cfg.protocol, &id, cfg.keep_alive)?;
                        Ok(s)
                    });
                    let finished = base.elapsed();
                    match result {
                        Ok(mut s) => {
                            if finished >= warm_end && finished < end {
                                in_window += 1;
                                latency.saturating_record(
                                    (finished - started).as_nanos().max(1) as u64
                                );
                            }
                            done.fetch_add(1, Ordering::Relaxed);
                            disconnect(&mut s, cfg.protocol);
                        }
                        Err(e) => {
                            errors.fetch_add(1, Ordering::Relaxed);
                            if let Ok(mut f) = failures.lock()
                                && f.len() < 3
                            {
                                f.push(format!("client {t}: {e}"));
                            }
                            thread::sleep(Duration::from_millis(10));
                        }
                    }
                }
                (in_window, latency)
            })
        })
        .collect();
    let total_ns = end.as_nanos() as u64;
    let mut progress = Progress::new(cfg.quiet, total_ns);
    let mut per_second = Vec::new();
    let mut last = 0;
    let mut tick = Duration::ZERO;
    while tick < end {
        tick += Duration::from_secs(1);
        let now = base.elapsed();
        if tick.min(end) > now {
            thread::sleep(tick.min(end) - now);
        }
        let n = done.load(Ordering::Relaxed);
        progress.update(
            base.elapsed().as_nanos() as u64,
            &format!("{:>7} connects/s", n - last),
        );
        per_second.push((0, n - last));
        last = n;
    }
    progress.finish();
    let mut latency = subscriber::histogram();
    let mut in_window = 0;
    for h in handles {
        if let Ok((n, l)) = h.join() {
            in_window += n;
            let _ = latency.add(&l);
        }
    }
    RateOutcome {
        clients,
        in_window,
        total: done.load(Ordering::Relaxed),
        errors: errors.load(Ordering::Relaxed),
        latency,
        per_second,
        failures: failures.lock().map(|f| f.clone()).unwrap_or_default(),
        cpu: crate::run::cpu_seconds()
            .zip(cpu_start)
            .map(|(e, s)| (e - s, base.elapsed().as_secs_f64())),
    }
}

/// DISCONNECT, then wait (at most a second) for the broker to close, so that the broker
/// has done its part of the teardown before the next connect.
fn disconnect(stream: &mut TcpStream, protocol: Protocol) {
    let mut out = BytesMut::with_capacity(8);
    if Packet::Disconnect(Disconnect::new(ReasonCode::Success))
        .encode(protocol, &mut out)
        .is_ok()
        && stream.write_all(&out).is_ok()
    {
        let _ = stream.set_read_timeout(Some(Duration::from_secs(1)));
        let mut b = [0u8; 64];
        while matches!(stream.read(&mut b), Ok(n) if n > 0) {}
    }
}
